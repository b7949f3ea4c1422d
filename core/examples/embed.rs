//! Embedding ferry in a custom pipeline: build a plan against in-memory adapters,
//! inspect it as typed data, print it as JSON.
//!
//! Run: `cargo run -p ferry-core --example embed`

use ferry_core::plan::{plan, PackageSpec, PlanOptions};
use ferry_memory::InMemoryVcs;
use ferry_ports::{PackageName, RepoPath, TagName, Vcs};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A small monorepo: two packages released at 1.0.0, then some work.
    let repo = InMemoryVcs::new();
    let base = repo.commit_files(
        "chore: import",
        &[
            (
                "packages/api/pyproject.toml",
                "[project]\nversion = \"1.0.0\"\n",
            ),
            ("packages/web/package.json", "{\"version\":\"1.0.0\"}\n"),
        ],
    );
    for tag in ["api@v1.0.0", "web@v1.0.0"] {
        repo.create_tag(&TagName::new(tag)?, &base, tag).await?;
    }
    repo.commit_files(
        "fix(api): handle empty milestones",
        &[("packages/api/app.py", "...")],
    );
    repo.commit_files(
        "feat(web): release dashboard",
        &[("packages/web/dashboard.js", "...")],
    );
    repo.commit_files("docs: contributing guide", &[("CONTRIBUTING.md", "...")]);

    let packages = [
        PackageSpec::new(PackageName::new("api")?, RepoPath::new("packages/api")?),
        PackageSpec::new(PackageName::new("web")?, RepoPath::new("packages/web")?),
    ];
    let plan = plan(&repo, &packages, &PlanOptions::default()).await?;

    // Typed access for the pipeline's own decisions...
    for p in plan.releases() {
        eprintln!(
            "{}: {:?} -> {:?}",
            p.package,
            p.current.as_ref().map(ToString::to_string),
            p.next.as_ref().map(ToString::to_string)
        );
    }
    // ...and the same plan as JSON for machines.
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(())
}
