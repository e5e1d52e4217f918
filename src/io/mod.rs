//! Sockets, batched datagram syscalls, the driver that runs the engine over them, and files
//! written crash-safe (`fs`): the only
//! module with `unsafe` (`socket` and `batch` allow it; the crate denies it everywhere else).
//! The sim and the engine's driver share it. Each `unsafe` block carries
//! a `// SAFETY:` line.

#[allow(unsafe_code)]
pub mod batch;
pub mod driver;
pub mod fs;
pub mod preflight;
pub mod signals;
#[allow(unsafe_code)]
pub mod socket;
pub mod tcp;

pub use batch::{DatagramBatch, recv_batch, send_batch, wait_readable};
pub use socket::bind_udp;
