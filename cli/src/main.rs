//! `zkiris`: the desktop tool for the whole flow — models, encoding, commitments, proofs,
//! the vault, EVM export and benchmarks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod common;
mod model_cmd;
mod vault_cmd;

/// zkiris: zero-knowledge proofs that an iris code was derived from an enrolled iris image.
#[derive(Parser)]
#[command(name = "zkiris", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the bundled models with id, version and signature status.
    Models(model_cmd::ModelsArgs),
    /// Issuer tooling: sign a model spec into a manifest.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Encode an iris image into an iris code and mask code.
    Encode(model_cmd::EncodeArgs),
    /// Hamming distance between two templates (open-iris default matcher).
    Match(model_cmd::MatchArgs),
    /// The encrypted enrollment vault: init, enroll, list, delete, rotate.
    #[command(subcommand)]
    Vault(vault_cmd::VaultCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Models(a) => model_cmd::models(a),
        Command::Model(c) => model_cmd::model(c),
        Command::Encode(a) => model_cmd::encode(a),
        Command::Match(a) => model_cmd::match_templates(a),
        Command::Vault(c) => vault_cmd::run(c).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", common::one_line(&e));
            ExitCode::from(2)
        }
    }
}
