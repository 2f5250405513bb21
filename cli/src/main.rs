//! `image-redirect`: the policy's settings as node-level registry
//! configuration, a preview of what the policy does to manifests, Palette
//! Edge user-data imported as the policy's documents, the mirror filled
//! with the images the policy will send there, and an audit of what a
//! cluster still pulls from outside the mirrors.
//!
//! This file parses the command line (`cli`) and dispatches to one module per
//! subcommand (`command`).

mod cli;
mod command;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use cli::{Cli, Command, ImportArgs, ImportFrom};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version go to stdout and succeed; usage errors name the
        // flag (and the closest one) and fail with the documented status 1.
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(command::FAILED) } else { ExitCode::SUCCESS };
        }
    };
    let result = match cli.command {
        Command::Export(args) => command::export::run(&args),
        Command::Preview(args) => command::preview::run(&args),
        Command::Import(ImportArgs { from: ImportFrom::Palette(args) }) => command::import::palette(&args),
        Command::Seed(args) => command::seed::run(&args),
        Command::Audit(args) => command::audit::run(&args),
        Command::Completions(args) => {
            clap_complete::generate(args.shell, &mut Cli::command(), "image-redirect", &mut std::io::stdout());
            Ok(0)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(command::FAILED)
        }
    }
}
