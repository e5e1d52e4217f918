//! Sockets and batched datagram syscalls: the only module with `unsafe`.
//!
//! The sim uses it now; the query engine's driver will share it. Each `unsafe` block carries
//! a `// SAFETY:` line.

pub mod batch;
pub mod driver;
pub mod signals;
pub mod socket;
pub mod tcp;

pub use batch::{DatagramBatch, recv_batch, send_batch, wait_readable};
pub use socket::bind_udp;
