//! Embedding ferry in a custom pipeline: plan a monorepo release against in-memory
//! adapters, inspect it as typed data, print it as JSON.
//!
//! Run: `cargo run -p ferry-core --example embed`

use ferry_core::config::{Config, Mode, PackageConfig};
use ferry_memory::InMemoryVcs;
use ferry_ports::{TagName, Vcs};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A small monorepo: two packages released at 1.0.0, then some work.
    let repo = InMemoryVcs::new();
    let base = repo.commit_files(
        "chore: import",
        &[
            (
                "packages/api/pyproject.toml",
                "[project]\nname = \"api\"\nversion = \"1.0.0\"\n",
            ),
            (
                "packages/web/package.json",
                "{\"name\": \"web\", \"version\": \"1.0.0\"}\n",
            ),
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

    let mut config = Config::default();
    config.release.mode = Mode::Independent;
    for name in ["api", "web"] {
        config
            .packages
            .push(PackageConfig::new(name, format!("packages/{name}")));
    }
    let plan = ferry_core::plan::plan(&repo, &config).await?;

    // Typed access for the pipeline's own decisions...
    for p in plan.releases() {
        eprintln!("{}: {:?} -> {:?}", p.package, p.current, p.next);
    }
    // ...and the same plan as JSON for machines.
    println!("{}", serde_json::to_string_pretty(&plan)?);
    Ok(())
}
