//! `headroomctl`: parse the command line and run it against the daemon.

use std::process::ExitCode;

use clap::Parser;
use headroom::control::ctl::{self, CtlArgs};

fn main() -> ExitCode {
    let args = CtlArgs::parse();
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("headroomctl: cannot start a runtime: {e}");
            return ExitCode::from(1);
        }
    };
    rt.block_on(ctl::run(args))
}
