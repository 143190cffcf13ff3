//! `zkiris export-verifier` and `zkiris calldata`: what a contract developer needs.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use serde_json::json;
use zkiris::evm::calldata::registry_layout;
use zkiris::evm::Solc;
use zkiris::evm::VerifierSource;
use zkiris::prover::agg::AggregatedProof;
use zkiris::prover::{BundleError, ProofBundle, ProofTranscript, Verifier};
use zkiris::public::{parse_address, Binding};

use crate::progress::{bytes, report};
use crate::prove_cmd::{read_bundle, SetupArgs};

/// Arguments of `zkiris export-verifier`.
#[derive(Args)]
pub struct ExportArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// Output directory for the Solidity sources, bytecode and `verifier.json`.
    #[arg(long, visible_alias = "out-dir", value_name = "DIR", default_value = "verifier")]
    out: PathBuf,
    /// Only write the Solidity source; do not compile (no solc needed).
    #[arg(long)]
    no_compile: bool,
}

/// Runs `zkiris export-verifier`.
pub fn export_verifier(a: ExportArgs) -> Result<ExitCode> {
    let model = a.setup.model()?;
    let started = Instant::now();
    let verifier = Verifier::new(model.clone(), &a.setup.srs(), Some(&a.setup.cache()))?;
    // The bare verifier takes the model's own public inputs; the registry only models with
    // 2048-byte codes (layout v2: 138 inputs for public-code, 7 for mpc-shares).
    let instances = zkiris::circuit::StatementPlan::new(&model)?.instances;
    let submission = model.manifest().rules.submission;
    let source = VerifierSource::render(verifier.params(), verifier.verifying_key(), instances).context("rendering the verifier")?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let sol = a.out.join("Halo2Verifier.sol");
    std::fs::write(&sol, source.solidity()).with_context(|| format!("writing {}", sol.display()))?;
    let (mem_generated, mem_compacted) = source.memory_bytes();
    report(
        "render verifier",
        &format!(
            "{} ({} of Solidity; {} stores forwarded, memory {} -> {})",
            sol.display(),
            bytes(source.solidity().len()),
            source.forwarded_stores(),
            bytes(mem_generated),
            bytes(mem_compacted)
        ),
        started,
    );
    let mut parts_json = Vec::new();
    if !a.no_compile {
        let started = Instant::now();
        let solc = Solc::locate().context("compiling needs solc 0.8.19 (`npm ci --prefix contracts`, or --no-compile)")?;
        let compiled = solc.compile_verifier(&source)?;
        let n = compiled.parts().len();
        let used = compiled.source().unwrap_or(&source);
        if used.forwarded_stores() != source.forwarded_stores() {
            eprintln!("note: solc ran out of stack on the forwarded verifier; compiled it without store forwarding");
            std::fs::write(&sol, used.solidity()).with_context(|| format!("writing {}", sol.display()))?;
        }
        if compiled.is_split() {
            for part in used.split(n)? {
                std::fs::write(a.out.join(format!("{}.sol", part.contract)), &part.solidity)?;
            }
        }
        for (i, part) in compiled.parts().iter().enumerate() {
            let file = a.out.join(format!("{}.bin", part.name));
            std::fs::write(&file, hex::encode(&part.creation_code))?;
            parts_json.push(json!({"index": i + 1, "contract": part.name, "runtime_bytes": part.runtime_code.len(),
                                   "creation_bytecode": file.file_name().map(|f| f.to_string_lossy().into_owned())}));
        }
        report(
            "compile verifier",
            &format!(
                "{n} contract(s), largest runtime {} (EIP-170 limit 24 KiB)",
                bytes(compiled.parts().iter().map(|p| p.runtime_code.len()).max().unwrap_or(0))
            ),
            started,
        );
    }
    let manifest = json!({
        "model": model.manifest().name, "version": model.manifest().version, "model_id": model.id_hex(),
        "vk_fingerprint": hex::encode(zkiris::prover::vk_fingerprint(verifier.verifying_key())),
        "num_instances": instances, "submission": submission.as_str(), "registry_layout_v2": instances == registry_layout(submission).len(), "proof_bytes": source.proof_len(), "calldata_bytes": source.calldata_len(),
        "deploy_order": "parts are deployed last to first; each part's constructor takes the next part's address",
        "parts": parts_json,
    });
    std::fs::write(a.out.join("verifier.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    println!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

/// Which call to encode.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum CallKind {
    /// The bare verifier: instances then proof.
    Verifier,
    /// `IrisCodeRegistry.register(modelId, proof, publicInputs, deviceSignature)`.
    Register,
    /// `IrisCodeRegistry.upgrade(newModelId, proof, publicInputs)`.
    Upgrade,
    /// `IrisCodeRegistry.registerBatch(modelId, proof, instances, accounts, deviceSignatures)`:
    /// PROOF is an aggregated proof (`.zka`); give the aggregated bundles (`--bundle`, in
    /// order) and each one's account (`--account`), with `--chain-id` and `--registry`.
    RegisterBatch,
    /// `IrisCodeRegistry.upgradeBatch(newModelId, proof, instances, accounts)`: PROOF is an
    /// aggregated proof (`.zka`) of proofs under the newer model; `--bundle`, `--account`,
    /// `--chain-id` and `--registry` as for `register-batch` (no device signature needed).
    UpgradeBatch,
}

/// Arguments of `zkiris calldata`.
#[derive(Args)]
pub struct CalldataArgs {
    /// The proof bundle (or `--proof FILE`).
    #[arg(value_name = "PROOF", required_unless_present = "proof_flag")]
    proof: Option<PathBuf>,
    /// The proof bundle.
    #[arg(long = "proof", value_name = "PROOF", conflicts_with = "proof")]
    proof_flag: Option<PathBuf>,
    /// Which call.
    #[arg(long = "for", value_enum, default_value = "register")]
    call: CallKind,
    /// `register-batch`, `upgrade-batch`: an aggregated bundle, in aggregation order (repeat once
    /// per statement); for `register-batch` it gives the statement's enrollment device signature.
    #[arg(long = "bundle", value_name = "PROOF")]
    bundles: Vec<PathBuf>,
    /// `register-batch`, `upgrade-batch`: the account statement i is bound to (repeat once per statement, in
    /// order; `0x` and 40 hex digits).
    #[arg(long = "account", value_name = "0xADDRESS")]
    accounts: Vec<String>,
    /// `register-batch`, `upgrade-batch`: the chain id the statements are bound to.
    #[arg(long, value_name = "N")]
    chain_id: Option<u64>,
    /// `register-batch`, `upgrade-batch`: the registry the statements are bound to.
    #[arg(long, value_name = "0xADDRESS")]
    registry: Option<String>,
}

/// Runs `zkiris calldata`: prints `0x…` calldata for the chosen call.
pub fn calldata(a: CalldataArgs) -> Result<ExitCode> {
    let path = a.proof.or(a.proof_flag).context("no proof bundle given")?;
    let batch_args = !a.bundles.is_empty() || !a.accounts.is_empty() || a.chain_id.is_some() || a.registry.is_some();
    let single = |call: fn(&ProofBundle) -> Result<Vec<u8>>| -> Result<ExitCode> {
        if batch_args {
            bail!("--bundle, --account, --chain-id and --registry are for --for register-batch and --for upgrade-batch");
        }
        let bundle = read_bundle(&path)?;
        // First what no calldata can come from (an aggregatable proof), then the layout.
        if bundle.transcript == ProofTranscript::Poseidon {
            return Err(BundleError::NotForTheVerifierContract.into());
        }
        let expected = registry_layout(bundle.submission).len();
        if bundle.public_inputs.len() != expected {
            bail!("the bundle has {} public inputs; the registry's {} layout (v2) has {expected}", bundle.public_inputs.len(), bundle.submission);
        }
        println!("0x{}", hex::encode(call(&bundle)?));
        Ok(ExitCode::SUCCESS)
    };
    match a.call {
        CallKind::Verifier => single(|b| Ok(b.verifier_calldata()?)),
        CallKind::Register => {
            single(|b| b.register_calldata()?.context("register needs the enrollment device's signature; this bundle has none (prove from a vault record)"))
        }
        CallKind::Upgrade => single(|b| Ok(b.upgrade_calldata()?)),
        CallKind::RegisterBatch | CallKind::UpgradeBatch => batch(a.call, &path, &a.bundles, &a.accounts, a.chain_id, a.registry.as_deref()),
    }
}

/// `zkiris calldata X.zka --for register-batch` (or `upgrade-batch`): checks each bundle
/// against its statement and binding ([`AggregatedProof::register_batch_calldata`],
/// [`AggregatedProof::upgrade_batch_calldata`]) and prints the calldata.
fn batch(kind: CallKind, path: &std::path::Path, bundles: &[PathBuf], accounts: &[String], chain_id: Option<u64>, registry: Option<&str>) -> Result<ExitCode> {
    let name = if matches!(kind, CallKind::UpgradeBatch) { "upgrade-batch" } else { "register-batch" };
    let (Some(chain_id), Some(registry)) = (chain_id, registry) else {
        bail!("--for {name} needs --chain-id and --registry (the registry the statements are bound to)");
    };
    let registry = parse_address(registry).map_err(|e| anyhow::anyhow!("--registry: {e}"))?;
    let bytes = crate::common::read_file(path, "aggregated proof")?;
    let aggregated =
        AggregatedProof::from_bytes(&bytes).with_context(|| format!("{} is not an aggregated proof (zkiris aggregate writes one)", path.display()))?;
    let bundles = bundles.iter().map(|p| read_bundle(p)).collect::<Result<Vec<_>>>()?;
    let bindings = accounts
        .iter()
        .map(|a| parse_address(a).map(|account| Binding { chain_id, registry, account }).map_err(|e| anyhow::anyhow!("--account: {e}")))
        .collect::<Result<Vec<_>>>()?;
    let data = match kind {
        CallKind::UpgradeBatch => aggregated.upgrade_batch_calldata(&bundles, &bindings)?,
        _ => aggregated.register_batch_calldata(&bundles, &bindings)?,
    };
    println!("0x{}", hex::encode(data));
    Ok(ExitCode::SUCCESS)
}
