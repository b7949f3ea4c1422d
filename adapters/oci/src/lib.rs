//! ferry's [`Registry`] on an OCI distribution registry (CNCF distribution, ghcr.io,
//! Docker Hub, Harbor, …), per the OCI distribution spec v1.1.
//!
//! - `package` is the repository (`acme/api`, `acme/charts/trueppm`; a leading
//!   registry host equal to the configured one is dropped), `version` the tag (`+`,
//!   which tags cannot hold, becomes `_` as Helm does), and the one artifact either an
//!   **OCI image layout directory** (`ArtifactBody::File(dir)` with `oci-layout`,
//!   `index.json`, `blobs/sha256/…`; its descriptor's digest and size are those of the
//!   manifest `index.json` names) or a **Helm chart `.tgz`** (pushed as Helm 3.8+ does:
//!   chart layer, config from `Chart.yaml`, image manifest).
//! - **Publishing** reads the tag first: already pointing at our manifest →
//!   `already_present`, nothing sent; pointing elsewhere → `AlreadyExists` (unless
//!   [`OciConfig::allow_tag_move`]); absent → every blob (`HEAD` first, then `POST` +
//!   monolithic `PUT ?digest=`), the manifests by digest, and the tag last.
//! - **Listing**: `GET /v2/<name>/tags/list` (following `Link`), then each tag's
//!   manifest.
//! - Authentication: the registry's `WWW-Authenticate` challenge decides — `Bearer`
//!   (a token fetched from the realm with the credentials, cached per scope) or
//!   `Basic`. Credentials are [`SecretString`]s, shown nowhere.

mod content;
mod http;

use content::{Prepared, Source, MANIFEST_TYPES};
pub use content::{HELM_CHART, HELM_CONFIG, OCI_INDEX, OCI_MANIFEST};
use ferry_ports::{
    async_trait, Artifact, ArtifactBody, ArtifactDescriptor, Ecosystem, ErrorKind, PackageName,
    PortError, PortResult, PublishOutcome, PublishRequest, PublishedVersion, Registry,
    RegistryCapabilities, Sha256Digest, Version,
};
use futures::{StreamExt, TryStreamExt};
use http::Challenge;
use reqwest::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use reqwest::StatusCode;
use secrecy::ExposeSecret;
pub use secrecy::SecretString;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use url::Url;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a read may stall.
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Manifests read at the same time when listing.
const LOOKUPS_IN_FLIGHT: usize = 8;
/// Read buffer for streaming blobs.
const CHUNK: usize = 256 * 1024;
/// Largest manifest read from the registry.
const MANIFEST_MAX: usize = 4 * 1024 * 1024;
/// Tags asked for per page.
const TAGS_PAGE: usize = 1000;

/// How to authenticate.
pub enum OciCredentials {
    /// A username and password (or personal access token), sent with HTTP Basic to a
    /// `Basic` registry, or to the token realm of a `Bearer` one.
    Basic {
        /// The user name (not a secret: it may appear in messages).
        username: String,
        /// The password or token.
        password: SecretString,
    },
    /// A bearer token, sent as `Authorization: Bearer` (to the registry, and to the
    /// token realm when the registry asks for a token of its own).
    Bearer(SecretString),
}

impl OciCredentials {
    /// A username and password.
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Self {
        OciCredentials::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// A bearer token.
    pub fn bearer(token: impl Into<String>) -> Self {
        OciCredentials::Bearer(SecretString::from(token.into()))
    }

    fn secret(&self) -> &str {
        match self {
            OciCredentials::Basic { password, .. } => password.expose_secret(),
            OciCredentials::Bearer(token) => token.expose_secret(),
        }
    }
}

impl Clone for OciCredentials {
    fn clone(&self) -> Self {
        match self {
            OciCredentials::Basic { username, password } => {
                OciCredentials::basic(username.clone(), password.expose_secret())
            }
            OciCredentials::Bearer(t) => OciCredentials::bearer(t.expose_secret()),
        }
    }
}

impl fmt::Debug for OciCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OciCredentials::Bearer(_) => f.write_str("Bearer([redacted])"),
            OciCredentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &format_args!("[redacted]"))
                .finish(),
        }
    }
}

/// Where the registry is and how to authenticate.
#[derive(Debug, Clone)]
pub struct OciConfig {
    /// The registry's base URL (`https://ghcr.io`, `http://127.0.0.1:5000`); `/v2/…` is
    /// appended.
    pub registry_url: String,
    /// `None` for anonymous access.
    pub credentials: Option<OciCredentials>,
    /// Move a version tag that points at another manifest (`--force`). Off: such a
    /// publish fails with `AlreadyExists`.
    pub allow_tag_move: bool,
}

impl OciConfig {
    /// A registry at `registry_url` with `credentials`, never moving tags.
    pub fn new(registry_url: impl Into<String>, credentials: Option<OciCredentials>) -> Self {
        OciConfig {
            registry_url: registry_url.into(),
            credentials,
            allow_tag_move: false,
        }
    }
}

/// What [`OciRegistry::publish_detailed`] did, beyond the port's outcome.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciPublishOutcome {
    /// The port's outcome.
    pub outcome: PublishOutcome,
    /// The repository pushed to.
    pub repository: String,
    /// The tag.
    pub tag: String,
    /// The digest of the manifest the tag points at.
    pub manifest_digest: Sha256Digest,
    /// The manifest the tag pointed at before, when it was moved (`allow_tag_move`).
    pub tag_moved_from: Option<Sha256Digest>,
    /// Blobs sent by this call.
    pub blobs_uploaded: usize,
    /// Blobs the registry already had (not sent).
    pub blobs_present: usize,
}

/// A [`Registry`] on an OCI distribution registry.
pub struct OciRegistry {
    client: reqwest::Client,
    base: Url,
    /// `host[:port]` of the registry, as a package name may start with it.
    host: String,
    credentials: Option<OciCredentials>,
    allow_tag_move: bool,
    /// Bearer tokens from the realm, by scope.
    tokens: Mutex<HashMap<String, String>>,
    /// The registry asked for `Basic`: send it up front from now on.
    basic: AtomicBool,
}

impl fmt::Debug for OciRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OciRegistry")
            .field("registry_url", &self.base.as_str())
            .field("credentials", &self.credentials)
            .field("allow_tag_move", &self.allow_tag_move)
            .finish_non_exhaustive()
    }
}

/// A repository name per the distribution spec:
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
fn valid_repository(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name.split('/').all(|part| {
            let b = part.as_bytes();
            let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
            !b.is_empty()
                && alnum(b[0])
                && alnum(b[b.len() - 1])
                && b.iter()
                    .all(|&c| alnum(c) || matches!(c, b'.' | b'_' | b'-'))
                && !part.contains("..")
                && !part.contains("___")
                && !part.contains("._")
                && !part.contains("_.")
                && !part.contains(".-")
                && !part.contains("-.")
                && !part.contains("_-")
                && !part.contains("-_")
        })
}

/// A tag per the distribution spec: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// The tag for a version (`+` → `_`, as Helm does).
fn tag_for(package: &str, version: &str) -> PortResult<String> {
    let tag = version.replace('+', "_");
    if valid_tag(&tag) {
        Ok(tag)
    } else {
        Err(PortError::invalid_input(format!(
            "{package} {version}: {tag:?} is not a valid OCI tag (letters, digits, `_`, `.`, \
             `-`, at most 128, not starting with `.` or `-`)"
        )))
    }
}

fn file_body(path: PathBuf) -> reqwest::Body {
    let stream = futures::stream::try_unfold(None::<tokio::fs::File>, move |file| {
        let path = path.clone();
        async move {
            let mut file = match file {
                Some(f) => f,
                None => tokio::fs::File::open(&path).await?,
            };
            let mut buf = vec![0u8; CHUNK];
            let n = file.read(&mut buf).await?;
            if n == 0 {
                return Ok::<_, std::io::Error>(None);
            }
            buf.truncate(n);
            Ok(Some((buf, Some(file))))
        }
    });
    reqwest::Body::wrap_stream(stream)
}

fn manifest_accept() -> String {
    MANIFEST_TYPES.join(", ")
}

fn header_digest(response: &reqwest::Response) -> Option<Sha256Digest> {
    response
        .headers()
        .get("docker-content-digest")?
        .to_str()
        .ok()
        .and_then(|d| Sha256Digest::parse(d).ok())
}

/// A checked artifact: what to push, and the kind, for messages.
struct Checked {
    prepared: Prepared,
    what: &'static str,
}

impl OciRegistry {
    /// A registry from its configuration; fails with `InvalidInput` on a URL that is
    /// not http(s), has no host, or carries credentials.
    pub fn new(config: OciConfig) -> PortResult<Self> {
        // The text is not echoed: a malformed URL may still hold a password.
        let mut base = Url::parse(&config.registry_url).map_err(|e| {
            PortError::invalid_input(format!(
                "the registry URL is not a valid URL ({e}); expected e.g. `https://ghcr.io`"
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(PortError::invalid_input(format!(
                "the registry URL must be http or https, not {}:",
                base.scheme()
            )));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(PortError::invalid_input(
                "the registry URL must not carry a user or password (give them as \
                 `credentials`, which are kept secret)",
            ));
        }
        let Some(host) = base.host_str().filter(|h| !h.is_empty()) else {
            return Err(PortError::invalid_input("the registry URL has no host"));
        };
        let host = match base.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let client = reqwest::Client::builder()
            .user_agent(concat!("ferry-oci/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(READ_TIMEOUT)
            // Writes must not be replayed elsewhere; reads are never redirected by the
            // registries we know (blob downloads are, but the adapter reads no blob).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                PortError::other(format!("cannot set up the HTTP client: {e}")).with_source(e)
            })?;
        Ok(OciRegistry {
            client,
            base,
            host,
            credentials: config.credentials,
            allow_tag_move: config.allow_tag_move,
            tokens: Mutex::new(HashMap::new()),
            basic: AtomicBool::new(false),
        })
    }

    /// The registry's base URL (with its final `/`).
    pub fn registry_url(&self) -> &str {
        self.base.as_str()
    }

    /// What no message may show (tokens from the realm are never put in one).
    fn secrets(&self) -> Vec<&str> {
        self.credentials.iter().map(|c| c.secret()).collect()
    }

    /// The repository for a package (a leading `host[:port]/` of this registry is
    /// dropped).
    fn repository(&self, package: &PackageName) -> PortResult<String> {
        let name = package.as_str();
        let name = name
            .strip_prefix(&format!("{}/", self.host))
            .unwrap_or(name);
        if let Some((first, _)) = name.split_once('/') {
            if first.contains(['.', ':']) || first == "localhost" {
                return Err(PortError::invalid_input(format!(
                    "{package:?} names the registry {first}, but this adapter is configured for \
                     {}; give the repository without a host (e.g. `acme/api`)",
                    self.host
                )));
            }
        }
        if valid_repository(name) {
            Ok(name.to_string())
        } else {
            Err(PortError::invalid_input(format!(
                "{package:?} is not an OCI repository name of {}: lower-case letters and \
                 digits, separated by `.`, `_`, `__`, `-` and `/` (e.g. `acme/api`)",
                self.host
            )))
        }
    }

    fn url(&self, path: &str) -> PortResult<Url> {
        self.base
            .join(path)
            .map_err(|e| PortError::invalid_input(format!("cannot build the URL {path}: {e}")))
    }

    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        scope: &str,
    ) -> reqwest::RequestBuilder {
        if !self.same_origin(url) {
            return request;
        }
        let token = self.tokens.lock().ok().and_then(|t| t.get(scope).cloned());
        if let Some(token) = token {
            return request.bearer_auth(token);
        }
        match &self.credentials {
            Some(OciCredentials::Basic { username, password })
                if self.basic.load(Ordering::Relaxed) =>
            {
                request.basic_auth(username, Some(password.expose_secret()))
            }
            Some(OciCredentials::Bearer(token)) => request.bearer_auth(token.expose_secret()),
            _ => request,
        }
    }

    /// Send a request built by `build` (again after an authentication challenge).
    async fn send(
        &self,
        scope: &str,
        what: &str,
        build: impl Fn() -> PortResult<(Url, reqwest::RequestBuilder)>,
    ) -> PortResult<reqwest::Response> {
        let mut challenged = false;
        loop {
            let (url, request) = build()?;
            let response = self
                .authorize(request, &url, scope)
                .send()
                .await
                .map_err(|e| http::send_error(e, what))?;
            if response.status() != StatusCode::UNAUTHORIZED || challenged {
                return Ok(response);
            }
            challenged = true;
            let challenge = response
                .headers()
                .get(reqwest::header::WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(http::parse_challenge);
            match challenge {
                Some(Challenge::Basic) => match &self.credentials {
                    Some(OciCredentials::Basic { .. })
                        if !self.basic.swap(true, Ordering::Relaxed) => {}
                    _ => return Ok(response),
                },
                Some(Challenge::Bearer { realm, service, .. }) => {
                    let token = self
                        .fetch_token(&realm, service.as_deref(), scope, what)
                        .await?;
                    if let Ok(mut tokens) = self.tokens.lock() {
                        tokens.insert(scope.to_string(), token);
                    }
                }
                None => return Ok(response),
            }
        }
    }

    /// A token from a `Bearer` challenge's realm for `scope`.
    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        what: &str,
    ) -> PortResult<String> {
        let mut url = Url::parse(realm).map_err(|e| {
            PortError::other(format!(
                "{what}: the registry's token realm {realm:?} is not a URL ({e})"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PortError::other(format!(
                "{what}: the registry's token realm {realm:?} is not http(s)"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(service) = service {
                q.append_pair("service", service);
            }
            q.append_pair("scope", scope);
        }
        let mut request = self.client.get(url.clone());
        // Credentials go to an https realm, or to one on the registry's own origin.
        if url.scheme() == "https" || self.same_origin(&url) {
            request = match &self.credentials {
                Some(OciCredentials::Basic { username, password }) => {
                    request.basic_auth(username, Some(password.expose_secret()))
                }
                Some(OciCredentials::Bearer(token)) => request.bearer_auth(token.expose_secret()),
                None => request,
            };
        }
        let token_what = format!(
            "{what}: getting a token from {}",
            url.origin().ascii_serialization()
        );
        let response = request
            .send()
            .await
            .map_err(|e| http::send_error(e, &token_what))?;
        if !response.status().is_success() {
            return Err(self.failure(response, &token_what).await);
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| http::send_error(e, &token_what))?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| PortError::other(format!("{token_what}: the answer holds no token")))
    }

    async fn failure(&self, response: reqwest::Response, what: &str) -> PortError {
        let status = response.status().as_u16();
        let retry = http::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let codes: Vec<String> = http::registry_errors(&body)
            .into_iter()
            .map(|e| e.code)
            .collect();
        let reason = http::reason_text(&body, &self.secrets());
        http::status_error(status, &codes, &reason, what, retry)
    }

    fn scope(repo: &str, push: bool) -> String {
        if push {
            format!("repository:{repo}:pull,push")
        } else {
            format!("repository:{repo}:pull")
        }
    }

    /// The digest a tag points at (`None`: no such tag, or no such repository).
    async fn tag_digest(
        &self,
        repo: &str,
        tag: &str,
        scope: &str,
    ) -> PortResult<Option<Sha256Digest>> {
        let what = format!("reading tag {tag} of {repo}");
        let url = self.url(&format!("v2/{repo}/manifests/{tag}"))?;
        let response = self
            .send(scope, &what, || {
                Ok((
                    url.clone(),
                    self.client
                        .head(url.clone())
                        .header(ACCEPT, manifest_accept()),
                ))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        if let Some(d) = header_digest(&response) {
            return Ok(Some(d));
        }
        // No Docker-Content-Digest: hash the manifest itself.
        Ok(self
            .get_manifest(repo, tag, scope)
            .await?
            .map(|(digest, _, _)| digest))
    }

    /// A manifest by tag or digest: its digest, bytes and content type.
    async fn get_manifest(
        &self,
        repo: &str,
        reference: &str,
        scope: &str,
    ) -> PortResult<Option<(Sha256Digest, Vec<u8>, Option<String>)>> {
        let what = format!("reading manifest {repo}:{reference}");
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"))?;
        let response = self
            .send(scope, &what, || {
                Ok((
                    url.clone(),
                    self.client
                        .get(url.clone())
                        .header(ACCEPT, manifest_accept()),
                ))
            })
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        let listed = header_digest(&response);
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.split(';').next().unwrap_or(s).trim().to_string());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if bytes.len() > MANIFEST_MAX {
            return Err(PortError::other(format!(
                "{what}: the manifest is {} bytes, more than {MANIFEST_MAX}",
                bytes.len()
            )));
        }
        let digest = content::sha256(&bytes);
        if let Some(listed) = listed.filter(|l| *l != digest) {
            return Err(PortError::other(format!(
                "{what}: the registry says its digest is {listed} but its bytes hash to {digest}"
            )));
        }
        Ok(Some((digest, bytes.to_vec(), content_type)))
    }

    async fn blob_exists(
        &self,
        repo: &str,
        digest: &Sha256Digest,
        scope: &str,
    ) -> PortResult<bool> {
        let what = format!("checking blob {digest} in {repo}");
        let url = self.url(&format!("v2/{repo}/blobs/{digest}"))?;
        let response = self
            .send(scope, &what, || {
                Ok((url.clone(), self.client.head(url.clone())))
            })
            .await?;
        match response.status() {
            s if s.is_success() => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(self.failure(response, &what).await),
        }
    }

    async fn push_blob(&self, repo: &str, blob: &content::Blob, scope: &str) -> PortResult<()> {
        let digest = blob.digest;
        let what = format!("uploading blob {digest} to {repo}");
        let start = self.url(&format!("v2/{repo}/blobs/uploads/"))?;
        let response = self
            .send(scope, &what, || {
                Ok((
                    start.clone(),
                    self.client.post(start.clone()).header(CONTENT_LENGTH, 0),
                ))
            })
            .await?;
        if response.status() != StatusCode::ACCEPTED {
            return Err(self.failure(response, &what).await);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                PortError::other(format!("{what}: the registry gave no upload Location"))
            })?;
        let mut put = start.join(location).map_err(|e| {
            PortError::other(format!("{what}: the upload Location is not a URL ({e})"))
        })?;
        put.query_pairs_mut()
            .append_pair("digest", &digest.to_string());
        let response = self
            .send(scope, &what, || {
                let body = match &blob.source {
                    Source::File(path) => file_body(path.clone()),
                    Source::Bytes(bytes) => reqwest::Body::from(bytes.as_ref().clone()),
                };
                Ok((
                    put.clone(),
                    self.client
                        .put(put.clone())
                        .header(CONTENT_TYPE, "application/octet-stream")
                        .header(CONTENT_LENGTH, blob.size)
                        .body(body),
                ))
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.failure(response, &what).await);
        }
        Ok(())
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        manifest: &content::Manifest,
        scope: &str,
    ) -> PortResult<()> {
        let what = format!("pushing manifest {} as {repo}:{reference}", manifest.digest);
        let url = self.url(&format!("v2/{repo}/manifests/{reference}"))?;
        let response = self
            .send(scope, &what, || {
                Ok((
                    url.clone(),
                    self.client
                        .put(url.clone())
                        .header(CONTENT_TYPE, manifest.media_type.as_str())
                        .body(manifest.bytes.clone()),
                ))
            })
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(self.failure(response, &what).await);
        }
        if let Some(d) = header_digest(&response).filter(|d| *d != manifest.digest) {
            return Err(PortError::other(format!(
                "{what}: the registry stored it as {d}, not {}",
                manifest.digest
            )));
        }
        Ok(())
    }

    /// Check the artifact against its descriptor and turn it into what to push.
    async fn check(
        &self,
        request: &PublishRequest,
        artifact: &Artifact,
        tag: &str,
    ) -> PortResult<Checked> {
        let d = &artifact.descriptor;
        let label = format!("{} {}: {}", request.package, request.version, d.file_name);
        let is_dir = matches!(&artifact.body, ArtifactBody::File(p) if p.is_dir());
        if is_dir {
            let ArtifactBody::File(dir) = &artifact.body else {
                unreachable!("checked above")
            };
            let dir = dir.clone();
            let version = request.version.to_string();
            let tag = tag.to_string();
            let prepared =
                tokio::task::spawn_blocking(move || content::read_layout(&dir, &version, &tag))
                    .await
                    .map_err(|e| {
                        PortError::other(format!("{label}: reading the layout failed: {e}"))
                    })??;
            let top = prepared.top();
            if top.digest != d.sha256 || top.bytes.len() as u64 != d.size {
                return Err(PortError::invalid_input(format!(
                    "{label}: the layout's manifest is {} ({} bytes) but the descriptor says {} ({} \
                     bytes); an image's descriptor names its manifest",
                    top.digest,
                    top.bytes.len(),
                    d.sha256,
                    d.size
                )));
            }
            return Ok(Checked {
                prepared,
                what: "image",
            });
        }
        let bytes = match &artifact.body {
            ArtifactBody::Bytes(b) => b.clone(),
            ArtifactBody::File(path) => tokio::fs::read(path).await.map_err(|e| {
                PortError::invalid_input(format!("{label}: cannot read {} ({e})", path.display()))
            })?,
            other => {
                return Err(PortError::invalid_input(format!(
                    "{label}: unsupported artifact body {other:?}"
                )))
            }
        };
        let actual = content::sha256(&bytes);
        if actual != d.sha256 || bytes.len() as u64 != d.size {
            return Err(PortError::invalid_input(format!(
                "{label}: the bytes ({} bytes, {actual}) do not match the descriptor ({} bytes, {})",
                bytes.len(),
                d.size,
                d.sha256
            )));
        }
        let hinted = d.media_type.as_deref() == Some(HELM_CHART);
        if !hinted && !d.file_name.ends_with(".tgz") {
            return Err(PortError::invalid_input(format!(
                "{label}: an OCI registry takes an image layout directory or a Helm chart `.tgz` \
                 (media type {HELM_CHART}); this is neither"
            )));
        }
        let meta = content::chart_meta(&bytes, &label)?;
        if meta.version != request.version.as_str() {
            return Err(PortError::invalid_input(format!(
                "{label}: Chart.yaml says version {}, not {}",
                meta.version, request.version
            )));
        }
        let prepared = content::prepare_chart(Arc::new(bytes), actual, &meta)?;
        Ok(Checked {
            prepared,
            what: "chart",
        })
    }

    /// Whether the manifest `digest` in the registry holds our content: the same
    /// manifest, or (for a chart) a Helm manifest with the same chart layer.
    async fn holds_ours(
        &self,
        repo: &str,
        digest: &Sha256Digest,
        prepared: &Prepared,
        scope: &str,
    ) -> PortResult<bool> {
        if *digest == prepared.top().digest {
            return Ok(true);
        }
        let Some(chart) = prepared.chart else {
            return Ok(false);
        };
        Ok(
            match self.get_manifest(repo, &digest.to_string(), scope).await? {
                Some((_, bytes, ct)) => content::read_remote(&bytes, ct.as_deref())
                    .chart
                    .is_some_and(|(d, ..)| d == chart),
                None => false,
            },
        )
    }

    /// [`Registry::publish`], with what only an OCI registry can say: the manifest
    /// digest, blob counts, and the previous digest of a moved tag.
    pub async fn publish_detailed(
        &self,
        request: &PublishRequest,
    ) -> PortResult<OciPublishOutcome> {
        let artifact = match request.artifacts.as_slice() {
            [one] => one,
            [] => {
                return Err(PortError::invalid_input(format!(
                    "nothing to publish for {} {}: no artifacts",
                    request.package, request.version
                )))
            }
            more => {
                return Err(PortError::invalid_input(format!(
                    "{} {}: an OCI tag holds one artifact (an image or a chart), not {}",
                    request.package,
                    request.version,
                    more.len()
                )))
            }
        };
        let repo = self.repository(&request.package)?;
        let tag = tag_for(request.package.as_str(), request.version.as_str())?;
        let channel = match request.channel.as_deref() {
            Some(c) if c == tag => None,
            Some(c) if valid_tag(c) => Some(c.to_string()),
            Some(c) => {
                return Err(PortError::invalid_input(format!(
                    "{} {}: channel {c:?} is not a valid OCI tag",
                    request.package, request.version
                )))
            }
            None => None,
        };
        let checked = self.check(request, artifact, &tag).await?;
        let prepared = &checked.prepared;
        let top = prepared.top().clone();
        let scope = Self::scope(&repo, true);
        let mut result = OciPublishOutcome {
            outcome: PublishOutcome::new(Vec::new(), Vec::new()),
            repository: repo.clone(),
            tag: tag.clone(),
            manifest_digest: top.digest,
            tag_moved_from: None,
            blobs_uploaded: 0,
            blobs_present: 0,
        };

        let existing = self.tag_digest(&repo, &tag, &scope).await?;
        let conflict = |have: Sha256Digest| {
            PortError::already_exists(format!(
                "{} {}: tag {tag} of repository {repo} already points at {have}; refusing to move \
                 it to {} (our {}); a published tag is never moved unless allowed (--force)",
                request.package, request.version, top.digest, checked.what
            ))
        };
        if let Some(have) = existing {
            if self.holds_ours(&repo, &have, prepared, &scope).await? {
                if let Some(channel) = &channel {
                    self.point_channel(&repo, channel, &have, &scope).await?;
                }
                result.manifest_digest = have;
                result.outcome = PublishOutcome::new(Vec::new(), vec![artifact.descriptor.clone()]);
                return Ok(result);
            }
            if !self.allow_tag_move {
                return Err(conflict(have));
            }
        }

        for blob in &prepared.blobs {
            if self.blob_exists(&repo, &blob.digest, &scope).await? {
                result.blobs_present += 1;
            } else {
                self.push_blob(&repo, blob, &scope).await?;
                result.blobs_uploaded += 1;
            }
        }
        for manifest in &prepared.manifests {
            self.put_manifest(&repo, &manifest.digest.to_string(), manifest, &scope)
                .await?;
        }
        // The tag last, after a second look: someone may have tagged meanwhile (the
        // spec has no conditional PUT, so a window remains).
        let now = self.tag_digest(&repo, &tag, &scope).await?;
        match now {
            Some(have) if have == top.digest => {
                result.outcome = PublishOutcome::new(Vec::new(), vec![artifact.descriptor.clone()]);
            }
            Some(have) if !self.allow_tag_move => return Err(conflict(have)),
            _ => {
                self.put_manifest(&repo, &tag, &top, &scope).await?;
                result.tag_moved_from = now;
                result.outcome = PublishOutcome::new(vec![artifact.descriptor.clone()], Vec::new());
            }
        }
        if let Some(channel) = &channel {
            self.point_channel(&repo, channel, &top.digest, &scope)
                .await?;
        }
        Ok(result)
    }

    /// Point the channel tag (`latest`, `next`) at `digest`: channels move.
    async fn point_channel(
        &self,
        repo: &str,
        channel: &str,
        digest: &Sha256Digest,
        scope: &str,
    ) -> PortResult<()> {
        if self.tag_digest(repo, channel, scope).await? == Some(*digest) {
            return Ok(());
        }
        let (_, bytes, ct) = self
            .get_manifest(repo, &digest.to_string(), scope)
            .await?
            .ok_or_else(|| PortError::not_found(format!("{repo}: manifest {digest} vanished")))?;
        let media_type = content::read_remote(&bytes, ct.as_deref()).media_type;
        let manifest = content::Manifest {
            digest: *digest,
            media_type,
            bytes,
        };
        self.put_manifest(repo, channel, &manifest, scope).await
    }

    /// Every tag of `repo` (empty for an unknown repository).
    async fn tags(&self, repo: &str, scope: &str) -> PortResult<Vec<String>> {
        let what = format!("listing the tags of {repo}");
        let mut url = self.url(&format!("v2/{repo}/tags/list?n={TAGS_PAGE}"))?;
        let mut tags: Vec<String> = Vec::new();
        for _page in 0..10_000 {
            let current = url.clone();
            let response = self
                .send(scope, &what, || {
                    Ok((current.clone(), self.client.get(current.clone())))
                })
                .await?;
            if response.status() == StatusCode::NOT_FOUND {
                return Ok(tags);
            }
            if !response.status().is_success() {
                return Err(self.failure(response, &what).await);
            }
            let next = response
                .headers()
                .get(reqwest::header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(http::next_link);
            let body: serde_json::Value = response
                .json()
                .await
                .map_err(|e| http::send_error(e, &what))?;
            let page: Vec<String> = body
                .get("tags")
                .and_then(|t| t.as_array())
                .map(|t| {
                    t.iter()
                        .filter_map(|v| v.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let full = page.len() >= TAGS_PAGE;
            let last = page.last().cloned();
            let before = tags.len();
            for t in page {
                if !tags.contains(&t) {
                    tags.push(t);
                }
            }
            let fresh = tags.len() > before;
            match (next, last) {
                (Some(next), _) if fresh => {
                    url = url
                        .join(&next)
                        .map_err(|e| PortError::other(format!("{what}: bad Link header ({e})")))?;
                }
                // A registry that paginates without `Link`: a full page asks for more.
                (None, Some(last)) if fresh && full => {
                    url = self.url(&format!("v2/{repo}/tags/list"))?;
                    url.query_pairs_mut()
                        .append_pair("n", &TAGS_PAGE.to_string())
                        .append_pair("last", &last);
                }
                _ => return Ok(tags),
            }
        }
        Ok(tags)
    }

    /// A tag's descriptor for `versions`.
    async fn describe(
        &self,
        repo: &str,
        tag: &str,
        scope: &str,
    ) -> PortResult<Option<ArtifactDescriptor>> {
        let Some((digest, bytes, ct)) = self.get_manifest(repo, tag, scope).await? else {
            return Ok(None); // deleted between the listing and now
        };
        let remote = content::read_remote(&bytes, ct.as_deref());
        let last = repo.rsplit('/').next().unwrap_or(repo);
        Ok(Some(match remote.chart {
            Some((chart, size, title, version)) => ArtifactDescriptor::new(
                format!(
                    "{}-{}.tgz",
                    title.as_deref().unwrap_or(last),
                    version.as_deref().unwrap_or(tag)
                ),
                size,
                chart,
            )
            .with_media_type(HELM_CHART),
            None => ArtifactDescriptor::new(format!("{repo}:{tag}"), bytes.len() as u64, digest)
                .with_media_type(remote.media_type),
        }))
    }
}

#[async_trait]
impl Registry for OciRegistry {
    fn ecosystem(&self) -> Ecosystem {
        Ecosystem::Oci
    }

    fn capabilities(&self) -> RegistryCapabilities {
        RegistryCapabilities::new(false, false, false)
    }

    async fn versions(&self, package: &PackageName) -> PortResult<Vec<PublishedVersion>> {
        let repo = self.repository(package)?;
        let scope = Self::scope(&repo, false);
        let tags = self.tags(&repo, &scope).await?;
        let lookups: Vec<_> = tags
            .iter()
            .map(|t| self.describe(&repo, t, &scope))
            .collect();
        let descriptors: Vec<Option<ArtifactDescriptor>> = futures::stream::iter(lookups)
            .buffered(LOOKUPS_IN_FLIGHT)
            .try_collect()
            .await?;
        let mut out = Vec::new();
        for (tag, d) in tags.into_iter().zip(descriptors) {
            if let Some(d) = d {
                out.push(PublishedVersion::new(Version::new(tag)?, vec![d]));
            }
        }
        Ok(out)
    }

    async fn publish(&self, request: &PublishRequest) -> PortResult<PublishOutcome> {
        Ok(self.publish_detailed(request).await?.outcome)
    }

    async fn withdraw(
        &self,
        package: &PackageName,
        version: &Version,
        _reason: &str,
    ) -> PortResult<()> {
        Err(PortError::new(
            ErrorKind::Unsupported,
            format!(
                "cannot withdraw {package} {version}: OCI registries have no yank or deprecation; \
                 deleting or re-tagging is left to the registry's own tools"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_spec() {
        for ok in [
            "acme/api",
            "acme/charts/trueppm",
            "a",
            "a_b/c__d",
            "a-b--c/d.e",
        ] {
            assert!(valid_repository(ok), "{ok}");
        }
        for bad in [
            "",
            "Acme/api",
            "acme//api",
            "/acme",
            "acme/",
            "-a",
            "a-",
            "a..b",
            "a b",
        ] {
            assert!(!valid_repository(bad), "{bad}");
        }
    }

    #[test]
    fn tags_follow_the_spec() {
        assert!(valid_tag("1.2.3"));
        assert!(valid_tag("1.2.3_build.4"));
        assert!(!valid_tag(".x"));
        assert!(!valid_tag("-x"));
        assert!(!valid_tag(&"a".repeat(129)));
        assert_eq!(tag_for("p", "1.0.0+b1").expect("valid"), "1.0.0_b1");
    }

    #[test]
    fn debug_redacts_secrets() {
        let r = OciRegistry::new(OciConfig::new(
            "http://127.0.0.1:5000",
            Some(OciCredentials::basic("u", "hunter2")),
        ))
        .expect("valid");
        assert!(!format!("{r:?}").contains("hunter2"));
        let c = OciConfig::new(
            "https://ghcr.io",
            Some(OciCredentials::bearer("tok-secret")),
        );
        assert!(!format!("{c:?}").contains("tok-secret"));
    }

    #[test]
    fn package_names_may_carry_this_registry_host() {
        let r = OciRegistry::new(OciConfig::new("http://127.0.0.1:5000", None)).expect("valid");
        let p = PackageName::new("127.0.0.1:5000/acme/api").expect("valid");
        assert_eq!(r.repository(&p).expect("valid"), "acme/api");
        let other = PackageName::new("ghcr.io/acme/api").expect("valid");
        assert!(r.repository(&other).is_err());
    }
}
