//! All-or-nothing writes to the working tree.
//!
//! 1. Every new content is written to a temporary file beside its target (parent
//!    directories are created as needed). A failure here has changed nothing that
//!    was there before.
//! 2. Each write is applied in order: an existing target is first renamed to a
//!    backup beside it, then the temporary file is renamed into place (a delete
//!    only makes the backup). A failure here undoes the writes already applied, in
//!    reverse, by renaming the backups back.
//! 3. On success the backups are removed; on failure the temporary files and the
//!    directories created in step 1 are.

use crate::error::io_error;
use ferry_ports::{FileWrite, PortError, PortResult};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A unique file name beside `target`: `.<name>.ferry-<what>-<pid>-<n>`.
fn sibling(target: &Path, what: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.ferry-{what}-{}-{n}", std::process::id()))
}

/// Refuse paths that would write inside the repository's own `.git`.
pub(crate) fn check_not_git_dir(path: &str) -> PortResult<()> {
    if path
        .split('/')
        .any(|part| part.eq_ignore_ascii_case(".git"))
    {
        return Err(PortError::invalid_input(format!(
            "path {path:?} is inside a .git directory; ferry only writes tracked content"
        )));
    }
    Ok(())
}

/// One write being applied.
struct Step {
    target: PathBuf,
    /// The new content, staged beside the target (`None`: delete).
    temp: Option<PathBuf>,
    /// The previous file, moved aside once the step is applied.
    backup: Option<PathBuf>,
    applied: bool,
}

/// Apply `writes` under `workdir`, all or none.
pub(crate) fn write_all(workdir: &Path, writes: &[FileWrite]) -> PortResult<()> {
    for w in writes {
        check_not_git_dir(w.path.as_str())?;
    }
    let mut steps: Vec<Step> = Vec::with_capacity(writes.len());
    let mut created_dirs: Vec<PathBuf> = Vec::new();
    let result =
        stage(workdir, writes, &mut steps, &mut created_dirs).and_then(|()| apply(&mut steps));
    match result {
        Ok(()) => {
            for step in &steps {
                if let Some(backup) = &step.backup {
                    // Best effort: a leftover backup is litter, not a wrong state.
                    let _ = fs::remove_file(backup);
                }
            }
            Ok(())
        }
        Err(err) => {
            rollback(&mut steps, &created_dirs);
            Err(err)
        }
    }
}

/// Step 1: stage every new content in a temporary file beside its target.
fn stage(
    workdir: &Path,
    writes: &[FileWrite],
    steps: &mut Vec<Step>,
    created_dirs: &mut Vec<PathBuf>,
) -> PortResult<()> {
    for w in writes {
        let target = workdir.join(w.path.as_str());
        let Some(content) = &w.content else {
            steps.push(Step {
                target,
                temp: None,
                backup: None,
                applied: false,
            });
            continue;
        };
        if let Some(parent) = target.parent() {
            create_dirs(parent, created_dirs)?;
        }
        let temp = sibling(&target, "new");
        // Recorded before writing, so a partial temporary file is removed too.
        steps.push(Step {
            target: target.clone(),
            temp: Some(temp.clone()),
            backup: None,
            applied: false,
        });
        write_temp(&temp, content, &target)?;
    }
    Ok(())
}

fn write_temp(temp: &Path, content: &[u8], target: &Path) -> PortResult<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(temp)
        .map_err(|e| io_error(temp, "create the temporary file", e))?;
    file.write_all(content)
        .and_then(|()| file.sync_all())
        .map_err(|e| io_error(temp, "write the temporary file", e))?;
    // Keep the permissions (the executable bit) of the file being replaced.
    if let Ok(meta) = fs::metadata(target) {
        if meta.is_file() {
            fs::set_permissions(temp, meta.permissions())
                .map_err(|e| io_error(temp, "set the permissions of", e))?;
        }
    }
    Ok(())
}

/// `mkdir -p dir`, remembering which directories it created (outermost first).
fn create_dirs(dir: &Path, created: &mut Vec<PathBuf>) -> PortResult<()> {
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(d) = at {
        if d.as_os_str().is_empty() || fs::symlink_metadata(d).is_ok() {
            break;
        }
        missing.push(d.to_path_buf());
        at = d.parent();
    }
    for d in missing.into_iter().rev() {
        fs::create_dir(&d).map_err(|e| io_error(&d, "create the directory", e))?;
        created.push(d);
    }
    Ok(())
}

/// Step 2: move each previous file aside and the new content into place.
fn apply(steps: &mut [Step]) -> PortResult<()> {
    for step in steps.iter_mut() {
        match fs::symlink_metadata(&step.target) {
            Ok(meta) if meta.is_dir() => {
                return Err(PortError::invalid_input(format!(
                    "{} is a directory; a write replaces or deletes a file",
                    step.target.display()
                )));
            }
            Ok(_) => {
                let backup = sibling(&step.target, "old");
                fs::rename(&step.target, &backup)
                    .map_err(|e| io_error(&step.target, "move aside", e))?;
                step.backup = Some(backup);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_error(&step.target, "inspect", e)),
        }
        step.applied = true;
        if let Some(temp) = &step.temp {
            fs::rename(temp, &step.target).map_err(|e| io_error(&step.target, "replace", e))?;
            step.temp = None;
        }
    }
    Ok(())
}

/// Undo what `stage` and `apply` did, in reverse. Best effort: each step is
/// tried even when an earlier one failed.
fn rollback(steps: &mut [Step], created_dirs: &[PathBuf]) {
    for step in steps.iter_mut().rev() {
        if step.applied {
            if step.temp.is_none() {
                // The new content (if any) is in place: take it out again.
                let _ = fs::remove_file(&step.target);
            }
            if let Some(backup) = step.backup.take() {
                let _ = fs::rename(&backup, &step.target);
            }
        }
        if let Some(temp) = step.temp.take() {
            let _ = fs::remove_file(temp);
        }
    }
    for dir in created_dirs.iter().rev() {
        let _ = fs::remove_dir(dir);
    }
}
