//! The development setting `--sidecar-addresses FILE`: a JSON object mapping
//! `"namespace/name"` to a sidecar base URL, used instead of the pod's DNS name (the local
//! pod runner of the tests and the demo writes it as pods start).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

/// How often the file is looked at again; it is re-read only when it changed.
const RECHECK: Duration = Duration::from_millis(500);

pub struct AddressBook {
    path: Option<PathBuf>,
    cached: Mutex<Cached>,
}

#[derive(Default)]
struct Cached {
    checked: Option<Instant>,
    modified: Option<SystemTime>,
    map: HashMap<String, String>,
}

impl AddressBook {
    pub fn new(path: Option<PathBuf>) -> AddressBook {
        AddressBook { path, cached: Mutex::new(Cached::default()) }
    }

    /// The URL the file names for a node, if any.
    pub fn get(&self, namespace: &str, name: &str) -> Option<String> {
        let path = self.path.as_ref()?;
        let mut c = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if c.checked.is_none_or(|t| t.elapsed() >= RECHECK) {
            c.checked = Some(Instant::now());
            let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
            if modified != c.modified {
                c.modified = modified;
                c.map = std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
            }
        }
        c.map.get(&format!("{namespace}/{name}")).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_read_again_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("addresses.json");
        let book = AddressBook::new(Some(path.clone()));
        assert_eq!(book.get("ns", "a"), None, "no file yet");
        std::fs::write(&path, r#"{"ns/a": "http://127.0.0.1:1"}"#).unwrap();
        std::thread::sleep(RECHECK);
        assert_eq!(book.get("ns", "a").as_deref(), Some("http://127.0.0.1:1"));
        assert_eq!(book.get("ns", "b"), None);
        assert_eq!(AddressBook::new(None).get("ns", "a"), None);
    }
}
