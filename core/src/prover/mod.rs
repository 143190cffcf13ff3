//! Proving and verifying.
//!
//! [`ProvingSetup::prepare`] turns a verified model into everything a proof needs: the
//! circuit plan, the SRS and the proving key (from the on-disk cache when possible).
//! [`ProvingSetup::prove`] proves one enrollment and returns a [`ProofBundle`];
//! [`Verifier::verify`] checks a bundle natively. Proofs use SHPLONK with the Keccak (EVM)
//! transcript by default, so the same proof verifies on chain; with
//! [`ProofTranscript::Poseidon`] (feature `agg`) a relayer can aggregate them (module `agg`).

#[cfg(feature = "agg")]
pub mod agg;
pub(crate) mod bundle;
pub(crate) mod cachefile;
mod envelopes;
pub(crate) mod estimate;
pub(crate) mod keys;
pub(crate) mod progress;
pub(crate) mod srs;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, verify_proof, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{EncodedChallenge, TranscriptReadBuffer, TranscriptWrite};
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;

pub use bundle::{Attestation, BundleError, ProofBundle, ProofTranscript};
pub use estimate::{Estimate, KEYGEN_MEASUREMENTS, REFERENCE_MEASUREMENTS};
pub use keys::{verifying_key, vk_fingerprint, KeySource};
pub use progress::{CancellationToken, NoProgress, Phase, ProgressListener};
pub use srs::{default_cache_dir, Srs, SrsError};

use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::commitment::{Commitment, Salt};
use crate::image::{IrisImage, IrisMask};
use crate::iriscode::IrisTemplate;
use crate::model::Model;
use crate::public::{PublicInputs, PublicLayout, Submission};

/// Errors while preparing or proving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    /// The caller cancelled.
    #[error("proving was cancelled")]
    Cancelled,
    /// The model cannot be turned into a circuit.
    #[error(transparent)]
    Circuit(#[from] crate::circuit::CircuitError),
    /// The model could not run on the enrollment.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The SRS could not be obtained.
    #[error(transparent)]
    Srs(#[from] SrsError),
    /// Keygen failed.
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    /// The enrollment does not have enough valid mask bits for this model.
    #[error("the enrollment has {valid} valid mask bits but the model requires at least {required}; re-enroll with a better capture")]
    InsufficientValidBits {
        /// Valid bits.
        valid: u32,
        /// Required.
        required: u32,
    },
    /// The liveness score is below the model's threshold.
    #[error("liveness score {score} is below the threshold {threshold}; the capture did not pass presentation-attack detection")]
    LivenessBelowThreshold {
        /// Score.
        score: i64,
        /// Threshold.
        threshold: i64,
    },
    /// The image or mask does not match the commitment format.
    #[error(transparent)]
    Commitment(#[from] crate::commitment::CommitmentError),
    /// The SRS is smaller than the circuit.
    #[error("the SRS has 2^{have} points but this model needs 2^{need}")]
    SrsTooSmall {
        /// SRS k.
        have: u32,
        /// Needed k.
        need: u32,
    },
    /// An mpc-shares model needs the three MPC parties' public keys to encrypt the shares to.
    #[error("model {model} submits MPC shares: give the three parties' public keys (in party order) to encrypt the shares to")]
    MissingPartyKeys {
        /// Model name.
        model: String,
    },
    /// Party keys were given for a public-code model (its proof has no shares to encrypt).
    #[error("model {model} submits a public code; party keys apply to mpc-shares models only")]
    UnexpectedPartyKeys {
        /// Model name.
        model: String,
    },
    /// The shares could not be computed or encrypted.
    #[error("cannot make the MPC shares: {0}")]
    Shares(String),
    /// A Poseidon-transcript (aggregatable) proof was asked of a build without feature `agg`.
    #[error("this zkiris build cannot make {0}-transcript proofs (it was built without the `agg` feature); prove with the default EVM transcript")]
    TranscriptUnavailable(ProofTranscript),
    /// halo2 failed (a bug in zkiris; please report it).
    #[error("the prover failed: {0}")]
    Halo2(String),
}

/// Per-proof options.
#[derive(Clone, Debug, Default)]
pub struct ProveOptions {
    /// Who may submit the proof, and where ([`crate::public::Binding`]). `None` gives binding
    /// 0: the proof verifies natively, but no registry accepts it.
    pub binding: Option<crate::public::Binding>,
    /// The three MPC parties' public keys, in party order (mpc-shares models only).
    pub party_keys: Option<[crate::mpc::PartyPublicKey; 3]>,
    /// The proof's Fiat–Shamir transcript: [`ProofTranscript::Evm`] (the default) for a
    /// proof a contract verifies directly, [`ProofTranscript::Poseidon`] (feature `agg`) for
    /// one a relayer aggregates (module `agg`).
    pub transcript: ProofTranscript,
}

/// Errors while verifying.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bundle cannot be parsed or is inconsistent with itself.
    #[error("malformed proof bundle: {0}")]
    Malformed(String),
    /// The bundle is for another model.
    #[error("the proof is for model {found}, not {expected}")]
    WrongModel {
        /// Model id in the bundle.
        found: String,
        /// Model id expected.
        expected: String,
    },
    /// The bundle was proven against another SRS (for example the development SRS while this
    /// verifier uses the ceremony SRS).
    #[error("the proof was made with SRS {found}, this verifier uses SRS {expected}; load the same SRS file")]
    WrongSrs {
        /// SRS fingerprint in the bundle (hex prefix).
        found: String,
        /// SRS fingerprint of this verifier (hex prefix).
        expected: String,
    },
    /// The bundle was made with another verifying key for this model: by a zkiris build whose
    /// circuit or key generation differs (for example before selector compression).
    #[error("the proof was made with verifying key {found}, this verifier has {expected} for the same model (another zkiris circuit version); re-prove with this version")]
    WrongVerifyingKey {
        /// Verifying-key fingerprint in the bundle (hex prefix).
        found: String,
        /// Verifying-key fingerprint of this verifier (hex prefix).
        expected: String,
    },
    /// The proof uses a transcript this build cannot check (Poseidon without feature `agg`).
    #[error("this zkiris build cannot verify {0}-transcript proofs (it was built without the `agg` feature)")]
    TranscriptUnavailable(ProofTranscript),
    /// The proof does not verify.
    #[error("the proof is invalid: {0}")]
    Invalid(String),
}

/// Where the SRS comes from.
#[derive(Clone, Debug)]
pub enum SrsSource {
    /// The deterministic, insecure development SRS (generated and cached).
    Development,
    /// Ceremony-derived parameters in a halo2 `ParamsKZG` file.
    File(PathBuf),
}

impl SrsSource {
    /// Obtains the SRS for `k`.
    pub fn get(&self, k: u32, cache_dir: &Path) -> Result<Srs, SrsError> {
        match self {
            SrsSource::Development => Srs::development(k, cache_dir),
            SrsSource::File(p) => Srs::load(p, k),
        }
    }

    /// Obtains the points of the SRS for `k` that a verifier uses (see `srs`): a few hundred
    /// bytes read instead of the whole SRS. The result verifies and renders EVM verifiers; it
    /// cannot prove.
    pub fn get_for_verifier(&self, k: u32, cache_dir: &Path) -> Result<Srs, SrsError> {
        match self {
            SrsSource::Development => Srs::development_for_verifier(k, cache_dir),
            SrsSource::File(p) => Srs::load_for_verifier(p, k),
        }
    }
}

/// A verified model prepared for proving: plan, SRS and proving key.
#[derive(Clone)]
pub struct ProvingSetup {
    model: Arc<Model>,
    plan: Arc<StatementPlan>,
    srs: Srs,
    pk: Arc<ProvingKey<G1Affine>>,
    vk_fingerprint: [u8; 32],
    key_source: KeySource,
}

impl std::fmt::Debug for ProvingSetup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProvingSetup({} k={} vk={})", self.model.manifest().name, self.srs.k(), hex::encode(&self.vk_fingerprint[..8]))
    }
}

pub use crate::public::{fr_from_be, fr_to_be};

fn cancelled(cancel: &CancellationToken) -> Result<(), ProveError> {
    if cancel.is_cancelled() {
        Err(ProveError::Cancelled)
    } else {
        Ok(())
    }
}

impl ProvingSetup {
    /// Plans the circuit, obtains the SRS and loads or generates the proving key.
    pub fn prepare(
        model: Arc<Model>,
        srs_source: &SrsSource,
        cache_dir: Option<&Path>,
        progress: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> Result<Self, ProveError> {
        progress.on_progress(Phase::Plan, 0.0);
        let plan = Arc::new(StatementPlan::new(&model)?);
        cancelled(cancel)?;
        let k = plan.min_k();
        progress.on_progress(Phase::Srs, 0.2);
        let default_cache = srs::default_cache_dir();
        let srs = srs_source.get(k, cache_dir.unwrap_or(&default_cache))?;
        if srs.k() != k {
            return Err(ProveError::SrsTooSmall { have: srs.k(), need: k });
        }
        cancelled(cancel)?;
        // Key generation reports from 0.4 to 1.0 and can be cancelled between its steps.
        let keygen_progress = keys::KeygenProgress::new(progress, cancel, 0.4, 1.0);
        let (pk, key_source) = keys::load_or_generate_with(&srs, &plan, &model.id(), cache_dir, &keygen_progress).map_err(|e| match e {
            keys::KeyError::Cancelled => ProveError::Cancelled,
            e => e.into(),
        })?;
        if let Some(dir) = cache_dir {
            // A verifier of this model on this device can then skip planning.
            keys::store_shape(dir, &model.id(), &plan);
        }
        let vk_fingerprint = keys::vk_fingerprint(pk.get_vk());
        Ok(Self { model, plan, srs, pk: Arc::new(pk), vk_fingerprint, key_source })
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The circuit plan.
    pub fn plan(&self) -> &Arc<StatementPlan> {
        &self.plan
    }

    /// The SRS.
    pub fn srs(&self) -> &Srs {
        &self.srs
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }

    /// Fingerprint of the verifying key.
    pub fn vk_fingerprint(&self) -> [u8; 32] {
        self.vk_fingerprint
    }

    /// Whether the proving key came from the cache.
    pub fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// A verifier for this setup's model.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            model: self.model.clone(),
            params: self.srs.params().clone(),
            vk: Arc::new(self.pk.get_vk().clone()),
            vk_fingerprint: self.vk_fingerprint,
            srs_fingerprint: self.srs.fingerprint(),
            key_source: self.key_source,
        }
    }

    /// Proves that `image`/`mask`/`salt` encode to the model's code and match their commitment.
    ///
    /// The model runs once, natively; its trace is the witness. In mpc-shares mode the codes
    /// are secret-shared with fresh random slopes, and each share is encrypted to its party
    /// (`options.party_keys`); the bundle then holds the three envelopes and no code.
    /// `options.transcript` chooses the Fiat–Shamir transcript (Keccak for a contract, Poseidon
    /// for a relayer's aggregation).
    #[allow(clippy::too_many_arguments)]
    pub fn prove(
        &self,
        image: &IrisImage,
        mask: &IrisMask,
        salt: &Salt,
        attestation: Option<Attestation>,
        options: &ProveOptions,
        progress: &dyn ProgressListener,
        cancel: &CancellationToken,
    ) -> Result<ProofBundle, ProveError> {
        progress.on_progress(Phase::Witness, 0.0);
        let manifest = self.model.manifest();
        let rules = &manifest.rules;
        let StatementWitness { witness, shares, iris_code, mask_code, valid_bits: valid } = self.statement_witness(image, mask, salt, options)?;
        let instances = witness.instances.clone();
        cancelled(cancel)?;
        progress.on_progress(Phase::Prove, 0.1);
        let circuit = IrisCircuit::with_witness(self.plan.clone(), Arc::new(witness));
        let point_bytes = options.transcript.point_bytes();
        let expected = estimate::proof_bytes(self.pk.get_vk(), point_bytes);
        let safe_after = point_bytes * self.pk.get_vk().cs().num_advice_columns();
        let sink = progress::TranscriptSink::new(expected, safe_after, 0.1, 0.99, progress, cancel);
        let result = match options.transcript {
            ProofTranscript::Evm => {
                let mut transcript: EvmTranscript<G1Affine, _, _, _> = halo2_proofs::transcript::TranscriptWriterBuffer::init(sink);
                self.create_proof(circuit, &instances, &mut transcript)
                    .map(|()| halo2_proofs::transcript::TranscriptWriterBuffer::finalize(transcript).into_inner())
            }
            #[cfg(feature = "agg")]
            ProofTranscript::Poseidon => {
                let mut transcript = agg::poseidon_writer(sink);
                self.create_proof(circuit, &instances, &mut transcript).map(|()| transcript.finalize().into_inner())
            }
            #[cfg(not(feature = "agg"))]
            ProofTranscript::Poseidon => return Err(ProveError::TranscriptUnavailable(ProofTranscript::Poseidon)),
        };
        let proof = match result {
            Ok(proof) => proof,
            Err(_) if cancel.is_cancelled() => return Err(ProveError::Cancelled),
            Err(e) => return Err(e),
        };
        let public_inputs: Vec<[u8; 32]> = instances.iter().map(fr_to_be).collect();
        let envelopes = self.seal_shares(shares.as_ref(), options, &public_inputs)?;
        // mpc-shares: the bundle carries the envelopes and no code.
        let (iris_code, mask_code, valid_bits) = match shares {
            Some(_) => (Vec::new(), Vec::new(), None),
            None => (iris_code.to_vec(), mask_code.to_vec(), Some(valid)),
        };
        progress.on_progress(Phase::Prove, 1.0);
        Ok(ProofBundle {
            model_id: self.model.id(),
            model_name: manifest.name.clone(),
            model_version: manifest.version.clone(),
            vk_fingerprint: self.vk_fingerprint,
            srs_fingerprint: self.srs.fingerprint(),
            srs_insecure: self.srs.is_insecure(),
            submission: rules.submission,
            public_inputs,
            code_layout: rules.code_layout,
            iris_code,
            mask_code,
            valid_bits,
            attestation,
            envelopes,
            proof,
            transcript: options.transcript,
        })
    }

    /// Runs the halo2 prover (SHPLONK) on `circuit` into `transcript`, containing panics.
    fn create_proof<E, T>(&self, circuit: IrisCircuit, instances: &[Fr], transcript: &mut T) -> Result<(), ProveError>
    where
        E: EncodedChallenge<G1Affine>,
        T: TranscriptWrite<G1Affine, E>,
    {
        contain_panic(|| prove_shplonk(self.srs.params(), &self.pk, circuit, instances, transcript))
    }
}

/// halo2's prover with SHPLONK on one circuit with one instance column, randomness from the OS
/// (the model proofs and the aggregation proof both use it).
pub(crate) fn prove_shplonk<C, E, T>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    transcript: &mut T,
) -> Result<(), halo2_proofs::plonk::Error>
where
    C: halo2_proofs::plonk::Circuit<Fr>,
    E: EncodedChallenge<G1Affine>,
    T: TranscriptWrite<G1Affine, E>,
{
    let rng: rand_chacha::ChaCha20Rng = rand_chacha::rand_core::SeedableRng::from_entropy();
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(params, pk, &[circuit], &[&[instances]], rng, transcript)
}

/// Everything a proof of one enrollment needs before the prover runs ([`ProvingSetup::prove`],
/// in either transcript): the witness (with its public inputs), the serialized codes and, in
/// mpc-shares mode, the three shares (fresh slopes).
pub(crate) struct StatementWitness {
    pub(crate) witness: Witness,
    pub(crate) shares: Option<[crate::mpc::Share; 3]>,
    pub(crate) iris_code: zeroize::Zeroizing<Vec<u8>>,
    pub(crate) mask_code: zeroize::Zeroizing<Vec<u8>>,
    pub(crate) valid_bits: u32,
}

impl ProvingSetup {
    /// Checks the party keys against the submission mode, runs the model once (refusing an
    /// enrollment the statement would reject), shares the codes in mpc-shares mode and builds
    /// the witness; its share commitments must equal the shares'.
    pub(crate) fn statement_witness(&self, image: &IrisImage, mask: &IrisMask, salt: &Salt, options: &ProveOptions) -> Result<StatementWitness, ProveError> {
        let manifest = self.model.manifest();
        match (manifest.rules.submission, &options.party_keys) {
            (Submission::MpcShares, None) => return Err(ProveError::MissingPartyKeys { model: manifest.name.clone() }),
            (Submission::PublicCode, Some(_)) => return Err(ProveError::UnexpectedPartyKeys { model: manifest.name.clone() }),
            _ => {}
        }
        let enc = check_enrollment(&self.model, image, mask)?;
        let valid_bits = enc.bits.valid_bits();
        let (c_fr, salt_fr, binding) = statement_fields(image, mask, salt, options)?;
        let (iris_code, mask_code) = self.model.serialized_codes(&enc);
        // mpc-shares: the shares with fresh slopes (the witness recomputes S_p from the same
        // bits and slopes; both must agree).
        let shared = match &self.plan.shares {
            None => None,
            Some(sp) => {
                let masked = crate::mpc::MaskedCode::new(&iris_code, &mask_code, 4 * sp.chunks).map_err(|e| ProveError::Shares(e.to_string()))?;
                let slopes = crate::mpc::Slopes::random(sp.chunks);
                let shares = crate::mpc::share(&masked, &slopes).map_err(|e| ProveError::Shares(e.to_string()))?;
                Some((slopes, shares))
            }
        };
        let witness = Witness::from_encoding(&self.model, &self.plan, &enc, salt_fr, c_fr, binding, shared.as_ref().map(|(s, _)| s))?;
        drop(enc);
        let shares = shared.map(|(_, shares)| shares);
        if let Some(shares) = &shares {
            let row = crate::public::ROW_SHARE_COMMITMENTS;
            if shares.iter().enumerate().any(|(p, s)| s.commitment() != witness.instances[row + p]) {
                return Err(ProveError::Halo2("share commitments of the witness and the shares differ".into()));
            }
        }
        Ok(StatementWitness { witness, shares, iris_code, mask_code, valid_bits })
    }

    /// mpc-shares: the three shares sealed to `options.party_keys`, bound to the proof's
    /// `public_inputs`; public-code: none. ([`Self::statement_witness`] has checked that the
    /// party keys are given exactly when there are shares.)
    pub(crate) fn seal_shares(
        &self,
        shares: Option<&[crate::mpc::Share; 3]>,
        options: &ProveOptions,
        public_inputs: &[[u8; 32]],
    ) -> Result<Vec<Vec<u8>>, ProveError> {
        match (shares, &options.party_keys) {
            (Some(shares), Some(keys)) => envelopes::seal(shares, keys, self.model.id(), public_inputs),
            _ => Ok(Vec::new()),
        }
    }
}

/// The field elements a proof binds besides the codes: the commitment to `image`, `mask` and
/// `salt`, the salt, and the submission binding (zero when unbound).
fn statement_fields(image: &IrisImage, mask: &IrisMask, salt: &Salt, options: &ProveOptions) -> Result<(Fr, Fr, Fr), ProveError> {
    let commitment = crate::commitment::commit(image, mask, salt)?;
    let c_fr = fr_from_be(&commitment.0).ok_or_else(|| ProveError::Halo2("commitment is not canonical".into()))?;
    let salt_fr = fr_from_be(salt.as_bytes()).ok_or_else(|| ProveError::Halo2("salt is not canonical".into()))?;
    Ok((c_fr, salt_fr, options.binding.map(|b| b.to_field()).unwrap_or(Fr::zero())))
}

/// Runs the halo2 prover. halo2 panics on some internal errors; a panic must never escape (it
/// may cross an FFI), so it becomes a [`ProveError::Halo2`] like the prover's own errors.
fn contain_panic(prove: impl FnOnce() -> Result<(), halo2_proofs::plonk::Error>) -> Result<(), ProveError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(prove)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ProveError::Halo2(e.to_string())),
        Err(panic) => Err(ProveError::Halo2(format!("prover panicked: {}", panic_message(panic.as_ref())))),
    }
}

/// The message of a caught panic (empty if it carried none).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload.downcast_ref::<String>().cloned().or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string())).unwrap_or_default()
}

/// Runs `model` natively on an enrollment and checks what the statement requires before any
/// proving work: enough valid mask bits, and a liveness score at or above the model's τ. The
/// circuit enforces both (a proof of a failing enrollment cannot be made); this gives the typed
/// reason early.
pub fn check_enrollment(model: &Model, image: &IrisImage, mask: &IrisMask) -> Result<crate::model::Encoding, ProveError> {
    let rules = &model.manifest().rules;
    let enc = model.encode(image, mask)?;
    let valid = enc.bits.valid_bits();
    if valid < rules.min_valid_bits {
        return Err(ProveError::InsufficientValidBits { valid, required: rules.min_valid_bits });
    }
    if let (Some(rule), Some(score)) = (&rules.liveness, enc.liveness) {
        if score < rule.threshold {
            return Err(ProveError::LivenessBelowThreshold { score, threshold: rule.threshold });
        }
    }
    Ok(enc)
}

/// What a verified proof states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedStatement {
    /// The model.
    pub model_id: [u8; 32],
    /// The enrollment commitment.
    pub commitment: Commitment,
    /// The submission binding (public input 3; zero when unbound).
    pub binding: [u8; 32],
    /// How the codes are submitted.
    pub submission: Submission,
    /// The proven serialized iris code (public-code; empty in mpc-shares mode).
    pub iris_code: Vec<u8>,
    /// The proven serialized mask code (public-code; empty in mpc-shares mode).
    pub mask_code: Vec<u8>,
    /// Set bits of the mask code (public-code; not revealed in mpc-shares mode).
    pub valid_bits: Option<u32>,
    /// The codes as a template (public-code, shipped 4 × 16 × 256 models).
    pub template: Option<IrisTemplate>,
    /// `S_1, S_2, S_3`, 32-byte big-endian (mpc-shares).
    pub share_commitments: Option<[[u8; 32]; 3]>,
}

/// Verifies proofs for one model.
#[derive(Clone)]
pub struct Verifier {
    model: Arc<Model>,
    params: Arc<ParamsKZG<Bn256>>,
    vk: Arc<VerifyingKey<G1Affine>>,
    vk_fingerprint: [u8; 32],
    srs_fingerprint: [u8; 32],
    key_source: KeySource,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Verifier({}, vk={})", self.model.manifest().name, hex::encode(&self.vk_fingerprint[..8]))
    }
}

impl Verifier {
    /// Builds a verifier: reads the circuit's shape (`keys::cached_shape`) and verifying key
    /// (`keys::cached_vk`) from the cache directory (the default one if `None`); if either is
    /// missing, plans the statement and loads or derives the key (`keys::load_or_derive_vk`),
    /// caching both. The first verifier of a model on a machine takes seconds, later ones
    /// read two files (tens of milliseconds), without planning the statement.
    pub fn new(model: Arc<Model>, srs_source: &SrsSource, cache_dir: Option<&Path>) -> Result<Self, ProveError> {
        let default_cache = srs::default_cache_dir();
        let dir = cache_dir.unwrap_or(&default_cache);
        let model_id = model.id();
        if let Some((k, shape)) = keys::cached_shape(dir, &model_id) {
            let srs = srs_source.get_for_verifier(k, dir)?;
            if let Some(vk) = keys::cached_vk(&srs, &shape, &model_id, dir) {
                return Ok(Self::with_key(model, &srs, vk, KeySource::Cache));
            }
        }
        let plan = Arc::new(StatementPlan::new(&model)?);
        keys::store_shape(dir, &model_id, &plan);
        let srs = srs_source.get(plan.min_k(), dir)?;
        let (vk, key_source) = keys::load_or_derive_vk(&srs, &plan, &model_id, Some(dir))?;
        Ok(Self::with_key(model, &srs, vk, key_source))
    }

    fn with_key(model: Arc<Model>, srs: &Srs, vk: VerifyingKey<G1Affine>, key_source: KeySource) -> Self {
        let vk_fingerprint = keys::vk_fingerprint(&vk);
        Self { model, params: srs.params().clone(), vk: Arc::new(vk), vk_fingerprint, srs_fingerprint: srs.fingerprint(), key_source }
    }

    /// Whether the verifying key came from the cache or was derived.
    pub fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// The model.
    pub fn model(&self) -> &Arc<Model> {
        &self.model
    }

    /// The verifying key.
    pub fn verifying_key(&self) -> &VerifyingKey<G1Affine> {
        &self.vk
    }

    /// The KZG parameters. A verifier built from the cache holds only the points verification
    /// uses ([`SrsSource::get_for_verifier`]): enough to verify and to render an EVM verifier,
    /// not to commit or prove.
    pub fn params(&self) -> &Arc<ParamsKZG<Bn256>> {
        &self.params
    }

    /// Checks a bundle: model, layout, consistency of the decoded codes with the public inputs,
    /// and the proof itself.
    pub fn verify(&self, bundle: &ProofBundle) -> Result<VerifiedStatement, VerifyError> {
        if bundle.model_id != self.model.id() {
            return Err(VerifyError::WrongModel { found: bundle.model_id_hex(), expected: self.model.id_hex() });
        }
        if bundle.srs_fingerprint != self.srs_fingerprint {
            return Err(VerifyError::WrongSrs { found: hex::encode(&bundle.srs_fingerprint[..8]), expected: hex::encode(&self.srs_fingerprint[..8]) });
        }
        if bundle.vk_fingerprint != self.vk_fingerprint {
            return Err(VerifyError::WrongVerifyingKey { found: hex::encode(&bundle.vk_fingerprint[..8]), expected: hex::encode(&self.vk_fingerprint[..8]) });
        }
        let rules = &self.model.manifest().rules;
        let layout = PublicLayout::of(&self.model);
        if bundle.submission != rules.submission {
            return Err(VerifyError::Malformed(format!("the bundle says {}, the model submits {}", bundle.submission, rules.submission)));
        }
        let public = PublicInputs::from_be_bytes(&layout, &bundle.public_inputs).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        let instances = public.to_instances();
        if public.min_valid_bits != rules.min_valid_bits {
            return Err(VerifyError::Invalid("public min_valid_bits differs from the model's".into()));
        }
        // τ is public input row 2 when the model's liveness rule says so, else row 2 is zero.
        let tau = rules.liveness.as_ref().filter(|l| l.public).map(|l| crate::public::signed_to_field(l.threshold)).unwrap_or(Fr::zero());
        if public.liveness_threshold != tau {
            return Err(VerifyError::Invalid("public liveness threshold differs from the model's".into()));
        }
        if bundle.code_layout != rules.code_layout {
            return Err(VerifyError::Malformed("code layout differs from the model's".into()));
        }
        let mut share_commitments = None;
        match &public.body {
            crate::public::PublicBody::Codes { iris_words, mask_words } => {
                if bundle.iris_code.len() != layout.iris_bits.div_ceil(8) || bundle.mask_code.len() != layout.mask_bits.div_ceil(8) {
                    return Err(VerifyError::Malformed("code length differs from the model's".into()));
                }
                let popcount: u32 = bundle.mask_code.iter().map(|b| b.count_ones()).sum();
                if bundle.valid_bits != Some(popcount) {
                    return Err(VerifyError::Malformed("valid_bits is not the mask code's popcount".into()));
                }
                if crate::public::code_words(&bundle.iris_code) != *iris_words || crate::public::code_words(&bundle.mask_code) != *mask_words {
                    return Err(VerifyError::Malformed("the codes do not match the public inputs".into()));
                }
                if !bundle.envelopes.is_empty() {
                    return Err(VerifyError::Malformed("a public-code bundle carries no share envelopes".into()));
                }
            }
            crate::public::PublicBody::Shares(s) => {
                if !bundle.iris_code.is_empty() || !bundle.mask_code.is_empty() || bundle.valid_bits.is_some() {
                    return Err(VerifyError::Malformed("an mpc-shares bundle must not carry the iris or mask code".into()));
                }
                envelopes::check(bundle, s, layout.iris_bits / 4)?;
                share_commitments = Some(s.map(|x| fr_to_be(&x)));
            }
        }
        let commitment = Commitment::from_bytes(bundle.public_inputs[crate::public::ROW_COMMITMENT]).map_err(|e| VerifyError::Malformed(e.to_string()))?;
        match bundle.transcript {
            ProofTranscript::Evm => {
                let mut transcript = EvmTranscript::<G1Affine, _, _, _>::init(bundle.proof.as_slice());
                self.check_proof(&instances, &mut transcript)?;
            }
            #[cfg(feature = "agg")]
            ProofTranscript::Poseidon => self.check_proof(&instances, &mut agg::poseidon_reader(&bundle.proof))?,
            #[cfg(not(feature = "agg"))]
            ProofTranscript::Poseidon => return Err(VerifyError::TranscriptUnavailable(ProofTranscript::Poseidon)),
        }
        Ok(VerifiedStatement {
            model_id: bundle.model_id,
            commitment,
            binding: fr_to_be(&public.binding),
            submission: bundle.submission,
            iris_code: bundle.iris_code.clone(),
            mask_code: bundle.mask_code.clone(),
            valid_bits: bundle.valid_bits,
            template: bundle.template(),
            share_commitments,
        })
    }

    /// The halo2 verifier (SHPLONK) on `instances` and the proof in `transcript`.
    fn check_proof<E, T>(&self, instances: &[Fr], transcript: &mut T) -> Result<(), VerifyError>
    where
        E: EncodedChallenge<G1Affine>,
        T: halo2_proofs::transcript::TranscriptRead<G1Affine, E>,
    {
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            self.params.verifier_params(),
            &self.vk,
            SingleStrategy::new(self.params.as_ref()),
            &[&[instances]],
            transcript,
        )
        .map_err(|e| VerifyError::Invalid(e.to_string()))
    }
}
