use std::process::ExitCode;

use clap::Parser as _;

fn main() -> ExitCode {
    let cli = sandesh::cli::Cli::parse();
    sandesh::cli::run(cli)
}
