//! The parts of GitHub's REST resources the adapter reads (field names as in the REST
//! reference; everything else is ignored, so new fields never break parsing).

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
pub(crate) struct Pull {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub state: String,
    /// Only in the single-pull answer, not in lists.
    pub merged: Option<bool>,
    pub merged_at: Option<String>,
    /// While open: the sha of GitHub's test merge, not a merge; ignored unless merged.
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub html_url: String,
    pub head: Branch,
    pub base: Branch,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Branch {
    pub label: String,
    #[serde(rename = "ref")]
    pub ref_name: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Label {
    pub name: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct NewPull<'a> {
    pub title: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub body: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct PullEdit<'a> {
    pub title: &'a str,
    pub body: &'a str,
}

#[derive(Debug, Serialize)]
pub(crate) struct AddLabels<'a> {
    pub labels: &'a [String],
}

#[derive(Debug, Serialize)]
pub(crate) struct NewComment<'a> {
    pub body: &'a str,
}

/// An issue comment (`POST /repos/{o}/{r}/issues/{n}/comments`); read only to check
/// that the answer is one.
#[derive(Debug, Deserialize)]
pub(crate) struct IssueComment {
    #[allow(dead_code)]
    pub id: u64,
}

/// `GET /repos/{o}/{r}/collaborators/{username}/permission`.
#[derive(Debug, Deserialize)]
pub(crate) struct CollaboratorPermission {
    /// The legacy base role: `admin`, `write`, `read` or `none` (`maintain` reads as
    /// `write`, `triage` as `read`).
    pub permission: String,
    /// The full role: `admin`, `maintain`, `write`, `triage`, `read`, or a custom
    /// role's name. Absent on older GitHub Enterprise Server versions.
    #[serde(default)]
    pub role_name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Release {
    pub id: u64,
    pub tag_name: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub html_url: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct ReleaseWrite<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub draft: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prerelease: Option<bool>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Asset {
    pub id: u64,
    pub name: String,
    pub size: u64,
    /// `sha256:<hex>`; `null` for assets uploaded before GitHub computed digests.
    #[serde(default)]
    pub digest: Option<String>,
    /// `uploaded`, or `starter` for an interrupted upload.
    pub state: String,
    pub browser_download_url: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Milestone {
    pub title: String,
    pub state: String,
    pub open_issues: u64,
    pub closed_issues: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CombinedStatus {
    pub state: String,
    pub total_count: u64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckRuns {
    #[serde(default)]
    pub check_runs: Vec<CheckRun>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct CheckRun {
    pub status: String,
    pub conclusion: Option<String>,
}
