//! Endpoints the `gitlab` crate (0.1905) lacks, or builds in a way ferry cannot use,
//! written against its [`Endpoint`] trait so they run through the same client:
//!
//! - `GET /projects/:id/releases/:tag_name` — the crate's `ProjectReleaseByTag` does
//!   not escape the tag (a tag with `/` would address another path);
//! - `PUT /projects/:id/releases/:tag_name` — no builder in the crate;
//! - `GET /projects/:id/milestones` and `GET /projects/:id/milestones/:milestone_id/issues`
//!   — the crate only creates milestones.

use gitlab::api::common::{path_escaped, NameOrId};
use gitlab::api::endpoint_prelude::*;
use serde_json::json;

/// `GET /projects/:id/releases/:tag_name`.
pub(crate) struct ReleaseByTag<'a> {
    pub project: &'a NameOrId<'a>,
    pub tag: &'a str,
}

impl Endpoint for ReleaseByTag<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/releases/{}",
            self.project,
            path_escaped(self.tag)
        )
        .into()
    }
}

/// `PUT /projects/:id/releases/:tag_name` with `name` and `description` (JSON).
pub(crate) struct UpdateRelease<'a> {
    pub project: &'a NameOrId<'a>,
    pub tag: &'a str,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
}

impl Endpoint for UpdateRelease<'_> {
    fn method(&self) -> Method {
        Method::PUT
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/releases/{}",
            self.project,
            path_escaped(self.tag)
        )
        .into()
    }

    fn body(&self) -> Result<Option<(&'static str, Vec<u8>)>, BodyError> {
        JsonParams::into_body(&JsonParams::clean(json!({
            "name": self.name,
            "description": self.description,
        })))
    }
}

/// `GET /projects/:id/milestones?title=…` (exact title; active and closed).
pub(crate) struct ProjectMilestones<'a> {
    pub project: &'a NameOrId<'a>,
    pub title: &'a str,
}

impl Endpoint for ProjectMilestones<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!("projects/{}/milestones", self.project).into()
    }

    fn parameters(&self) -> QueryParams<'_> {
        let mut params = QueryParams::default();
        params.push("title", self.title);
        params
    }
}

impl Pageable for ProjectMilestones<'_> {}

/// `GET /projects/:id/milestones/:milestone_id/issues` (`milestone_id` is the
/// milestone's global `id`, not its `iid`).
pub(crate) struct MilestoneIssues<'a> {
    pub project: &'a NameOrId<'a>,
    pub milestone_id: u64,
}

impl Endpoint for MilestoneIssues<'_> {
    fn method(&self) -> Method {
        Method::GET
    }

    fn endpoint(&self) -> Cow<'static, str> {
        format!(
            "projects/{}/milestones/{}/issues",
            self.project, self.milestone_id
        )
        .into()
    }
}

impl Pageable for MilestoneIssues<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_escaped_as_one_segment() {
        let project = NameOrId::from("acme/widgets");
        let e = ReleaseByTag {
            project: &project,
            tag: "pkg/v1.0.0",
        };
        assert_eq!(
            e.endpoint(),
            "projects/acme%2Fwidgets/releases/pkg%2Fv1.0.0"
        );
        let u = UpdateRelease {
            project: &project,
            tag: "pkg@v1.0.0",
            name: None,
            description: Some("notes"),
        };
        let (mime, body) = u.body().expect("body").expect("some");
        assert_eq!(mime, "application/json");
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&body).expect("json"),
            json!({"description": "notes"})
        );
    }
}
