//! Scores for pre-scoring senders: 0–100 per domain and per sender IP, with the reasons.
//!
//! Each finding costs its weight × 10 points (weights in the spirit of rspamd's: RDNS_NONE 2.0,
//! FCrDNS fail 2.5, generic PTR 0.5–3.0, no MX/A 1.5, null MX 6.0, broken MX 4.0, local-only MX
//! 3.0). Gates force the lowest score ([`Code::gate`]: REVERSE_MX_FAIL, EGRESS_IPREV_GAP,
//! DOMAIN_NXDOMAIN). An
//! INDETERMINATE finding costs nothing but marks the score provisional. `--weights FILE`
//! (`code,weight` rows) overrides any weight.

use std::collections::HashMap;
use std::path::Path;

use super::{Code, Finding, Severity};

/// A generic PTR with a `static`/`fix` token costs this share of PTR_GENERIC's weight.
pub const STATIC_FACTOR: f64 = 0.25;

/// Weights by code (defaults: [`Code::weight`]); codes without one cost 1.0 for WARN, 2.0 for
/// ERROR, nothing for INFO.
#[derive(Debug, Clone)]
pub struct Weights(HashMap<Code, f64>);

impl Default for Weights {
    fn default() -> Self {
        Weights(
            Code::ALL
                .iter()
                .filter_map(|c| Some((*c, c.weight()?)))
                .collect(),
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read the weights file {0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}:{1}: expected `CODE,WEIGHT` with a weight between 0 and 10")]
    Row(String, usize),
    #[error("{0}:{1}: `{2}` is not a finding code (the codes are listed in docs/findings.md)")]
    UnknownCode(String, usize, String),
}

impl Weights {
    /// Defaults overridden by a `code,weight` file (`#` comments and a header allowed).
    pub fn load(path: &Path) -> Result<Weights, WeightsError> {
        let origin = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|e| WeightsError::Read(origin.clone(), e))?;
        let mut w = Weights::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() || (n == 0 && line.starts_with("code,")) {
                continue;
            }
            let bad = || WeightsError::Row(origin.clone(), n + 1);
            let (code, weight) = line.split_once(',').ok_or_else(bad)?;
            let weight: f64 = weight.trim().parse().map_err(|_| bad())?;
            if !(0.0..=10.0).contains(&weight) {
                return Err(bad());
            }
            let code = code.trim();
            let Some(code) = Code::from_name(code) else {
                return Err(WeightsError::UnknownCode(
                    origin.clone(),
                    n + 1,
                    code.to_ascii_uppercase(),
                ));
            };
            w.0.insert(code, weight);
        }
        Ok(w)
    }

    pub fn of(&self, f: &Finding) -> f64 {
        let base = self.0.get(&f.code).copied().unwrap_or(match f.severity {
            Severity::Error => 2.0,
            Severity::Warn => 1.0,
            Severity::Info | Severity::Indeterminate => 0.0,
        });
        if f.severity == Severity::Indeterminate {
            0.0
        } else if f.code == Code::PTR_GENERIC && f.static_hint {
            base * STATIC_FACTOR
        } else {
            base
        }
    }
}

/// A score with its reasons.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Score {
    /// `None` when nothing was measured to score (an INDETERMINATE domain or sender).
    pub score: Option<u8>,
    /// Something could not be measured: the score may be too high.
    pub provisional: bool,
    /// Each finding that cost points, and each gate, in the order of the findings.
    pub reasons: Vec<Reason>,
}

/// One reason of a score: a code and the points it cost, or a gate (score 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reason {
    pub code: Code,
    /// Points taken off (positive, to a tenth); `None` for a gate.
    pub points: Option<f64>,
}

impl std::fmt::Display for Reason {
    /// `CODE(-points)` or `CODE(gate)`: a CSV cell's form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.points {
            Some(p) => write!(f, "{}(-{p})", self.code),
            None => write!(f, "{}(gate)", self.code),
        }
    }
}

/// No score, and provisional, when `unmeasured`: a domain or sender whose lookups failed has
/// nothing to score, and 100 would sort it above every measured one.
pub fn unmeasured_if(unmeasured: bool, score: Score) -> Score {
    if unmeasured {
        Score {
            score: None,
            provisional: true,
            ..score
        }
    } else {
        score
    }
}

/// Scores a set of findings.
pub fn score<'a>(findings: impl IntoIterator<Item = &'a Finding>, weights: &Weights) -> Score {
    let (mut points, mut provisional, mut gated) = (0.0, false, false);
    let mut reasons = Vec::new();
    for f in findings {
        if f.severity == Severity::Indeterminate {
            provisional = true;
            continue;
        }
        if f.code.gate() {
            gated = true;
            reasons.push(Reason {
                code: f.code,
                points: None,
            });
            continue;
        }
        let cost = weights.of(f) * 10.0;
        if cost > 0.0 {
            points += cost;
            reasons.push(Reason {
                code: f.code,
                points: Some((cost * 10.0).round() / 10.0),
            });
        }
    }
    let score = if gated {
        0
    } else {
        (100.0 - points).clamp(0.0, 100.0).round() as u8
    };
    Score {
        score: Some(score),
        provisional,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(code: &str, severity: Severity) -> Finding {
        Finding::new(Code::from_name(code).unwrap(), severity, "", String::new())
    }

    #[test]
    fn points_gates_and_provisional() {
        let w = Weights::default();
        let s = score(&[f("PTR_MISSING", Severity::Info)], &w);
        assert_eq!(s.score, Some(80));
        let s = score(
            &[
                f("MX_SINGLE_HOST", Severity::Info),
                f("PTR_TEMPERROR", Severity::Indeterminate),
            ],
            &w,
        );
        assert_eq!((s.score, s.provisional), (Some(100), true));
        let s = score(&[f("REVERSE_MX_FAIL", Severity::Error)], &w);
        assert_eq!(s.score, Some(0));
        let reasons: Vec<String> = s.reasons.iter().map(|r| r.to_string()).collect();
        assert_eq!(reasons, ["REVERSE_MX_FAIL(gate)"]);
        let json = serde_json::to_string(&s.reasons).unwrap();
        assert_eq!(
            json,
            r#"[{"code":"REVERSE_MX_FAIL","points":null,"gate":true}]"#
        );
        let s = score(&[f("PTR_TARGET_CNAME", Severity::Warn)], &w);
        let json = serde_json::to_string(&s.reasons).unwrap();
        assert_eq!(
            json,
            r#"[{"code":"PTR_TARGET_CNAME","points":-5,"gate":false}]"#
        );
        let mut generic = f("PTR_GENERIC", Severity::Warn);
        generic.static_hint = true;
        assert_eq!(score(&[generic], &w).score, Some(95));
        let s = score(
            &[
                f("MX_NULL", Severity::Info),
                f("MX_ALL_UNUSABLE", Severity::Error),
            ],
            &w,
        );
        assert_eq!(s.score, Some(0), "clamped");
    }

    #[test]
    fn weights_file_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.csv");
        std::fs::write(&p, "code,weight\nptr_missing,0.5\n# comment\n").unwrap();
        let w = Weights::load(&p).unwrap();
        assert_eq!(
            score(&[f("PTR_MISSING", Severity::Info)], &w).score,
            Some(95)
        );
        std::fs::write(&p, "PTR_MISSING,eleven\n").unwrap();
        assert!(Weights::load(&p).unwrap_err().to_string().contains(":1:"));
        std::fs::write(&p, "PTR_MISSING,1\nPTR_MISING,2\n").unwrap();
        let e = Weights::load(&p).unwrap_err().to_string();
        assert!(
            e.contains(":2:") && e.contains("`PTR_MISING` is not a finding code"),
            "{e}"
        );
    }
}
