//! ferry's [`Registry`] on PyPI, TestPyPI or any PyPI-compatible index (pypiserver,
//! devpi, a private index that speaks the same two APIs).
//!
//! - **Reading** goes through the *simple repository API*: the project page
//!   `{index_url}{normalized-name}/`, asked for as PEP 691 JSON and read as PEP 503 HTML
//!   when that is what the server answers. File names give the versions (wheel
//!   `{name}-{version}-…-{platform}.whl`, sdist `{name}-{version}.tar.gz`/`.zip`), the
//!   `sha256` hash (URL fragment or JSON `hashes`) the digests; a file the index gives
//!   no SHA-256 for is downloaded and hashed, one without a size (HTML pages) is asked
//!   for with `HEAD`. PEP 592 `data-yanked`/`yanked` marks a version withdrawn.
//! - **Publishing** reads the index first — a file already there with the same digest
//!   is reported `already_present` and not sent, one with another digest fails with
//!   `AlreadyExists` before anything is sent — then uploads each missing file with the
//!   *legacy upload API* twine uses (`POST {upload_url}`, `multipart/form-data`,
//!   `:action=file_upload`).
//! - **Withdraw** is [`ErrorKind::Unsupported`]:
//!   yanking is not part of the upload API.
//!
//! Credentials (an API token, sent as user `__token__`, or a username and password) are
//! sent with HTTP Basic authentication to the upload URL, and to index and file URLs
//! only when they are on the upload URL's origin. They are held as
//! [`SecretString`]s and appear in no `Debug` output and no error message.

mod http;
mod index;
mod names;

use blake2::digest::consts::U32;
use blake2::Blake2b;
use ferry_ports::{
    async_trait, Artifact, ArtifactBody, ArtifactDescriptor, Ecosystem, ErrorKind, PackageName,
    PortError, PortResult, PublishOutcome, PublishRequest, PublishedVersion, Registry,
    RegistryCapabilities, Sha256Digest, Version,
};
use futures::{StreamExt, TryStreamExt};
use index::IndexFile;
use names::{DistFile, DistKind};
use secrecy::ExposeSecret;
pub use secrecy::SecretString;
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use url::Url;

type Blake2b256 = Blake2b<U32>;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a read may stall (index pages, downloads, the answer to an upload).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Files whose size or digest is looked up at the same time.
const LOOKUPS_IN_FLIGHT: usize = 8;
/// Read buffer for hashing and streaming files.
const CHUNK: usize = 256 * 1024;

/// How to authenticate uploads.
pub enum PypiCredentials {
    /// An API token (`pypi-…`), sent as the password of user `__token__`.
    Token(SecretString),
    /// A username and password (pypiserver, devpi, private indexes).
    Password {
        /// The user name (not a secret: it may appear in messages).
        username: String,
        /// The password.
        password: SecretString,
    },
}

impl PypiCredentials {
    /// An API token.
    pub fn token(token: impl Into<String>) -> Self {
        PypiCredentials::Token(SecretString::from(token.into()))
    }

    /// A username and password.
    pub fn password(username: impl Into<String>, password: impl Into<String>) -> Self {
        PypiCredentials::Password {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    fn username(&self) -> &str {
        match self {
            PypiCredentials::Token(_) => "__token__",
            PypiCredentials::Password { username, .. } => username,
        }
    }

    fn secret(&self) -> &str {
        match self {
            PypiCredentials::Token(token) => token.expose_secret(),
            PypiCredentials::Password { password, .. } => password.expose_secret(),
        }
    }
}

impl Clone for PypiCredentials {
    fn clone(&self) -> Self {
        match self {
            PypiCredentials::Token(t) => PypiCredentials::token(t.expose_secret()),
            PypiCredentials::Password { username, password } => {
                PypiCredentials::password(username.clone(), password.expose_secret())
            }
        }
    }
}

impl fmt::Debug for PypiCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PypiCredentials::Token(_) => f.write_str("Token([redacted])"),
            PypiCredentials::Password { username, .. } => f
                .debug_struct("Password")
                .field("username", username)
                .field("password", &format_args!("[redacted]"))
                .finish(),
        }
    }
}

/// Where the registry is and how to authenticate.
#[derive(Clone)]
pub struct PypiConfig {
    /// The legacy upload API (`https://upload.pypi.org/legacy/`,
    /// `http://127.0.0.1:8081/` for pypiserver). Used exactly as given.
    pub upload_url: String,
    /// The simple index (`https://pypi.org/simple/`, `http://127.0.0.1:8081/simple/`);
    /// a missing final `/` is added.
    pub index_url: String,
    /// Upload credentials.
    pub credentials: PypiCredentials,
}

impl PypiConfig {
    /// pypi.org.
    pub fn pypi(credentials: PypiCredentials) -> Self {
        PypiConfig {
            upload_url: "https://upload.pypi.org/legacy/".into(),
            index_url: "https://pypi.org/simple/".into(),
            credentials,
        }
    }

    /// test.pypi.org.
    pub fn testpypi(credentials: PypiCredentials) -> Self {
        PypiConfig {
            upload_url: "https://test.pypi.org/legacy/".into(),
            index_url: "https://test.pypi.org/simple/".into(),
            credentials,
        }
    }
}

impl fmt::Debug for PypiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PypiConfig")
            .field("upload_url", &self.upload_url)
            .field("index_url", &self.index_url)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// A [`Registry`] on a PyPI-compatible index.
pub struct PypiRegistry {
    /// For the index and downloads: follows redirects (credentials are dropped on a
    /// redirect to another origin).
    index_client: reqwest::Client,
    /// For uploads: never follows a redirect (a POST turned into a GET of some page
    /// would look like a success).
    upload_client: reqwest::Client,
    upload_url: Url,
    index_url: Url,
    credentials: PypiCredentials,
}

impl fmt::Debug for PypiRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PypiRegistry")
            .field("upload_url", &self.upload_url.as_str())
            .field("index_url", &self.index_url.as_str())
            .field("credentials", &self.credentials)
            .finish()
    }
}

fn parse_url(what: &str, text: &str) -> PortResult<Url> {
    // The text is not echoed: a malformed URL may still hold a password.
    let url = Url::parse(text).map_err(|e| {
        PortError::invalid_input(format!(
            "the {what} is not a valid URL ({e}); expected e.g. `https://upload.pypi.org/legacy/`"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PortError::invalid_input(format!(
            "the {what} must be an http or https URL, not {}:",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PortError::invalid_input(format!(
            "the {what} must not carry a user or password (give them as `credentials`, \
             which are kept secret)"
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PortError::invalid_input(format!("the {what} has no host")));
    }
    Ok(url)
}

fn client(follow_redirects: bool) -> PortResult<reqwest::Client> {
    let policy = if follow_redirects {
        reqwest::redirect::Policy::limited(10)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .user_agent(concat!("ferry-pypi/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(policy)
        .build()
        .map_err(|e| PortError::other(format!("cannot set up the HTTP client: {e}")).with_source(e))
}

/// An artifact checked against its descriptor, with what the upload form needs.
struct Checked<'a> {
    artifact: &'a Artifact,
    dist: DistFile,
    blake2_256: String,
}

impl PypiRegistry {
    /// A registry from its configuration; fails with `InvalidInput` on a URL that is
    /// not http(s) or carries credentials.
    pub fn new(config: PypiConfig) -> PortResult<Self> {
        let upload_url = parse_url("upload URL", &config.upload_url)?;
        let mut index_url = parse_url("index URL", &config.index_url)?;
        if !index_url.path().ends_with('/') {
            let path = format!("{}/", index_url.path());
            index_url.set_path(&path);
        }
        Ok(PypiRegistry {
            index_client: client(true)?,
            upload_client: client(false)?,
            upload_url,
            index_url,
            credentials: config.credentials,
        })
    }

    /// The upload URL.
    pub fn upload_url(&self) -> &str {
        self.upload_url.as_str()
    }

    /// The index URL (with its final `/`).
    pub fn index_url(&self) -> &str {
        self.index_url.as_str()
    }

    fn secrets(&self) -> [&str; 1] {
        [self.credentials.secret()]
    }

    /// A GET (or HEAD) on the index side, with credentials only on the upload origin.
    fn index_request(&self, method: reqwest::Method, url: &Url) -> reqwest::RequestBuilder {
        let request = self.index_client.request(method, url.clone());
        if url.origin() == self.upload_url.origin() {
            request.basic_auth(self.credentials.username(), Some(self.credentials.secret()))
        } else {
            request
        }
    }

    async fn failure(&self, response: reqwest::Response, what: &str) -> PortError {
        let status = response.status().as_u16();
        let retry = http::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        http::status_error(
            status,
            &http::reason_text(&body, &self.secrets()),
            what,
            retry,
        )
    }

    /// The files the project page lists (empty when the index does not know it).
    async fn project_files(&self, project: &str) -> PortResult<Vec<IndexFile>> {
        let url = self.index_url.join(&format!("{project}/")).map_err(|e| {
            PortError::invalid_input(format!("cannot build the index URL of {project}: {e}"))
        })?;
        let what = format!("reading the index page {url}");
        let response = self
            .index_request(reqwest::Method::GET, &url)
            .header(reqwest::header::ACCEPT, index::ACCEPT)
            .send()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(Vec::new());
        }
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        let page_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/html")
            .to_string();
        let body = response
            .text()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        index::parse_page(&body, &content_type, &page_url)
    }

    /// Download a listed file and hash it.
    async fn download_digest(&self, file: &IndexFile) -> PortResult<(Sha256Digest, u64)> {
        let what = format!("downloading {} from {}", file.file_name, file.url);
        let response = self
            .index_request(reqwest::Method::GET, &file.url)
            .send()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| http::send_error(e, &what))?;
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok((Sha256Digest::from_bytes(hasher.finalize().into()), size))
    }

    /// The size of a listed file from `Content-Length` of a HEAD, if the server says.
    async fn head_size(&self, file: &IndexFile) -> Option<u64> {
        let response = self
            .index_request(reqwest::Method::HEAD, &file.url)
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response
            .headers()
            .get(reqwest::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// A listed file's descriptor, looking up what the index did not say.
    async fn describe(&self, file: &IndexFile) -> PortResult<ArtifactDescriptor> {
        let (sha256, size) = match (file.sha256, file.size) {
            (Some(sha256), Some(size)) => (sha256, size),
            (Some(sha256), None) => match self.head_size(file).await {
                Some(size) => (sha256, size),
                None => self.download_checked(file, sha256).await?,
            },
            (None, _) => self.download_digest(file).await?,
        };
        Ok(ArtifactDescriptor::new(
            file.file_name.clone(),
            size,
            sha256,
        ))
    }

    async fn download_checked(
        &self,
        file: &IndexFile,
        listed: Sha256Digest,
    ) -> PortResult<(Sha256Digest, u64)> {
        let (actual, size) = self.download_digest(file).await?;
        if actual != listed {
            return Err(PortError::other(format!(
                "the index lists {} with digest {listed}, but {} serves bytes with digest {actual}",
                file.file_name, file.url
            )));
        }
        Ok((actual, size))
    }

    /// The digest of a listed file (downloading it when the index gives none).
    async fn listed_digest(&self, file: &IndexFile) -> PortResult<Sha256Digest> {
        match file.sha256 {
            Some(d) => Ok(d),
            None => Ok(self.download_digest(file).await?.0),
        }
    }

    /// Read `artifact`, check it against its descriptor and against the request, and
    /// compute the BLAKE2b-256 the upload form carries.
    async fn check<'a>(
        &self,
        request: &PublishRequest,
        project: &str,
        artifact: &'a Artifact,
    ) -> PortResult<Checked<'a>> {
        let d = &artifact.descriptor;
        let dist = names::parse_dist(&d.file_name, project).ok_or_else(|| {
            PortError::invalid_input(format!(
                "{} is not a wheel or sdist file name of {}; expected \
                 `{{name}}-{{version}}-{{python}}-{{abi}}-{{platform}}.whl` or \
                 `{{name}}-{{version}}.tar.gz` with the project's name",
                d.file_name, request.package
            ))
        })?;
        let lower = d.file_name.to_ascii_lowercase();
        let uploadable = match dist.kind {
            DistKind::Wheel { .. } => true,
            DistKind::Sdist => lower.ends_with(".tar.gz") || lower.ends_with(".zip"),
            DistKind::Egg => false,
        };
        if !uploadable {
            return Err(PortError::invalid_input(format!(
                "{}: PyPI accepts only wheels (.whl) and sdists (.tar.gz, .zip)",
                d.file_name
            )));
        }
        if !names::same_version(&dist.version, request.version.as_str()) {
            return Err(PortError::invalid_input(format!(
                "{} is version {} by its name, but the request publishes {} {}",
                d.file_name, dist.version, request.package, request.version
            )));
        }
        let (size, sha256, blake2) = digest_body(artifact).await?;
        if sha256 != d.sha256 || size != d.size {
            return Err(PortError::invalid_input(format!(
                "artifact {} does not match its descriptor: expected {} ({} bytes), got {} ({} bytes); nothing was uploaded",
                d.file_name, d.sha256, d.size, sha256, size
            )));
        }
        Ok(Checked {
            artifact,
            dist,
            blake2_256: hex(&blake2),
        })
    }

    /// An upload request without a file: a server answers 401/403 to it when it
    /// refuses the credentials (and 400, storing nothing, when it accepts them).
    async fn probe_credentials(&self, what: &str) -> Option<PortError> {
        let form = reqwest::multipart::Form::new()
            .text(":action", "file_upload")
            .text("protocol_version", "1");
        let response = self
            .upload_client
            .post(self.upload_url.clone())
            .basic_auth(self.credentials.username(), Some(self.credentials.secret()))
            .multipart(form)
            .send()
            .await
            .ok()?;
        match response.status().as_u16() {
            401 | 403 => Some(self.failure(response, what).await),
            _ => None,
        }
    }

    /// POST one file. `Ok(None)` when uploaded, `Ok(Some(reason))` when the server says
    /// the file name is taken.
    async fn upload(
        &self,
        request: &PublishRequest,
        checked: &Checked<'_>,
    ) -> PortResult<Option<String>> {
        let d = &checked.artifact.descriptor;
        let what = format!("upload of {} to {}", d.file_name, self.upload_url);
        let changed = Arc::new(AtomicBool::new(false));
        let part = match &checked.artifact.body {
            ArtifactBody::File(path) => reqwest::multipart::Part::stream_with_length(
                reqwest::Body::wrap_stream(file_stream(
                    path.clone(),
                    d.size,
                    d.sha256,
                    changed.clone(),
                )),
                d.size,
            ),
            ArtifactBody::Bytes(bytes) => reqwest::multipart::Part::bytes(bytes.clone()),
            _ => return Err(unsupported_body(d)),
        };
        let part = part
            .file_name(d.file_name.clone())
            .mime_str("application/octet-stream")
            .map_err(|e| PortError::other(format!("{what}: {e}")))?;
        let (filetype, pyversion) = match &checked.dist.kind {
            DistKind::Wheel { python_tag } => ("bdist_wheel", python_tag.as_str()),
            _ => ("sdist", "source"),
        };
        let form = reqwest::multipart::Form::new()
            .text(":action", "file_upload")
            .text("protocol_version", "1")
            .text("metadata_version", "2.1")
            .text("name", request.package.as_str().to_string())
            .text("version", request.version.as_str().to_string())
            .text("filetype", filetype)
            .text("pyversion", pyversion.to_string())
            .text("sha256_digest", d.sha256.to_hex())
            .text("blake2_256_digest", checked.blake2_256.clone())
            .part("content", part);
        let sent = self
            .upload_client
            .post(self.upload_url.clone())
            .basic_auth(self.credentials.username(), Some(self.credentials.secret()))
            .multipart(form)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(_) if changed.load(Ordering::SeqCst) => {
                return Err(PortError::invalid_input(format!(
                    "artifact file {} changed while it was being uploaded (it no longer matches \
                     {}); the upload was cut short",
                    d.file_name, d.sha256
                )))
            }
            Err(e) => {
                // A server that refuses the credentials may answer before reading the
                // body and close the connection (pypiserver does): the answer is lost
                // in a reset. Ask again without a file to learn what it was.
                if !e.is_connect() && !e.is_timeout() {
                    if let Some(refused) = self.probe_credentials(&what).await {
                        return Err(refused);
                    }
                }
                return Err(http::send_error(e, &what));
            }
        };
        let status = response.status();
        if status.is_success() {
            return Ok(None);
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("elsewhere")
                .to_string();
            return Err(PortError::other(format!(
                "{what} was redirected (HTTP {}) to {to}; set upload_url to the upload API's \
                 own address (for PyPI, `https://upload.pypi.org/legacy/` with its final '/')",
                status.as_u16()
            )));
        }
        let retry = http::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let reason = http::reason_text(&body, &self.secrets());
        let taken = status == reqwest::StatusCode::CONFLICT
            || (status == reqwest::StatusCode::BAD_REQUEST && http::says_file_exists(&reason));
        if taken {
            return Ok(Some(reason));
        }
        Err(http::status_error(status.as_u16(), &reason, &what, retry))
    }
}

fn unsupported_body(d: &ArtifactDescriptor) -> PortError {
    PortError::unsupported(format!(
        "artifact {}: this kind of artifact body is not supported by the PyPI adapter",
        d.file_name
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size, SHA-256 and BLAKE2b-256 of an artifact's bytes (a file is read in chunks).
async fn digest_body(artifact: &Artifact) -> PortResult<(u64, Sha256Digest, [u8; 32])> {
    let mut sha = Sha256::new();
    let mut blake = Blake2b256::new();
    let size = match &artifact.body {
        ArtifactBody::Bytes(bytes) => {
            sha.update(bytes);
            blake.update(bytes);
            bytes.len() as u64
        }
        ArtifactBody::File(path) => {
            let read_error = |e: std::io::Error| {
                PortError::invalid_input(format!(
                    "cannot read artifact file {}: {e}",
                    path.display()
                ))
            };
            let mut file = tokio::fs::File::open(path).await.map_err(read_error)?;
            let mut buf = vec![0u8; CHUNK];
            let mut size = 0u64;
            loop {
                let n = file.read(&mut buf).await.map_err(read_error)?;
                if n == 0 {
                    break;
                }
                sha.update(&buf[..n]);
                blake.update(&buf[..n]);
                size += n as u64;
            }
            size
        }
        _ => return Err(unsupported_body(&artifact.descriptor)),
    };
    Ok((
        size,
        Sha256Digest::from_bytes(sha.finalize().into()),
        blake.finalize().into(),
    ))
}

/// The bytes of `path` as an upload body, hashed on the way: if the file no longer has
/// `size` bytes with digest `sha256`, the stream fails (cutting the upload short) and
/// `changed` is set.
fn file_stream(
    path: PathBuf,
    size: u64,
    sha256: Sha256Digest,
    changed: Arc<AtomicBool>,
) -> impl futures::Stream<Item = std::io::Result<Vec<u8>>> + Send + 'static {
    struct State {
        path: PathBuf,
        file: Option<tokio::fs::File>,
        hasher: Sha256,
        seen: u64,
        done: bool,
    }
    let state = State {
        path,
        file: None,
        hasher: Sha256::new(),
        seen: 0,
        done: false,
    };
    futures::stream::unfold(state, move |mut st| {
        let changed = changed.clone();
        async move {
            if st.done {
                return None;
            }
            let differs = |st: &mut State, why: &str| {
                st.done = true;
                changed.store(true, Ordering::SeqCst);
                std::io::Error::other(format!("{} {why}", st.path.display()))
            };
            if st.file.is_none() {
                match tokio::fs::File::open(&st.path).await {
                    Ok(f) => st.file = Some(f),
                    Err(e) => {
                        st.done = true;
                        return Some((Err(e), st));
                    }
                }
            }
            let mut buf = vec![0u8; CHUNK];
            let read = match st.file.as_mut() {
                Some(f) => f.read(&mut buf).await,
                None => return None,
            };
            match read {
                Err(e) => {
                    st.done = true;
                    Some((Err(e), st))
                }
                Ok(0) => {
                    st.done = true;
                    let digest = Sha256Digest::from_bytes(st.hasher.clone().finalize().into());
                    if st.seen == size && digest == sha256 {
                        None
                    } else {
                        let e = differs(&mut st, "changed since it was verified");
                        Some((Err(e), st))
                    }
                }
                Ok(n) => {
                    st.seen += n as u64;
                    if st.seen > size {
                        let e = differs(&mut st, "grew since it was verified");
                        return Some((Err(e), st));
                    }
                    st.hasher.update(&buf[..n]);
                    buf.truncate(n);
                    Some((Ok(buf), st))
                }
            }
        }
    })
}

/// Add a note on what this call already uploaded to an error that stops it midway.
fn after_partial(e: PortError, uploaded: &[ArtifactDescriptor]) -> PortError {
    if uploaded.is_empty() {
        return e;
    }
    let names: Vec<&str> = uploaded.iter().map(|d| d.file_name.as_str()).collect();
    let mut out = PortError::new(
        e.kind(),
        format!(
            "{} (this call had already uploaded {}; publishing again skips them)",
            e.message(),
            names.join(", ")
        ),
    );
    if let Some(d) = e.retry_after() {
        out = out.with_retry_after(d);
    }
    out
}

fn conflict(
    request: &PublishRequest,
    d: &ArtifactDescriptor,
    have: Option<Sha256Digest>,
    server_said: Option<&str>,
) -> PortError {
    let have = match have {
        Some(h) => format!("with digest {h}"),
        None => "under a digest the index does not show (PyPI never reuses the name of a \
                 deleted file)"
            .to_string(),
    };
    let said = server_said
        .filter(|s| !s.is_empty())
        .map(|s| format!("; the server said: {s}"))
        .unwrap_or_default();
    PortError::already_exists(format!(
        "{} {}: {} is already published {have}; refusing to replace it with {} \
         (a registry never overwrites: publish these bytes as a new version){said}",
        request.package, request.version, d.file_name, d.sha256
    ))
}

#[async_trait]
impl Registry for PypiRegistry {
    fn ecosystem(&self) -> Ecosystem {
        Ecosystem::Pypi
    }

    fn capabilities(&self) -> RegistryCapabilities {
        RegistryCapabilities::new(false, true, true)
    }

    async fn versions(&self, package: &PackageName) -> PortResult<Vec<PublishedVersion>> {
        let project = names::project(package.as_str())?;
        let files: Vec<(IndexFile, DistFile)> = self
            .project_files(&project)
            .await?
            .into_iter()
            .filter_map(|f| names::parse_dist(&f.file_name, &project).map(|d| (f, d)))
            .collect();
        let lookups: Vec<_> = files.iter().map(|(f, _)| self.describe(f)).collect();
        let descriptors: Vec<ArtifactDescriptor> = futures::stream::iter(lookups)
            .buffered(LOOKUPS_IN_FLIGHT)
            .try_collect()
            .await?;
        // Group by version, in the index's order; a version is withdrawn when every
        // one of its files is yanked (PyPI yanks whole releases).
        let mut out: Vec<(PublishedVersion, bool)> = Vec::new();
        for ((file, dist), descriptor) in files.iter().zip(descriptors) {
            let version = Version::new(dist.version.clone())?;
            let i = match out.iter().position(|(pv, _)| pv.version == version) {
                Some(i) => i,
                None => {
                    let mut pv = PublishedVersion::new(version, Vec::new());
                    pv.withdrawn = file.yanked.clone();
                    out.push((pv, file.yanked.is_some()));
                    out.len() - 1
                }
            };
            let (pv, all_yanked) = &mut out[i];
            pv.artifacts.push(descriptor);
            match &file.yanked {
                None => *all_yanked = false,
                Some(reason) if pv.withdrawn.as_deref().is_none_or(str::is_empty) => {
                    pv.withdrawn = Some(reason.clone());
                }
                Some(_) => {}
            }
        }
        Ok(out
            .into_iter()
            .map(|(mut pv, all_yanked)| {
                pv.withdrawn = match (all_yanked, pv.withdrawn.take()) {
                    (false, _) | (true, None) => None,
                    (true, Some(r)) if r.is_empty() => Some("yanked".to_string()),
                    (true, Some(r)) => Some(r),
                };
                pv.artifacts.sort_by(|a, b| a.file_name.cmp(&b.file_name));
                pv
            })
            .collect())
    }

    async fn publish(&self, request: &PublishRequest) -> PortResult<PublishOutcome> {
        if request.artifacts.is_empty() {
            return Err(PortError::invalid_input(format!(
                "nothing to publish for {} {}: no artifacts",
                request.package, request.version
            )));
        }
        if let Some(channel) = request.channel.as_deref().filter(|c| *c != "latest") {
            return Err(PortError::invalid_input(format!(
                "{} {}: PyPI has no channels or dist-tags (asked for {channel:?}); a pre-release \
                 version is what keeps a release from being installed by default",
                request.package, request.version
            )));
        }
        let project = names::project(request.package.as_str())?;
        let mut checked = Vec::with_capacity(request.artifacts.len());
        for (i, artifact) in request.artifacts.iter().enumerate() {
            let name = &artifact.descriptor.file_name;
            if request.artifacts[..i]
                .iter()
                .any(|a| &a.descriptor.file_name == name)
            {
                return Err(PortError::invalid_input(format!(
                    "{} {}: {name} is given twice",
                    request.package, request.version
                )));
            }
            checked.push(self.check(request, &project, artifact).await?);
        }

        // What is there already decides, before anything is sent.
        let listed = self.project_files(&project).await?;
        let mut to_upload = Vec::new();
        let mut present = Vec::new();
        for c in checked {
            let d = &c.artifact.descriptor;
            match listed.iter().find(|f| f.file_name == d.file_name) {
                None => to_upload.push(c),
                Some(file) => {
                    let have = self.listed_digest(file).await?;
                    if have == d.sha256 {
                        present.push(d.clone());
                    } else {
                        return Err(conflict(request, d, Some(have), None));
                    }
                }
            }
        }

        let mut uploaded = Vec::new();
        for c in to_upload {
            let d = &c.artifact.descriptor;
            let taken = match self.upload(request, &c).await {
                Ok(None) => {
                    uploaded.push(d.clone());
                    continue;
                }
                Ok(Some(reason)) => reason,
                Err(e) => return Err(after_partial(e, &uploaded)),
            };
            // Someone else got there first, or the name belongs to a deleted file.
            let again = self
                .project_files(&project)
                .await
                .map_err(|e| after_partial(e, &uploaded))?;
            let have = match again.iter().find(|f| f.file_name == d.file_name) {
                Some(file) => Some(
                    self.listed_digest(file)
                        .await
                        .map_err(|e| after_partial(e, &uploaded))?,
                ),
                None => None,
            };
            if have == Some(d.sha256) {
                present.push(d.clone());
            } else {
                return Err(after_partial(
                    conflict(request, d, have, Some(&taken)),
                    &uploaded,
                ));
            }
        }
        Ok(PublishOutcome::new(uploaded, present))
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
                "cannot yank {package} {version}: yanking is not part of PyPI's upload API; \
                 yank it on the project's page (Manage → Releases → Options → Yank)"
            ),
        ))
    }
}
