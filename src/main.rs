use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = mxscan::cli::Cli::parse();
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
            eprintln!("mxscan: {err:#}");
            std::process::exit(2);
        }
    }
}
