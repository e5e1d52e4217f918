//! The rayon stage turning finished domains into findings, sender checks and scores. Lands
//! with the findings issue (#5); the codes are specified in `../shared/FINDINGS.md`.
