//! What the library has to tell a person while it runs (a warning, what a stop means, how a
//! resume goes on): handed to one sink. The command line prints them on stderr; a program
//! that embeds mxscan installs its own (a logger, a list a test reads) with [`set_sink`].
//! Nothing below `cli` writes to stdout or stderr itself.

use std::sync::OnceLock;

type Sink = Box<dyn Fn(&str) + Send + Sync>;

static SINK: OnceLock<Sink> = OnceLock::new();

/// Installs where messages go, once per process; `false` when one was installed already.
pub fn set_sink(sink: impl Fn(&str) + Send + Sync + 'static) -> bool {
    SINK.set(Box::new(sink)).is_ok()
}

/// Hands one message to the sink; stderr until one is installed. A closed stderr loses the
/// message, never the run.
pub fn emit(message: std::fmt::Arguments<'_>) {
    match SINK.get() {
        Some(sink) => sink(&message.to_string()),
        None => to_stderr(&message.to_string()),
    }
}

/// The command line's sink: one line on stderr, ignoring a closed stream.
pub fn to_stderr(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}
