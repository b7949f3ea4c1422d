//! ferry's [`Registry`] on the npm registry or any npm-compatible registry
//! (verdaccio, GitHub Packages, Artifactory…), speaking the registry API the `npm`
//! client speaks.
//!
//! - **Reading**: `GET {registry}{name}` (scoped names as `@scope%2fname`), the full
//!   packument as `application/json`. Each version's `dist.tarball` is downloaded and
//!   hashed, because npm gives SHA-512 (`dist.integrity`) and SHA-1 (`dist.shasum`)
//!   while the port identifies files by SHA-256. `deprecated` marks a version
//!   withdrawn.
//! - **Publishing** is `npm publish`: exactly one `.tgz`, whose `package/package.json`
//!   must name the requested package and version; the packument is read first (the
//!   version present with the same tarball → `already_present`, nothing sent; with
//!   another tarball → `AlreadyExists`, nothing sent), then one `PUT {registry}{name}`
//!   with the publish document (`versions`, `dist-tags`, `_attachments`).
//!   Pre-releases (a `-` in the version) go to the dist-tag
//!   [`NpmConfig::dist_tag_for_prereleases`] (`next`), never `latest`, unless the
//!   request names a channel.
//! - **Withdraw** is `npm deprecate`: the packument is read (`?write=true`), the
//!   version's `deprecated` set to the reason, and the document `PUT` back whole
//!   (with its `_rev`).
//!
//! The token is sent as `Authorization: Bearer …` (npm's `_authToken`) to the
//! registry's origin only; it is held as a [`SecretString`] and appears in no `Debug`
//! output and no error message.

mod http;

use base64::Engine as _;
use ferry_ports::{
    async_trait, Artifact, ArtifactBody, ArtifactDescriptor, Ecosystem, PackageName, PortError,
    PortResult, PublishOutcome, PublishRequest, PublishedVersion, Registry, RegistryCapabilities,
    Sha256Digest, Version,
};
use futures::{StreamExt, TryStreamExt};
use secrecy::ExposeSecret;
pub use secrecy::SecretString;
use serde_json::{json, Map, Value};
use sha2::Digest as _;
use std::fmt;
use std::io::Read as _;
use std::time::Duration;
use url::Url;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a read may stall (packuments, tarballs, the answer to a publish).
const READ_TIMEOUT: Duration = Duration::from_secs(300);
/// Tarballs downloaded at the same time by `versions`.
const DOWNLOADS_IN_FLIGHT: usize = 8;
/// The largest `package.json` read out of a tarball.
const MANIFEST_MAX: u64 = 16 << 20;

/// Where the registry is and how to authenticate.
#[derive(Clone)]
pub struct NpmConfig {
    /// The registry (`https://registry.npmjs.org/`, `http://127.0.0.1:4873/`); a
    /// missing final `/` is added.
    pub registry_url: String,
    /// The token (npm's `_authToken`), sent as `Authorization: Bearer`.
    pub token: SecretString,
    /// The dist-tag a pre-release (a version with `-`) is published under when the
    /// request names no channel. `next` by default; never `latest`.
    pub dist_tag_for_prereleases: String,
}

impl NpmConfig {
    /// A registry and its token, pre-releases under `next`.
    pub fn new(registry_url: impl Into<String>, token: impl Into<String>) -> Self {
        NpmConfig {
            registry_url: registry_url.into(),
            token: SecretString::from(token.into()),
            dist_tag_for_prereleases: "next".into(),
        }
    }

    /// registry.npmjs.org.
    pub fn npmjs(token: impl Into<String>) -> Self {
        NpmConfig::new("https://registry.npmjs.org/", token)
    }
}

impl fmt::Debug for NpmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NpmConfig")
            .field("registry_url", &self.registry_url)
            .field("token", &format_args!("[redacted]"))
            .field("dist_tag_for_prereleases", &self.dist_tag_for_prereleases)
            .finish()
    }
}

/// A [`Registry`] on an npm registry.
pub struct NpmRegistry {
    /// For reads and downloads: follows redirects (reqwest drops `Authorization` on a
    /// redirect to another origin).
    read_client: reqwest::Client,
    /// For writes: never follows a redirect.
    write_client: reqwest::Client,
    registry_url: Url,
    token: SecretString,
    prerelease_tag: String,
}

impl fmt::Debug for NpmRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NpmRegistry")
            .field("registry_url", &self.registry_url.as_str())
            .field("token", &format_args!("[redacted]"))
            .field("dist_tag_for_prereleases", &self.prerelease_tag)
            .finish()
    }
}

fn parse_url(text: &str) -> PortResult<Url> {
    // The text is not echoed: a malformed URL may still hold a password.
    let mut url = Url::parse(text).map_err(|e| {
        PortError::invalid_input(format!(
            "the registry URL is not a valid URL ({e}); expected e.g. `https://registry.npmjs.org/`"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(PortError::invalid_input(format!(
            "the registry URL must be an http or https URL, not {}:",
            url.scheme()
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(PortError::invalid_input(
            "the registry URL must not carry a user or password (give the token as `token`, \
             which is kept secret)",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PortError::invalid_input("the registry URL has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(PortError::invalid_input(
            "the registry URL must not have a query or fragment",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
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
        .user_agent(concat!("ferry-npm/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(policy)
        .build()
        .map_err(|e| PortError::other(format!("cannot set up the HTTP client: {e}")).with_source(e))
}

/// A dist-tag npm would accept: non-empty, URL-safe, and not something npm would read
/// as a version or range (`1.2`, `v2`).
fn check_tag(tag: &str) -> PortResult<()> {
    let url_safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
    let looks_like_version = tag
        .strip_prefix('v')
        .unwrap_or(tag)
        .starts_with(|c: char| c.is_ascii_digit());
    if tag.is_empty() || !tag.chars().all(url_safe) || looks_like_version {
        return Err(PortError::invalid_input(format!(
            "{tag:?} is not a usable npm dist-tag: it must be non-empty, use only letters, \
             digits and `-._~`, and not look like a version (e.g. `next`, `beta`)"
        )));
    }
    Ok(())
}

/// An npm package name, split into its scope (without `@`) and its base name.
struct NpmName<'a> {
    full: &'a str,
    base: &'a str,
}

impl<'a> NpmName<'a> {
    fn parse(name: &'a str) -> PortResult<Self> {
        let invalid = |why: &str| {
            PortError::invalid_input(format!(
                "{name:?} is not a valid npm package name: {why} (e.g. `left-pad`, `@acme/web`)"
            ))
        };
        let part_ok = |p: &str| {
            !p.is_empty()
                && !p.starts_with('.')
                && !p.starts_with('_')
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
        };
        if name.len() > 214 {
            return Err(invalid("longer than 214 characters"));
        }
        let base = match name.strip_prefix('@') {
            Some(rest) => {
                let (scope, base) = rest
                    .split_once('/')
                    .ok_or_else(|| invalid("a scoped name is `@scope/name`"))?;
                if !part_ok(scope) || !part_ok(base) {
                    return Err(invalid(
                        "scope and name use letters, digits and `-._~`, and do not start with `.` or `_`",
                    ));
                }
                base
            }
            None => {
                if !part_ok(name) {
                    return Err(invalid(
                        "it uses letters, digits and `-._~`, and does not start with `.` or `_`",
                    ));
                }
                name
            }
        };
        Ok(NpmName { full: name, base })
    }

    /// The path segment of the packument: `@scope%2fname` or `name`.
    fn escaped(&self) -> String {
        self.full.replacen('/', "%2f", 1)
    }
}

fn sha256(bytes: &[u8]) -> Sha256Digest {
    Sha256Digest::from_bytes(sha2::Sha256::digest(bytes).into())
}

fn sha512_sri(bytes: &[u8]) -> String {
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(bytes))
    )
}

/// `package/package.json` of an npm tarball, as a JSON object.
fn read_manifest(tgz: &[u8], file_name: &str) -> PortResult<Map<String, Value>> {
    let invalid = |why: String| {
        PortError::invalid_input(format!("{file_name} is not an npm package tarball: {why}"))
    };
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let entries = archive
        .entries()
        .map_err(|e| invalid(format!("cannot read it as a gzipped tar ({e})")))?;
    for entry in entries {
        let entry = entry.map_err(|e| invalid(format!("cannot read it as a gzipped tar ({e})")))?;
        let path = entry
            .path()
            .map_err(|e| invalid(format!("an entry has an unreadable path ({e})")))?
            .to_string_lossy()
            .into_owned();
        if path.trim_start_matches("./") != "package/package.json" {
            continue;
        }
        if entry.size() > MANIFEST_MAX {
            return Err(invalid("package/package.json is too large".into()));
        }
        let mut text = String::new();
        entry
            .take(MANIFEST_MAX)
            .read_to_string(&mut text)
            .map_err(|e| invalid(format!("cannot read package/package.json ({e})")))?;
        return match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => Ok(map),
            Ok(_) => Err(invalid("package/package.json is not a JSON object".into())),
            Err(e) => Err(invalid(format!("package/package.json is not JSON ({e})"))),
        };
    }
    Err(invalid("it has no package/package.json".into()))
}

/// What a packument says of one version.
struct ListedVersion {
    version: String,
    tarball: Option<String>,
    integrity: Option<String>,
    deprecated: Option<String>,
}

fn listed_version(version: &str, meta: &Value) -> ListedVersion {
    let dist = meta.get("dist");
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
    ListedVersion {
        version: version.to_string(),
        tarball: text(dist.and_then(|d| d.get("tarball"))),
        integrity: text(dist.and_then(|d| d.get("integrity"))),
        deprecated: text(meta.get("deprecated")).filter(|s| !s.is_empty()),
    }
}

fn base_of(url: &str) -> String {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path).to_string()
}

impl NpmRegistry {
    /// A registry from its configuration; fails with `InvalidInput` on a URL that is
    /// not http(s) or carries credentials, or an unusable pre-release dist-tag.
    pub fn new(config: NpmConfig) -> PortResult<Self> {
        let registry_url = parse_url(&config.registry_url)?;
        check_tag(&config.dist_tag_for_prereleases)?;
        if config.dist_tag_for_prereleases == "latest" {
            return Err(PortError::invalid_input(
                "dist_tag_for_prereleases must not be `latest`: pre-releases are never \
                 installed by default",
            ));
        }
        Ok(NpmRegistry {
            read_client: client(true)?,
            write_client: client(false)?,
            registry_url,
            token: config.token,
            prerelease_tag: config.dist_tag_for_prereleases,
        })
    }

    /// The registry URL (with its final `/`).
    pub fn registry_url(&self) -> &str {
        self.registry_url.as_str()
    }

    fn secrets(&self) -> [&str; 1] {
        [self.token.expose_secret()]
    }

    fn packument_url(&self, name: &NpmName<'_>) -> PortResult<Url> {
        self.registry_url.join(&name.escaped()).map_err(|e| {
            PortError::invalid_input(format!("cannot build the URL of {}: {e}", name.full))
        })
    }

    /// A request with the token when `url` is on the registry's origin.
    fn request(
        &self,
        client: &reqwest::Client,
        method: reqwest::Method,
        url: &Url,
    ) -> reqwest::RequestBuilder {
        let request = client.request(method, url.clone());
        if url.origin() == self.registry_url.origin() && !self.token.expose_secret().is_empty() {
            request.bearer_auth(self.token.expose_secret())
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

    /// The packument, or `None` when the registry does not know the package.
    async fn packument(&self, name: &NpmName<'_>, write: bool) -> PortResult<Option<Value>> {
        let mut url = self.packument_url(name)?;
        if write {
            url.set_query(Some("write=true"));
        }
        let what = format!("reading the packument of {} at {url}", name.full);
        let response = self
            .request(&self.read_client, reqwest::Method::GET, &url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            _ => Err(PortError::other(format!(
                "{what}: the answer is not a JSON object"
            ))),
        }
    }

    /// Download a version's tarball; check it against `dist.integrity` (SHA-512) when
    /// the registry gives one; return its descriptor.
    async fn describe(&self, listed: &ListedVersion) -> PortResult<ArtifactDescriptor> {
        let tarball = listed.tarball.as_deref().ok_or_else(|| {
            PortError::other(format!(
                "version {} has no dist.tarball in the packument",
                listed.version
            ))
        })?;
        let url = self.registry_url.join(tarball).map_err(|e| {
            PortError::other(format!(
                "version {}: dist.tarball {tarball:?} is not a URL ({e})",
                listed.version
            ))
        })?;
        let what = format!("downloading {url}");
        let response = self
            .request(&self.read_client, reqwest::Method::GET, &url)
            .send()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if !response.status().is_success() {
            return Err(self.failure(response, &what).await);
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| http::send_error(e, &what))?;
        if let Some(integrity) = listed
            .integrity
            .as_deref()
            .filter(|i| i.starts_with("sha512-"))
        {
            let ours = sha512_sri(&bytes);
            if !integrity.split_whitespace().any(|i| i == ours) {
                return Err(PortError::other(format!(
                    "{url} serves bytes whose integrity is {ours}, but the packument says {integrity}"
                )));
            }
        }
        Ok(ArtifactDescriptor::new(
            base_of(url.path()),
            bytes.len() as u64,
            sha256(&bytes),
        ))
    }

    /// The published version `version` of the packument, with its tarball's descriptor.
    async fn published(
        &self,
        packument: Option<&Value>,
        version: &str,
    ) -> PortResult<Option<ArtifactDescriptor>> {
        let Some(meta) = packument
            .and_then(|p| p.get("versions"))
            .and_then(|v| v.get(version))
        else {
            return Ok(None);
        };
        Ok(Some(self.describe(&listed_version(version, meta)).await?))
    }

    fn conflict(
        &self,
        request: &PublishRequest,
        ours: &ArtifactDescriptor,
        theirs: Option<&ArtifactDescriptor>,
        said: Option<&PortError>,
    ) -> PortError {
        let (package, version) = (&request.package, &request.version);
        let mut message = match theirs {
            Some(t) => format!(
                "{package} {version} is already published with a tarball of digest {} \
                 ({}), not {} ({}); npm never replaces a published version: publish a \
                 new version",
                t.sha256, t.file_name, ours.sha256, ours.file_name
            ),
            None => format!(
                "{package} {version} cannot be published with digest {} ({}): the registry \
                 refused it as already published (a version that was unpublished can \
                 never be reused); publish a new version",
                ours.sha256, ours.file_name
            ),
        };
        if let Some(e) = said {
            message.push_str(&format!(" [{}]", e.message()));
        }
        PortError::already_exists(message)
    }

    /// The request's one tarball, checked against its descriptor and the request.
    async fn check(&self, request: &PublishRequest) -> PortResult<(Vec<u8>, Map<String, Value>)> {
        let (package, version) = (&request.package, &request.version);
        let artifact: &Artifact = match request.artifacts.as_slice() {
            [one] => one,
            [] => {
                return Err(PortError::invalid_input(format!(
                    "nothing to publish for {package} {version}: no artifacts"
                )))
            }
            many => {
                return Err(PortError::invalid_input(format!(
                    "{package} {version}: npm takes exactly one tarball per version, got {} \
                     files",
                    many.len()
                )))
            }
        };
        let d = &artifact.descriptor;
        if !d.file_name.ends_with(".tgz") {
            return Err(PortError::invalid_input(format!(
                "{package} {version}: {} is not a `.tgz` package tarball (as `npm pack` makes)",
                d.file_name
            )));
        }
        let bytes = match &artifact.body {
            ArtifactBody::Bytes(b) => b.clone(),
            ArtifactBody::File(path) => tokio::fs::read(path).await.map_err(|e| {
                PortError::invalid_input(format!(
                    "{package} {version}: cannot read {} ({e})",
                    path.display()
                ))
            })?,
            _ => {
                return Err(PortError::unsupported(format!(
                    "{package} {version}: this kind of artifact body is not supported"
                )))
            }
        };
        let actual = sha256(&bytes);
        if bytes.len() as u64 != d.size || actual != d.sha256 {
            return Err(PortError::invalid_input(format!(
                "{package} {version}: {} does not match its descriptor (descriptor: {} \
                 bytes, {}; actual: {} bytes, {actual}); nothing was sent",
                d.file_name,
                d.size,
                d.sha256,
                bytes.len()
            )));
        }
        let manifest = read_manifest(&bytes, &d.file_name)?;
        let field = |k: &str| manifest.get(k).and_then(Value::as_str).unwrap_or("");
        if field("name") != package.as_str() || field("version") != version.as_str() {
            return Err(PortError::invalid_input(format!(
                "{package} {version}: the package.json in {} is for {:?} {:?}, not this \
                 package and version",
                d.file_name,
                field("name"),
                field("version")
            )));
        }
        Ok((bytes, manifest))
    }

    /// The dist-tag for a request.
    fn tag_for(&self, request: &PublishRequest) -> PortResult<String> {
        match &request.channel {
            Some(channel) => {
                check_tag(channel)?;
                Ok(channel.clone())
            }
            None if request.version.as_str().contains('-') => Ok(self.prerelease_tag.clone()),
            None => Ok("latest".into()),
        }
    }

    /// The document `npm publish` sends (libnpmpublish's `buildMetadata`).
    fn publish_document(
        &self,
        name: &NpmName<'_>,
        version: &str,
        tag: &str,
        mut manifest: Map<String, Value>,
        bytes: &[u8],
    ) -> Value {
        let tarball_url = format!(
            "{}{}/-/{}-{version}.tgz",
            self.registry_url, name.full, name.base
        );
        let shasum: String = sha1::Sha1::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let description = manifest.get("description").cloned().unwrap_or(Value::Null);
        manifest.insert("_id".into(), json!(format!("{}@{version}", name.full)));
        let mut dist = match manifest.remove("dist") {
            Some(Value::Object(d)) => d,
            _ => Map::new(),
        };
        dist.insert("integrity".into(), json!(sha512_sri(bytes)));
        dist.insert("shasum".into(), json!(shasum));
        dist.insert("tarball".into(), json!(tarball_url));
        manifest.insert("dist".into(), Value::Object(dist));
        let mut doc = json!({
            "_id": name.full,
            "name": name.full,
            "dist-tags": { tag: version },
            "versions": { version: manifest },
            "_attachments": {
                format!("{}-{version}.tgz", name.full): {
                    "content_type": "application/octet-stream",
                    "data": base64::engine::general_purpose::STANDARD.encode(bytes),
                    "length": bytes.len(),
                }
            },
            "access": null,
        });
        if !description.is_null() {
            doc["description"] = description;
        }
        doc
    }

    async fn put(&self, name: &NpmName<'_>, body: &Value, what: &str) -> PortResult<()> {
        let url = self.packument_url(name)?;
        let body = serde_json::to_vec(body)
            .map_err(|e| PortError::other(format!("{what}: cannot encode the document: {e}")))?;
        let response = self
            .request(&self.write_client, reqwest::Method::PUT, &url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(reqwest::header::ACCEPT, "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| http::send_error(e, what))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status.is_redirection() {
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("nowhere")
                .to_string();
            return Err(PortError::other(format!(
                "{what}: the registry answered with a redirect (HTTP {}) to {to}; check the \
                 registry URL",
                status.as_u16()
            )));
        }
        Err(self.failure(response, what).await)
    }
}

#[async_trait]
impl Registry for NpmRegistry {
    fn ecosystem(&self) -> Ecosystem {
        Ecosystem::Npm
    }

    fn capabilities(&self) -> RegistryCapabilities {
        RegistryCapabilities::new(true, false, false)
    }

    async fn versions(&self, package: &PackageName) -> PortResult<Vec<PublishedVersion>> {
        let name = NpmName::parse(package.as_str())?;
        let Some(packument) = self.packument(&name, false).await? else {
            return Ok(Vec::new());
        };
        let time = packument.get("time");
        let mut listed: Vec<(String, ListedVersion)> = packument
            .get("versions")
            .and_then(Value::as_object)
            .map(|versions| {
                versions
                    .iter()
                    .map(|(v, meta)| {
                        let when = time
                            .and_then(|t| t.get(v))
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string();
                        (when, listed_version(v, meta))
                    })
                    .collect()
            })
            .unwrap_or_default();
        listed.sort_by(|a, b| (&a.0, &a.1.version).cmp(&(&b.0, &b.1.version)));
        futures::stream::iter(listed.into_iter().map(|(_, l)| async move {
            let descriptor = self.describe(&l).await?;
            let mut pv = PublishedVersion::new(Version::new(l.version)?, vec![descriptor]);
            pv.withdrawn = l.deprecated;
            Ok::<_, PortError>(pv)
        }))
        .buffered(DOWNLOADS_IN_FLIGHT)
        .try_collect()
        .await
    }

    async fn publish(&self, request: &PublishRequest) -> PortResult<PublishOutcome> {
        let name = NpmName::parse(request.package.as_str())?;
        let tag = self.tag_for(request)?;
        let (bytes, manifest) = self.check(request).await?;
        let ours = request.artifacts[0].descriptor.clone();
        let version = request.version.as_str();

        // What is there already decides, before anything is sent.
        let packument = self.packument(&name, false).await?;
        if let Some(theirs) = self.published(packument.as_ref(), version).await? {
            return if theirs.sha256 == ours.sha256 {
                Ok(PublishOutcome::new(Vec::new(), vec![ours]))
            } else {
                Err(self.conflict(request, &ours, Some(&theirs), None))
            };
        }

        let doc = self.publish_document(&name, version, &tag, manifest, &bytes);
        let what = format!(
            "publishing {} {version} to {}",
            request.package, self.registry_url
        );
        match self.put(&name, &doc, &what).await {
            Ok(()) => Ok(PublishOutcome::new(vec![ours], Vec::new())),
            Err(e) if e.kind() == ferry_ports::ErrorKind::AlreadyExists => {
                // Someone published this version meanwhile (or it was unpublished).
                let again = self.packument(&name, false).await?;
                match self.published(again.as_ref(), version).await? {
                    Some(theirs) if theirs.sha256 == ours.sha256 => {
                        Ok(PublishOutcome::new(Vec::new(), vec![ours]))
                    }
                    theirs => Err(self.conflict(request, &ours, theirs.as_ref(), Some(&e))),
                }
            }
            Err(e) => Err(e),
        }
    }

    async fn withdraw(
        &self,
        package: &PackageName,
        version: &Version,
        reason: &str,
    ) -> PortResult<()> {
        let name = NpmName::parse(package.as_str())?;
        if reason.trim().is_empty() {
            return Err(PortError::invalid_input(format!(
                "deprecating {package} {version} needs a reason: npm reads an empty message \
                 as \"un-deprecate\""
            )));
        }
        let Some(mut packument) = self.packument(&name, true).await? else {
            return Err(PortError::not_found(format!(
                "cannot deprecate {package} {version}: the registry does not know {package}"
            )));
        };
        let Some(meta) = packument
            .get_mut("versions")
            .and_then(|v| v.get_mut(version.as_str()))
            .and_then(Value::as_object_mut)
        else {
            return Err(PortError::not_found(format!(
                "cannot deprecate {package} {version}: {package} has no version {version}"
            )));
        };
        meta.insert("deprecated".into(), json!(reason));
        let what = format!("deprecating {package} {version} on {}", self.registry_url);
        self.put(&name, &packument, &what).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_escape_their_scope_slash() {
        let n = NpmName::parse("@acme/web").expect("valid");
        assert_eq!((n.escaped().as_str(), n.base), ("@acme%2fweb", "web"));
        let n = NpmName::parse("left-pad").expect("valid");
        assert_eq!((n.escaped().as_str(), n.base), ("left-pad", "left-pad"));
        for bad in ["@acme", "@/x", "a/b", ".x", "_x", "x y", "@a/b/c", "é"] {
            assert!(NpmName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dist_tags_must_not_look_like_versions() {
        for ok in ["next", "beta", "latest", "canary-2"] {
            assert!(check_tag(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1.2", "v2", "a b", "a/b"] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_with_credentials_are_refused_and_get_a_final_slash() {
        assert_eq!(
            parse_url("http://127.0.0.1:4873").expect("valid").as_str(),
            "http://127.0.0.1:4873/"
        );
        let e = parse_url("https://u:hunter2@example.com/").expect_err("credentials");
        assert!(!e.message().contains("hunter2"));
        assert!(parse_url("ftp://example.com/").is_err());
    }

    #[test]
    fn debug_redacts_the_token() {
        let config = NpmConfig::new("http://127.0.0.1:4873/", "npm_s3cr3t");
        assert!(!format!("{config:?}").contains("npm_s3cr3t"));
        let registry = NpmRegistry::new(config).expect("valid");
        assert!(!format!("{registry:?}").contains("npm_s3cr3t"));
        let mut config = NpmConfig::npmjs("x");
        config.dist_tag_for_prereleases = "latest".into();
        assert!(NpmRegistry::new(config).is_err());
    }
}
