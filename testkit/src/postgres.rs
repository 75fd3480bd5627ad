//! A private PostgreSQL cluster on a free loopback port, made with the machine's initdb.
//!
//! initdb refuses to run as root, so when we are root every server program runs as the
//! `postgres` user (through `runuser`) in a directory that user owns.

use crate::ports::free_port;
use crate::process::{CommandError, run_captured, running_as_root};
use std::fs;
use std::net::{Ipv4Addr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Why the private cluster could not be provided.
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// No PostgreSQL server binaries were found.
    #[error(
        "PostgreSQL server binaries (initdb, postgres, pg_ctl) not found under /usr/lib/postgresql/*/bin; \
         install them (`apt-get install postgresql`), set PG_BIN to their directory, or set DATABASE_URL"
    )]
    BinariesMissing,
    /// A file system step failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A server program failed.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// A database name that is not a plain identifier.
    #[error("invalid database name {0:?}: use lowercase letters, digits and '_'")]
    InvalidName(String),
    /// The server did not accept connections in time.
    #[error("PostgreSQL did not accept connections on port {port} within {secs} s; see {log}")]
    NotReady {
        /// The port it was started on.
        port: u16,
        /// How long we waited.
        secs: u64,
        /// Its log file.
        log: String,
    },
}

/// A running private cluster; it is stopped when dropped.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin_dir: PathBuf,
    data_dir: PathBuf,
    port: u16,
    server: Option<Child>,
}

impl PrivatePostgres {
    /// Starts a cluster in `dir/data`, running initdb first when the cluster does not exist.
    /// With `fresh`, any earlier cluster in `dir` is removed first.
    pub fn start(dir: &Path, fresh: bool) -> Result<Self, PostgresError> {
        let bin_dir = find_bin_dir().ok_or(PostgresError::BinariesMissing)?;
        let data_dir = dir.join("data");
        stop_leftover(&bin_dir, &data_dir);
        if fresh && dir.exists() {
            fs::remove_dir_all(dir).map_err(io("remove", dir))?;
        }
        fs::create_dir_all(dir).map_err(io("create", dir))?;
        let dir = fs::canonicalize(dir).map_err(io("resolve", dir))?;
        let data_dir = dir.join("data");
        if running_as_root() {
            run_captured(
                Command::new("chown")
                    .arg("-R")
                    .arg("postgres:postgres")
                    .arg(&dir),
            )?;
        }
        if !data_dir.join("PG_VERSION").exists() {
            run_captured(
                as_postgres(bin_dir.join("initdb"))
                    .arg("-D")
                    .arg(&data_dir)
                    .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]),
            )?;
        }
        let port = free_port().map_err(io("find a free port for", &dir))?;
        let mut pg = Self {
            bin_dir,
            data_dir,
            port,
            server: None,
        };
        pg.run()?;
        Ok(pg)
    }

    /// Starts the server program on the cluster's port, logging to `postgres.log` beside the
    /// data, and waits until it accepts connections.
    fn run(&mut self) -> Result<(), PostgresError> {
        let dir = self.data_dir.parent().unwrap_or(&self.data_dir).to_owned();
        let log_path = dir.join("postgres.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(io("open", &log_path))?;
        let log_err = log.try_clone().map_err(io("open", &log_path))?;
        let server = as_postgres(self.bin_dir.join("postgres"))
            .arg("-D")
            .arg(&self.data_dir)
            .args(["-p", &self.port.to_string()])
            .args(["-c", "listen_addresses=127.0.0.1"])
            .args(["-c", "unix_socket_directories="])
            .args([
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ])
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .map_err(|source| CommandError::Spawn {
                program: "postgres".into(),
                source,
            })?;
        self.server = Some(server);
        self.wait_ready(Duration::from_secs(30), &log_path)
    }

    /// Stops the server (fast shutdown: every connection is cut), keeps it down for `down`,
    /// and starts it again on the same port, as a database failover or restart does.
    pub fn restart(&mut self, down: Duration) -> Result<(), PostgresError> {
        self.stop()?;
        std::thread::sleep(down);
        self.run()
    }

    /// The TCP port the cluster listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A connection URL for `database` as the superuser.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Creates `database` unless it already exists.
    pub fn ensure_database(&self, database: &str) -> Result<(), PostgresError> {
        let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if database.is_empty() || !database.chars().all(plain) {
            return Err(PostgresError::InvalidName(database.to_owned()));
        }
        let exists = self.query(
            "postgres",
            &format!("SELECT 1 FROM pg_database WHERE datname = '{database}'"),
        )?;
        let port = self.port.to_string();
        if exists.trim() != "1" {
            run_captured(Command::new(self.bin_dir.join("createdb")).args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                database,
            ]))?;
        }
        Ok(())
    }

    /// Runs `sql` in `database` as the superuser and returns psql's unaligned output: one line
    /// per row, columns separated by `|`. For tools only: the statement is passed as given.
    pub fn query(&self, database: &str, sql: &str) -> Result<String, PostgresError> {
        let output = run_captured(
            Command::new(self.bin_dir.join("psql"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
                .args(["-U", "postgres", "-d", database, "-tAc"])
                .arg(sql),
        )?;
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// Stops the server (fast shutdown) and waits until it has exited.
    pub fn stop(&mut self) -> Result<(), PostgresError> {
        if let Some(mut server) = self.server.take() {
            let result = run_captured(
                as_postgres(self.bin_dir.join("pg_ctl"))
                    .arg("-D")
                    .arg(&self.data_dir)
                    .args(["-m", "fast", "-w", "stop"]),
            );
            let _ = server.wait();
            result?;
        }
        Ok(())
    }

    fn wait_ready(&mut self, limit: Duration, log: &Path) -> Result<(), PostgresError> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).is_ok() {
                let ready = Command::new(self.bin_dir.join("pg_isready"))
                    .args([
                        "-h",
                        "127.0.0.1",
                        "-p",
                        &self.port.to_string(),
                        "-U",
                        "postgres",
                    ])
                    .stdout(Stdio::null())
                    .status();
                if ready.is_ok_and(|s| s.success()) {
                    return Ok(());
                }
            }
            if let Some(server) = self.server.as_mut()
                && let Ok(Some(_)) = server.try_wait()
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(PostgresError::NotReady {
            port: self.port,
            secs: limit.as_secs(),
            log: log.display().to_string(),
        })
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// The newest `/usr/lib/postgresql/<major>/bin`, or `PG_BIN` when set.
fn find_bin_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(dir));
    }
    let mut candidates: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    candidates.sort();
    candidates.pop().map(|(_, bin)| bin)
}

/// A server left running by an interrupted earlier run would hold the data directory.
fn stop_leftover(bin_dir: &Path, data_dir: &Path) {
    if data_dir.join("postmaster.pid").exists() {
        let _ = as_postgres(bin_dir.join("pg_ctl"))
            .arg("-D")
            .arg(data_dir)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn as_postgres(program: PathBuf) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn io(what: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> PostgresError {
    let path = path.to_path_buf();
    move |source| PostgresError::Io { what, path, source }
}
