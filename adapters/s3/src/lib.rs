//! [`S3BlobStore`]: a [`BlobStore`] on an S3 bucket (AWS S3 or an S3-compatible server).
//!
//! Objects live under `<prefix>/<key>` in the bucket (or `<key>` without a prefix).
//! Versions are the objects' ETags, quotes included (`"9b2cf5…"`).
//!
//! Conditional writes are done by the server, never emulated:
//!
//! - [`PutMode::Create`] is a `PutObject` with `If-None-Match: *`; a `412
//!   PreconditionFailed` or `409 ConditionalRequestConflict` answer is `AlreadyExists`.
//! - [`PutMode::Update`] is a `PutObject` with `If-Match: <etag>`; a `412`, a `409` or a
//!   `404 NoSuchKey` answer is `PreconditionFailed`.
//!
//! So the capabilities are [`BlobCapabilities::full`] — which holds only if the server
//! honours those headers (AWS S3 has since 2024; see `docs/adapters/s3.md` for others).
//! [`S3BlobStore::check_conditional_writes`] asks the server to prove it.
//!
//! Conditional writes are sent once, without the SDK's retries: a retried create whose
//! first attempt did land would come back `412` and be reported as lost although it won.
//! A failed conditional write is reported as `Transient` and the caller re-reads.
//! Reads, listings, deletes and plain overwrites are retried (3 attempts).
//!
//! Requests run on a one-thread runtime of this crate's own, whatever runtime (or
//! executor) the caller is on, so one store can be shared by threads that each run
//! their own runtime (see `io_runtime`).
//!
//! Credentials are never shown: not in `Debug`, not in error messages. Error messages
//! name the bucket, the object key and the endpoint.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_sdk_s3::operation::RequestId;
use aws_sdk_s3::primitives::ByteStream;
use ferry_ports::{
    async_trait, Blob, BlobCapabilities, BlobKey, BlobMeta, BlobStore, BlobVersion, ErrorKind,
    PortError, PortResult, PutMode,
};
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Longest object key S3 accepts, in bytes (prefix included).
const MAX_OBJECT_KEY: usize = 1024;

/// Attempts for calls that are safe to repeat (everything but conditional writes).
const MAX_ATTEMPTS: u32 = 3;

/// Where [`S3BlobStore`] keeps its objects and how it reaches them.
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The bucket; it must exist (the store never creates it).
    pub bucket: String,
    /// Key prefix inside the bucket (`ferry/ledger`): keys are stored as
    /// `<prefix>/<key>`. Leading and trailing `/` are ignored; `None` or empty means
    /// the bucket's root.
    pub prefix: Option<String>,
    /// The S3 endpoint (`http://127.0.0.1:8333`, `https://s3.example.com`); `None`
    /// means AWS S3 for `region`. Must not carry credentials (`user:pass@`).
    pub endpoint: Option<String>,
    /// The signing region (`us-east-1`; what the server expects, for S3-compatible ones).
    pub region: String,
    /// Address buckets as `<endpoint>/<bucket>/<key>` instead of
    /// `<bucket>.<endpoint>/<key>`: needed by most S3-compatible servers.
    pub force_path_style: bool,
    /// The credentials; `None` reads them from the environment when the store is made
    /// ([`S3Credentials::from_env`]).
    pub credentials: Option<S3Credentials>,
}

impl S3Config {
    /// A configuration for `bucket` in `region` on AWS S3: no prefix, virtual-host
    /// addressing, credentials from the environment.
    pub fn new(bucket: impl Into<String>, region: impl Into<String>) -> Self {
        S3Config {
            bucket: bucket.into(),
            prefix: None,
            endpoint: None,
            region: region.into(),
            force_path_style: false,
            credentials: None,
        }
    }
}

/// An access key pair, with a session token for temporary credentials. Its `Debug`
/// shows the access key id only.
#[derive(Clone)]
pub struct S3Credentials {
    /// The access key id (`AKIA…`); not a secret, shown in `Debug`.
    pub access_key_id: String,
    /// The secret access key; never shown.
    pub secret_access_key: String,
    /// The session token of temporary credentials; never shown.
    pub session_token: Option<String>,
}

impl S3Credentials {
    /// Long-term credentials.
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        S3Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token: None,
        }
    }

    /// Add the session token of temporary credentials.
    pub fn with_session_token(mut self, token: impl Into<String>) -> Self {
        self.session_token = Some(token.into());
        self
    }

    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and, if set, `AWS_SESSION_TOKEN`;
    /// `Unauthenticated` when either of the first two is missing or empty.
    pub fn from_env() -> PortResult<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        match (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Ok(S3Credentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: var("AWS_SESSION_TOKEN"),
            }),
            _ => Err(PortError::new(
                ErrorKind::Unauthenticated,
                "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary credentials), or pass them in S3Config::credentials",
            )),
        }
    }
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A [`BlobStore`] on an S3 bucket (see the crate docs).
#[derive(Clone)]
pub struct S3BlobStore {
    client: aws_sdk_s3::Client,
    bucket: String,
    /// Normalised: no leading or trailing `/`, never empty.
    prefix: Option<String>,
    /// For messages: the endpoint, or `AWS S3 (<region>)`.
    server: String,
    /// Set once a `HeadBucket` has shown the bucket exists (a `HEAD` 404 cannot say
    /// whether the key or the bucket is missing).
    bucket_seen: Arc<AtomicBool>,
}

impl fmt::Debug for S3BlobStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3BlobStore")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// What a failed call was doing, which decides what a status means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Get,
    Head,
    Overwrite,
    Create,
    Update,
    List,
    Delete,
    HeadBucket,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Get => "read",
            Op::Head => "check",
            Op::Overwrite | Op::Create | Op::Update => "write",
            Op::List => "list",
            Op::Delete => "delete",
            Op::HeadBucket => "check bucket",
        }
    }
}

impl S3BlobStore {
    /// A store on `config.bucket`. Checks the configuration and builds the client; it
    /// makes no request (the first call finds out whether the bucket is reachable).
    pub fn new(config: S3Config) -> PortResult<Self> {
        let S3Config {
            bucket,
            prefix,
            endpoint,
            region,
            force_path_style,
            credentials,
        } = config;
        if bucket.is_empty() || !bucket.bytes().all(|b| b.is_ascii_graphic() && b != b'/') {
            return Err(PortError::invalid_input(format!(
                "S3 bucket name {bucket:?} is not valid: it must be non-empty printable ASCII without '/' or spaces"
            )));
        }
        if region.trim().is_empty() {
            return Err(PortError::invalid_input(format!(
                "no region for S3 bucket {bucket}: set one (us-east-1 for most S3-compatible servers)"
            )));
        }
        let prefix = match prefix.as_deref().map(|p| p.trim_matches('/')) {
            None | Some("") => None,
            Some(p) => {
                BlobKey::new(p).map_err(|e| {
                    PortError::invalid_input(format!(
                        "S3 key prefix {p:?} for bucket {bucket} is not valid: {}",
                        e.message()
                    ))
                })?;
                Some(p.to_string())
            }
        };
        let endpoint = match endpoint {
            None => None,
            Some(e) => Some(check_endpoint(&e, &bucket)?),
        };
        let credentials = match credentials {
            Some(c) => c,
            None => S3Credentials::from_env()?,
        };
        let server = endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS S3 ({region})"));

        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region))
            .credentials_provider(Credentials::new(
                credentials.access_key_id,
                credentials.secret_access_key,
                credentials.session_token,
                None,
                "ferry-s3",
            ))
            .force_path_style(force_path_style)
            .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(10))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            // Plain requests that every S3-compatible server understands (no
            // aws-chunked bodies, no checksum trailers); TLS guards the bytes.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(S3BlobStore {
            client: aws_sdk_s3::Client::from_conf(builder.build()),
            bucket,
            prefix,
            server,
            bucket_seen: Arc::new(AtomicBool::new(false)),
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix inside the bucket, normalised (no leading or trailing `/`).
    pub fn prefix(&self) -> Option<&str> {
        self.prefix.as_deref()
    }

    /// Prove that the server honours conditional writes: create a probe object under
    /// `<prefix>/.ferry-probe/`, check that a second create-only write and a write at
    /// a stale version are both refused, and delete it. `Unsupported` when the server
    /// ignored a condition (it cannot hold the release lock); other errors as for
    /// [`BlobStore::put`]. Apps call this once when the store will hold the lock.
    pub async fn check_conditional_writes(&self) -> PortResult<()> {
        static PROBES: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let key = BlobKey::new(format!(
            ".ferry-probe/{}-{nanos}-{}",
            std::process::id(),
            PROBES.fetch_add(1, Ordering::Relaxed)
        ))?;
        self.put(&key, b"probe".to_vec(), PutMode::Create).await?;
        let second = self.put(&key, b"second".to_vec(), PutMode::Create).await;
        let stale = self
            .put(
                &key,
                b"stale".to_vec(),
                PutMode::Update(BlobVersion::new("\"ferry-stale-version\"")),
            )
            .await;
        let cleanup = self.delete(&key).await;
        let location = self.location(&self.object_key(&key));
        match second {
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
            Ok(_) => {
                return Err(PortError::unsupported(format!(
                    "the S3 server at {} ignored If-None-Match: a create-only write replaced {location}; this server cannot hold ferry's release lock",
                    self.server
                )))
            }
            Err(e) => return Err(e),
        }
        match stale {
            Err(e) if e.kind() == ErrorKind::PreconditionFailed => {}
            Ok(_) => {
                return Err(PortError::unsupported(format!(
                    "the S3 server at {} ignored If-Match: a write at a stale version replaced {location}; this server cannot hold ferry's release ledger",
                    self.server
                )))
            }
            Err(e) => return Err(e),
        }
        cleanup
    }

    fn object_key(&self, key: &BlobKey) -> String {
        match &self.prefix {
            Some(p) => format!("{p}/{key}"),
            None => key.to_string(),
        }
    }

    fn checked_object_key(&self, key: &BlobKey) -> PortResult<String> {
        let object = self.object_key(key);
        if object.len() > MAX_OBJECT_KEY {
            return Err(PortError::invalid_input(format!(
                "blob key {key} is too long for S3: with the prefix it is {} bytes, S3 allows {MAX_OBJECT_KEY}",
                object.len()
            )));
        }
        Ok(object)
    }

    fn location(&self, object: &str) -> String {
        format!("s3://{}/{object}", self.bucket)
    }

    /// The version of `object` from the ETag the server sent with it.
    fn version(&self, etag: Option<&str>, object: &str) -> PortResult<BlobVersion> {
        etag.map(version_from_etag).ok_or_else(|| {
            PortError::other(format!(
                "{} sent {} without an ETag; ferry needs ETags as versions",
                self.server,
                self.location(object)
            ))
        })
    }

    /// Translate an SDK error into a `PortError` that names the bucket, the object
    /// and the server, and never a credential.
    fn error<E>(&self, op: Op, object: &str, err: SdkError<E, HttpResponse>) -> PortError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let location = self.location(object);
        let verb = op.verb();
        let server = &self.server;
        let request_id = err
            .request_id()
            .map(|id| format!(" (request id {id})"))
            .unwrap_or_default();
        let service = match &err {
            SdkError::ServiceError(service) => service,
            SdkError::TimeoutError(_) => {
                return PortError::transient(format!(
                    "timed out trying to {verb} {location} at {server}"
                ))
            }
            SdkError::DispatchFailure(failure) => {
                let what = if failure.is_timeout() {
                    "timed out"
                } else {
                    "could not send the request"
                };
                return PortError::transient(format!(
                    "cannot {verb} {location}: {what} to {server}: {}",
                    causes(&err)
                ));
            }
            SdkError::ResponseError(_) => {
                return PortError::transient(format!(
                "cannot {verb} {location}: the answer from {server} was cut off or unreadable: {}",
                causes(&err)
            ))
            }
            _ => {
                return PortError::other(format!(
                    "cannot {verb} {location} at {server}: {}",
                    causes(&err)
                ))
            }
        };
        let status = service.raw().status().as_u16();
        let code = service.err().code().unwrap_or("");
        let detail = match (code, service.err().message()) {
            ("", _) => format!("HTTP {status}"),
            (code, Some(message)) if !message.is_empty() => {
                format!("HTTP {status} {code}: {message}")
            }
            (code, _) => format!("HTTP {status} {code}"),
        };
        let (kind, message) = match (op, code, status) {
            (_, "NoSuchBucket", _) | (Op::HeadBucket, _, 404) => (
                ErrorKind::NotFound,
                format!(
                    "S3 bucket {} does not exist at {server}: create it, or fix the bucket name ({detail}){request_id}",
                    self.bucket
                ),
            ),
            (Op::Create, "PreconditionFailed" | "ConditionalRequestConflict", _)
            | (Op::Create, _, 409 | 412) => (
                ErrorKind::AlreadyExists,
                format!("an object already exists at {location} ({detail})"),
            ),
            (Op::Update, "PreconditionFailed" | "ConditionalRequestConflict" | "NoSuchKey", _)
            | (Op::Update, _, 409 | 412) => (
                ErrorKind::PreconditionFailed,
                format!(
                    "{location} is missing or no longer at the version this write expected ({detail})"
                ),
            ),
            (_, "NoSuchKey" | "NotFound", _) | (_, "", 404) => (
                ErrorKind::NotFound,
                format!("no object at {location} ({detail})"),
            ),
            (
                _,
                "InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken"
                | "TokenRefreshRequired" | "AuthorizationHeaderMalformed" | "MissingSecurityHeader"
                | "InvalidSecurity",
                _,
            )
            | (_, _, 401) => (
                ErrorKind::Unauthenticated,
                format!(
                    "{server} rejected the S3 credentials trying to {verb} {location}: check the access key id, the secret key and the region ({detail}){request_id}"
                ),
            ),
            (_, "", 403) => (
                ErrorKind::PermissionDenied,
                format!(
                    "{server} refused to {verb} {location}: access denied, or credentials it does not accept ({detail}){request_id}"
                ),
            ),
            (_, _, 403) => (
                ErrorKind::PermissionDenied,
                format!(
                    "the S3 credentials are not allowed to {verb} {location} at {server} ({detail}){request_id}"
                ),
            ),
            (_, "SlowDown" | "TooManyRequests", _) | (_, _, 429) => (
                ErrorKind::RateLimited,
                format!("{server} asked to slow down while trying to {verb} {location} ({detail}){request_id}"),
            ),
            (_, "InternalError" | "ServiceUnavailable" | "RequestTimeout", _) | (_, _, 500..=599) => (
                ErrorKind::Transient,
                format!("{server} failed to {verb} {location}; try again ({detail}){request_id}"),
            ),
            (_, "InvalidBucketName" | "KeyTooLongError" | "InvalidArgument", _) => (
                ErrorKind::InvalidInput,
                format!("cannot {verb} {location} at {server} ({detail}){request_id}"),
            ),
            (_, "PermanentRedirect" | "IllegalLocationConstraintException", _) | (_, _, 301) => (
                ErrorKind::Other,
                format!(
                    "cannot {verb} {location}: bucket {} is not in the configured region or behind another endpoint ({detail}){request_id}",
                    self.bucket
                ),
            ),
            (_, "RequestTimeTooSkewed", _) => (
                ErrorKind::Other,
                format!(
                    "{server} refused to {verb} {location}: this machine's clock is too far from the server's ({detail}){request_id}"
                ),
            ),
            _ => (
                ErrorKind::Other,
                format!("cannot {verb} {location} at {server} ({detail}){request_id}"),
            ),
        };
        PortError::new(kind, message)
    }

    /// Whether the bucket exists (checked once per store; `HEAD` 404 is ambiguous).
    async fn ensure_bucket(&self) -> PortResult<()> {
        if self.bucket_seen.load(Ordering::Relaxed) {
            return Ok(());
        }
        let request = self.client.head_bucket().bucket(&self.bucket);
        match on_io(request.send()).await? {
            Ok(_) => {}
            Err(e) => {
                let err = self.error(Op::HeadBucket, "", e);
                // Credentials that may read objects but not `HeadBucket` (it needs
                // s3:ListBucket) cannot tell; assume the bucket is there.
                if err.kind() != ErrorKind::PermissionDenied {
                    return Err(err);
                }
            }
        }
        self.bucket_seen.store(true, Ordering::Relaxed);
        Ok(())
    }
}

/// `err` and its sources, `: `-separated (their `Display`s only: an SDK error's
/// `Debug` holds the raw response).
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let more = cause.to_string();
        if !text.ends_with(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = cause.source();
    }
    text
}

/// The endpoint without a trailing `/`, if it is an `http(s)://` URL without
/// credentials. The message never repeats the endpoint (it may hold a secret).
fn check_endpoint(endpoint: &str, bucket: &str) -> PortResult<String> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(PortError::invalid_input(format!(
            "the S3 endpoint for bucket {bucket} must start with http:// or https://"
        )));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err(PortError::invalid_input(format!(
            "the S3 endpoint for bucket {bucket} must be http(s)://host[:port] without credentials in it (pass credentials in S3Config::credentials or AWS_* variables)"
        )));
    }
    Ok(endpoint.trim_end_matches('/').to_string())
}

/// An ETag as a version, in its quoted form (`"abc"`), whatever the server sent.
fn version_from_etag(etag: &str) -> BlobVersion {
    BlobVersion::new(quoted(etag))
}

fn quoted(etag: &str) -> String {
    if etag.starts_with('"') || etag.starts_with("W/\"") {
        etag.to_string()
    } else {
        format!("\"{etag}\"")
    }
}

fn size_of(length: Option<i64>) -> u64 {
    length.and_then(|l| u64::try_from(l).ok()).unwrap_or(0)
}

/// The runtime every S3 request runs on: one worker thread, made on first use, never
/// dropped. The SDK's pooled HTTP connections are driven by tasks of the runtime that
/// opened them; a store used from several runtimes (threads that each `block_on`, as
/// the contract suite's races do) would otherwise hand one runtime a pooled connection
/// whose driver died with another ("dispatch task is gone"). With every request on this
/// runtime, a store works from any runtime or executor.
fn io_runtime() -> PortResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let fresh = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("ferry-s3-io")
        .enable_all()
        .build()
        .map_err(|e| PortError::other(format!("cannot start the S3 I/O thread: {e}")))?;
    let mut fresh = Some(fresh);
    let runtime = RUNTIME.get_or_init(|| fresh.take().expect("taken once"));
    if let Some(unused) = fresh {
        // Another thread won the race; a runtime may not be dropped in async code.
        unused.shutdown_background();
    }
    Ok(runtime)
}

/// Aborts the spawned request when the caller stops waiting for it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run `request` on [`io_runtime`] and wait for it from whatever runtime the caller is on.
async fn on_io<T: Send + 'static>(
    request: impl Future<Output = T> + Send + 'static,
) -> PortResult<T> {
    let mut handle = io_runtime()?.spawn(request);
    let _abort = AbortOnDrop(handle.abort_handle());
    match (&mut handle).await {
        Ok(out) => Ok(out),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(PortError::other(format!(
            "the S3 request was cancelled: {e}"
        ))),
    }
}

/// A `GetObject` that failed before or while its body was read.
enum GetFailure {
    Request(Box<SdkError<GetObjectError, HttpResponse>>),
    Body(aws_sdk_s3::primitives::ByteStreamError),
}

#[async_trait]
impl BlobStore for S3BlobStore {
    fn capabilities(&self) -> BlobCapabilities {
        BlobCapabilities::full()
    }

    async fn get(&self, key: &BlobKey) -> PortResult<Blob> {
        let object = self.checked_object_key(key)?;
        let request = self.client.get_object().bucket(&self.bucket).key(&object);
        let result = on_io(async move {
            let out = request
                .send()
                .await
                .map_err(|e| GetFailure::Request(Box::new(e)))?;
            let etag = out.e_tag().map(str::to_string);
            let body = out.body.collect().await.map_err(GetFailure::Body)?;
            Ok::<_, GetFailure>((etag, body.into_bytes().to_vec()))
        })
        .await?;
        let (etag, bytes) = match result {
            Ok(got) => got,
            Err(GetFailure::Request(e)) => return Err(self.error(Op::Get, &object, *e)),
            Err(GetFailure::Body(e)) => {
                return Err(PortError::transient(format!(
                    "reading {} from {} was interrupted: {e}",
                    self.location(&object),
                    self.server
                )))
            }
        };
        let version = self.version(etag.as_deref(), &object)?;
        Ok(Blob::new(
            BlobMeta::new(key.clone(), bytes.len() as u64, version),
            bytes,
        ))
    }

    async fn head(&self, key: &BlobKey) -> PortResult<Option<BlobMeta>> {
        let object = self.checked_object_key(key)?;
        let request = self.client.head_object().bucket(&self.bucket).key(&object);
        match on_io(request.send()).await? {
            Ok(out) => {
                let version = self.version(out.e_tag(), &object)?;
                Ok(Some(BlobMeta::new(
                    key.clone(),
                    size_of(out.content_length()),
                    version,
                )))
            }
            Err(e) => {
                let err = self.error(Op::Head, &object, e);
                if err.kind() == ErrorKind::NotFound {
                    self.ensure_bucket().await?;
                    return Ok(None);
                }
                Err(err)
            }
        }
    }

    async fn put(&self, key: &BlobKey, bytes: Vec<u8>, mode: PutMode) -> PortResult<BlobMeta> {
        let object = self.checked_object_key(key)?;
        let size = bytes.len() as u64;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&object)
            .content_length(i64::try_from(size).unwrap_or(i64::MAX))
            .body(ByteStream::from(bytes));
        let (op, request) = match mode {
            PutMode::Overwrite => (Op::Overwrite, request),
            PutMode::Create => (Op::Create, request.if_none_match("*")),
            PutMode::Update(version) => (Op::Update, request.if_match(quoted(version.as_str()))),
            other => {
                return Err(PortError::unsupported(format!(
                    "put mode {other:?} is not supported by the S3 store (writing {})",
                    self.location(&object)
                )))
            }
        };
        let retry = if op == Op::Overwrite {
            RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
        } else {
            // Sent once: see the crate docs.
            RetryConfig::disabled()
        };
        let request = request
            .customize()
            .config_override(aws_sdk_s3::config::Builder::default().retry_config(retry));
        let out = on_io(request.send())
            .await?
            .map_err(|e| self.error(op, &object, e))?;
        let version = self.version(out.e_tag(), &object)?;
        Ok(BlobMeta::new(key.clone(), size, version))
    }

    async fn list(&self, prefix: &str) -> PortResult<Vec<BlobMeta>> {
        let (store_prefix, full_prefix) = match &self.prefix {
            Some(p) => (format!("{p}/"), format!("{p}/{prefix}")),
            None => (String::new(), prefix.to_string()),
        };
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let request = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(token.take());
            let page = on_io(request.send())
                .await?
                .map_err(|e| self.error(Op::List, &full_prefix, e))?;
            for object in page.contents() {
                let Some(name) = object.key() else { continue };
                // Objects that are not valid blob keys (written by something else) are
                // not part of this store.
                let Some(key) = name
                    .strip_prefix(&store_prefix)
                    .and_then(|k| BlobKey::new(k).ok())
                else {
                    continue;
                };
                if !key.has_prefix(prefix) {
                    continue;
                }
                let version = self.version(object.e_tag(), name)?;
                out.push(BlobMeta::new(key, size_of(object.size()), version));
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            match page.next_continuation_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_string()),
                _ => {
                    return Err(PortError::other(format!(
                        "{} said the listing of {} goes on but gave no continuation token",
                        self.server,
                        self.location(&full_prefix)
                    )))
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        Ok(out)
    }

    async fn delete(&self, key: &BlobKey) -> PortResult<()> {
        let object = self.checked_object_key(key)?;
        let request = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&object);
        match on_io(request.send()).await? {
            Ok(_) => Ok(()),
            // Some servers answer 404 NoSuchKey where AWS answers 204.
            Err(e) if e.code() == Some("NoSuchKey") => Ok(()),
            Err(e) => Err(self.error(Op::Delete, &object, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> S3Config {
        S3Config {
            bucket: "releases".into(),
            prefix: Some("/ferry/ledger/".into()),
            endpoint: Some("http://127.0.0.1:8333/".into()),
            region: "us-east-1".into(),
            force_path_style: true,
            credentials: Some(
                S3Credentials::new("AKIDEXAMPLE", "very-secret-key").with_session_token("tok3n"),
            ),
        }
    }

    #[test]
    fn keys_are_stored_under_the_normalised_prefix() {
        let store = S3BlobStore::new(config()).expect("store");
        assert_eq!(store.prefix(), Some("ferry/ledger"));
        let key = BlobKey::new("releases/v1.json").expect("key");
        assert_eq!(store.object_key(&key), "ferry/ledger/releases/v1.json");
        let bare = S3BlobStore::new(S3Config {
            prefix: Some("/".into()),
            ..config()
        })
        .expect("store");
        assert_eq!(bare.prefix(), None);
        assert_eq!(bare.object_key(&key), "releases/v1.json");
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let config = config();
        let store = S3BlobStore::new(config.clone()).expect("store");
        for text in [format!("{config:?}"), format!("{store:?}")] {
            assert!(!text.contains("very-secret-key"), "{text}");
            assert!(!text.contains("tok3n"), "{text}");
        }
        assert!(format!("{config:?}").contains("AKIDEXAMPLE"));
    }

    #[test]
    fn bad_configurations_are_refused_without_echoing_secrets() {
        for (change, expect) in [
            (
                S3Config {
                    bucket: String::new(),
                    ..config()
                },
                "bucket name",
            ),
            (
                S3Config {
                    region: " ".into(),
                    ..config()
                },
                "region",
            ),
            (
                S3Config {
                    prefix: Some("a//b".into()),
                    ..config()
                },
                "prefix",
            ),
            (
                S3Config {
                    endpoint: Some("ftp://host".into()),
                    ..config()
                },
                "http://",
            ),
            (
                S3Config {
                    endpoint: Some("https://user:hunter2@host".into()),
                    ..config()
                },
                "without credentials",
            ),
        ] {
            let err = S3BlobStore::new(change).expect_err(expect);
            assert_eq!(err.kind(), ErrorKind::InvalidInput);
            assert!(err.message().contains(expect), "{}", err.message());
            assert!(!err.message().contains("hunter2"), "{}", err.message());
        }
    }

    #[test]
    fn etags_are_versions_in_quoted_form() {
        assert_eq!(version_from_etag("\"abc\"").as_str(), "\"abc\"");
        assert_eq!(version_from_etag("abc").as_str(), "\"abc\"");
        assert_eq!(version_from_etag("W/\"abc\"").as_str(), "W/\"abc\"");
        assert_eq!(quoted("whatever"), "\"whatever\"");
    }

    #[test]
    fn causes_are_chained_without_repeats() {
        #[derive(Debug)]
        struct E(&'static str, Option<Box<E>>);
        impl fmt::Display for E {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for E {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|e| e as _)
            }
        }
        let err = E(
            "dispatch failure",
            Some(Box::new(E(
                "io error",
                Some(Box::new(E("io error", Some(Box::new(E("refused", None)))))),
            ))),
        );
        assert_eq!(causes(&err), "dispatch failure: io error: refused");
    }

    #[test]
    fn over_long_keys_are_refused_before_any_request() {
        let store = S3BlobStore::new(config()).expect("store");
        let key = BlobKey::new("k".repeat(1020)).expect("key");
        let err = store.checked_object_key(&key).expect_err("too long");
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().contains("1024"), "{}", err.message());
    }
}
