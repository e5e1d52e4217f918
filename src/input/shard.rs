//! `--shard I/N`: which part of the domain list this run scans. Every shard reads the whole list
//! and keeps the domains that hash into its part, so shards need no coordination: the same
//! input, seed and count give every machine the same partition.
//!
//! The hash is of the domain's *registrable* name (its public suffix plus one label, from the
//! Public Suffix List; the name itself when it has none), so `a.example.co.uk` and
//! `b.example.co.uk` land in the same shard and one organisation's domains share one shard's
//! cache. It is BLAKE3 keyed with `blake3::derive_key("mxscan shard v1", seed as 8 bytes
//! little-endian)`; the first 8 bytes of the hash, read little-endian as `h`, give the shard
//! `floor(h × N / 2^64) + 1` (docs/design.md, "Shards").

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Shards at most (a bound that keeps `I/N` typos like `1/40000000` from scanning nothing).
pub const MAX_SHARDS: u32 = 65_536;

/// One part of `count`: `index` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    /// The hash's seed (`--shard-seed`): every shard of a scan must use the same.
    pub seed: u64,
}

/// What `--shard` says: a part, or `auto` (from the scheduler's environment), with the count
/// when the environment does not give it (`auto/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed { index: u32, count: u32 },
    Auto { count: Option<u32> },
}

impl FromStr for ShardSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<ShardSpec, String> {
        let (i, n) = match s.split_once('/') {
            Some((i, n)) => (i, Some(n)),
            None => (s, None),
        };
        let count = |n: &str| -> Result<u32, String> {
            match n.parse::<u32>() {
                Ok(n) if (1..=MAX_SHARDS).contains(&n) => Ok(n),
                _ => Err(format!(
                    "`{n}` is not a shard count: give a whole number from 1 to {MAX_SHARDS}"
                )),
            }
        };
        if i == "auto" {
            return Ok(ShardSpec::Auto {
                count: n.map(count).transpose()?,
            });
        }
        let Some(n) = n else {
            return Err(format!(
                "`{s}` is not a shard: give I/N (the I-th of N parts, from 1), or auto"
            ));
        };
        let count = count(n)?;
        match i.parse::<u32>() {
            Ok(index) if (1..=count).contains(&index) => Ok(ShardSpec::Fixed { index, count }),
            _ => Err(format!(
                "`{i}` is not a shard of {count}: shards are numbered 1 to {count}"
            )),
        }
    }
}

/// `--shard auto` found no usable scheduler variables.
#[derive(Debug, thiserror::Error)]
#[error("--shard auto: {0}")]
pub struct AutoShardError(String);

impl ShardSpec {
    /// The shard this run is: `env` looks up the scheduler's variables (Slurm array jobs:
    /// `SLURM_ARRAY_TASK_ID`, `_MIN`, `_MAX`, `_COUNT`; Kubernetes Indexed Jobs:
    /// `JOB_COMPLETION_INDEX`, 0-based, with the count given as `auto/N`).
    pub fn resolve(
        self,
        seed: u64,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Shard, AutoShardError> {
        let (index, count) = match self {
            ShardSpec::Fixed { index, count } => (index, count),
            ShardSpec::Auto { count } => auto(count, env)?,
        };
        Ok(Shard { index, count, seed })
    }
}

fn auto(
    given: Option<u32>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(u32, u32), AutoShardError> {
    let number = |name: &str| -> Result<Option<u64>, AutoShardError> {
        env(name)
            .map(|v| {
                v.trim()
                    .parse::<u64>()
                    .map_err(|_| AutoShardError(format!("{name}=`{v}` is not a whole number")))
            })
            .transpose()
    };
    let (index, count) = if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
        let (Some(min), Some(max), Some(count)) = (
            number("SLURM_ARRAY_TASK_MIN")?,
            number("SLURM_ARRAY_TASK_MAX")?,
            number("SLURM_ARRAY_TASK_COUNT")?,
        ) else {
            return Err(AutoShardError(
                "SLURM_ARRAY_TASK_ID is set but not SLURM_ARRAY_TASK_MIN, _MAX and _COUNT: \
                 run under sbatch --array"
                    .into(),
            ));
        };
        if max < min || max - min + 1 != count {
            return Err(AutoShardError(format!(
                "the array {min}-{max} has {count} tasks: give a contiguous range without a \
                 step (sbatch --array=1-N), or --shard I/N"
            )));
        }
        (id.saturating_sub(min) + 1, count)
    } else if let Some(index) = number("JOB_COMPLETION_INDEX")? {
        let Some(count) = given else {
            return Err(AutoShardError(
                "JOB_COMPLETION_INDEX gives the index but not the count: give --shard auto/N \
                 with N the Job's completions"
                    .into(),
            ));
        };
        (index + 1, u64::from(count))
    } else {
        return Err(AutoShardError(
            "neither SLURM_ARRAY_TASK_ID (a Slurm array job) nor JOB_COMPLETION_INDEX (a \
             Kubernetes Indexed Job) is set: give --shard I/N"
                .into(),
        ));
    };
    if let Some(given) = given
        && u64::from(given) != count
    {
        return Err(AutoShardError(format!(
            "--shard auto/{given}, but the scheduler runs {count} tasks"
        )));
    }
    let count = u32::try_from(count)
        .ok()
        .filter(|c| *c <= MAX_SHARDS)
        .ok_or_else(|| AutoShardError(format!("{count} shards: at most {MAX_SHARDS}")))?;
    if index > u64::from(count) {
        return Err(AutoShardError(format!(
            "task {index} of {count}: the index is past the count"
        )));
    }
    Ok((index as u32, count))
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The hash's key for `seed`.
fn key(seed: u64) -> [u8; 32] {
    blake3::derive_key("mxscan shard v1", &seed.to_le_bytes())
}

/// The name a domain is placed by: its registrable domain, or itself.
pub fn registrable(domain: &str) -> &str {
    psl::domain_str(domain).unwrap_or(domain)
}

/// Places normalised domains into shards.
#[derive(Clone)]
pub struct Partition {
    shard: Shard,
    key: [u8; 32],
}

impl Partition {
    pub fn new(shard: Shard) -> Partition {
        Partition {
            key: key(shard.seed),
            shard,
        }
    }

    pub fn shard(&self) -> Shard {
        self.shard
    }

    /// The shard (1-based) `domain` (normalised) belongs to.
    pub fn shard_of(&self, domain: &str) -> u32 {
        let hash = blake3::keyed_hash(&self.key, registrable(domain).as_bytes());
        let h = u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"));
        ((u128::from(h) * u128::from(self.shard.count)) >> 64) as u32 + 1
    }

    /// `domain` is this shard's.
    pub fn owns(&self, domain: &str) -> bool {
        self.shard.count == 1 || self.shard_of(domain) == self.shard.index
    }

    /// This shard reports what belongs to no domain (rejected and blank lines): the first.
    pub fn reports_rejects(&self) -> bool {
        self.shard.index == 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn shard_flags_parse_and_refuse_with_the_reason() {
        assert_eq!("2/4".parse(), Ok(ShardSpec::Fixed { index: 2, count: 4 }));
        assert_eq!("auto".parse(), Ok(ShardSpec::Auto { count: None }));
        assert_eq!("auto/8".parse(), Ok(ShardSpec::Auto { count: Some(8) }));
        for (bad, says) in [
            ("0/4", "numbered 1 to 4"),
            ("5/4", "numbered 1 to 4"),
            ("2", "give I/N"),
            ("1/0", "not a shard count"),
            ("x/2", "not a shard of 2"),
            ("auto/x", "not a shard count"),
        ] {
            let e = bad.parse::<ShardSpec>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }

    #[test]
    fn auto_reads_slurm_arrays_and_indexed_jobs() {
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "4"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        let auto = ShardSpec::Auto { count: None };
        let s = auto.resolve(7, &slurm).unwrap();
        assert_eq!((s.index, s.count, s.seed), (3, 4, 7));
        // A zero-based array is shifted.
        let zero = env(&[
            ("SLURM_ARRAY_TASK_ID", "0"),
            ("SLURM_ARRAY_TASK_MIN", "0"),
            ("SLURM_ARRAY_TASK_MAX", "2"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ]);
        assert_eq!(auto.resolve(0, &zero).unwrap().to_string(), "1/3");
        let stepped = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
            ("SLURM_ARRAY_TASK_MAX", "7"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ]);
        assert!(
            auto.resolve(0, &stepped)
                .unwrap_err()
                .to_string()
                .contains("contiguous")
        );
        let k8s = env(&[("JOB_COMPLETION_INDEX", "0")]);
        let e = auto.resolve(0, &k8s).unwrap_err().to_string();
        assert!(e.contains("auto/N"), "{e}");
        let given = ShardSpec::Auto { count: Some(5) };
        assert_eq!(given.resolve(0, &k8s).unwrap().to_string(), "1/5");
        let past = env(&[("JOB_COMPLETION_INDEX", "5")]);
        assert!(given.resolve(0, &past).is_err());
        assert!(
            given
                .resolve(0, &slurm)
                .unwrap_err()
                .to_string()
                .contains("runs 4")
        );
        let e = auto.resolve(0, &env(&[])).unwrap_err().to_string();
        assert!(e.contains("--shard I/N"), "{e}");
    }

    #[test]
    fn an_organisations_domains_share_a_shard_and_shards_are_even() {
        let p = |index| {
            Partition::new(Shard {
                index,
                count: 4,
                seed: 0,
            })
        };
        let first = p(1);
        assert_eq!(registrable("mail.example.co.uk"), "example.co.uk");
        assert_eq!(registrable("co.uk"), "co.uk");
        assert_eq!(
            first.shard_of("a.example.co.uk"),
            first.shard_of("b.example.co.uk")
        );
        let mut sizes = [0u32; 4];
        for i in 0..40_000 {
            sizes[first.shard_of(&format!("d{i}.example")) as usize - 1] += 1;
        }
        for n in sizes {
            assert!((9_500..=10_500).contains(&n), "{sizes:?}");
        }
        // Exactly one shard owns each domain.
        for d in ["a.test", "b.example.com", "xn--bcher-kva.test"] {
            assert_eq!((1..=4).filter(|i| p(*i).owns(d)).count(), 1);
        }
        // The seed moves domains.
        let other = Partition::new(Shard {
            index: 1,
            count: 4,
            seed: 1,
        });
        let moved = (0..1000)
            .filter(|i| {
                let d = format!("d{i}.example");
                first.shard_of(&d) != other.shard_of(&d)
            })
            .count();
        assert!(moved > 600, "{moved}");
    }

    /// The documented hash, written out: a user can place a domain without mxscan.
    #[test]
    fn the_hash_is_the_documented_one() {
        let key = blake3::derive_key("mxscan shard v1", &0u64.to_le_bytes());
        let hash = blake3::keyed_hash(&key, b"example.com");
        let h = u64::from_le_bytes(hash.as_bytes()[..8].try_into().unwrap());
        let want = ((h as u128 * 7) >> 64) as u32 + 1;
        let p = Partition::new(Shard {
            index: 1,
            count: 7,
            seed: 0,
        });
        assert_eq!(p.shard_of("www.example.com"), want);
    }
}
