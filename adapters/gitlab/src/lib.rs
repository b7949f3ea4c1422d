//! # ferry-gitlab — the `Forge` port on the GitLab REST API v4
//!
//! [`GitLabForge`] implements [`ferry_ports::Forge`] for one project on gitlab.com or
//! a self-managed GitLab, with the [`gitlab`](https://docs.rs/gitlab) crate's endpoint
//! builders (`gitlab::api`) run through an [`AsyncClient`](gitlab::api::AsyncClient)
//! of this crate on reqwest + rustls (no OpenSSL).
//!
//! ```no_run
//! # fn demo() -> ferry_ports::PortResult<()> {
//! use ferry_gitlab::{GitLabConfig, GitLabForge};
//! let forge = GitLabForge::new(GitLabConfig::from_env("acme/widgets")?)?;
//! # let _ = forge; Ok(()) }
//! ```
//!
//! Merge requests, labels, merge request notes, releases, release assets (files in the
//! project's generic package registry, attached as release links), milestones, the
//! combined state of a commit's statuses and members' access levels map to the
//! documented endpoints listed in
//! `docs/adapters/gitlab.md`. GitLab has no draft releases:
//! `capabilities().draft_releases` is `false`. Rate-limited and transient failures are
//! retried per [`RetryPolicy`]; every failure is a [`PortError`] whose message carries
//! GitLab's reason and never the token.

mod client;
mod config;
mod endpoints;
mod model;

pub use config::{
    GitLabConfig, RetryPolicy, TokenKind, DEFAULT_ASSET_PACKAGE, GITLAB_URL, JOB_TOKEN_ENV,
    SERVER_URL_ENV, TOKEN_ENV,
};

use client::Client;
use ferry_ports::{
    async_trait, ChangeRequest, ChangeRequestState, CommitId, CommitStatus, ErrorKind, Forge,
    ForgeCapabilities, Milestone, NewChangeRequest, Permission, PortError, PortResult,
    ReleaseAsset, ReleaseEntry, ReleaseUpdate, Sha256Digest, TagName,
};
use gitlab::api::common::{path_escaped, NameOrId};
use gitlab::api::merge_requests::MergeRequestState;
use gitlab::api::projects::members::AllProjectMember;
use gitlab::api::projects::merge_requests::notes::CreateMergeRequestNote;
use gitlab::api::projects::merge_requests::{CreateMergeRequest, EditMergeRequest, MergeRequests};
use gitlab::api::projects::packages::generic::{UploadPackageFile, UploadPackageSelect};
use gitlab::api::projects::packages::package_files::PackageFiles;
use gitlab::api::projects::packages::Packages;
use gitlab::api::projects::releases::links::{CreateReleaseLink, LinkType, ListReleaseLinks};
use gitlab::api::projects::releases::CreateRelease;
use gitlab::api::projects::repository::commits::CommitStatuses;
use gitlab::api::users::Users;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;

/// A [`Forge`] on one GitLab project.
///
/// `Debug` shows where it points, never the token.
pub struct GitLabForge {
    client: Client,
    project: NameOrId<'static>,
    base_url: String,
    asset_package: String,
}

impl fmt::Debug for GitLabForge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitLabForge")
            .field("base_url", &self.base_url)
            .field("project", &self.project_label())
            .field("asset_package", &self.asset_package)
            .field("token", &"[redacted]")
            .finish()
    }
}

fn build_error(what: &str, e: impl fmt::Display) -> PortError {
    PortError::invalid_input(format!("could not build the GitLab request to {what}: {e}"))
}

/// Rename a `NotFound` to say what was missing (GitLab's own reason is only
/// "404 Not found").
fn renamed_not_found(e: PortError, message: impl FnOnce() -> String) -> PortError {
    if e.kind() == ErrorKind::NotFound {
        PortError::not_found(format!("{}; GitLab said: {}", message(), e.message()))
    } else {
        e
    }
}

impl GitLabForge {
    /// A forge for `config.project` on `config.base_url`. Fails with `InvalidInput`
    /// on a bad URL, project, asset package or token (the message never shows the
    /// token) and `Unauthenticated` on an empty token. Makes no request.
    pub fn new(config: GitLabConfig) -> PortResult<Self> {
        let client = Client::new(&config)?;
        let project_text = config.project.trim().to_string();
        let project = match project_text.parse::<u64>() {
            Ok(id) => NameOrId::Id(id),
            Err(_) => NameOrId::from(project_text),
        };
        Ok(GitLabForge {
            client,
            project,
            base_url: config.base_url,
            asset_package: config.asset_package,
        })
    }

    fn project(&self) -> NameOrId<'static> {
        self.project.clone()
    }

    fn project_label(&self) -> String {
        match &self.project {
            NameOrId::Name(n) => n.to_string(),
            NameOrId::Id(id) => format!("project {id}"),
        }
    }

    // ----- merge requests -------------------------------------------------------

    fn to_change_request(&self, mr: model::MergeRequest) -> PortResult<ChangeRequest> {
        let state = match mr.state.as_str() {
            // `locked` is the short state while GitLab merges: not merged yet.
            "opened" | "locked" => ChangeRequestState::Open,
            "merged" => ChangeRequestState::Merged,
            "closed" => ChangeRequestState::Closed,
            other => {
                return Err(PortError::other(format!(
                    "GitLab reported merge request !{} of {} in an unknown state {other:?}",
                    mr.iid,
                    self.project_label()
                )))
            }
        };
        let merge_commit = if state == ChangeRequestState::Merged {
            // A merge commit, else the squash commit, else (fast-forward merge) the
            // source branch's head, which is what landed on the target.
            match mr
                .merge_commit_sha
                .clone()
                .or(mr.squash_commit_sha.clone())
                .or(mr.sha.clone())
            {
                Some(sha) => Some(CommitId::new(sha).map_err(|e| {
                    PortError::other(format!(
                        "GitLab reported merge request !{} merged as an invalid commit id: {}",
                        mr.iid,
                        e.message()
                    ))
                })?),
                None => None,
            }
        } else {
            None
        };
        let mut labels = mr.labels;
        labels.sort();
        labels.dedup();
        let mut cr = ChangeRequest::open(
            mr.iid,
            mr.title,
            mr.description.unwrap_or_default(),
            mr.source_branch,
            mr.target_branch,
        );
        cr.state = state;
        cr.merge_commit = merge_commit;
        cr.labels = labels;
        cr.url = mr.web_url;
        Ok(cr)
    }

    async fn fetch_merge_request(&self, iid: u64) -> PortResult<model::MergeRequest> {
        let what = format!("get merge request !{iid} of {}", self.project_label());
        let endpoint = gitlab::api::projects::merge_requests::MergeRequest::builder()
            .project(self.project())
            .merge_request(iid)
            .build()
            .map_err(|e| build_error(&what, e))?;
        self.client.query(&endpoint, &what).await.map_err(|e| {
            renamed_not_found(e, || {
                format!("no merge request !{iid} in {}", self.project_label())
            })
        })
    }

    // ----- releases ---------------------------------------------------------------

    fn to_release(&self, r: model::Release) -> PortResult<ReleaseEntry> {
        let tag = TagName::new(r.tag_name.clone()).map_err(|e| {
            PortError::other(format!(
                "GitLab release {:?} has a tag ferry cannot use: {}",
                r.tag_name,
                e.message()
            ))
        })?;
        let name = r
            .name
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| r.tag_name.clone());
        let url = r
            .links
            .and_then(|l| l.self_url)
            .unwrap_or_else(|| self.release_web_url(&r.tag_name));
        // The id is the tag: GitLab addresses releases by tag name.
        let mut entry = ReleaseEntry::new(
            r.tag_name.clone(),
            tag,
            name,
            r.description.unwrap_or_default(),
        );
        entry.url = url;
        Ok(entry)
    }

    fn release_web_url(&self, tag: &str) -> String {
        match &self.project {
            NameOrId::Name(path) => format!(
                "{}/{}/-/releases/{}",
                self.base_url.trim_end_matches('/'),
                path,
                path_escaped(tag)
            ),
            _ => String::new(),
        }
    }

    /// The tag a release id names (ids are tags); an id that cannot be a tag names
    /// no release.
    fn release_tag(&self, id: &str) -> PortResult<TagName> {
        TagName::new(id).map_err(|_| {
            PortError::not_found(format!(
                "no release with id {id:?} in {} (GitLab release ids are their tags)",
                self.project_label()
            ))
        })
    }

    /// Every link of a release.
    async fn links(&self, tag: &TagName) -> PortResult<Vec<model::Link>> {
        let what = format!(
            "list the links of release {tag} in {}",
            self.project_label()
        );
        let endpoint = ListReleaseLinks::builder()
            .project(self.project())
            .tag_name(tag.as_str())
            .build()
            .map_err(|e| build_error(&what, e))?;
        let mut all = Vec::new();
        self.client
            .pages(&endpoint, &what, |page: Vec<model::Link>| {
                all.extend(page);
                Ok(false)
            })
            .await
            .map_err(|e| {
                renamed_not_found(e, || {
                    format!("no release for tag {tag} in {}", self.project_label())
                })
            })?;
        Ok(all)
    }

    /// The generic package version that holds the assets of `tag`: the tag with
    /// every character GitLab refuses in a version (and `_`, the escape) written as
    /// `_XX` — `pkg@v1.0.0` → `pkg_40v1.0.0` — so distinct tags never share one.
    fn package_version(&self, tag: &TagName) -> PortResult<String> {
        let version = package_version(tag.as_str());
        if !valid_package_version(&version) {
            return Err(PortError::invalid_input(format!(
                "tag {tag} cannot be made into a GitLab package version ({version:?})"
            )));
        }
        Ok(version)
    }

    /// The API URL of an uploaded asset's file (what the release link points to).
    fn package_file_url(&self, version: &str, file: &str) -> PortResult<url::Url> {
        let path = format!(
            "projects/{}/packages/generic/{}/{}/{}",
            self.project,
            path_escaped(&self.asset_package),
            path_escaped(version),
            path_escaped(file)
        );
        self.client.api_root().join(&path).map_err(|e| {
            PortError::invalid_input(format!("could not form the package URL of {file}: {e}"))
        })
    }

    /// The file name, when `link_url` is a file of this release's generic package.
    fn own_file<'u>(&self, link_url: &'u str, version: &str) -> Option<&'u str> {
        let prefix = self.package_file_url(version, "").ok()?;
        let rest = link_url.strip_prefix(prefix.as_str())?;
        (!rest.is_empty() && !rest.contains(['/', '?', '#'])).then_some(rest)
    }

    /// The newest file of each name in the release's generic package version.
    async fn package_files(
        &self,
        version: &str,
    ) -> PortResult<HashMap<String, model::PackageFile>> {
        let what = format!(
            "list the packages {}/{version} of {}",
            self.asset_package,
            self.project_label()
        );
        let endpoint = Packages::builder()
            .project(self.project())
            .package_name(self.asset_package.as_str())
            .package_version(version)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let mut ids = Vec::new();
        // `package_name` is a fuzzy filter: keep exact matches only.
        self.client
            .pages(&endpoint, &what, |page: Vec<model::Package>| {
                ids.extend(
                    page.into_iter()
                        .filter(|p| {
                            p.name == self.asset_package
                                && p.version == version
                                && p.package_type.as_deref().is_none_or(|t| t == "generic")
                        })
                        .map(|p| p.id),
                );
                Ok(false)
            })
            .await?;
        let mut files: HashMap<String, model::PackageFile> = HashMap::new();
        for id in ids {
            let what = format!("list the files of package {id} of {}", self.project_label());
            let endpoint = PackageFiles::builder()
                .project(self.project())
                .package_id(id)
                .build()
                .map_err(|e| build_error(&what, e))?;
            self.client
                .pages(&endpoint, &what, |page: Vec<model::PackageFile>| {
                    for f in page {
                        if files.get(&f.file_name).is_none_or(|old| old.id < f.id) {
                            files.insert(f.file_name.clone(), f);
                        }
                    }
                    Ok(false)
                })
                .await?;
        }
        Ok(files)
    }

    /// A link as an asset with its size and digest: from the package registry for
    /// files ferry uploaded, else by downloading the link's target.
    async fn to_asset(
        &self,
        link: &model::Link,
        version: &str,
        files: &HashMap<String, model::PackageFile>,
    ) -> PortResult<ReleaseAsset> {
        let url = link
            .direct_asset_url
            .clone()
            .unwrap_or_else(|| link.url.clone());
        if let Some(file) = self.own_file(&link.url, version).and_then(|n| files.get(n)) {
            if let Some(hex) = &file.file_sha256 {
                let digest = Sha256Digest::parse(hex).map_err(|e| {
                    PortError::other(format!(
                        "GitLab reported an unreadable digest for {}: {}",
                        link.name,
                        e.message()
                    ))
                })?;
                return Ok(ReleaseAsset::new(link.name.clone(), file.size, digest, url));
            }
        }
        let target = url::Url::parse(&link.url).map_err(|e| {
            PortError::other(format!(
                "release link {} does not point to a URL ferry can download ({e})",
                link.name
            ))
        })?;
        let what = format!("compute the digest of release asset {}", link.name);
        let (size, digest) = self.client.download_sha256(&target, &what).await?;
        Ok(ReleaseAsset::new(link.name.clone(), size, digest, url))
    }

    /// The link named `name` as an asset, if the release has one.
    async fn existing_asset(
        &self,
        tag: &TagName,
        version: &str,
        name: &str,
    ) -> PortResult<Option<ReleaseAsset>> {
        let links = self.links(tag).await?;
        let Some(link) = links.iter().find(|l| l.name == name) else {
            return Ok(None);
        };
        let files = if self.own_file(&link.url, version).is_some() {
            self.package_files(version).await?
        } else {
            HashMap::new()
        };
        self.to_asset(link, version, &files).await.map(Some)
    }
}

/// `pkg@v1.0.0` → `pkg_40v1.0.0`: letters, digits, `.`, `-`, `+` kept; every other
/// byte as `_XX` (upper-case hex), `_` included, so the mapping is one-to-one.
fn package_version(tag: &str) -> String {
    let mut out = String::with_capacity(tag.len());
    for b in tag.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+') {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02X}"));
        }
    }
    out
}

/// GitLab's version rule for generic packages, `\A(\.?[\w\+-]+\.?)+\z`.
fn valid_package_version(v: &str) -> bool {
    v.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+'))
        && v.bytes().any(|b| b != b'.')
        && !v.contains("...")
        && !v.starts_with("..")
        && !v.ends_with("..")
}

/// A file name the generic package registry accepts (letters, digits, `.`, `-`,
/// `_`); anything else is refused rather than silently renamed.
fn check_asset_name(name: &str) -> PortResult<()> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(PortError::invalid_input(format!(
            "asset name {name:?} is not accepted by GitLab's generic package registry; \
             use letters, digits, '.', '-' and '_' only"
        )))
    }
}

fn check_labels(labels: &[String]) -> PortResult<()> {
    if let Some(bad) = labels
        .iter()
        .find(|l| l.contains(',') || l.trim().is_empty())
    {
        return Err(PortError::invalid_input(format!(
            "label {bad:?} cannot be sent to GitLab: labels are passed comma-separated and must not be empty or contain ','"
        )));
    }
    Ok(())
}

/// A member's access level as a [`Permission`]: Guest (10) and Planner (15) → `Read`,
/// Reporter (20) → `Triage`, Developer (30) → `Write`, Maintainer (40) → `Maintain`,
/// Owner (50) and above → `Admin`; no or minimal access → `None`. A blocked user or a
/// membership waiting for a seat has no access.
fn to_permission(member: &model::Member) -> Permission {
    let inactive = |s: &Option<String>| s.as_deref().is_some_and(|s| s != "active");
    if inactive(&member.state) || inactive(&member.membership_state) {
        return Permission::None;
    }
    match member.access_level {
        50.. => Permission::Admin,
        40..=49 => Permission::Maintain,
        30..=39 => Permission::Write,
        20..=29 => Permission::Triage,
        10..=19 => Permission::Read,
        _ => Permission::None,
    }
}

/// The combined state of a commit's statuses (CI jobs included): a failure (unless
/// allowed to fail) or a cancellation fails it; anything still to run keeps it
/// pending; otherwise any success makes it succeed. Skipped and manual ones do not
/// count; none at all is `Unknown`.
fn combine(statuses: &[model::CommitStatus]) -> CommitStatus {
    let mut pending = false;
    let mut success = false;
    for s in statuses {
        match s.status.as_str() {
            "failed" if s.allow_failure => success = true,
            "failed" | "canceled" | "canceling" => return CommitStatus::Failure,
            "pending"
            | "running"
            | "created"
            | "waiting_for_resource"
            | "preparing"
            | "scheduled"
            | "waiting_for_callback" => pending = true,
            "success" => success = true,
            _ => {}
        }
    }
    if pending {
        CommitStatus::Pending
    } else if success {
        CommitStatus::Success
    } else {
        CommitStatus::Unknown
    }
}

#[async_trait]
impl Forge for GitLabForge {
    fn capabilities(&self) -> ForgeCapabilities {
        ForgeCapabilities::new(false, true).with_prerelease_flag(false)
    }

    async fn create_change_request(&self, request: &NewChangeRequest) -> PortResult<ChangeRequest> {
        check_labels(&request.labels)?;
        let what = format!(
            "open a merge request from {} into {} in {}",
            request.head,
            request.base,
            self.project_label()
        );
        let mut builder = CreateMergeRequest::builder();
        builder
            .project(self.project())
            .source_branch(request.head.as_str())
            .target_branch(request.base.as_str())
            .title(request.title.as_str())
            .description(request.body.as_str());
        if !request.labels.is_empty() {
            builder.labels(request.labels.iter().map(String::as_str));
        }
        let endpoint = builder.build().map_err(|e| build_error(&what, e))?;
        let mr: model::MergeRequest = self.client.query(&endpoint, &what).await?;
        self.to_change_request(mr)
    }

    async fn find_open_change_request(
        &self,
        head: &str,
        base: &str,
    ) -> PortResult<Option<ChangeRequest>> {
        let what = format!(
            "look for an open merge request from {head} into {base} in {}",
            self.project_label()
        );
        let endpoint = MergeRequests::builder()
            .project(self.project())
            .state(MergeRequestState::Opened)
            .source_branch(head)
            .target_branch(base)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let mut found: Option<model::MergeRequest> = None;
        self.client
            .pages(&endpoint, &what, |page: Vec<model::MergeRequest>| {
                for mr in page {
                    // Same branches, opened, and from this project (not a fork).
                    let own = mr.source_project_id.is_none_or(|s| s == mr.project_id);
                    if own
                        && mr.state == "opened"
                        && mr.source_branch == head
                        && mr.target_branch == base
                        && found.as_ref().is_none_or(|f| mr.iid < f.iid)
                    {
                        found = Some(mr);
                    }
                }
                Ok(false)
            })
            .await?;
        found.map(|mr| self.to_change_request(mr)).transpose()
    }

    async fn get_change_request(&self, number: u64) -> PortResult<ChangeRequest> {
        let mr = self.fetch_merge_request(number).await?;
        self.to_change_request(mr)
    }

    async fn update_change_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> PortResult<ChangeRequest> {
        // GitLab lets a merged or closed merge request be edited; the contract does not.
        let current = self.to_change_request(self.fetch_merge_request(number).await?)?;
        if current.state != ChangeRequestState::Open {
            return Err(PortError::precondition_failed(format!(
                "merge request !{number} of {} is no longer open ({}); not editing it",
                self.project_label(),
                if current.state == ChangeRequestState::Merged {
                    "merged"
                } else {
                    "closed"
                }
            )));
        }
        if current.title == title && current.body == body {
            return Ok(current);
        }
        let what = format!("edit merge request !{number} of {}", self.project_label());
        let endpoint = EditMergeRequest::builder()
            .project(self.project())
            .merge_request(number)
            .title(title)
            .description(body)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let mr: model::MergeRequest = self.client.query(&endpoint, &what).await?;
        self.to_change_request(mr)
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> PortResult<()> {
        if labels.is_empty() {
            return Ok(());
        }
        check_labels(labels)?;
        let what = format!("label merge request !{number} of {}", self.project_label());
        let mut builder = EditMergeRequest::builder();
        builder.project(self.project()).merge_request(number);
        for label in labels {
            builder.add_label(label.as_str());
        }
        let endpoint = builder.build().map_err(|e| build_error(&what, e))?;
        let _: model::MergeRequest = self.client.query(&endpoint, &what).await.map_err(|e| {
            renamed_not_found(e, || {
                format!("no merge request !{number} in {}", self.project_label())
            })
        })?;
        Ok(())
    }

    async fn create_release(
        &self,
        tag: &TagName,
        release: &ReleaseUpdate,
    ) -> PortResult<ReleaseEntry> {
        if release.draft == Some(true) {
            return Err(PortError::unsupported(
                "GitLab has no draft releases (capabilities().draft_releases is false)",
            ));
        }
        if release.prerelease == Some(true) {
            return Err(PortError::unsupported(
                "GitLab releases have no pre-release flag (capabilities().prerelease_flag is false)",
            ));
        }
        let what = format!("create a release for tag {tag} in {}", self.project_label());
        let mut builder = CreateRelease::builder();
        builder.project(self.project()).tag_name(tag.as_str());
        if let Some(name) = &release.name {
            builder.name(name.as_str());
        }
        if let Some(notes) = &release.notes {
            builder.description(notes.as_str());
        }
        let endpoint = builder.build().map_err(|e| build_error(&what, e))?;
        let r: model::Release = self.client.query(&endpoint, &what).await?;
        self.to_release(r)
    }

    async fn find_release(&self, tag: &TagName) -> PortResult<Option<ReleaseEntry>> {
        let what = format!(
            "look up the release of tag {tag} in {}",
            self.project_label()
        );
        let project = self.project();
        let endpoint = endpoints::ReleaseByTag {
            project: &project,
            tag: tag.as_str(),
        };
        self.client
            .query_optional::<_, model::Release>(&endpoint, &what)
            .await?
            .map(|r| self.to_release(r))
            .transpose()
    }

    async fn update_release(&self, id: &str, update: &ReleaseUpdate) -> PortResult<ReleaseEntry> {
        if update.draft == Some(true) {
            return Err(PortError::unsupported(
                "GitLab has no draft releases (capabilities().draft_releases is false)",
            ));
        }
        if update.prerelease == Some(true) {
            return Err(PortError::unsupported(
                "GitLab releases have no pre-release flag (capabilities().prerelease_flag is false)",
            ));
        }
        let tag = self.release_tag(id)?;
        let project = self.project();
        let not_found = || format!("no release with id {id} in {}", self.project_label());
        // GitLab has no pre-release flag (an "upcoming release" is one whose
        // `released_at` is in the future, not a pre-release): `prerelease: true` was
        // refused above, and `draft`/`prerelease: Some(false)` is what every GitLab
        // release already is.
        let r: model::Release = if update.name.is_none() && update.notes.is_none() {
            let what = format!("get release {tag} of {}", self.project_label());
            let endpoint = endpoints::ReleaseByTag {
                project: &project,
                tag: tag.as_str(),
            };
            self.client.query(&endpoint, &what).await
        } else {
            let what = format!("update release {tag} of {}", self.project_label());
            let endpoint = endpoints::UpdateRelease {
                project: &project,
                tag: tag.as_str(),
                name: update.name.as_deref(),
                description: update.notes.as_deref(),
            };
            self.client.query(&endpoint, &what).await
        }
        .map_err(|e| renamed_not_found(e, not_found))?;
        self.to_release(r)
    }

    async fn list_assets(&self, release_id: &str) -> PortResult<Vec<ReleaseAsset>> {
        let tag = self.release_tag(release_id)?;
        let version = self.package_version(&tag)?;
        let links = self.links(&tag).await?;
        let files = if links
            .iter()
            .any(|l| self.own_file(&l.url, &version).is_some())
        {
            self.package_files(&version).await?
        } else {
            HashMap::new()
        };
        let mut out = Vec::with_capacity(links.len());
        for link in &links {
            out.push(self.to_asset(link, &version, &files).await?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    async fn upload_asset(
        &self,
        release_id: &str,
        name: &str,
        _content_type: &str,
        bytes: Vec<u8>,
    ) -> PortResult<ReleaseAsset> {
        let tag = self.release_tag(release_id)?;
        check_asset_name(name)?;
        let version = self.package_version(&tag)?;
        let digest = Sha256Digest::from_bytes(Sha256::digest(&bytes).into());
        let same_or_conflict = |asset: ReleaseAsset| {
            if asset.sha256 == digest {
                Ok(asset)
            } else {
                Err(PortError::already_exists(format!(
                    "release {tag} of {} already has an asset {name} with digest {}; refusing to replace it with {digest}",
                    self.project_label(),
                    asset.sha256
                )))
            }
        };
        if let Some(existing) = self.existing_asset(&tag, &version, name).await? {
            return same_or_conflict(existing);
        }

        // The file may already be in the registry from an interrupted earlier run:
        // upload only when the newest file of that name is not this content.
        let files = self.package_files(&version).await?;
        let stored = files
            .get(name)
            .and_then(|f| f.file_sha256.as_deref())
            .and_then(|hex| Sha256Digest::parse(hex).ok());
        if stored != Some(digest) {
            let what = format!(
                "upload {name} to the generic package {}/{version} of {}",
                self.asset_package,
                self.project_label()
            );
            let endpoint = UploadPackageFile::builder()
                .project(self.project())
                .package_name(self.asset_package.as_str())
                .package_version(version.as_str())
                .file_name(name)
                .select(UploadPackageSelect::PackageFile)
                .contents(bytes.as_slice())
                .build()
                .map_err(|e| build_error(&what, e))?;
            let file: model::PackageFile = self.client.query(&endpoint, &what).await?;
            if let Some(reported) = &file.file_sha256 {
                if Sha256Digest::parse(reported).ok() != Some(digest) {
                    return Err(PortError::other(format!(
                        "GitLab stored {name} with digest sha256:{reported}, not the {digest} that was sent; delete the package file and upload again"
                    )));
                }
            }
        }

        let what = format!("link {name} to release {tag} of {}", self.project_label());
        let file_url = self.package_file_url(&version, name)?;
        let endpoint = CreateReleaseLink::builder()
            .project(self.project())
            .tag_name(tag.as_str())
            .name(name)
            .url(file_url.as_str())
            .direct_asset_path(format!("/{name}"))
            .link_type(LinkType::Package)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let link: model::Link = match self.client.query(&endpoint, &what).await {
            Ok(link) => link,
            // Someone (or an earlier attempt of ours) linked it first: compare.
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                return match self.existing_asset(&tag, &version, name).await? {
                    Some(asset) => same_or_conflict(asset),
                    None => Err(e),
                };
            }
            Err(e) => {
                return Err(renamed_not_found(e, || {
                    format!("no release for tag {tag} in {}", self.project_label())
                }))
            }
        };
        Ok(ReleaseAsset::new(
            link.name,
            bytes.len() as u64,
            digest,
            link.direct_asset_url.unwrap_or(link.url),
        ))
    }

    async fn milestone(&self, title: &str) -> PortResult<Option<Milestone>> {
        let what = format!("look up milestone {title:?} in {}", self.project_label());
        let project = self.project();
        let endpoint = endpoints::ProjectMilestones {
            project: &project,
            title,
        };
        let mut found: Option<model::Milestone> = None;
        self.client
            .pages(&endpoint, &what, |page: Vec<model::Milestone>| {
                found = page.into_iter().find(|m| m.title == title);
                Ok(found.is_some())
            })
            .await?;
        let Some(m) = found else { return Ok(None) };
        let what = format!(
            "count the issues of milestone {title:?} in {}",
            self.project_label()
        );
        let endpoint = endpoints::MilestoneIssues {
            project: &project,
            milestone_id: m.id,
        };
        let (mut open, mut closed) = (0u64, 0u64);
        self.client
            .pages(&endpoint, &what, |page: Vec<model::Issue>| {
                for issue in page {
                    match issue.state.as_str() {
                        "closed" => closed += 1,
                        _ => open += 1,
                    }
                }
                Ok(false)
            })
            .await?;
        Ok(Some(Milestone::new(
            m.title,
            open,
            closed,
            m.state == "closed",
        )))
    }

    async fn commit_status(&self, commit: &CommitId) -> PortResult<CommitStatus> {
        let what = format!(
            "read the statuses of commit {} in {}",
            commit.as_str(),
            self.project_label()
        );
        let endpoint = CommitStatuses::builder()
            .project(self.project())
            .commit(commit.as_str())
            .build()
            .map_err(|e| build_error(&what, e))?;
        let mut statuses = Vec::new();
        let result = self
            .client
            .pages(&endpoint, &what, |page: Vec<model::CommitStatus>| {
                statuses.extend(page);
                Ok(false)
            })
            .await;
        match result {
            Ok(()) => Ok(combine(&statuses)),
            // A commit GitLab does not know ("404 Commit Not Found") has reported
            // nothing; any other 404 (the project) is an error.
            Err(e)
                if e.kind() == ErrorKind::NotFound && e.message().contains("Commit Not Found") =>
            {
                Ok(CommitStatus::Unknown)
            }
            Err(e) => Err(e),
        }
    }

    async fn comment(&self, number: u64, body: &str) -> PortResult<()> {
        let what = format!(
            "comment on merge request !{number} of {}",
            self.project_label()
        );
        let endpoint = CreateMergeRequestNote::builder()
            .project(self.project())
            .merge_request(number)
            .body(body)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let _: model::Note = self.client.query(&endpoint, &what).await.map_err(|e| {
            renamed_not_found(e, || {
                format!("no merge request !{number} in {}", self.project_label())
            })
        })?;
        Ok(())
    }

    async fn permission(&self, user: &str) -> PortResult<Permission> {
        if user.trim().is_empty() {
            // `GET /users?username=` with an empty name would list every user.
            return Ok(Permission::None);
        }
        let what = format!("look up GitLab user {user}");
        let endpoint = Users::builder()
            .username(user)
            .build()
            .map_err(|e| build_error(&what, e))?;
        let users: Vec<model::User> = self.client.query(&endpoint, &what).await?;
        // GitLab matches the username without case; keep to an exact (case-blind) match.
        let Some(found) = users
            .into_iter()
            .find(|u| u.username.eq_ignore_ascii_case(user))
        else {
            return Ok(Permission::None);
        };
        let what = format!("read the membership of {user} in {}", self.project_label());
        let endpoint = AllProjectMember::builder()
            .project(self.project())
            .user(found.id)
            .build()
            .map_err(|e| build_error(&what, e))?;
        // 404: not a member (directly, through a group, or invited); a missing
        // project is an error.
        Ok(self
            .client
            .query_optional::<_, model::Member>(&endpoint, &what)
            .await?
            .map(|m| to_permission(&m))
            .unwrap_or(Permission::None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(s: &str, allow_failure: bool) -> model::CommitStatus {
        model::CommitStatus {
            status: s.to_string(),
            allow_failure,
        }
    }

    #[test]
    fn statuses_combine() {
        use CommitStatus::*;
        assert_eq!(combine(&[]), Unknown);
        assert_eq!(combine(&[status("success", false)]), Success);
        assert_eq!(
            combine(&[status("success", false), status("running", false)]),
            Pending
        );
        assert_eq!(
            combine(&[status("running", false), status("failed", false)]),
            Failure
        );
        assert_eq!(
            combine(&[status("success", false), status("failed", true)]),
            Success
        );
        assert_eq!(combine(&[status("canceled", false)]), Failure);
        assert_eq!(combine(&[status("skipped", false)]), Unknown);
        assert_eq!(
            combine(&[status("manual", false), status("success", false)]),
            Success
        );
    }

    #[test]
    fn access_levels_map_to_permissions() {
        let member = |level: u64, state: Option<&str>, membership: Option<&str>| model::Member {
            access_level: level,
            state: state.map(str::to_string),
            membership_state: membership.map(str::to_string),
        };
        let p = |level| to_permission(&member(level, Some("active"), None));
        assert_eq!(p(0), Permission::None);
        assert_eq!(p(5), Permission::None, "minimal access");
        assert_eq!(p(10), Permission::Read, "guest");
        assert_eq!(p(15), Permission::Read, "planner");
        assert_eq!(p(20), Permission::Triage, "reporter");
        assert_eq!(p(30), Permission::Write, "developer");
        assert_eq!(p(40), Permission::Maintain, "maintainer");
        assert_eq!(p(50), Permission::Admin, "owner");
        assert_eq!(p(60), Permission::Admin, "admin");
        assert_eq!(
            to_permission(&member(40, None, None)),
            Permission::Maintain,
            "no state reported"
        );
        assert_eq!(
            to_permission(&member(40, Some("blocked"), None)),
            Permission::None
        );
        assert_eq!(
            to_permission(&member(30, Some("active"), Some("awaiting"))),
            Permission::None
        );
    }

    #[test]
    fn package_versions_are_one_to_one_and_valid() {
        assert_eq!(package_version("v1.0.0"), "v1.0.0");
        assert_eq!(package_version("pkg@v1.0.0"), "pkg_40v1.0.0");
        assert_eq!(package_version("a/b_c"), "a_2Fb_5Fc");
        assert_eq!(package_version("1.0.0-rc.1+build"), "1.0.0-rc.1+build");
        assert_ne!(package_version("a_40b"), package_version("a@b"));
        for tag in ["v1.0.0", "pkg@v1.0.0", "a/b", "é", "x.y", "1.0.0+local"] {
            assert!(valid_package_version(&package_version(tag)), "{tag}");
        }
        assert!(!valid_package_version("..a"));
        assert!(!valid_package_version("a..."));
        assert!(!valid_package_version("."));
        assert!(valid_package_version("a..b"));
    }

    #[test]
    fn asset_names_and_labels_are_checked() {
        for ok in ["a.txt", "pkg-1.0.0.tar.gz", "x_y-z.whl"] {
            assert!(check_asset_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", ".", "..", "with space", "a/b", "a+b", "é"] {
            assert!(check_asset_name(bad).is_err(), "{bad}");
        }
        assert!(check_labels(&["a b".into(), "autorelease: pending".into()]).is_ok());
        assert!(check_labels(&["a,b".into()]).is_err());
        assert!(check_labels(&[" ".into()]).is_err());
    }
}
