//! `zkiris demo`: the whole story on the bundled model and sample, one line per step.
//!
//! 1. a vault in a temporary directory, locked with a passphrase;
//! 2. an enrollment device (the development device key) commits to the bundled sample, signs
//!    the commitment, and the record is stored encrypted;
//! 3. the phone proves the iris code, the mask code and liveness ≥ τ with `world-v3-live`
//!    (world-v3 + the liveness-v1 PAD CNN in one statement) from the vault record;
//! 4. the proof verifies natively;
//! 5. the issuer exports the EVM verifier and deploys it with the registry in a local EVM
//!    (revm); the user registers the code;
//! 6. the issuer publishes `world-v3.1-live`; the phone re-proves from the same record and upgrades
//!    the registry entry (same commitment, no new enrollment);
//! 7. the open-iris Hamming matcher compares the old and new codes.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use clap::Args;
use zkiris::attest::dev_device_key;
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::iriscode::HammingDistanceMatcher;
use zkiris::prover::Attestation;
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
#[cfg(feature = "evm")]
const USER: [u8; 20] = [0x42; 20];

/// Arguments of `zkiris demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// The first model (`world-v3` for the faster statement without liveness).
    #[arg(long, default_value = "world-v3-live")]
    model: String,
    /// The model the issuer upgrades to (`world-v3.1` with `--model world-v3`).
    #[arg(long, default_value = "world-v3.1-live")]
    upgrade_to: String,
    /// Sample name in models/samples (`<name>.png` and `<name>_mask.png`).
    #[arg(long, default_value = "synth-eye_128x1024")]
    sample: String,
    /// Keep the vault and proofs in this directory (default: a temporary directory, removed).
    #[arg(long, value_name = "DIR")]
    workdir: Option<PathBuf>,
    /// Skip the EVM steps (no solc needed).
    #[arg(long)]
    no_evm: bool,
    /// SRS file; default: the INSECURE development SRS.
    #[arg(long, value_name = "FILE")]
    srs: Option<PathBuf>,
    /// Cache directory for the SRS and proving keys.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

fn setup_args(a: &DemoArgs, model: &str) -> SetupArgs {
    SetupArgs {
        model: model.to_string(),
        srs: a.srs.clone(),
        cache: a.cache.clone(),
        trust: crate::common::TrustArgs { issuer_keys: vec![], no_dev_issuer: false },
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
    println!("zkiris demo in {}", work.display());

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

    // 3. Prove from the vault with the first model.
    let vault = Vault::open_with_passphrase(&vault_dir, pass.as_bytes(), VaultOptions::default())?.0;
    let record = vault.get(&id)?;
    let attestation = Some(Attestation { device: record.device(), signature: *record.signature() });
    let first = setup_args(&a, &a.model);
    let setup_v1 = first.prepare("3 proving key", first.model()?)?;
    let proof_v1 = prove_with("3 prove from the vault", &setup_v1, record.image(), record.mask(), record.salt(), attestation.clone())?;
    write_bundle(&work.join("proof-v1.zkp"), &proof_v1)?;

    // 4. Verify natively.
    let t = Instant::now();
    let statement_v1 = setup_v1.verifier().verify(&proof_v1)?;
    ensure!(statement_v1.commitment == commitment, "the proof states another commitment");
    report("4 verified natively", &format!("bundle {}", bytes(proof_v1.to_bytes().len())), t);

    // 5. EVM: export the verifier, deploy the registry, register the code.
    let mut chain = if a.no_evm {
        println!("--  EVM steps skipped (--no-evm)");
        None
    } else {
        let mut chain = evm::Chain::deploy()?;
        chain.publish("5", &setup_v1)?;
        chain.register(&proof_v1)?;
        Some(chain)
    };

    // 6. The issuer publishes the upgrade; re-prove from the same record; upgrade on chain.
    // The old model's proving key (about 1 GB) is released first, as a phone would.
    drop(setup_v1);
    let second = setup_args(&a, &a.upgrade_to);
    let setup_v2 = second.prepare("6 proving key", second.model()?)?;
    let proof_v2 = prove_with("6 re-prove from the vault", &setup_v2, record.image(), record.mask(), record.salt(), attestation)?;
    write_bundle(&work.join("proof-v2.zkp"), &proof_v2)?;
    let t = Instant::now();
    let statement_v2 = setup_v2.verifier().verify(&proof_v2)?;
    ensure!(statement_v2.commitment == statement_v1.commitment, "the upgrade proof states another commitment");
    report("6 verified natively", &format!("same commitment, bundle {}", bytes(proof_v2.to_bytes().len())), t);
    if let Some(chain) = chain.as_mut() {
        chain.publish("6", &setup_v2)?;
        chain.upgrade(&proof_v2)?;
    }

    // 7. Match the old and new codes.
    let t = Instant::now();
    let (old, new) = (statement_v1.template.context("no template")?, statement_v2.template.context("no template")?);
    let r = HammingDistanceMatcher::default().run(&old.decode()?, &new.decode()?);
    report(
        "7 match v3 ↔ v3.1",
        &format!("Hamming distance {:.4} (shift {:+}), valid bits {} → {}", r.distance, r.shift, old.valid_bits, new.valid_bits),
        t,
    );
    ensure!(r.distance < 0.35, "the old and new codes do not match");
    println!("demo finished in {:.1} s", total.elapsed().as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

/// The local chain of the demo (feature `evm`).
#[cfg(feature = "evm")]
mod evm {
    use std::time::Instant;

    use anyhow::{Context, Result};
    use zkiris::evm::{registry::LocalRegistry, solc::Solc};
    use zkiris::prover::{ProofBundle, ProvingSetup};

    use super::{ISSUER, USER};
    use crate::progress::{bytes, report};

    /// The registry with its verifiers.
    pub struct Chain(LocalRegistry);

    impl Chain {
        /// Deploys the registry and trusts the development enrollment device.
        pub fn deploy() -> Result<Self> {
            let t = Instant::now();
            let solc = Solc::locate().context("the EVM steps need solc 0.8.19: run `npm ci --prefix contracts` (or pass --no-evm)")?;
            let mut chain = LocalRegistry::deploy(solc, ISSUER, false)?;
            chain.trust_device(&zkiris::attest::dev_device_id())?;
            report("5 registry deployed (revm)", &format!("at 0x{}", hex::encode(chain.address())), t);
            Ok(Self(chain))
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

        /// `register` with the device signature.
        pub fn register(&mut self, proof: &ProofBundle) -> Result<()> {
            let t = Instant::now();
            let r = self.0.register(USER, proof)?;
            report("5 register(code)", &format!("{} gas, calldata {}", r.gas_used, bytes(r.calldata_bytes)), t);
            Ok(())
        }

        /// `upgrade` to the new model under the same commitment.
        pub fn upgrade(&mut self, proof: &ProofBundle) -> Result<()> {
            let t = Instant::now();
            let u = self.0.upgrade(USER, proof)?;
            report("6 upgrade(same C)", &format!("{} gas, calldata {}", u.gas_used, bytes(u.calldata_bytes)), t);
            Ok(())
        }
    }
}

/// Without the `evm` feature the chain cannot run.
#[cfg(not(feature = "evm"))]
mod evm {
    use anyhow::{bail, Result};
    use zkiris::prover::{ProofBundle, ProvingSetup};

    /// Never constructed.
    pub enum Chain {}

    impl Chain {
        pub fn deploy() -> Result<Self> {
            bail!("this zkiris was built without the `evm` feature; pass --no-evm")
        }
        pub fn publish(&mut self, _: &str, _: &ProvingSetup) -> Result<()> {
            match *self {}
        }
        pub fn register(&mut self, _: &ProofBundle) -> Result<()> {
            match *self {}
        }
        pub fn upgrade(&mut self, _: &ProofBundle) -> Result<()> {
            match *self {}
        }
    }
}
