//! The history walk: the commits reachable from some tips and not from others,
//! children before parents, each commit read from the object database exactly once.
//!
//! libgit2's revwalk parses every commit to order the walk, and its commits then
//! have to be looked up again for their messages: two inflates per commit, which is
//! most of the cost of planning a long history. This walk reads each commit once —
//! a plain commit in a pack straight from the memory-mapped pack with libdeflate,
//! anything else through gitoxide's object store (see [`Reader`]) — and keeps what
//! the planner needs.
//!
//! A shallow clone's boundary commits (`.git/shallow`) have no parents, as in git.
//!
//! Which commits: git's own "limit list" rule (`git rev-list TIPS ^HIDDEN`). The queue
//! is ordered by committer time; a commit reached from a hidden tip is
//! *uninteresting* and so is everything below it, also commits already taken (they
//! are dropped at the end). The walk stops when only uninteresting commits are left,
//! after [`SLOP`] more of them to tolerate clock skew — the same heuristic git uses.
//!
//! In which order: topological (every commit before its parents), newest first among
//! the commits whose children have all been emitted.
//!
//! Long walks are split across two threads (see [`prefetch`]): a helper decodes
//! commits ahead of the walk in pack order, which for packs written by git and by
//! `git fast-import` follows the history.

use ferry_ports::{CommitId, CommitInfo};
use gix::hash::ObjectId;
use gix::hashtable::HashMap;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt;
use std::path::Path;

mod prefetch;

/// Uninteresting commits taken after the last interesting one before the walk
/// stops (git's `SLOP`).
const SLOP: u32 = 5;

/// A commit: what the walk needs, and the port's view of it.
#[derive(Debug, Clone)]
pub(crate) struct Commit {
    pub(crate) id: ObjectId,
    pub(crate) parents: Vec<ObjectId>,
    pub(crate) tree: ObjectId,
    /// Committer time, seconds since the epoch.
    pub(crate) time: i64,
    /// The message has its leading newlines removed (as libgit2 and `git log` show
    /// it); no touched roots yet.
    pub(crate) info: CommitInfo,
}

/// Why the walk failed.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// The repository could not be opened with gitoxide.
    Open(String),
    /// The object does not exist (a shallow or damaged repository).
    Missing(ObjectId),
    /// The object exists but is not a commit.
    NotACommit(ObjectId, String),
    /// The object store failed, or the commit could not be parsed.
    Read(ObjectId, String),
}

impl fmt::Display for WalkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalkError::Open(e) => write!(f, "could not open the repository: {e}"),
            WalkError::Missing(id) => write!(
                f,
                "commit {id} is not in the repository (a shallow clone or a damaged \
                 object store: fetch the full history with `git fetch --unshallow --tags`)"
            ),
            WalkError::NotACommit(id, kind) => write!(f, "{id} is a {kind}, not a commit"),
            WalkError::Read(id, e) => write!(f, "could not read commit {id}: {e}"),
        }
    }
}

impl std::error::Error for WalkError {}

/// Opens the repository at `git_dir` for reading objects.
pub(crate) fn open(git_dir: &Path) -> Result<gix::Repository, WalkError> {
    gix::open(git_dir).map_err(|e| WalkError::Open(e.to_string()))
}

/// Reads commits: a plain (undeltified) commit in one of the repository's packs
/// straight from the memory-mapped pack, inflated with libdeflate (a fifth
/// faster than zlib on these small objects, and no store lookup); anything else
/// (loose objects, deltas, alternates, many packs) through gitoxide's object store.
pub(crate) struct Reader<F> {
    odb: F,
    hash: gix::hash::Kind,
    packs: Vec<gix::odb::pack::Bundle>,
    inflater: libdeflater::Decompressor,
    buf: Vec<u8>,
}

/// Beyond this many packs the store's multi-pack lookup is the better path.
const MAX_DIRECT_PACKS: usize = 16;

impl<F: gix::objs::Find> Reader<F> {
    /// A reader of the repository whose object directory is `objects_dir`.
    pub(crate) fn new(odb: F, objects_dir: &Path, hash: gix::hash::Kind) -> Self {
        Reader {
            odb,
            hash,
            packs: open_packs(objects_dir, hash),
            inflater: libdeflater::Decompressor::new(),
            buf: Vec::new(),
        }
    }

    /// The packs (for the prefetch helper's listing).
    pub(crate) fn packs(&self) -> &[gix::odb::pack::Bundle] {
        &self.packs
    }

    /// Reads and decodes commit `id`.
    pub(crate) fn commit(&mut self, id: ObjectId) -> Result<Commit, WalkError> {
        if self.read_packed(&id) {
            return decode(id, &self.buf, self.hash);
        }
        read(&self.odb, self.hash, id, &mut self.buf)
    }

    /// Inflates `id` into `buf` when it is a plain commit in one of the packs.
    fn read_packed(&mut self, id: &ObjectId) -> bool {
        use gix::odb::pack::data::entry::Header;
        for pack in &self.packs {
            let Some(i) = pack.index.lookup(id) else {
                continue;
            };
            let Ok(entry) = pack.pack.entry(pack.index.pack_offset_at_index(i)) else {
                return false;
            };
            if entry.header != Header::Commit {
                return false;
            }
            let Ok(size) = usize::try_from(entry.decompressed_size) else {
                return false;
            };
            // The zlib stream ends on its own; libdeflate stops there.
            let Some(input) = pack
                .pack
                .entry_slice(entry.data_offset..pack.pack.pack_end() as u64)
            else {
                return false;
            };
            self.buf.resize(size, 0);
            return matches!(self.inflater.zlib_decompress(input, &mut self.buf), Ok(n) if n == size);
        }
        false
    }
}

/// The packs of `objects_dir` (none when there are too many, or on any error:
/// the object store then reads everything).
fn open_packs(objects_dir: &Path, hash: gix::hash::Kind) -> Vec<gix::odb::pack::Bundle> {
    let Ok(dir) = std::fs::read_dir(objects_dir.join("pack")) else {
        return Vec::new();
    };
    let mut packs = Vec::new();
    for entry in dir.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("idx") {
            continue;
        }
        if packs.len() == MAX_DIRECT_PACKS {
            return Vec::new();
        }
        if let Ok(bundle) = gix::odb::pack::Bundle::at(&path, hash) {
            packs.push(bundle);
        }
    }
    packs
}

/// Reads and decodes one commit through the object store.
pub(crate) fn read_commit(
    repo: &gix::Repository,
    id: ObjectId,
    buf: &mut Vec<u8>,
) -> Result<Commit, WalkError> {
    read(&repo.objects, repo.object_hash(), id, buf)
}

/// Reads and decodes commit `id` from `odb`.
fn read(
    odb: &impl gix::objs::Find,
    hash: gix::hash::Kind,
    id: ObjectId,
    buf: &mut Vec<u8>,
) -> Result<Commit, WalkError> {
    let data = odb
        .try_find(&id, buf)
        .map_err(|e| WalkError::Read(id, e.to_string()))?
        .ok_or(WalkError::Missing(id))?;
    if data.kind != gix::objs::Kind::Commit {
        return Err(WalkError::NotACommit(id, data.kind.to_string()));
    }
    decode(id, data.data, hash)
}

/// Decodes the bytes of commit `id`: one pass over the header (no allocation but
/// the parents), the message and author copied once into the port's types.
fn decode(id: ObjectId, bytes: &[u8], hash: gix::hash::Kind) -> Result<Commit, WalkError> {
    use gix::objs::commit::ref_iter::Token;
    let mut tree = None;
    let mut parents = Vec::new();
    let mut author = None;
    let mut time = 0;
    let mut message: &[u8] = b"";
    for token in gix::objs::CommitRefIter::from_bytes(bytes, hash) {
        match token.map_err(|e| WalkError::Read(id, e.to_string()))? {
            Token::Tree { id } => tree = Some(id),
            Token::Parent { id } => parents.push(id),
            Token::Author { signature } => author = Some(signature.trim()),
            // "<seconds> <offset>"; a malformed date sorts as the epoch (git and
            // libgit2 read such dates as 0 too).
            Token::Committer { signature } => {
                time = signature
                    .time
                    .split_ascii_whitespace()
                    .next()
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or_default();
            }
            Token::Message(m) => message = m.as_ref(),
            Token::Encoding(_) | Token::ExtraHeader(_) => {}
        }
    }
    let tree = tree.ok_or_else(|| WalkError::Read(id, "the commit names no tree".into()))?;
    let author = author.ok_or_else(|| WalkError::Read(id, "the commit names no author".into()))?;
    let start = message
        .iter()
        .position(|b| *b != b'\n')
        .unwrap_or(message.len());
    let commit_id = |id: &ObjectId| {
        let mut buf = [0u8; 64];
        CommitId::new(id.hex_to_buf(&mut buf).to_owned())
            .map_err(|e| WalkError::Read(*id, e.to_string()))
    };
    let info = CommitInfo::new(
        commit_id(&id)?,
        parents.iter().map(commit_id).collect::<Result<_, _>>()?,
        lossy(&message[start..]),
        lossy(author.name.as_ref()),
        lossy(author.email.as_ref()),
        time,
        Vec::new(),
    );
    Ok(Commit {
        id,
        parents,
        tree,
        time,
        info,
    })
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const UNINTERESTING: u8 = 1;
/// In the queue and counted in `Walk::interesting_queued`.
const COUNTED: u8 = 4;

struct Node {
    commit: Commit,
    flags: u8,
    /// Indices of the parents in `nodes` (filled when the node is taken).
    parents: Vec<usize>,
    /// The parents have been added to `nodes` (and the queue).
    expanded: bool,
}

/// Queue entry: newest committer time first, then first queued first.
#[derive(PartialEq, Eq)]
struct Queued {
    time: i64,
    seq: std::cmp::Reverse<u64>,
    node: usize,
}

impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.time, &self.seq).cmp(&(other.time, &other.seq))
    }
}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

struct Walk {
    reader: Reader<gix::OdbHandle>,
    nodes: Vec<Node>,
    index: HashMap<ObjectId, usize>,
    queue: BinaryHeap<Queued>,
    seq: u64,
    /// Queued nodes that are not uninteresting.
    interesting_queued: usize,
    prefetch: Option<prefetch::Prefetch>,
    /// The shallow boundary: commits whose parents are not in the repository.
    shallow: gix::hashtable::HashSet<ObjectId>,
}

impl Walk {
    /// The node of `id`, read and decoded on first sight.
    fn node(&mut self, id: ObjectId) -> Result<usize, WalkError> {
        if let Some(&at) = self.index.get(&id) {
            return Ok(at);
        }
        let prefetched = match self.prefetch.as_mut() {
            Some(p) => p.take(&id, &mut self.reader),
            None => None,
        };
        let mut commit = match prefetched {
            Some(c) => c,
            None => self.reader.commit(id)?,
        };
        if self.shallow.contains(&id) {
            commit.parents.clear();
            commit.info.parents.clear();
        }
        self.nodes.push(Node {
            commit,
            flags: 0,
            parents: Vec::new(),
            expanded: false,
        });
        let at = self.nodes.len() - 1;
        self.index.insert(id, at);
        Ok(at)
    }

    fn enqueue(&mut self, node: usize) {
        self.seq += 1;
        if self.nodes[node].flags & UNINTERESTING == 0 {
            self.nodes[node].flags |= COUNTED;
            self.interesting_queued += 1;
        }
        self.queue.push(Queued {
            time: self.nodes[node].commit.time,
            seq: std::cmp::Reverse(self.seq),
            node,
        });
    }

    /// Takes `node` out of the count of interesting queued commits.
    fn uncount(&mut self, node: usize) {
        if self.nodes[node].flags & COUNTED != 0 {
            self.nodes[node].flags &= !COUNTED;
            self.interesting_queued -= 1;
        }
    }

    /// Marks `node` uninteresting, and every ancestor of it already known.
    fn mark_uninteresting(&mut self, node: usize) {
        let mut stack = vec![node];
        while let Some(n) = stack.pop() {
            if self.nodes[n].flags & UNINTERESTING != 0 {
                continue;
            }
            self.nodes[n].flags |= UNINTERESTING;
            self.uncount(n);
            stack.extend(self.nodes[n].parents.iter().copied());
        }
    }

    /// Adds the parents of `node` to the graph and to the queue; an uninteresting
    /// node passes that on.
    fn expand(&mut self, node: usize) -> Result<(), WalkError> {
        if self.nodes[node].expanded {
            return Ok(());
        }
        self.nodes[node].expanded = true;
        let uninteresting = self.nodes[node].flags & UNINTERESTING != 0;
        let parent_ids = self.nodes[node].commit.parents.clone();
        let mut parents = Vec::with_capacity(parent_ids.len());
        for id in parent_ids {
            let fresh = !self.index.contains_key(&id);
            let p = self.node(id)?;
            parents.push(p);
            if uninteresting {
                self.mark_uninteresting(p);
            }
            if fresh {
                self.enqueue(p);
            }
        }
        self.nodes[node].parents = parents;
        Ok(())
    }
}

/// The commits reachable from `from` and from none of `hide`, children before
/// parents (see the module docs).
pub(crate) fn walk(
    repo: &gix::Repository,
    from: &[ObjectId],
    hide: &[ObjectId],
) -> Result<Vec<Commit>, WalkError> {
    let mut w = Walk {
        reader: Reader::new(
            repo.objects.clone(),
            repo.objects.store_ref().path(),
            repo.object_hash(),
        ),
        nodes: Vec::new(),
        index: HashMap::default(),
        queue: BinaryHeap::new(),
        seq: 0,
        interesting_queued: 0,
        prefetch: None,
        shallow: repo
            .shallow_commits()
            .map_err(|e| WalkError::Open(format!("could not read the shallow boundary: {e}")))?
            .map(|commits| commits.iter().copied().collect())
            .unwrap_or_default(),
    };
    for id in hide {
        let n = w.node(*id)?;
        w.mark_uninteresting(n);
    }
    for id in from {
        w.node(*id)?;
    }
    // A helper decodes commits ahead of the walk (the walk is long when nothing
    // hides most of the history; a short one stops the helper at once).
    if let Some(&tip) = from.first() {
        w.prefetch = prefetch::Prefetch::start(repo, tip);
    }
    // Tips in the order given: hidden ones first so that a tip that is also hidden
    // is never taken as interesting.
    let tips: Vec<usize> = hide.iter().chain(from).map(|id| w.index[id]).collect();
    let mut queued = std::collections::BTreeSet::new();
    for n in tips {
        if queued.insert(n) {
            w.enqueue(n);
        }
    }

    let mut taken = Vec::new();
    let mut slop = SLOP;
    let mut last_interesting_time = i64::MAX;
    while let Some(Queued { node, .. }) = w.queue.pop() {
        w.uncount(node);
        w.expand(node)?;
        if w.nodes[node].flags & UNINTERESTING != 0 {
            // Everything queued is uninteresting and older than the last commit
            // taken: a few more to be sure, then stop.
            let newest = w.queue.peek().map(|q| q.time);
            if w.interesting_queued > 0 || newest.is_some_and(|t| t >= last_interesting_time) {
                slop = SLOP;
                continue;
            }
            slop -= 1;
            if slop == 0 {
                break;
            }
            continue;
        }
        last_interesting_time = w.nodes[node].commit.time;
        taken.push(node);
    }
    drop(w.prefetch.take());

    let keep: Vec<usize> = taken
        .into_iter()
        .filter(|&n| w.nodes[n].flags & UNINTERESTING == 0)
        .collect();
    let nodes = std::mem::take(&mut w.nodes);
    Ok(topological(nodes, keep))
}

/// `keep` (newest first as taken) in topological order: a commit only after all
/// its children in `keep`; among ready commits, the newest first.
fn topological(nodes: Vec<Node>, keep: Vec<usize>) -> Vec<Commit> {
    const ABSENT: usize = usize::MAX;
    let mut pos = vec![ABSENT; nodes.len()];
    for (i, &n) in keep.iter().enumerate() {
        pos[n] = i;
    }
    let mut children = vec![0u32; keep.len()];
    for &n in &keep {
        for &p in &nodes[n].parents {
            if pos[p] != ABSENT {
                children[pos[p]] += 1;
            }
        }
    }
    let mut ready: BinaryHeap<Queued> = BinaryHeap::new();
    for (i, &n) in keep.iter().enumerate() {
        if children[i] == 0 {
            ready.push(Queued {
                time: nodes[n].commit.time,
                seq: std::cmp::Reverse(i as u64),
                node: n,
            });
        }
    }
    let mut order = Vec::with_capacity(keep.len());
    while let Some(Queued { node, .. }) = ready.pop() {
        for &p in &nodes[node].parents {
            let i = pos[p];
            if i != ABSENT {
                children[i] -= 1;
                if children[i] == 0 {
                    ready.push(Queued {
                        time: nodes[p].commit.time,
                        seq: std::cmp::Reverse(i as u64),
                        node: p,
                    });
                }
            }
        }
        order.push(node);
    }
    let mut slots: Vec<Option<Commit>> = nodes.into_iter().map(|n| Some(n.commit)).collect();
    order.into_iter().filter_map(|n| slots[n].take()).collect()
}

impl Drop for Walk {
    fn drop(&mut self) {
        let _ = self.prefetch.take();
    }
}

impl From<WalkError> for ferry_ports::PortError {
    fn from(e: WalkError) -> Self {
        use ferry_ports::{ErrorKind, PortError};
        let kind = match &e {
            WalkError::Missing(_) => ErrorKind::NotFound,
            WalkError::NotACommit(..) => ErrorKind::InvalidInput,
            WalkError::Open(_) | WalkError::Read(..) => ErrorKind::Other,
        };
        PortError::new(kind, format!("could not walk the history: {e}"))
    }
}
