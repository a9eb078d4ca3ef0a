//! `headroomd`: parse the configuration and run the daemon.

use std::process::ExitCode;

use headroom::config::{self, CommandLine, ProcessEnv};

fn main() -> ExitCode {
    let cmdline = match CommandLine::parse(std::env::args_os()) {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let config = match config::load(&cmdline, &ProcessEnv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("headroomd: {e}");
            return ExitCode::from(2);
        }
    };
    if cmdline.args.check_config {
        print!("{}", config.render_masked());
        for line in config::features::describe(&config) {
            println!("# {line}");
        }
        return ExitCode::SUCCESS;
    }
    headroom::trace::init(&config.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = match headroom::server::bind(&config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("headroomd: {e}");
            return ExitCode::from(1);
        }
    };
    let system = actix_rt::System::new();
    let result = system.block_on(headroom::server::run(
        cmdline,
        config,
        listener,
        std::future::pending(),
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("headroomd: {e}");
            ExitCode::from(1)
        }
    }
}
