//! `zkiris commit`, `zkiris prove` and `zkiris verify`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use serde_json::json;
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::Model;
use zkiris::mpc::{KeyKind, PartyKeyError, PartyPublicKey};
use zkiris::prover::default_cache_dir;
use zkiris::prover::{Attestation, CancellationToken, ProofBundle, ProofTranscript, ProveError, ProveOptions, ProvingSetup, SrsSource, Verifier, VerifyError};
use zkiris::public::{parse_address, Binding, Submission};

use crate::common::{hex32, manifest_path, read_file, TrustArgs};
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
        report(label, &format!("{name}: k={} {:?}, vk {}", setup.srs().k(), setup.key_source(), hex::encode(&setup.vk_fingerprint()[..6])), started);
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
    #[command(flatten)]
    statement: StatementArgs,
    /// Where to write the proof bundle.
    #[arg(long, default_value = "proof.zkp")]
    out: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Who may submit a proof (the binding) and, for mpc-shares models, who receives the shares.
#[derive(Args, Clone, Debug, Default)]
pub struct StatementArgs {
    /// An MPC party's public key file (`zkiris party keygen` writes `<key>.pub`). Required by
    /// models that submit MPC shares, refused by public-code models: give it exactly three
    /// times, for parties 1, 2 and 3 in that order. Each party's share is encrypted to its key
    /// inside the bundle.
    #[arg(long = "party-key", value_name = "FILE.pub")]
    pub party_keys: Vec<PathBuf>,
    /// Binding: the EIP-155 chain id of the registry the proof will be submitted to (with
    /// `--registry` and `--account`). Without the three the proof is unbound (binding 0): it
    /// verifies natively, but every registry refuses it.
    #[arg(long, value_name = "N", requires_all = ["registry", "account"])]
    pub chain_id: Option<u64>,
    /// Binding: the registry contract's address (`0x` and 40 hex digits).
    #[arg(long, value_name = "0xADDRESS", requires_all = ["chain_id", "account"])]
    pub registry: Option<String>,
    /// Binding: the account that will submit the proof (`0x` and 40 hex digits); the registry
    /// refuses the proof from any other sender.
    #[arg(long, value_name = "0xADDRESS", requires_all = ["chain_id", "registry"])]
    pub account: Option<String>,
    /// Prove with the Poseidon transcript, for a relayer to fold into one on-chain proof with
    /// `zkiris aggregate`. Such a bundle verifies natively (`zkiris verify`) but not in the
    /// model's own Solidity verifier.
    #[arg(long)]
    pub aggregatable: bool,
}

impl StatementArgs {
    /// The binding, if `--chain-id`, `--registry` and `--account` were given.
    pub fn binding(&self) -> Result<Option<Binding>> {
        match (self.chain_id, &self.registry, &self.account) {
            (None, None, None) => Ok(None),
            (Some(chain_id), Some(registry), Some(account)) => Ok(Some(Binding {
                chain_id,
                registry: parse_address(registry).map_err(|e| anyhow!("--registry: {e}"))?,
                account: parse_address(account).map_err(|e| anyhow!("--account: {e}"))?,
            })),
            _ => bail!("give --chain-id, --registry and --account together (or none of them for an unbound proof)"),
        }
    }

    /// The proof transcript `--aggregatable` asks for.
    pub fn transcript(&self) -> ProofTranscript {
        if self.aggregatable {
            ProofTranscript::Poseidon
        } else {
            ProofTranscript::Evm
        }
    }

    /// The proving options for `model`: the binding and the party keys, checked against the
    /// model's submission mode before any proving work.
    pub fn options(&self, model: &Model) -> Result<ProveOptions> {
        Ok(ProveOptions { binding: self.binding()?, party_keys: party_keys(model, &self.party_keys)?, transcript: self.transcript() })
    }
}

/// Reads the `--party-key` files for `model`: none for a public-code model, exactly three
/// distinct public keys (parties 1, 2, 3) for an mpc-shares model.
pub fn party_keys(model: &Model, paths: &[PathBuf]) -> Result<Option<[PartyPublicKey; 3]>> {
    let name = &model.manifest().name;
    match (model.manifest().rules.submission, paths.len()) {
        (Submission::PublicCode, 0) => Ok(None),
        (Submission::PublicCode, _) => {
            bail!("model {name} submits a public code (its proof has no shares to encrypt); --party-key applies to mpc-shares models only")
        }
        (Submission::MpcShares, 0) => bail!(
            "model {name} submits MPC shares: give the three parties' public keys in party order, --party-key P1.pub --party-key P2.pub --party-key P3.pub"
        ),
        (Submission::MpcShares, 3) => {
            let mut keys = Vec::with_capacity(3);
            for (i, path) in paths.iter().enumerate() {
                let bytes = read_file(path, &format!("party {}'s public key", i + 1))?;
                let key = match PartyPublicKey::from_bytes(&bytes) {
                    Ok(k) => k,
                    Err(PartyKeyError::WrongKind { found: KeyKind::Secret, .. }) => bail!(
                        "--party-key {} (party {}) is an MPC party SECRET key; give the party's public key file (`{}.pub`, written by `zkiris party keygen`) — a secret key never belongs with a prover",
                        path.display(),
                        i + 1,
                        path.display()
                    ),
                    Err(e) => return Err(e).with_context(|| format!("--party-key {} (party {})", path.display(), i + 1)),
                };
                if let Some(j) = keys.iter().position(|k: &PartyPublicKey| *k == key) {
                    bail!(
                        "parties {} and {} were given the same public key ({}): its holder could combine two shares and recover the iris code; give each party its own key",
                        j + 1,
                        i + 1,
                        path.display()
                    );
                }
                keys.push(key);
            }
            let keys: [PartyPublicKey; 3] = keys.try_into().map_err(|_| anyhow!("expected three party keys"))?;
            Ok(Some(keys))
        }
        (Submission::MpcShares, n) => {
            bail!("model {name} submits MPC shares to three parties: give exactly three --party-key files (parties 1, 2, 3 in order), not {n}")
        }
    }
}

/// Proves `image`/`mask`/`salt` with a progress bar and prints one line.
pub fn prove_with(
    label: &str,
    setup: &ProvingSetup,
    image: &IrisImage,
    mask: &IrisMask,
    salt: &Salt,
    attestation: Option<Attestation>,
    options: &ProveOptions,
) -> Result<ProofBundle, ProveError> {
    let started = Instant::now();
    let progress = StepProgress::start(label);
    let bundle = setup.prove(image, mask, salt, attestation, options, &progress, &CancellationToken::new())?;
    progress.finish();
    let what = match bundle.valid_bits {
        Some(v) => format!("{v} valid bits"),
        None => "3 share envelopes, no code".to_string(),
    };
    report(
        label,
        &format!(
            "{what}{}, proof {}",
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
    // Check the statement options and load the secrets first: a wrong key file, a wrong
    // passphrase or a bad file fails before minutes of keygen.
    let options = a.statement.options(&model)?;
    if options.binding.is_none() {
        eprintln!("warning: no --chain-id/--registry/--account: the proof is unbound (binding 0); it verifies natively, but every registry refuses it");
    }
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
    let bundle = prove_with("prove", &setup, &image, &mask, &salt, attestation, &options)?;
    write_bundle(&a.out, &bundle)?;
    let shares = bundle.share_commitments();
    if a.json {
        println!(
            "{}",
            json!({
                "proof": a.out.display().to_string(),
                "model_id": bundle.model_id_hex(),
                "commitment": bundle.commitment().map(hex::encode),
                "submission": bundle.submission.as_str(),
                "binding": bundle.binding().map(|b| hex32(&b)),
                "valid_bits": bundle.valid_bits,
                "share_commitments": shares.map(|s| s.map(|x| hex32(&x))),
                "envelopes": bundle.envelopes.len(),
                "proof_bytes": bundle.proof.len(),
                "bundle_bytes": bundle.to_bytes().len(),
                "transcript": bundle.transcript.name(),
            })
        );
    } else {
        println!("wrote {} ({})", a.out.display(), bytes(bundle.to_bytes().len()));
        if bundle.transcript == ProofTranscript::Poseidon {
            println!("Poseidon transcript: for a relayer's `zkiris aggregate` (the model's own Solidity verifier does not accept it)");
        }
        if let Some(s) = shares {
            for (p, x) in s.iter().enumerate() {
                println!("S_{} {} (party {}'s share, encrypted to its key in the bundle)", p + 1, hex32(x), p + 1);
            }
        }
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

/// The machine-readable reason of a failed verification (`--json` outputs).
pub fn verify_failure_reason(e: &VerifyError) -> &'static str {
    match e {
        VerifyError::Malformed(_) => "malformed",
        VerifyError::WrongModel { .. } => "wrong_model",
        VerifyError::WrongSrs { .. } => "wrong_srs",
        VerifyError::WrongVerifyingKey { .. } => "wrong_verifying_key",
        VerifyError::Invalid(_) => "invalid",
        VerifyError::TranscriptUnavailable(_) => "unsupported_transcript",
        _ => "invalid",
    }
}

/// The checks of [`Verifier::verify`] that need no verifying key, made before deriving one
/// (seconds to minutes): a bundle for another model is refused at once.
pub fn precheck(bundle: &ProofBundle, model: &Model) -> Result<(), VerifyError> {
    if bundle.model_id != model.id() {
        return Err(VerifyError::WrongModel { found: bundle.model_id_hex(), expected: model.id_hex() });
    }
    Ok(())
}

/// Runs `zkiris verify`. Exit codes: 0 valid, 1 invalid (tampered, wrong model or key), 2 error.
pub fn verify(a: VerifyArgs) -> Result<ExitCode> {
    let path = a.proof.as_ref().or(a.proof_arg.as_ref()).context("give the proof bundle with --proof FILE")?;
    let bundle = read_bundle(path)?;
    let model = a.setup.model()?;
    let (outcome, ms) = match precheck(&bundle, &model) {
        Err(e) => (Err(e), 0.0),
        Ok(()) => {
            let verifier = Verifier::new(model, &a.setup.srs(), Some(&a.setup.cache()))?;
            let started = Instant::now();
            let outcome = verifier.verify(&bundle);
            (outcome, started.elapsed().as_secs_f64() * 1e3)
        }
    };
    match outcome {
        Ok(s) => {
            let binding = hex32(&s.binding);
            let bound = if s.binding == [0u8; 32] { " (unbound: no registry accepts it)" } else { "" };
            match &s.share_commitments {
                Some(shares) => {
                    // mpc-shares: the codes never leave the phone; S_1..S_3 and the envelopes do.
                    let shares: Vec<String> = shares.iter().map(hex32).collect();
                    if a.json {
                        println!(
                            "{}",
                            json!({"valid": true, "model_id": hex::encode(s.model_id), "commitment": s.commitment.to_string(),
                                   "submission": s.submission.as_str(), "share_commitments": shares, "envelopes": bundle.envelopes.len(),
                                   "binding": binding, "transcript": bundle.transcript.name(), "verify_ms": ms})
                        );
                    } else {
                        println!("valid: model {} commitment {} in {ms:.1} ms", hex::encode(s.model_id), s.commitment);
                        println!("submission mpc-shares: no code is public; {} share envelopes", bundle.envelopes.len());
                        for (p, x) in shares.iter().enumerate() {
                            println!("S_{} {x}", p + 1);
                        }
                        println!("binding {binding}{bound}");
                    }
                }
                None => {
                    if a.json {
                        // Codes as in open-iris templates (base64 of the packed bits) when the model
                        // has the shipped 4 × 16 × 256 shape, else hex of the serialized code.
                        let (iris_codes, mask_codes) = match &s.template {
                            Some(t) => (t.iris_codes.clone(), t.mask_codes.clone()),
                            None => (hex::encode(&s.iris_code), hex::encode(&s.mask_code)),
                        };
                        println!(
                            "{}",
                            json!({"valid": true, "model_id": hex::encode(s.model_id), "commitment": s.commitment.to_string(),
                                   "submission": s.submission.as_str(),
                                   "iris_codes": iris_codes, "mask_codes": mask_codes, "code_encoding": if s.template.is_some() { "base64" } else { "hex" },
                                   "valid_bits": s.valid_bits, "binding": binding, "transcript": bundle.transcript.name(), "verify_ms": ms})
                        );
                    } else {
                        let valid_bits = s.valid_bits.map_or_else(|| "?".to_string(), |v| v.to_string());
                        println!("valid: model {} commitment {} ({valid_bits} valid bits) in {ms:.1} ms", hex::encode(s.model_id), s.commitment);
                        println!("submission public-code; binding {binding}{bound}");
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let kind = verify_failure_reason(&e);
            if a.json {
                println!("{}", json!({"valid": false, "reason": kind, "error": e.to_string(), "model_id": bundle.model_id_hex()}));
            } else {
                println!("INVALID ({kind}): {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}
