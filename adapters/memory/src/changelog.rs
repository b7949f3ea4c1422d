//! The deprecated `Changelog` port in memory (kept until the port is removed in 1.0).
#![allow(deprecated)]
use crate::lock;
use ferry_ports::{
    async_trait, ChangeEntry, Changelog, ChangelogScope, PortError, PortResult, ReleaseHeading,
    Version, DEFAULT_KINDS,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

/// A [`Changelog`] in memory: pending entries and released sections per scope.
#[derive(Debug)]
pub struct InMemoryChangelog {
    kinds: Vec<String>,
    state: Mutex<HashMap<ChangelogScope, ScopeState>>,
}

#[derive(Debug, Default)]
struct ScopeState {
    pending: Vec<ChangeEntry>,
    released: BTreeMap<Version, String>,
}

impl Default for InMemoryChangelog {
    fn default() -> Self {
        Self::with_kinds(DEFAULT_KINDS.iter().map(|k| k.to_string()))
    }
}

impl InMemoryChangelog {
    /// A changelog accepting Keep a Changelog's kinds.
    pub fn new() -> Self {
        Self::default()
    }

    /// A changelog accepting `kinds`, in that display order.
    pub fn with_kinds(kinds: impl IntoIterator<Item = String>) -> Self {
        InMemoryChangelog {
            kinds: kinds.into_iter().collect(),
            state: Mutex::new(HashMap::new()),
        }
    }

    fn kind_rank(&self, kind: &str) -> usize {
        self.kinds
            .iter()
            .position(|k| k == kind)
            .unwrap_or(usize::MAX)
    }

    fn render(&self, heading: &ReleaseHeading, entries: &[ChangeEntry]) -> String {
        let mut out = format!("## [{}] - {}\n", heading.version, heading.date);
        for kind in &self.kinds {
            let items: Vec<_> = entries.iter().filter(|e| &e.kind == kind).collect();
            if items.is_empty() {
                continue;
            }
            let mut title = kind.clone();
            if let Some(first) = title.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            out.push_str(&format!("\n### {title}\n\n"));
            for item in items {
                out.push_str(&format!("- {}\n", item.text.trim()));
            }
        }
        out
    }
}

#[async_trait]
impl Changelog for InMemoryChangelog {
    fn kinds(&self) -> Vec<String> {
        self.kinds.clone()
    }

    async fn pending(&self, scope: &ChangelogScope) -> PortResult<Vec<ChangeEntry>> {
        let state = lock(&self.state);
        let mut pending = state
            .get(scope)
            .map(|s| s.pending.clone())
            .unwrap_or_default();
        pending.sort_by_key(|e| self.kind_rank(&e.kind));
        Ok(pending)
    }

    async fn record(&self, scope: &ChangelogScope, entries: &[ChangeEntry]) -> PortResult<()> {
        if let Some(bad) = entries.iter().find(|e| !self.kinds.contains(&e.kind)) {
            return Err(PortError::invalid_input(format!(
                "changelog entry kind {:?} is not one of: {}",
                bad.kind,
                self.kinds.join(", ")
            )));
        }
        let mut state = lock(&self.state);
        let s = state.entry(scope.clone()).or_default();
        for entry in entries {
            let dup = s
                .pending
                .iter()
                .any(|p| p.kind == entry.kind && p.text == entry.text);
            if !dup {
                s.pending.push(entry.clone());
            }
        }
        Ok(())
    }

    async fn release(
        &self,
        scope: &ChangelogScope,
        heading: &ReleaseHeading,
    ) -> PortResult<String> {
        let mut state = lock(&self.state);
        let s = state.entry(scope.clone()).or_default();
        if s.released.contains_key(&heading.version) {
            return Err(PortError::already_exists(format!(
                "the changelog already has a section for {}",
                heading.version
            )));
        }
        if s.pending.is_empty() {
            return Err(PortError::precondition_failed(
                "the [Unreleased] notes are empty: record entries (or add changelog fragments) before a stable release",
            ));
        }
        let mut entries = std::mem::take(&mut s.pending);
        entries.sort_by_key(|e| self.kind_rank(&e.kind));
        let section = self.render(heading, &entries);
        s.released.insert(heading.version.clone(), section.clone());
        Ok(section)
    }

    async fn notes(&self, scope: &ChangelogScope, version: &Version) -> PortResult<Option<String>> {
        let state = lock(&self.state);
        Ok(state
            .get(scope)
            .and_then(|s| s.released.get(version).cloned()))
    }
}
