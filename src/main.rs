use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = mxscan::cli::Cli::parse();
    mxscan::messages::set_sink(mxscan::messages::to_stderr);
    // Past a file-size limit (`ulimit -f`) a write then fails with an error naming the file,
    // and the journal keeps the scan resumable, instead of SIGXFSZ killing the process.
    let _ = signal_hook::flag::register(
        signal_hook::consts::SIGXFSZ,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    match mxscan::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            // A closed stdout (e.g. `| head`) is not an error of ours.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                std::process::exit(0);
            }
            mxscan::note!("mxscan: {err:#}");
            std::process::exit(mxscan::cli::exit::ERROR);
        }
    }
}
