//! The sans-IO query engine: in-flight table, timers, retry policy and resolver health, driven
//! by `io`. Lands with the engine issue (#3); see `../shared/DESIGN.md` points 1–7.
