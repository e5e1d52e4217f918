//! SIGINT and SIGTERM, escalating: the first stops taking input (lookups in flight finish),
//! the second abandons lookups in flight (what is finished is still written), the third exits
//! at once (the journal still vouches for every complete batch; `--resume` cuts the rest).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// Flags raised by signals, read by the driver once per turn.
#[derive(Debug, Clone, Default)]
pub struct StopFlags {
    /// Stop taking input; let lookups in flight finish.
    pub stop: Arc<AtomicBool>,
    /// Stop now: abandon lookups in flight.
    pub abort: Arc<AtomicBool>,
}

impl StopFlags {
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Relaxed)
    }
}

/// Starts a thread that raises the flags as SIGINT and SIGTERM arrive.
pub fn install() -> std::io::Result<StopFlags> {
    let flags = StopFlags::default();
    let mut signals = Signals::new([SIGINT, SIGTERM])?;
    let raised = flags.clone();
    std::thread::Builder::new()
        .name("mxscan-signals".into())
        .spawn(move || {
            for (n, _) in signals.forever().enumerate() {
                match n {
                    0 => {
                        crate::note!(
                            "\nmxscan: stopping: finishing the lookups in flight (signal again to stop at once)"
                        );
                        raised.stop.store(true, Ordering::Relaxed);
                    }
                    1 => {
                        crate::note!(
                            "\nmxscan: stopping now: writing what is finished (signal again to exit without it)"
                        );
                        raised.stop.store(true, Ordering::Relaxed);
                        raised.abort.store(true, Ordering::Relaxed);
                    }
                    _ => {
                        crate::note!("\nmxscan: exiting; --resume continues from the last batch");
                        std::process::exit(130);
                    }
                }
            }
        })?;
    Ok(flags)
}

/// Blocks until SIGINT or SIGTERM arrives or `deadline` passes (what `mxscan sim` serves for).
pub fn wait_for_stop(deadline: Option<std::time::Instant>) -> std::io::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| std::time::Instant::now() < d) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}
