//! A growable set of record positions: which input records to scan (`input::list`), which a
//! resumed scan has done (`outdir::journal`).

/// One bit per input record: which records to scan, or which a resumed scan has done.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bitset(Vec<u64>);

impl Bitset {
    pub fn contains(&self, i: u64) -> bool {
        self.0
            .get((i / 64) as usize)
            .is_some_and(|w| w & (1 << (i % 64)) != 0)
    }

    pub fn insert(&mut self, i: u64) {
        let word = (i / 64) as usize;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (i % 64);
    }

    pub fn count(&self) -> u64 {
        self.0.iter().map(|w| u64::from(w.count_ones())).sum()
    }
}
