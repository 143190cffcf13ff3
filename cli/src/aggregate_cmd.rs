//! `zkiris aggregate`: a relayer folds many Poseidon-transcript proof bundles of one model into
//! one aggregated proof that one contract call verifies.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use zkiris::prover::agg::{AggregateError, Aggregation, Aggregator};
use zkiris::prover::{CancellationToken, ProofTranscript, Verifier};

use crate::common::{hex32, write_atomically, Overwrite};
use crate::progress::{bytes, report, StepProgress};
use crate::prove_cmd::{precheck, read_bundle, verify_failure_reason, SetupArgs};

/// Arguments of `zkiris aggregate`.
#[derive(Args)]
pub struct AggregateArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// Proof bundles made with `zkiris prove --aggregatable`, all of the `--model`, in the
    /// order their statements appear in the aggregated proof.
    #[arg(required_unless_present = "batch", value_name = "PROOF")]
    proofs: Vec<PathBuf>,
    /// Without proofs: generate the aggregation key for batches of N proofs of the model alone
    /// and write its verifier into `--verifier DIR` (compiled, split under EIP-170), so the
    /// registry's `setAggregationVerifier(modelId, N, verifier)` can be set before any proof
    /// exists. With proofs, their number must be N.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=64))]
    batch: Option<u64>,
    /// Where to write the aggregated proof.
    #[arg(long, value_name = "FILE", default_value = "aggregated.zka")]
    out: PathBuf,
    /// log2 of the aggregation circuit's rows (more rows: fewer columns, a cheaper on-chain
    /// verifier, a slower and larger prover). Two world-v3 proofs need 21.
    #[arg(long, default_value_t = Aggregator::DEFAULT_K)]
    k: u32,
    /// Also write the aggregation verifier's Solidity to DIR, compile it with the pinned solc
    /// (split into contracts under EIP-170 when it does not fit in one), and measure the
    /// aggregated proof's verification gas on a local EVM (revm).
    #[arg(long, value_name = "DIR")]
    verifier: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `zkiris aggregate`. Exit codes: 0 aggregated, 1 an input bundle is refused (not
/// aggregatable, or does not verify), 2 error.
pub fn aggregate(a: AggregateArgs) -> Result<ExitCode> {
    if a.json {
        crate::progress::reports_to_stderr();
    }
    let model = a.setup.model()?;
    match a.batch {
        Some(n) if a.proofs.is_empty() => return prepare_only(&a, model, n as usize),
        Some(n) if n as usize != a.proofs.len() => bail!("--batch {n} but {} proofs given", a.proofs.len()),
        _ => {}
    }
    let mut bundles = Vec::with_capacity(a.proofs.len());
    for (index, path) in a.proofs.iter().enumerate() {
        let bundle = read_bundle(path)?;
        // Another model's bundle is refused before its verifying key is derived.
        if let Err(e) = precheck(&bundle, &model) {
            return refused(&a, index, verify_failure_reason(&e), &e.to_string());
        }
        bundles.push(bundle);
    }
    let started = Instant::now();
    let srs = a.setup.srs();
    let verifier = Verifier::new(model, &srs, Some(&a.setup.cache()))?;
    // The aggregator checks every bundle before it loads (or generates) the 2^k-point SRS.
    let aggregator = Aggregator::new(verifier, &srs, Some(&a.setup.cache()), a.k)?;
    report("verifier", &format!("aggregation at k = {}", a.k), started);

    let started = Instant::now();
    let progress = StepProgress::start("aggregate");
    let result = aggregator.aggregate(&bundles, &progress, &CancellationToken::new());
    progress.finish();
    let aggregation = match result {
        Ok(aggregation) => aggregation,
        Err(AggregateError::NotAggregatable { index, found }) => return refused(&a, index, "not_aggregatable", &not_aggregatable(found)),
        Err(AggregateError::InvalidBundle { index, source }) => return refused(&a, index, verify_failure_reason(&source), &source.to_string()),
        Err(e) => return Err(e.into()),
    };
    let seconds = started.elapsed().as_secs_f64();
    report("aggregate", &format!("{} proofs, checked natively", bundles.len()), started);
    let file = aggregation.proof.to_bytes();
    write_atomically(&a.out, &file, 0o644, Overwrite::Replace)?;

    let evm = match &a.verifier {
        Some(dir) => Some(deploy_and_measure(&aggregation, dir)?),
        None => None,
    };
    let p = &aggregation.proof;
    if a.json {
        let statements: Vec<_> = aggregation
            .statements
            .iter()
            .zip(&a.proofs)
            .map(|(s, path)| {
                json!({"proof": path.display().to_string(), "commitment": s.commitment.to_string(), "binding": hex32(&s.binding),
                       "share_commitments": s.share_commitments.map(|x| x.map(|c| hex32(&c)))})
            })
            .collect();
        println!(
            "{}",
            json!({"aggregated": a.out.display().to_string(), "model_id": p.model_id_hex(), "submission": p.submission.as_str(),
                   "proofs": p.len(), "k": p.k, "aggregation_vk": hex32(&p.aggregation_vk_fingerprint),
                   "public_inputs": p.instances.len(), "proof_bytes": p.proof.len(), "file_bytes": file.len(),
                   "aggregate_seconds": seconds, "statements": statements, "evm": evm})
        );
    } else {
        println!("wrote {} ({}): {} proofs of {} in one, {} public inputs", a.out.display(), bytes(file.len()), p.len(), p.model_name, p.instances.len());
        for (i, s) in aggregation.statements.iter().enumerate() {
            println!("  {} commitment {} binding {}", i + 1, s.commitment, hex32(&s.binding));
        }
        if let Some(evm) = &evm {
            println!(
                "aggregation verifier in {}: {} contract(s); verify gas {} ({} per proof), calldata {} bytes",
                a.verifier.as_ref().map(|d| d.display().to_string()).unwrap_or_default(),
                evm["contracts"],
                evm["verify_gas"],
                evm["gas_per_proof"],
                evm["calldata_bytes"]
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn not_aggregatable(found: ProofTranscript) -> String {
    format!("proven with the {found} transcript; re-prove it with `zkiris prove --aggregatable`")
}

/// Reports a refused input bundle (exit 1).
fn refused(a: &AggregateArgs, index: usize, reason: &str, detail: &str) -> Result<ExitCode> {
    let path = a.proofs.get(index).map(|p| p.display().to_string()).unwrap_or_default();
    if a.json {
        println!("{}", json!({"aggregated": false, "reason": reason, "proof": path, "index": index, "error": detail}));
    } else {
        println!("REFUSED {path} ({reason}): {detail}");
    }
    Ok(ExitCode::from(1))
}

/// `zkiris aggregate --batch N --verifier DIR` without proofs: the aggregation key for batches
/// of `n` proofs from the model alone, and its verifier written and compiled into `DIR`.
fn prepare_only(a: &AggregateArgs, model: std::sync::Arc<zkiris::model::Model>, n: usize) -> Result<ExitCode> {
    let Some(dir) = &a.verifier else { bail!("--batch without proofs writes the aggregation verifier: give --verifier DIR") };
    let started = Instant::now();
    let srs = a.setup.srs();
    let verifier = Verifier::new(model, &srs, Some(&a.setup.cache()))?;
    let name = verifier.model().manifest().name.clone();
    let model_id = verifier.model().id();
    let aggregator = Aggregator::new(verifier, &srs, Some(&a.setup.cache()), a.k)?;
    let progress = StepProgress::start("aggregation key");
    let key = aggregator.prepare(n, &progress, &CancellationToken::new());
    progress.finish();
    let key = key?;
    report("aggregation key", &format!("batches of {n} at k = {}", a.k), started);
    let compiled = write_verifier(&key, dir)?;
    let runtime: Vec<usize> = compiled.parts().iter().map(|p| p.runtime_code.len()).collect();
    if a.json {
        println!(
            "{}",
            json!({"model_id": hex32(&model_id), "batch": n, "k": a.k, "aggregation_vk": hex32(&key.fingerprint()),
                   "public_inputs": key.num_instances(), "verifier": dir.display().to_string(),
                   "contracts": runtime.len(), "runtime_bytes": runtime})
        );
    } else {
        println!(
            "aggregation verifier for batches of {n} proofs of {name} (k = {}, key {}, {} public inputs) in {}: {} contract(s), runtime {:?} bytes",
            a.k,
            hex32(&key.fingerprint()),
            key.num_instances(),
            dir.display(),
            runtime.len(),
            runtime
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes the aggregation verifier's Solidity (and its parts, when split) to `dir` and compiles
/// it with the pinned solc (the creation code of each part as `<name>.bin`).
fn write_verifier(key: &zkiris::prover::agg::AggregationKey, dir: &std::path::Path) -> Result<zkiris::evm::CompiledVerifier> {
    use zkiris::evm::Solc;
    let source = key.solidity_verifier()?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    std::fs::write(dir.join("AggregationVerifier.sol"), source.solidity()).with_context(|| format!("writing into {}", dir.display()))?;
    let solc = Solc::locate().context("compiling needs solc 0.8.19 (`npm ci --prefix contracts`)")?;
    let compiled = solc.compile_verifier(&source)?;
    let used = compiled.source().unwrap_or(&source);
    if compiled.is_split() {
        for part in used.split(compiled.parts().len())? {
            std::fs::write(dir.join(format!("{}.sol", part.contract)), &part.solidity)?;
        }
    }
    for part in compiled.parts() {
        std::fs::write(dir.join(format!("{}.bin", part.name)), hex::encode(&part.creation_code))?;
    }
    Ok(compiled)
}

/// Writes and compiles the aggregation verifier into `dir` ([`write_verifier`]), deploys it on
/// a local EVM with EIP-170 enforced and calls it with the aggregated proof.
fn deploy_and_measure(aggregation: &Aggregation, dir: &std::path::Path) -> Result<serde_json::Value> {
    use zkiris::evm::{calldata_gas, LocalEvm};
    let started = Instant::now();
    let compiled = write_verifier(&aggregation.key, dir)?;
    let mut evm = LocalEvm::new();
    let from = [0x11; 20];
    let address = compiled.deploy_with(|code| evm.deploy(from, code).map(|d| d.address))?;
    let calldata = aggregation.proof.verifier_calldata()?;
    let out = evm.call(from, address, calldata.clone())?;
    if !out.success {
        bail!("the aggregation verifier rejected the aggregated proof on the local EVM ({:?}); please report this bug", out.halt);
    }
    let n = aggregation.proof.len().max(1) as u64;
    report("aggregation verifier", &format!("{} contract(s), verify gas {}", compiled.parts().len(), out.gas_used), started);
    Ok(json!({"contracts": compiled.parts().len(), "runtime_bytes": compiled.parts().iter().map(|p| p.runtime_code.len()).collect::<Vec<_>>(),
              "verify_gas": out.gas_used, "gas_per_proof": out.gas_used / n, "calldata_bytes": calldata.len(), "calldata_gas": calldata_gas(&calldata)}))
}
