//! Free-text search without reading every row: each row's search text is split into byte
//! trigrams, and a query reads only the rows that hold all of its trigrams. A substring's
//! trigrams are all trigrams of the text that contains it, so no match is ever missed; the
//! caller still checks each candidate, since holding the trigrams is not containing the query.

use super::rows::RowKey;
use std::collections::{HashMap, HashSet};

/// A row's number in the index, stable while the row exists.
pub(super) type Slot = u32;

type Trigram = [u8; 3];

fn trigrams(text: &str) -> impl Iterator<Item = Trigram> + '_ {
    text.as_bytes().windows(3).map(|w| [w[0], w[1], w[2]])
}

/// Which rows hold each trigram.
#[derive(Default)]
pub(super) struct TextIndex {
    postings: HashMap<Trigram, HashSet<Slot>>,
    keys: HashMap<Slot, RowKey>,
    /// Slots of removed rows, given out again before new ones.
    free: Vec<Slot>,
    next: Slot,
}

impl TextIndex {
    /// Indexes a new row's text and returns its slot.
    pub(super) fn add(&mut self, key: RowKey, text: &str) -> Slot {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.next = self.next.wrapping_add(1);
            self.next
        });
        self.keys.insert(slot, key);
        self.post(slot, text);
        slot
    }

    /// A row's text changed from `old` to `new`.
    pub(super) fn change(&mut self, slot: Slot, old: &str, new: &str) {
        if old != new {
            self.unpost(slot, old);
            self.post(slot, new);
        }
    }

    /// A row with `text` is gone.
    pub(super) fn remove(&mut self, slot: Slot, text: &str) {
        self.unpost(slot, text);
        self.keys.remove(&slot);
        self.free.push(slot);
    }

    /// The keys, in list order, of the rows whose text may contain `query` (every row that
    /// does, and perhaps some that do not); None when the query is under three bytes and so
    /// narrows nothing.
    pub(super) fn candidates(&self, query: &str) -> Option<Vec<&RowKey>> {
        if query.len() < 3 {
            return None;
        }
        let mut seen = HashSet::new();
        let mut sets = Vec::new();
        for trigram in trigrams(query) {
            if seen.insert(trigram) {
                match self.postings.get(&trigram) {
                    Some(set) => sets.push(set),
                    None => return Some(Vec::new()),
                }
            }
        }
        // Walk the rarest trigram's rows and keep those the others hold too.
        sets.sort_by_key(|set| set.len());
        let (rarest, rest) = sets.split_first()?;
        let mut keys: Vec<&RowKey> = rarest
            .iter()
            .filter(|slot| rest.iter().all(|set| set.contains(slot)))
            .filter_map(|slot| self.keys.get(slot))
            .collect();
        keys.sort_unstable();
        Some(keys)
    }

    fn post(&mut self, slot: Slot, text: &str) {
        for trigram in trigrams(text) {
            self.postings.entry(trigram).or_default().insert(slot);
        }
    }

    fn unpost(&mut self, slot: Slot, text: &str) {
        for trigram in trigrams(text) {
            if let Some(set) = self.postings.get_mut(&trigram) {
                set.remove(&slot);
                if set.is_empty() {
                    self.postings.remove(&trigram);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::reference::{ClusterId, DeploymentKind};

    fn key(name: &str) -> RowKey {
        (
            ClusterId::default(),
            "team-a".into(),
            name.into(),
            DeploymentKind::HelmRelease,
        )
    }

    fn names(found: Option<Vec<&RowKey>>) -> Option<Vec<String>> {
        found.map(|keys| keys.into_iter().map(|k| k.2.clone()).collect())
    }

    #[test]
    fn candidates_hold_every_trigram_and_follow_changes() {
        let mut index = TextIndex::default();
        let web = index.add(key("web"), "web\nteam-a\npodinfo");
        let api = index.add(key("api"), "api\nteam-a\nnginx");
        assert_eq!(names(index.candidates("podinfo")), Some(vec!["web".into()]));
        assert_eq!(
            names(index.candidates("team-a")),
            Some(vec!["api".into(), "web".into()])
        );
        assert_eq!(names(index.candidates("zzz")), Some(vec![]));
        assert_eq!(names(index.candidates("po")), None);
        index.change(web, "web\nteam-a\npodinfo", "web\nteam-a\nredis");
        assert_eq!(names(index.candidates("podinfo")), Some(vec![]));
        assert_eq!(names(index.candidates("redis")), Some(vec!["web".into()]));
        index.remove(api, "api\nteam-a\nnginx");
        assert_eq!(names(index.candidates("team-a")), Some(vec!["web".into()]));
        // A freed slot is given out again and means only its new row.
        let db = index.add(key("db"), "db\nteam-a\npostgres");
        assert_eq!(db, api);
        assert_eq!(names(index.candidates("nginx")), Some(vec![]));
        assert_eq!(names(index.candidates("postgres")), Some(vec!["db".into()]));
    }

    #[test]
    fn non_ascii_text_is_found_by_its_bytes() {
        let mut index = TextIndex::default();
        index.add(key("grüße"), "grüße\nteam-a");
        assert_eq!(names(index.candidates("üß")), Some(vec!["grüße".into()]));
        assert_eq!(names(index.candidates("üx")), Some(vec![]));
    }
}
