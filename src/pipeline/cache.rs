//! The lookup cache: lookups shared by every domain of a scan. A question is sent once however
//! many domains ask it. A second asker of a question in flight waits for the first answer; a
//! finished answer stays in a bounded LRU cache, so a big provider's MX host is looked up once, not
//! millions of times, while memory stays flat.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::Arc;

use lru::LruCache;

use super::Role;
use super::lookup::{Answer, Key};

/// Who waits for a lookup: a domain's slot and the role it asked in.
pub type Waiter = (usize, Role);

/// What asking for a question gives.
#[derive(Debug)]
pub enum Ask {
    /// The answer was cached.
    Ready(Arc<Answer>),
    /// The question is in flight; the waiter gets the answer with the others.
    Joined,
    /// A new query to send with this tag.
    Send(u64),
}

#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct CacheStats {
    /// Answers served from the cache.
    pub hits: u64,
    /// Askers that joined a lookup in flight.
    pub joined: u64,
    /// Questions sent.
    pub sent: u64,
    /// Answers dropped from the cache to keep it within its capacity.
    pub evicted: u64,
}

impl std::ops::AddAssign for CacheStats {
    fn add_assign(&mut self, other: CacheStats) {
        self.hits += other.hits;
        self.joined += other.joined;
        self.sent += other.sent;
        self.evicted += other.evicted;
    }
}

struct Pending {
    key: Key,
    waiters: Vec<Waiter>,
    /// Cache the answer: other domains may ask it.
    keep: bool,
}

/// The cache and the lookups in flight.
pub struct LookupCache {
    ready: LruCache<Key, Arc<Answer>>,
    in_flight: HashMap<Key, usize>,
    slots: Vec<Option<Pending>>,
    free: Vec<usize>,
    pub stats: CacheStats,
}

impl LookupCache {
    /// A cache holding at most `capacity` answers.
    pub fn new(capacity: usize) -> Self {
        LookupCache {
            ready: LruCache::new(NonZeroUsize::new(capacity.max(1)).expect("at least one")),
            in_flight: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            stats: CacheStats::default(),
        }
    }

    /// Asks `key` for `waiter`; `keep`: cache the answer (false for a question only its domain
    /// asks, such as its own MX, which would only push shared answers out).
    pub fn ask(&mut self, key: &Key, waiter: Waiter, keep: bool) -> Ask {
        if let Some(answer) = self.ready.get(key) {
            self.stats.hits += 1;
            return Ask::Ready(answer.clone());
        }
        if let Some(&slot) = self.in_flight.get(key) {
            self.stats.joined += 1;
            if let Some(p) = self.slots[slot].as_mut() {
                p.waiters.push(waiter);
            }
            return Ask::Joined;
        }
        let pending = Pending {
            key: key.clone(),
            waiters: vec![waiter],
            keep,
        };
        let slot = crate::slots::occupy(&mut self.slots, &mut self.free, pending);
        self.in_flight.insert(key.clone(), slot);
        self.stats.sent += 1;
        Ask::Send(slot as u64)
    }

    /// The question behind a tag in flight.
    pub fn key(&self, tag: u64) -> Option<&Key> {
        self.slots.get(tag as usize)?.as_ref().map(|p| &p.key)
    }

    /// Completes the lookup `tag` and returns its question and waiters. The answer is cached
    /// if its first asker said to keep it.
    pub fn complete(&mut self, tag: u64, answer: Arc<Answer>) -> Option<(Key, Vec<Waiter>)> {
        let slot = usize::try_from(tag).ok()?;
        let pending = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.in_flight.remove(&pending.key);
        if pending.keep && self.ready.push(pending.key.clone(), answer).is_some() {
            self.stats.evicted += 1;
        }
        Some((pending.key, pending.waiters))
    }

    /// Questions in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Answers cached.
    pub fn cached(&self) -> usize {
        self.ready.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    fn answer() -> Arc<Answer> {
        Arc::new(Answer::failed(Status::NxDomain, 1))
    }

    #[test]
    fn second_asker_joins_then_hits() {
        let mut s = LookupCache::new(10);
        let key = Key::A("mx.test".into());
        let Ask::Send(tag) = s.ask(&key, (1, Role::Host), true) else {
            panic!("first ask sends")
        };
        assert!(matches!(s.ask(&key, (2, Role::Host), true), Ask::Joined));
        assert_eq!(s.in_flight(), 1);
        let (k, waiters) = s.complete(tag, answer()).unwrap();
        assert_eq!(k, key);
        assert_eq!(waiters, vec![(1, Role::Host), (2, Role::Host)]);
        assert!(matches!(
            s.ask(&key, (3, Role::Forward), true),
            Ask::Ready(_)
        ));
        assert_eq!((s.stats.sent, s.stats.joined, s.stats.hits), (1, 1, 1));
        assert!(s.complete(tag, answer()).is_none(), "a tag completes once");
    }

    #[test]
    fn capacity_bounds_the_cache_and_unkept_answers_are_not_cached() {
        let mut s = LookupCache::new(2);
        for i in 0..5 {
            let key = Key::A(format!("h{i}.test").into());
            let Ask::Send(tag) = s.ask(&key, (0, Role::Host), true) else {
                panic!()
            };
            s.complete(tag, answer());
        }
        assert_eq!(s.cached(), 2);
        assert_eq!(s.stats.evicted, 3);
        let key = Key::Mx("d.test".into());
        let Ask::Send(tag) = s.ask(&key, (0, Role::Domain), false) else {
            panic!()
        };
        s.complete(tag, answer());
        assert!(matches!(
            s.ask(&key, (0, Role::Domain), false),
            Ask::Send(_)
        ));
    }
}
