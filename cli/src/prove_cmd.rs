//! `zkiris commit`, `zkiris prove` and `zkiris verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde_json::json;
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::Model;
use zkiris::prover::srs::default_cache_dir;
use zkiris::prover::{
    Attestation, CancellationToken, ProofBundle, ProveError, ProvingSetup, SrsSource, Verifier,
    VerifyError,
};

use crate::common::{manifest_path, TrustArgs};
use crate::progress::{bytes, report, StepProgress};

/// Model, trust, SRS and cache options shared by `prove`, `verify` and the EVM commands.
#[derive(Args, Clone, Debug)]
pub struct SetupArgs {
    /// Model: a manifest path or a bundled model name (`world-v3`, `world-v3.1`, `openiris-1.11`).
    #[arg(long, default_value = "world-v3")]
    pub model: String,
    /// SRS file (halo2 `ParamsKZG`, processed format, from a ceremony). Without it the
    /// deterministic, INSECURE development SRS is used.
    #[arg(long, value_name = "FILE")]
    pub srs: Option<PathBuf>,
    /// Cache directory for the SRS and proving keys (default: `$ZKIRIS_CACHE` or ~/.cache/zkiris).
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub trust: TrustArgs,
}

impl SetupArgs {
    /// Loads and checks the model.
    pub fn model(&self) -> Result<Arc<Model>> {
        let keys = self.trust.keys()?;
        let path = manifest_path(&self.model);
        Ok(Arc::new(Model::load(&path, &keys).with_context(|| format!("loading model {}", path.display()))?))
    }

    /// The SRS source, warning about the development SRS.
    pub fn srs(&self) -> SrsSource {
        match &self.srs {
            Some(p) => SrsSource::File(p.clone()),
            None => {
                eprintln!("warning: using the INSECURE development SRS (its toxic waste is public); pass --srs for real proofs");
                SrsSource::Development
            }
        }
    }

    /// The cache directory.
    pub fn cache(&self) -> PathBuf {
        self.cache.clone().unwrap_or_else(default_cache_dir)
    }

    /// Plans the circuit and loads (or generates and caches) the proving key, with progress.
    pub fn prepare(&self, label: &str, model: Arc<Model>) -> Result<ProvingSetup> {
        let started = Instant::now();
        let name = format!("{} {}", model.manifest().name, model.manifest().version);
        let srs = self.srs();
        let progress = StepProgress::start(label);
        let setup = ProvingSetup::prepare(model, &srs, Some(&self.cache()), &progress, &CancellationToken::new())?;
        progress.finish();
        report(
            label,
            &format!("{name}: k={} {:?}, vk {}", setup.srs().k(), setup.key_source(), hex::encode(&setup.vk_fingerprint()[..6])),
            started,
        );
        Ok(setup)
    }
}

/// Arguments of `zkiris commit`.
#[derive(Args)]
pub struct CommitArgs {
    /// 8-bit grayscale PNG of the normalized iris.
    #[arg(long)]
    image: PathBuf,
    /// Mask PNG (nonzero = valid).
    #[arg(long)]
    mask: PathBuf,
    /// Salt as 64 hex digits (default: a fresh random salt, printed).
    #[arg(long, value_name = "HEX")]
    salt: Option<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `zkiris commit`: the Poseidon commitment an enrollment device signs.
pub fn commit_cmd(a: CommitArgs) -> Result<ExitCode> {
    let image = IrisImage::read_png(&a.image)?;
    let mask = IrisMask::read_png(&a.mask)?;
    mask.check_matches(&image)?;
    let salt = match &a.salt {
        Some(h) => Salt::from_hex(h).context("--salt")?,
        None => Salt::random(),
    };
    let c = commit(&image, &mask, &salt)?;
    let salt_hex = hex::encode(salt.as_bytes());
    if a.json {
        println!("{}", json!({"commitment": c.to_string(), "salt": salt_hex, "height": image.height(), "width": image.width()}));
    } else {
        println!("commitment {c}");
        println!("salt       {salt_hex} (secret: keep it with the image)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `zkiris prove`.
#[derive(Args)]
pub struct ProveArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// Prove from a vault record (with `--record`); the passphrase comes from
    /// `ZKIRIS_VAULT_PASSPHRASE` or the terminal.
    #[arg(long, value_name = "DIR", requires = "record", conflicts_with_all = ["image", "mask", "salt"])]
    vault: Option<PathBuf>,
    /// Record id in the vault (as printed by `zkiris vault list`).
    #[arg(long, requires = "vault")]
    record: Option<String>,
    /// Normalized iris PNG (instead of a vault record).
    #[arg(long, requires_all = ["mask", "salt"])]
    image: Option<PathBuf>,
    /// Mask PNG.
    #[arg(long)]
    mask: Option<PathBuf>,
    /// Commitment salt, 64 hex digits.
    #[arg(long, value_name = "HEX")]
    salt: Option<String>,
    /// Where to write the proof bundle.
    #[arg(long, default_value = "proof.zkp")]
    out: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Proves `image`/`mask`/`salt` with a progress bar and prints one line.
pub fn prove_with(
    label: &str,
    setup: &ProvingSetup,
    image: &IrisImage,
    mask: &IrisMask,
    salt: &Salt,
    attestation: Option<Attestation>,
) -> Result<ProofBundle, ProveError> {
    let started = Instant::now();
    let progress = StepProgress::start(label);
    let bundle = setup.prove(image, mask, salt, attestation, &progress, &CancellationToken::new())?;
    progress.finish();
    report(
        label,
        &format!(
            "{} valid bits{}, proof {}",
            bundle.valid_bits,
            // The score stays private; the proof shows it is at least the public τ.
            if setup.model().manifest().rules.liveness.is_some() { ", liveness ≥ τ" } else { "" },
            bytes(bundle.proof.len())
        ),
        started,
    );
    Ok(bundle)
}

/// Writes a bundle atomically (temporary file, then rename).
pub fn write_bundle(path: &Path, bundle: &ProofBundle) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.tmp", path.file_name().and_then(|n| n.to_str()).unwrap_or("proof")));
    let written = (|| -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bundle.to_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // Leave nothing half-written behind.
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(())
}

/// Reads a bundle file.
pub fn read_bundle(path: &Path) -> Result<ProofBundle> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    ProofBundle::from_bytes(&bytes).with_context(|| format!("reading {}", path.display()))
}

/// Runs `zkiris prove`.
pub fn prove(a: ProveArgs) -> Result<ExitCode> {
    if a.json {
        crate::progress::reports_to_stderr();
    }
    let model = a.setup.model()?;
    // Load the secrets first: a wrong passphrase or a bad file fails before minutes of keygen.
    let (image, mask, salt, attestation) = match (&a.vault, &a.record, &a.image, &a.mask, &a.salt) {
        (Some(dir), Some(record), None, None, None) => {
            let vault = crate::vault_cmd::open(dir)?;
            let id = record.parse().context("--record")?;
            let r = vault.get(&id)?;
            let att = Attestation { device: r.device(), signature: *r.signature() };
            (r.image().clone(), r.mask().clone(), r.salt().clone(), Some(att))
        }
        (None, None, Some(i), Some(m), Some(s)) => {
            let image = IrisImage::read_png(i)?;
            let mask = IrisMask::read_png(m)?;
            mask.check_matches(&image)?;
            (image, mask, Salt::from_hex(s).context("--salt")?, None)
        }
        _ => bail!("give either --vault DIR --record ID, or --image, --mask and --salt"),
    };
    let setup = a.setup.prepare("proving key", model)?;
    let bundle = prove_with("prove", &setup, &image, &mask, &salt, attestation)?;
    write_bundle(&a.out, &bundle)?;
    if a.json {
        println!(
            "{}",
            json!({
                "proof": a.out.display().to_string(),
                "model_id": bundle.model_id_hex(),
                "commitment": bundle.commitment().map(hex::encode),
                "valid_bits": bundle.valid_bits,
                "proof_bytes": bundle.proof.len(),
                "bundle_bytes": bundle.to_bytes().len(),
            })
        );
    } else {
        println!("wrote {} ({})", a.out.display(), bytes(bundle.to_bytes().len()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `zkiris verify`.
#[derive(Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// The proof bundle (`--proof FILE`, or as the last argument).
    #[arg(long = "proof", value_name = "FILE", required_unless_present = "proof_arg", conflicts_with = "proof_arg")]
    proof: Option<PathBuf>,
    #[arg(value_name = "PROOF", hide = true)]
    proof_arg: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `zkiris verify`. Exit codes: 0 valid, 1 invalid (tampered, wrong model or key), 2 error.
pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let path = a.proof.as_ref().or(a.proof_arg.as_ref()).context("give the proof bundle with --proof FILE")?;
    let bundle = read_bundle(path)?;
    let model = a.setup.model()?;
    let verifier = Verifier::new(model, &a.setup.srs(), Some(&a.setup.cache()))?;
    let started = Instant::now();
    let outcome = verifier.verify(&bundle);
    let ms = started.elapsed().as_secs_f64() * 1e3;
    match outcome {
        Ok(s) => {
            if a.json {
                // Codes as in open-iris templates (base64 of the packed bits) when the model has the
                // shipped 4 × 16 × 256 shape, else hex of the serialized code.
                let (iris_codes, mask_codes) = match &s.template {
                    Some(t) => (t.iris_codes.clone(), t.mask_codes.clone()),
                    None => (hex::encode(&s.iris_code), hex::encode(&s.mask_code)),
                };
                println!(
                    "{}",
                    json!({"valid": true, "model_id": hex::encode(s.model_id), "commitment": s.commitment.to_string(),
                           "iris_codes": iris_codes, "mask_codes": mask_codes, "code_encoding": if s.template.is_some() { "base64" } else { "hex" },
                           "valid_bits": s.valid_bits, "verify_ms": ms})
                );
            } else {
                println!("valid: model {} commitment {} ({} valid bits) in {ms:.1} ms", hex::encode(s.model_id), s.commitment, s.valid_bits);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let kind = match &e {
                VerifyError::Malformed(_) => "malformed",
                VerifyError::WrongModel { .. } => "wrong_model",
                VerifyError::WrongSrs { .. } => "wrong_srs",
                VerifyError::WrongVerifyingKey { .. } => "wrong_verifying_key",
                VerifyError::Invalid(_) => "invalid",
                _ => "invalid",
            };
            if a.json {
                println!("{}", json!({"valid": false, "reason": kind, "error": e.to_string(), "model_id": bundle.model_id_hex()}));
            } else {
                println!("INVALID ({kind}): {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
