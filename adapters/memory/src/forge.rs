use crate::{lock, sha256};
use ferry_ports::{
    async_trait, ChangeRequest, ChangeRequestState, CommitId, CommitStatus, Forge,
    ForgeCapabilities, Milestone, NewChangeRequest, Permission, PortError, PortResult,
    ReleaseAsset, ReleaseEntry, ReleaseUpdate, TagName,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// A [`Forge`] in memory: numbered change requests, release entries with assets,
/// milestones, commit statuses, comments and users' permissions. Tests drive the
/// "other side" (merging, CI results, granting access) with the inherent methods and
/// read what was posted with [`InMemoryForge::comments`].
#[derive(Debug)]
pub struct InMemoryForge {
    capabilities: ForgeCapabilities,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    next_number: u64,
    next_release: u64,
    requests: BTreeMap<u64, ChangeRequest>,
    releases: BTreeMap<String, ReleaseEntry>,
    assets: HashMap<String, BTreeMap<String, ReleaseAsset>>,
    milestones: BTreeMap<String, Milestone>,
    statuses: HashMap<CommitId, CommitStatus>,
    comments: BTreeMap<u64, Vec<String>>,
    /// By lower-cased user name (GitHub and GitLab names ignore case).
    permissions: HashMap<String, Permission>,
    writes: u64,
}

impl Default for InMemoryForge {
    fn default() -> Self {
        Self::new()
    }
}

impl InMemoryForge {
    /// A forge with drafts and asset uploads (GitHub-like).
    pub fn new() -> Self {
        Self::with_capabilities(ForgeCapabilities::full())
    }

    /// A forge with the given capabilities (e.g. without drafts, GitLab-like).
    pub fn with_capabilities(capabilities: ForgeCapabilities) -> Self {
        InMemoryForge {
            capabilities,
            state: Mutex::new(State::default()),
        }
    }

    /// Merge an open change request as `merge_commit` (what a reviewer would do).
    pub fn merge(&self, number: u64, merge_commit: CommitId) -> PortResult<()> {
        let mut state = lock(&self.state);
        let cr = state
            .requests
            .get_mut(&number)
            .ok_or_else(|| PortError::not_found(format!("no change request #{number}")))?;
        if cr.state != ChangeRequestState::Open {
            return Err(PortError::precondition_failed(format!(
                "change request #{number} is not open"
            )));
        }
        cr.state = ChangeRequestState::Merged;
        cr.merge_commit = Some(merge_commit);
        Ok(())
    }

    /// Close an open change request without merging.
    pub fn close(&self, number: u64) -> PortResult<()> {
        let mut state = lock(&self.state);
        let cr = state
            .requests
            .get_mut(&number)
            .ok_or_else(|| PortError::not_found(format!("no change request #{number}")))?;
        cr.state = ChangeRequestState::Closed;
        Ok(())
    }

    /// Set a milestone's counts.
    pub fn set_milestone(&self, milestone: Milestone) {
        lock(&self.state)
            .milestones
            .insert(milestone.title.clone(), milestone);
    }

    /// Set a commit's combined status.
    pub fn set_commit_status(&self, commit: CommitId, status: CommitStatus) {
        lock(&self.state).statuses.insert(commit, status);
    }

    /// Give `user` `permission` in the repository (`Permission::None` takes it away).
    /// User names compare without case, as on GitHub and GitLab.
    pub fn set_permission(&self, user: impl AsRef<str>, permission: Permission) {
        let key = user.as_ref().to_lowercase();
        let mut state = lock(&self.state);
        if permission == Permission::None {
            state.permissions.remove(&key);
        } else {
            state.permissions.insert(key, permission);
        }
    }

    /// The bodies of the comments posted on change request `number`, oldest first
    /// (empty when there are none or no such request).
    pub fn comments(&self, number: u64) -> Vec<String> {
        lock(&self.state)
            .comments
            .get(&number)
            .cloned()
            .unwrap_or_default()
    }

    /// How many writes (creates, updates, uploads, comments) the forge has received:
    /// lets tests assert that a re-run made no API write.
    pub fn write_count(&self) -> u64 {
        lock(&self.state).writes
    }
}

fn apply(entry: &mut ReleaseEntry, update: &ReleaseUpdate) {
    if let Some(name) = &update.name {
        entry.name = name.clone();
    }
    if let Some(notes) = &update.notes {
        entry.notes = notes.clone();
    }
    if let Some(draft) = update.draft {
        entry.draft = draft;
    }
    if let Some(pre) = update.prerelease {
        entry.prerelease = pre;
    }
}

#[async_trait]
impl Forge for InMemoryForge {
    fn capabilities(&self) -> ForgeCapabilities {
        self.capabilities
    }

    async fn create_change_request(&self, request: &NewChangeRequest) -> PortResult<ChangeRequest> {
        let mut state = lock(&self.state);
        if let Some(open) = state.requests.values().find(|cr| {
            cr.state == ChangeRequestState::Open
                && cr.head == request.head
                && cr.base == request.base
        }) {
            return Err(PortError::already_exists(format!(
                "change request #{} from {} into {} is already open",
                open.number, request.head, request.base
            )));
        }
        state.next_number += 1;
        state.writes += 1;
        let number = state.next_number;
        let mut cr = ChangeRequest::open(
            number,
            request.title.clone(),
            request.body.clone(),
            request.head.clone(),
            request.base.clone(),
        );
        cr.labels = request.labels.clone();
        cr.labels.sort();
        cr.labels.dedup();
        cr.url = format!("memory://change-requests/{number}");
        state.requests.insert(number, cr.clone());
        Ok(cr)
    }

    async fn find_open_change_request(
        &self,
        head: &str,
        base: &str,
    ) -> PortResult<Option<ChangeRequest>> {
        let state = lock(&self.state);
        Ok(state
            .requests
            .values()
            .find(|cr| cr.state == ChangeRequestState::Open && cr.head == head && cr.base == base)
            .cloned())
    }

    async fn get_change_request(&self, number: u64) -> PortResult<ChangeRequest> {
        lock(&self.state)
            .requests
            .get(&number)
            .cloned()
            .ok_or_else(|| PortError::not_found(format!("no change request #{number}")))
    }

    async fn update_change_request(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> PortResult<ChangeRequest> {
        let mut state = lock(&self.state);
        let cr = state
            .requests
            .get_mut(&number)
            .ok_or_else(|| PortError::not_found(format!("no change request #{number}")))?;
        if cr.state != ChangeRequestState::Open {
            return Err(PortError::precondition_failed(format!(
                "change request #{number} is no longer open"
            )));
        }
        cr.title = title.to_string();
        cr.body = body.to_string();
        let out = cr.clone();
        state.writes += 1;
        Ok(out)
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> PortResult<()> {
        let mut state = lock(&self.state);
        let cr = state
            .requests
            .get_mut(&number)
            .ok_or_else(|| PortError::not_found(format!("no change request #{number}")))?;
        cr.labels.extend(labels.iter().cloned());
        cr.labels.sort();
        cr.labels.dedup();
        state.writes += 1;
        Ok(())
    }

    async fn create_release(
        &self,
        tag: &TagName,
        release: &ReleaseUpdate,
    ) -> PortResult<ReleaseEntry> {
        if release.prerelease == Some(true) && !self.capabilities.prerelease_flag {
            return Err(PortError::unsupported(
                "this forge has no pre-release flag (capabilities().prerelease_flag is false)",
            ));
        }
        if release.draft == Some(true) && !self.capabilities.draft_releases {
            return Err(PortError::unsupported("this forge has no draft releases"));
        }
        let mut state = lock(&self.state);
        if state.releases.values().any(|r| &r.tag == tag) {
            return Err(PortError::already_exists(format!(
                "a release for tag {tag} already exists"
            )));
        }
        state.next_release += 1;
        state.writes += 1;
        let id = state.next_release.to_string();
        let mut entry = ReleaseEntry::new(id.clone(), tag.clone(), tag.to_string(), String::new());
        apply(&mut entry, release);
        entry.url = format!("memory://releases/{tag}");
        state.releases.insert(id, entry.clone());
        Ok(entry)
    }

    async fn find_release(&self, tag: &TagName) -> PortResult<Option<ReleaseEntry>> {
        Ok(lock(&self.state)
            .releases
            .values()
            .find(|r| &r.tag == tag)
            .cloned())
    }

    async fn update_release(&self, id: &str, update: &ReleaseUpdate) -> PortResult<ReleaseEntry> {
        if update.prerelease == Some(true) && !self.capabilities.prerelease_flag {
            return Err(PortError::unsupported(
                "this forge has no pre-release flag (capabilities().prerelease_flag is false)",
            ));
        }
        if update.draft == Some(true) && !self.capabilities.draft_releases {
            return Err(PortError::unsupported("this forge has no draft releases"));
        }
        let mut state = lock(&self.state);
        let entry = state
            .releases
            .get_mut(id)
            .ok_or_else(|| PortError::not_found(format!("no release with id {id}")))?;
        apply(entry, update);
        let out = entry.clone();
        state.writes += 1;
        Ok(out)
    }

    async fn list_assets(&self, release_id: &str) -> PortResult<Vec<ReleaseAsset>> {
        let state = lock(&self.state);
        if !state.releases.contains_key(release_id) {
            return Err(PortError::not_found(format!(
                "no release with id {release_id}"
            )));
        }
        Ok(state
            .assets
            .get(release_id)
            .map(|a| a.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn upload_asset(
        &self,
        release_id: &str,
        name: &str,
        _content_type: &str,
        bytes: Vec<u8>,
    ) -> PortResult<ReleaseAsset> {
        if !self.capabilities.asset_upload {
            return Err(PortError::unsupported(
                "this forge cannot upload release assets",
            ));
        }
        let digest = sha256(&bytes);
        let mut state = lock(&self.state);
        if !state.releases.contains_key(release_id) {
            return Err(PortError::not_found(format!(
                "no release with id {release_id}"
            )));
        }
        let assets = state.assets.entry(release_id.to_string()).or_default();
        if let Some(existing) = assets.get(name) {
            if existing.sha256 == digest {
                return Ok(existing.clone());
            }
            return Err(PortError::already_exists(format!(
                "release {release_id} already has an asset {name} with digest {}; refusing to replace it with {digest}",
                existing.sha256
            )));
        }
        let asset = ReleaseAsset::new(
            name,
            bytes.len() as u64,
            digest,
            format!("memory://releases/{release_id}/assets/{name}"),
        );
        assets.insert(name.to_string(), asset.clone());
        state.writes += 1;
        Ok(asset)
    }

    async fn milestone(&self, title: &str) -> PortResult<Option<Milestone>> {
        Ok(lock(&self.state).milestones.get(title).cloned())
    }

    async fn commit_status(&self, commit: &CommitId) -> PortResult<CommitStatus> {
        Ok(lock(&self.state)
            .statuses
            .get(commit)
            .copied()
            .unwrap_or(CommitStatus::Unknown))
    }

    async fn comment(&self, number: u64, body: &str) -> PortResult<()> {
        let mut state = lock(&self.state);
        if !state.requests.contains_key(&number) {
            return Err(PortError::not_found(format!("no change request #{number}")));
        }
        state
            .comments
            .entry(number)
            .or_default()
            .push(body.to_string());
        state.writes += 1;
        Ok(())
    }

    async fn permission(&self, user: &str) -> PortResult<Permission> {
        Ok(lock(&self.state)
            .permissions
            .get(&user.to_lowercase())
            .copied()
            .unwrap_or(Permission::None))
    }
}
