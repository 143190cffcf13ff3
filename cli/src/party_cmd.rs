//! `zkiris party keygen|open|combine`: the MPC parties' side of private code submission.
//!
//! A model whose manifest says `submission: mpc-shares` never makes the iris code public: the
//! proof shows that three 2-of-3 Shamir shares of the masked code were derived from it, the
//! public inputs carry only `S_1, S_2, S_3` (Poseidon commitments to the shares), and the
//! bundle carries each share encrypted to its party's key. Each party
//!
//! 1. makes a key pair once (`party keygen`) and publishes the `.pub` file;
//! 2. opens its share of each proof (`party open`): the proof is verified first, then the
//!    party's envelope is decrypted against the proof's statement and checked against `S_p`;
//! 3. (for tests and audits only: in production no single place holds two shares) any two
//!    shares give back the code (`party combine`).
//!
//! Exit codes of `open` and `combine`: 0 done, 1 refused (the proof is invalid, the envelope
//! does not open with this key for this party, the share does not match `S_p`, the share files
//! do not belong together), 2 error (unreadable or malformed files, bad arguments). On any
//! failure no output file is written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, Context};
use clap::{Args, Subcommand};
use serde_json::json;
use zeroize::{Zeroize, Zeroizing};
use zkiris::iriscode::{CodeBits, IrisCode, IrisTemplate};
use zkiris::model::manifest::{Manifest, ModelRules};
use zkiris::model::VerifiedModelFiles;
use zkiris::mpc::{combine, EnvelopeError, Party, PartySecretKey, ShareEnvelope, ShareFile, ShareFileError, StatementId};
use zkiris::prover::{ProofBundle, Verifier};
use zkiris::public::{fr_to_be, PublicInputs, PublicLayout, Submission};

use crate::common::{check_writable, hex32, manifest_path, models_dir, read_file, write_atomically, Overwrite, TrustArgs};
use crate::prove_cmd::{precheck, verify_failure_reason, SetupArgs};

/// MPC party subcommands.
#[derive(Subcommand)]
pub enum PartyCommand {
    /// Generate an MPC party key pair: the secret key to `--out` (mode 0600), the public key to
    /// `<out>.pub` (give it to provers: `zkiris prove --party-key`).
    Keygen(KeygenArgs),
    /// Verify a proof, then decrypt this party's share from it into a share file.
    /// Exit status 0 opened, 1 refused (invalid proof, wrong key or party, tampered envelope,
    /// share not matching S_p), 2 error. Nothing is written on failure.
    Open(OpenArgs),
    /// Combine two parties' share files of one proof back into the iris and mask codes, as a
    /// template (`zkiris match` reads it). Exit status 0 combined, 1 the shares do not belong
    /// together, 2 error. Nothing is written on failure.
    Combine(CombineArgs),
}

/// Arguments of `zkiris party keygen`.
#[derive(Args)]
pub struct KeygenArgs {
    /// Secret key file to write (mode 0600); the public key goes to `<out>.pub`.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace existing key files.
    #[arg(long)]
    force: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `zkiris party open`.
#[derive(Args)]
pub struct OpenArgs {
    #[command(flatten)]
    setup: SetupArgs,
    /// The party you are: 1, 2 or 3.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=3))]
    party: u8,
    /// Your secret key file (`zkiris party keygen --out`).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The proof bundle.
    #[arg(long, value_name = "FILE")]
    proof: PathBuf,
    /// The share file to write (mode 0600).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace an existing share file.
    #[arg(long)]
    force: bool,
    /// Print JSON (also on failure, with a `reason`).
    #[arg(long)]
    json: bool,
}

/// Arguments of `zkiris party combine`.
#[derive(Args)]
pub struct CombineArgs {
    /// One party's share file (`zkiris party open --out`).
    #[arg(value_name = "SHARE_A")]
    a: PathBuf,
    /// Another party's share file of the same proof.
    #[arg(value_name = "SHARE_B")]
    b: PathBuf,
    /// The template file to write (mode 0600).
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// The model that made the proof (manifest path or bundled name), for its code layout.
    /// Default: the bundled model whose id is the share files' `model_id`.
    #[arg(long)]
    model: Option<String>,
    #[command(flatten)]
    trust: TrustArgs,
    /// Replace an existing template file.
    #[arg(long)]
    force: bool,
    /// Print JSON (also on failure, with a `reason`).
    #[arg(long)]
    json: bool,
}

/// Runs a party subcommand.
pub fn run(c: PartyCommand) -> anyhow::Result<ExitCode> {
    match c {
        PartyCommand::Keygen(a) => keygen(a),
        PartyCommand::Open(a) => Ok(finish(a.json, open(&a))),
        PartyCommand::Combine(a) => Ok(finish(a.json, combine_files(&a))),
    }
}

fn overwrite(force: bool) -> Overwrite {
    if force {
        Overwrite::Replace
    } else {
        Overwrite::Refuse
    }
}

/// `<key>.pub`.
pub fn public_key_path(secret: &Path) -> PathBuf {
    let mut s = secret.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

fn keygen(a: KeygenArgs) -> anyhow::Result<ExitCode> {
    let ow = overwrite(a.force);
    let pub_path = public_key_path(&a.out);
    check_writable(&a.out, ow, "secret key file")?;
    check_writable(&pub_path, ow, "public key file")?;
    let sk = PartySecretKey::generate();
    let pk = sk.public_key();
    // The public key first: a secret key never lies around without its public key.
    write_atomically(&pub_path, &pk.to_bytes(), 0o644, ow)?;
    if let Err(e) = write_atomically(&a.out, &sk.to_bytes(), 0o600, ow) {
        let _ = std::fs::remove_file(&pub_path);
        return Err(e);
    }
    let fingerprint = hex::encode(pk.fingerprint());
    if a.json {
        println!("{}", json!({"secret_key": a.out.display().to_string(), "public_key": pub_path.display().to_string(), "fingerprint": fingerprint}));
    } else {
        println!("secret key  {} (mode 0600; keep it secret, it opens this party's shares)", a.out.display());
        println!("public key  {} (give it to provers: zkiris prove --party-key)", pub_path.display());
        println!("fingerprint {fingerprint} (sha256 of the public key file)");
    }
    Ok(ExitCode::SUCCESS)
}

/// Why `open` or `combine` did not produce its file.
struct Failure {
    /// 1 refused, 2 error.
    exit: u8,
    /// Machine-readable reason.
    reason: &'static str,
    error: anyhow::Error,
}

impl Failure {
    fn refused(reason: &'static str, error: impl Into<anyhow::Error>) -> Self {
        Self { exit: 1, reason, error: error.into() }
    }

    fn error(reason: &'static str, error: impl Into<anyhow::Error>) -> Self {
        Self { exit: 2, reason, error: error.into() }
    }
}

/// Maps an error into a [`Failure`] with exit status 2 and `reason`.
fn err<E: Into<anyhow::Error>>(reason: &'static str) -> impl FnOnce(E) -> Failure {
    move |e| Failure::error(reason, e)
}

/// Prints the outcome and picks the exit status.
fn finish(json_out: bool, outcome: Result<(serde_json::Value, String), Failure>) -> ExitCode {
    match outcome {
        Ok((mut j, text)) => {
            if json_out {
                j["ok"] = json!(true);
                println!("{j}");
            } else {
                println!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(f) => {
            let message = crate::common::one_line(&f.error);
            if json_out {
                println!("{}", json!({"ok": false, "reason": f.reason, "error": message}));
            }
            if f.exit == 1 {
                if !json_out {
                    println!("REFUSED ({}): {message}", f.reason);
                }
            } else {
                eprintln!("error: {message}");
            }
            ExitCode::from(f.exit)
        }
    }
}

fn open(a: &OpenArgs) -> Result<(serde_json::Value, String), Failure> {
    let party = Party::new(a.party).map_err(err("bad_args"))?;
    let ow = overwrite(a.force);
    check_writable(&a.out, ow, "share file").map_err(err("exists"))?;
    let key_bytes = Zeroizing::new(read_file(&a.key, "secret key").map_err(err("unreadable"))?);
    let sk = PartySecretKey::from_bytes(&key_bytes).with_context(|| format!("--key {}", a.key.display())).map_err(err("bad_key"))?;
    let bundle_bytes = read_file(&a.proof, "proof bundle").map_err(err("unreadable"))?;
    let bundle = ProofBundle::from_bytes(&bundle_bytes).with_context(|| format!("reading {}", a.proof.display())).map_err(err("bad_bundle"))?;
    let model = a.setup.model().map_err(err("model"))?;
    // What needs no verifying key first: the model, and that it submits shares at all.
    precheck(&bundle, &model).map_err(|e| Failure::refused(verify_failure_reason(&e), e))?;
    if model.manifest().rules.submission != Submission::MpcShares {
        return Err(Failure::error(
            "not_mpc_shares",
            anyhow!("model {} submits a public code: its proofs carry no share envelopes (their codes are public inputs)", model.manifest().name),
        ));
    }
    // Verify first, exactly as `zkiris verify`: S_p is only worth checking against if the proof
    // says the shares were derived from the enrolled image.
    let verifier = Verifier::new(model.clone(), &a.setup.srs(), Some(&a.setup.cache())).map_err(err("setup"))?;
    let verified = verifier.verify(&bundle).map_err(|e| Failure::refused(verify_failure_reason(&e), e))?;
    let public = PublicInputs::from_be_bytes(&PublicLayout::of(&model), &bundle.public_inputs).map_err(|e| Failure::refused("malformed", e))?;
    let s = public.share_commitments().ok_or_else(|| Failure::refused("malformed", anyhow!("the public inputs carry no share commitments")))?;
    let statement = StatementId::of(bundle.model_id, &public);
    let envelope = |p: Party| -> Result<ShareEnvelope, Failure> {
        let bytes = bundle.envelopes.get(p.zero_based()).ok_or_else(|| Failure::refused("malformed", anyhow!("the bundle has no envelope for party {p}")))?;
        ShareEnvelope::from_bytes(bytes).map_err(|e| Failure::refused("malformed", e))
    };
    let share = match envelope(party)?.open(&sk, party, &statement, s[party.zero_based()]) {
        Ok(share) => share,
        Err(EnvelopeError::Decryption) => {
            // The envelope does not say why (no oracle). If this key opens another party's
            // envelope, though, its holder is that party: say so.
            for q in Party::ALL.into_iter().filter(|&q| q != party) {
                if envelope(q)?.open(&sk, q, &statement, s[q.zero_based()]).is_ok() {
                    return Err(Failure::refused("wrong_party", anyhow!("this key is party {q}'s, not party {party}'s: run with --party {q}")));
                }
            }
            return Err(Failure::refused("decryption", EnvelopeError::Decryption));
        }
        Err(e @ EnvelopeError::CommitmentMismatch { .. }) => return Err(Failure::refused("share_mismatch", e)),
        Err(e @ EnvelopeError::WrongParty { .. }) => return Err(Failure::refused("wrong_party", e)),
        Err(e) => return Err(Failure::refused("malformed", e)),
    };
    let chunks = share.elements().len();
    let file = ShareFile::from_statement(share, &statement);
    let text = file.to_json();
    write_atomically(&a.out, text.as_bytes(), 0o600, ow).map_err(err("write"))?;
    let s_p = hex32(&fr_to_be(&s[party.zero_based()]));
    let binding = hex32(&fr_to_be(&public.binding));
    let j = json!({
        "party": party.index(), "out": a.out.display().to_string(), "model_id": hex::encode(bundle.model_id),
        "commitment": verified.commitment.to_string(), "binding": binding, "share_commitment": s_p, "chunks": chunks,
    });
    let text = format!(
        "opened party {party}'s share ({chunks} chunks) of a valid {} proof, commitment {}: it matches S_{party} {s_p}\nwrote {} (mode 0600; keep it secret)",
        model.manifest().name,
        verified.commitment,
        a.out.display()
    );
    Ok((j, text))
}

fn read_share(path: &Path) -> Result<ShareFile, Failure> {
    let bytes = Zeroizing::new(read_file(path, "share file").map_err(err("unreadable"))?);
    ShareFile::from_json(&bytes).with_context(|| format!("reading {}", path.display())).map_err(err("bad_share_file"))
}

/// The reason code of a refused combination.
fn combine_reason(e: &ShareFileError) -> &'static str {
    match e {
        ShareFileError::ModelMismatch { .. } => "model_mismatch",
        ShareFileError::CommitmentMismatch => "commitment_mismatch",
        ShareFileError::SameParty(_) => "same_party",
        ShareFileError::ChunkMismatch { .. } => "chunk_mismatch",
        _ => "not_a_masked_code",
    }
}

/// The signed manifest of the model that made the shares: `--model`, or the bundled model with
/// the shares' model id.
fn share_model(a: &CombineArgs, model_id: &[u8; 32]) -> Result<Manifest, Failure> {
    let keys = a.trust.keys().map_err(err("model"))?;
    let id = hex::encode(model_id);
    let path = match &a.model {
        Some(m) => manifest_path(m),
        None => {
            let dir = models_dir();
            let found = std::fs::read_dir(&dir)
                .ok()
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path().join("manifest.json")))
                .find(|p| std::fs::read(p).ok().and_then(|b| Manifest::from_json(&b).ok()).is_some_and(|m| m.model_id == id));
            found.ok_or_else(|| {
                Failure::error(
                    "unknown_model",
                    anyhow!("no bundled model (in {}) has id {id}; pass --model with the manifest of the model that made the proof", dir.display()),
                )
            })?
        }
    };
    let files = VerifiedModelFiles::load(&path, &keys).with_context(|| format!("loading model {}", path.display())).map_err(err("model"))?;
    let manifest = files.manifest;
    if manifest.model_id != id {
        return Err(Failure::error(
            "model_mismatch",
            anyhow!("the shares are of model {id}, but {} ({} {}) has id {}", path.display(), manifest.name, manifest.version, manifest.model_id),
        ));
    }
    Ok(manifest)
}

/// Checks that `rules` make a template-shaped code of `bits` bits.
fn template_shape(rules: &ModelRules, name: &str, bits: usize) -> Result<(), Failure> {
    let [rows, cols] = rules.encoder.grid;
    let (planes, mask_planes) = (rules.encoder.iris.len(), rules.encoder.mask.len());
    let model_bits = planes * rows * cols;
    if bits != model_bits || mask_planes != planes {
        return Err(Failure::error("layout", anyhow!("the shares hold {bits}-bit codes, but model {name}'s codes have {model_bits} bits")));
    }
    if (planes, rows, cols) != (4, 16, 256) {
        return Err(Failure::error(
            "layout",
            anyhow!("model {name}'s code is {planes} × {rows} × {cols} bits; the template format (zkiris encode --json, zkiris match) holds 4 × 16 × 256"),
        ));
    }
    Ok(())
}

fn combine_files(a: &CombineArgs) -> Result<(serde_json::Value, String), Failure> {
    let ow = overwrite(a.force);
    check_writable(&a.out, ow, "template file").map_err(err("exists"))?;
    let (fa, fb) = (read_share(&a.a)?, read_share(&a.b)?);
    let (code, mask) = combine(&fa, &fb).map_err(|e| Failure::refused(combine_reason(&e), e))?;
    let model_id = fa.model_id();
    let manifest = share_model(a, &model_id)?;
    let rules = &manifest.rules;
    template_shape(rules, &manifest.name, 8 * code.len())?;
    let layout = rules.code_layout;
    let iris = IrisCode::new(CodeBits::from_packed(&code, layout).map_err(err("layout"))?, CodeBits::from_packed(&mask, layout).map_err(err("layout"))?);
    let mut template = IrisTemplate::new(model_id, &iris, layout);
    let valid_bits = template.valid_bits;
    let text = Zeroizing::new(template.to_json() + "\n");
    template.iris_codes.zeroize();
    template.mask_codes.zeroize();
    write_atomically(&a.out, text.as_bytes(), 0o600, ow).map_err(err("write"))?;
    let parties = [fa.party().index(), fb.party().index()];
    let commitment = hex32(&fr_to_be(&fa.commitment()));
    let j = json!({
        "parties": parties, "out": a.out.display().to_string(), "model_id": hex::encode(model_id), "model": manifest.name,
        "commitment": commitment, "valid_bits": valid_bits,
    });
    let text = format!(
        "combined parties {} and {}: model {} {}, commitment {commitment}, {valid_bits} valid bits\nwrote {} (mode 0600; it is the iris template)",
        parties[0],
        parties[1],
        manifest.name,
        manifest.version,
        a.out.display()
    );
    Ok((j, text))
}
