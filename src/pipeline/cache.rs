//! The lookup cache: lookups shared by every domain of a scan. A question is sent once however
//! many domains ask it. A second asker of a question in flight waits for the first answer; a
//! finished answer stays in a cache bounded in bytes, so a big provider's MX host is looked up once,
//! not millions of times, while memory stays flat. The cache is frequency-aware (quick_cache's
//! Clock-PRO, close to S3-FIFO): an answer asked once leaves before one asked again, and a loop of
//! shared questions longer than the cache keeps hitting on the part it holds, where an LRU would
//! evict every answer just before it is asked again.

use std::collections::HashMap;
use std::sync::Arc;

use quick_cache::Weighter;
use quick_cache::unsync::Cache;
use xxhash_rust::xxh3::xxh3_128_with_seed;

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
    /// Answers dropped from the cache, or never admitted, to keep it within its size.
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
    /// The key's fingerprint, computed when it was asked.
    fingerprint: Fingerprint,
    waiters: Vec<Waiter>,
    /// Cache the answer: other domains may ask it.
    keep: bool,
}

/// The size of the cache in bytes, written `16MiB`, `64M` or `0` (no cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSize(pub u64);

impl CacheSize {
    /// The default: the shared answers of the synthetic 10M-domain world within 3 % of its floor
    /// (docs/BENCHMARKS.md, issue #16).
    pub const DEFAULT: CacheSize = CacheSize(28 << 20);
}

impl std::str::FromStr for CacheSize {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        // The flag used to count answers (100000 by default): a bare number is refused rather
        // than read as bytes, so an old script fails clearly instead of running with no cache.
        if text != "0" && text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "a cache size needs its unit, e.g. {text}B, 16MiB or 64MB (0 turns the cache off)"
            ));
        }
        parse_size::Config::new()
            .with_binary()
            .parse_size(text)
            .map(CacheSize)
            .map_err(|e| format!("{e}: a size such as 16MiB, 64MB or 0"))
    }
}

impl std::fmt::Display for CacheSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const UNITS: [(&str, u64); 3] = [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)];
        match UNITS
            .iter()
            .find(|(_, unit)| self.0 >= *unit && self.0.is_multiple_of(*unit))
        {
            Some((name, unit)) => write!(f, "{}{name}", self.0 / unit),
            None if self.0 == 0 => write!(f, "0"),
            None => write!(f, "{}B", self.0),
        }
    }
}

/// A cached answer's question, by a 128-bit hash of it: 16 bytes in the cache's table instead of
/// the question and its name (~50 bytes), so the same memory holds more answers. Two questions
/// of a scan of 10⁸ questions share a hash with odds around 2⁻⁷⁵, far below any resolver's
/// error rate.
/// (Two halves rather than a `u128`, whose 16-byte alignment pads every slot of the table.)
/// The pipeline also compares questions by it: two `u64` against two names.
pub type Fingerprint = (u64, u64);

/// The fingerprints' key, drawn from the OS once per process: names come from DNS, and
/// nobody who cannot read it can craft two that collide (one answer served for the other).
static FINGERPRINT_KEY: std::sync::LazyLock<u64> = std::sync::LazyLock::new(rand::random);

pub fn fingerprint(key: &Key) -> Fingerprint {
    let qtype = FINGERPRINT_KEY.wrapping_add(u64::from(u16::from(key.qtype())));
    let hash = match key {
        Key::Ptr(std::net::IpAddr::V4(ip)) => xxh3_128_with_seed(&ip.octets(), qtype),
        Key::Ptr(std::net::IpAddr::V6(ip)) => xxh3_128_with_seed(&ip.octets(), qtype),
        _ => xxh3_128_with_seed(key.name().unwrap_or_default().as_bytes(), qtype),
    };
    ((hash >> 64) as u64, hash as u64)
}

/// Weighs a cached answer by the bytes it holds.
#[derive(Clone, Copy)]
struct Bytes;

impl Weighter<Fingerprint, Arc<Answer>> for Bytes {
    fn weight(&self, _: &Fingerprint, answer: &Arc<Answer>) -> u64 {
        (answer_bytes(answer) + TABLE_SHARE) as u64
    }
}

/// quick_cache's tables per answer held: a slab entry (fingerprint, pointer and links, 48
/// bytes), half again as many ghost entries and the hash map; measured with `memory_used` in
/// the test below.
const TABLE_SHARE: usize = 88;

/// The bytes a cached answer holds outside the cache's tables (an estimate: allocators round
/// up). With [`TABLE_SHARE`], what `--cache` bounds.
pub fn answer_bytes(answer: &Answer) -> usize {
    super::lookup::ARC_COUNTS + answer.heap_bytes()
}

/// The cache and the lookups in flight.
pub struct LookupCache {
    /// `None` when the size allows no answer at all.
    ready: Option<Cache<Fingerprint, Arc<Answer>, Bytes>>,
    /// Answers admitted so far, evicted or not.
    admitted: u64,
    /// The lookups in flight by question, hashed as the cache hashes (foldhash: fast, and a
    /// fingerprint is 16 bytes).
    in_flight: HashMap<Fingerprint, usize, quick_cache::DefaultHashBuilder>,
    slots: Vec<Option<Pending>>,
    free: Vec<usize>,
    pub stats: CacheStats,
}

impl LookupCache {
    /// A cache of at most `size` bytes: the answers it holds ([`answer_bytes`]) and its tables.
    pub fn new(CacheSize(bytes): CacheSize) -> Self {
        /// A typical shared answer (one address or one name) with its share of the tables, to
        /// size the tables.
        const TYPICAL_ENTRY: u64 = 208;
        let ready = (bytes > 0).then(|| {
            let items = ((bytes / TYPICAL_ENTRY) as usize).clamp(1, 1 << 22);
            let mut cache = Cache::with_weighter(items, bytes, Bytes);
            // At full size now: growing by doubling would hold the old and new tables at once.
            cache.reserve(items);
            cache
        });
        LookupCache {
            ready,
            admitted: 0,
            in_flight: HashMap::default(),
            slots: Vec::new(),
            free: Vec::new(),
            stats: CacheStats::default(),
        }
    }

    /// Asks `key` (whose fingerprint is `print`) for `waiter`; `keep`: cache the answer (false
    /// for a question only its domain asks, such as its own MX, which would only push shared
    /// answers out).
    pub fn ask(&mut self, key: &Key, print: Fingerprint, waiter: Waiter, keep: bool) -> Ask {
        let cached = self.ready.as_ref().and_then(|ready| ready.get(&print));
        if let Some(answer) = cached {
            self.stats.hits += 1;
            return Ask::Ready(answer.clone());
        }
        if let Some(&slot) = self.in_flight.get(&print) {
            self.stats.joined += 1;
            if let Some(p) = self.slots[slot].as_mut() {
                p.waiters.push(waiter);
            }
            return Ask::Joined;
        }
        let pending = Pending {
            key: key.clone(),
            fingerprint: print,
            waiters: vec![waiter],
            keep,
        };
        let slot = crate::slots::occupy(&mut self.slots, &mut self.free, pending);
        self.in_flight.insert(print, slot);
        self.stats.sent += 1;
        Ask::Send(slot as u64)
    }

    /// The question behind a tag in flight.
    pub fn key(&self, tag: u64) -> Option<&Key> {
        self.slots.get(tag as usize)?.as_ref().map(|p| &p.key)
    }

    /// Completes the lookup `tag` and returns its question, the question's fingerprint and its
    /// waiters. The answer is cached if its first asker said to keep it.
    pub fn complete(
        &mut self,
        tag: u64,
        answer: Arc<Answer>,
    ) -> Option<(Key, Fingerprint, Vec<Waiter>)> {
        let slot = usize::try_from(tag).ok()?;
        let pending = self.slots.get_mut(slot)?.take()?;
        self.free.push(slot);
        self.in_flight.remove(&pending.fingerprint);
        if let Some(ready) = self.ready.as_mut().filter(|_| pending.keep) {
            // A key completes only while not cached (asking checks the cache first), so every
            // insert is new and what the cache no longer holds was evicted or turned away.
            ready.insert(pending.fingerprint, answer);
            self.admitted += 1;
            self.stats.evicted = self.admitted - ready.len() as u64;
        }
        Some((pending.key, pending.fingerprint, pending.waiters))
    }

    /// Questions in flight.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Answers cached.
    pub fn cached(&self) -> usize {
        self.ready.as_ref().map_or(0, Cache::len)
    }

    /// Bytes of the answers cached ([`answer_bytes`]).
    pub fn cached_bytes(&self) -> u64 {
        self.ready.as_ref().map_or(0, Cache::weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;
    use crate::pipeline::lookup::Data;

    fn answer() -> Arc<Answer> {
        Arc::new(Answer::failed(Status::NxDomain, 1))
    }

    #[test]
    fn second_asker_joins_then_hits() {
        let mut s = LookupCache::new(CacheSize(1 << 20));
        let key = Key::A("mx.test".into());
        let Ask::Send(tag) = s.ask(&key, fingerprint(&key), (1, Role::Host), true) else {
            panic!("first ask sends")
        };
        assert!(matches!(
            s.ask(&key, fingerprint(&key), (2, Role::Host), true),
            Ask::Joined
        ));
        assert_eq!(s.in_flight(), 1);
        let (k, _, waiters) = s.complete(tag, answer()).unwrap();
        assert_eq!(k, key);
        assert_eq!(waiters, vec![(1, Role::Host), (2, Role::Host)]);
        assert!(matches!(
            s.ask(&key, fingerprint(&key), (3, Role::Forward), true),
            Ask::Ready(_)
        ));
        assert_eq!((s.stats.sent, s.stats.joined, s.stats.hits), (1, 1, 1));
        assert!(s.complete(tag, answer()).is_none(), "a tag completes once");
    }

    /// Asks `key` and completes it at once if it was sent; whether it was a hit.
    fn ask_and_answer(s: &mut LookupCache, key: &Key) -> bool {
        match s.ask(key, fingerprint(key), (0, Role::Host), true) {
            Ask::Send(tag) => {
                s.complete(tag, answer());
                false
            }
            Ask::Ready(_) => true,
            Ask::Joined => panic!("nothing is left in flight"),
        }
    }

    fn host(i: usize) -> Key {
        Key::A(format!("h{i}.test").into())
    }

    #[test]
    fn the_size_bounds_the_cache_and_unkept_answers_are_not_cached() {
        let one = (answer_bytes(&answer()) + TABLE_SHARE) as u64;
        let mut s = LookupCache::new(CacheSize(10 * one));
        for i in 0..50 {
            ask_and_answer(&mut s, &host(i));
        }
        assert!(s.cached_bytes() <= 10 * one, "{} bytes", s.cached_bytes());
        assert!((5..=10).contains(&s.cached()), "{} cached", s.cached());
        assert_eq!(s.stats.evicted, 50 - s.cached() as u64);
        let key = Key::Mx("d.test".into());
        let Ask::Send(tag) = s.ask(&key, fingerprint(&key), (0, Role::Domain), false) else {
            panic!()
        };
        s.complete(tag, answer());
        assert!(matches!(
            s.ask(&key, fingerprint(&key), (0, Role::Domain), false),
            Ask::Send(_)
        ));
        let mut none = LookupCache::new(CacheSize(0));
        assert!(!ask_and_answer(&mut none, &host(0)));
        assert!(
            !ask_and_answer(&mut none, &host(0)),
            "a size of 0 caches nothing"
        );
        assert_eq!(none.stats.evicted, 0);
    }

    /// The synthetic world's shared reverse questions come round in a loop longer than the
    /// cache: an LRU hits none of them, a frequency-aware cache keeps a part and hits that.
    #[test]
    fn a_loop_longer_than_the_cache_still_hits() {
        let one = (answer_bytes(&answer()) + TABLE_SHARE) as u64;
        let mut s = LookupCache::new(CacheSize(1000 * one));
        let mut hits = 0;
        for _round in 0..10 {
            for i in 0..1300 {
                hits += usize::from(ask_and_answer(&mut s, &host(i)));
            }
        }
        // An LRU of 1 000 answers: no hit at all.
        assert!(hits > 13_000 / 2, "{hits} hits of 13 000 asks");
    }

    /// Answers asked once do not push out an answer many domains share.
    #[test]
    fn one_off_answers_do_not_evict_a_popular_one() {
        let one = (answer_bytes(&answer()) + TABLE_SHARE) as u64;
        let mut s = LookupCache::new(CacheSize(100 * one));
        let popular = Key::A("mx.provider.test".into());
        ask_and_answer(&mut s, &popular);
        for i in 0..10_000 {
            assert!(
                i == 0 || ask_and_answer(&mut s, &popular),
                "popular missed at {i}"
            );
            ask_and_answer(&mut s, &host(i));
        }
    }

    /// What `--cache` promises: the cache's tables and the answers it holds stay within the size
    /// (the bytes an answer holds are counted by `answer_bytes`, the tables by quick_cache).
    #[test]
    fn a_full_cache_holds_no_more_bytes_than_its_size() {
        let size = 4 << 20;
        let mut s = LookupCache::new(CacheSize(size));
        for i in 0..100_000 {
            let key = Key::A(format!("mx{i}.provider.test").into());
            let Ask::Send(tag) = s.ask(&key, fingerprint(&key), (0, Role::Host), true) else {
                panic!("a new question is sent")
            };
            let mut a = Answer::failed(Status::NoError, 1);
            a.data = vec![Data::A(std::net::Ipv4Addr::new(192, 0, 2, (i % 256) as u8))];
            s.complete(tag, Arc::new(a));
        }
        let ready = s.ready.as_ref().unwrap();
        let tables = ready.memory_used();
        let held: usize = ready.iter().map(|(_, v)| answer_bytes(v)).sum();
        let total = (tables.entries + tables.map + held) as u64;
        assert!(ready.len() > 10_000, "{} answers", ready.len());
        assert!(
            total <= size + size / 20,
            "{total} bytes held in a cache of {size}: {tables:?}, {held} in answers"
        );
    }

    #[test]
    fn questions_of_other_types_or_families_have_other_fingerprints() {
        let v4: std::net::IpAddr = "192.0.2.1".parse().unwrap();
        let v6: std::net::IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        let keys = [
            Key::A("mx.test".into()),
            Key::Aaaa("mx.test".into()),
            Key::Mx("mx.test".into()),
            Key::A("mx.test2".into()),
            Key::Ptr(v4),
            Key::Ptr(v6),
        ];
        let prints: std::collections::HashSet<Fingerprint> = keys.iter().map(fingerprint).collect();
        assert_eq!(prints.len(), keys.len());
        assert_eq!(
            fingerprint(&Key::A("mx.test".into())),
            fingerprint(&keys[0])
        );
    }

    #[test]
    fn sizes_read_and_print_with_their_units() {
        for (text, bytes, shown) in [
            ("16MiB", 16 << 20, "16MiB"),
            ("64M", 64 << 20, "64MiB"),
            ("1.5 GiB", 3 << 29, "1536MiB"),
            ("100KB", 100 << 10, "100KiB"),
            ("512B", 512, "512B"),
            ("0", 0, "0"),
        ] {
            let size: CacheSize = text.parse().unwrap();
            assert_eq!(size, CacheSize(bytes), "{text}");
            assert_eq!(size.to_string(), shown);
            assert_eq!(
                shown.parse::<CacheSize>().unwrap(),
                size,
                "{shown} round trip"
            );
        }
        for bad in ["100000", "", "16 parsecs", "-1MiB"] {
            assert!(bad.parse::<CacheSize>().is_err(), "{bad:?} accepted");
        }
        let err = "100000".parse::<CacheSize>().unwrap_err();
        assert!(err.contains("100000B"), "{err}");
    }
}
