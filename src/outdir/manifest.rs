//! The run manifest, `OUT/manifest.json`: what a scan was started with — the mxscan version, the
//! input's size and BLAKE3 hash, the table format and every flag. `--resume` compares the new
//! command against it, so rows written before and after a resume mean the same thing.
//!
//! Flags come in two kinds. *Settings* change what a row says for the same DNS answers (the
//! senders file, provider table, weights, public ranges, special-use names): a resume with a
//! different value is refused unless `--force`. *Tuning* changes only how the resolvers are
//! asked (which resolvers, rates, timeouts, windows): it may change freely, since an operator
//! resumes precisely to move a stalled scan to another resolver or a lower rate. The format and
//! an input edited in place can never change, not even with `--force`: the tables could not be
//! read as one, and input positions would no longer name the same domains.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::input::list::ListStats;
use crate::input::shard::Shard;
use crate::io::fs::{with_path, write_atomically};

pub const MANIFEST: &str = "manifest.json";

/// A file's identity: where it was, how long, and its BLAKE3 hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileId {
    pub path: String,
    pub size: u64,
    pub blake3: String,
}

impl FileId {
    /// Hashes `path`; also returns the hash of its first `prefix` bytes when it is at least
    /// that long (to tell an input that only grew from one edited in place).
    pub fn of(path: &Path, prefix: Option<u64>) -> io::Result<(FileId, Option<String>)> {
        let mut file = File::open(path).map_err(|e| with_path(e, path))?;
        let mut hasher = blake3::Hasher::new();
        let mut prefix_hash = None;
        let mut buf = vec![0u8; 1 << 16];
        let mut read = 0u64;
        loop {
            if prefix == Some(read) && prefix_hash.is_none() {
                prefix_hash = Some(hasher.finalize().to_hex().to_string());
            }
            let want = match prefix {
                Some(p) if read < p => buf.len().min((p - read) as usize),
                _ => buf.len(),
            };
            let n = match file.read(&mut buf[..want]) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(with_path(e, path)),
            };
            hasher.update(&buf[..n]);
            read += n as u64;
        }
        Ok((
            FileId {
                path: path.display().to_string(),
                size: read,
                blake3: hasher.finalize().to_hex().to_string(),
            },
            prefix_hash,
        ))
    }

    /// How the manifest shows a file named by a flag.
    pub fn setting(path: &Path) -> io::Result<String> {
        let (id, _) = FileId::of(path, None)?;
        Ok(format!("{} bytes, blake3 {}", id.size, id.blake3))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The mxscan version that started (or last forced) the scan.
    pub mxscan: String,
    pub format: String,
    pub input: FileId,
    /// Flags that change what rows say: a resume must give the same.
    pub settings: BTreeMap<String, String>,
    /// Flags that change only how resolvers are asked: free to change on resume.
    pub tuning: BTreeMap<String, String>,
    /// The BLAKE3 hash of the format and the settings: shards of one scan have the same.
    #[serde(default)]
    pub settings_digest: String,
    /// The part of the input this scan covers (`--shard`), if not all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
    /// The input's counts for this scan (of its shard's domains), once read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counts: Option<ListStats>,
    /// Set in a directory `mxscan merge` wrote: the number of shards merged. No scan runs
    /// there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_shards: Option<u32>,
}

/// The digest of what makes rows comparable: the table format and the settings.
pub fn settings_digest(format: &str, settings: &BTreeMap<String, String>) -> String {
    let mut h = blake3::Hasher::new();
    h.update(format.as_bytes());
    for (k, v) in settings {
        h.update(b"\0");
        h.update(k.as_bytes());
        h.update(b"=");
        h.update(v.as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// How a resume's command differs from the manifest.
#[derive(Debug, Default, PartialEq)]
pub struct Differences {
    /// Never allowed.
    pub fatal: Vec<String>,
    /// Allowed with `--force`.
    pub forceable: Vec<String>,
    /// Reported only.
    pub notes: Vec<String>,
}

fn diff_maps(
    then: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
    out: &mut Vec<String>,
) {
    let keys: std::collections::BTreeSet<&String> = then.keys().chain(now.keys()).collect();
    for k in keys {
        let (a, b) = (then.get(k), now.get(k));
        if a != b {
            out.push(format!(
                "{k}: `{}` then, `{}` now",
                a.map_or("(not given)", String::as_str),
                b.map_or("(not given)", String::as_str)
            ));
        }
    }
}

impl Manifest {
    /// Compares the manifest a scan was started with (`self`) with a resume's. `input_prefix`
    /// is the hash of the new input's first `self.input.size` bytes, if it is that long.
    pub fn compare(&self, now: &Manifest, input_prefix: Option<&str>) -> Differences {
        let mut d = Differences::default();
        if self.format != now.format {
            d.fatal.push(format!(
                "--format: `{}` then, `{}` now (the tables cannot hold both)",
                self.format, now.format
            ));
        }
        if self.shard != now.shard {
            let show = |s: &Option<Shard>| s.map_or("(not given)".to_string(), |s| s.to_string());
            d.fatal.push(format!(
                "--shard: `{}` then, `{}` now (another part of the input; the shard seed must \
                 not change either)",
                show(&self.shard),
                show(&now.shard)
            ));
        }
        if self.input.blake3 != now.input.blake3 {
            if input_prefix == Some(self.input.blake3.as_str()) {
                d.forceable.push(format!(
                    "the input grew from {} to {} bytes (what was there is unchanged)",
                    self.input.size, now.input.size
                ));
            } else {
                d.fatal.push(format!(
                    "the input {} changed in place ({} bytes then, {} now, different content): \
                     the scan's input positions no longer name the same domains",
                    now.input.path, self.input.size, now.input.size
                ));
            }
        } else if self.input.path != now.input.path {
            d.notes.push(format!(
                "the input moved from {} to {} (same content)",
                self.input.path, now.input.path
            ));
        }
        if self.mxscan != now.mxscan {
            d.forceable.push(format!(
                "mxscan version: {} then, {} now",
                self.mxscan, now.mxscan
            ));
        }
        diff_maps(&self.settings, &now.settings, &mut d.forceable);
        diff_maps(&self.tuning, &now.tuning, &mut d.notes);
        d
    }

    pub fn load(dir: &Path) -> io::Result<Option<Manifest>> {
        let path = dir.join(MANIFEST);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(with_path(e, &path)),
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{} is not a manifest mxscan can read: {e}", path.display()),
            )
        })
    }

    /// Writes the manifest durably and atomically (a temporary file renamed over it).
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(self)?;
        write_atomically(&dir.join(MANIFEST), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(input: FileId) -> Manifest {
        Manifest {
            mxscan: "0.1.0".into(),
            format: "csv".into(),
            input,
            settings: [("--weights".to_string(), "default".to_string())].into(),
            tuning: [("--qps".to_string(), "0".to_string())].into(),
            settings_digest: String::new(),
            shard: None,
            counts: None,
            merged_shards: None,
        }
    }

    #[test]
    fn hashes_whole_files_and_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in");
        std::fs::write(&p, vec![b'a'; 200_000]).unwrap();
        let (whole, _) = FileId::of(&p, None).unwrap();
        std::fs::write(&p, vec![b'a'; 300_000]).unwrap();
        let (grown, prefix) = FileId::of(&p, Some(200_000)).unwrap();
        assert_eq!(prefix.as_deref(), Some(whole.blake3.as_str()));
        assert_eq!(grown.size, 300_000);
        assert_ne!(grown.blake3, whole.blake3);
        let (_, none) = FileId::of(&p, Some(400_000)).unwrap();
        assert_eq!(
            none, None,
            "a file shorter than the prefix has no prefix hash"
        );
    }

    #[test]
    fn differences_are_sorted_by_what_a_resume_may_change() {
        let id = |size, hash: &str, path: &str| FileId {
            path: path.into(),
            size,
            blake3: hash.into(),
        };
        let then = manifest(id(10, "aa", "in.txt"));
        assert_eq!(then.compare(&then.clone(), None), Differences::default());

        let mut now = manifest(id(10, "aa", "moved.txt"));
        now.tuning.insert("--qps".into(), "500".into());
        let d = then.compare(&now, None);
        assert!(d.fatal.is_empty() && d.forceable.is_empty());
        assert_eq!(d.notes.len(), 2, "{d:?}");

        let mut now = manifest(id(20, "bb", "in.txt"));
        now.settings.insert("--weights".into(), "w.csv".into());
        let d = then.compare(&now, Some("aa"));
        assert!(d.fatal.is_empty());
        assert_eq!(d.forceable.len(), 2, "{d:?}");
        assert!(d.forceable[0].contains("grew"));
        assert!(d.forceable[1].starts_with("--weights"));

        let mut now = manifest(id(10, "cc", "in.txt"));
        now.format = "jsonl".into();
        now.shard = Some(Shard {
            index: 2,
            count: 4,
            seed: 0,
        });
        let d = then.compare(&now, Some("cc"));
        assert_eq!(d.fatal.len(), 3, "{d:?}");
        assert!(d.fatal[1].contains("--shard: `(not given)` then, `2/4` now"));
    }

    #[test]
    fn a_manifest_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), None);
        let m = manifest(FileId {
            path: "in".into(),
            size: 1,
            blake3: "x".into(),
        });
        m.write(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), Some(m));
        std::fs::write(dir.path().join(MANIFEST), "{").unwrap();
        assert!(Manifest::load(dir.path()).is_err());
    }
}
