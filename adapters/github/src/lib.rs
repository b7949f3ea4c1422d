//! # ferry-github — the `Forge` port on the GitHub REST API
//!
//! [`GitHubForge`] implements [`ferry_ports::Forge`] for one repository on github.com
//! or GitHub Enterprise Server, through [octocrab](https://docs.rs/octocrab)'s HTTP
//! client (hyper 1 + rustls with the platform's root certificates; no OpenSSL).
//!
//! ```no_run
//! # async fn demo() -> ferry_ports::PortResult<()> {
//! use ferry_github::{GitHubConfig, GitHubForge};
//! let forge = GitHubForge::new(GitHubConfig::from_env("acme", "widgets")?)?;
//! # let _ = forge; Ok(()) }
//! ```
//!
//! Pull requests, labels, comments, releases (drafts included), release assets,
//! milestones, the combined CI state (commit statuses and check runs) and
//! collaborators' permissions map to the documented REST
//! endpoints listed in `docs/adapters/github.md`. Rate-limited and transient failures
//! are retried per [`RetryPolicy`]; every failure is a [`PortError`] whose message
//! carries GitHub's reason and never the token.

mod client;
mod config;
mod model;

pub use config::{
    GitHubConfig, RetryPolicy, API_URL_ENV, GITHUB_API_URL, GITHUB_UPLOAD_URL, TOKEN_ENV,
};

use client::{Client, Payload};
use ferry_ports::{
    async_trait, ChangeRequest, ChangeRequestState, CommitId, CommitStatus, ErrorKind, Forge,
    ForgeCapabilities, Milestone, NewChangeRequest, Permission, PortError, PortResult,
    ReleaseAsset, ReleaseEntry, ReleaseUpdate, Sha256Digest, TagName,
};
use http::Method;
use sha2::{Digest, Sha256};
use std::fmt;

/// A [`Forge`] on one GitHub repository.
///
/// Create it inside a Tokio runtime and use it there: octocrab runs its client on
/// the runtime it was built in. `Debug` shows where it points, never the token.
pub struct GitHubForge {
    client: Client,
    owner: String,
    repo: String,
    base_url: String,
}

impl fmt::Debug for GitHubForge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubForge")
            .field("base_url", &self.base_url)
            .field("owner", &self.owner)
            .field("repo", &self.repo)
            .field("token", &"[redacted]")
            .finish()
    }
}

impl GitHubForge {
    /// A forge for `config.owner/config.repo`. Fails with `InvalidInput` on a bad URL,
    /// owner, repo or token (the message never shows the token), `Unauthenticated` on
    /// an empty token. Makes no request.
    pub fn new(config: GitHubConfig) -> PortResult<Self> {
        let client = Client::new(&config)?;
        Ok(GitHubForge {
            client,
            owner: config.owner,
            repo: config.repo,
            base_url: config.base_url,
        })
    }

    fn repo_url(&self, rest: &[&str]) -> url::Url {
        let mut segs = vec!["repos", self.owner.as_str(), self.repo.as_str()];
        segs.extend_from_slice(rest);
        self.client.api_url(&segs)
    }

    fn slug(&self) -> String {
        format!("{}/{}", self.owner, self.repo)
    }

    // ----- pull requests ---------------------------------------------------------

    fn to_change_request(&self, pr: model::Pull) -> PortResult<ChangeRequest> {
        let merged = pr.merged.unwrap_or(false) || pr.merged_at.is_some();
        let state = if merged {
            ChangeRequestState::Merged
        } else if pr.state == "closed" {
            ChangeRequestState::Closed
        } else {
            ChangeRequestState::Open
        };
        let merge_commit = match (merged, pr.merge_commit_sha) {
            (true, Some(sha)) => Some(CommitId::new(sha).map_err(|e| {
                PortError::other(format!(
                    "GitHub reported pull request #{} merged as an invalid commit id: {}",
                    pr.number,
                    e.message()
                ))
            })?),
            _ => None,
        };
        let mut labels: Vec<String> = pr.labels.into_iter().map(|l| l.name).collect();
        labels.sort();
        labels.dedup();
        let mut cr = ChangeRequest::open(
            pr.number,
            pr.title,
            pr.body.unwrap_or_default(),
            self.branch_name(&pr.head),
            pr.base.ref_name,
        );
        cr.state = state;
        cr.merge_commit = merge_commit;
        cr.labels = labels;
        cr.url = pr.html_url;
        Ok(cr)
    }

    /// `release/next` for a branch of this repository, `fork-owner:branch` otherwise.
    fn branch_name(&self, branch: &model::Branch) -> String {
        match branch.label.split_once(':') {
            Some((owner, _)) if !owner.eq_ignore_ascii_case(&self.owner) => branch.label.clone(),
            _ => branch.ref_name.clone(),
        }
    }

    /// The `head` filter GitHub wants: `owner:branch`.
    fn head_filter(&self, head: &str) -> String {
        if head.contains(':') {
            head.to_string()
        } else {
            format!("{}:{head}", self.owner)
        }
    }

    async fn fetch_pull(&self, number: u64) -> PortResult<model::Pull> {
        let what = format!("get pull request #{number} of {}", self.slug());
        self.client
            .get(&self.repo_url(&["pulls", &number.to_string()]), &what)
            .await
            .map_err(|e| {
                renamed_not_found(e, || {
                    format!("no pull request #{number} in {}", self.slug())
                })
            })
    }

    // ----- releases ----------------------------------------------------------------

    fn to_release(&self, r: model::Release) -> PortResult<ReleaseEntry> {
        let tag = TagName::new(r.tag_name.clone()).map_err(|e| {
            PortError::other(format!(
                "GitHub release {} has a tag ferry cannot use: {}",
                r.id,
                e.message()
            ))
        })?;
        let name = r
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| r.tag_name.clone());
        let mut entry = ReleaseEntry::new(r.id.to_string(), tag, name, r.body.unwrap_or_default());
        entry.draft = r.draft;
        entry.prerelease = r.prerelease;
        entry.url = r.html_url;
        Ok(entry)
    }

    fn release_id(&self, id: &str) -> PortResult<u64> {
        id.parse::<u64>().ok().filter(|n| *n > 0).ok_or_else(|| {
            PortError::not_found(format!(
                "no release with id {id:?} in {} (GitHub release ids are numbers)",
                self.slug()
            ))
        })
    }

    /// Every asset of a release, uploaded or not.
    async fn raw_assets(&self, release_id: u64) -> PortResult<Vec<model::Asset>> {
        let what = format!("list the assets of release {release_id} in {}", self.slug());
        let url = self.repo_url(&["releases", &release_id.to_string(), "assets"]);
        let mut all = Vec::new();
        self.client
            .pages(url, &what, |page: Vec<model::Asset>| {
                all.extend(page);
                Ok(false)
            })
            .await
            .map_err(|e| {
                renamed_not_found(e, || {
                    format!("no release with id {release_id} in {}", self.slug())
                })
            })?;
        Ok(all)
    }

    /// The asset with its digest: GitHub's `digest`, or the SHA-256 of its content.
    async fn to_asset(&self, a: &model::Asset) -> PortResult<ReleaseAsset> {
        let digest = match a.digest.as_deref().and_then(|d| d.strip_prefix("sha256:")) {
            Some(hex) => Sha256Digest::parse(hex).map_err(|e| {
                PortError::other(format!(
                    "GitHub reported an unreadable digest for asset {}: {}",
                    a.name,
                    e.message()
                ))
            })?,
            None => self.hash_asset(a).await?,
        };
        Ok(ReleaseAsset::new(
            a.name.clone(),
            a.size,
            digest,
            a.browser_download_url.clone(),
        ))
    }

    async fn hash_asset(&self, a: &model::Asset) -> PortResult<Sha256Digest> {
        let url = self.repo_url(&["releases", "assets", &a.id.to_string()]);
        let what = format!(
            "download asset {} of {} to compute its digest",
            a.name,
            self.slug()
        );
        let mut hasher = Sha256::new();
        self.client
            .download(&url, &what, |chunk| hasher.update(chunk))
            .await?;
        Ok(Sha256Digest::from_bytes(hasher.finalize().into()))
    }

    async fn delete_asset(&self, a: &model::Asset) -> PortResult<()> {
        let url = self.repo_url(&["releases", "assets", &a.id.to_string()]);
        let what = format!("delete the incomplete upload {} in {}", a.name, self.slug());
        match self
            .client
            .send(Method::DELETE, &url, &Payload::None, &what)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Same name and digest → that asset; same name, other digest → `AlreadyExists`.
    async fn existing_asset(
        &self,
        release_id: u64,
        name: &str,
        digest: &Sha256Digest,
    ) -> PortResult<Option<ReleaseAsset>> {
        let Some(found) = self
            .raw_assets(release_id)
            .await?
            .into_iter()
            .find(|a| a.name == name && a.state == "uploaded")
        else {
            return Ok(None);
        };
        let asset = self.to_asset(&found).await?;
        if &asset.sha256 == digest {
            Ok(Some(asset))
        } else {
            Err(PortError::already_exists(format!(
                "release {release_id} of {} already has an asset {name} with digest {}; refusing to replace it with {digest}",
                self.slug(),
                asset.sha256
            )))
        }
    }

    // ----- statuses ------------------------------------------------------------------

    async fn statuses_state(&self, sha: &str) -> PortResult<Option<CommitStatus>> {
        let what = format!("read the combined status of {sha} in {}", self.slug());
        let mut url = self.repo_url(&["commits", sha, "status"]);
        url.query_pairs_mut().append_pair("per_page", "100");
        let combined: model::CombinedStatus = self.client.get(&url, &what).await?;
        if combined.total_count == 0 {
            // GitHub says "pending" when no status exists at all: nothing reported.
            return Ok(None);
        }
        Ok(Some(match combined.state.as_str() {
            "success" => CommitStatus::Success,
            "pending" => CommitStatus::Pending,
            _ => CommitStatus::Failure,
        }))
    }

    async fn checks_state(&self, sha: &str) -> PortResult<Option<CommitStatus>> {
        let what = format!("list the check runs of {sha} in {}", self.slug());
        let url = self.repo_url(&["commits", sha, "check-runs"]);
        let (mut any, mut failed, mut pending) = (false, false, false);
        self.client
            .pages(url, &what, |page: model::CheckRuns| {
                for run in page.check_runs {
                    any = true;
                    if run.status != "completed" {
                        pending = true;
                        continue;
                    }
                    match run.conclusion.as_deref() {
                        Some("success" | "neutral" | "skipped") => {}
                        _ => failed = true,
                    }
                }
                Ok(false)
            })
            .await?;
        Ok(match (any, failed, pending) {
            (false, _, _) => None,
            (_, true, _) => Some(CommitStatus::Failure),
            (_, _, true) => Some(CommitStatus::Pending),
            _ => Some(CommitStatus::Success),
        })
    }
}

/// A 404 from GitHub, reworded for the caller (GitHub also answers 404 when the token
/// cannot see the repository).
fn renamed_not_found(e: PortError, message: impl FnOnce() -> String) -> PortError {
    if e.kind() == ErrorKind::NotFound {
        PortError::not_found(format!(
            "{} (or the token cannot see the repository): {}",
            message(),
            e.message()
        ))
    } else {
        e
    }
}

/// `owner:branch` labels are equal: owners compare without case (GitHub logins are
/// case-insensitive), branches exactly.
fn same_label(a: &str, b: &str) -> bool {
    match (a.split_once(':'), b.split_once(':')) {
        (Some((ao, ab)), Some((bo, bb))) => ao.eq_ignore_ascii_case(bo) && ab == bb,
        _ => a == b,
    }
}

/// Combine the commit-status and check-run verdicts: any failure fails, then any
/// pending is pending, then any success succeeds; nothing reported is `Unknown`.
fn combine(a: Option<CommitStatus>, b: Option<CommitStatus>) -> CommitStatus {
    let both = [a, b];
    if both.contains(&Some(CommitStatus::Failure)) {
        CommitStatus::Failure
    } else if both.contains(&Some(CommitStatus::Pending)) {
        CommitStatus::Pending
    } else if both.contains(&Some(CommitStatus::Success)) {
        CommitStatus::Success
    } else {
        CommitStatus::Unknown
    }
}

/// A collaborator's permission: the full `role_name` when it is one of GitHub's base
/// roles (it tells `maintain` and `triage` apart), else — a custom role, or an older
/// server without `role_name` — the legacy `permission` the role is based on. Anything
/// unrecognised is `None`: access is never assumed.
fn to_permission(answer: &model::CollaboratorPermission) -> Permission {
    let parse = |s: &str| match s.to_ascii_lowercase().as_str() {
        "admin" => Some(Permission::Admin),
        "maintain" => Some(Permission::Maintain),
        "write" => Some(Permission::Write),
        "triage" => Some(Permission::Triage),
        "read" => Some(Permission::Read),
        "none" => Some(Permission::None),
        _ => None,
    };
    answer
        .role_name
        .as_deref()
        .and_then(parse)
        .or_else(|| parse(&answer.permission))
        .unwrap_or(Permission::None)
}

/// Names GitHub keeps as they are; it renames others (spaces, `~`, `:`, `(`…), which
/// would break finding the asset again by name.
fn check_asset_name(name: &str) -> PortResult<()> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(PortError::invalid_input(format!(
            "release asset name {name:?} would be renamed by GitHub; use only letters, digits, '.', '-' and '_', not starting or ending with '.'"
        )))
    }
}

#[async_trait]
impl Forge for GitHubForge {
    fn capabilities(&self) -> ForgeCapabilities {
        ForgeCapabilities::full()
    }

    async fn create_change_request(&self, request: &NewChangeRequest) -> PortResult<ChangeRequest> {
        let what = format!(
            "open a pull request from {} into {} in {}",
            request.head,
            request.base,
            self.slug()
        );
        let body = model::NewPull {
            title: &request.title,
            head: &request.head,
            base: &request.base,
            body: &request.body,
        };
        let pr: model::Pull = self
            .client
            .send_json(Method::POST, &self.repo_url(&["pulls"]), &body, &what)
            .await?;
        let mut cr = self.to_change_request(pr)?;
        if !request.labels.is_empty() {
            self.add_labels(cr.number, &request.labels).await?;
            cr.labels.extend(request.labels.iter().cloned());
            cr.labels.sort();
            cr.labels.dedup();
        }
        Ok(cr)
    }

    async fn find_open_change_request(
        &self,
        head: &str,
        base: &str,
    ) -> PortResult<Option<ChangeRequest>> {
        let what = format!(
            "look for an open pull request from {head} into {base} in {}",
            self.slug()
        );
        let head_filter = self.head_filter(head);
        let mut url = self.repo_url(&["pulls"]);
        url.query_pairs_mut()
            .append_pair("state", "open")
            .append_pair("head", &head_filter)
            .append_pair("base", base);
        let mut found = None;
        self.client
            .pages(url, &what, |page: Vec<model::Pull>| {
                found = page.into_iter().find(|pr| {
                    pr.state == "open"
                        && pr.base.ref_name == base
                        && same_label(&pr.head.label, &head_filter)
                });
                Ok(found.is_some())
            })
            .await?;
        found.map(|pr| self.to_change_request(pr)).transpose()
    }

    async fn get_change_request(&self, number: u64) -> PortResult<ChangeRequest> {
        let pr = self.fetch_pull(number).await?;
        self.to_change_request(pr)
    }

    async fn update_change_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> PortResult<ChangeRequest> {
        // GitHub lets a merged or closed pull request be edited; the contract does not.
        let current = self.to_change_request(self.fetch_pull(number).await?)?;
        if current.state != ChangeRequestState::Open {
            return Err(PortError::precondition_failed(format!(
                "pull request #{number} of {} is no longer open ({}); not editing it",
                self.slug(),
                match current.state {
                    ChangeRequestState::Merged => "merged",
                    _ => "closed",
                }
            )));
        }
        if current.title == title && current.body == body {
            return Ok(current);
        }
        let what = format!("edit pull request #{number} of {}", self.slug());
        let pr: model::Pull = self
            .client
            .send_json(
                Method::PATCH,
                &self.repo_url(&["pulls", &number.to_string()]),
                &model::PullEdit { title, body },
                &what,
            )
            .await?;
        self.to_change_request(pr)
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> PortResult<()> {
        if labels.is_empty() {
            return Ok(());
        }
        let what = format!("label pull request #{number} of {}", self.slug());
        let _: Vec<model::Label> = self
            .client
            .send_json(
                Method::POST,
                &self.repo_url(&["issues", &number.to_string(), "labels"]),
                &model::AddLabels { labels },
                &what,
            )
            .await
            .map_err(|e| {
                renamed_not_found(e, || {
                    format!("no pull request #{number} in {}", self.slug())
                })
            })?;
        Ok(())
    }

    async fn create_release(
        &self,
        tag: &TagName,
        release: &ReleaseUpdate,
    ) -> PortResult<ReleaseEntry> {
        // GitHub refuses a second *published* release for a tag, but happily creates
        // any number of drafts for it: check first, drafts included.
        if let Some(existing) = self.find_release(tag).await? {
            return Err(PortError::already_exists(format!(
                "{} already has a release for tag {tag} (id {}{})",
                self.slug(),
                existing.id,
                if existing.draft { ", draft" } else { "" }
            )));
        }
        let what = format!("create a release for tag {tag} in {}", self.slug());
        let body = model::ReleaseWrite {
            tag_name: Some(tag.as_str()),
            name: release.name.as_deref(),
            body: release.notes.as_deref(),
            draft: release.draft,
            prerelease: release.prerelease,
        };
        let r: model::Release = self
            .client
            .send_json(Method::POST, &self.repo_url(&["releases"]), &body, &what)
            .await?;
        self.to_release(r)
    }

    async fn find_release(&self, tag: &TagName) -> PortResult<Option<ReleaseEntry>> {
        let what = format!("look up the release of tag {tag} in {}", self.slug());
        let url = self.repo_url(&["releases", "tags", tag.as_str()]);
        if let Some(r) = self
            .client
            .get_optional::<model::Release>(&url, &what)
            .await?
        {
            return self.to_release(r).map(Some);
        }
        // Drafts are not served by tag: page through every release for them. Several
        // drafts may carry the tag; the oldest (lowest id) is the one reported.
        let what = format!("look for a draft release of tag {tag} in {}", self.slug());
        let mut draft: Option<model::Release> = None;
        self.client
            .pages(
                self.repo_url(&["releases"]),
                &what,
                |page: Vec<model::Release>| {
                    for r in page {
                        if r.tag_name == tag.as_str() && draft.as_ref().is_none_or(|d| r.id < d.id)
                        {
                            draft = Some(r);
                        }
                    }
                    Ok(false)
                },
            )
            .await?;
        draft.map(|r| self.to_release(r)).transpose()
    }

    async fn update_release(&self, id: &str, update: &ReleaseUpdate) -> PortResult<ReleaseEntry> {
        let release_id = self.release_id(id)?;
        let url = self.repo_url(&["releases", &release_id.to_string()]);
        let not_found = || format!("no release with id {release_id} in {}", self.slug());
        let what = format!("update release {release_id} of {}", self.slug());
        let body = model::ReleaseWrite {
            tag_name: None,
            name: update.name.as_deref(),
            body: update.notes.as_deref(),
            draft: update.draft,
            prerelease: update.prerelease,
        };
        let r: model::Release = if *update == ReleaseUpdate::default() {
            self.client.get(&url, &what).await
        } else {
            self.client
                .send_json(Method::PATCH, &url, &body, &what)
                .await
        }
        .map_err(|e| renamed_not_found(e, not_found))?;
        self.to_release(r)
    }

    async fn list_assets(&self, release_id: &str) -> PortResult<Vec<ReleaseAsset>> {
        let id = self.release_id(release_id)?;
        let mut out = Vec::new();
        for a in self.raw_assets(id).await? {
            if a.state == "uploaded" {
                out.push(self.to_asset(&a).await?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn upload_asset(
        &self,
        release_id: &str,
        name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> PortResult<ReleaseAsset> {
        let id = self.release_id(release_id)?;
        check_asset_name(name)?;
        let digest = Sha256Digest::from_bytes(Sha256::digest(&bytes).into());
        let assets = self.raw_assets(id).await?;
        if let Some(found) = assets.iter().find(|a| a.name == name) {
            if found.state == "uploaded" {
                let asset = self.to_asset(found).await?;
                if asset.sha256 == digest {
                    return Ok(asset);
                }
                return Err(PortError::already_exists(format!(
                    "release {id} of {} already has an asset {name} with digest {}; refusing to replace it with {digest}",
                    self.slug(),
                    asset.sha256
                )));
            }
            // An interrupted upload holds the name without content: clear it.
            self.delete_asset(found).await?;
        }

        let what = format!("upload {name} to release {id} of {}", self.slug());
        let mut url = self.client.upload_url(&[
            "repos",
            &self.owner,
            &self.repo,
            "releases",
            &id.to_string(),
            "assets",
        ]);
        url.query_pairs_mut().append_pair("name", name);
        let content_type = if content_type.trim().is_empty() {
            "application/octet-stream"
        } else {
            content_type
        };
        let payload = Payload::Bytes {
            bytes: &bytes,
            content_type,
        };
        let uploaded: model::Asset =
            match self.client.send(Method::POST, &url, &payload, &what).await {
                Ok(resp) => resp.json(&what)?,
                // Someone (or an earlier attempt of ours) got there first: compare.
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    return match self.existing_asset(id, name, &digest).await? {
                        Some(asset) => Ok(asset),
                        None => Err(e),
                    };
                }
                Err(e) => {
                    return Err(renamed_not_found(e, || {
                        format!("no release with id {id} in {}", self.slug())
                    }))
                }
            };
        if let Some(reported) = uploaded
            .digest
            .as_deref()
            .and_then(|d| d.strip_prefix("sha256:"))
        {
            if Sha256Digest::parse(reported).ok() != Some(digest) {
                return Err(PortError::other(format!(
                    "GitHub stored asset {name} of release {id} with digest sha256:{reported}, not the {digest} that was sent; delete the asset and upload again"
                )));
            }
        }
        Ok(ReleaseAsset::new(
            uploaded.name,
            bytes.len() as u64,
            digest,
            uploaded.browser_download_url,
        ))
    }

    async fn milestone(&self, title: &str) -> PortResult<Option<Milestone>> {
        let what = format!("look up milestone {title:?} in {}", self.slug());
        let mut url = self.repo_url(&["milestones"]);
        url.query_pairs_mut().append_pair("state", "all");
        let mut found = None;
        self.client
            .pages(url, &what, |page: Vec<model::Milestone>| {
                found = page.into_iter().find(|m| m.title == title);
                Ok(found.is_some())
            })
            .await?;
        Ok(found
            .map(|m| Milestone::new(m.title, m.open_issues, m.closed_issues, m.state == "closed")))
    }

    async fn commit_status(&self, commit: &CommitId) -> PortResult<CommitStatus> {
        let sha = commit.as_str();
        let statuses = self.statuses_state(sha).await?;
        let checks = self.checks_state(sha).await?;
        Ok(combine(statuses, checks))
    }

    async fn comment(&self, number: u64, body: &str) -> PortResult<()> {
        // Pull requests are issues: their conversation comments are issue comments.
        let what = format!("comment on pull request #{number} of {}", self.slug());
        let _: model::IssueComment = self
            .client
            .send_json(
                Method::POST,
                &self.repo_url(&["issues", &number.to_string(), "comments"]),
                &model::NewComment { body },
                &what,
            )
            .await
            .map_err(|e| {
                renamed_not_found(e, || {
                    format!("no pull request or issue #{number} in {}", self.slug())
                })
            })?;
        Ok(())
    }

    async fn permission(&self, user: &str) -> PortResult<Permission> {
        if user.trim().is_empty() {
            return Ok(Permission::None);
        }
        let what = format!("read the permission of {user} on {}", self.slug());
        let url = self.repo_url(&["collaborators", user, "permission"]);
        // 404: not a collaborator (or no such user).
        Ok(self
            .client
            .get_optional::<model::CollaboratorPermission>(&url, &what)
            .await?
            .map(|answer| to_permission(&answer))
            .unwrap_or(Permission::None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_combine() {
        use CommitStatus::*;
        assert_eq!(combine(None, None), Unknown);
        assert_eq!(combine(Some(Success), None), Success);
        assert_eq!(combine(None, Some(Pending)), Pending);
        assert_eq!(combine(Some(Success), Some(Failure)), Failure);
        assert_eq!(combine(Some(Pending), Some(Failure)), Failure);
        assert_eq!(combine(Some(Success), Some(Pending)), Pending);
    }

    #[test]
    fn labels_compare_owner_without_case_and_branch_exactly() {
        assert!(same_label("Acme:release/next", "acme:release/next"));
        assert!(!same_label("acme:Release/next", "acme:release/next"));
        assert!(!same_label("fork:release/next", "acme:release/next"));
    }

    #[test]
    fn permissions_come_from_role_name_then_the_legacy_permission() {
        let p = |permission: &str, role_name: Option<&str>| {
            to_permission(&model::CollaboratorPermission {
                permission: permission.to_string(),
                role_name: role_name.map(str::to_string),
            })
        };
        assert_eq!(p("admin", Some("admin")), Permission::Admin);
        assert_eq!(p("write", Some("maintain")), Permission::Maintain);
        assert_eq!(p("write", Some("write")), Permission::Write);
        assert_eq!(p("read", Some("triage")), Permission::Triage);
        assert_eq!(p("read", Some("read")), Permission::Read);
        assert_eq!(p("none", Some("none")), Permission::None);
        // A custom role: its base, from the legacy field.
        assert_eq!(p("write", Some("release-manager")), Permission::Write);
        // No role_name (older GitHub Enterprise Server).
        assert_eq!(p("write", None), Permission::Write);
        assert_eq!(p("admin", None), Permission::Admin);
        // Never assume access.
        assert_eq!(p("superuser", Some("x")), Permission::None);
    }

    #[test]
    fn asset_names_github_would_rename_are_refused() {
        for ok in ["a.txt", "pkg-1.0.0.tar.gz", "x_y-z.whl"] {
            assert!(check_asset_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".hidden",
            "trailing.",
            "with space",
            "a~b",
            "a:b",
            "a(b)",
            "é",
        ] {
            assert!(check_asset_name(bad).is_err(), "{bad}");
        }
    }
}
