//! Which package roots a commit touched, compared with its first parent.
//!
//! Instead of a full tree diff, the requested roots are put in a trie of path
//! components and the two trees are compared top-down along the trie only: a
//! directory entry whose object id is the same on both sides holds identical
//! content and is never opened, and the descent stops at the roots (unless a
//! nested root lies below). A root is touched iff the entry at its path differs
//! (object id or mode, present vs absent). The cost per commit is therefore
//! proportional to the number of roots on changed paths, not to the size of the
//! trees or of the diff.

use git2::{Oid, Repository, Tree};
use std::cmp::Ordering;
use std::collections::HashMap;

/// Mode bits of a tree (directory) entry.
const MODE_TREE: i32 = 0o040000;

/// One path component of the requested roots.
#[derive(Debug, Default)]
struct Node {
    /// Indices (in the request) of the roots ending exactly here.
    roots: Vec<usize>,
    /// Child components, by name.
    children: Vec<(Vec<u8>, Node)>,
    /// Position in `children` by name.
    by_name: HashMap<Vec<u8>, usize>,
}

impl Node {
    fn child(&mut self, name: &[u8]) -> &mut Node {
        let at = match self.by_name.get(name) {
            Some(&at) => at,
            None => {
                self.children.push((name.to_vec(), Node::default()));
                self.by_name.insert(name.to_vec(), self.children.len() - 1);
                self.children.len() - 1
            }
        };
        &mut self.children[at].1
    }
}

/// An entry in a tree: its id and its mode; `None` when the path is absent.
type Entry = Option<(Oid, i32)>;

/// The roots of a walk request, ready to be checked against commits.
#[derive(Debug)]
pub(crate) struct RootMatcher<'repo> {
    trie: Node,
    count: usize,
    cache: TreeCache<'repo>,
}

impl<'repo> RootMatcher<'repo> {
    /// A matcher for `roots` (repository paths with `/` separators).
    pub(crate) fn new<'a>(roots: impl IntoIterator<Item = &'a str>) -> Self {
        let mut trie = Node::default();
        let mut count = 0;
        for (i, root) in roots.into_iter().enumerate() {
            let mut node = &mut trie;
            for part in root.split('/') {
                node = node.child(part.as_bytes());
            }
            node.roots.push(i);
            count = i + 1;
        }
        RootMatcher {
            trie,
            count,
            cache: TreeCache::default(),
        }
    }

    /// For each requested root, in request order, whether it differs between the
    /// trees `tree` and `parent` (`None`: the empty tree).
    pub(crate) fn touched(
        &mut self,
        repo: &'repo Repository,
        tree: Oid,
        parent: Option<Oid>,
    ) -> Result<Vec<bool>, git2::Error> {
        let mut touched = vec![false; self.count];
        if self.count > 0 {
            compare(
                repo,
                &mut self.cache,
                &self.trie,
                Some((tree, MODE_TREE)),
                parent.map(|p| (p, MODE_TREE)),
                &mut touched,
            )?;
        }
        self.cache.next_generation();
        Ok(touched)
    }
}

fn compare<'repo>(
    repo: &'repo Repository,
    cache: &mut TreeCache<'repo>,
    node: &Node,
    mine: Entry,
    theirs: Entry,
    touched: &mut [bool],
) -> Result<(), git2::Error> {
    if mine == theirs {
        return Ok(());
    }
    for &root in &node.roots {
        touched[root] = true;
    }
    if node.children.is_empty() {
        return Ok(());
    }
    let mine_tree = cache.subtree(repo, mine)?;
    let theirs_tree = cache.subtree(repo, theirs)?;
    let mut compare_child = |child: &(Vec<u8>, Node)| {
        let a = entry(mine_tree.as_ref(), &child.0);
        let b = entry(theirs_tree.as_ref(), &child.0);
        if a.is_some() || b.is_some() {
            compare(repo, cache, &child.1, a, b, touched)
        } else {
            Ok(())
        }
    };
    match (&mine_tree, &theirs_tree) {
        // Many roots below two versions of one directory (`packages/*`): one pass
        // over both sorted entry lists finds the few names that differ, instead of
        // two look-ups per root.
        (Some(a), Some(b)) if node.children.len() * 8 >= a.len() + b.len() => {
            for at in differing_children(node, a, b) {
                compare_child(&node.children[at])?;
            }
        }
        _ => {
            for child in &node.children {
                compare_child(child)?;
            }
        }
    }
    Ok(())
}

/// The positions in `node.children` of the names whose entries differ between
/// the trees `a` and `b`, each once, in `children` order.
fn differing_children(node: &Node, a: &Tree<'_>, b: &Tree<'_>) -> Vec<usize> {
    let mut out = Vec::new();
    let mut note = |name: &[u8]| {
        if let Some(&at) = node.by_name.get(name) {
            out.push(at);
        }
    };
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    loop {
        match (ia.peek(), ib.peek()) {
            (None, None) => break,
            (Some(x), None) => {
                note(x.name_bytes());
                ia.next();
            }
            (None, Some(y)) => {
                note(y.name_bytes());
                ib.next();
            }
            (Some(x), Some(y)) => {
                match git_order(
                    x.name_bytes(),
                    x.filemode() == MODE_TREE,
                    y.name_bytes(),
                    y.filemode() == MODE_TREE,
                ) {
                    Ordering::Less => {
                        note(x.name_bytes());
                        ia.next();
                    }
                    Ordering::Greater => {
                        note(y.name_bytes());
                        ib.next();
                    }
                    Ordering::Equal => {
                        if x.id() != y.id() || x.filemode() != y.filemode() {
                            note(x.name_bytes());
                        }
                        ia.next();
                        ib.next();
                    }
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Git's order of tree entries: by name, a directory's name read as if it
/// ended in `/`.
fn git_order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> Ordering {
    let len = a.len().min(b.len());
    a[..len].cmp(&b[..len]).then_with(|| {
        let next = |name: &[u8], tree: bool| name.get(len).copied().or(tree.then_some(b'/'));
        next(a, a_tree).cmp(&next(b, b_tree))
    })
}

/// Parsed trees by id, for the commit being compared and for the one before: a
/// walk compares a commit with its parent, then the parent with its own, so the
/// parent's trees are reused the next time and older ones are dropped.
#[derive(Debug, Default)]
struct TreeCache<'repo> {
    current: HashMap<Oid, Tree<'repo>>,
    previous: HashMap<Oid, Tree<'repo>>,
}

impl<'repo> TreeCache<'repo> {
    /// The tree behind `entry`, when it is a directory.
    fn subtree(
        &mut self,
        repo: &'repo Repository,
        entry: Entry,
    ) -> Result<Option<Tree<'repo>>, git2::Error> {
        let Some((id, mode)) = entry else {
            return Ok(None);
        };
        if mode != MODE_TREE {
            return Ok(None);
        }
        if let Some(tree) = self.current.get(&id) {
            return Ok(Some(tree.clone()));
        }
        let tree = match self.previous.remove(&id) {
            Some(tree) => tree,
            None => repo.find_tree(id)?,
        };
        self.current.insert(id, tree.clone());
        Ok(Some(tree))
    }

    fn next_generation(&mut self) {
        self.previous = std::mem::take(&mut self.current);
    }
}

fn entry(tree: Option<&Tree<'_>>, name: &[u8]) -> Entry {
    let e = tree?.get_name_bytes(name)?;
    Some((e.id(), e.filemode()))
}

#[cfg(test)]
mod tests {
    use super::git_order;
    use std::cmp::Ordering::*;

    #[test]
    fn directories_sort_as_if_their_names_ended_in_a_slash() {
        assert_eq!(git_order(b"a", false, b"b", false), Less);
        assert_eq!(git_order(b"a", true, b"a", true), Equal);
        assert_eq!(git_order(b"a", false, b"a", true), Less);
        // "a.b" < "a/" < "a0": '.' (0x2e) < '/' (0x2f) < '0' (0x30).
        assert_eq!(git_order(b"a.b", false, b"a", true), Less);
        assert_eq!(git_order(b"a", true, b"a0", false), Less);
        assert_eq!(git_order(b"a", false, b"a.b", false), Less);
    }
}
