//! The site's unacknowledged batches in `localStorage` (layout in `stored_batch`). Every
//! call swallows errors: storage may be disabled, full, or throw in private modes, and
//! the tracker then only loses its across-page-view safety net.

use crate::json::push_uint;
use crate::stored_batch::{decode, encode, entry_name, key_of_entry, lost_entry_name};
use web_sys::{Storage, Window};

pub(crate) struct LocalStore {
    storage: Option<Storage>,
    site: String,
}

/// A batch found in storage: its key, event count and JSON body.
pub(crate) struct StoredBatch {
    pub key: String,
    pub events: u32,
    pub body: String,
}

impl LocalStore {
    pub(crate) fn open(window: &Window, site: &str) -> LocalStore {
        LocalStore {
            storage: window.local_storage().ok().flatten(),
            site: site.to_owned(),
        }
    }

    /// Every batch of this site left by earlier page views (or other tabs), oldest first.
    /// Entries this version cannot read are removed rather than kept forever.
    pub(crate) fn load(&self) -> Vec<StoredBatch> {
        let Some(storage) = &self.storage else {
            return Vec::new();
        };
        let count = storage.length().unwrap_or(0);
        let names: Vec<String> = (0..count)
            .filter_map(|index| storage.key(index).ok().flatten())
            .filter(|name| key_of_entry(&self.site, name).is_some())
            .collect();
        let mut found = Vec::new();
        for name in names {
            let Some(value) = storage.get_item(&name).ok().flatten() else {
                continue;
            };
            match decode(&value) {
                Some((events, body)) => found.push(StoredBatch {
                    key: key_of_entry(&self.site, &name)
                        .unwrap_or_default()
                        .to_owned(),
                    events,
                    body: body.to_owned(),
                }),
                None => {
                    let _ = storage.remove_item(&name);
                }
            }
        }
        found
    }

    pub(crate) fn save(&self, key: &str, events: u32, body: &str) {
        if let Some(storage) = &self.storage {
            let _ = storage.set_item(&entry_name(&self.site, key), &encode(events, body));
        }
    }

    pub(crate) fn remove(&self, key: &str) {
        if let Some(storage) = &self.storage {
            let _ = storage.remove_item(&entry_name(&self.site, key));
        }
    }

    /// Events given up for space that no batch has reported yet.
    pub(crate) fn lost(&self) -> u32 {
        self.storage
            .as_ref()
            .and_then(|storage| {
                storage
                    .get_item(&lost_entry_name(&self.site))
                    .ok()
                    .flatten()
            })
            .and_then(|count| count.parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn set_lost(&self, events: u32) {
        let Some(storage) = &self.storage else {
            return;
        };
        let name = lost_entry_name(&self.site);
        if events == 0 {
            let _ = storage.remove_item(&name);
        } else {
            let mut count = String::new();
            push_uint(&mut count, u64::from(events));
            let _ = storage.set_item(&name, &count);
        }
    }
}
