//! Chart archives for tests: a small valid chart, and hostile archives built entry by entry
//! (raw tar headers, so names like `../x` that the tar crate refuses to write can be made).
#![allow(
    dead_code,
    reason = "each test file uses a different part of the fixture"
)]

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;

/// One entry: a path (written raw), its content, and its kind.
pub enum Entry<'a> {
    /// A regular file.
    File(&'a str, &'a [u8]),
    /// A symbolic link to a target.
    Symlink(&'a str, &'a str),
    /// A hard link to a target.
    HardLink(&'a str, &'a str),
}

/// A gzip-compressed tar archive of `entries`.
pub fn archive(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::fast()));
    for entry in entries {
        let mut header = tar::Header::new_old();
        let (path, data, kind, link): (&str, &[u8], tar::EntryType, Option<&str>) = match entry {
            Entry::File(p, d) => (p, d, tar::EntryType::Regular, None),
            Entry::Symlink(p, t) => (p, &[], tar::EntryType::Symlink, Some(t)),
            Entry::HardLink(p, t) => (p, &[], tar::EntryType::Link, Some(t)),
        };
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        if let Some(target) = link {
            let linkname = &mut header.as_old_mut().linkname;
            linkname[..target.len()].copy_from_slice(target.as_bytes());
        }
        header.set_entry_type(kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    builder.into_inner().expect("tar").finish().expect("gzip")
}

/// Chart.yaml text.
pub fn chart_yaml(name: &str, version: &str) -> String {
    format!(
        "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\ndescription: A test chart\n"
    )
}

/// A chart with one ConfigMap (ready at once, so helm's wait finishes) showing the values.
pub fn demo_chart(name: &str, version: &str) -> Vec<u8> {
    let chart = chart_yaml(name, version);
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-settings\ndata:\n  replicas: {{ .Values.replicaCount | quote }}\n  color: {{ .Values.color | quote }}\n";
    let values = "replicaCount: 1\ncolor: blue\n";
    archive(&[
        Entry::File(&format!("{name}/Chart.yaml"), chart.as_bytes()),
        Entry::File(&format!("{name}/values.yaml"), values.as_bytes()),
        Entry::File(
            &format!("{name}/templates/configmap.yaml"),
            template.as_bytes(),
        ),
    ])
}

/// A gzip stream of `bytes` zeros (a bomb when large), compressed without building it whole.
pub fn zeros_gzip(bytes: usize, path: &str) -> Vec<u8> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    let mut header = tar::Header::new_old();
    let name = &mut header.as_old_mut().name;
    name[..path.len()].copy_from_slice(path.as_bytes());
    header.set_entry_type(tar::EntryType::Regular);
    header.set_size(bytes as u64);
    header.set_mode(0o644);
    header.set_cksum();
    gz.write_all(header.as_bytes()).expect("header");
    let chunk = vec![0u8; 1 << 20];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        gz.write_all(&chunk[..n]).expect("zeros");
        left -= n;
    }
    gz.write_all(&[0u8; 1024]).expect("end");
    gz.finish().expect("gzip")
}
