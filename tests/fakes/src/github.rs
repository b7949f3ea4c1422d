//! A stateful fake of the GitHub REST API (the parts ferry uses), laid out like GitHub
//! Enterprise Server: the API under `/api/v3`, uploads under `/api/uploads`, and asset
//! downloads redirected (302) to a second, "object store" origin that, like the real
//! signed storage URLs, refuses requests carrying an `Authorization` header.
//!
//! Covered, with the documented paths, status codes and JSON field names:
//!
//! | endpoint | notes |
//! |---|---|
//! | `POST /repos/{o}/{r}/pulls` | 201; 422 "A pull request already exists for o:branch." |
//! | `GET /repos/{o}/{r}/pulls` | `state` (default open), `head=o:branch`, `base`, paginated |
//! | `GET/PATCH /repos/{o}/{r}/pulls/{n}` | `merged`, `merged_at`, `merge_commit_sha`; a merged PR can still be edited |
//! | `POST /repos/{o}/{r}/issues/{n}/labels` | `{"labels": [...]}`; 200 with the issue's labels |
//! | `POST /repos/{o}/{r}/issues/{n}/comments` | `{"body": ...}`; 201 with the comment; 404 for an unknown number (pull requests are the fake's only issues); 422 `missing_field` without a body |
//! | `GET /repos/{o}/{r}/issues/{n}/comments` | oldest first, paginated |
//! | `GET /repos/{o}/{r}/collaborators/{user}/permission` | `permission` (legacy: `maintain` → `write`, `triage` → `read`), `role_name`, `user`; 404 for a user who is not a collaborator (set with [`FakeGitHub::set_permission`]) |
//! | `POST /repos/{o}/{r}/releases` | 201; 422 `already_exists` on `tag_name` only against a *published* release (drafts may repeat a tag) |
//! | `GET /repos/{o}/{r}/releases` | newest first, drafts included, paginated |
//! | `GET /repos/{o}/{r}/releases/tags/{tag}` | published releases only (drafts → 404) |
//! | `GET/PATCH /repos/{o}/{r}/releases/{id}` | |
//! | `GET /repos/{o}/{r}/releases/{id}/assets` | paginated; `digest: "sha256:…"` (switchable off) |
//! | `POST /api/uploads/repos/{o}/{r}/releases/{id}/assets?name=` | raw body, `Content-Type` required; 422 `already_exists` on `name` |
//! | `GET/DELETE /repos/{o}/{r}/releases/assets/{id}` | `Accept: application/octet-stream` → 302 to the object store |
//! | `GET /repos/{o}/{r}/milestones` | `state` (default open), paginated |
//! | `GET /repos/{o}/{r}/commits/{ref}/status` | combined state over the latest status of each context |
//! | `GET /repos/{o}/{r}/commits/{ref}/check-runs` | latest run per name, paginated |
//! | `GET /app` | the App ([`FakeGitHub::enable_app`]); JWT |
//! | `POST /app/installations/{id}/access_tokens` | JWT; 201 `token` (`ghs_…`, new each time), `expires_at` (now + [`FakeGitHub::set_installation_token_ttl`], 3600 s by default), `permissions`, `repository_selection`; 404 for another installation |
//!
//! Every repository request needs `Authorization: Bearer <token>` or `token <token>`:
//! the configured token, or an installation token the fake issued and that has not
//! expired (401 "Bad credentials" otherwise). The App endpoints need
//! `Authorization: Bearer <JWT>`: RS256, verified with the App's public key, `iss` the
//! App's id, `exp` in the future and at most 10 minutes after `iat` and from now, `iat`
//! not in the future — otherwise 401 with GitHub's messages ("A JSON web token could
//! not be decoded", "'Expiration time' claim ('exp') is too far in the future", …).
//! Lists honour `per_page` (capped by [`FakeGitHubConfig::max_per_page`])
//! and `page`, and answer with a `Link` header (`next`, `last`, `first`, `prev`).

use crate::{iso8601, lock, percent_decode, query_encode, serve, sha256_hex, unix_now, Served};
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

/// Where the API lives on the fake's origin (as on GitHub Enterprise Server).
pub const API_PREFIX: &str = "/api/v3";
/// Where uploads live on the fake's origin (as on GitHub Enterprise Server).
pub const UPLOAD_PREFIX: &str = "/api/uploads";

const DOCS: &str = "https://docs.github.com/rest";

/// How the fake starts.
#[derive(Debug, Clone)]
pub struct FakeGitHubConfig {
    /// The one repository's owner.
    pub owner: String,
    /// The one repository's name.
    pub repo: String,
    /// The only token accepted.
    pub token: String,
    /// The largest page size served, whatever `per_page` asks (GitHub: 100). Set it
    /// small to exercise pagination.
    pub max_per_page: usize,
    /// Whether assets report a `digest` (GitHub does for uploads since mid-2025).
    pub report_digests: bool,
}

impl Default for FakeGitHubConfig {
    fn default() -> Self {
        FakeGitHubConfig {
            owner: "acme".into(),
            repo: "widgets".into(),
            token: "ghp_fake0000000000000000000000000000000".into(),
            max_per_page: 100,
            report_digests: true,
        }
    }
}

/// How an injected rate limit answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateLimit {
    /// Primary limit: 403, `x-ratelimit-remaining: 0`, `x-ratelimit-reset` this many
    /// seconds from now, no `Retry-After`.
    Primary {
        /// Seconds until the reset.
        reset_in_secs: u64,
    },
    /// Secondary limit answered with 403 and `Retry-After`.
    Secondary {
        /// `Retry-After` seconds.
        retry_after_secs: u64,
    },
    /// 429 Too Many Requests with `Retry-After`.
    TooManyRequests {
        /// `Retry-After` seconds.
        retry_after_secs: u64,
    },
}

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query, as received.
    pub path_and_query: String,
    /// Whether it carried an `Authorization` header.
    pub authorization: bool,
}

#[derive(Debug, Clone)]
struct Pull {
    number: u64,
    id: u64,
    title: String,
    body: Option<String>,
    head_label: String,
    head_ref: String,
    base_ref: String,
    open: bool,
    merged: bool,
    merge_commit_sha: Option<String>,
    labels: Vec<String>,
    created_at: u64,
    updated_at: u64,
    closed_at: Option<u64>,
    merged_at: Option<u64>,
}

#[derive(Debug, Clone)]
struct Release {
    id: u64,
    tag_name: String,
    target_commitish: String,
    name: Option<String>,
    body: Option<String>,
    draft: bool,
    prerelease: bool,
    created_at: u64,
    published_at: Option<u64>,
    untagged: String,
}

#[derive(Debug, Clone)]
struct Asset {
    id: u64,
    release_id: u64,
    name: String,
    label: Option<String>,
    content_type: String,
    state: &'static str,
    bytes: Vec<u8>,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct MilestoneRec {
    number: u64,
    id: u64,
    title: String,
    open: bool,
    open_issues: u64,
    closed_issues: u64,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct StatusRec {
    id: u64,
    context: String,
    state: String,
    at: u64,
}

#[derive(Debug, Clone)]
struct CheckRunRec {
    id: u64,
    name: String,
    status: String,
    conclusion: Option<String>,
    at: u64,
}

#[derive(Debug, Clone)]
struct CommentRec {
    id: u64,
    body: String,
    at: u64,
}

#[derive(Debug, Clone)]
struct Collaborator {
    /// The login as set (GitHub answers with the account's own spelling).
    login: String,
    id: u64,
    /// `admin`, `maintain`, `write`, `triage`, `read` or a custom role's name.
    role_name: String,
    /// The legacy base permission: `admin`, `write`, `read` or `none`.
    permission: String,
}

#[derive(Debug, Clone)]
struct AppRec {
    app_id: u64,
    installation_id: u64,
    public_key_pem: String,
}

#[derive(Debug, Clone)]
struct Injected {
    path_contains: String,
    remaining: u32,
    status: u16,
}

#[derive(Debug)]
struct State {
    cfg: FakeGitHubConfig,
    origin: String,
    objects_origin: String,
    next_id: u64,
    next_number: u64,
    pulls: BTreeMap<u64, Pull>,
    label_ids: BTreeMap<String, u64>,
    releases: BTreeMap<u64, Release>,
    assets: BTreeMap<u64, Asset>,
    milestones: BTreeMap<u64, MilestoneRec>,
    statuses: HashMap<String, Vec<StatusRec>>,
    check_runs: HashMap<String, Vec<CheckRunRec>>,
    comments: BTreeMap<u64, Vec<CommentRec>>,
    /// By lower-cased login (logins are case-insensitive).
    collaborators: BTreeMap<String, Collaborator>,
    failures: Vec<Injected>,
    rate_limits: Vec<(u32, RateLimit)>,
    requests: Vec<RecordedRequest>,
    writes: u64,
    object_requests: u64,
    object_requests_with_auth: u64,
    app: Option<AppRec>,
    /// Installation tokens issued, with their expiry (Unix seconds).
    installation_tokens: Vec<(String, u64)>,
    installation_token_ttl: u64,
}

type Shared = Arc<Mutex<State>>;

/// A running fake GitHub; the server stops when this handle is dropped.
#[derive(Debug)]
pub struct FakeGitHub {
    /// The API base, e.g. `http://127.0.0.1:PORT/api/v3` (configure it as a GitHub
    /// Enterprise base URL).
    pub base_url: String,
    /// The upload base, `http://127.0.0.1:PORT/api/uploads`.
    pub upload_url: String,
    /// The repository's owner.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// The token the fake accepts.
    pub token: String,
    state: Shared,
    _api: Served,
    _objects: Served,
}

impl FakeGitHub {
    /// Start with the default configuration (`acme/widgets`, pages of up to 100).
    pub async fn start() -> Self {
        Self::start_with(FakeGitHubConfig::default()).await
    }

    /// Start with `cfg`.
    pub async fn start_with(cfg: FakeGitHubConfig) -> Self {
        let state: Shared = Arc::new(Mutex::new(State {
            cfg: cfg.clone(),
            origin: String::new(),
            objects_origin: String::new(),
            next_id: 1000,
            next_number: 0,
            pulls: BTreeMap::new(),
            label_ids: BTreeMap::new(),
            releases: BTreeMap::new(),
            assets: BTreeMap::new(),
            milestones: BTreeMap::new(),
            statuses: HashMap::new(),
            check_runs: HashMap::new(),
            comments: BTreeMap::new(),
            collaborators: BTreeMap::new(),
            failures: Vec::new(),
            rate_limits: Vec::new(),
            requests: Vec::new(),
            writes: 0,
            object_requests: 0,
            object_requests_with_auth: 0,
            app: None,
            installation_tokens: Vec::new(),
            installation_token_ttl: 3600,
        }));
        let api = serve(
            axum::Router::new()
                .fallback(api_handler)
                .with_state(state.clone()),
        )
        .await
        .expect("bind the fake GitHub API on 127.0.0.1");
        let objects = serve(
            axum::Router::new()
                .fallback(objects_handler)
                .with_state(state.clone()),
        )
        .await
        .expect("bind the fake object store on 127.0.0.1");
        {
            let mut s = lock(&state);
            s.origin = api.origin();
            s.objects_origin = objects.origin();
        }
        FakeGitHub {
            base_url: format!("{}{API_PREFIX}", api.origin()),
            upload_url: format!("{}{UPLOAD_PREFIX}", api.origin()),
            owner: cfg.owner,
            repo: cfg.repo,
            token: cfg.token,
            state,
            _api: api,
            _objects: objects,
        }
    }

    /// Merge open pull request `number` with `merge_commit_sha` (what a reviewer does).
    ///
    /// # Panics
    /// When there is no such pull request or it is not open.
    pub fn merge_pull(&self, number: u64, merge_commit_sha: &str) {
        let mut s = lock(&self.state);
        let now = unix_now();
        let pr = s
            .pulls
            .get_mut(&number)
            .unwrap_or_else(|| panic!("fake GitHub: no pull request #{number}"));
        assert!(pr.open, "fake GitHub: pull request #{number} is not open");
        pr.open = false;
        pr.merged = true;
        pr.merged_at = Some(now);
        pr.closed_at = Some(now);
        pr.updated_at = now;
        pr.merge_commit_sha = Some(merge_commit_sha.to_string());
    }

    /// Close pull request `number` without merging.
    ///
    /// # Panics
    /// When there is no such pull request.
    pub fn close_pull(&self, number: u64) {
        let mut s = lock(&self.state);
        let now = unix_now();
        let pr = s
            .pulls
            .get_mut(&number)
            .unwrap_or_else(|| panic!("fake GitHub: no pull request #{number}"));
        pr.open = false;
        pr.closed_at = Some(now);
        pr.updated_at = now;
    }

    /// Create or update milestone `title` with these issue counts.
    pub fn set_milestone(&self, title: &str, open_issues: u64, closed_issues: u64, closed: bool) {
        let mut s = lock(&self.state);
        if let Some(m) = s.milestones.values_mut().find(|m| m.title == title) {
            m.open_issues = open_issues;
            m.closed_issues = closed_issues;
            m.open = !closed;
            return;
        }
        let id = s.id();
        s.next_number += 1;
        let number = s.next_number;
        s.milestones.insert(
            number,
            MilestoneRec {
                number,
                id,
                title: title.to_string(),
                open: !closed,
                open_issues,
                closed_issues,
                created_at: unix_now(),
            },
        );
    }

    /// Report commit status `state` (`success`, `pending`, `failure`, `error`) for
    /// `sha` under `context`; a later status of the same context replaces it in the
    /// combined state, as on GitHub.
    pub fn set_status(&self, sha: &str, context: &str, state: &str) {
        let mut s = lock(&self.state);
        let id = s.id();
        s.statuses
            .entry(sha.to_string())
            .or_default()
            .push(StatusRec {
                id,
                context: context.to_string(),
                state: state.to_string(),
                at: unix_now(),
            });
    }

    /// Forget every commit status of `sha`.
    pub fn clear_statuses(&self, sha: &str) {
        lock(&self.state).statuses.remove(sha);
    }

    /// Report a check run `name` on `sha` with `status` (`queued`, `in_progress`,
    /// `completed`, …) and, once completed, `conclusion` (`success`, `failure`,
    /// `neutral`, `skipped`, `cancelled`, `timed_out`, `action_required`, …). A later
    /// run of the same name replaces it in listings (`filter=latest`).
    pub fn set_check_run(&self, sha: &str, name: &str, status: &str, conclusion: Option<&str>) {
        let mut s = lock(&self.state);
        let id = s.id();
        s.check_runs
            .entry(sha.to_string())
            .or_default()
            .push(CheckRunRec {
                id,
                name: name.to_string(),
                status: status.to_string(),
                conclusion: conclusion.map(str::to_string),
                at: unix_now(),
            });
    }

    /// Make `login` a collaborator with repository role `role` (`admin`, `maintain`,
    /// `write`, `triage` or `read`), as GitHub reports it: `role_name` is the role,
    /// `permission` its legacy base (`maintain` → `write`, `triage` → `read`). `none`
    /// removes the collaborator (the permission endpoint then answers 404).
    ///
    /// # Panics
    /// On another role name (use [`FakeGitHub::set_custom_role`]).
    pub fn set_permission(&self, login: &str, role: &str) {
        let base = match role {
            "admin" => "admin",
            "maintain" | "write" => "write",
            "triage" | "read" => "read",
            "none" => return self.remove_collaborator(login),
            other => panic!("fake GitHub: {other:?} is not a base repository role"),
        };
        self.put_collaborator(login, role, base);
    }

    /// Make `login` a collaborator with the custom repository role `role_name`
    /// inheriting `base` (`read`, `triage`, `write` or `maintain`): `role_name` is the
    /// custom name, `permission` the legacy base of `base`.
    pub fn set_custom_role(&self, login: &str, role_name: &str, base: &str) {
        let legacy = match base {
            "admin" => "admin",
            "maintain" | "write" => "write",
            _ => "read",
        };
        self.put_collaborator(login, role_name, legacy);
    }

    fn put_collaborator(&self, login: &str, role_name: &str, permission: &str) {
        let mut s = lock(&self.state);
        let key = login.to_lowercase();
        let id = match s.collaborators.get(&key) {
            Some(c) => c.id,
            None => s.id(),
        };
        s.collaborators.insert(
            key,
            Collaborator {
                login: login.to_string(),
                id,
                role_name: role_name.to_string(),
                permission: permission.to_string(),
            },
        );
    }

    /// Remove `login` from the collaborators.
    pub fn remove_collaborator(&self, login: &str) {
        lock(&self.state)
            .collaborators
            .remove(&login.to_lowercase());
    }

    /// The bodies of the comments on issue or pull request `number`, oldest first.
    pub fn comments(&self, number: u64) -> Vec<String> {
        lock(&self.state)
            .comments
            .get(&number)
            .map(|c| c.iter().map(|c| c.body.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether assets report `digest` from now on (older GitHub assets have `null`).
    pub fn set_report_digests(&self, on: bool) {
        lock(&self.state).cfg.report_digests = on;
    }

    /// Create a release directly (not counted as a request); returns its id.
    pub fn seed_release(&self, tag: &str, draft: bool) -> u64 {
        let mut s = lock(&self.state);
        let id = s.id();
        let now = unix_now();
        let untagged = format!("untagged-{}", &sha256_hex(id.to_string().as_bytes())[..20]);
        s.releases.insert(
            id,
            Release {
                id,
                tag_name: tag.to_string(),
                target_commitish: "main".into(),
                name: Some(tag.to_string()),
                body: None,
                draft,
                prerelease: false,
                created_at: now,
                published_at: (!draft).then_some(now),
                untagged,
            },
        );
        id
    }

    /// Attach an asset directly (not counted as a request); returns its id.
    pub fn seed_asset(&self, release_id: u64, name: &str, bytes: &[u8]) -> u64 {
        let mut s = lock(&self.state);
        let id = s.id();
        s.assets.insert(
            id,
            Asset {
                id,
                release_id,
                name: name.to_string(),
                label: None,
                content_type: "application/octet-stream".into(),
                state: "uploaded",
                bytes: bytes.to_vec(),
                created_at: unix_now(),
            },
        );
        id
    }

    /// Leave an incomplete upload named `name` on the release (state `starter`, no
    /// content), as an interrupted upload does on GitHub; returns its id.
    pub fn seed_starter_asset(&self, release_id: u64, name: &str) -> u64 {
        let id = self.seed_asset(release_id, name, b"");
        lock(&self.state)
            .assets
            .get_mut(&id)
            .expect("just inserted")
            .state = "starter";
        id
    }

    /// The content of the uploaded asset `name` of release `release_id`.
    pub fn asset_bytes(&self, release_id: u64, name: &str) -> Option<Vec<u8>> {
        lock(&self.state)
            .assets
            .values()
            .find(|a| a.release_id == release_id && a.name == name && a.state == "uploaded")
            .map(|a| a.bytes.clone())
    }

    /// How many release entries exist with `tag` (drafts may repeat a tag on GitHub).
    pub fn releases_with_tag(&self, tag: &str) -> usize {
        lock(&self.state)
            .releases
            .values()
            .filter(|r| r.tag_name == tag)
            .count()
    }

    /// Answer the next `times` API requests whose path contains `path_contains` with
    /// `status` (e.g. 500, 502) and a GitHub-style JSON error body.
    pub fn fail_next(&self, path_contains: &str, times: u32, status: u16) {
        lock(&self.state).failures.push(Injected {
            path_contains: path_contains.to_string(),
            remaining: times,
            status,
        });
    }

    /// Rate-limit the next `times` authenticated API requests.
    pub fn rate_limit_next(&self, times: u32, limit: RateLimit) {
        lock(&self.state).rate_limits.push((times, limit));
    }

    /// Authenticated write requests (POST, PATCH, PUT, DELETE) received so far,
    /// including those answered with an injected failure: lets tests assert that a
    /// re-run made no write.
    pub fn write_count(&self) -> u64 {
        lock(&self.state).writes
    }

    /// Every request the API origin received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state).requests.clone()
    }

    /// How many requests the API origin received.
    pub fn request_count(&self) -> usize {
        lock(&self.state).requests.len()
    }

    /// Install the GitHub App `app_id` on the repository's account as installation
    /// `installation_id`: JWTs signed with the private key of `public_key_pem` (PEM,
    /// `openssl rsa -pubout`) can then exchange installation tokens.
    ///
    /// # Panics
    /// When `public_key_pem` is not an RSA public key in PEM form.
    pub fn enable_app(&self, app_id: u64, installation_id: u64, public_key_pem: &str) {
        jsonwebtoken::DecodingKey::from_rsa_pem(public_key_pem.as_bytes())
            .expect("fake GitHub: the App's public key is not an RSA public key (PEM)");
        lock(&self.state).app = Some(AppRec {
            app_id,
            installation_id,
            public_key_pem: public_key_pem.to_string(),
        });
    }

    /// How long installation tokens issued from now on live (GitHub: one hour).
    pub fn set_installation_token_ttl(&self, secs: u64) {
        lock(&self.state).installation_token_ttl = secs;
    }

    /// Installation tokens issued so far (successful exchanges).
    pub fn installation_tokens_issued(&self) -> usize {
        lock(&self.state).installation_tokens.len()
    }

    /// Expire every installation token issued so far (they are then answered 401).
    pub fn expire_installation_tokens(&self) {
        let now = unix_now();
        for (_, expires_at) in &mut lock(&self.state).installation_tokens {
            *expires_at = (*expires_at).min(now);
        }
    }

    /// Requests the object store (where asset downloads are redirected) received.
    pub fn object_requests(&self) -> u64 {
        lock(&self.state).object_requests
    }

    /// Requests to the object store that carried an `Authorization` header (the real
    /// storage rejects them; a client must not forward its token there).
    pub fn object_requests_with_authorization(&self) -> u64 {
        lock(&self.state).object_requests_with_auth
    }
}

// ---------------------------------------------------------------------------------
// HTTP plumbing

struct Req {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl Req {
    fn q(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Result<Value, Box<Reply>> {
        if self.body.is_empty() {
            return Ok(json!({}));
        }
        serde_json::from_slice(&self.body).map_err(|_| {
            Box::new(Reply::error(
                StatusCode::BAD_REQUEST,
                "Problems parsing JSON",
                DOCS,
            ))
        })
    }
}

struct Reply {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn json(status: StatusCode, value: Value) -> Self {
        Reply {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: serde_json::to_vec(&value).expect("JSON"),
        }
    }

    fn ok(value: Value) -> Self {
        Self::json(StatusCode::OK, value)
    }

    fn error(status: StatusCode, message: &str, doc: &str) -> Self {
        Self::json(
            status,
            json!({
                "message": message,
                "documentation_url": doc,
                "status": status.as_u16().to_string(),
            }),
        )
    }

    fn not_found() -> Self {
        Self::error(StatusCode::NOT_FOUND, "Not Found", DOCS)
    }

    fn validation(errors: Value, doc: &str) -> Self {
        Self::json(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({
                "message": "Validation Failed",
                "errors": errors,
                "documentation_url": doc,
                "status": "422",
            }),
        )
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    /// Set `name` unless the reply already has it.
    fn default_header(self, name: &str, value: impl Into<String>) -> Self {
        if self
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            self
        } else {
            self.header(name, value)
        }
    }

    fn into_response(self) -> Response {
        let mut resp = Response::new(Body::from(self.body));
        *resp.status_mut() = self.status;
        for (k, v) in self.headers {
            if let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                resp.headers_mut().append(name, value);
            }
        }
        resp
    }
}

fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            )
        })
        .collect()
}

async fn api_handler(
    AxState(state): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let req = Req {
        method,
        path: uri.path().to_string(),
        query: parse_query(uri.query()),
        headers,
        body,
    };
    let mut s = lock(&state);
    s.requests.push(RecordedRequest {
        method: req.method.to_string(),
        path_and_query: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_default(),
        authorization: req.headers.contains_key(header::AUTHORIZATION),
    });
    let reply = s.handle(&req);
    let used = s.requests.len();
    reply
        .default_header("x-github-api-version-selected", "2022-11-28")
        .default_header("x-github-media-type", "github.v3; format=json")
        .default_header("x-ratelimit-limit", "5000")
        .default_header(
            "x-ratelimit-remaining",
            5000usize.saturating_sub(used).to_string(),
        )
        .default_header("x-ratelimit-used", used.to_string())
        .default_header("x-ratelimit-reset", (unix_now() + 3600).to_string())
        .default_header("x-ratelimit-resource", "core")
        .into_response()
}

/// What the fake App may do (what ferry needs).
fn installation_permissions() -> Value {
    json!({
        "contents": "write",
        "pull_requests": "write",
        "issues": "write",
        "metadata": "read",
        "statuses": "read",
        "checks": "read",
    })
}

async fn objects_handler(
    AxState(state): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    s.object_requests += 1;
    if headers.contains_key(header::AUTHORIZATION) {
        s.object_requests_with_auth += 1;
        return Reply {
            status: StatusCode::BAD_REQUEST,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InvalidArgument</Code><Message>Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified</Message></Error>".to_vec(),
        }
        .into_response();
    }
    let signed = parse_query(uri.query())
        .iter()
        .any(|(k, _)| k == "X-Amz-Signature");
    let id = uri
        .path()
        .trim_start_matches('/')
        .split('/')
        .next()
        .and_then(|x| x.parse::<u64>().ok());
    match (method, signed, id.and_then(|id| s.assets.get(&id))) {
        (Method::GET, true, Some(asset)) if asset.state == "uploaded" => Reply {
            status: StatusCode::OK,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: asset.bytes.clone(),
        }
        .into_response(),
        _ => Reply {
            status: StatusCode::FORBIDDEN,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: b"<Error><Code>AccessDenied</Code></Error>".to_vec(),
        }
        .into_response(),
    }
}

// ---------------------------------------------------------------------------------
// Routing and handlers

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn api(&self) -> String {
        format!("{}{API_PREFIX}", self.origin)
    }

    fn repo_api(&self) -> String {
        format!("{}/repos/{}/{}", self.api(), self.cfg.owner, self.cfg.repo)
    }

    fn web(&self) -> String {
        format!("{}/{}/{}", self.origin, self.cfg.owner, self.cfg.repo)
    }

    fn handle(&mut self, req: &Req) -> Reply {
        let (upload, rest) = if let Some(rest) = req.path.strip_prefix(UPLOAD_PREFIX) {
            (true, rest)
        } else if let Some(rest) = req.path.strip_prefix(API_PREFIX) {
            (false, rest)
        } else {
            return Reply::not_found();
        };

        // Authentication.
        let auth = req
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // The App's endpoints authenticate with its JWT, not with a token.
        if !upload && (rest == "/app" || rest.starts_with("/app/")) {
            let Some(value) = auth else {
                return Reply::error(StatusCode::UNAUTHORIZED, "Requires authentication", DOCS);
            };
            let jwt = value.strip_prefix("Bearer ").unwrap_or(value).trim();
            if let Err(message) = self.verify_app_jwt(jwt) {
                return Reply::error(StatusCode::UNAUTHORIZED, message, DOCS);
            }
            if let Some(reply) = self.injected(req) {
                return reply;
            }
            return self.handle_app(req, rest);
        }
        match auth {
            None => return Reply::error(StatusCode::UNAUTHORIZED, "Requires authentication", DOCS),
            Some(value) => {
                let presented = value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("token "));
                let now = unix_now();
                let installation = self
                    .installation_tokens
                    .iter()
                    .any(|(t, expires_at)| Some(t.as_str()) == presented && *expires_at > now);
                if presented != Some(self.cfg.token.as_str()) && !installation {
                    return Reply::error(StatusCode::UNAUTHORIZED, "Bad credentials", DOCS);
                }
            }
        }

        if !matches!(req.method, Method::GET | Method::HEAD) {
            self.writes += 1;
        }

        if let Some(reply) = self.injected(req) {
            return reply;
        }

        let segs: Vec<String> = rest
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let [first, owner, repo, tail @ ..] = segs.as_slice() else {
            return Reply::not_found();
        };
        if *first != "repos"
            || !owner.eq_ignore_ascii_case(&self.cfg.owner)
            || !repo.eq_ignore_ascii_case(&self.cfg.repo)
        {
            return Reply::not_found();
        }
        let m = &req.method;
        if upload {
            return match tail {
                ["releases", id, "assets"] if *m == Method::POST => self.upload_asset(req, id),
                _ => Reply::not_found(),
            };
        }
        match tail {
            ["pulls"] if *m == Method::GET => self.list_pulls(req),
            ["pulls"] if *m == Method::POST => self.create_pull(req),
            ["pulls", n] if *m == Method::GET => {
                self.with_pull(n, |s, pr| Reply::ok(s.pull_json(pr, true)))
            }
            ["pulls", n] if *m == Method::PATCH => self.update_pull(req, n),
            ["issues", n, "labels"] if *m == Method::POST => self.add_labels(req, n),
            ["issues", n, "labels"] if *m == Method::GET => self.with_pull(n, |s, pr| {
                Reply::ok(Value::Array(s.labels_json(&pr.labels)))
            }),
            ["issues", n, "comments"] if *m == Method::POST => self.create_comment(req, n),
            ["issues", n, "comments"] if *m == Method::GET => self.list_comments(req, n),
            ["collaborators", user, "permission"] if *m == Method::GET => {
                self.collaborator_permission(user)
            }
            ["releases"] if *m == Method::GET => self.list_releases(req),
            ["releases"] if *m == Method::POST => self.create_release(req),
            ["releases", "tags", tag @ ..] if *m == Method::GET && !tag.is_empty() => {
                self.release_by_tag(&tag.join("/"))
            }
            ["releases", "assets", id] if *m == Method::GET => self.get_asset(req, id),
            ["releases", "assets", id] if *m == Method::DELETE => self.delete_asset(id),
            ["releases", id] if *m == Method::GET => match self.release(id) {
                Some(r) => Reply::ok(self.release_json(&r)),
                None => Reply::not_found(),
            },
            ["releases", id] if *m == Method::PATCH => self.update_release(req, id),
            ["releases", id, "assets"] if *m == Method::GET => self.list_assets(req, id),
            ["milestones"] if *m == Method::GET => self.list_milestones(req),
            ["commits", sha, "status"] if *m == Method::GET => self.combined_status(req, sha),
            ["commits", sha, "check-runs"] if *m == Method::GET => self.check_runs(req, sha),
            _ => Reply::not_found(),
        }
    }

    /// Injected rate limits, then injected failures.
    fn injected(&mut self, req: &Req) -> Option<Reply> {
        if let Some(entry) = self.rate_limits.iter_mut().find(|(n, _)| *n > 0) {
            entry.0 -= 1;
            let limit = entry.1;
            self.rate_limits.retain(|(n, _)| *n > 0);
            return Some(rate_limited(limit));
        }
        if let Some(f) = self
            .failures
            .iter_mut()
            .find(|f| f.remaining > 0 && req.path.contains(&f.path_contains))
        {
            f.remaining -= 1;
            let status =
                StatusCode::from_u16(f.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            self.failures.retain(|f| f.remaining > 0);
            let message = status.canonical_reason().unwrap_or("Server Error");
            return Some(Reply::json(status, json!({ "message": message })));
        }
        None
    }

    // ----- GitHub App ------------------------------------------------------------

    /// Check an App's JWT as GitHub does; the error is GitHub's message.
    fn verify_app_jwt(&self, jwt: &str) -> Result<(), &'static str> {
        const UNDECODABLE: &str = "A JSON web token could not be decoded";
        let app = self.app.as_ref().ok_or(UNDECODABLE)?;
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .map_err(|_| UNDECODABLE)?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .map_err(|_| UNDECODABLE)?
            .claims;
        let now = unix_now() as i64;
        let iss = match &claims["iss"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => return Err("'Issuer' claim ('iss') must be an Integer"),
        };
        if iss != app.app_id.to_string() {
            return Err(UNDECODABLE);
        }
        let iat = claims["iat"].as_i64().filter(|iat| *iat <= now).ok_or(
            "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
        )?;
        let exp = claims["exp"].as_i64().filter(|exp| *exp > now).ok_or(
            "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
        )?;
        if exp - iat > 600 || exp - now > 600 {
            return Err("'Expiration time' claim ('exp') is too far in the future");
        }
        Ok(())
    }

    fn handle_app(&mut self, req: &Req, rest: &str) -> Reply {
        let segs: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
        let Some(app) = self.app.clone() else {
            return Reply::not_found();
        };
        match (&req.method, segs.as_slice()) {
            (&Method::GET, ["app"]) => Reply::ok(json!({
                "id": app.app_id,
                "slug": "ferry-fake",
                "name": "ferry (fake)",
                "owner": self.account_json(&self.cfg.owner, 1),
                "permissions": installation_permissions(),
                "events": ["push", "pull_request", "issue_comment"],
                "created_at": iso8601(0),
                "updated_at": iso8601(0),
            })),
            (&Method::POST, ["app", "installations", id, "access_tokens"]) => {
                if id.parse::<u64>().ok() != Some(app.installation_id) {
                    return Reply::not_found();
                }
                if let Err(reply) = req.json() {
                    return *reply;
                }
                let now = unix_now();
                let n = self.id();
                let token = format!(
                    "ghs_{}",
                    &sha256_hex(format!("installation {n} at {now}").as_bytes())[..36]
                );
                let expires_at = now + self.installation_token_ttl;
                self.installation_tokens.push((token.clone(), expires_at));
                Reply::json(
                    StatusCode::CREATED,
                    json!({
                        "token": token,
                        "expires_at": iso8601(expires_at),
                        "permissions": installation_permissions(),
                        "repository_selection": "selected",
                    }),
                )
            }
            _ => Reply::not_found(),
        }
    }

    /// Serve one page of `items` with GitHub's `Link` header.
    fn page(&self, req: &Req, items: Vec<Value>) -> (Vec<Value>, Option<String>) {
        let max = self.cfg.max_per_page.clamp(1, 100);
        let per_page = req
            .q("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(30)
            .clamp(1, max);
        let page = req
            .q("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let last = items.len().div_ceil(per_page).max(1);
        let out: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let url = |p: usize| {
            let mut q: Vec<String> = req
                .query
                .iter()
                .filter(|(k, _)| k != "page")
                .map(|(k, v)| format!("{}={}", query_encode(k), query_encode(v)))
                .collect();
            q.push(format!("page={p}"));
            format!("<{}{}?{}>", self.origin, req.path, q.join("&"))
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", url(page - 1)));
        }
        if page < last {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
            links.push(format!("{}; rel=\"last\"", url(last)));
        }
        if page > 1 {
            links.push(format!("{}; rel=\"first\"", url(1)));
        }
        (out, (!links.is_empty()).then(|| links.join(", ")))
    }

    fn paged(&self, req: &Req, items: Vec<Value>) -> Reply {
        let (page, link) = self.page(req, items);
        let reply = Reply::ok(Value::Array(page));
        match link {
            Some(link) => reply.header("link", link),
            None => reply,
        }
    }

    // ----- users, repository --------------------------------------------------

    fn user_json(&self) -> Value {
        self.account_json("ferry-bot", 1)
    }

    fn account_json(&self, login: &str, id: u64) -> Value {
        let api = self.api();
        json!({
            "login": login,
            "id": id,
            "node_id": if id == 1 { "MDQ6VXNlcjE=".to_string() } else { format!("U_kgDO{id}") },
            "avatar_url": format!("{}/avatars/u/{id}?v=4", self.origin),
            "gravatar_id": "",
            "url": format!("{api}/users/{login}"),
            "html_url": format!("{}/{login}", self.origin),
            "followers_url": format!("{api}/users/{login}/followers"),
            "following_url": format!("{api}/users/{login}/following{{/other_user}}"),
            "gists_url": format!("{api}/users/{login}/gists{{/gist_id}}"),
            "starred_url": format!("{api}/users/{login}/starred{{/owner}}{{/repo}}"),
            "subscriptions_url": format!("{api}/users/{login}/subscriptions"),
            "organizations_url": format!("{api}/users/{login}/orgs"),
            "repos_url": format!("{api}/users/{login}/repos"),
            "events_url": format!("{api}/users/{login}/events{{/privacy}}"),
            "received_events_url": format!("{api}/users/{login}/received_events"),
            "type": "User",
            "user_view_type": "public",
            "site_admin": false
        })
    }

    fn repo_json(&self) -> Value {
        let (owner, name) = (&self.cfg.owner, &self.cfg.repo);
        let api = self.repo_api();
        json!({
            "id": 1296269,
            "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5",
            "name": name,
            "full_name": format!("{owner}/{name}"),
            "owner": self.user_json(),
            "private": false,
            "html_url": self.web(),
            "description": null,
            "fork": false,
            "url": api,
            "archive_url": format!("{api}/{{archive_format}}{{/ref}}"),
            "assignees_url": format!("{api}/assignees{{/user}}"),
            "blobs_url": format!("{api}/git/blobs{{/sha}}"),
            "branches_url": format!("{api}/branches{{/branch}}"),
            "collaborators_url": format!("{api}/collaborators{{/collaborator}}"),
            "comments_url": format!("{api}/comments{{/number}}"),
            "commits_url": format!("{api}/commits{{/sha}}"),
            "compare_url": format!("{api}/compare/{{base}}...{{head}}"),
            "contents_url": format!("{api}/contents/{{+path}}"),
            "contributors_url": format!("{api}/contributors"),
            "deployments_url": format!("{api}/deployments"),
            "downloads_url": format!("{api}/downloads"),
            "events_url": format!("{api}/events"),
            "forks_url": format!("{api}/forks"),
            "git_commits_url": format!("{api}/git/commits{{/sha}}"),
            "git_refs_url": format!("{api}/git/refs{{/sha}}"),
            "git_tags_url": format!("{api}/git/tags{{/sha}}"),
            "hooks_url": format!("{api}/hooks"),
            "issue_comment_url": format!("{api}/issues/comments{{/number}}"),
            "issue_events_url": format!("{api}/issues/events{{/number}}"),
            "issues_url": format!("{api}/issues{{/number}}"),
            "keys_url": format!("{api}/keys{{/key_id}}"),
            "labels_url": format!("{api}/labels{{/name}}"),
            "languages_url": format!("{api}/languages"),
            "merges_url": format!("{api}/merges"),
            "milestones_url": format!("{api}/milestones{{/number}}"),
            "notifications_url": format!("{api}/notifications{{?since,all,participating}}"),
            "pulls_url": format!("{api}/pulls{{/number}}"),
            "releases_url": format!("{api}/releases{{/id}}"),
            "stargazers_url": format!("{api}/stargazers"),
            "statuses_url": format!("{api}/statuses/{{sha}}"),
            "subscribers_url": format!("{api}/subscribers"),
            "subscription_url": format!("{api}/subscription"),
            "tags_url": format!("{api}/tags"),
            "teams_url": format!("{api}/teams"),
            "trees_url": format!("{api}/git/trees{{/sha}}"),
            "default_branch": "main",
            "visibility": "public"
        })
    }

    // ----- pull requests and labels --------------------------------------------

    fn labels_json(&self, names: &[String]) -> Vec<Value> {
        names
            .iter()
            .map(|name| {
                let id = self.label_ids.get(name).copied().unwrap_or(0);
                json!({
                    "id": id,
                    "node_id": format!("MDU6TGFiZWx7{id}"),
                    "url": format!("{}/labels/{}", self.repo_api(), query_encode(name)),
                    "name": name,
                    "description": null,
                    "color": "ededed",
                    "default": false
                })
            })
            .collect()
    }

    fn branch_sha(name: &str) -> String {
        sha256_hex(name.as_bytes())[..40].to_string()
    }

    fn pull_json(&self, pr: &Pull, full: bool) -> Value {
        let api = self.repo_api();
        let n = pr.number;
        let html = format!("{}/pull/{n}", self.web());
        let issue = format!("{api}/issues/{n}");
        let ts = |t: Option<u64>| t.map(iso8601);
        let branch = |label: &str, r#ref: &str| {
            json!({
                "label": label,
                "ref": r#ref,
                "sha": Self::branch_sha(r#ref),
                "user": self.user_json(),
                "repo": self.repo_json(),
            })
        };
        // While open, GitHub reports the sha of a test merge commit.
        let merge_commit_sha = match &pr.merge_commit_sha {
            Some(sha) => Some(sha.clone()),
            None if pr.open => {
                Some(sha256_hex(format!("test-merge-{n}").as_bytes())[..40].to_string())
            }
            None => None,
        };
        let mut v = json!({
            "url": format!("{api}/pulls/{n}"),
            "id": pr.id,
            "node_id": format!("MDExOlB1bGxSZXF1ZXN0{}", pr.id),
            "html_url": html,
            "diff_url": format!("{html}.diff"),
            "patch_url": format!("{html}.patch"),
            "issue_url": issue,
            "commits_url": format!("{api}/pulls/{n}/commits"),
            "review_comments_url": format!("{api}/pulls/{n}/comments"),
            "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
            "comments_url": format!("{issue}/comments"),
            "statuses_url": format!("{api}/statuses/{}", Self::branch_sha(&pr.head_ref)),
            "number": n,
            "state": if pr.open { "open" } else { "closed" },
            "locked": false,
            "title": pr.title,
            "user": self.user_json(),
            "body": pr.body,
            "labels": self.labels_json(&pr.labels),
            "milestone": null,
            "active_lock_reason": null,
            "created_at": iso8601(pr.created_at),
            "updated_at": iso8601(pr.updated_at),
            "closed_at": ts(pr.closed_at),
            "merged_at": ts(pr.merged_at),
            "merge_commit_sha": merge_commit_sha,
            "assignee": null,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "head": branch(&pr.head_label, &pr.head_ref),
            "base": branch(&format!("{}:{}", self.cfg.owner, pr.base_ref), &pr.base_ref),
            "_links": {
                "self": { "href": format!("{api}/pulls/{n}") },
                "html": { "href": format!("{}/pull/{n}", self.web()) },
                "issue": { "href": format!("{api}/issues/{n}") },
                "comments": { "href": format!("{api}/issues/{n}/comments") },
                "review_comments": { "href": format!("{api}/pulls/{n}/comments") },
                "review_comment": { "href": format!("{api}/pulls/comments{{/number}}") },
                "commits": { "href": format!("{api}/pulls/{n}/commits") },
                "statuses": { "href": format!("{api}/statuses/{}", Self::branch_sha(&pr.head_ref)) }
            },
            "author_association": "OWNER",
            "auto_merge": null,
            "draft": false
        });
        if full {
            let extra = json!({
                "merged": pr.merged,
                "mergeable": if pr.open { Some(true) } else { None },
                "rebaseable": if pr.open { Some(true) } else { None },
                "mergeable_state": if pr.open { "clean" } else { "unknown" },
                "merged_by": if pr.merged { self.user_json() } else { Value::Null },
                "comments": 0,
                "review_comments": 0,
                "maintainer_can_modify": false,
                "commits": 1,
                "additions": 1,
                "deletions": 0,
                "changed_files": 1
            });
            if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), extra) {
                obj.extend(extra);
            }
        }
        v
    }

    fn with_pull(&mut self, n: &str, f: impl FnOnce(&State, &Pull) -> Reply) -> Reply {
        match n
            .parse::<u64>()
            .ok()
            .and_then(|n| self.pulls.get(&n))
            .cloned()
        {
            Some(pr) => f(self, &pr),
            None => Reply::not_found(),
        }
    }

    fn list_pulls(&self, req: &Req) -> Reply {
        let state = req.q("state").unwrap_or("open");
        let head = req.q("head");
        let base = req.q("base");
        let items: Vec<Value> = self
            .pulls
            .values()
            .rev()
            .filter(|pr| match state {
                "open" => pr.open,
                "closed" => !pr.open,
                _ => true,
            })
            .filter(|pr| match head {
                None => true,
                Some(h) if h.contains(':') => pr.head_label == h,
                Some(user) => pr.head_label.split(':').next() == Some(user),
            })
            .filter(|pr| base.is_none_or(|b| pr.base_ref == b))
            .map(|pr| self.pull_json(pr, false))
            .collect();
        self.paged(req, items)
    }

    fn create_pull(&mut self, req: &Req) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/pulls/pulls#create-a-pull-request";
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let field = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
        for required in ["head", "base", "title"] {
            if field(required).is_none_or(|v| v.is_empty()) {
                return Reply::validation(
                    json!([{ "resource": "PullRequest", "field": required, "code": "missing_field" }]),
                    DOC,
                );
            }
        }
        let (head, base, title) = (
            field("head").unwrap_or_default(),
            field("base").unwrap_or_default(),
            field("title").unwrap_or_default(),
        );
        let (head_label, head_ref) = match head.split_once(':') {
            Some((_, r)) => (head.clone(), r.to_string()),
            None => (format!("{}:{head}", self.cfg.owner), head.clone()),
        };
        if head_ref == base && head_label.starts_with(&format!("{}:", self.cfg.owner)) {
            return Reply::validation(
                json!([{ "resource": "PullRequest", "code": "custom",
                         "message": format!("No commits between {base} and {head}") }]),
                DOC,
            );
        }
        if self
            .pulls
            .values()
            .any(|pr| pr.open && pr.head_label == head_label && pr.base_ref == base)
        {
            return Reply::validation(
                json!([{ "resource": "PullRequest", "code": "custom",
                         "message": format!("A pull request already exists for {head_label}.") }]),
                DOC,
            );
        }
        let id = self.id();
        self.next_number += 1;
        let number = self.next_number;
        let now = unix_now();
        let pr = Pull {
            number,
            id,
            title,
            body: field("body"),
            head_label,
            head_ref,
            base_ref: base,
            open: true,
            merged: false,
            merge_commit_sha: None,
            labels: Vec::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            merged_at: None,
        };
        let v = self.pull_json(&pr, true);
        self.pulls.insert(number, pr);
        Reply::json(StatusCode::CREATED, v)
            .header("location", format!("{}/pulls/{number}", self.repo_api()))
    }

    fn update_pull(&mut self, req: &Req, n: &str) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/pulls/pulls#update-a-pull-request";
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let Some(pr) = n.parse::<u64>().ok().and_then(|n| self.pulls.get_mut(&n)) else {
            return Reply::not_found();
        };
        let now = unix_now();
        if let Some(state) = body.get("state").and_then(Value::as_str) {
            match state {
                "open" if pr.merged => {
                    return Reply::validation(
                        json!([{ "resource": "PullRequest", "code": "custom", "field": "state",
                                 "message": "state cannot be changed. The pull request has already been merged." }]),
                        DOC,
                    )
                }
                "open" => {
                    pr.open = true;
                    pr.closed_at = None;
                }
                "closed" if pr.open => {
                    pr.open = false;
                    pr.closed_at = Some(now);
                }
                "closed" => {}
                _ => {
                    return Reply::validation(
                        json!([{ "resource": "PullRequest", "code": "invalid", "field": "state" }]),
                        DOC,
                    )
                }
            }
        }
        if let Some(title) = body.get("title").and_then(Value::as_str) {
            pr.title = title.to_string();
        }
        if let Some(b) = body.get("body") {
            pr.body = b.as_str().map(str::to_string);
        }
        if let Some(base) = body.get("base").and_then(Value::as_str) {
            pr.base_ref = base.to_string();
        }
        pr.updated_at = now;
        let pr = pr.clone();
        Reply::ok(self.pull_json(&pr, true))
    }

    fn add_labels(&mut self, req: &Req, n: &str) -> Reply {
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let list = match &body {
            Value::Array(a) => a.clone(),
            Value::Object(o) => o
                .get("labels")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            _ => Vec::new(),
        };
        let names: Vec<String> = list
            .iter()
            .filter_map(|l| {
                l.as_str()
                    .or_else(|| l.get("name").and_then(Value::as_str))
                    .map(str::to_string)
            })
            .collect();
        let Some(number) = n.parse::<u64>().ok().filter(|n| self.pulls.contains_key(n)) else {
            return Reply::not_found();
        };
        for name in &names {
            if !self.label_ids.contains_key(name) {
                let id = self.id();
                self.label_ids.insert(name.clone(), id);
            }
        }
        let pr = self.pulls.get_mut(&number).expect("checked");
        for name in names {
            if !pr.labels.contains(&name) {
                pr.labels.push(name);
            }
        }
        pr.labels.sort_by_key(|l| l.to_lowercase());
        pr.updated_at = unix_now();
        let labels = pr.labels.clone();
        Reply::ok(Value::Array(self.labels_json(&labels)))
    }

    // ----- comments and collaborators ----------------------------------------------

    fn comment_json(&self, number: u64, c: &CommentRec) -> Value {
        let api = self.repo_api();
        json!({
            "id": c.id,
            "node_id": format!("IC_kwDO{}", c.id),
            "url": format!("{api}/issues/comments/{}", c.id),
            "html_url": format!("{}/pull/{number}#issuecomment-{}", self.web(), c.id),
            "issue_url": format!("{api}/issues/{number}"),
            "body": c.body,
            "user": self.user_json(),
            "created_at": iso8601(c.at),
            "updated_at": iso8601(c.at),
            "author_association": "OWNER",
            "reactions": {
                "url": format!("{api}/issues/comments/{}/reactions", c.id),
                "total_count": 0, "+1": 0, "-1": 0, "laugh": 0, "hooray": 0,
                "confused": 0, "heart": 0, "rocket": 0, "eyes": 0
            }
        })
    }

    fn create_comment(&mut self, req: &Req, n: &str) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/issues/comments#create-an-issue-comment";
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let Some(number) = n.parse::<u64>().ok().filter(|n| self.pulls.contains_key(n)) else {
            return Reply::not_found();
        };
        let Some(text) = body.get("body").and_then(Value::as_str).map(str::to_string) else {
            return Reply::validation(
                json!([{ "resource": "IssueComment", "code": "missing_field", "field": "body" }]),
                DOC,
            );
        };
        let id = self.id();
        let c = CommentRec {
            id,
            body: text,
            at: unix_now(),
        };
        let v = self.comment_json(number, &c);
        self.comments.entry(number).or_default().push(c);
        if let Some(pr) = self.pulls.get_mut(&number) {
            pr.updated_at = unix_now();
        }
        Reply::json(StatusCode::CREATED, v).header(
            "location",
            format!("{}/issues/comments/{id}", self.repo_api()),
        )
    }

    fn list_comments(&self, req: &Req, n: &str) -> Reply {
        let Some(number) = n.parse::<u64>().ok().filter(|n| self.pulls.contains_key(n)) else {
            return Reply::not_found();
        };
        let items = self
            .comments
            .get(&number)
            .into_iter()
            .flatten()
            .map(|c| self.comment_json(number, c))
            .collect();
        self.paged(req, items)
    }

    fn collaborator_permission(&self, user: &str) -> Reply {
        let Some(c) = self.collaborators.get(&user.to_lowercase()) else {
            return Reply::not_found();
        };
        let mut account = self.account_json(&c.login, c.id);
        let (pull, triage, push, maintain, admin) = match c.role_name.as_str() {
            "admin" => (true, true, true, true, true),
            "maintain" => (true, true, true, true, false),
            "write" => (true, true, true, false, false),
            "triage" => (true, true, false, false, false),
            _ => (
                true,
                false,
                c.permission != "read",
                false,
                c.permission == "admin",
            ),
        };
        if let Some(obj) = account.as_object_mut() {
            obj.insert(
                "permissions".into(),
                json!({ "admin": admin, "maintain": maintain, "push": push,
                        "triage": triage, "pull": pull }),
            );
            obj.insert("role_name".into(), json!(c.role_name));
        }
        Reply::ok(json!({
            "permission": c.permission,
            "role_name": c.role_name,
            "user": account
        }))
    }

    // ----- releases and assets ----------------------------------------------------

    fn release(&self, id: &str) -> Option<Release> {
        id.parse::<u64>()
            .ok()
            .and_then(|id| self.releases.get(&id))
            .cloned()
    }

    fn asset_json(&self, a: &Asset) -> Value {
        let tag = self
            .releases
            .get(&a.release_id)
            .map(|r| {
                if r.draft {
                    r.untagged.clone()
                } else {
                    r.tag_name.clone()
                }
            })
            .unwrap_or_default();
        let digest = (self.cfg.report_digests && a.state == "uploaded")
            .then(|| format!("sha256:{}", sha256_hex(&a.bytes)));
        json!({
            "url": format!("{}/releases/assets/{}", self.repo_api(), a.id),
            "browser_download_url": format!("{}/releases/download/{}/{}", self.web(), tag, query_encode(&a.name)),
            "id": a.id,
            "node_id": format!("RA_kwDO{}", a.id),
            "name": a.name,
            "label": a.label,
            "state": a.state,
            "content_type": a.content_type,
            "size": a.bytes.len(),
            "digest": digest,
            "download_count": 0,
            "created_at": iso8601(a.created_at),
            "updated_at": iso8601(a.created_at),
            "uploader": self.user_json()
        })
    }

    fn release_json(&self, r: &Release) -> Value {
        let api = self.repo_api();
        let assets: Vec<Value> = self
            .assets
            .values()
            .filter(|a| a.release_id == r.id)
            .map(|a| self.asset_json(a))
            .collect();
        let shown_tag = if r.draft { &r.untagged } else { &r.tag_name };
        json!({
            "url": format!("{api}/releases/{}", r.id),
            "html_url": format!("{}/releases/tag/{}", self.web(), shown_tag),
            "assets_url": format!("{api}/releases/{}/assets", r.id),
            "upload_url": format!("{}{UPLOAD_PREFIX}/repos/{}/{}/releases/{}/assets{{?name,label}}",
                                  self.origin, self.cfg.owner, self.cfg.repo, r.id),
            "tarball_url": format!("{api}/tarball/{}", r.tag_name),
            "zipball_url": format!("{api}/zipball/{}", r.tag_name),
            "id": r.id,
            "node_id": format!("RE_kwDO{}", r.id),
            "tag_name": r.tag_name,
            "target_commitish": r.target_commitish,
            "name": r.name,
            "body": r.body,
            "draft": r.draft,
            "prerelease": r.prerelease,
            "immutable": false,
            "created_at": iso8601(r.created_at),
            "updated_at": iso8601(r.created_at),
            "published_at": r.published_at.map(iso8601),
            "author": self.user_json(),
            "assets": assets
        })
    }

    fn list_releases(&self, req: &Req) -> Reply {
        let mut all: Vec<&Release> = self.releases.values().collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        let items = all.into_iter().map(|r| self.release_json(r)).collect();
        self.paged(req, items)
    }

    fn release_by_tag(&self, tag: &str) -> Reply {
        match self
            .releases
            .values()
            .find(|r| !r.draft && r.tag_name == tag)
        {
            Some(r) => Reply::ok(self.release_json(r)),
            None => Reply::not_found(),
        }
    }

    fn published_tag_taken(&self, tag: &str, except: u64) -> bool {
        self.releases
            .values()
            .any(|r| !r.draft && r.tag_name == tag && r.id != except)
    }

    fn create_release(&mut self, req: &Req) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/releases/releases#create-a-release";
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let Some(tag) = body
            .get("tag_name")
            .and_then(Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
        else {
            return Reply::validation(
                json!([{ "resource": "Release", "code": "missing_field", "field": "tag_name" }]),
                DOC,
            );
        };
        let draft = body.get("draft").and_then(Value::as_bool).unwrap_or(false);
        if !draft && self.published_tag_taken(&tag, 0) {
            return Reply::validation(
                json!([{ "resource": "Release", "code": "already_exists", "field": "tag_name" }]),
                DOC,
            );
        }
        let id = self.id();
        let now = unix_now();
        let untagged = format!("untagged-{}", &sha256_hex(id.to_string().as_bytes())[..20]);
        let r = Release {
            id,
            tag_name: tag,
            target_commitish: body
                .get("target_commitish")
                .and_then(Value::as_str)
                .unwrap_or("main")
                .to_string(),
            name: body.get("name").and_then(Value::as_str).map(str::to_string),
            body: body.get("body").and_then(Value::as_str).map(str::to_string),
            draft,
            prerelease: body
                .get("prerelease")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            created_at: now,
            published_at: (!draft).then_some(now),
            untagged,
        };
        let v = self.release_json(&r);
        self.releases.insert(id, r);
        Reply::json(StatusCode::CREATED, v)
            .header("location", format!("{}/releases/{id}", self.repo_api()))
    }

    fn update_release(&mut self, req: &Req, id: &str) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/releases/releases#update-a-release";
        let body = match req.json() {
            Ok(b) => b,
            Err(e) => return *e,
        };
        let Some(mut r) = self.release(id) else {
            return Reply::not_found();
        };
        if let Some(tag) = body.get("tag_name").and_then(Value::as_str) {
            r.tag_name = tag.to_string();
        }
        if let Some(name) = body.get("name") {
            r.name = name.as_str().map(str::to_string);
        }
        if let Some(b) = body.get("body") {
            r.body = b.as_str().map(str::to_string);
        }
        if let Some(p) = body.get("prerelease").and_then(Value::as_bool) {
            r.prerelease = p;
        }
        if let Some(draft) = body.get("draft").and_then(Value::as_bool) {
            if !draft && r.draft {
                r.published_at = Some(unix_now());
            }
            if draft {
                r.published_at = None;
            }
            r.draft = draft;
        }
        if !r.draft && self.published_tag_taken(&r.tag_name, r.id) {
            return Reply::validation(
                json!([{ "resource": "Release", "code": "already_exists", "field": "tag_name" }]),
                DOC,
            );
        }
        let v = self.release_json(&r);
        self.releases.insert(r.id, r);
        Reply::ok(v)
    }

    fn list_assets(&self, req: &Req, id: &str) -> Reply {
        let Some(r) = self.release(id) else {
            return Reply::not_found();
        };
        let items = self
            .assets
            .values()
            .filter(|a| a.release_id == r.id)
            .map(|a| self.asset_json(a))
            .collect();
        self.paged(req, items)
    }

    fn get_asset(&self, req: &Req, id: &str) -> Reply {
        let Some(a) = id.parse::<u64>().ok().and_then(|id| self.assets.get(&id)) else {
            return Reply::not_found();
        };
        let wants_bytes = req
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/octet-stream"));
        if !wants_bytes {
            return Reply::ok(self.asset_json(a));
        }
        let location = format!(
            "{}/{}/{}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={}",
            self.objects_origin,
            a.id,
            query_encode(&a.name),
            &sha256_hex(format!("signed-{}", a.id).as_bytes())[..32]
        );
        Reply {
            status: StatusCode::FOUND,
            headers: vec![("location".into(), location)],
            body: Vec::new(),
        }
    }

    fn delete_asset(&mut self, id: &str) -> Reply {
        match id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.assets.remove(&id))
        {
            Some(_) => Reply {
                status: StatusCode::NO_CONTENT,
                headers: Vec::new(),
                body: Vec::new(),
            },
            None => Reply::not_found(),
        }
    }

    fn upload_asset(&mut self, req: &Req, id: &str) -> Reply {
        const DOC: &str = "https://docs.github.com/rest/releases/assets#upload-a-release-asset";
        let Some(r) = self.release(id) else {
            return Reply::not_found();
        };
        let Some(content_type) = req
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
        else {
            return Reply::error(
                StatusCode::BAD_REQUEST,
                "Bad Content-Type header value",
                DOC,
            );
        };
        let Some(name) = req.q("name").filter(|n| !n.is_empty()).map(str::to_string) else {
            return Reply::validation(
                json!([{ "resource": "ReleaseAsset", "code": "missing_field", "field": "name" }]),
                DOC,
            );
        };
        if self
            .assets
            .values()
            .any(|a| a.release_id == r.id && a.name == name)
        {
            return Reply::validation(
                json!([{ "resource": "ReleaseAsset", "code": "already_exists", "field": "name" }]),
                DOC,
            );
        }
        let asset_id = self.id();
        let asset = Asset {
            id: asset_id,
            release_id: r.id,
            name,
            label: req.q("label").map(str::to_string),
            content_type,
            state: "uploaded",
            bytes: req.body.to_vec(),
            created_at: unix_now(),
        };
        let v = self.asset_json(&asset);
        self.assets.insert(asset_id, asset);
        Reply::json(StatusCode::CREATED, v)
    }

    // ----- milestones ------------------------------------------------------------

    fn list_milestones(&self, req: &Req) -> Reply {
        let state = req.q("state").unwrap_or("open");
        let api = self.repo_api();
        let items = self
            .milestones
            .values()
            .filter(|m| match state {
                "open" => m.open,
                "closed" => !m.open,
                _ => true,
            })
            .map(|m| {
                json!({
                    "url": format!("{api}/milestones/{}", m.number),
                    "html_url": format!("{}/milestone/{}", self.web(), m.number),
                    "labels_url": format!("{api}/milestones/{}/labels", m.number),
                    "id": m.id,
                    "node_id": format!("MDk6TWlsZXN0b25l{}", m.id),
                    "number": m.number,
                    "state": if m.open { "open" } else { "closed" },
                    "title": m.title,
                    "description": null,
                    "creator": self.user_json(),
                    "open_issues": m.open_issues,
                    "closed_issues": m.closed_issues,
                    "created_at": iso8601(m.created_at),
                    "updated_at": iso8601(m.created_at),
                    "closed_at": if m.open { Value::Null } else { json!(iso8601(m.created_at)) },
                    "due_on": null
                })
            })
            .collect();
        self.paged(req, items)
    }

    // ----- statuses and checks -------------------------------------------------

    fn combined_status(&self, req: &Req, sha: &str) -> Reply {
        if !is_hex_sha(sha) {
            return Reply::error(
                StatusCode::NOT_FOUND,
                &format!("No commit found for SHA: {sha}"),
                DOCS,
            );
        }
        // The latest status of each context, newest first.
        let mut latest: Vec<&StatusRec> = Vec::new();
        for st in self.statuses.get(sha).into_iter().flatten().rev() {
            if !latest.iter().any(|l| l.context == st.context) {
                latest.push(st);
            }
        }
        let state = if latest
            .iter()
            .any(|s| s.state == "error" || s.state == "failure")
        {
            "failure"
        } else if latest.is_empty() || latest.iter().any(|s| s.state == "pending") {
            "pending"
        } else {
            "success"
        };
        let total = latest.len();
        let statuses: Vec<Value> = latest
            .iter()
            .map(|s| {
                json!({
                    "url": format!("{}/statuses/{sha}", self.repo_api()),
                    "avatar_url": format!("{}/avatars/u/1?v=4", self.origin),
                    "id": s.id,
                    "node_id": format!("MDEzOlN0YXR1c0NvbnRleHQ{}", s.id),
                    "state": s.state,
                    "description": null,
                    "target_url": null,
                    "context": s.context,
                    "created_at": iso8601(s.at),
                    "updated_at": iso8601(s.at)
                })
            })
            .collect();
        let (page, link) = self.page(req, statuses);
        let reply = Reply::ok(json!({
            "state": state,
            "statuses": page,
            "sha": sha,
            "total_count": total,
            "repository": self.repo_json(),
            "commit_url": format!("{}/commits/{sha}", self.repo_api()),
            "url": format!("{}/commits/{sha}/status", self.repo_api())
        }));
        match link {
            Some(l) => reply.header("link", l),
            None => reply,
        }
    }

    fn check_runs(&self, req: &Req, sha: &str) -> Reply {
        if !is_hex_sha(sha) {
            return Reply::validation(
                json!([{ "resource": "CheckRun", "code": "invalid", "field": "ref" }]),
                DOCS,
            );
        }
        let all_runs = req.q("filter") == Some("all");
        let mut runs: Vec<&CheckRunRec> = Vec::new();
        for run in self.check_runs.get(sha).into_iter().flatten().rev() {
            if all_runs || !runs.iter().any(|r| r.name == run.name) {
                runs.push(run);
            }
        }
        if let Some(status) = req.q("status") {
            runs.retain(|r| r.status == status);
        }
        if let Some(name) = req.q("check_name") {
            runs.retain(|r| r.name == name);
        }
        let total = runs.len();
        let api = self.repo_api();
        let items: Vec<Value> = runs
            .iter()
            .map(|r| {
                let done = r.status == "completed";
                json!({
                    "id": r.id,
                    "head_sha": sha,
                    "node_id": format!("CR_kwDO{}", r.id),
                    "external_id": "",
                    "url": format!("{api}/check-runs/{}", r.id),
                    "html_url": format!("{}/runs/{}", self.web(), r.id),
                    "details_url": format!("{}/runs/{}", self.web(), r.id),
                    "status": r.status,
                    "conclusion": r.conclusion,
                    "started_at": iso8601(r.at),
                    "completed_at": if done { json!(iso8601(r.at)) } else { Value::Null },
                    "output": {
                        "title": null,
                        "summary": null,
                        "text": null,
                        "annotations_count": 0,
                        "annotations_url": format!("{api}/check-runs/{}/annotations", r.id)
                    },
                    "name": r.name,
                    "check_suite": { "id": r.id + 1 },
                    "app": null,
                    "pull_requests": []
                })
            })
            .collect();
        let (page, link) = self.page(req, items);
        let reply = Reply::ok(json!({ "total_count": total, "check_runs": page }));
        match link {
            Some(l) => reply.header("link", l),
            None => reply,
        }
    }
}

fn is_hex_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn rate_limited(limit: RateLimit) -> Reply {
    const DOC: &str =
        "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api";
    let now = unix_now();
    match limit {
        RateLimit::Primary { reset_in_secs } => Reply::json(
            StatusCode::FORBIDDEN,
            json!({
                "message": "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": DOC,
                "status": "403"
            }),
        )
        .header("x-ratelimit-limit", "5000")
        .header("x-ratelimit-remaining", "0")
        .header("x-ratelimit-used", "5000")
        .header("x-ratelimit-reset", (now + reset_in_secs).to_string())
        .header("x-ratelimit-resource", "core"),
        RateLimit::Secondary { retry_after_secs } => Reply::json(
            StatusCode::FORBIDDEN,
            json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
                "documentation_url": DOC,
                "status": "403"
            }),
        )
        .header("retry-after", retry_after_secs.to_string()),
        RateLimit::TooManyRequests { retry_after_secs } => Reply::json(
            StatusCode::TOO_MANY_REQUESTS,
            json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": DOC,
                "status": "429"
            }),
        )
        .header("retry-after", retry_after_secs.to_string()),
    }
}
