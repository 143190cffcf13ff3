//! `zkiris`: the desktop tool for the whole flow — models, encoding, commitments, proofs,
//! the vault, EVM export and benchmarks.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod aggregate_cmd;
mod bench_cmd;
mod common;
mod demo;
mod evm_cmd;
mod model_cmd;
mod party_cmd;
mod progress;
mod prove_cmd;
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
    /// The end-to-end demo: enroll into a vault, prove, verify, register on a local EVM, upgrade
    /// to a new model, match.
    Demo(demo::DemoArgs),
    /// List the bundled models with id, version and signature status.
    Models(model_cmd::ModelsArgs),
    /// Issuer tooling: sign a model spec into a manifest.
    #[command(subcommand)]
    Model(model_cmd::ModelCommand),
    /// Encode an iris image into an iris code and mask code.
    Encode(model_cmd::EncodeArgs),
    /// Hamming distance between two templates (open-iris default matcher).
    Match(model_cmd::MatchArgs),
    /// The Poseidon commitment to an image, mask and salt (what an enrollment device signs).
    Commit(prove_cmd::CommitArgs),
    /// Prove that a code was derived from an enrolled image (from a vault record or files).
    Prove(prove_cmd::ProveArgs),
    /// Verify a proof bundle. Exit status 0 valid, 1 invalid, 2 error.
    Verify(prove_cmd::VerifyArgs),
    /// Relayers: fold proof bundles made with `prove --aggregatable` into one aggregated proof
    /// that one contract call verifies. Exit status 0 aggregated, 1 a bundle refused, 2 error.
    Aggregate(aggregate_cmd::AggregateArgs),
    /// Write a model's EVM verifier (Solidity, bytecode, verifier.json).
    ExportVerifier(evm_cmd::ExportArgs),
    /// Print EVM calldata for a proof bundle (verifier, register or upgrade).
    Calldata(evm_cmd::CalldataArgs),
    /// Benchmark proving a bundled model: median time, CPU, peak memory, sizes, verify time.
    Bench(bench_cmd::BenchArgs),
    /// The encrypted enrollment vault: init, enroll, list, delete, rotate.
    #[command(subcommand)]
    Vault(vault_cmd::VaultCommand),
    /// MPC parties (mpc-shares models): make a key pair, open a share from a proof, combine two
    /// shares.
    #[command(subcommand)]
    Party(party_cmd::PartyCommand),
}

/// glibc gives each thread that allocates its own malloc arena and keeps freed memory in them;
/// with the prover's worker threads that fragmentation is ~90 MiB of peak RSS on world-v3
/// (1,095 → 1,006 MiB measured, and no slower). One arena, unless the user set
/// `MALLOC_ARENA_MAX` themselves. Other platforms' allocators (bionic, Apple's) are not glibc.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only changes allocator tuning; it is called before any other thread
        // exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo(a) => demo::run(a),
        Command::Commit(a) => prove_cmd::commit_cmd(a),
        Command::Prove(a) => prove_cmd::prove(a),
        Command::Verify(a) => prove_cmd::verify(a),
        Command::Aggregate(a) => aggregate_cmd::aggregate(a),
        Command::ExportVerifier(a) => evm_cmd::export_verifier(a),
        Command::Calldata(a) => evm_cmd::calldata(a),
        Command::Bench(a) => bench_cmd::run(a),
        Command::Models(a) => model_cmd::models(a),
        Command::Model(c) => model_cmd::model(c),
        Command::Encode(a) => model_cmd::encode(a),
        Command::Match(a) => model_cmd::match_templates(a),
        Command::Vault(c) => vault_cmd::run(c),
        Command::Party(c) => party_cmd::run(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", common::one_line(&e));
            ExitCode::from(2)
        }
    }
}
