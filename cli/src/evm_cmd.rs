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
use zkiris::prover::Verifier;

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
}

/// Runs `zkiris calldata`: prints `0x…` calldata for the chosen call.
pub fn calldata(a: CalldataArgs) -> Result<ExitCode> {
    let path = a.proof.or(a.proof_flag).context("no proof bundle given")?;
    let bundle = read_bundle(&path)?;
    let expected = registry_layout(bundle.submission).len();
    if bundle.public_inputs.len() != expected {
        bail!("the bundle has {} public inputs; the registry's {} layout (v2) has {expected}", bundle.public_inputs.len(), bundle.submission);
    }
    let data = match a.call {
        CallKind::Verifier => bundle.verifier_calldata()?,
        CallKind::Register => {
            bundle.register_calldata()?.context("register needs the enrollment device's signature; this bundle has none (prove from a vault record)")?
        }
        CallKind::Upgrade => bundle.upgrade_calldata()?,
    };
    println!("0x{}", hex::encode(data));
    Ok(ExitCode::SUCCESS)
}
