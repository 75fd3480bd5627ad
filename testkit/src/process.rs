//! Running external programs directly (never through a shell) with readable failures.

use std::path::Path;
use std::process::{Command, Output};

/// Why an external program could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The program could not be started at all.
    #[error("could not run {program}: {source}")]
    Spawn {
        /// The program's name.
        program: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The program ran and failed.
    #[error("{program} failed ({status}): {stderr}")]
    Failed {
        /// The program's name.
        program: String,
        /// Its exit status.
        status: std::process::ExitStatus,
        /// The tail of what it printed on stderr.
        stderr: String,
    },
}

/// Runs `cmd` to completion and returns its output, or an error carrying the tail of stderr.
pub fn run_captured(cmd: &mut Command) -> Result<Output, CommandError> {
    let program = program_name(cmd);
    let output = cmd.output().map_err(|source| CommandError::Spawn {
        program: program.clone(),
        source,
    })?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(CommandError::Failed {
            program,
            status: output.status,
            stderr: tail(&output.stderr),
        })
    }
}

/// The process's effective user is root (the owner of `/proc/self`).
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

fn program_name(cmd: &Command) -> String {
    Path::new(cmd.get_program()).file_name().map_or_else(
        || cmd.get_program().to_string_lossy().into_owned(),
        |name| name.to_string_lossy().into_owned(),
    )
}

fn tail(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(12)..].join("\n")
}
