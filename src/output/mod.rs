//! Streaming CSV/JSONL writers, progress and the run summary. Lands with the scan issue (#4).
