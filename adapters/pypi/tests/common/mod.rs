//! Real distributions made in the test: a wheel (a zip with `.dist-info`) and an sdist
//! (a `.tar.gz` with `PKG-INFO` and a tiny in-tree PEP 517 backend, so that pip can read
//! its metadata offline, with nothing to install).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use ferry_ports::{Artifact, ArtifactBody, ArtifactDescriptor, Sha256Digest};
use sha2::{Digest, Sha256};
use std::io::Write;

/// A name no earlier run used (the server keeps its state across runs).
pub fn unique_name(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos();
    format!("ferry-pypi-test-{nanos}-{tag}")
}

/// The name as it appears in file names (normalized, `-` → `_`).
pub fn dist_name(name: &str) -> String {
    let mut out = String::new();
    let mut in_run = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !in_run {
                out.push('_');
            }
            in_run = true;
        } else {
            out.extend(c.to_lowercase());
            in_run = false;
        }
    }
    out
}

pub fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

pub fn artifact(file_name: &str, bytes: &[u8]) -> Artifact {
    Artifact::new(
        ArtifactDescriptor::new(file_name, bytes.len() as u64, sha256(bytes)),
        ArtifactBody::Bytes(bytes.to_vec()),
    )
}

fn b64_urlsafe_nopad(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ABC[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Standard base64 with padding (for a Basic authorization header).
pub fn b64(bytes: &[u8]) -> String {
    let mut s = b64_urlsafe_nopad(bytes).replace('-', "+").replace('_', "/");
    while !s.len().is_multiple_of(4) {
        s.push('=');
    }
    s
}

/// A valid pure-Python wheel of `name` `version`; `marker` goes into the module and the
/// summary, so two wheels of the same version can differ.
pub fn wheel(name: &str, version: &str, marker: &str) -> (String, Vec<u8>) {
    wheel_with_data(name, version, marker, 0)
}

/// A wheel that also carries `data_len` bytes of package data (a large upload).
pub fn wheel_with_data(
    name: &str,
    version: &str,
    marker: &str,
    data_len: usize,
) -> (String, Vec<u8>) {
    let dist = dist_name(name);
    let info = format!("{dist}-{version}.dist-info");
    let mut files: Vec<(String, String)> = vec![
        (format!("{dist}/__init__.py"), format!("MARKER = {marker:?}\n")),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: {marker}\n"),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: ferry-pypi-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .to_string(),
        ),
    ];
    if data_len > 0 {
        let data: String = (0..data_len)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        files.push((format!("{dist}/data.txt"), data));
    }
    let mut record = String::new();
    for (path, body) in &files {
        let digest = Sha256::digest(body.as_bytes());
        record.push_str(&format!(
            "{path},sha256={},{}\n",
            b64_urlsafe_nopad(&digest),
            body.len()
        ));
    }
    record.push_str(&format!("{info}/RECORD,,\n"));

    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(zip::DateTime::default());
    for (path, body) in files
        .iter()
        .chain(std::iter::once(&(format!("{info}/RECORD"), record)))
    {
        zip.start_file(path.as_str(), options).expect("zip entry");
        zip.write_all(body.as_bytes()).expect("zip write");
    }
    let bytes = zip.finish().expect("zip finish").into_inner();
    (format!("{dist}-{version}-py3-none-any.whl"), bytes)
}

/// A valid sdist of `name` `version`, whose metadata pip reads through an in-tree
/// backend (`backend-path`), with no build requirements.
pub fn sdist(name: &str, version: &str) -> (String, Vec<u8>) {
    let dist = dist_name(name);
    let root = format!("{dist}-{version}");
    let metadata = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
    let backend = format!(
        r#"import os

METADATA = {metadata:?}
DIST_INFO = "{dist}-{version}.dist-info"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    path = os.path.join(metadata_directory, DIST_INFO)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "METADATA"), "w") as f:
        f.write(METADATA)
    return DIST_INFO


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("the ferry tests only read this sdist's metadata")


def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("the ferry tests only read this sdist's metadata")
"#
    );
    let pyproject = "[build-system]\nrequires = []\nbuild-backend = \"ferry_test_backend\"\nbackend-path = [\".\"]\n";
    let files = [
        ("PKG-INFO", metadata.clone()),
        ("pyproject.toml", pyproject.to_string()),
        ("ferry_test_backend.py", backend),
    ];
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, body) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, format!("{root}/{path}"), body.as_bytes())
            .expect("tar entry");
    }
    let bytes = tar
        .into_inner()
        .expect("tar finish")
        .finish()
        .expect("gzip finish");
    (format!("{root}.tar.gz"), bytes)
}
