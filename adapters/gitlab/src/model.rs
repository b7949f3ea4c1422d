//! The parts of GitLab's JSON answers that ferry reads (the `gitlab` crate leaves
//! response types to its users). Field names as in the REST API v4 reference.

use serde::Deserialize;

/// A merge request (`GET /projects/:id/merge_requests/:iid`).
#[derive(Debug, Deserialize)]
pub(crate) struct MergeRequest {
    pub iid: u64,
    pub project_id: u64,
    #[serde(default)]
    pub source_project_id: Option<u64>,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `opened`, `closed`, `locked` (being merged) or `merged`.
    pub state: String,
    pub source_branch: String,
    pub target_branch: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub squash_commit_sha: Option<String>,
    /// The head commit of the source branch.
    #[serde(default)]
    pub sha: Option<String>,
    #[serde(default)]
    pub web_url: String,
}

/// A release (`GET /projects/:id/releases/:tag_name`).
#[derive(Debug, Deserialize)]
pub(crate) struct Release {
    pub tag_name: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, rename = "_links")]
    pub links: Option<ReleaseLinks>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReleaseLinks {
    #[serde(default, rename = "self")]
    pub self_url: Option<String>,
}

/// A release link (`GET /projects/:id/releases/:tag_name/assets/links`).
#[derive(Debug, Deserialize)]
pub(crate) struct Link {
    pub name: String,
    pub url: String,
    #[serde(default)]
    pub direct_asset_url: Option<String>,
}

/// A package (`GET /projects/:id/packages`).
#[derive(Debug, Deserialize)]
pub(crate) struct Package {
    pub id: u64,
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub package_type: Option<String>,
}

/// A package file (`GET /projects/:id/packages/:package_id/package_files`, and the
/// generic upload's answer with `select=package_file`).
#[derive(Debug, Deserialize)]
pub(crate) struct PackageFile {
    pub id: u64,
    pub file_name: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub file_sha256: Option<String>,
}

/// A milestone (`GET /projects/:id/milestones`).
#[derive(Debug, Deserialize)]
pub(crate) struct Milestone {
    pub id: u64,
    pub title: String,
    /// `active` or `closed`.
    pub state: String,
}

/// An issue, as far as counting goes.
#[derive(Debug, Deserialize)]
pub(crate) struct Issue {
    /// `opened` or `closed`.
    pub state: String,
}

/// A commit status (`GET /projects/:id/repository/commits/:sha/statuses`); CI jobs
/// are commit statuses too.
#[derive(Debug, Deserialize)]
pub(crate) struct CommitStatus {
    pub status: String,
    #[serde(default)]
    pub allow_failure: bool,
}

/// A note (`POST /projects/:id/merge_requests/:iid/notes`); read only to check that the
/// answer is one.
#[derive(Debug, Deserialize)]
pub(crate) struct Note {
    #[allow(dead_code)]
    pub id: u64,
}

/// A user, as listed by `GET /users?username=…`.
#[derive(Debug, Deserialize)]
pub(crate) struct User {
    pub id: u64,
    pub username: String,
}

/// A member (`GET /projects/:id/members/all/:user_id`).
#[derive(Debug, Deserialize)]
pub(crate) struct Member {
    /// `Gitlab::Access`: 0 none, 5 minimal, 10 guest, 15 planner, 20 reporter,
    /// 30 developer, 40 maintainer, 50 owner.
    pub access_level: u64,
    /// The user's state (`active`, `blocked`, …).
    #[serde(default)]
    pub state: Option<String>,
    /// `active`, or `awaiting` for a membership waiting for a seat.
    #[serde(default)]
    pub membership_state: Option<String>,
}
