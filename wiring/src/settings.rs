//! Loading `ferry.toml`: defaults < file < `FERRY_<SECTION>__<KEY>` environment <
//! `--set key=value` flags, with the origin of every value kept for `config show`.

use anyhow::Context;
use ferry_core::config::Config;
use figment::providers::{Format, Serialized, Toml};
use figment::value::{Dict, Value};
use figment::Figment;
use std::path::{Path, PathBuf};

/// The merged configuration and where it came from.
#[derive(Debug)]
pub struct Loaded {
    /// The configuration, validated.
    pub config: Config,
    /// The layers it was merged from (for `config show`).
    pub figment: Figment,
    /// The configuration file.
    pub file: PathBuf,
    /// Whether that file exists.
    pub file_exists: bool,
}

/// Load the configuration of the repository at `root`: defaults < `file` (default
/// `ferry.toml` at the root) < `FERRY_<SECTION>__<KEY>` variables < `sets`.
pub fn load(root: &Path, file: Option<&Path>, sets: &[String]) -> anyhow::Result<Loaded> {
    let path = file
        .map(Path::to_path_buf)
        .unwrap_or_else(|| root.join("ferry.toml"));
    let exists = path.exists();
    if file.is_some() && !exists {
        anyhow::bail!("configuration file {} does not exist", path.display());
    }
    let mut figment = Figment::from(Named(Serialized::defaults(Config::default()), "default"));
    if exists {
        figment = figment.merge(Toml::file_exact(&path));
    }
    // Only `FERRY_<SECTION>__<KEY>` names are configuration; `FERRY_LOG`,
    // `FERRY_ASSUME_YES` and variables of other tools are not.
    let mut env: Vec<(String, String)> = std::env::vars()
        .filter_map(|(k, v)| {
            let key = k.strip_prefix("FERRY_")?;
            key.contains("__")
                .then(|| (key.to_ascii_lowercase().replace("__", "."), v))
        })
        .collect();
    env.sort();
    for (key, value) in env {
        figment = figment.merge(Named(
            Serialized::global(&key, flag_value(&value)),
            "FERRY_* environment",
        ));
    }
    for set in sets {
        let (key, value) = set.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--set {set:?}: expected KEY=VALUE, e.g. --set release.branch=develop")
        })?;
        figment = figment.merge(Named(
            Serialized::global(key.trim(), flag_value(value)),
            "--set flag",
        ));
    }
    // Lossy: a string "30" fills a number key and "true" a boolean one, while string
    // keys keep the exact text (`release.branch=2.10` is "2.10", never 2.1).
    let config: Config = figment.extract_lossy().map_err(|e| {
        let mut text = e.to_string();
        if !exists {
            text.push_str(" (no ferry.toml; from the environment or --set)");
        }
        anyhow::anyhow!(text)
    })
    .with_context(|| format!("invalid configuration ({}, FERRY_* environment, --set flags); every key is documented in docs/configuration.md", path.display()))?;
    config
        .validate()
        .with_context(|| format!("invalid configuration in {}", path.display()))?;
    Ok(Loaded {
        config,
        figment,
        file: path,
        file_exists: exists,
    })
}

/// A provider under another name, so `config show` says "default" or "--set flag"
/// instead of a Rust type name.
struct Named<P>(P, &'static str);

impl<P: figment::Provider> figment::Provider for Named<P> {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(self.1)
    }

    fn data(&self) -> Result<figment::value::Map<figment::Profile, Dict>, figment::Error> {
        self.0.data()
    }
}

/// A value given in a flag or a variable: the text as it is, except an array, a
/// table or a quoted string, which are read as TOML (`["v{version}"]`).
fn flag_value(text: &str) -> Value {
    let t = text.trim_start();
    if t.starts_with(['[', '{', '"', '\'']) {
        if let Some(v) = toml_value(text) {
            return v;
        }
    }
    Value::from(text.to_string())
}

fn toml_value(text: &str) -> Option<Value> {
    let doc: toml::Table = format!("v = {text}").parse().ok()?;
    let v = doc.get("v")?.clone();
    Value::serialize(v).ok()
}

/// Every leaf key of the merged configuration with its value and origin.
pub fn describe(loaded: &Loaded) -> anyhow::Result<Vec<(String, String, String)>> {
    let merged: Dict = loaded
        .figment
        .extract()
        .context("merging the configuration")?;
    let mut out = Vec::new();
    walk(&loaded.figment, "", &Value::from(merged), &mut out);
    Ok(out)
}

fn walk(figment: &Figment, prefix: &str, value: &Value, out: &mut Vec<(String, String, String)>) {
    match value {
        Value::Dict(_, dict) => {
            for (k, v) in dict {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                walk(figment, &key, v, out);
            }
        }
        leaf => {
            let origin = figment
                .find_metadata(prefix)
                .map(|m| match &m.source {
                    Some(source) => format!("{} ({source})", m.name),
                    None => m.name.to_string(),
                })
                .unwrap_or_else(|| "default".into());
            let shown = serde_json::to_string(&leaf).unwrap_or_default();
            out.push((prefix.to_string(), shown, origin));
        }
    }
}
