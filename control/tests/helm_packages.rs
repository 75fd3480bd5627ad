//! Chart archive checks against hostile uploads: every one is refused with a reason, and the
//! store keeps nothing of it.

mod charts;

use charts::{Entry, archive, chart_yaml, demo_chart, zeros_gzip};
use control::Error;
use control::adapters::helm::package::{Limits, inspect};

fn refusal(bytes: &[u8]) -> String {
    match inspect(bytes, Limits::default()) {
        Err(Error::Invalid {
            field: "package",
            message,
        }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn a_valid_chart_is_read() {
    let info = inspect(&demo_chart("demo", "0.1.0"), Limits::default()).expect("valid");
    assert_eq!(
        (info.id().as_str(), info.app_version.as_deref()),
        ("demo-0.1.0", Some("0.1.0"))
    );
    assert_eq!(info.digest.len(), 64);
}

#[test]
fn hostile_archives_are_refused() {
    let chart = chart_yaml("evil", "1.0.0");
    let ok = Entry::File("evil/Chart.yaml", chart.as_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "tar-slip",
            archive(&[Entry::File("evil/../../etc/cron.d/x", b"boom"), ok]),
            "leaves the chart directory",
        ),
        (
            "absolute",
            archive(&[
                Entry::File("/etc/passwd", b"root"),
                Entry::File("evil/Chart.yaml", chart.as_bytes()),
            ]),
            "absolute path",
        ),
        (
            "symlink",
            archive(&[
                Entry::File("evil/Chart.yaml", chart.as_bytes()),
                Entry::Symlink("evil/templates/x.yaml", "/etc/shadow"),
            ]),
            "is a link",
        ),
        (
            "hard link",
            archive(&[
                Entry::File("evil/Chart.yaml", chart.as_bytes()),
                Entry::HardLink("evil/values.yaml", "/etc/shadow"),
            ]),
            "is a link",
        ),
        (
            "no Chart.yaml",
            archive(&[Entry::File("evil/values.yaml", b"a: 1")]),
            "no Chart.yaml",
        ),
        (
            "apiVersion v1",
            archive(&[Entry::File(
                "evil/Chart.yaml",
                b"apiVersion: v1\nname: evil\nversion: 1.0.0\n",
            )]),
            "apiVersion",
        ),
        (
            "malformed YAML",
            archive(&[Entry::File("evil/Chart.yaml", b"apiVersion: [v2\nname: {")]),
            "cannot be read",
        ),
        (
            "hostile name",
            archive(&[Entry::File(
                "evil/Chart.yaml",
                b"apiVersion: v2\nname: --post-renderer\nversion: 1.0.0\n",
            )]),
            "is not a chart name",
        ),
        ("not gzip", b"PK\x03\x04 a zip file".to_vec(), "not a gzip"),
        ("empty", Vec::new(), "empty"),
        (
            "50 MB file",
            zeros_gzip(50 * 1024 * 1024, "evil/templates/big.yaml"),
            "files in a chart may be at most",
        ),
        (
            "two charts",
            archive(&[
                Entry::File("a/Chart.yaml", chart.as_bytes()),
                Entry::File("b/Chart.yaml", chart.as_bytes()),
            ]),
            "one top-level directory",
        ),
    ];
    for (what, bytes, expected) in cases {
        let message = refusal(&bytes);
        assert!(message.contains(expected), "{what}: {message}");
    }
}

#[test]
fn a_gzip_bomb_stops_at_the_limit() {
    // 256 MiB of zeros in a few hundred KB: refused after reading at most the per-file limit.
    let bomb = zeros_gzip(256 * 1024 * 1024, "evil/templates/bomb.yaml");
    assert!(bomb.len() < 1024 * 1024, "{}", bomb.len());
    assert!(refusal(&bomb).contains("at most"));
    let tight = Limits {
        expanded_bytes: 1024,
        ..Limits::default()
    };
    let over = inspect(&demo_chart("demo", "0.1.0"), tight).unwrap_err();
    assert!(
        over.to_string().contains("expands to more than 1024 bytes"),
        "{over}"
    );
    let small = Limits {
        archive_bytes: 10,
        ..Limits::default()
    };
    assert!(
        inspect(&demo_chart("demo", "0.1.0"), small)
            .unwrap_err()
            .to_string()
            .contains("the limit is 10 bytes")
    );
}
