//! `ferry.toml`: the release configuration, as data. Loading and layering (defaults <
//! file < `FERRY_*` environment < flags) is the binaries' job; this module defines the
//! keys, their defaults, and the checks that need no I/O. Every key is documented in
//! `docs/configuration.md`; unknown keys are errors.

use crate::template;
use crate::version::scheme::Scheme;
use crate::CoreError;
use serde::{Deserialize, Serialize};

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How releases are cut.
    pub release: ReleaseConfig,
    /// The changelog.
    pub changelog: ChangelogConfig,
    /// Packages (`[[package]]`).
    #[serde(rename = "package")]
    pub packages: Vec<PackageConfig>,
    /// Files whose version is bumped (`[[file]]`).
    #[serde(rename = "file")]
    pub files: Vec<FileTarget>,
    /// Version groups (`[[group]]`).
    #[serde(rename = "group")]
    pub groups: Vec<GroupConfig>,
    /// The forge (GitHub, GitLab) for the release train.
    pub forge: ForgeConfig,
    /// Release manifests rendered at publish time (Enso's `manifest.yaml`): one
    /// `[manifest]` table or several `[[manifest]]` entries.
    #[serde(deserialize_with = "one_or_many")]
    pub manifest: Vec<ManifestConfig>,
    /// Where the release ledger, the lock and stored assets live.
    pub storage: StorageConfig,
    /// Publish targets (`[[target]]`).
    #[serde(rename = "target")]
    pub targets: Vec<TargetConfig>,
    /// Commands that must succeed before anything is written (`[[check]]`).
    #[serde(rename = "check")]
    pub checks: Vec<CommandConfig>,
    /// Commands run after the bump and before the commit (`[[hook]]`).
    #[serde(rename = "hook")]
    pub hooks: Vec<CommandConfig>,
    /// Release series on `X.Y` branches (`[[series]]`).
    pub series: Vec<SeriesConfig>,
    /// Policy checks (`ferry check`, release gates).
    pub policy: PolicyConfig,
}

/// `[policy]`: the seeds' rules, checked by `ferry check` and before every release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// Directories of OpenACS upgrade scripts (`upgrade-FROM-TO.sql`).
    pub upgrade_scripts: Vec<String>,
    /// Files that must mention the version being released (a roadmap).
    pub mention_version: Vec<String>,
}

/// A release series (`[[series]]`): an `X.Y` branch and its lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesConfig {
    /// `X.Y`.
    pub name: String,
    /// Its branch (default: the name).
    #[serde(default)]
    pub branch: Option<String>,
    /// What it still gets.
    #[serde(default)]
    pub lifecycle: Lifecycle,
}

impl SeriesConfig {
    /// The branch.
    pub fn branch_name(&self) -> &str {
        self.branch.as_deref().unwrap_or(&self.name)
    }
}

/// Where a series is in its life (Tarantool's policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Early development: features and fixes (no breaking change).
    Development,
    /// Support: bug fixes only.
    #[default]
    Support,
    /// Security fixes only (`security:` or `fix(security):` commits).
    Security,
    /// End of life: no release.
    Eol,
}

impl Lifecycle {
    /// The configuration word.
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Development => "development",
            Lifecycle::Support => "support",
            Lifecycle::Security => "security",
            Lifecycle::Eol => "eol",
        }
    }
    /// In words.
    pub fn describe(self) -> &'static str {
        match self {
            Lifecycle::Development => "early development",
            Lifecycle::Support => "support",
            Lifecycle::Security => "security-only support",
            Lifecycle::Eol => "end of life",
        }
    }
    /// What it allows.
    pub fn allows(self) -> &'static str {
        match self {
            Lifecycle::Development => "it takes features and fixes, no breaking change",
            Lifecycle::Support => "it takes bug fixes only (fix:, perf:, docs:, chore:…), no feat: and no breaking change",
            Lifecycle::Security => "it takes security fixes only (security: or fix(security): commits)",
            Lifecycle::Eol => "it takes nothing",
        }
    }
}

/// One version for everything, or one per package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// One version for all packages and files (TruePPM).
    #[default]
    Lockstep,
    /// Each package has its own version and tags (Framework M).
    Independent,
}

/// `[release]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReleaseConfig {
    /// The branch releases are cut from.
    pub branch: String,
    /// The remote pushed to (and whose branch must not be ahead of ours).
    pub remote: String,
    /// Lockstep or independent.
    pub mode: Mode,
    /// The version scheme.
    pub scheme: Scheme,
    /// Release commit message template.
    pub commit_message: String,
    /// Tags created for a lockstep release (templates); the first one is also how the
    /// current version is found.
    pub tags: Vec<String>,
    /// Rotate the changelog on pre-releases too.
    pub rotate_prerelease: bool,
    /// The version of the first release when nothing is tagged yet.
    pub initial_version: String,
    /// Below 1.0.0 a breaking change bumps the minor version and a feature the patch.
    pub zero_major_is_unstable: bool,
    /// Refuse to release when the remote branch has commits we lack.
    pub check_upstream: bool,
    /// Independent mode: how a package is bumped when a dependency it requires is
    /// released outside its requirement.
    pub dependent_bump: crate::version::scheme::Level,
    /// Independent mode: when a package's internal dependents are released too —
    /// `out-of-range` (the new version leaves their requirement: they must change) or
    /// `always` (every release of a dependency, as release-plz and changesets'
    /// `updateInternalDependents = "always"` do).
    pub dependents: Dependents,
    /// The level of a change that asks for none — a commit that is not conventional,
    /// or `chore:`/`docs:`/`ci:`… touching a package: `none` (not released, the
    /// release-please rule) or `patch` (released, the release-plz rule).
    pub other_changes: crate::conventional::BumpLevel,
}

/// When dependents of a released package are released (`release.dependents`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Dependents {
    /// Only when the new version leaves their requirement.
    #[default]
    OutOfRange,
    /// Whenever a dependency is released.
    Always,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        ReleaseConfig {
            branch: "main".into(),
            remote: "origin".into(),
            mode: Mode::Lockstep,
            scheme: Scheme::Semver,
            commit_message: "chore(release): v{version}".into(),
            tags: vec!["v{version}".into()],
            rotate_prerelease: false,
            initial_version: "0.1.0".into(),
            zero_major_is_unstable: true,
            check_upstream: true,
            dependent_bump: crate::version::scheme::Level::Patch,
            dependents: Dependents::OutOfRange,
            other_changes: crate::conventional::BumpLevel::None,
        }
    }
}

/// `[changelog]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChangelogConfig {
    /// Write a changelog at all.
    pub enabled: bool,
    /// The Keep a Changelog file.
    pub path: String,
    /// The fragment directory (`<id>.<kind>.md` files).
    pub fragments: String,
    /// Accepted kinds, in display order.
    pub kinds: Vec<String>,
    /// Compare link template, e.g. `https://gitlab.com/g/p/-/compare/{previous}...{tag}`.
    pub compare_url: Option<String>,
    /// Independent mode: also write a dated section listing every package released
    /// together into the root changelog (`path`).
    pub aggregate: bool,
}

impl Default for ChangelogConfig {
    fn default() -> Self {
        ChangelogConfig {
            enabled: true,
            path: "CHANGELOG.md".into(),
            fragments: "changelog.d".into(),
            kinds: crate::keepachangelog::KINDS
                .iter()
                .map(|k| k.to_string())
                .collect(),
            compare_url: None,
            aggregate: false,
        }
    }
}

/// `[[package]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageConfig {
    /// Name (used in `{package}` and tags).
    pub name: String,
    /// Directory; commits changing files under it belong to the package.
    pub path: String,
    /// Tag template in independent mode.
    #[serde(default = "default_package_tag")]
    pub tag: String,
    /// A Rust crate: run `cargo semver-checks` against its last release tag and raise
    /// the level to major (minor below 1.0.0) when its public API broke.
    #[serde(default)]
    pub semver_checks: bool,
    /// More paths whose changes belong to the package (a README outside its
    /// directory, a shared schema), relative to the repository root.
    #[serde(default)]
    pub extra_paths: Vec<String>,
    /// Packages whose changes release this one too (a CLI released whenever its core
    /// is): their commits count as this package's.
    #[serde(default)]
    pub follows: Vec<String>,
}

impl PackageConfig {
    /// A package at `path` with the default tag template and no extras.
    pub fn new(name: impl Into<String>, path: impl Into<String>) -> Self {
        PackageConfig {
            name: name.into(),
            path: path.into(),
            tag: default_package_tag(),
            semver_checks: false,
            extra_paths: Vec::new(),
            follows: Vec::new(),
        }
    }
}

fn default_package_tag() -> String {
    "{package}@v{version}".into()
}

/// `[manifest]` (or each `[[manifest]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ManifestConfig {
    /// A template file in the repository (`{version}` placeholders), e.g.
    /// `distribution/manifest.template.yaml`; none: no manifest.
    pub template: Option<String>,
    /// The stored name (default `manifest.yaml`), at `releases/<release>/<name>`.
    pub name: Option<String>,
}

impl ManifestConfig {
    /// The stored name.
    pub fn stored_name(&self) -> &str {
        self.name.as_deref().unwrap_or("manifest.yaml")
    }
}

/// `[manifest]` as one table or `[[manifest]]` as several, with each table's own
/// error messages (an untagged enum would hide which key was wrong).
fn one_or_many<'de, D>(d: D) -> Result<Vec<ManifestConfig>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    struct V;
    impl<'de> serde::de::Visitor<'de> for V {
        type Value = Vec<ManifestConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a [manifest] table or [[manifest]] entries (keys: template, name)")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            let one =
                ManifestConfig::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
            Ok(if one == ManifestConfig::default() {
                Vec::new()
            } else {
                vec![one]
            })
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            Vec::<ManifestConfig>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
        }
    }
    d.deserialize_any(V)
}

/// Which forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ForgeKind {
    /// No forge configured.
    #[default]
    None,
    /// GitHub or GitHub Enterprise.
    Github,
    /// GitLab (gitlab.com or self-managed).
    Gitlab,
}

/// `[forge]`: the release train's merge request and release entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForgeConfig {
    /// github or gitlab.
    pub kind: ForgeKind,
    /// API base URL (default: the public service; set it for GitHub Enterprise or
    /// self-managed GitLab).
    pub base_url: Option<String>,
    /// GitHub: `owner/repo`; GitLab: the project path `group/project` (or its id).
    pub project: Option<String>,
    /// The environment variable holding the API token.
    pub token_env: String,
    /// The branch the train writes the pending release to.
    pub release_branch: String,
    /// Labels put on the release merge request.
    pub labels: Vec<String>,
    /// Refuse to tag while the milestone named after the version has open issues.
    pub milestone_gate: bool,
    /// Refuse to tag unless the release commit's checks are green.
    pub status_gate: bool,
}

impl Default for ForgeConfig {
    fn default() -> Self {
        ForgeConfig {
            kind: ForgeKind::None,
            base_url: None,
            project: None,
            token_env: "FERRY_FORGE_TOKEN".into(),
            release_branch: "release/next".into(),
            labels: vec!["autorelease: pending".into()],
            milestone_gate: false,
            status_gate: false,
        }
    }
}

/// The storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StorageKind {
    /// A local directory (one machine).
    #[default]
    Fs,
    /// An S3 bucket (across machines).
    S3,
}

/// `[storage]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// fs or s3.
    pub kind: StorageKind,
    /// fs: the directory, relative to the repository root.
    pub path: String,
    /// s3: the bucket.
    pub bucket: Option<String>,
    /// s3: a key prefix inside the bucket.
    pub prefix: Option<String>,
    /// s3: the endpoint of an S3-compatible server (default: AWS).
    pub endpoint: Option<String>,
    /// s3: the region.
    pub region: String,
    /// s3: path-style addressing (most S3-compatible servers need it).
    pub path_style: bool,
    /// Seconds a release lock lease lasts before another run may take it over.
    pub lock_ttl: i64,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            kind: StorageKind::Fs,
            path: ".git/ferry".into(),
            bucket: None,
            prefix: None,
            endpoint: None,
            region: "us-east-1".into(),
            path_style: false,
            lock_ttl: 900,
        }
    }
}

/// What a target publishes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// The release's assets, stored in `[storage]` under `assets/<release>/`.
    Storage,
    /// A Python package index (the upload API twine uses).
    Pypi,
    /// An npm registry: one package tarball per version; pre-releases go to the `next`
    /// dist-tag; `ferry mark-broken` deprecates.
    Npm,
    /// An OCI registry: an image layout directory or a Helm chart `.tgz` pushed as
    /// `<package>:<version>` (tags are never moved unless `ferry publish --force`).
    Oci,
}

/// `[[target]]`: one publish destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// A unique name.
    pub name: String,
    /// Where to.
    pub kind: TargetKind,
    /// The package name in the registry (storage: a label).
    pub package: String,
    /// How the registry writes the version (`{version:pep440}` for PyPI).
    #[serde(default = "default_format")]
    pub version: String,
    /// A moving tag pointed at each stable release: OCI `latest` (none by default: only
    /// the version tag is pushed), an npm dist-tag (default `latest`).
    #[serde(default)]
    pub dist_tag: Option<String>,
    /// The moving tag of pre-releases: OCI none by default, npm `next` by default.
    /// Stable moving tags (`latest`) never point at a pre-release.
    #[serde(default)]
    pub prerelease_dist_tag: Option<String>,
    /// Independent mode: the `[[package]]` whose releases this target publishes
    /// (default: the `[[package]]` named like `package`). A package's tag publishes
    /// that package's targets only.
    #[serde(default)]
    pub for_package: Option<String>,
    /// Files to publish, globs relative to the checkout of the release's tag
    /// (`dist/*-{version:pep440}.whl`: `{version…}` placeholders are expanded, so
    /// stale files of other versions are never picked up).
    #[serde(default)]
    pub files: Vec<String>,
    /// A command that produces the files, run before the globs are expanded.
    #[serde(default)]
    pub build: Vec<String>,
    /// The registry's upload address (PyPI: `https://upload.pypi.org/legacy/`).
    #[serde(default)]
    pub url: Option<String>,
    /// The registry's index (PyPI: `https://pypi.org/simple/`).
    #[serde(default)]
    pub index_url: Option<String>,
    /// The environment variable holding an API token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The environment variables holding a user name and password.
    #[serde(default)]
    pub username_env: Option<String>,
    /// See `username_env`.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Fail (instead of skipping with a note) when the credentials are missing.
    #[serde(default)]
    pub required: bool,
    /// Targets to finish first.
    #[serde(default)]
    pub after: Vec<String>,
    /// `test` targets publish automatically; `official` ones only with
    /// `ferry publish --promote`, once every `test` target of the release is done.
    #[serde(default)]
    pub channel: Channel,
}

/// A publishing channel (Framework M: test registry first, official on a manual
/// trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Published by every `ferry publish`.
    #[default]
    Default,
    /// Published automatically, and must succeed before promotion.
    Test,
    /// Published only by `ferry publish --promote`.
    Official,
}

/// How the members of a group share versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupKind {
    /// One version and one tag for all members; any change releases them all.
    Fixed,
    /// Members released together get the same (highest) version.
    Linked,
}

/// `[[group]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupConfig {
    /// Name (`{package}` in a fixed group's tag).
    pub name: String,
    /// Fixed or linked.
    pub kind: GroupKind,
    /// Member package names.
    pub packages: Vec<String>,
    /// A fixed group's one tag (default `{package}@v{version}` with the group name).
    #[serde(default = "default_package_tag")]
    pub tag: String,
}

/// How a file holds its version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// `Cargo.toml`: `[package].version` or `[workspace.package].version`, and the
    /// version requirements of path dependencies on released packages.
    Cargo,
    /// `package.json`: top-level `"version"`.
    PackageJson,
    /// `package-lock.json`: top-level `"version"` and `packages[""].version`.
    PackageLock,
    /// `pyproject.toml`: `[project].version` or `[tool.poetry].version`.
    Pyproject,
    /// Helm `Chart.yaml`: `version` and `appVersion`.
    Chart,
    /// Any text file: a regular expression with a named group `version`.
    Regex,
}

impl FileKind {
    /// The kind a file name implies.
    pub fn detect(path: &str) -> Option<FileKind> {
        let name = path.rsplit('/').next().unwrap_or(path);
        match name {
            "Cargo.toml" => Some(FileKind::Cargo),
            "package.json" => Some(FileKind::PackageJson),
            "package-lock.json" => Some(FileKind::PackageLock),
            "pyproject.toml" => Some(FileKind::Pyproject),
            "Chart.yaml" => Some(FileKind::Chart),
            _ => None,
        }
    }
}

/// `[[file]]`: one file whose version is bumped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    /// Path from the repository root.
    pub path: String,
    /// How the file holds its version (default: from the file name).
    #[serde(default)]
    pub kind: Option<FileKind>,
    /// How the version is written (`{version}`, `{version:pep440}`, `{version:base}`…).
    #[serde(default = "default_format")]
    pub format: String,
    /// For `regex`: the pattern, with a named group `version`.
    #[serde(default)]
    pub pattern: Option<String>,
    /// In independent mode: the package whose version this file holds.
    #[serde(default)]
    pub package: Option<String>,
    /// Which releases edit this file (default `always`); a conditioned file (e.g. a
    /// docs page naming the stable version) is never read back as the version.
    #[serde(default)]
    pub when: When,
}

/// Which releases a `[[file]]`, `[[check]]` or `[[hook]]` applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Every release.
    #[default]
    Always,
    /// Stable releases only (no pre-release).
    Stable,
    /// Pre-releases only.
    Prerelease,
    /// Releases that start a new minor or major version (`X.Y.0`, `X.0.0`, and their
    /// pre-releases): TruePPM squashes migrations only there.
    Minor,
    /// Releases that start a new major version.
    Major,
}

impl When {
    /// Whether a release from `current` to `next` is one of these.
    pub fn applies(
        self,
        current: Option<&crate::version::staged::Staged>,
        next: &crate::version::staged::Staged,
    ) -> bool {
        let _ = current;
        let stable = !next.is_prerelease();
        match self {
            When::Always => true,
            When::Stable => stable,
            When::Prerelease => !stable,
            When::Minor => stable && next.patch == 0,
            When::Major => stable && next.patch == 0 && next.minor == 0,
        }
    }
}

fn default_format() -> String {
    "{version}".into()
}

impl FileTarget {
    /// The effective kind, or a configuration error.
    pub fn effective_kind(&self) -> Result<FileKind, CoreError> {
        if let Some(kind) = self.kind {
            return Ok(kind);
        }
        if self.pattern.is_some() {
            return Ok(FileKind::Regex);
        }
        FileKind::detect(&self.path).ok_or_else(|| {
            CoreError::Config(format!(
                "[[file]] {}: cannot tell how this file holds its version; set kind = \"cargo\" | \"package-json\" | \"package-lock\" | \"pyproject\" | \"chart\", or give a regex `pattern` with a named group `version`",
                self.path
            ))
        })
    }
}

/// A command (`[[check]]`, `[[hook]]`), run without a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// A name for messages.
    #[serde(default)]
    pub name: Option<String>,
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Which releases run it (default `always`; `minor` for minor boundaries only).
    #[serde(default)]
    pub when: When,
}

impl CommandConfig {
    /// The name, or the command line.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.command.join(" "))
    }
}

impl Config {
    /// Checks that need no I/O: templates, kinds, patterns, references between keys.
    pub fn validate(&self) -> Result<(), CoreError> {
        let r = &self.release;
        let mut seen = std::collections::BTreeSet::new();
        for sr in &self.series {
            if crate::series::parse_name(&sr.name).is_none() {
                return Err(CoreError::Config(format!(
                    "[[series]] name {:?}: expected X.Y, e.g. \"2.10\"",
                    sr.name
                )));
            }
            if !seen.insert(sr.branch_name()) {
                return Err(CoreError::Config(format!(
                    "[[series]] branch {:?} appears twice",
                    sr.branch_name()
                )));
            }
            if sr.branch_name() == r.branch {
                return Err(CoreError::Config(format!(
                    "[[series]] {}: its branch is release.branch ({}); a series has a branch of its own",
                    sr.name, r.branch
                )));
            }
        }
        template::check(&r.commit_message, "release.commit_message")?;
        if r.commit_message.trim().is_empty() {
            return Err(CoreError::Config(
                "release.commit_message is empty: git refuses an empty commit message; e.g. \"chore(release): v{version}\"".into(),
            ));
        }
        let mut seen_tags = std::collections::HashSet::new();
        for t in &r.tags {
            if !seen_tags.insert(t.as_str()) {
                return Err(CoreError::Config(format!(
                    "release.tags: {t:?} appears twice; each template makes one tag"
                )));
            }
        }
        if r.mode == Mode::Independent {
            let mut by_tag: std::collections::HashMap<&str, &str> = Default::default();
            for p in &self.packages {
                if p.tag.contains("{package}") {
                    continue;
                }
                if let Some(other) = by_tag.insert(p.tag.as_str(), p.name.as_str()) {
                    // Members of one fixed group share their group's one tag.
                    let same_fixed_group = self.groups.iter().any(|g| {
                        g.kind == GroupKind::Fixed
                            && g.packages.iter().any(|m| m == other)
                            && g.packages.contains(&p.name)
                    });
                    if same_fixed_group {
                        continue;
                    }
                    return Err(CoreError::Config(format!(
                        "[[package]] {other} and {}: both have tag = {:?} without {{package}}, so their releases would get the same tags; put {{package}} in one of them",
                        p.name, p.tag
                    )));
                }
            }
        }
        if !matches!(
            r.other_changes,
            crate::conventional::BumpLevel::None | crate::conventional::BumpLevel::Patch
        ) {
            return Err(CoreError::Config(format!(
                "release.other_changes = {:?}: a change that asks for no level is released as `none` (not at all) or `patch`",
                r.other_changes
            ).to_lowercase()));
        }
        for p in &self.packages {
            for f in &p.follows {
                if f == &p.name || !self.packages.iter().any(|q| &q.name == f) {
                    return Err(CoreError::Config(format!(
                        "[[package]] {}: follows = {f:?} must name another [[package]]",
                        p.name
                    )));
                }
            }
        }
        let mut manifest_names = std::collections::HashSet::new();
        for m in &self.manifest {
            if m.template.is_none() {
                return Err(CoreError::Config(format!(
                    "[[manifest]] {}: needs `template` (a file in the repository with {{version}} placeholders)",
                    m.stored_name()
                )));
            }
            if !manifest_names.insert(m.stored_name()) {
                return Err(CoreError::Config(format!(
                    "[[manifest]] name {:?} appears twice; give each manifest its own `name`",
                    m.stored_name()
                )));
            }
        }
        if r.mode == Mode::Lockstep && r.tags.is_empty() {
            return Err(CoreError::Config("release.tags is empty: a lockstep release needs at least one tag template, e.g. [\"v{version}\"]".into()));
        }
        for t in &r.tags {
            template::check(t, "release.tags")?;
            if !t.contains("{version") {
                return Err(CoreError::Config(format!("release.tags: {t:?} has no {{version}} placeholder, so every release would get the same tag")));
            }
        }
        r.scheme
            .validate(&r.initial_version)
            .map_err(|e| CoreError::Config(format!("release.initial_version: {e}")))?;
        let mut names = std::collections::HashSet::new();
        for p in &self.packages {
            if !names.insert(p.name.as_str()) {
                return Err(CoreError::Config(format!(
                    "[[package]] name {:?} appears twice",
                    p.name
                )));
            }
            if p.path != "." {
                ferry_ports::RepoPath::new(p.path.trim_end_matches('/')).map_err(|e| {
                    CoreError::Config(format!(
                        "[[package]] {}: path: {e} (use \".\" for the whole repository)",
                        p.name
                    ))
                })?;
            }
            template::check(&p.tag, &format!("[[package]] {}: tag", p.name))?;
        }
        for f in &self.files {
            ferry_ports::RepoPath::new(&f.path)
                .map_err(|e| CoreError::Config(format!("[[file]] path: {e}")))?;
            let kind = f.effective_kind()?;
            template::check(&f.format, &format!("[[file]] {}: format", f.path))?;
            match (&f.pattern, kind) {
                (Some(p), FileKind::Regex) => crate::manifest::compile_pattern(p)
                    .map_err(|e| CoreError::Config(format!("[[file]] {}: pattern: {e}", f.path)))
                    .map(|_| ())?,
                (None, FileKind::Regex) => {
                    return Err(CoreError::Config(format!(
                    "[[file]] {}: kind = \"regex\" needs a `pattern` with a named group `version`",
                    f.path
                )))
                }
                (Some(_), _) => {
                    return Err(CoreError::Config(format!(
                        "[[file]] {}: `pattern` is only for kind = \"regex\"",
                        f.path
                    )))
                }
                (None, _) => {}
            }
            if let Some(p) = &f.package {
                if !names.contains(p.as_str()) {
                    return Err(CoreError::Config(format!(
                        "[[file]] {}: package {p:?} is not a [[package]]",
                        f.path
                    )));
                }
            }
        }
        let mut grouped = std::collections::HashSet::new();
        for g in &self.groups {
            template::check(&g.tag, &format!("[[group]] {}: tag", g.name))?;
            for m in &g.packages {
                if !names.contains(m.as_str()) {
                    return Err(CoreError::Config(format!(
                        "[[group]] {}: {m:?} is not a [[package]]",
                        g.name
                    )));
                }
                if !grouped.insert(m.as_str()) {
                    return Err(CoreError::Config(format!(
                        "[[group]] {}: {m:?} is already in another group",
                        g.name
                    )));
                }
            }
        }
        let mut targets = std::collections::HashSet::new();
        for t in &self.targets {
            if !targets.insert(t.name.as_str()) {
                return Err(CoreError::Config(format!(
                    "[[target]] name {:?} appears twice",
                    t.name
                )));
            }
            template::check(&t.version, &format!("[[target]] {}: version", t.name))?;
            for f in &t.files {
                template::check(f, &format!("[[target]] {}: files {f:?}", t.name))?;
            }
            if let Some(p) = &t.for_package {
                if !self.packages.iter().any(|pk| &pk.name == p) {
                    return Err(CoreError::Config(format!(
                        "[[target]] {}: for_package = {p:?} is not a [[package]] (known: {})",
                        t.name,
                        self.packages
                            .iter()
                            .map(|pk| pk.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            if t.kind == TargetKind::Npm && t.token_env.is_none() {
                return Err(CoreError::Config(format!("[[target]] {}: kind = \"npm\" needs `token_env` (the variable holding an npm token)", t.name)));
            }
            if t.kind == TargetKind::Oci && t.url.is_none() {
                return Err(CoreError::Config(format!("[[target]] {}: kind = \"oci\" needs `url` (the registry, e.g. https://ghcr.io)", t.name)));
            }
            if t.kind == TargetKind::Pypi && t.url.is_none() {
                return Err(CoreError::Config(format!("[[target]] {}: kind = \"pypi\" needs `url` (the upload API, e.g. https://upload.pypi.org/legacy/)", t.name)));
            }
        }
        for t in &self.targets {
            for a in &t.after {
                if !targets.contains(a.as_str()) {
                    return Err(CoreError::Config(format!(
                        "[[target]] {}: after = {a:?} is not a [[target]]",
                        t.name
                    )));
                }
            }
        }
        if self.storage.kind == StorageKind::S3 && self.storage.bucket.is_none() {
            return Err(CoreError::Config(
                "[storage] kind = \"s3\" needs `bucket`".into(),
            ));
        }
        if self.storage.lock_ttl <= 0 {
            return Err(CoreError::Config(
                "storage.lock_ttl must be a positive number of seconds".into(),
            ));
        }
        for c in self.checks.iter().chain(&self.hooks) {
            if c.command.is_empty() {
                return Err(CoreError::Config(format!(
                    "[[check]]/[[hook]] {}: command is empty",
                    c.label()
                )));
            }
        }
        if self.changelog.kinds.is_empty() {
            return Err(CoreError::Config("changelog.kinds is empty".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().expect("defaults");
    }

    #[test]
    fn invalid_configurations_name_the_key() {
        let mut c = Config::default();
        c.release.tags = vec!["v{versoin}".into()];
        assert!(c
            .validate()
            .expect_err("typo")
            .to_string()
            .contains("release.tags"));
        let mut c = Config::default();
        c.files.push(FileTarget {
            when: Default::default(),
            path: "settings.py".into(),
            kind: None,
            format: "{version}".into(),
            pattern: None,
            package: None,
        });
        assert!(c
            .validate()
            .expect_err("kind")
            .to_string()
            .contains("settings.py"));
        let mut c = Config::default();
        c.files.push(FileTarget {
            when: Default::default(),
            path: "settings.py".into(),
            kind: None,
            format: "{version}".into(),
            pattern: Some("VERSION = \"(.*)\"".into()),
            package: None,
        });
        assert!(c
            .validate()
            .expect_err("group")
            .to_string()
            .contains("version"));
        let mut c = Config::default();
        c.release.initial_version = "1.0".into();
        assert!(c
            .validate()
            .expect_err("initial")
            .to_string()
            .contains("release.initial_version"));
    }
}
