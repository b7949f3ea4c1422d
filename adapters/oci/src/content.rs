//! What gets pushed: the blobs and manifests of an OCI image layout directory, or of a
//! Helm chart `.tgz` (chart layer, config made from `Chart.yaml`, image manifest).

use ferry_ports::{PortError, PortResult, Sha256Digest};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Helm chart config (HIP 0017).
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content layer (HIP 0017).
pub const HELM_CHART: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// Every manifest type the adapter reads and writes (the `Accept` of manifest reads).
pub(crate) const MANIFEST_TYPES: [&str; 4] =
    [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST];

/// Largest manifest read from a layout (registries refuse more than a few MiB).
const MANIFEST_MAX: u64 = 4 * 1024 * 1024;
/// Read buffer for hashing.
const CHUNK: usize = 256 * 1024;

/// Where a blob's bytes are.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

/// A blob to push (config or layer).
#[derive(Debug, Clone)]
pub(crate) struct Blob {
    pub(crate) digest: Sha256Digest,
    pub(crate) size: u64,
    pub(crate) source: Source,
}

/// A manifest to push, with its exact bytes (the digest is of these bytes).
#[derive(Debug, Clone)]
pub(crate) struct Manifest {
    pub(crate) digest: Sha256Digest,
    pub(crate) media_type: String,
    pub(crate) bytes: Vec<u8>,
}

/// Everything a publish pushes: blobs first, then manifests (children before the
/// index that names them); the last manifest is the one the tag points at.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) blobs: Vec<Blob>,
    pub(crate) manifests: Vec<Manifest>,
    /// For a chart: the chart layer's digest (the artifact's own digest).
    pub(crate) chart: Option<Sha256Digest>,
}

impl Prepared {
    pub(crate) fn top(&self) -> &Manifest {
        // Both constructors push at least one manifest.
        &self.manifests[self.manifests.len() - 1]
    }
}

pub(crate) fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(Sha256::digest(bytes).into())
}

fn hash_file(path: &Path) -> std::io::Result<(Sha256Digest, u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((Sha256Digest::from_bytes(hasher.finalize().into()), size))
}

#[derive(serde::Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    digest: String,
    size: u64,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    urls: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Document {
    #[serde(rename = "mediaType", default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

/// The annotation skopeo, oras and buildkit put on `index.json` entries.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Read and check an OCI image layout directory: every manifest and blob reachable
/// from the `index.json` entry to publish must be present with its digest and size.
/// The entry is the only one, or the one whose `ref.name` is `version` (or `tag`).
pub(crate) fn read_layout(dir: &Path, version: &str, tag: &str) -> PortResult<Prepared> {
    let shown = dir.display();
    let bad = |why: String| {
        PortError::invalid_input(format!("{shown} is not a usable OCI image layout: {why}"))
    };
    let layout = std::fs::read_to_string(dir.join("oci-layout"))
        .map_err(|e| bad(format!("cannot read oci-layout ({e})")))?;
    let layout: serde_json::Value =
        serde_json::from_str(&layout).map_err(|e| bad(format!("oci-layout is not JSON ({e})")))?;
    if layout
        .get("imageLayoutVersion")
        .and_then(|v| v.as_str())
        .is_none()
    {
        return Err(bad("oci-layout has no imageLayoutVersion".into()));
    }
    let index = std::fs::read(dir.join("index.json"))
        .map_err(|e| bad(format!("cannot read index.json ({e})")))?;
    let index: Document = serde_json::from_slice(&index)
        .map_err(|e| bad(format!("index.json is not an image index ({e})")))?;
    let entries = index.manifests.unwrap_or_default();
    let entry = match entries.len() {
        0 => return Err(bad("index.json lists no manifest".into())),
        1 => &entries[0],
        n => entries
            .iter()
            .find(|d| {
                d.annotations
                    .get(REF_NAME)
                    .is_some_and(|r| r == version || r == tag)
            })
            .ok_or_else(|| {
                bad(format!(
                    "index.json lists {n} manifests and none is annotated {REF_NAME}={version:?}; \
                     keep one, or name the one to publish"
                ))
            })?,
    };
    let mut out = Prepared {
        blobs: Vec::new(),
        manifests: Vec::new(),
        chart: None,
    };
    visit(dir, entry, &mut out, 0)?;
    Ok(out)
}

fn blob_path(dir: &Path, digest: &str) -> PortResult<(PathBuf, Sha256Digest)> {
    let Some(hex) = digest.strip_prefix("sha256:") else {
        return Err(PortError::invalid_input(format!(
            "{}: digest {digest:?} is not sha256 (the only algorithm this adapter pushes)",
            dir.display()
        )));
    };
    let parsed = Sha256Digest::parse(digest)?;
    Ok((dir.join("blobs").join("sha256").join(hex), parsed))
}

fn visit(dir: &Path, desc: &Descriptor, out: &mut Prepared, depth: usize) -> PortResult<()> {
    if depth > 4 {
        return Err(PortError::invalid_input(format!(
            "{}: image indexes nest too deep",
            dir.display()
        )));
    }
    let (path, digest) = blob_path(dir, &desc.digest)?;
    if out.manifests.iter().any(|m| m.digest == digest) {
        return Ok(());
    }
    if desc.size > MANIFEST_MAX {
        return Err(PortError::invalid_input(format!(
            "{}: manifest {digest} is {} bytes; registries take at most {MANIFEST_MAX}",
            dir.display(),
            desc.size
        )));
    }
    let bytes = std::fs::read(&path).map_err(|e| {
        PortError::invalid_input(format!(
            "{}: manifest {digest} is missing from blobs/sha256 ({e})",
            dir.display()
        ))
    })?;
    let actual = sha256(&bytes);
    if actual != digest || bytes.len() as u64 != desc.size {
        return Err(PortError::invalid_input(format!(
            "{}: manifest blob {digest} ({} bytes listed) holds {} bytes with digest {actual}",
            dir.display(),
            desc.size,
            bytes.len()
        )));
    }
    let doc: Document = serde_json::from_slice(&bytes).map_err(|e| {
        PortError::invalid_input(format!(
            "{}: manifest {digest} is not JSON ({e})",
            dir.display()
        ))
    })?;
    let media_type = desc
        .media_type
        .clone()
        .or(doc.media_type.clone())
        .unwrap_or_else(|| OCI_MANIFEST.to_string());
    match media_type.as_str() {
        OCI_INDEX | DOCKER_LIST => {
            for child in doc.manifests.as_deref().unwrap_or_default() {
                visit(dir, child, out, depth + 1)?;
            }
        }
        OCI_MANIFEST | DOCKER_MANIFEST => {
            let config = doc.config.as_ref().ok_or_else(|| {
                PortError::invalid_input(format!(
                    "{}: manifest {digest} has no config",
                    dir.display()
                ))
            })?;
            for blob in std::iter::once(config).chain(doc.layers.as_deref().unwrap_or_default()) {
                add_blob(dir, blob, out)?;
            }
        }
        other => {
            return Err(PortError::invalid_input(format!(
                "{}: manifest {digest} has media type {other:?}; expected one of {}",
                dir.display(),
                MANIFEST_TYPES.join(", ")
            )))
        }
    }
    out.manifests.push(Manifest {
        digest,
        media_type,
        bytes,
    });
    Ok(())
}

fn add_blob(dir: &Path, desc: &Descriptor, out: &mut Prepared) -> PortResult<()> {
    let (path, digest) = blob_path(dir, &desc.digest)?;
    if out.blobs.iter().any(|b| b.digest == digest) {
        return Ok(());
    }
    if !path.exists() && !desc.urls.is_empty() {
        // A foreign (non-distributable) layer: fetched from its URLs, never pushed.
        return Ok(());
    }
    let (actual, size) = hash_file(&path).map_err(|e| {
        PortError::invalid_input(format!(
            "{}: blob {digest} is missing from blobs/sha256 ({e})",
            dir.display()
        ))
    })?;
    if actual != digest || size != desc.size {
        return Err(PortError::invalid_input(format!(
            "{}: blob {digest} ({} bytes listed) holds {size} bytes with digest {actual}",
            dir.display(),
            desc.size
        )));
    }
    out.blobs.push(Blob {
        digest,
        size,
        source: Source::File(path),
    });
    Ok(())
}

/// The `Chart.yaml` fields that go into the config blob, in Helm's order.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct ChartMeta {
    pub(crate) name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    home: Option<String>,
    pub(crate) version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<String>,
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(rename = "appVersion", skip_serializing_if = "Option::is_none")]
    app_version: Option<String>,
    #[serde(rename = "kubeVersion", skip_serializing_if = "Option::is_none")]
    kube_version: Option<String>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    chart_type: Option<String>,
}

/// The top-level scalar `key: value` lines of a YAML document (quotes removed).
fn top_level_scalars(yaml: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in yaml.lines() {
        if line.starts_with([' ', '\t', '#', '-']) {
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let mut value = value.trim();
        if value.starts_with('#') {
            continue;
        }
        if let Some(v) = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
        {
            value = v;
        } else if let Some((v, _comment)) = value.split_once(" #") {
            value = v.trim();
        }
        if value.is_empty() || value == "|" || value == ">" {
            continue;
        }
        out.insert(key.trim().to_string(), value.to_string());
    }
    out
}

/// `Chart.yaml` from a chart archive (`<chart>/Chart.yaml`).
pub(crate) fn chart_meta(tgz: &[u8], file_name: &str) -> PortResult<ChartMeta> {
    let bad = |why: String| {
        PortError::invalid_input(format!("{file_name} is not a Helm chart archive: {why}"))
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let entries = archive
        .entries()
        .map_err(|e| bad(format!("not a .tgz ({e})")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| bad(format!("not a .tgz ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| bad(format!("bad entry name ({e})")))?
            .into_owned();
        let parts: Vec<_> = path.components().collect();
        if parts.len() != 2 || parts[1].as_os_str() != "Chart.yaml" {
            continue;
        }
        let mut text = String::new();
        entry
            .by_ref()
            .take(1024 * 1024)
            .read_to_string(&mut text)
            .map_err(|e| bad(format!("Chart.yaml is not UTF-8 text ({e})")))?;
        let fields = top_level_scalars(&text);
        let get = |k: &str| fields.get(k).cloned();
        let need = |k: &str| get(k).ok_or_else(|| bad(format!("Chart.yaml has no `{k}`")));
        return Ok(ChartMeta {
            name: need("name")?,
            home: get("home"),
            version: need("version")?,
            description: get("description"),
            icon: get("icon"),
            api_version: need("apiVersion")?,
            app_version: get("appVersion"),
            kube_version: get("kubeVersion"),
            chart_type: get("type"),
        });
    }
    Err(bad("no <chart>/Chart.yaml in it".into()))
}

#[derive(Serialize)]
struct OutDescriptor<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    digest: String,
    size: u64,
}

#[derive(Serialize)]
struct OutManifest<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    config: OutDescriptor<'a>,
    layers: Vec<OutDescriptor<'a>>,
    annotations: BTreeMap<&'a str, &'a str>,
}

/// The blobs and manifest Helm (3.8+) pushes for a chart: config
/// `application/vnd.cncf.helm.config.v1+json` (the `Chart.yaml` fields as JSON), one
/// layer `application/vnd.cncf.helm.chart.content.v1.tar+gzip`, an OCI image manifest
/// with the title/version/description annotations (no creation time, so the same
/// chart always gives the same manifest digest).
pub(crate) fn prepare_chart(
    tgz: Arc<Vec<u8>>,
    chart_digest: Sha256Digest,
    meta: &ChartMeta,
) -> PortResult<Prepared> {
    let config = serde_json::to_vec(meta)
        .map_err(|e| PortError::other(format!("cannot write the chart config: {e}")))?;
    let config_digest = sha256(&config);
    let mut annotations = BTreeMap::new();
    if let Some(d) = meta.description.as_deref() {
        annotations.insert("org.opencontainers.image.description", d);
    }
    annotations.insert("org.opencontainers.image.title", meta.name.as_str());
    annotations.insert("org.opencontainers.image.version", meta.version.as_str());
    let manifest = OutManifest {
        schema_version: 2,
        media_type: OCI_MANIFEST,
        config: OutDescriptor {
            media_type: HELM_CONFIG,
            digest: config_digest.to_string(),
            size: config.len() as u64,
        },
        layers: vec![OutDescriptor {
            media_type: HELM_CHART,
            digest: chart_digest.to_string(),
            size: tgz.len() as u64,
        }],
        annotations,
    };
    let bytes = serde_json::to_vec(&manifest)
        .map_err(|e| PortError::other(format!("cannot write the chart manifest: {e}")))?;
    Ok(Prepared {
        blobs: vec![
            Blob {
                digest: chart_digest,
                size: tgz.len() as u64,
                source: Source::Bytes(tgz),
            },
            Blob {
                digest: config_digest,
                size: config.len() as u64,
                source: Source::Bytes(Arc::new(config)),
            },
        ],
        manifests: vec![Manifest {
            digest: sha256(&bytes),
            media_type: OCI_MANIFEST.to_string(),
            bytes,
        }],
        chart: Some(chart_digest),
    })
}

/// What a manifest read from the registry says about itself, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    pub(crate) media_type: String,
    /// A Helm chart's content layer (digest, size) and title/version annotations.
    pub(crate) chart: Option<(Sha256Digest, u64, Option<String>, Option<String>)>,
}

/// Read a manifest fetched from the registry.
pub(crate) fn read_remote(bytes: &[u8], content_type: Option<&str>) -> Remote {
    let value: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
    let media_type = value
        .get("mediaType")
        .and_then(|m| m.as_str())
        .or(content_type)
        .unwrap_or(OCI_MANIFEST)
        .to_string();
    let config_type = value.pointer("/config/mediaType").and_then(|m| m.as_str());
    let chart = (config_type == Some(HELM_CONFIG))
        .then(|| {
            let layer = value
                .get("layers")?
                .as_array()?
                .iter()
                .find(|l| l.get("mediaType").and_then(|m| m.as_str()) == Some(HELM_CHART))?;
            let digest = Sha256Digest::parse(layer.get("digest")?.as_str()?).ok()?;
            let size = layer.get("size")?.as_u64()?;
            let annotation = |k: &str| {
                value
                    .pointer(&format!("/annotations/{}", k.replace('/', "~1")))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            Some((
                digest,
                size,
                annotation("org.opencontainers.image.title"),
                annotation("org.opencontainers.image.version"),
            ))
        })
        .flatten();
    Remote { media_type, chart }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_yaml_top_level_scalars() {
        let f = top_level_scalars(
            "apiVersion: v2\nname: \"trueppm\"\nversion: 1.2.3 # the chart\ndescription: >\n  long\nmaintainers:\n  - name: x\ntype: application\n",
        );
        assert_eq!(f.get("apiVersion").map(String::as_str), Some("v2"));
        assert_eq!(f.get("name").map(String::as_str), Some("trueppm"));
        assert_eq!(f.get("version").map(String::as_str), Some("1.2.3"));
        assert_eq!(f.get("type").map(String::as_str), Some("application"));
        assert!(!f.contains_key("description"));
        assert!(!f.contains_key("maintainers"));
    }
}
