//! Decoding commits ahead of a long walk, on a second thread.
//!
//! Reading a commit is mostly inflating it, and a walk cannot know a commit before
//! it has read the child naming it — so the walk itself is sequential. But packs
//! store commits in an order that follows the history: `git pack-objects` (clone,
//! fetch, gc, repack) writes them newest first, `git fast-import` oldest first. When
//! a walk starts, a helper thread lists the commits of the pack holding its tip
//! (entry headers only, nothing inflated), orders them by offset in the direction
//! the history goes, and both threads decode that sequence in blocks of [`BLOCK`]:
//! the helper a block or more ahead of the walk, the walk itself whenever the block
//! it needs is still free. A short walk is over before the listing is; it stops the
//! helper, which checks for that every few thousand entries.
//!
//! Decoded commits are only a cache keyed by commit id: a history the pack does not
//! follow (several branches interleaved, commits spread over several packs, loose
//! objects) just gets fewer hits and the walk reads those commits itself. The
//! helper never runs more than [`MAX_LEAD`] blocks ahead (bounded memory), and is
//! stopped and joined when the walk ends.

use super::{Commit, Reader};
use gix::hash::ObjectId;
use gix::hashtable::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;

/// Commits per block.
const BLOCK: usize = 64;
/// How many blocks beyond the walk's position the helper may decode.
const MAX_LEAD: usize = 32;

const FREE: u8 = 0;
const BUSY: u8 = 1;
const DONE: u8 = 2;

/// The pack's commits in the walk's direction, from the commit the helper started at.
struct Sequence {
    ids: Vec<ObjectId>,
    position: HashMap<ObjectId, usize>,
    blocks: Vec<AtomicU8>,
}

#[derive(Default)]
struct Shared {
    sequence: OnceLock<Sequence>,
    ready: Mutex<HashMap<ObjectId, Commit>>,
    /// The furthest position the walk has asked for.
    walk_at: AtomicUsize,
    stop: AtomicBool,
}

impl Shared {
    fn ready(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Commit>> {
        // A panicking decoder leaves a consistent map behind: keep using it.
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Claims block `b` if it is free.
    fn claim(&self, seq: &Sequence, b: usize) -> bool {
        seq.blocks.get(b).is_some_and(|s| {
            s.compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        })
    }

    /// Decodes block `b` (claimed by the caller) into the ready map, except
    /// `keep`, which is returned.
    fn decode_block<F: gix::objs::Find>(
        &self,
        reader: &mut Reader<F>,
        seq: &Sequence,
        b: usize,
        keep: Option<&ObjectId>,
    ) -> Option<Commit> {
        let start = b * BLOCK;
        let end = (start + BLOCK).min(seq.ids.len());
        let mut decoded = Vec::with_capacity(end - start);
        let mut kept = None;
        for id in &seq.ids[start..end] {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            // An unreadable commit is left for the walk to read (and report).
            if let Ok(c) = reader.commit(*id) {
                if Some(id) == keep {
                    kept = Some(c);
                } else {
                    decoded.push(c);
                }
            }
        }
        self.ready().extend(decoded.into_iter().map(|c| (c.id, c)));
        seq.blocks[b].store(DONE, Ordering::Release);
        kept
    }
}

/// A running helper (see the module docs).
pub(super) struct Prefetch {
    shared: Arc<Shared>,
    helper: Option<JoinHandle<()>>,
}

impl Prefetch {
    /// Starts a helper for a walk that has just taken commit `at`; `None` on a
    /// single-core machine.
    pub(super) fn start(repo: &gix::Repository, at: ObjectId) -> Option<Prefetch> {
        if std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
            return None;
        }
        let shared = Arc::new(Shared::default());
        let store = repo.objects.store();
        let hash = repo.object_hash();
        let helper = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("ferry-history-prefetch".into())
                .spawn(move || helper(&store, hash, &shared, at))
                .ok()?
        };
        Some(Prefetch {
            shared,
            helper: Some(helper),
        })
    }

    /// Commit `id`, decoded by the helper or, when its block is still free, by
    /// this call together with the rest of that block; `None` when the walk must
    /// read it itself.
    pub(super) fn take<F: gix::objs::Find>(
        &mut self,
        id: &ObjectId,
        reader: &mut Reader<F>,
    ) -> Option<Commit> {
        let shared = &*self.shared;
        let seq = shared.sequence.get()?;
        let &i = seq.position.get(id)?;
        shared.walk_at.fetch_max(i, Ordering::Relaxed);
        let b = i / BLOCK;
        loop {
            if let Some(c) = shared.ready().remove(id) {
                return Some(c);
            }
            match seq.blocks[b].load(Ordering::Acquire) {
                FREE if shared.claim(seq, b) => {
                    return shared.decode_block(reader, seq, b, Some(id));
                }
                FREE => continue,
                BUSY => {
                    // The helper is on it: decode a block further on meanwhile, or
                    // read this one commit if there is none to take.
                    let next =
                        (b + 1..(b + 3).min(seq.blocks.len())).find(|&n| shared.claim(seq, n));
                    match next {
                        Some(n) => {
                            shared.decode_block(reader, seq, n, None);
                        }
                        None => return None,
                    }
                }
                // Decoded already and not in the map: taken before, or unreadable.
                _ => return None,
            }
        }
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.helper.take() {
            let _ = h.join();
        }
    }
}

/// The helper thread: list the pack's commits, then decode blocks ahead of the walk.
fn helper(store: &Arc<gix::odb::Store>, hash: gix::hash::Kind, shared: &Shared, at: ObjectId) {
    let mut reader = Reader::new(store.to_cache_arc(), store.path(), hash);
    let Some(seq) = sequence(&mut reader, at, &shared.stop) else {
        return;
    };
    let seq = shared.sequence.get_or_init(|| seq);
    while !shared.stop.load(Ordering::Relaxed) {
        let walk_block = shared.walk_at.load(Ordering::Relaxed) / BLOCK;
        let last = (walk_block + MAX_LEAD).min(seq.blocks.len());
        if walk_block >= seq.blocks.len() {
            return;
        }
        match (walk_block..last).find(|&b| shared.claim(seq, b)) {
            Some(b) => {
                shared.decode_block(&mut reader, seq, b, None);
            }
            None if last == seq.blocks.len()
                && seq.blocks[walk_block..]
                    .iter()
                    .all(|s| s.load(Ordering::Acquire) != FREE) =>
            {
                return;
            }
            None => std::thread::sleep(std::time::Duration::from_micros(100)),
        }
    }
}

/// The commits of the pack holding `at`, ordered by pack offset in the direction
/// of `at`'s first parent, starting after `at`; `None` when `at` is not packed, or
/// its parent is not in the same pack.
fn sequence<F: gix::objs::Find>(
    reader: &mut Reader<F>,
    at: ObjectId,
    stop: &AtomicBool,
) -> Option<Sequence> {
    let parent = reader.commit(at).ok()?.parents.first().copied()?;
    for bundle in reader.packs() {
        let Some(at_index) = bundle.index.lookup(at) else {
            continue;
        };
        let at_offset = bundle.index.pack_offset_at_index(at_index);
        let parent_offset = bundle
            .index
            .lookup(parent)
            .map(|i| bundle.index.pack_offset_at_index(i))?;
        // The commits: an entry's type is bits 4-6 of its first byte (1: commit;
        // deltas are left to the walk).
        let index = &bundle.index;
        let mut commits: Vec<(u64, ObjectId)> = Vec::new();
        for i in 0..index.num_objects() {
            if i % 4096 == 0 && stop.load(Ordering::Relaxed) {
                return None;
            }
            let offset = index.pack_offset_at_index(i);
            if let Some(&[first]) = bundle.pack.entry_slice(offset..offset + 1) {
                if (first >> 4) & 0b111 == 1 {
                    commits.push((offset, index.oid_at_index(i).to_owned()));
                }
            }
        }
        commits.sort_unstable_by_key(|(offset, _)| *offset);
        let ids: Vec<ObjectId> = if parent_offset < at_offset {
            commits
                .iter()
                .rev()
                .skip_while(|(o, _)| *o >= at_offset)
                .map(|(_, id)| *id)
                .collect()
        } else {
            commits
                .iter()
                .skip_while(|(o, _)| *o <= at_offset)
                .map(|(_, id)| *id)
                .collect()
        };
        let position = ids.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let blocks = (0..ids.len().div_ceil(BLOCK))
            .map(|_| AtomicU8::new(FREE))
            .collect();
        return Some(Sequence {
            ids,
            position,
            blocks,
        });
    }
    None
}
