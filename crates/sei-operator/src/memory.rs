//! What the operator keeps in memory between reconciles of a node. None of it is needed
//! for correctness after a restart: each piece only saves requests or noise.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use sei_api::SeiNode;

use crate::reach::Cause;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The operator's own latest write of each node, by UID.
///
/// The watch cache lags behind the operator's writes. A reconcile that ran on the cached
/// copy right after a write would redo the last step and have its write refused (HTTP 409;
/// 723 of them at 1,000 nodes). While the cache still shows a version this operator
/// replaced, the reconcile works on the copy the API server returned for the write.
#[derive(Default)]
pub struct OwnWrites(Mutex<HashMap<String, Written>>);

struct Written {
    /// Versions this operator replaced since the cache last caught up.
    replaced: Vec<String>,
    latest: Arc<SeiNode>,
}

/// How many replaced versions are remembered per node (writes in a row before the cache
/// catches up).
const REPLACED_KEPT: usize = 16;

impl OwnWrites {
    /// `written` (as the API server returned it) replaced version `replaced`.
    pub fn wrote(&self, replaced: &str, mut written: SeiNode) {
        let Some(uid) = written.uid() else { return };
        // Memory only: never sent back (an empty list there would reset the field owners).
        written.metadata.managed_fields = None;
        let mut map = lock(&self.0);
        let entry =
            map.entry(uid).or_insert_with(|| Written { replaced: Vec::new(), latest: Arc::new(written.clone()) });
        entry.replaced.push(replaced.to_string());
        if entry.replaced.len() > REPLACED_KEPT {
            entry.replaced.remove(0);
        }
        entry.latest = Arc::new(written);
    }

    /// The freshest copy of `cached`: the operator's own write when the cache still shows
    /// a version that write replaced, else the cached copy (which then has caught up, or
    /// shows someone else's change).
    pub fn freshest(&self, cached: Arc<SeiNode>) -> Arc<SeiNode> {
        let Some(uid) = cached.uid() else { return cached };
        let version = cached.resource_version().unwrap_or_default();
        let mut map = lock(&self.0);
        match map.get(&uid) {
            Some(w) if w.replaced.contains(&version) => w.latest.clone(),
            Some(_) => {
                map.remove(&uid);
                cached
            }
            None => cached,
        }
    }

    /// Drops what is known of a node (after a conflict, or when it is gone).
    pub fn forget(&self, uid: &str) {
        lock(&self.0).remove(uid);
    }

    /// Keeps only the copies of nodes `alive` names.
    pub fn retain(&self, alive: &std::collections::HashSet<String>) {
        lock(&self.0).retain(|uid, _| alive.contains(uid));
    }

    pub fn len(&self) -> usize {
        lock(&self.0).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How long a cached sidecar token is trusted before its Secret is read again (and
/// re-created if someone deleted it).
const TOKEN_TTL: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct TokenCache(Mutex<HashMap<String, (String, Instant)>>);

impl TokenCache {
    pub fn get(&self, uid: &str) -> Option<String> {
        lock(&self.0).get(uid).filter(|(_, at)| at.elapsed() < TOKEN_TTL).map(|(t, _)| t.clone())
    }

    pub fn put(&self, uid: &str, token: &str) {
        lock(&self.0).insert(uid.into(), (token.into(), Instant::now()));
    }

    pub fn forget(&self, uid: &str) {
        lock(&self.0).remove(uid);
    }

    /// Keeps only the tokens of nodes `alive` names (and drops expired ones).
    pub fn retain(&self, alive: &std::collections::HashSet<String>) {
        lock(&self.0).retain(|uid, (_, at)| alive.contains(uid) && at.elapsed() < TOKEN_TTL);
    }
}

/// Per-node notes, by UID, and when each node's pod last changed.
#[derive(Default)]
pub struct Memory {
    notes: Mutex<HashMap<String, Notes>>,
    /// By `namespace/name`: a pod names its node, not the node's UID.
    pods: Mutex<HashMap<String, Instant>>,
}

#[derive(Default, Clone, Debug)]
pub struct Notes {
    /// Failed reconciles in a row, for the retry backoff.
    pub failures: u32,
    /// The reconcile error last logged, so that a repeated one is not logged again.
    pub logged_error: Option<String>,
    /// What the node was last logged to be waiting on.
    pub logged_wait: Option<String>,
    /// Since when, and why, the node's sidecar could not be reached.
    pub unreachable: Option<(Instant, Cause)>,
    /// The image the operator last applied in the node's StatefulSet.
    pub applied_image: Option<String>,
}

impl Memory {
    /// Reads and updates a node's notes.
    pub fn with<T>(&self, uid: &str, f: impl FnOnce(&mut Notes) -> T) -> T {
        let mut map = lock(&self.notes);
        f(map.entry(uid.to_string()).or_default())
    }

    /// Updates a node's notes if it has any; never creates them.
    pub fn update<T>(&self, uid: &str, f: impl FnOnce(&mut Notes) -> T) -> Option<T> {
        lock(&self.notes).get_mut(uid).map(f)
    }

    /// The pod of node `key` (`namespace/name`) changed just now.
    pub fn pod_changed(&self, key: String) {
        lock(&self.pods).insert(key, Instant::now());
    }

    /// How long ago the pod of node `key` (`namespace/name`) last changed, if seen.
    pub fn pod_changed_ago(&self, key: &str) -> Option<Duration> {
        lock(&self.pods).get(key).map(Instant::elapsed)
    }

    /// Keeps only the notes of nodes whose UID is in `uids` and the pod changes of nodes
    /// whose `namespace/name` is in `keys`.
    pub fn retain(&self, uids: &std::collections::HashSet<String>, keys: &std::collections::HashSet<String>) {
        lock(&self.notes).retain(|uid, _| uids.contains(uid));
        lock(&self.pods).retain(|key, _| keys.contains(key));
    }

    pub fn len(&self) -> usize {
        lock(&self.notes).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, uid: &str) -> Notes {
        lock(&self.notes).get(uid).cloned().unwrap_or_default()
    }

    pub fn forget(&self, uid: &str) {
        lock(&self.notes).remove(uid);
    }
}

/// Failed reconciles in a row per object UID, and the error last logged.
#[derive(Default)]
pub struct Failures(Mutex<HashMap<String, (u32, String)>>);

impl Failures {
    /// Counts a failure; returns the failures in a row and whether `error` was the last one
    /// logged.
    pub fn failed(&self, uid: &str, error: &str) -> (u32, bool) {
        let mut map = lock(&self.0);
        let entry = map.entry(uid.to_string()).or_insert((0, String::new()));
        entry.0 += 1;
        let repeated = entry.1 == error;
        entry.1 = error.to_string();
        (entry.0, repeated)
    }

    /// The failures in a row so far.
    pub fn count(&self, uid: &str) -> u32 {
        lock(&self.0).get(uid).map_or(0, |e| e.0)
    }

    /// A reconcile got through (or the object is gone): start over.
    pub fn succeeded(&self, uid: &str) {
        lock(&self.0).remove(uid);
    }
}

/// What was last applied for each key (a hash of the object), so that an unchanged object
/// is not applied again on every reconcile: a fleet at rest sends no writes. Re-applied
/// after [`REAPPLY`] anyway, which undoes edits made by hand.
#[derive(Default)]
pub struct Applied(Mutex<HashMap<String, (u64, Instant)>>);

pub const REAPPLY: Duration = Duration::from_secs(600);

impl Applied {
    /// Whether `value` was applied under `key` less than [`REAPPLY`] ago.
    pub fn current(&self, key: &str, value: &impl serde::Serialize) -> bool {
        let hash = hash_of(value);
        lock(&self.0).get(key).is_some_and(|(h, at)| *h == hash && at.elapsed() < REAPPLY)
    }

    pub fn record(&self, key: &str, value: &impl serde::Serialize) {
        lock(&self.0).insert(key.to_string(), (hash_of(value), Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        lock(&self.0).remove(key);
    }
}

/// Objects (by UID) this replica deleted lately: until the watch shows them terminating,
/// the cache still lists them as live, and a fleet must not count, serve or choose its
/// revision from children it has just torn down.
#[derive(Default)]
pub struct Deleted(Mutex<HashMap<String, Instant>>);

/// Longer than any watch lag; the map is pruned as it goes.
const DELETED_FOR: Duration = Duration::from_secs(600);

impl Deleted {
    pub fn insert(&self, uid: &str) {
        let mut map = lock(&self.0);
        map.retain(|_, at| at.elapsed() < DELETED_FOR);
        map.insert(uid.to_string(), Instant::now());
    }

    pub fn contains(&self, uid: &str) -> bool {
        lock(&self.0).get(uid).is_some_and(|at| at.elapsed() < DELETED_FOR)
    }
}

fn hash_of(value: &impl serde::Serialize) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(value).unwrap_or_default().hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(version: &str, image: &str) -> SeiNode {
        let mut n: SeiNode = serde_json::from_value(serde_json::json!({
            "apiVersion": "sei.io/v1alpha1", "kind": "SeiNode",
            "metadata": {"name": "n", "namespace": "ns", "uid": "u1", "resourceVersion": version},
            "spec": {"chainId": "c", "image": image, "fullNode": {}}
        }))
        .unwrap();
        n.metadata.managed_fields = None;
        n
    }

    #[test]
    fn failures_count_in_a_row_and_know_a_repeated_error() {
        let f = Failures::default();
        assert_eq!(f.failed("u", "boom"), (1, false));
        assert_eq!(f.failed("u", "boom"), (2, true));
        assert_eq!(f.failed("u", "bang"), (3, false));
        f.succeeded("u");
        assert_eq!(f.failed("u", "bang"), (1, false), "a success starts over");
    }

    #[test]
    fn own_writes_stand_in_for_the_cache_until_it_catches_up() {
        let w = OwnWrites::default();
        let v1 = Arc::new(node("1", "a"));
        assert!(Arc::ptr_eq(&w.freshest(v1.clone()), &v1), "nothing written: the cache");
        w.wrote("1", node("2", "a"));
        w.wrote("2", node("3", "a"));
        // The cache still shows version 1, then 2: both were replaced by the operator.
        assert_eq!(w.freshest(v1.clone()).resource_version().as_deref(), Some("3"));
        assert_eq!(w.freshest(Arc::new(node("2", "a"))).resource_version().as_deref(), Some("3"));
        // The cache caught up: it is used, and the copy is dropped.
        assert_eq!(w.freshest(Arc::new(node("3", "a"))).resource_version().as_deref(), Some("3"));
        assert!(w.is_empty());
        // Someone else's newer version wins over the operator's copy.
        w.wrote("3", node("4", "a"));
        assert_eq!(w.freshest(Arc::new(node("5", "b"))).spec.image, "b");
        assert!(w.is_empty());
    }
}
