//! How many distinct questions a scan asked: the floor that no sharing can go below (each
//! distinct question asked once). Counting them exactly would need memory for every question,
//! so a HyperLogLog sketch estimates it in 64 KiB, with a standard error of 0.4 %, and near
//! exactly while the questions are few. `summary.json` carries the sketch, so that
//! `mxscan merge` counts the shards' union (shards share provider hosts).
//!
//! Written by hand rather than taken from a crate: the sketch is part of the output contract
//! (a stable hash and a stable encoding that shards written apart must agree on), and the
//! estimator is Ertl's ("New cardinality estimation algorithms for HyperLogLog sketches",
//! 2017), which needs no empirical bias tables and is right from one question to billions.

use std::io::{Read, Write};

use hickory_proto::rr::RecordType;

/// log2 of the number of registers.
const P: u32 = 16;
const M: usize = 1 << P;
/// Bits of the hash left after the register index.
const Q: u32 = 64 - P;
/// What an encoded sketch starts with: the format and its precision.
const TAG: &str = "hll-xxh3-p16:";

#[derive(Clone, PartialEq, Eq)]
pub struct DistinctQuestions {
    /// Per register, 1 + the number of leading zeros of the hash bits after the index (0: no
    /// question fell into it).
    registers: Box<[u8]>,
}

impl Default for DistinctQuestions {
    fn default() -> Self {
        DistinctQuestions {
            registers: vec![0; M].into_boxed_slice(),
        }
    }
}

impl std::fmt::Debug for DistinctQuestions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DistinctQuestions(~{:.0})", self.estimate())
    }
}

impl DistinctQuestions {
    /// Counts the question `name` (as sent, fully qualified or not, any case) of `qtype`.
    pub fn insert(&mut self, name: &str, qtype: RecordType) {
        let name = name.strip_suffix('.').unwrap_or(name).as_bytes();
        // A DNS name is at most 253 bytes in this form: hashed from the stack.
        let mut buf = [0u8; 256];
        let mut heap = Vec::new();
        let bytes: &mut [u8] = if name.len() + 2 <= buf.len() {
            &mut buf[..name.len() + 2]
        } else {
            heap.resize(name.len() + 2, 0);
            &mut heap
        };
        for (to, from) in bytes.iter_mut().zip(name) {
            *to = from.to_ascii_lowercase();
        }
        bytes[name.len()..].copy_from_slice(&u16::from(qtype).to_be_bytes());
        self.insert_hash(xxhash_rust::xxh3::xxh3_64(bytes));
    }

    fn insert_hash(&mut self, hash: u64) {
        let index = (hash >> Q) as usize;
        // The low Q bits, with a stop bit so that all-zero bits rank Q + 1.
        let rank = ((hash << P) | (1 << (P - 1))).leading_zeros() as u8 + 1;
        let register = &mut self.registers[index];
        *register = (*register).max(rank);
    }

    /// The union with `other` (what both saw).
    pub fn merge(&mut self, other: &DistinctQuestions) {
        for (mine, theirs) in self.registers.iter_mut().zip(other.registers.iter()) {
            *mine = (*mine).max(*theirs);
        }
    }

    /// The estimated number of distinct questions inserted.
    pub fn estimate(&self) -> f64 {
        let m = M as f64;
        let mut counts = [0u32; Q as usize + 2];
        for &r in self.registers.iter() {
            counts[r as usize] += 1;
        }
        let q = Q as usize;
        let mut z = m * tau(1.0 - f64::from(counts[q + 1]) / m);
        for k in (1..=q).rev() {
            z = 0.5 * (z + f64::from(counts[k]));
        }
        z += m * sigma(f64::from(counts[0]) / m);
        m * m / (2.0 * std::f64::consts::LN_2 * z)
    }

    /// The sketch as text: [`TAG`], then the registers deflated, in base64.
    pub fn encode(&self) -> String {
        use base64::Engine as _;
        let mut deflate =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        deflate
            .write_all(&self.registers)
            .expect("deflating into memory");
        let bytes = deflate.finish().expect("deflating into memory");
        format!(
            "{TAG}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )
    }

    /// A sketch [`DistinctQuestions::encode`] wrote.
    pub fn decode(text: &str) -> Result<DistinctQuestions, String> {
        use base64::Engine as _;
        let body = text
            .strip_prefix(TAG)
            .ok_or_else(|| format!("not a sketch of this version (it should start {TAG})"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|e| format!("not base64: {e}"))?;
        let mut registers = Vec::with_capacity(M);
        flate2::read::DeflateDecoder::new(bytes.as_slice())
            .take(M as u64 + 1)
            .read_to_end(&mut registers)
            .map_err(|e| format!("not deflated: {e}"))?;
        if registers.len() != M || registers.iter().any(|&r| u32::from(r) > Q + 1) {
            return Err(format!("not {M} registers of 0 to {}", Q + 1));
        }
        Ok(DistinctQuestions {
            registers: registers.into_boxed_slice(),
        })
    }
}

/// Ertl's σ(x) = x + Σ_{k≥1} x^(2^k)·2^(k−1), for the registers still empty.
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    loop {
        x *= x;
        let before = z;
        z += x * y;
        y += y;
        if z == before {
            return z;
        }
    }
}

/// Ertl's τ(x), for the registers at their maximum.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    loop {
        x = x.sqrt();
        let before = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if z == before {
            return z / 3.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sketch_of(range: std::ops::Range<u64>) -> DistinctQuestions {
        let mut s = DistinctQuestions::default();
        for i in range {
            s.insert(&format!("h{i}.example.test."), RecordType::A);
        }
        s
    }

    #[test]
    fn empty_is_zero_and_repeats_do_not_count() {
        assert_eq!(DistinctQuestions::default().estimate(), 0.0);
        let mut s = sketch_of(0..1000);
        let once = s.estimate();
        for i in 0..1000 {
            // The same questions again, in other spellings.
            s.insert(&format!("H{i}.Example.test"), RecordType::A);
        }
        assert_eq!(s.estimate(), once);
        // The type is part of the question.
        s.insert("h1.example.test", RecordType::AAAA);
        assert!(s.estimate() > once);
    }

    #[test]
    fn estimates_are_within_their_error_at_every_size() {
        // Few questions: as good as exact. Many: within 3 standard errors (0.4 % each).
        for (n, tolerance) in [
            (1u64, 0.0),
            (10, 0.0),
            (1000, 0.002),
            (50_000, 0.012),
            (2_000_000, 0.012),
        ] {
            let e = sketch_of(0..n).estimate();
            let error = (e - n as f64).abs() / n as f64;
            assert!(
                error <= tolerance + 0.5 / n as f64,
                "{n}: estimated {e:.1} ({:.3} %)",
                100.0 * error
            );
        }
    }

    #[test]
    fn merged_shards_count_their_union() {
        // Overlapping halves: the union is 0..300 000, not the sum.
        let (mut a, b) = (sketch_of(0..200_000), sketch_of(100_000..300_000));
        a.merge(&b);
        let e = a.estimate();
        assert!((e - 300_000.0).abs() / 300_000.0 < 0.012, "{e}");
        assert_eq!(a, {
            let mut whole = sketch_of(0..300_000);
            whole.merge(&DistinctQuestions::default());
            whole
        });
    }

    #[test]
    fn the_encoding_round_trips_and_refuses_what_it_did_not_write() {
        let s = sketch_of(0..5000);
        let text = s.encode();
        assert!(
            text.starts_with(TAG) && text.len() < 40_000,
            "{}",
            text.len()
        );
        assert_eq!(DistinctQuestions::decode(&text).unwrap(), s);
        assert_eq!(
            DistinctQuestions::decode(&DistinctQuestions::default().encode()).unwrap(),
            DistinctQuestions::default()
        );
        for bad in [
            "",
            "hll-xxh3-p14:AAAA",
            "hll-xxh3-p16:!!",
            "hll-xxh3-p16:AAAA",
        ] {
            assert!(DistinctQuestions::decode(bad).is_err(), "{bad}");
        }
    }
}
