//! `ferry init`: detect the packages of a repository and write a commented starter
//! `ferry.toml`.

use ferry_core::config::FileKind;
use ferry_ports::{RepoPath, Vcs};

const SKIP: [&str; 6] = [
    "node_modules/",
    "target/",
    "vendor/",
    ".venv/",
    "dist/",
    "build/",
];

struct Found {
    path: String,
    kind: FileKind,
    name: Option<String>,
    version: Option<String>,
}

fn manifest_name(kind: FileKind, text: &str) -> Option<String> {
    match kind {
        FileKind::Chart => text
            .lines()
            .find_map(|l| l.strip_prefix("name:"))
            .map(|n| n.trim().trim_matches('"').to_string()),
        _ => ferry_core::manifest::dependencies::name(kind, text),
    }
}

pub async fn starter(vcs: &dyn Vcs) -> anyhow::Result<String> {
    let head = vcs
        .head()
        .await
        .map_err(|e| anyhow::anyhow!("{e}: commit your manifests first, then run `ferry init`"))?;
    let branch = vcs.current_branch().await?.unwrap_or_else(|| "main".into());
    let mut found = Vec::new();
    for path in vcs.list_files(&head, None).await? {
        let p = path.as_str();
        if SKIP
            .iter()
            .any(|s| p.starts_with(s) || p.contains(&format!("/{s}")))
        {
            continue;
        }
        let Some(kind) = FileKind::detect(p) else {
            continue;
        };
        let text = vcs
            .read_file(&head, &path)
            .await?
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let version = ferry_core::manifest::read_version(kind, p, &text, None).ok();
        if version.is_none() && kind != FileKind::Cargo {
            continue;
        }
        found.push(Found {
            path: p.to_string(),
            kind,
            name: manifest_name(kind, &text),
            version,
        });
    }
    let has_changelog = vcs
        .read_file(&head, &RepoPath::new("CHANGELOG.md")?)
        .await?
        .is_some();

    let mut out = String::from("# ferry.toml — written by `ferry init`; every key is documented in docs/configuration.md\n\n");
    out.push_str("[release]\n");
    out.push_str(&format!(
        "branch = {branch:?}          # releases are cut from this branch\n"
    ));
    out.push_str("mode = \"lockstep\"        # one version for everything; \"independent\": one per [[package]]\n");
    out.push_str("scheme = \"semver\"        # semver | pep440 | tarantool | openacs | calver\n");
    out.push_str("tags = [\"v{version}\"]    # more renderings: \"{package}@v{version}\", \"py-v{version:pep440}\"\n");
    out.push_str("# commit_message = \"chore(release): v{version}\"\n\n");
    out.push_str("[changelog]\n");
    out.push_str(&format!(
        "path = \"CHANGELOG.md\"{}\n",
        if has_changelog {
            ""
        } else {
            "   # created on the first release"
        }
    ));
    out.push_str(
        "fragments = \"changelog.d\"   # <id>.<kind>.md files, assembled into [Unreleased]\n\n",
    );
    for f in &found {
        let dir = f.path.rsplit_once('/').map(|(d, _)| d);
        if let Some(dir) = dir {
            let name = f
                .name
                .clone()
                .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(dir).to_string());
            if !out.contains(&format!("path = {dir:?}\n")) {
                out.push_str(&format!("[[package]]\nname = {name:?}\npath = {dir:?}\n\n"));
            }
        }
    }
    if found.is_empty() {
        out.push_str("# No manifest found. Point ferry at the files that carry your version, e.g.:\n# [[file]]\n# path = \"src/version.py\"\n# pattern = '__version__ = \"(?P<version>[^\"]+)\"'\n");
    }
    for f in &found {
        out.push_str(&format!("[[file]]\npath = {:?}\n", f.path));
        if f.kind == FileKind::Pyproject {
            out.push_str("format = \"{version:pep440}\"   # Python wants PEP 440 (0.2.0a1)\n");
        }
        if let Some(v) = &f.version {
            out.push_str(&format!("# current version: {v}\n"));
        }
        out.push('\n');
    }
    out.push_str("# Commands that must pass before anything is written, and that run after the bump:\n# [[check]]\n# command = [\"make\", \"release-smoke\"]\n# [[hook]]\n# command = [\"scripts/export-openapi.sh\"]\n");
    Ok(out)
}
