//! `PypiRegistry` against an in-process fake index, for what pypiserver does not do:
//! PEP 691 JSON, pages without digests or sizes, yanked files, PyPI's error answers,
//! redirects, credentials kept to the upload origin, and the exact upload form.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use common::{artifact, sdist, sha256, wheel};
use ferry_ports::{ErrorKind, PackageName, PublishRequest, Registry, Version};
use ferry_pypi::{PypiConfig, PypiCredentials, PypiRegistry};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

const USER: &str = "alice";
const PASSWORD: &str = "fake-index-password-s3cr3t";

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Html,
    Json,
}

struct FakeFile {
    name: String,
    bytes: Vec<u8>,
    /// Give the sha256 in the page.
    digest: bool,
    /// Give the size in the page (JSON only).
    size: bool,
    yanked: Option<String>,
}

/// What the fake answers to the next upload.
enum Plan {
    /// Store the file (listed with its digest) and answer 200.
    Accept,
    /// Answer this.
    Respond(u16, Vec<(&'static str, String)>, String),
    /// Someone else uploads the same bytes first: list them, answer 400 "already exists".
    RaceSameBytes,
}

#[derive(Default)]
struct Fake {
    format: Option<Format>,
    files: BTreeMap<String, Vec<FakeFile>>,
    plans: VecDeque<Plan>,
    uploads: Vec<(HeaderMap, Bytes)>,
    /// (method, path, had an Authorization header, Accept header)
    requests: Vec<(Method, String, bool, String)>,
}

type Shared = Arc<Mutex<Fake>>;

fn lock(s: &Shared) -> MutexGuard<'_, Fake> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn record(s: &Shared, method: Method, path: String, headers: &HeaderMap) {
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    lock(s)
        .requests
        .push((method, path, headers.contains_key("authorization"), accept));
}

async fn page(
    State(s): State<Shared>,
    Path(project): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&s, Method::GET, format!("/simple/{project}/"), &headers);
    let fake = lock(&s);
    let Some(files) = fake.files.get(&project) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    if fake.format == Some(Format::Json) {
        let files: Vec<_> = files
            .iter()
            .map(|f| {
                let mut o = serde_json::json!({
                    "filename": f.name,
                    "url": format!("../../files/{}", f.name),
                    "hashes": {},
                });
                if f.digest {
                    o["hashes"]["sha256"] = sha256(&f.bytes).to_hex().into();
                }
                if f.size {
                    o["size"] = f.bytes.len().into();
                }
                if let Some(r) = &f.yanked {
                    o["yanked"] = if r.is_empty() {
                        true.into()
                    } else {
                        r.clone().into()
                    };
                }
                o
            })
            .collect();
        let body =
            serde_json::json!({"meta": {"api-version": "1.1"}, "name": project, "files": files});
        (
            [("content-type", "application/vnd.pypi.simple.v1+json")],
            body.to_string(),
        )
            .into_response()
    } else {
        let mut html = format!("<!DOCTYPE html><html><body><h1>Links for {project}</h1>\n");
        for f in files {
            let fragment = if f.digest {
                format!("#sha256={}", sha256(&f.bytes).to_hex())
            } else {
                String::new()
            };
            let yanked = f
                .yanked
                .as_ref()
                .map(|r| format!(" data-yanked=\"{r}\""))
                .unwrap_or_default();
            html.push_str(&format!(
                "<a href=\"/files/{0}{fragment}\"{yanked}>{0}</a><br/>\n",
                f.name
            ));
        }
        html.push_str("</body></html>");
        ([("content-type", "text/html; charset=utf-8")], html).into_response()
    }
}

async fn file(
    State(s): State<Shared>,
    method: Method,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(&s, method, format!("/files/{name}"), &headers);
    let fake = lock(&s);
    match fake.files.values().flatten().find(|f| f.name == name) {
        Some(f) => f.bytes.clone().into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The fields of a multipart/form-data body: name → (file name, bytes).
fn form_fields(headers: &HeaderMap, body: &[u8]) -> BTreeMap<String, (Option<String>, Vec<u8>)> {
    let ct = headers["content-type"].to_str().expect("ascii");
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .expect("a boundary")
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let mut out = BTreeMap::new();
    let mut rest = body;
    let find = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).position(|w| w == needle);
    while let Some(i) = find(rest, delimiter.as_bytes()) {
        rest = &rest[i + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let head_end = find(rest, b"\r\n\r\n").expect("part headers");
        let head = String::from_utf8_lossy(&rest[..head_end])
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))
            .expect("a Content-Disposition")
            .to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, format!("\r\n{delimiter}").as_bytes()).expect("part end");
        let attr = |key: &str| {
            head.split(';')
                .map(str::trim)
                .find_map(|p| p.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_string())
        };
        out.insert(
            attr("name").expect("a field name"),
            (attr("filename"), content[..end].to_vec()),
        );
        rest = &content[end..];
    }
    out
}

async fn upload(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, Method::POST, "/legacy/".into(), &headers);
    let mut fake = lock(&s);
    fake.uploads.push((headers.clone(), body.clone()));
    let plan = fake.plans.pop_front().unwrap_or(Plan::Accept);
    let store = |fake: &mut Fake| {
        let fields = form_fields(&headers, &body);
        let (file_name, bytes) = fields["content"].clone();
        let project = String::from_utf8(fields["name"].1.clone()).expect("utf-8");
        fake.files.entry(project).or_default().push(FakeFile {
            name: file_name.expect("a file name"),
            bytes,
            digest: true,
            size: true,
            yanked: None,
        });
    };
    match plan {
        Plan::Accept => {
            store(&mut fake);
            StatusCode::OK.into_response()
        }
        Plan::RaceSameBytes => {
            store(&mut fake);
            (
                StatusCode::BAD_REQUEST,
                "<html><head><title>400 File already exists ('x', with blake2_256 hash 'y'). \
                 See https://pypi.org/help/#file-name-reuse for more information.</title></head></html>",
            )
                .into_response()
        }
        Plan::Respond(status, extra, text) => {
            let mut response =
                (StatusCode::from_u16(status).expect("status"), text).into_response();
            for (k, v) in extra {
                response
                    .headers_mut()
                    .insert(k, v.parse().expect("header value"));
            }
            response
        }
    }
}

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A fake serving the index and the upload API on one origin.
async fn fake(format: Format) -> (Shared, PypiRegistry) {
    let shared: Shared = Arc::new(Mutex::new(Fake {
        format: Some(format),
        ..Fake::default()
    }));
    let router = Router::new()
        .route("/simple/{project}/", get(page))
        .route("/files/{name}", get(file))
        .route("/legacy/", post(upload))
        .route(
            "/moved/",
            post(|| async { (StatusCode::MOVED_PERMANENTLY, [("location", "/legacy/")]) }),
        )
        .with_state(shared.clone());
    let addr = serve(router).await;
    let registry = PypiRegistry::new(PypiConfig {
        upload_url: format!("http://{addr}/legacy/"),
        index_url: format!("http://{addr}/simple"),
        credentials: PypiCredentials::password(USER, PASSWORD),
    })
    .expect("valid configuration");
    (shared, registry)
}

fn pkg(s: &str) -> PackageName {
    PackageName::new(s).expect("valid")
}

fn v(s: &str) -> Version {
    Version::new(s).expect("valid")
}

fn listed(
    shared: &Shared,
    project: &str,
    name: &str,
    bytes: &[u8],
    digest: bool,
    size: bool,
    yanked: Option<&str>,
) {
    lock(shared)
        .files
        .entry(project.into())
        .or_default()
        .push(FakeFile {
            name: name.into(),
            bytes: bytes.to_vec(),
            digest,
            size,
            yanked: yanked.map(str::to_string),
        });
}

/// Lookups the adapter made for files: (GETs, HEADs).
fn file_lookups(shared: &Shared) -> (usize, usize) {
    let fake = lock(shared);
    let on_files = |m: Method| {
        fake.requests
            .iter()
            .filter(|(method, path, _, _)| *method == m && path.starts_with("/files/"))
            .count()
    };
    (on_files(Method::GET), on_files(Method::HEAD))
}

#[tokio::test]
async fn contract_suite_on_the_fake() {
    let (_shared, registry) = fake(Format::Json).await;
    ferry_test_kit::registry::run_all(&registry, &pkg("suite"), "suite-{version}-py3-none-any.whl")
        .await;
}

/// (version, [(file, size, sha256 hex)], withdrawn)
type Summary<'a> = (&'a str, Vec<(&'a str, u64, String)>, Option<&'a str>);

#[tokio::test]
async fn json_pages_fill_in_missing_digests_and_sizes() {
    let (shared, registry) = fake(Format::Json).await;
    listed(
        &shared,
        "demo",
        "demo-1.0-py3-none-any.whl",
        b"wheel 1.0",
        true,
        true,
        None,
    );
    listed(
        &shared,
        "demo",
        "demo-1.0.tar.gz",
        b"sdist 1.0",
        false,
        false,
        None,
    );
    listed(
        &shared,
        "demo",
        "demo-1.1.tar.gz",
        b"sdist 1.1",
        true,
        false,
        None,
    );
    listed(
        &shared,
        "demo",
        "demo-0.9-py3-none-any.whl",
        b"w 0.9",
        true,
        true,
        Some("broken"),
    );
    listed(
        &shared,
        "demo",
        "demo-0.9.tar.gz",
        b"s 0.9",
        true,
        true,
        Some(""),
    );
    listed(
        &shared,
        "demo",
        "demo-0.8-py3-none-any.whl",
        b"w 0.8",
        true,
        true,
        Some("half"),
    );
    listed(
        &shared,
        "demo",
        "demo-0.8.tar.gz",
        b"s 0.8",
        true,
        true,
        None,
    );
    listed(
        &shared,
        "demo",
        "README.txt",
        b"not a distribution",
        true,
        true,
        None,
    );

    let versions = registry.versions(&pkg("Demo")).await.expect("versions");
    let summary: Vec<Summary<'_>> = versions
        .iter()
        .map(|pv| {
            (
                pv.version.as_str(),
                pv.artifacts
                    .iter()
                    .map(|d| (d.file_name.as_str(), d.size, d.sha256.to_hex()))
                    .collect(),
                pv.withdrawn.as_deref(),
            )
        })
        .collect();
    let d = |name, bytes: &[u8]| (name, bytes.len() as u64, sha256(bytes).to_hex());
    assert_eq!(
        summary,
        vec![
            (
                "1.0",
                vec![
                    d("demo-1.0-py3-none-any.whl", b"wheel 1.0"),
                    d("demo-1.0.tar.gz", b"sdist 1.0")
                ],
                None
            ),
            ("1.1", vec![d("demo-1.1.tar.gz", b"sdist 1.1")], None),
            (
                "0.9",
                vec![
                    d("demo-0.9-py3-none-any.whl", b"w 0.9"),
                    d("demo-0.9.tar.gz", b"s 0.9")
                ],
                Some("broken")
            ),
            (
                "0.8",
                vec![
                    d("demo-0.8-py3-none-any.whl", b"w 0.8"),
                    d("demo-0.8.tar.gz", b"s 0.8")
                ],
                None
            ),
        ]
    );
    // One download (no digest) and one HEAD (no size); the rest came from the page.
    let (gets, heads) = file_lookups(&shared);
    assert_eq!(gets + heads, 2, "lookups: {gets} GET, {heads} HEAD");
    assert!(gets >= 1);
    let fake = lock(&shared);
    let (_, _, _, accept) = &fake.requests[0];
    assert!(
        accept.starts_with("application/vnd.pypi.simple.v1+json"),
        "{accept}"
    );
}

#[tokio::test]
async fn html_pages_without_digests_are_downloaded_and_hashed() {
    let (shared, registry) = fake(Format::Html).await;
    listed(
        &shared,
        "demo",
        "demo-2.0.tar.gz",
        b"sdist 2.0",
        false,
        false,
        None,
    );
    listed(
        &shared,
        "demo",
        "demo-2.0-py3-none-any.whl",
        b"wheel 2.0",
        true,
        false,
        None,
    );
    listed(
        &shared,
        "demo",
        "demo-1.0.zip",
        b"zip 1.0",
        true,
        false,
        Some("bad &amp; old"),
    );
    let versions = registry.versions(&pkg("demo")).await.expect("versions");
    assert_eq!(versions.len(), 2);
    let two = &versions[0];
    assert_eq!(two.version, v("2.0"));
    assert_eq!(two.artifacts[0].file_name, "demo-2.0-py3-none-any.whl");
    assert_eq!(two.artifacts[0].sha256, sha256(b"wheel 2.0"));
    assert_eq!(two.artifacts[0].size, 9);
    assert_eq!(two.artifacts[1].sha256, sha256(b"sdist 2.0"));
    assert_eq!(two.artifacts[1].size, 9);
    assert_eq!(versions[1].withdrawn.as_deref(), Some("bad & old"));

    // Publishing next to a listed file without a digest downloads it to compare.
    let out = registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("2.0"),
            vec![artifact("demo-2.0.tar.gz", b"sdist 2.0")],
        ))
        .await
        .expect("same bytes");
    assert_eq!(out.already_present.len(), 1);
    let err = registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("2.0"),
            vec![artifact("demo-2.0.tar.gz", b"other sdist")],
        ))
        .await
        .expect_err("other bytes");
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(
        err.message().contains(&sha256(b"sdist 2.0").to_hex()),
        "{err}"
    );
    assert!(lock(&shared).uploads.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_upload_form_is_the_one_twine_sends() {
    let (shared, registry) = fake(Format::Json).await;
    let (wheel_name, wheel_bytes) = wheel("Demo.Pkg", "3.1.4", "form");
    let (sdist_name, sdist_bytes) = sdist("Demo.Pkg", "3.1.4");
    let dir = tempfile::tempdir().expect("tempdir");
    let sdist_path = dir.path().join(&sdist_name);
    std::fs::write(&sdist_path, &sdist_bytes).expect("write");
    let s = ferry_ports::Artifact::new(
        artifact(&sdist_name, &sdist_bytes).descriptor,
        ferry_ports::ArtifactBody::File(sdist_path),
    );
    let out = registry
        .publish(&PublishRequest::new(
            pkg("Demo.Pkg"),
            v("3.1.4"),
            vec![artifact(&wheel_name, &wheel_bytes), s],
        ))
        .await
        .expect("publish");
    assert_eq!(out.uploaded.len(), 2);

    let fake = lock(&shared);
    assert_eq!(fake.uploads.len(), 2);
    let expected_auth = format!(
        "Basic {}",
        common::b64(format!("{USER}:{PASSWORD}").as_bytes())
    );
    for ((headers, body), (name, bytes, filetype, pyversion)) in fake.uploads.iter().zip([
        (&wheel_name, &wheel_bytes, "bdist_wheel", "py3"),
        (&sdist_name, &sdist_bytes, "sdist", "source"),
    ]) {
        assert_eq!(
            headers["authorization"].to_str().expect("ascii"),
            expected_auth
        );
        let fields = form_fields(headers, body);
        let text = |k: &str| String::from_utf8(fields[k].1.clone()).expect("utf-8");
        assert_eq!(text(":action"), "file_upload");
        assert_eq!(text("protocol_version"), "1");
        assert_eq!(text("metadata_version"), "2.1");
        assert_eq!(text("name"), "Demo.Pkg");
        assert_eq!(text("version"), "3.1.4");
        assert_eq!(text("filetype"), filetype);
        assert_eq!(text("pyversion"), pyversion);
        assert_eq!(text("sha256_digest"), sha256(bytes).to_hex());
        let blake: [u8; 32] = Blake2b::<U32>::digest(bytes).into();
        let blake_hex: String = blake.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(text("blake2_256_digest"), blake_hex);
        assert_eq!(fields["content"].0.as_deref(), Some(name.as_str()));
        assert_eq!(&fields["content"].1, bytes);
    }
}

#[tokio::test]
async fn credentials_go_only_to_the_upload_origin() {
    // Index on one origin, uploads on another: the index never sees the password.
    let (index_side, _) = fake(Format::Json).await;
    let index_router = Router::new()
        .route("/simple/{project}/", get(page))
        .route("/files/{name}", get(file))
        .with_state(index_side.clone());
    let index_addr = serve(index_router).await;
    let (upload_side, same_origin) = fake(Format::Json).await;
    let upload_url = same_origin.upload_url().to_string();
    let registry = PypiRegistry::new(PypiConfig {
        upload_url,
        index_url: format!("http://{index_addr}/simple/"),
        credentials: PypiCredentials::token("pypi-not-for-the-index"),
    })
    .expect("valid");
    listed(
        &index_side,
        "demo",
        "demo-1.0.tar.gz",
        b"no digest",
        false,
        false,
        None,
    );
    registry.versions(&pkg("demo")).await.expect("versions");
    registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("1.1"),
            vec![artifact("demo-1.1.tar.gz", b"sdist")],
        ))
        .await
        .expect("publish");
    let index_requests = lock(&index_side).requests.clone();
    assert!(index_requests.len() >= 3, "{index_requests:?}");
    assert!(
        index_requests.iter().all(|(_, _, auth, _)| !auth),
        "no Authorization to another origin: {index_requests:?}"
    );
    let uploads = &lock(&upload_side).uploads;
    assert_eq!(uploads.len(), 1);
    let expected = format!("Basic {}", common::b64(b"__token__:pypi-not-for-the-index"));
    assert_eq!(
        uploads[0].0["authorization"].to_str().expect("ascii"),
        expected
    );
}

#[tokio::test]
async fn upload_answers_map_to_error_kinds() {
    let (shared, registry) = fake(Format::Json).await;
    let publish = |version: &'static str| {
        let registry = &registry;
        async move {
            let name = format!("demo-{version}.tar.gz");
            registry
                .publish(&PublishRequest::new(
                    pkg("demo"),
                    v(version),
                    vec![artifact(&name, version.as_bytes())],
                ))
                .await
        }
    };
    let plan = |p: Plan| lock(&shared).plans.push_back(p);

    plan(Plan::Respond(
        429,
        vec![("retry-after", "7".into())],
        "Too many uploads".into(),
    ));
    let e = publish("1.0").await.expect_err("429");
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(7)));
    assert!(e.message().contains("Too many uploads"), "{e}");

    plan(Plan::Respond(
        503,
        vec![],
        "<html><title>503 Backend is unhealthy</title></html>".into(),
    ));
    let e = publish("1.0").await.expect_err("503");
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(e.is_retryable());
    assert!(e.message().contains("Backend is unhealthy"), "{e}");

    plan(Plan::Respond(401, vec![], "".into()));
    assert_eq!(
        publish("1.0").await.expect_err("401").kind(),
        ErrorKind::Unauthenticated
    );

    plan(Plan::Respond(
        403,
        vec![],
        "<title>403 Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.</title>".into(),
    ));
    assert_eq!(
        publish("1.0").await.expect_err("403").kind(),
        ErrorKind::Unauthenticated
    );

    plan(Plan::Respond(
        403,
        vec![],
        "<title>403 The user 'alice' isn't allowed to upload to project 'demo'. See https://pypi.org/help/#project-name for more information.</title>".into(),
    ));
    let e = publish("1.0").await.expect_err("403 rights");
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.message().contains("isn't allowed"), "{e}");

    plan(Plan::Respond(
        400,
        vec![],
        "<title>400 Invalid distribution file.</title>".into(),
    ));
    let e = publish("1.0").await.expect_err("400");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(e.message().contains("Invalid distribution file"), "{e}");

    publish("1.0").await.expect("the default plan accepts");
    let sent = lock(&shared).uploads.len();
    assert_eq!(sent, 7);
    let text = format!("{:?}", lock(&shared).requests);
    assert!(!text.contains(PASSWORD));
}

#[tokio::test]
async fn a_name_taken_meanwhile_is_checked_again() {
    let (shared, registry) = fake(Format::Json).await;
    // Same bytes uploaded by someone else between our read and our upload.
    lock(&shared).plans.push_back(Plan::RaceSameBytes);
    let a = artifact("demo-1.0.tar.gz", b"same");
    let out = registry
        .publish(&PublishRequest::new(pkg("demo"), v("1.0"), vec![a.clone()]))
        .await
        .expect("the race ends with the same bytes there");
    assert!(out.uploaded.is_empty());
    assert_eq!(out.already_present, vec![a.descriptor]);

    // PyPI refuses a name used by a deleted file, which the index no longer lists.
    lock(&shared).plans.push_back(Plan::Respond(
        400,
        vec![],
        "<title>400 This filename has already been used, use a different version. See https://pypi.org/help/#file-name-reuse for more information.</title>".into(),
    ));
    let e = registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("1.1"),
            vec![artifact("demo-1.1.tar.gz", b"new")],
        ))
        .await
        .expect_err("a reused name");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert!(e.message().contains("already been used"), "{e}");
    assert!(e.message().contains("demo-1.1.tar.gz"), "{e}");

    // A failure after a first upload says what was already sent.
    lock(&shared).plans.extend([
        Plan::Accept,
        Plan::Respond(502, vec![], "Bad Gateway".into()),
    ]);
    let e = registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("1.2"),
            vec![
                artifact("demo-1.2-py3-none-any.whl", b"w"),
                artifact("demo-1.2.tar.gz", b"s"),
            ],
        ))
        .await
        .expect_err("second upload fails");
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert!(
        e.message()
            .contains("already uploaded demo-1.2-py3-none-any.whl"),
        "{e}"
    );
    let out = registry
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("1.2"),
            vec![
                artifact("demo-1.2-py3-none-any.whl", b"w"),
                artifact("demo-1.2.tar.gz", b"s"),
            ],
        ))
        .await
        .expect("the retry finishes the job");
    assert_eq!(out.already_present.len(), 1);
    assert_eq!(out.uploaded.len(), 1);
}

#[tokio::test]
async fn an_upload_redirect_is_not_followed() {
    let (shared, registry) = fake(Format::Json).await;
    let moved = PypiRegistry::new(PypiConfig {
        upload_url: registry.upload_url().replace("/legacy/", "/moved/"),
        index_url: registry.index_url().to_string(),
        credentials: PypiCredentials::password(USER, PASSWORD),
    })
    .expect("valid");
    let e = moved
        .publish(&PublishRequest::new(
            pkg("demo"),
            v("1.0"),
            vec![artifact("demo-1.0.tar.gz", b"x")],
        ))
        .await
        .expect_err("a redirect");
    assert_eq!(e.kind(), ErrorKind::Other, "{e}");
    assert!(e.message().contains("redirected"), "{e}");
    assert!(lock(&shared).uploads.is_empty(), "the POST was not re-sent");
}

#[tokio::test]
async fn requests_that_cannot_be_right_are_refused_before_sending() {
    let (shared, registry) = fake(Format::Json).await;
    let cases = [
        (pkg("demo"), vec![artifact("demo-1.0.egg", b"x")]),
        (pkg("demo"), vec![artifact("demo-1.0.tar.bz2", b"x")]),
        (pkg("demo"), vec![artifact("demo-1.0.exe", b"x")]),
        (pkg("demo"), vec![artifact("demo-1.0.tar.bz2", b"x")]),
        (pkg("demo"), vec![artifact("demo-1.0.exe", b"x")]),
        (pkg("demo"), vec![artifact("other-1.0.tar.gz", b"x")]),
        (pkg("demo"), vec![artifact("demo-2.0.tar.gz", b"x")]),
        (
            pkg("demo"),
            vec![
                artifact("demo-1.0.tar.gz", b"x"),
                artifact("demo-1.0.tar.gz", b"x"),
            ],
        ),
        (pkg("demo"), vec![]),
        (pkg("@scope/demo"), vec![artifact("demo-1.0.tar.gz", b"x")]),
    ];
    for (package, artifacts) in cases {
        let e = registry
            .publish(&PublishRequest::new(package, v("1.0"), artifacts))
            .await
            .expect_err("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let e = registry
        .publish(
            &PublishRequest::new(
                pkg("demo"),
                v("1.0"),
                vec![artifact("demo-1.0.tar.gz", b"x")],
            )
            .on_channel("next"),
        )
        .await
        .expect_err("a channel");
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(lock(&shared).uploads.is_empty());

    let e = registry
        .withdraw(&pkg("demo"), &v("1.0"), "broken")
        .await
        .expect_err("no yank");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let caps = registry.capabilities();
    assert!(!caps.withdraw && caps.multiple_artifacts && caps.add_artifacts_later);
}

#[test]
fn configurations_that_would_leak_or_cannot_work_are_refused() {
    let make = |upload: &str, index: &str| {
        PypiRegistry::new(PypiConfig {
            upload_url: upload.into(),
            index_url: index.into(),
            credentials: PypiCredentials::password(USER, PASSWORD),
        })
    };
    let e = make(
        "https://alice:hunter2@upload.example.test/legacy/",
        "https://example.test/simple/",
    )
    .expect_err("a password in the URL");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = make(
        "https://upload.example.test/legacy/",
        "ftp://example.test/simple/",
    )
    .expect_err("ftp");
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = make("not a url :hunter2", "https://example.test/simple/").expect_err("garbage");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let r = make(
        "https://upload.example.test/legacy/",
        "https://example.test/simple",
    )
    .expect("valid");
    assert_eq!(r.index_url(), "https://example.test/simple/");
    assert!(!format!("{r:?}").contains(PASSWORD));
    let c = PypiConfig::pypi(PypiCredentials::token("pypi-abc"));
    assert_eq!(c.upload_url, "https://upload.pypi.org/legacy/");
    assert!(!format!("{c:?}").contains("pypi-abc"));
}
