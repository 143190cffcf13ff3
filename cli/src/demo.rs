//! `zkiris demo`: the whole story on the bundled model and sample, one line per step.
//!
//! By default the codes stay private (`--submission mpc-shares`, models `world-v3-live-mpc` →
//! `world-v3.1-live-mpc`):
//!
//! 1. a vault in a temporary directory, locked with a passphrase;
//! 2. an enrollment device (the development device key) commits to the bundled sample, signs
//!    the commitment, and the record is stored encrypted;
//! 3. the registry is deployed in a local EVM (revm), so the phone can bind its proofs to the
//!    chain, the registry and its own account; the three MPC parties make their key pairs;
//! 4. the phone proves the statement from the vault record: liveness ≥ τ, the quality gate, and
//!    the three secret shares of its masked iris code — each sealed to its party — without
//!    revealing the code; the proof verifies natively;
//! 5. each party opens its envelope and checks its share against the public `S_p`;
//! 6. the issuer publishes the verifier and the user registers (the chain sees `C`, the `S_p`
//!    and the binding, never a code word);
//! 7. the issuer publishes the next model; the phone re-proves from the same record (fresh
//!    shares), the parties check them, and the registry entry is upgraded under the same `C`;
//! 8. two parties combine their shares of each proof, and the open-iris matcher confirms the
//!    same eye across the two models.
//!
//! `--submission public-code` runs the same story with public codes (models `world-v3-live` →
//! `world-v3.1-live`): the codes are public inputs, registered as a hash, and matched directly.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use zkiris::attest::dev_device_key;
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::iriscode::{CodeBits, HammingDistanceMatcher, IrisCode, IrisTemplate};
use zkiris::model::manifest::CodeLayout;
use zkiris::mpc::{combine, Party, PartyPublicKey, PartySecretKey, ShareEnvelope, ShareFile, StatementId};
use zkiris::prover::{Attestation, ProofBundle, ProveOptions, ProvingSetup, VerifiedStatement};
use zkiris::public::{Binding, PublicInputs, PublicLayout, Submission};
use zkiris::vault::{EnrollmentRecord, KdfCost, PassphraseProvider, Vault, VaultOptions};

use crate::common::models_dir;
use crate::progress::{bytes, report};
use crate::prove_cmd::{prove_with, write_bundle, SetupArgs};

/// Passphrase used when `ZKIRIS_VAULT_PASSPHRASE` is not set.
const DEMO_PASSPHRASE: &str = "zkiris demo passphrase";
/// The issuer's account on the local chain.
#[cfg(feature = "evm")]
const ISSUER: [u8; 20] = [0x15; 20];
/// The user's account on the local chain.
const USER: [u8; 20] = [0x42; 20];

/// Arguments of `zkiris demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// How the phone submits its code: `mpc-shares` (private: three secret shares for World's
    /// MPC parties, only commitments public) or `public-code` (the codes are public inputs).
    #[arg(long, default_value = "mpc-shares")]
    submission: Submission,
    /// The first model (`world-v3` for the faster statement without liveness). Bundled names
    /// take their `-mpc` variant in mpc-shares mode.
    #[arg(long, default_value = "world-v3-live")]
    model: String,
    /// The model the issuer upgrades to (`world-v3.1` with `--model world-v3`).
    #[arg(long, default_value = "world-v3.1-live")]
    upgrade_to: String,
    /// Sample name in models/samples (`<name>.png` and `<name>_mask.png`).
    #[arg(long, default_value = "synth-eye_128x1024")]
    sample: String,
    /// Keep the vault, keys, shares and proofs in this directory (default: a temporary
    /// directory, removed).
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Skip the EVM steps (no solc needed; the proofs are then unbound).
    #[arg(long)]
    no_evm: bool,
    /// SRS file; default: the INSECURE development SRS.
    #[arg(long, value_name = "FILE")]
    srs: Option<PathBuf>,
    /// Cache directory for the SRS and proving keys.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

/// The bundled model for `name` in `submission` mode: `<name>-mpc` in mpc-shares mode when
/// that bundled variant exists; manifest paths are taken as given.
fn model_for(name: &str, submission: Submission) -> String {
    if submission == Submission::MpcShares && !name.ends_with("-mpc") && models_dir().join(format!("{name}-mpc")).is_dir() {
        format!("{name}-mpc")
    } else {
        name.to_string()
    }
}

fn setup_args(a: &DemoArgs, model: &str) -> SetupArgs {
    SetupArgs {
        model: model_for(model, a.submission),
        srs: a.srs.clone(),
        cache: a.cache.clone(),
        trust: crate::common::TrustArgs { issuer_keys: vec![], no_dev_issuer: false },
    }
}

/// Loads and prepares a model, checking it submits as the demo was asked to.
fn prepare(a: &DemoArgs, label: &str, model: &str) -> Result<ProvingSetup> {
    let args = setup_args(a, model);
    let m = args.model()?;
    let found = m.manifest().rules.submission;
    ensure!(found == a.submission, "model {} submits {found}, but the demo runs --submission {}", m.manifest().name, a.submission);
    args.prepare(label, m)
}

/// The MPC parties of the demo: three key pairs (written to the work directory, as each party
/// would keep its own).
struct Parties {
    secret: [PartySecretKey; 3],
}

impl Parties {
    fn generate(work: &Path) -> Result<Self> {
        let secret = [PartySecretKey::generate(), PartySecretKey::generate(), PartySecretKey::generate()];
        for (p, k) in secret.iter().enumerate() {
            let path = work.join(format!("party{}.key", p + 1));
            std::fs::write(&path, &*k.to_bytes()).with_context(|| format!("writing {}", path.display()))?;
            std::fs::write(work.join(format!("party{}.key.pub", p + 1)), k.public_key().to_bytes())?;
        }
        Ok(Self { secret })
    }

    fn public(&self) -> [PartyPublicKey; 3] {
        [self.secret[0].public_key(), self.secret[1].public_key(), self.secret[2].public_key()]
    }

    /// Each party opens its envelope of `bundle` and checks its share against `S_p`; the shares
    /// are written as `share-<tag>-p<N>.json`.
    fn open(&self, step: &str, work: &Path, tag: &str, bundle: &ProofBundle, layout: &PublicLayout) -> Result<[ShareFile; 3]> {
        let t = Instant::now();
        let public = PublicInputs::from_be_bytes(layout, &bundle.public_inputs)?;
        let s = public.share_commitments().context("the bundle has no share commitments")?;
        let statement = StatementId::of(bundle.model_id, &public);
        let mut files = Vec::with_capacity(3);
        for (p, key) in self.secret.iter().enumerate() {
            let env = ShareEnvelope::from_bytes(bundle.envelopes.get(p).context("missing envelope")?)?;
            let share = env.open(key, Party::ALL[p], &statement, s[p]).with_context(|| format!("party {} opening its envelope", p + 1))?;
            let file = ShareFile::from_statement(share, &statement);
            std::fs::write(work.join(format!("share-{tag}-p{}.json", p + 1)), file.to_json().as_bytes())?;
            files.push(file);
        }
        report(step, &format!("each party decrypted its share (X-Wing HPKE) and matched S_{{1,2,3}} ({} chunks each)", files[0].share().elements().len()), t);
        files.try_into().map_err(|_| anyhow::anyhow!("three parties"))
    }
}

/// A template from two parties' shares (what the MPC service reconstructs).
fn combined_template(a: &ShareFile, b: &ShareFile, layout: CodeLayout) -> Result<IrisTemplate> {
    let (code, mask) = combine(a, b)?;
    let code = IrisCode::new(CodeBits::from_packed(&code, layout)?, CodeBits::from_packed(&mask, layout)?);
    Ok(IrisTemplate::new(a.model_id(), &code, layout))
}

/// What step 4 reports about a verified statement.
fn describe(st: &VerifiedStatement) -> String {
    match (&st.share_commitments, st.valid_bits) {
        (Some(s), _) => format!("S_1 = 0x{}…, S_2 = 0x{}…, S_3 = 0x{}…", &hex::encode(s[0])[..8], &hex::encode(s[1])[..8], &hex::encode(s[2])[..8]),
        (None, Some(v)) => format!("{v} valid bits public"),
        (None, None) => String::new(),
    }
}

/// Runs the demo.
pub fn run(a: DemoArgs) -> Result<ExitCode> {
    let total = Instant::now();
    let _tmp;
    let work = match &a.workdir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            _tmp = tempfile::tempdir().context("creating a temporary directory")?;
            _tmp.path().to_path_buf()
        }
    };
    let mpc = a.submission == Submission::MpcShares;
    println!("zkiris demo ({}) in {}", a.submission, work.display());

    // 1. Vault.
    let t = Instant::now();
    let pass = std::env::var(crate::vault_cmd::PASSPHRASE_ENV).unwrap_or_else(|_| DEMO_PASSPHRASE.to_string());
    let provider = Arc::new(PassphraseProvider::generate(pass.as_bytes(), KdfCost::MOBILE)?);
    let vault_dir = work.join("vault");
    let vault = Vault::create(&vault_dir, provider, VaultOptions::default())?;
    report("1 vault created", &format!("{} (Argon2id 64 MiB, XChaCha20-Poly1305)", vault.id()), t);

    // 2. Enrollment device: commit, sign, store encrypted.
    let t = Instant::now();
    let samples = models_dir().join("samples");
    let image = IrisImage::read_png(&samples.join(format!("{}.png", a.sample)))?;
    let mask = IrisMask::read_png(&samples.join(format!("{}_mask.png", a.sample)))?;
    mask.check_matches(&image)?;
    let salt = Salt::random();
    let commitment = commit(&image, &mask, &salt)?;
    let device = dev_device_key();
    let signature = device.sign_commitment(&commitment.0);
    let record = EnrollmentRecord::new(image, mask, salt, commitment, signature, device.id())?;
    let id = vault.import(record, &[device.id()])?;
    report("2 enrolled (dev device)", &format!("record {id}, C = {}…", &commitment.to_string()[..18]), t);
    drop(vault);

    // 3. The chain (for the binding) and the MPC parties' keys.
    let mut chain = if a.no_evm {
        println!("--  EVM steps skipped (--no-evm): the proofs are unbound (binding 0), which every registry refuses");
        None
    } else {
        Some(evm::Chain::deploy("3")?)
    };
    let binding: Option<Binding> = chain.as_ref().map(|c| c.binding(USER));
    let parties = if mpc {
        let t = Instant::now();
        let parties = Parties::generate(&work)?;
        let fps: Vec<String> = parties.public().iter().map(|k| hex::encode(&k.fingerprint()[..4])).collect();
        report("3 MPC party keys", &format!("X-Wing (ML-KEM-768 + X25519), fingerprints {}", fps.join(" ")), t);
        Some(parties)
    } else {
        None
    };
    let options = ProveOptions { binding, party_keys: parties.as_ref().map(Parties::public), ..ProveOptions::default() };

    // 4. Prove from the vault with the first model; verify natively.
    let vault = Vault::open_with_passphrase(&vault_dir, pass.as_bytes(), VaultOptions::default())?.0;
    let record = vault.get(&id)?;
    let attestation = Some(Attestation { device: record.device(), signature: *record.signature() });
    let setup_v1 = prepare(&a, "4 proving key", &a.model)?;
    let proof_v1 = prove_with("4 prove from the vault", &setup_v1, record.image(), record.mask(), record.salt(), attestation.clone(), &options)?;
    write_bundle(&work.join("proof-v1.zkp"), &proof_v1)?;
    let t = Instant::now();
    let statement_v1 = setup_v1.verifier().verify(&proof_v1)?;
    ensure!(statement_v1.commitment == commitment, "the proof states another commitment");
    report("4 verified natively", &format!("{}, bundle {}", describe(&statement_v1), bytes(proof_v1.to_bytes().len())), t);

    // 5. The parties open and check their shares.
    let layout_v1 = PublicLayout::of(setup_v1.model());
    let shares_v1 = match &parties {
        Some(p) => Some(p.open("5 parties open their shares", &work, "v1", &proof_v1, &layout_v1)?),
        None => None,
    };

    // 6. Publish the verifier and register.
    if let Some(chain) = chain.as_mut() {
        chain.publish("6", &setup_v1)?;
        chain.register("6", &proof_v1)?;
    }

    // 7. The issuer publishes the next model; re-prove from the same record; upgrade on chain.
    // The old model's proving key (about 1 GB) is released first, as a phone would.
    let layout_code = setup_v1.model().manifest().rules.code_layout;
    drop(setup_v1);
    let setup_v2 = prepare(&a, "7 proving key", &a.upgrade_to)?;
    let proof_v2 = prove_with("7 re-prove from the vault", &setup_v2, record.image(), record.mask(), record.salt(), attestation, &options)?;
    write_bundle(&work.join("proof-v2.zkp"), &proof_v2)?;
    let t = Instant::now();
    let statement_v2 = setup_v2.verifier().verify(&proof_v2)?;
    ensure!(statement_v2.commitment == statement_v1.commitment, "the upgrade proof states another commitment");
    report("7 verified natively", &format!("same commitment, {}, bundle {}", describe(&statement_v2), bytes(proof_v2.to_bytes().len())), t);
    let shares_v2 = match &parties {
        Some(p) => Some(p.open("7 parties open their shares", &work, "v2", &proof_v2, &PublicLayout::of(setup_v2.model()))?),
        None => None,
    };
    if let Some(chain) = chain.as_mut() {
        chain.publish("7", &setup_v2)?;
        chain.upgrade("7", &proof_v2)?;
    }

    // 8. Match the old and new codes: through two parties' shares (mpc-shares) or the public
    // codes (public-code).
    let t = Instant::now();
    let (old, new, how) = match (&shares_v1, &shares_v2) {
        (Some(s1), Some(s2)) => (
            combined_template(&s1[0], &s1[1], layout_code)?,
            combined_template(&s2[1], &s2[2], setup_v2.model().manifest().rules.code_layout)?,
            "parties 1+2 (v1) and 2+3 (v2) combined",
        ),
        _ => (statement_v1.template.context("no template")?, statement_v2.template.context("no template")?, "public codes"),
    };
    let r = HammingDistanceMatcher::default().run(&old.decode()?, &new.decode()?);
    report(
        "8 match v1 ↔ v2",
        &format!("{how}: Hamming distance {:.4} (shift {:+}), valid bits {} → {}", r.distance, r.shift, old.valid_bits, new.valid_bits),
        t,
    );
    if r.distance >= 0.35 {
        bail!("the old and new codes do not match");
    }
    println!("demo finished in {:.1} s", total.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// The local chain of the demo (feature `evm`).
#[cfg(feature = "evm")]
mod evm {
    use std::time::Instant;

    use anyhow::{Context, Result};
    use zkiris::evm::{LocalRegistry, Solc};
    use zkiris::prover::{ProofBundle, ProvingSetup};
    use zkiris::public::{Binding, Submission};

    use super::{ISSUER, USER};
    use crate::progress::{bytes, report};

    /// The registry with its verifiers.
    pub struct Chain(LocalRegistry);

    fn what(proof: &ProofBundle) -> String {
        match proof.submission {
            Submission::MpcShares => format!("{} public inputs: C, thresholds, binding, S_1..S_3; no code word", proof.public_inputs.len()),
            Submission::PublicCode => format!("{} public inputs with the code words", proof.public_inputs.len()),
        }
    }

    impl Chain {
        /// Deploys the registry and trusts the development enrollment device.
        pub fn deploy(step: &str) -> Result<Self> {
            let t = Instant::now();
            let solc = Solc::locate().context("the EVM steps need solc 0.8.19: run `npm ci --prefix contracts` (or pass --no-evm)")?;
            let mut chain = LocalRegistry::deploy(solc, ISSUER, false)?;
            chain.trust_device(&zkiris::attest::dev_device_id())?;
            report(&format!("{step} registry deployed (revm)"), &format!("chain {} at 0x{}", chain.chain_id(), hex::encode(chain.address())), t);
            Ok(Self(chain))
        }

        /// The binding of proofs the user will submit.
        pub fn binding(&self, account: [u8; 20]) -> Binding {
            self.0.binding(account)
        }

        /// Exports, compiles and deploys the model's verifier, then `setModel`.
        pub fn publish(&mut self, step: &str, setup: &ProvingSetup) -> Result<()> {
            let t = Instant::now();
            let m = setup.model().manifest();
            let p = self.0.publish(setup)?;
            report(
                &format!("{step} publish {} {}", m.name, m.version),
                &format!("{} verifier contract(s), largest {}, deploy {} gas", p.verifier_parts, bytes(p.largest_part_bytes), p.deploy_gas),
                t,
            );
            Ok(())
        }

        /// `register` with the device signature, from the user's account.
        pub fn register(&mut self, step: &str, proof: &ProofBundle) -> Result<()> {
            let t = Instant::now();
            let r = self.0.register(USER, proof)?;
            report(&format!("{step} register"), &format!("{} gas, calldata {} ({})", r.gas_used, bytes(r.calldata_bytes), what(proof)), t);
            Ok(())
        }

        /// `upgrade` to the new model under the same commitment.
        pub fn upgrade(&mut self, step: &str, proof: &ProofBundle) -> Result<()> {
            let t = Instant::now();
            let u = self.0.upgrade(USER, proof)?;
            report(&format!("{step} upgrade(same C)"), &format!("{} gas, calldata {}", u.gas_used, bytes(u.calldata_bytes)), t);
            Ok(())
        }
    }
}

/// Without the `evm` feature the chain cannot run.
#[cfg(not(feature = "evm"))]
mod evm {
    use anyhow::{bail, Result};
    use zkiris::prover::{ProofBundle, ProvingSetup};
    use zkiris::public::Binding;

    /// Never constructed.
    pub enum Chain {}

    impl Chain {
        pub fn deploy(_: &str) -> Result<Self> {
            bail!("this zkiris was built without the `evm` feature; pass --no-evm")
        }
        pub fn binding(&self, _: [u8; 20]) -> Binding {
            match *self {}
        }
        pub fn publish(&mut self, _: &str, _: &ProvingSetup) -> Result<()> {
            match *self {}
        }
        pub fn register(&mut self, _: &str, _: &ProofBundle) -> Result<()> {
            match *self {}
        }
        pub fn upgrade(&mut self, _: &str, _: &ProofBundle) -> Result<()> {
            match *self {}
        }
    }
}
