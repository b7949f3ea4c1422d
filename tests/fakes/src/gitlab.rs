//! A stateful fake of the GitLab REST API v4 (the parts ferry uses), for one project,
//! served under `/api/v4` on `127.0.0.1`, with a second origin playing an external
//! file host (where release links may point, and where package downloads are
//! redirected when [`FakeGitLab::set_redirect_downloads`] is on, as with object
//! storage without proxied downloads).
//!
//! Covered, with the documented paths, status codes and JSON field names:
//!
//! | endpoint | notes |
//! |---|---|
//! | `GET /projects/:id` | |
//! | `POST /projects/:id/merge_requests` | 201; 409 `{"message": ["Another open merge request already exists for this source branch: !N"]}`; `labels` comma-separated |
//! | `GET /projects/:id/merge_requests` | `state` (default all), `source_branch`, `target_branch`; newest first, paginated |
//! | `GET/PUT /projects/:id/merge_requests/:iid` | `title`, `description`, `labels`, `add_labels`, `remove_labels`, `state_event`; a merged MR can still be edited |
//! | `POST /projects/:id/merge_requests/:iid/notes` | `body`; 201 with the note; 404 `{"message": "404 Not found"}` for an unknown MR; 400 `body is missing` |
//! | `GET /projects/:id/merge_requests/:iid/notes` | oldest first, paginated |
//! | `GET /users?username=` | the user with that username (case-insensitive), else `[]`; paginated |
//! | `GET /projects/:id/members/all/:user_id` | `access_level`, `state`; 404 `{"message": "404 Not found"}` for a user who is not a member |
//! | `POST /projects/:id/releases` | 201; 409 `{"message": "Release already exists"}`; 422 "Ref is not specified" for an unknown tag without `ref` when tags are required |
//! | `GET /projects/:id/releases` | newest `released_at` first, paginated |
//! | `GET/PUT /projects/:id/releases/:tag_name` | 404 `{"message": "404 Not Found"}` |
//! | `GET/POST /projects/:id/releases/:tag_name/assets/links` | 400 `{"message": {"name": ["has already been taken"]}}` on a duplicate name, URL or path |
//! | `PUT /projects/:id/packages/generic/:name/:version/:file` | 201 `{"message": "201 Created"}`, or the package file with `select=package_file`; duplicates allowed (GitLab's default) |
//! | `GET /projects/:id/packages/generic/:name/:version/:file` | the newest file of that name; 302 to the external origin when redirects are on |
//! | `GET /projects/:id/packages` | `package_name` (fuzzy), `package_version` (exact), `package_type`; paginated |
//! | `GET /projects/:id/packages/:package_id/package_files` | `file_sha256`; paginated |
//! | `GET /projects/:id/milestones` | `title` (exact), `state` (`active`/`closed`), `search`; paginated |
//! | `GET /projects/:id/milestones/:milestone_id/issues` | paginated |
//! | `GET /projects/:id/repository/commits/:sha/statuses` | latest status per name unless `all=true`; paginated |
//!
//! `:id` is the numeric id or the URL-encoded path (`acme%2Fwidgets`). Every request
//! needs the token in `PRIVATE-TOKEN`, `JOB-TOKEN` or `Authorization: Bearer` (401
//! `{"message": "401 Unauthorized"}` otherwise). Request bodies may be JSON or
//! form-encoded. Lists honour `per_page` (capped by [`FakeGitLabConfig::max_per_page`],
//! small by default so that every list is paginated) and `page`, and answer with
//! `X-Page`, `X-Per-Page`, `X-Next-Page`, `X-Prev-Page`, `X-Total`, `X-Total-Pages`
//! and `Link`. Rate limits answer 429 `Retry later` with `Retry-After` and the
//! `RateLimit-*` headers.
//!
//! Simplifications: tags exist unless [`FakeGitLabConfig::require_existing_tags`];
//! every 40-hex commit exists; every action is the one token user's (`ferry-bot`);
//! other users exist only once added ([`FakeGitLab::add_user`],
//! [`FakeGitLab::set_member`]) and are direct project members (no groups, so no
//! inherited membership); no group milestones.

use crate::{iso8601, lock, percent_decode, query_encode, serve, sha256_hex, unix_now, Served};
use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// Where the API lives on the fake's origin.
pub const API_PREFIX: &str = "/api/v4";

/// How the fake starts.
#[derive(Debug, Clone)]
pub struct FakeGitLabConfig {
    /// The project's numeric id.
    pub project_id: u64,
    /// The project's full path (`namespace/project`).
    pub path: String,
    /// The only token accepted.
    pub token: String,
    /// The largest page size served, whatever `per_page` asks (GitLab: 100). Small by
    /// default (3) so that tests walk several pages.
    pub max_per_page: usize,
    /// Whether creating a release for a tag the fake does not know, without `ref`,
    /// fails as on GitLab (422 "Ref is not specified"). Off by default: every tag
    /// exists. Tags are added with [`FakeGitLab::add_tag`] or by a `ref`.
    pub require_existing_tags: bool,
}

impl Default for FakeGitLabConfig {
    fn default() -> Self {
        FakeGitLabConfig {
            project_id: 42,
            path: "acme/widgets".into(),
            token: "glpat-fake00000000000000000".into(),
            max_per_page: 3,
            require_existing_tags: false,
        }
    }
}

/// One request the API origin received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query, as received.
    pub path_and_query: String,
    /// Whether it carried a token header (`PRIVATE-TOKEN`, `JOB-TOKEN`, `Authorization`).
    pub token_header: bool,
}

#[derive(Debug, Clone)]
struct Mr {
    id: u64,
    iid: u64,
    title: String,
    description: Option<String>,
    source_branch: String,
    target_branch: String,
    state: &'static str,
    labels: Vec<String>,
    sha: String,
    merge_commit_sha: Option<String>,
    created_at: u64,
    updated_at: u64,
    merged_at: Option<u64>,
    closed_at: Option<u64>,
}

#[derive(Debug, Clone)]
struct Release {
    tag_name: String,
    name: Option<String>,
    description: Option<String>,
    created_at: u64,
    released_at: u64,
}

#[derive(Debug, Clone)]
struct LinkRec {
    id: u64,
    tag: String,
    name: String,
    url: String,
    direct_asset_path: Option<String>,
    link_type: String,
}

#[derive(Debug, Clone)]
struct PackageRec {
    id: u64,
    name: String,
    version: String,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct PackageFileRec {
    id: u64,
    package_id: u64,
    file_name: String,
    bytes: Vec<u8>,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct MilestoneRec {
    id: u64,
    iid: u64,
    title: String,
    closed: bool,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct IssueRec {
    id: u64,
    iid: u64,
    milestone_id: u64,
    closed: bool,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct StatusRec {
    id: u64,
    sha: String,
    name: String,
    status: String,
    allow_failure: bool,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct NoteRec {
    id: u64,
    body: String,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct UserRec {
    id: u64,
    username: String,
}

#[derive(Debug, Clone, Copy)]
struct MemberRec {
    access_level: u64,
    created_at: u64,
}

#[derive(Debug, Clone)]
struct Injected {
    path_contains: String,
    remaining: u32,
    status: u16,
}

#[derive(Debug, Clone, Copy)]
struct Throttle {
    remaining: u32,
    retry_after_secs: Option<u64>,
    reset_in_secs: u64,
}

#[derive(Debug)]
struct State {
    cfg: FakeGitLabConfig,
    origin: String,
    external_origin: String,
    next_id: u64,
    next_mr_iid: u64,
    next_milestone_iid: u64,
    next_issue_iid: u64,
    mrs: BTreeMap<u64, Mr>,
    releases: BTreeMap<String, Release>,
    links: Vec<LinkRec>,
    packages: BTreeMap<u64, PackageRec>,
    package_files: BTreeMap<u64, PackageFileRec>,
    milestones: BTreeMap<u64, MilestoneRec>,
    issues: Vec<IssueRec>,
    statuses: Vec<StatusRec>,
    notes: BTreeMap<u64, Vec<NoteRec>>,
    users: BTreeMap<u64, UserRec>,
    members: BTreeMap<u64, MemberRec>,
    tags: BTreeSet<String>,
    external_files: BTreeMap<u64, Vec<u8>>,
    redirect_downloads: bool,
    failures: Vec<Injected>,
    throttles: Vec<Throttle>,
    requests: Vec<RecordedRequest>,
    writes: u64,
    external_requests: u64,
    external_requests_with_token: u64,
}

type Shared = Arc<Mutex<State>>;

/// A running fake GitLab; the servers stop when this handle is dropped.
#[derive(Debug)]
pub struct FakeGitLab {
    /// The instance URL, `http://127.0.0.1:PORT` (the API is under `/api/v4`).
    pub base_url: String,
    /// The project's numeric id.
    pub project_id: u64,
    /// The project's full path.
    pub path: String,
    /// The token the fake accepts.
    pub token: String,
    state: Shared,
    _api: Served,
    _external: Served,
}

impl FakeGitLab {
    /// Start with the default configuration (`acme/widgets`, id 42, pages of up to 3).
    pub async fn start() -> Self {
        Self::start_with(FakeGitLabConfig::default()).await
    }

    /// Start with `cfg`.
    pub async fn start_with(cfg: FakeGitLabConfig) -> Self {
        let state: Shared = Arc::new(Mutex::new(State {
            cfg: cfg.clone(),
            origin: String::new(),
            external_origin: String::new(),
            next_id: 1000,
            next_mr_iid: 0,
            next_milestone_iid: 0,
            next_issue_iid: 0,
            mrs: BTreeMap::new(),
            releases: BTreeMap::new(),
            links: Vec::new(),
            packages: BTreeMap::new(),
            package_files: BTreeMap::new(),
            milestones: BTreeMap::new(),
            issues: Vec::new(),
            statuses: Vec::new(),
            notes: BTreeMap::new(),
            users: BTreeMap::new(),
            members: BTreeMap::new(),
            tags: BTreeSet::new(),
            external_files: BTreeMap::new(),
            redirect_downloads: false,
            failures: Vec::new(),
            throttles: Vec::new(),
            requests: Vec::new(),
            writes: 0,
            external_requests: 0,
            external_requests_with_token: 0,
        }));
        let api = serve(
            axum::Router::new()
                .fallback(api_handler)
                .with_state(state.clone()),
        )
        .await
        .expect("bind the fake GitLab on 127.0.0.1");
        let external = serve(
            axum::Router::new()
                .fallback(external_handler)
                .with_state(state.clone()),
        )
        .await
        .expect("bind the fake external file host on 127.0.0.1");
        {
            let mut s = lock(&state);
            s.origin = api.origin();
            s.external_origin = external.origin();
        }
        FakeGitLab {
            base_url: api.origin(),
            project_id: cfg.project_id,
            path: cfg.path,
            token: cfg.token,
            state,
            _api: api,
            _external: external,
        }
    }

    /// Merge open merge request `iid` as `merge_commit_sha` (what a maintainer does).
    ///
    /// # Panics
    /// When there is no such merge request or it is not open.
    pub fn merge_mr(&self, iid: u64, merge_commit_sha: &str) {
        let mut s = lock(&self.state);
        let now = unix_now();
        let mr = s
            .mrs
            .get_mut(&iid)
            .unwrap_or_else(|| panic!("fake GitLab: no merge request !{iid}"));
        assert_eq!(mr.state, "opened", "fake GitLab: !{iid} is not open");
        mr.state = "merged";
        mr.merge_commit_sha = Some(merge_commit_sha.to_string());
        mr.merged_at = Some(now);
        mr.updated_at = now;
    }

    /// Close merge request `iid` without merging.
    ///
    /// # Panics
    /// When there is no such merge request.
    pub fn close_mr(&self, iid: u64) {
        let mut s = lock(&self.state);
        let now = unix_now();
        let mr = s
            .mrs
            .get_mut(&iid)
            .unwrap_or_else(|| panic!("fake GitLab: no merge request !{iid}"));
        mr.state = "closed";
        mr.closed_at = Some(now);
        mr.updated_at = now;
    }

    /// Create milestone `title` (or reset it) with `open` open and `closed` closed
    /// issues; `milestone_closed` closes the milestone itself.
    pub fn set_milestone(&self, title: &str, open: u64, closed: u64, milestone_closed: bool) {
        let mut s = lock(&self.state);
        let now = unix_now();
        let id = match s.milestones.values_mut().find(|m| m.title == title) {
            Some(m) => {
                m.closed = milestone_closed;
                m.id
            }
            None => {
                let id = s.id();
                s.next_milestone_iid += 1;
                let iid = s.next_milestone_iid;
                s.milestones.insert(
                    id,
                    MilestoneRec {
                        id,
                        iid,
                        title: title.to_string(),
                        closed: milestone_closed,
                        created_at: now,
                    },
                );
                id
            }
        };
        s.issues.retain(|i| i.milestone_id != id);
        for n in 0..open + closed {
            let issue_id = s.id();
            s.next_issue_iid += 1;
            let iid = s.next_issue_iid;
            s.issues.push(IssueRec {
                id: issue_id,
                iid,
                milestone_id: id,
                closed: n >= open,
                created_at: now,
            });
        }
    }

    /// Report commit status `status` (`pending`, `running`, `success`, `failed`,
    /// `canceled`, `skipped`, `created`, `manual`) for `sha` under `name`; a later
    /// status of the same name supersedes it in the default listing.
    pub fn set_status(&self, sha: &str, name: &str, status: &str) {
        self.push_status(sha, name, status, false);
    }

    /// Like [`FakeGitLab::set_status`], for a job allowed to fail.
    pub fn set_status_allow_failure(&self, sha: &str, name: &str, status: &str) {
        self.push_status(sha, name, status, true);
    }

    fn push_status(&self, sha: &str, name: &str, status: &str, allow_failure: bool) {
        let mut s = lock(&self.state);
        let id = s.id();
        s.statuses.push(StatusRec {
            id,
            sha: sha.to_string(),
            name: name.to_string(),
            status: status.to_string(),
            allow_failure,
            created_at: unix_now(),
        });
    }

    /// Forget every status of `sha`.
    pub fn clear_statuses(&self, sha: &str) {
        lock(&self.state).statuses.retain(|st| st.sha != sha);
    }

    /// Create user `username` unless one exists (usernames compare without case);
    /// returns the user's id.
    pub fn add_user(&self, username: &str) -> u64 {
        lock(&self.state).add_user(username)
    }

    /// Make `username` (created if needed) a direct member of the project with
    /// `access_level`: 10 Guest, 15 Planner, 20 Reporter, 30 Developer, 40
    /// Maintainer, 50 Owner (GitLab's `Gitlab::Access` values).
    pub fn set_member(&self, username: &str, access_level: u64) {
        let mut s = lock(&self.state);
        let id = s.add_user(username);
        let created_at = s.members.get(&id).map_or_else(unix_now, |m| m.created_at);
        s.members.insert(
            id,
            MemberRec {
                access_level,
                created_at,
            },
        );
    }

    /// Remove `username` from the project's members (the user stays).
    pub fn remove_member(&self, username: &str) {
        let mut s = lock(&self.state);
        if let Some(id) = s.user_id(username) {
            s.members.remove(&id);
        }
    }

    /// The bodies of the notes on merge request `iid`, oldest first.
    pub fn notes(&self, iid: u64) -> Vec<String> {
        lock(&self.state)
            .notes
            .get(&iid)
            .map(|n| n.iter().map(|n| n.body.clone()).collect())
            .unwrap_or_default()
    }

    /// Make `tag` exist (see [`FakeGitLabConfig::require_existing_tags`]).
    pub fn add_tag(&self, tag: &str) {
        lock(&self.state).tags.insert(tag.to_string());
    }

    /// Create a release directly (not counted as a request).
    pub fn seed_release(&self, tag: &str) {
        let mut s = lock(&self.state);
        let now = unix_now();
        s.tags.insert(tag.to_string());
        s.releases.insert(
            tag.to_string(),
            Release {
                tag_name: tag.to_string(),
                name: Some(tag.to_string()),
                description: None,
                created_at: now,
                released_at: now,
            },
        );
    }

    /// Attach a link directly (not counted as a request); returns its id.
    pub fn seed_link(&self, tag: &str, name: &str, url: &str) -> u64 {
        let mut s = lock(&self.state);
        let id = s.id();
        s.links.push(LinkRec {
            id,
            tag: tag.to_string(),
            name: name.to_string(),
            url: url.to_string(),
            direct_asset_path: None,
            link_type: "other".into(),
        });
        id
    }

    /// Store a generic package file directly (not counted as a request), as an
    /// earlier, interrupted upload would have.
    pub fn seed_package_file(&self, package: &str, version: &str, file_name: &str, bytes: &[u8]) {
        lock(&self.state).store_package_file(package, version, file_name, bytes);
    }

    /// Host `bytes` on the external origin; returns its URL (no token needed there).
    pub fn host_external_file(&self, bytes: &[u8]) -> String {
        let mut s = lock(&self.state);
        let id = s.id();
        s.external_files.insert(id, bytes.to_vec());
        format!("{}/files/{id}", s.external_origin)
    }

    /// Answer package downloads with a 302 to the external origin (as GitLab does with
    /// object storage when downloads are not proxied).
    pub fn set_redirect_downloads(&self, on: bool) {
        lock(&self.state).redirect_downloads = on;
    }

    /// How many files named `file_name` the generic package `package`/`version` holds.
    pub fn package_file_count(&self, package: &str, version: &str, file_name: &str) -> usize {
        let s = lock(&self.state);
        s.package_files
            .values()
            .filter(|f| {
                f.file_name == file_name
                    && s.packages
                        .get(&f.package_id)
                        .is_some_and(|p| p.name == package && p.version == version)
            })
            .count()
    }

    /// The links of release `tag`, as (name, url).
    pub fn links(&self, tag: &str) -> Vec<(String, String)> {
        lock(&self.state)
            .links
            .iter()
            .filter(|l| l.tag == tag)
            .map(|l| (l.name.clone(), l.url.clone()))
            .collect()
    }

    /// Answer the next `times` API requests whose path contains `path_contains` with
    /// `status` (500 with GitLab's JSON body; 502–504 with a proxy's HTML page).
    pub fn fail_next(&self, path_contains: &str, times: u32, status: u16) {
        lock(&self.state).failures.push(Injected {
            path_contains: path_contains.to_string(),
            remaining: times,
            status,
        });
    }

    /// Throttle the next `times` authenticated API requests: 429 with `Retry-After`
    /// and `RateLimit-Reset` `retry_after_secs` from now.
    pub fn rate_limit_next(&self, times: u32, retry_after_secs: u64) {
        lock(&self.state).throttles.push(Throttle {
            remaining: times,
            retry_after_secs: Some(retry_after_secs),
            reset_in_secs: retry_after_secs,
        });
    }

    /// Throttle the next `times` authenticated API requests with `RateLimit-Reset`
    /// only (no `Retry-After`), `reset_in_secs` from now.
    pub fn rate_limit_next_until_reset(&self, times: u32, reset_in_secs: u64) {
        lock(&self.state).throttles.push(Throttle {
            remaining: times,
            retry_after_secs: None,
            reset_in_secs,
        });
    }

    /// Authenticated write requests (POST, PUT, PATCH, DELETE) received so far,
    /// including those answered with an injected failure or a rate limit: lets tests
    /// assert that a re-run made no write.
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

    /// Requests the external origin received.
    pub fn external_requests(&self) -> u64 {
        lock(&self.state).external_requests
    }

    /// Requests to the external origin that carried a token header (a client must
    /// never send its GitLab token to another host).
    pub fn external_requests_with_token(&self) -> u64 {
        lock(&self.state).external_requests_with_token
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

    /// Query and body parameters merged (as Grape does); the body is JSON or form.
    fn params(&self) -> Result<Map<String, Value>, Box<Reply>> {
        let mut out = Map::new();
        for (k, v) in &self.query {
            out.insert(k.clone(), Value::String(v.clone()));
        }
        if self.body.is_empty() {
            return Ok(out);
        }
        let content_type = self
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if content_type.starts_with("application/json") {
            match serde_json::from_slice::<Value>(&self.body) {
                Ok(Value::Object(map)) => out.extend(map),
                _ => {
                    return Err(Box::new(Reply::json(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "The provided content-type 'application/json' is not supported or the body is not valid JSON"}),
                    )))
                }
            }
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let text = String::from_utf8_lossy(&self.body).into_owned();
            for (k, v) in parse_query(Some(&text)) {
                out.insert(k, Value::String(v));
            }
        }
        Ok(out)
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
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::to_vec(&value).expect("JSON"),
        }
    }

    fn ok(value: Value) -> Self {
        Self::json(StatusCode::OK, value)
    }

    fn created(value: Value) -> Self {
        Self::json(StatusCode::CREATED, value)
    }

    fn message(status: StatusCode, message: impl Into<Value>) -> Self {
        Self::json(status, json!({ "message": message.into() }))
    }

    fn not_found(what: &str) -> Self {
        Self::message(StatusCode::NOT_FOUND, format!("404 {what} Not Found"))
    }

    fn missing(param: &str) -> Self {
        Self::json(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("{param} is missing") }),
        )
    }

    fn invalid(param: &str) -> Self {
        Self::json(
            StatusCode::BAD_REQUEST,
            json!({ "error": format!("{param} is invalid") }),
        )
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
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

/// A string parameter, if present (JSON strings, numbers and booleans as text).
fn param(params: &Map<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// A list parameter: a JSON array, or a comma-separated string.
fn list_param(params: &Map<String, Value>, key: &str) -> Option<Vec<String>> {
    match params.get(key)? {
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
        ),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        _ => None,
    }
}

fn token_header(headers: &HeaderMap) -> Option<String> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    get("private-token")
        .or_else(|| get("job-token"))
        .or_else(|| {
            get("authorization").map(|v| v.strip_prefix("Bearer ").unwrap_or("").to_string())
        })
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
        token_header: token_header(&req.headers).is_some(),
    });
    s.handle(&req).into_response()
}

async fn external_handler(
    AxState(state): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&state);
    s.external_requests += 1;
    if token_header(&headers).is_some() {
        s.external_requests_with_token += 1;
        return Reply {
            status: StatusCode::BAD_REQUEST,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: b"<Error><Code>InvalidArgument</Code><Message>Unexpected credentials</Message></Error>".to_vec(),
        }
        .into_response();
    }
    let id = uri
        .path()
        .strip_prefix("/files/")
        .and_then(|x| x.parse::<u64>().ok());
    match (method, id.and_then(|id| s.external_files.get(&id))) {
        (Method::GET, Some(bytes)) => Reply {
            status: StatusCode::OK,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: bytes.clone(),
        }
        .into_response(),
        _ => Reply {
            status: StatusCode::NOT_FOUND,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: b"<Error><Code>NoSuchKey</Code></Error>".to_vec(),
        }
        .into_response(),
    }
}

// ---------------------------------------------------------------------------------
// Routing and handlers

fn is_hex_sha(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// GitLab's rule for generic package names (and, here, file names).
fn valid_generic_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// GitLab's rule for generic package versions, `\A(\.?[\w\+-]+\.?)+\z`.
fn valid_generic_version(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+'))
        && v.bytes().any(|b| b != b'.')
        && !v.contains("...")
        && !v.starts_with("..")
        && !v.ends_with("..")
}

impl State {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn web(&self) -> String {
        format!("{}/{}", self.origin, self.cfg.path)
    }

    fn api_project(&self) -> String {
        format!(
            "{}{API_PREFIX}/projects/{}",
            self.origin, self.cfg.project_id
        )
    }

    fn handle(&mut self, req: &Req) -> Reply {
        let Some(rest) = req.path.strip_prefix(API_PREFIX) else {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not Found");
        };

        // Authentication.
        if token_header(&req.headers).as_deref() != Some(self.cfg.token.as_str()) {
            return Reply::message(StatusCode::UNAUTHORIZED, "401 Unauthorized");
        }
        if !matches!(req.method, Method::GET | Method::HEAD) {
            self.writes += 1;
        }

        // Injected rate limits, then injected failures.
        if let Some(t) = self.throttles.iter_mut().find(|t| t.remaining > 0) {
            t.remaining -= 1;
            let t = *t;
            self.throttles.retain(|t| t.remaining > 0);
            let now = unix_now();
            let mut reply = Reply {
                status: StatusCode::TOO_MANY_REQUESTS,
                headers: vec![("content-type".into(), "text/plain".into())],
                body: b"Retry later\n".to_vec(),
            }
            .header("ratelimit-name", "throttle_authenticated_api")
            .header("ratelimit-limit", "60")
            .header("ratelimit-observed", "61")
            .header("ratelimit-remaining", "0")
            .header("ratelimit-reset", (now + t.reset_in_secs).to_string());
            if let Some(secs) = t.retry_after_secs {
                reply = reply.header("retry-after", secs.to_string());
            }
            return reply;
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
            let reason = status.canonical_reason().unwrap_or("Error");
            if matches!(status.as_u16(), 502..=504) {
                return Reply {
                    status,
                    headers: vec![("content-type".into(), "text/html".into())],
                    body: format!(
                        "<html><body><h1>{} {reason}</h1></body></html>",
                        status.as_u16()
                    )
                    .into_bytes(),
                };
            }
            return Reply::message(status, format!("{} {reason}", status.as_u16()));
        }

        let segs: Vec<String> = rest
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        if segs.as_slice() == ["users"] && req.method == Method::GET {
            return self.list_users(req);
        }
        let [first, project, tail @ ..] = segs.as_slice() else {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not Found");
        };
        if *first != "projects"
            || (*project != self.cfg.project_id.to_string() && *project != self.cfg.path)
        {
            return Reply::not_found("Project");
        }
        let params = match req.params() {
            Ok(p) => p,
            Err(reply) => return *reply,
        };
        let m = &req.method;
        match tail {
            [] if *m == Method::GET => Reply::ok(self.project_json()),
            ["merge_requests"] if *m == Method::GET => self.list_mrs(req, &params),
            ["merge_requests"] if *m == Method::POST => self.create_mr(&params),
            ["merge_requests", iid] if *m == Method::GET => match self.mr(iid) {
                Some(mr) => Reply::ok(self.mr_json(&mr)),
                None => Reply::message(StatusCode::NOT_FOUND, "404 Not found"),
            },
            ["merge_requests", iid] if *m == Method::PUT => self.update_mr(iid, &params),
            ["merge_requests", iid, "notes"] if *m == Method::POST => {
                self.create_note(iid, &params)
            }
            ["merge_requests", iid, "notes"] if *m == Method::GET => match self.mr(iid) {
                Some(mr) => {
                    let items = self
                        .notes
                        .get(&mr.iid)
                        .into_iter()
                        .flatten()
                        .map(|n| self.note_json(&mr, n))
                        .collect();
                    self.paged(req, items)
                }
                None => Reply::message(StatusCode::NOT_FOUND, "404 Not found"),
            },
            ["members", "all", user_id] if *m == Method::GET => self.member(user_id),
            ["releases"] if *m == Method::GET => self.list_releases(req),
            ["releases"] if *m == Method::POST => self.create_release(&params),
            ["releases", tag] if *m == Method::GET => match self.releases.get(*tag) {
                Some(r) => Reply::ok(self.release_json(r)),
                None => Reply::message(StatusCode::NOT_FOUND, "404 Not Found"),
            },
            ["releases", tag] if *m == Method::PUT => self.update_release(tag, &params),
            ["releases", tag, "assets", "links"] if *m == Method::GET => {
                if !self.releases.contains_key(*tag) {
                    return Reply::message(StatusCode::NOT_FOUND, "404 Not Found");
                }
                let items = self.links_json(tag);
                self.paged(req, items)
            }
            ["releases", tag, "assets", "links"] if *m == Method::POST => {
                self.create_link(tag, &params)
            }
            ["packages"] if *m == Method::GET => self.list_packages(req, &params),
            ["packages", id, "package_files"] if *m == Method::GET => {
                self.list_package_files(req, id)
            }
            ["packages", "generic", name, version, file @ ..] if !file.is_empty() => {
                let file = file.join("/");
                match *m {
                    Method::PUT => self.upload_generic(req, name, version, &file),
                    Method::GET => self.download_generic(name, version, &file),
                    _ => Reply::message(StatusCode::METHOD_NOT_ALLOWED, "405 Method Not Allowed"),
                }
            }
            ["milestones"] if *m == Method::GET => self.list_milestones(req, &params),
            ["milestones", id, "issues"] if *m == Method::GET => self.milestone_issues(req, id),
            ["repository", "commits", sha, "statuses"] if *m == Method::GET => {
                self.list_statuses(req, sha, &params)
            }
            _ => Reply::message(StatusCode::NOT_FOUND, "404 Not Found"),
        }
    }

    /// One page of `items` with GitLab's pagination headers.
    fn paged(&self, req: &Req, items: Vec<Value>) -> Reply {
        let max = self.cfg.max_per_page.clamp(1, 100);
        let per_page = req
            .q("per_page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(20)
            .clamp(1, max);
        let page = req
            .q("page")
            .and_then(|p| p.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let total = items.len();
        let total_pages = total.div_ceil(per_page).max(1);
        let out: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let url = |p: usize| {
            let mut q: Vec<String> = req
                .query
                .iter()
                .filter(|(k, _)| k != "page" && k != "per_page")
                .map(|(k, v)| format!("{}={}", query_encode(k), query_encode(v)))
                .collect();
            q.push(format!("page={p}"));
            q.push(format!("per_page={per_page}"));
            format!("<{}{}?{}>", self.origin, req.path, q.join("&"))
        };
        let mut links = Vec::new();
        if page > 1 {
            links.push(format!("{}; rel=\"prev\"", url(page - 1)));
        }
        if page < total_pages {
            links.push(format!("{}; rel=\"next\"", url(page + 1)));
        }
        links.push(format!("{}; rel=\"first\"", url(1)));
        links.push(format!("{}; rel=\"last\"", url(total_pages)));
        let next = if page < total_pages {
            (page + 1).to_string()
        } else {
            String::new()
        };
        let prev = if page > 1 {
            (page - 1).to_string()
        } else {
            String::new()
        };
        Reply::ok(Value::Array(out))
            .header("x-page", page.to_string())
            .header("x-per-page", per_page.to_string())
            .header("x-next-page", next)
            .header("x-prev-page", prev)
            .header("x-total", total.to_string())
            .header("x-total-pages", total_pages.to_string())
            .header("link", links.join(", "))
    }

    // ----- project, users --------------------------------------------------------

    fn user_json(&self) -> Value {
        json!({
            "id": 1,
            "username": "ferry-bot",
            "name": "ferry bot",
            "state": "active",
            "locked": false,
            "avatar_url": format!("{}/uploads/-/system/user/avatar/1/avatar.png", self.origin),
            "web_url": format!("{}/ferry-bot", self.origin)
        })
    }

    fn project_json(&self) -> Value {
        let (namespace, name) = self
            .cfg
            .path
            .rsplit_once('/')
            .unwrap_or(("", self.cfg.path.as_str()));
        json!({
            "id": self.cfg.project_id,
            "name": name,
            "path": name,
            "path_with_namespace": self.cfg.path,
            "name_with_namespace": self.cfg.path.replace('/', " / "),
            "namespace": { "full_path": namespace },
            "default_branch": "main",
            "visibility": "private",
            "web_url": self.web(),
            "http_url_to_repo": format!("{}.git", self.web()),
            "_links": { "self": self.api_project() }
        })
    }

    fn user_id(&self, username: &str) -> Option<u64> {
        self.users
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .map(|u| u.id)
    }

    fn add_user(&mut self, username: &str) -> u64 {
        if let Some(id) = self.user_id(username) {
            return id;
        }
        let id = self.id();
        self.users.insert(
            id,
            UserRec {
                id,
                username: username.to_string(),
            },
        );
        id
    }

    fn other_user_json(&self, u: &UserRec) -> Value {
        json!({
            "id": u.id,
            "username": u.username,
            "public_email": null,
            "name": u.username,
            "state": "active",
            "locked": false,
            "avatar_url": format!("{}/uploads/-/system/user/avatar/{}/avatar.png", self.origin, u.id),
            "web_url": format!("{}/{}", self.origin, u.username)
        })
    }

    fn list_users(&self, req: &Req) -> Reply {
        let wanted = req.q("username");
        let items = self
            .users
            .values()
            .filter(|u| wanted.is_none_or(|w| u.username.eq_ignore_ascii_case(w)))
            .map(|u| self.other_user_json(u))
            .collect();
        self.paged(req, items)
    }

    fn member(&self, user_id: &str) -> Reply {
        let Ok(id) = user_id.parse::<u64>() else {
            return Reply::invalid("user_id");
        };
        match (self.users.get(&id), self.members.get(&id)) {
            (Some(u), Some(m)) => {
                let mut v = self.other_user_json(u);
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("access_level".into(), json!(m.access_level));
                    obj.insert("created_at".into(), json!(iso8601(m.created_at)));
                    obj.insert("created_by".into(), self.user_json());
                    obj.insert("expires_at".into(), Value::Null);
                    obj.insert("membership_state".into(), json!("active"));
                }
                Reply::ok(v)
            }
            _ => Reply::message(StatusCode::NOT_FOUND, "404 Not found"),
        }
    }

    // ----- merge requests --------------------------------------------------------

    fn note_json(&self, mr: &Mr, n: &NoteRec) -> Value {
        json!({
            "id": n.id,
            "type": null,
            "body": n.body,
            "attachment": null,
            "author": self.user_json(),
            "created_at": iso8601(n.created_at),
            "updated_at": iso8601(n.created_at),
            "system": false,
            "noteable_id": mr.id,
            "noteable_type": "MergeRequest",
            "project_id": self.cfg.project_id,
            "noteable_iid": mr.iid,
            "commands_changes": {},
            "resolvable": false,
            "confidential": false,
            "internal": false,
            "imported": false,
            "imported_from": "none"
        })
    }

    fn create_note(&mut self, iid: &str, params: &Map<String, Value>) -> Reply {
        let Some(mr) = self.mr(iid) else {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not found");
        };
        let Some(body) = param(params, "body") else {
            return Reply::missing("body");
        };
        let id = self.id();
        let note = NoteRec {
            id,
            body,
            created_at: unix_now(),
        };
        let v = self.note_json(&mr, &note);
        self.notes.entry(mr.iid).or_default().push(note);
        if let Some(m) = self.mrs.get_mut(&mr.iid) {
            m.updated_at = unix_now();
        }
        Reply::created(v)
    }

    fn mr(&self, iid: &str) -> Option<Mr> {
        iid.parse::<u64>()
            .ok()
            .and_then(|n| self.mrs.get(&n))
            .cloned()
    }

    fn mr_json(&self, mr: &Mr) -> Value {
        let merged = mr.state == "merged";
        json!({
            "id": mr.id,
            "iid": mr.iid,
            "project_id": self.cfg.project_id,
            "title": mr.title,
            "description": mr.description,
            "state": mr.state,
            "created_at": iso8601(mr.created_at),
            "updated_at": iso8601(mr.updated_at),
            "merged_by": if merged { self.user_json() } else { Value::Null },
            "merge_user": if merged { self.user_json() } else { Value::Null },
            "merged_at": mr.merged_at.map(iso8601),
            "closed_by": if mr.state == "closed" { self.user_json() } else { Value::Null },
            "closed_at": mr.closed_at.map(iso8601),
            "target_branch": mr.target_branch,
            "source_branch": mr.source_branch,
            "user_notes_count": self.notes.get(&mr.iid).map_or(0, Vec::len),
            "upvotes": 0,
            "downvotes": 0,
            "author": self.user_json(),
            "assignees": [],
            "assignee": null,
            "reviewers": [],
            "source_project_id": self.cfg.project_id,
            "target_project_id": self.cfg.project_id,
            "labels": mr.labels,
            "draft": false,
            "work_in_progress": false,
            "milestone": null,
            "merge_when_pipeline_succeeds": false,
            "merge_status": "can_be_merged",
            "detailed_merge_status": if mr.state == "opened" { "mergeable" } else { "not_open" },
            "sha": mr.sha,
            "merge_commit_sha": mr.merge_commit_sha,
            "squash_commit_sha": null,
            "discussion_locked": null,
            "should_remove_source_branch": null,
            "force_remove_source_branch": false,
            "reference": format!("!{}", mr.iid),
            "references": {
                "short": format!("!{}", mr.iid),
                "relative": format!("!{}", mr.iid),
                "full": format!("{}!{}", self.cfg.path, mr.iid)
            },
            "web_url": format!("{}/-/merge_requests/{}", self.web(), mr.iid),
            "time_stats": {
                "time_estimate": 0,
                "total_time_spent": 0,
                "human_time_estimate": null,
                "human_total_time_spent": null
            },
            "squash": false,
            "task_completion_status": { "count": 0, "completed_count": 0 },
            "has_conflicts": false,
            "blocking_discussions_resolved": true
        })
    }

    fn list_mrs(&self, req: &Req, params: &Map<String, Value>) -> Reply {
        let state = param(params, "state").unwrap_or_else(|| "all".into());
        let source = param(params, "source_branch");
        let target = param(params, "target_branch");
        let items: Vec<Value> = self
            .mrs
            .values()
            .rev()
            .filter(|mr| state == "all" || mr.state == state)
            .filter(|mr| source.as_ref().is_none_or(|s| *s == mr.source_branch))
            .filter(|mr| target.as_ref().is_none_or(|t| *t == mr.target_branch))
            .map(|mr| self.mr_json(mr))
            .collect();
        self.paged(req, items)
    }

    fn create_mr(&mut self, params: &Map<String, Value>) -> Reply {
        let Some(source) = param(params, "source_branch") else {
            return Reply::missing("source_branch");
        };
        let Some(target) = param(params, "target_branch") else {
            return Reply::missing("target_branch");
        };
        let Some(title) = param(params, "title") else {
            return Reply::missing("title");
        };
        if source == target {
            return Reply::message(
                StatusCode::CONFLICT,
                json!(["You can't use same project/branch for source and target"]),
            );
        }
        if let Some(open) = self.mrs.values().find(|mr| {
            mr.state == "opened" && mr.source_branch == source && mr.target_branch == target
        }) {
            return Reply::message(
                StatusCode::CONFLICT,
                json!([format!(
                    "Another open merge request already exists for this source branch: !{}",
                    open.iid
                )]),
            );
        }
        let mut labels = list_param(params, "labels").unwrap_or_default();
        labels.sort();
        labels.dedup();
        let id = self.id();
        self.next_mr_iid += 1;
        let iid = self.next_mr_iid;
        let now = unix_now();
        let mr = Mr {
            id,
            iid,
            title,
            description: param(params, "description"),
            sha: sha256_hex(source.as_bytes())[..40].to_string(),
            source_branch: source,
            target_branch: target,
            state: "opened",
            labels,
            merge_commit_sha: None,
            created_at: now,
            updated_at: now,
            merged_at: None,
            closed_at: None,
        };
        let body = self.mr_json(&mr);
        self.mrs.insert(iid, mr);
        Reply::created(body)
    }

    fn update_mr(&mut self, iid: &str, params: &Map<String, Value>) -> Reply {
        let Some(mut mr) = self.mr(iid) else {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not found");
        };
        if let Some(title) = param(params, "title") {
            mr.title = title;
        }
        if let Some(description) = param(params, "description") {
            mr.description = Some(description);
        }
        if let Some(target) = param(params, "target_branch") {
            mr.target_branch = target;
        }
        if let Some(labels) = list_param(params, "labels") {
            mr.labels = labels;
        }
        if let Some(add) = list_param(params, "add_labels") {
            mr.labels.extend(add);
        }
        if let Some(remove) = list_param(params, "remove_labels") {
            mr.labels.retain(|l| !remove.contains(l));
        }
        mr.labels.sort();
        mr.labels.dedup();
        match param(params, "state_event").as_deref() {
            Some("close") if mr.state == "opened" => {
                mr.state = "closed";
                mr.closed_at = Some(unix_now());
            }
            Some("reopen") if mr.state == "closed" => {
                mr.state = "opened";
                mr.closed_at = None;
            }
            _ => {}
        }
        mr.updated_at = unix_now();
        let body = self.mr_json(&mr);
        self.mrs.insert(mr.iid, mr);
        Reply::ok(body)
    }

    // ----- releases and links ------------------------------------------------------

    fn link_json(&self, l: &LinkRec) -> Value {
        let direct = l.direct_asset_path.as_ref().map_or_else(
            || l.url.clone(),
            |p| {
                format!(
                    "{}/-/releases/{}/downloads{}",
                    self.web(),
                    query_encode(&l.tag),
                    p
                )
            },
        );
        json!({
            "id": l.id,
            "name": l.name,
            "url": l.url,
            "direct_asset_url": direct,
            "link_type": l.link_type
        })
    }

    fn links_json(&self, tag: &str) -> Vec<Value> {
        self.links
            .iter()
            .filter(|l| l.tag == tag)
            .map(|l| self.link_json(l))
            .collect()
    }

    fn release_json(&self, r: &Release) -> Value {
        let web = self.web();
        let tag = &r.tag_name;
        let enc = query_encode(tag);
        let links = self.links_json(tag);
        let sources: Vec<Value> = ["zip", "tar.gz", "tar.bz2", "tar"]
            .iter()
            .map(|f| {
                json!({
                    "format": f,
                    "url": format!("{web}/-/archive/{enc}/widgets-{enc}.{f}")
                })
            })
            .collect();
        let commit = sha256_hex(tag.as_bytes())[..40].to_string();
        json!({
            "tag_name": tag,
            "description": r.description,
            "name": r.name,
            "created_at": iso8601(r.created_at),
            "released_at": iso8601(r.released_at),
            "upcoming_release": r.released_at > unix_now(),
            "author": self.user_json(),
            "commit": {
                "id": commit,
                "short_id": &commit[..8],
                "title": "Release commit",
                "created_at": iso8601(r.created_at),
                "parent_ids": [],
                "message": "Release commit",
                "author_name": "ferry bot",
                "author_email": "ferry@example.invalid",
                "authored_date": iso8601(r.created_at),
                "committer_name": "ferry bot",
                "committer_email": "ferry@example.invalid",
                "committed_date": iso8601(r.created_at)
            },
            "milestones": [],
            "commit_path": format!("/{}/-/commit/{commit}", self.cfg.path),
            "tag_path": format!("/{}/-/tags/{enc}", self.cfg.path),
            "assets": {
                "count": sources.len() + links.len(),
                "sources": sources,
                "links": links,
                "evidence_file_path": format!("{web}/-/releases/{enc}/evidence.json")
            },
            "evidences": [],
            "_links": {
                "closed_issues_url": format!("{web}/-/issues?release_tag={enc}&scope=all&state=closed"),
                "closed_merge_requests_url": format!("{web}/-/merge_requests?release_tag={enc}&scope=all&state=closed"),
                "edit_url": format!("{web}/-/releases/{enc}/edit"),
                "merged_merge_requests_url": format!("{web}/-/merge_requests?release_tag={enc}&scope=all&state=merged"),
                "opened_issues_url": format!("{web}/-/issues?release_tag={enc}&scope=all&state=opened"),
                "opened_merge_requests_url": format!("{web}/-/merge_requests?release_tag={enc}&scope=all&state=opened"),
                "self": format!("{web}/-/releases/{enc}")
            }
        })
    }

    fn list_releases(&self, req: &Req) -> Reply {
        let mut releases: Vec<&Release> = self.releases.values().collect();
        releases.sort_by_key(|r| std::cmp::Reverse(r.released_at));
        let items = releases.iter().map(|r| self.release_json(r)).collect();
        self.paged(req, items)
    }

    fn create_release(&mut self, params: &Map<String, Value>) -> Reply {
        let Some(tag) = param(params, "tag_name") else {
            return Reply::missing("tag_name");
        };
        if self.releases.contains_key(&tag) {
            return Reply::message(StatusCode::CONFLICT, "Release already exists");
        }
        if !self.tags.contains(&tag) {
            match param(params, "ref") {
                Some(_) => {
                    self.tags.insert(tag.clone());
                }
                None if self.cfg.require_existing_tags => {
                    return Reply::message(StatusCode::UNPROCESSABLE_ENTITY, "Ref is not specified")
                }
                None => {}
            }
        }
        let now = unix_now();
        let release = Release {
            tag_name: tag.clone(),
            name: param(params, "name").or_else(|| Some(tag.clone())),
            description: param(params, "description"),
            created_at: now,
            released_at: now,
        };
        self.releases.insert(tag.clone(), release);
        let links = params
            .get("assets")
            .and_then(|a| a.get("links"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for l in links {
            let field = |k: &str| l.get(k).and_then(Value::as_str).map(str::to_string);
            if let (Some(name), Some(url)) = (field("name"), field("url")) {
                let id = self.id();
                self.links.push(LinkRec {
                    id,
                    tag: tag.clone(),
                    name,
                    url,
                    direct_asset_path: field("direct_asset_path"),
                    link_type: field("link_type").unwrap_or_else(|| "other".into()),
                });
            }
        }
        let body = self.release_json(&self.releases[&tag]);
        Reply::created(body)
    }

    fn update_release(&mut self, tag: &str, params: &Map<String, Value>) -> Reply {
        let Some(mut r) = self.releases.get(tag).cloned() else {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not Found");
        };
        if let Some(name) = param(params, "name") {
            r.name = Some(name);
        }
        if let Some(description) = param(params, "description") {
            r.description = Some(description);
        }
        let body = self.release_json(&r);
        self.releases.insert(tag.to_string(), r);
        Reply::ok(body)
    }

    fn create_link(&mut self, tag: &str, params: &Map<String, Value>) -> Reply {
        if !self.releases.contains_key(tag) {
            return Reply::message(StatusCode::NOT_FOUND, "404 Not Found");
        }
        let Some(name) = param(params, "name") else {
            return Reply::missing("name");
        };
        let Some(url) = param(params, "url") else {
            return Reply::missing("url");
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Reply::message(
                StatusCode::BAD_REQUEST,
                json!({ "url": ["is blocked: Only allowed schemes are http, https"] }),
            );
        }
        let path = param(params, "direct_asset_path").or_else(|| param(params, "filepath"));
        let mut taken = Map::new();
        for l in self.links.iter().filter(|l| l.tag == tag) {
            if l.name == name {
                taken.insert("name".into(), json!(["has already been taken"]));
            }
            if l.url == url {
                taken.insert("url".into(), json!(["has already been taken"]));
            }
            if path.is_some() && l.direct_asset_path == path {
                taken.insert("filepath".into(), json!(["has already been taken"]));
            }
        }
        if !taken.is_empty() {
            return Reply::message(StatusCode::BAD_REQUEST, Value::Object(taken));
        }
        let id = self.id();
        let link = LinkRec {
            id,
            tag: tag.to_string(),
            name,
            url,
            direct_asset_path: path,
            link_type: param(params, "link_type").unwrap_or_else(|| "other".into()),
        };
        let body = self.link_json(&link);
        self.links.push(link);
        Reply::created(body)
    }

    // ----- packages -----------------------------------------------------------------

    fn store_package_file(
        &mut self,
        package: &str,
        version: &str,
        file_name: &str,
        bytes: &[u8],
    ) -> PackageFileRec {
        let now = unix_now();
        let package_id = match self
            .packages
            .values()
            .find(|p| p.name == package && p.version == version)
        {
            Some(p) => p.id,
            None => {
                let id = self.id();
                self.packages.insert(
                    id,
                    PackageRec {
                        id,
                        name: package.to_string(),
                        version: version.to_string(),
                        created_at: now,
                    },
                );
                id
            }
        };
        let id = self.id();
        let file = PackageFileRec {
            id,
            package_id,
            file_name: file_name.to_string(),
            bytes: bytes.to_vec(),
            created_at: now,
        };
        self.package_files.insert(id, file.clone());
        file
    }

    fn package_json(&self, p: &PackageRec) -> Value {
        json!({
            "id": p.id,
            "name": p.name,
            "version": p.version,
            "package_type": "generic",
            "status": "default",
            "_links": {
                "web_path": format!("/{}/-/packages/{}", self.cfg.path, p.id),
                "delete_api_path": format!("{}/packages/{}", self.api_project(), p.id)
            },
            "created_at": iso8601(p.created_at),
            "last_downloaded_at": null,
            "pipelines": [],
            "tags": []
        })
    }

    fn package_file_json(&self, f: &PackageFileRec) -> Value {
        json!({
            "id": f.id,
            "package_id": f.package_id,
            "created_at": iso8601(f.created_at),
            "file_name": f.file_name,
            "size": f.bytes.len(),
            "file_md5": null,
            "file_sha1": null,
            "file_sha256": sha256_hex(&f.bytes),
            "pipelines": []
        })
    }

    fn list_packages(&self, req: &Req, params: &Map<String, Value>) -> Reply {
        if let Some(t) = param(params, "package_type") {
            if t != "generic" {
                return self.paged(req, Vec::new());
            }
        }
        let name = param(params, "package_name").map(|n| n.to_lowercase());
        let version = param(params, "package_version");
        let items = self
            .packages
            .values()
            .filter(|p| {
                name.as_ref()
                    .is_none_or(|n| p.name.to_lowercase().contains(n.as_str()))
            })
            .filter(|p| version.as_ref().is_none_or(|v| *v == p.version))
            .map(|p| self.package_json(p))
            .collect();
        self.paged(req, items)
    }

    fn list_package_files(&self, req: &Req, id: &str) -> Reply {
        let Some(id) = id
            .parse::<u64>()
            .ok()
            .filter(|id| self.packages.contains_key(id))
        else {
            return Reply::not_found("Package");
        };
        let items = self
            .package_files
            .values()
            .filter(|f| f.package_id == id)
            .map(|f| self.package_file_json(f))
            .collect();
        self.paged(req, items)
    }

    fn upload_generic(&mut self, req: &Req, name: &str, version: &str, file: &str) -> Reply {
        if !valid_generic_name(name) {
            return Reply::invalid("package_name");
        }
        if !valid_generic_version(version) {
            return Reply::invalid("package_version");
        }
        if !valid_generic_name(file) {
            return Reply::invalid("file_name");
        }
        let stored = self.store_package_file(name, version, file, &req.body);
        if req.q("select") == Some("package_file") {
            let mut body = self.package_file_json(&stored);
            if let Some(obj) = body.as_object_mut() {
                obj.insert("updated_at".into(), json!(iso8601(stored.created_at)));
                obj.insert("file_store".into(), json!(1));
                obj.insert(
                    "file".into(),
                    json!({ "url": format!("/{}/packages/{}/files/{}/{}", &sha256_hex(&stored.bytes)[..2], stored.package_id, stored.id, file) }),
                );
                obj.insert("verification_state".into(), json!(0));
            }
            return Reply::created(body);
        }
        Reply::message(StatusCode::CREATED, "201 Created")
    }

    fn download_generic(&mut self, name: &str, version: &str, file: &str) -> Reply {
        let newest = self
            .package_files
            .values()
            .filter(|f| {
                f.file_name == file
                    && self
                        .packages
                        .get(&f.package_id)
                        .is_some_and(|p| p.name == name && p.version == version)
            })
            .max_by_key(|f| f.id)
            .cloned();
        let Some(f) = newest else {
            return Reply::not_found("Package");
        };
        if self.redirect_downloads {
            let id = self.id();
            self.external_files.insert(id, f.bytes);
            let location = format!(
                "{}/files/{id}?X-Amz-Signature=0f0f0f0f",
                self.external_origin
            );
            return Reply {
                status: StatusCode::FOUND,
                headers: vec![("location".into(), location)],
                body: Vec::new(),
            };
        }
        Reply {
            status: StatusCode::OK,
            headers: vec![("content-type".into(), "application/octet-stream".into())],
            body: f.bytes,
        }
    }

    // ----- milestones -------------------------------------------------------------

    fn milestone_json(&self, m: &MilestoneRec) -> Value {
        json!({
            "id": m.id,
            "iid": m.iid,
            "project_id": self.cfg.project_id,
            "title": m.title,
            "description": "",
            "state": if m.closed { "closed" } else { "active" },
            "created_at": iso8601(m.created_at),
            "updated_at": iso8601(m.created_at),
            "due_date": null,
            "start_date": null,
            "expired": false,
            "web_url": format!("{}/-/milestones/{}", self.web(), m.iid)
        })
    }

    fn list_milestones(&self, req: &Req, params: &Map<String, Value>) -> Reply {
        let title = param(params, "title");
        let state = param(params, "state");
        let search = param(params, "search").map(|s| s.to_lowercase());
        let items = self
            .milestones
            .values()
            .filter(|m| title.as_ref().is_none_or(|t| *t == m.title))
            .filter(|m| match state.as_deref() {
                Some("active") => !m.closed,
                Some("closed") => m.closed,
                _ => true,
            })
            .filter(|m| {
                search
                    .as_ref()
                    .is_none_or(|s| m.title.to_lowercase().contains(s.as_str()))
            })
            .map(|m| self.milestone_json(m))
            .collect();
        self.paged(req, items)
    }

    fn milestone_issues(&self, req: &Req, id: &str) -> Reply {
        let Some(m) = id
            .parse::<u64>()
            .ok()
            .and_then(|id| self.milestones.get(&id))
        else {
            return Reply::not_found("Milestone");
        };
        let web = self.web();
        let items = self
            .issues
            .iter()
            .filter(|i| i.milestone_id == m.id)
            .map(|i| {
                json!({
                    "id": i.id,
                    "iid": i.iid,
                    "project_id": self.cfg.project_id,
                    "title": format!("Issue {}", i.iid),
                    "description": "",
                    "state": if i.closed { "closed" } else { "opened" },
                    "created_at": iso8601(i.created_at),
                    "updated_at": iso8601(i.created_at),
                    "closed_at": if i.closed { json!(iso8601(i.created_at)) } else { Value::Null },
                    "labels": [],
                    "milestone": self.milestone_json(m),
                    "author": self.user_json(),
                    "assignees": [],
                    "web_url": format!("{web}/-/issues/{}", i.iid)
                })
            })
            .collect();
        self.paged(req, items)
    }

    // ----- commit statuses -----------------------------------------------------------

    fn list_statuses(&self, req: &Req, sha: &str, params: &Map<String, Value>) -> Reply {
        if !is_hex_sha(sha) {
            return Reply::not_found("Commit");
        }
        let all = param(params, "all").as_deref() == Some("true");
        let name = param(params, "name");
        let mut chosen: Vec<&StatusRec> = Vec::new();
        for st in self.statuses.iter().filter(|st| st.sha == sha) {
            if name.as_ref().is_some_and(|n| *n != st.name) {
                continue;
            }
            if !all {
                chosen.retain(|c| c.name != st.name);
            }
            chosen.push(st);
        }
        let items = chosen
            .iter()
            .map(|st| {
                json!({
                    "id": st.id,
                    "sha": st.sha,
                    "ref": "main",
                    "status": st.status,
                    "name": st.name,
                    "target_url": format!("{}/-/jobs/{}", self.web(), st.id),
                    "description": null,
                    "created_at": iso8601(st.created_at),
                    "started_at": null,
                    "finished_at": null,
                    "allow_failure": st.allow_failure,
                    "coverage": null,
                    "pipeline_id": 1,
                    "author": self.user_json()
                })
            })
            .collect();
        self.paged(req, items)
    }
}
