//! Input: domain lists and sender files, normalised, with malformed lines sent to a rejects
//! file. Lands with the scan issue (#4); the sample world's inputs are in `data/`.
