//! Aggregation for relayers (feature `agg`; a relayer's host runs it, never the phone, and it
//! needs no secret; phones only make the aggregatable proofs).
//!
//! A prover proves with [`ProofTranscript::Poseidon`] (`ProveOptions::transcript`; with this
//! feature, so on a host: the phone bindings do not offer it yet); a relayer collects such bundles of one model and an [`Aggregator`] folds them into one
//! [`AggregatedProof`] whose Keccak-transcript proof one contract call verifies
//! ([`AggregationKey::solidity_verifier`]).
//!
//! snark-verifier's in-circuit verifier (snark-verifier-sdk 0.2.7's `AggregationCircuit`, halo2
//! loader) recomputes each inner proof's Fiat–Shamir challenges with its Poseidon transcript,
//! which is why the inner proofs must be made with that transcript instead of the Keccak
//! `EvmTranscript`: same circuit, same proving key, same public inputs. The aggregation
//! circuit checks every inner proof up to the final pairing, folds those pairings into one KZG
//! accumulator, and exposes the accumulator (12 limbs) and each inner proof's public inputs as
//! its own public inputs; its verifier checks its own proof and the accumulator's pairing
//! ([`accumulator_holds`]). Both submission modes aggregate; in mpc-shares mode only the 7
//! public inputs are re-exposed and the relayer forwards each bundle's envelopes to the parties.
//!
//! | step                | what runs                                                    |
//! |---------------------|--------------------------------------------------------------|
//! | inputs              | each bundle: Poseidon transcript, [`Verifier::verify`]       |
//! | key generation      | once per `n`: `AggregationCircuit` (keygen stage, placeholder proofs) → verifying and proving key at `k`, break points |
//! | proof               | `AggregationCircuit` (prover stage, same break points), SHPLONK, Keccak transcript |
//! | check               | [`AggregationKey::verify`]: the proof natively, then the accumulator |
//!
//! The aggregation key depends only on `n` and the model's protocol: [`Aggregator::prepare`]
//! generates it over placeholder proofs before any real proof exists (so the verifier can be
//! deployed first), and an aggregator keeps it for every later batch of `n` (key generation is
//! about a third of an aggregation: minutes at world-v3 size, see the README, "Aggregation for
//! relayers").

mod proof;

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use halo2_proofs::halo2curves::bn256::Fq;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk, verify_proof, ProvingKey, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::halo2::{gen_dummy_snark_from_protocol, PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::snark_verifier::halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey};
use snark_verifier_sdk::snark_verifier::pcs::AccumulationDecider;
use snark_verifier_sdk::snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::util::arithmetic::{fe_from_limbs, CurveAffine};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{CircuitExt, NativeLoader, Snark, SHPLONK};

pub use proof::{AggregatedProof, AggregatedProofError, BatchCalldataError, AGGREGATED_MAGIC, AGGREGATED_VERSION};

use crate::evm::{VerifierSource, ACCUMULATOR_INSTANCES};

use super::*;

/// A Poseidon transcript writing a proof into `stream` (the spec the aggregation circuit uses).
pub(crate) fn poseidon_writer<W: Write>(stream: W) -> PoseidonTranscript<NativeLoader, W> {
    PoseidonTranscript::<NativeLoader, W>::from_spec(stream, POSEIDON_SPEC.clone())
}

/// A Poseidon transcript reading `proof`.
pub(crate) fn poseidon_reader(proof: &[u8]) -> PoseidonTranscript<NativeLoader, &[u8]> {
    PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone())
}

/// The snark-verifier protocol of a verifying key with one instance column of `num_instances`
/// rows. `compile` reads the phases of the constraint system from the key (world-v3: advice in
/// two phases with the challenge β between them), as for the EVM verifier
/// ([`crate::evm::VerifierSource`]).
pub fn protocol(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> PlonkProtocol<G1Affine> {
    compile(params, vk, Config::kzg().with_num_instance(vec![num_instances]))
}

/// The final check of an aggregation proof's KZG accumulator, natively: its first 12 public
/// inputs are `lhs.x, lhs.y, rhs.x, rhs.y` as three 88-bit limbs each, and the aggregation
/// is sound only if `e(lhs, [1]₂) = e(rhs, [τ]₂)` over the inner proofs' SRS — what the EVM
/// verifier of the aggregation circuit checks last. `false` for malformed limbs.
pub fn accumulator_holds(params: &ParamsKZG<Bn256>, instances: &[Fr]) -> bool {
    if instances.len() < ACCUMULATOR_INSTANCES {
        return false;
    }
    let c: Vec<Fq> = (0..4).map(|i| fe_from_limbs::<Fr, Fq, 3, 88>([instances[3 * i], instances[3 * i + 1], instances[3 * i + 2]])).collect();
    let (Some(lhs), Some(rhs)) = (G1Affine::from_xy(c[0], c[1]).into_option(), G1Affine::from_xy(c[2], c[3]).into_option()) else {
        return false;
    };
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(&dk, KzgAccumulator::new(lhs, rhs)).is_ok()
}

impl ProvingSetup {
    /// The snark-verifier protocol of this setup's verifying key.
    pub fn snark_protocol(&self) -> PlonkProtocol<G1Affine> {
        protocol(self.srs.params(), self.pk.get_vk(), self.plan.instances)
    }
}

/// Errors while aggregating or checking an aggregated proof.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AggregateError {
    /// Nothing to aggregate.
    #[error("no proof bundles to aggregate; give at least one")]
    NoProofs,
    /// A bundle was proven with the Keccak transcript, which the aggregation circuit cannot
    /// re-derive.
    #[error("bundle {index} was proven with the {found} transcript; aggregation needs Poseidon-transcript proofs (`zkiris prove --aggregatable`, `ProveOptions::transcript`)")]
    NotAggregatable {
        /// Position of the bundle (0-based).
        index: usize,
        /// Its transcript.
        found: ProofTranscript,
    },
    /// A bundle does not verify (or is for another model, SRS or key).
    #[error("bundle {index} does not verify: {source}")]
    InvalidBundle {
        /// Position of the bundle (0-based).
        index: usize,
        /// Why.
        source: VerifyError,
    },
    /// The aggregation SRS cannot be obtained.
    #[error(transparent)]
    Srs(#[from] SrsError),
    /// The aggregation SRS is not from the same τ as the inner proofs' SRS: the accumulator
    /// could never be decided.
    #[error("the aggregation SRS (2^{k}) is not from the same setup as the proofs' SRS; use one SRS file for both")]
    SrsMismatch {
        /// The aggregation SRS's k.
        k: u32,
    },
    /// `k` is outside what the aggregation circuit can use.
    #[error("aggregation k = {k} is outside 18..=26")]
    BadK {
        /// The k asked for.
        k: u32,
    },
    /// More proofs than one aggregation takes.
    #[error("{n} proofs in one batch; at most {max} (split the batch)")]
    TooManyProofs {
        /// Proofs given.
        n: usize,
        /// The limit.
        max: usize,
    },
    /// The caller cancelled.
    #[error("aggregation was cancelled")]
    Cancelled,
    /// The aggregated proof is for another aggregation key, model or shape.
    #[error("the aggregated proof does not match this aggregation key: {0}")]
    WrongKey(String),
    /// The aggregated proof does not verify.
    #[error("the aggregated proof is invalid: {0}")]
    Invalid(String),
    /// The aggregated proof file is malformed.
    #[error(transparent)]
    Format(#[from] AggregatedProofError),
    /// halo2 or snark-verifier failed (a bug in zkiris; please report it).
    #[error("aggregation failed: {0}")]
    Internal(String),
}

/// Folds Poseidon-transcript proof bundles of one model into one [`AggregatedProof`].
#[derive(Clone)]
pub struct Aggregator {
    inner: Verifier,
    protocol: PlonkProtocol<G1Affine>,
    srs_source: SrsSource,
    cache_dir: PathBuf,
    k: u32,
    /// The aggregation keys generated so far, per batch size (shared by clones).
    keys: Arc<Mutex<HashMap<usize, Arc<PreparedKey>>>>,
}

/// The aggregation circuit's keys for one batch size: what key generation produces and every
/// later aggregation of that many proofs reuses.
struct PreparedKey {
    pk: ProvingKey<G1Affine>,
    config: AggregationConfigParams,
    break_points: MultiPhaseThreadBreakPoints,
    key: AggregationKey,
}

impl std::fmt::Debug for Aggregator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Aggregator({}, k={})", self.inner.model().manifest().name, self.k)
    }
}

impl Aggregator {
    /// The aggregation circuit's default size: 2^21 rows (two world-v3 proofs in 9 advice
    /// columns; see the README's aggregation table).
    pub const DEFAULT_K: u32 = 21;

    /// An aggregator of `inner`'s model at 2^`k` rows. The SRS of that size comes from
    /// `srs_source` (cached in `cache_dir`, the default one if `None`) when
    /// [`Self::aggregate`] has checked its bundles; it must come from the same setup as the
    /// inner proofs' SRS.
    pub fn new(inner: Verifier, srs_source: &SrsSource, cache_dir: Option<&Path>, k: u32) -> Result<Self, AggregateError> {
        if !(18..=26).contains(&k) {
            return Err(AggregateError::BadK { k });
        }
        let cache_dir = cache_dir.map(Path::to_path_buf).unwrap_or_else(srs::default_cache_dir);
        let protocol = protocol(inner.params(), inner.verifying_key(), PublicLayout::of(inner.model()).len());
        Ok(Self { inner, protocol, srs_source: srs_source.clone(), cache_dir, k, keys: Arc::default() })
    }

    /// The largest batch [`Self::prepare`] accepts (the registry's `MAX_BATCH`).
    pub const MAX_BATCH: usize = 64;

    /// The aggregation key for batches of `n` proofs, generated from the model alone (no proof
    /// needed) the first time and kept by this aggregator (and its clones) for every later
    /// [`Self::aggregate`] of `n` bundles, which then skips key generation (about a third of
    /// an aggregation's time). A relayer calls it at start-up to deploy the aggregation
    /// verifier ([`AggregationKey::solidity_verifier`], then the registry's
    /// `setAggregationVerifier(modelId, n, verifier)`) before any proof arrives. Obtains the
    /// aggregation SRS like [`Self::aggregate`]. Progress: `Srs`, `Keygen`; cancellation
    /// between the steps.
    pub fn prepare(&self, n: usize, progress: &dyn ProgressListener, cancel: &CancellationToken) -> Result<AggregationKey, AggregateError> {
        if n == 0 {
            return Err(AggregateError::NoProofs);
        }
        if n > Self::MAX_BATCH {
            return Err(AggregateError::TooManyProofs { n, max: Self::MAX_BATCH });
        }
        progress.on_progress(Phase::Srs, 0.0);
        let srs = self.aggregation_srs()?;
        if cancel.is_cancelled() {
            return Err(AggregateError::Cancelled);
        }
        Ok(self.prepared(n, &srs, progress, cancel)?.key.clone())
    }

    /// The aggregation SRS (2^k points), checked to come from the inner proofs' setup.
    fn aggregation_srs(&self) -> Result<srs::Srs, AggregateError> {
        let srs = self.srs_source.get(self.k, &self.cache_dir)?;
        let inner_params = self.inner.params();
        if srs.params().s_g2() != inner_params.s_g2() || srs.params().get_g()[0] != inner_params.get_g()[0] {
            return Err(AggregateError::SrsMismatch { k: self.k });
        }
        Ok(srs)
    }

    /// The cached keys for `n` proofs, or key generation over `n` placeholder proofs of the
    /// model's protocol: the aggregation circuit's shape (and so its keys and break points)
    /// depends only on that protocol and `n`, never on the proofs' values.
    fn prepared(&self, n: usize, srs: &srs::Srs, progress: &dyn ProgressListener, cancel: &CancellationToken) -> Result<Arc<PreparedKey>, AggregateError> {
        let stop = || if cancel.is_cancelled() { Err(AggregateError::Cancelled) } else { Ok(()) };
        // One key generation at a time: a second caller for the same n waits for the first.
        let mut keys = self.keys.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(prepared) = keys.get(&n) {
            return Ok(prepared.clone());
        }
        progress.on_progress(Phase::Keygen, 0.05);
        let k = self.k;
        let agg_params = srs.params();
        let placeholders = vec![gen_dummy_snark_from_protocol::<SHPLONK>(self.protocol.clone()); n];
        let config = AggregationConfigParams { degree: k, lookup_bits: k as usize - 1, ..Default::default() };
        let mut circuit = self.circuit(CircuitBuilderStage::Keygen, config, placeholders)?;
        let config = circuit.calculate_params(Some(20));
        stop()?;
        let vk = contained(|| keygen_vk(agg_params.as_ref(), &circuit).map_err(|e| e.to_string()))?;
        progress.on_progress(Phase::Keygen, 0.25);
        stop()?;
        let pk = contained(|| keygen_pk(agg_params.as_ref(), vk, &circuit).map_err(|e| e.to_string()))?;
        let break_points = circuit.break_points();
        let num_instances = circuit.num_instance().first().copied().unwrap_or(0);
        drop(circuit);
        progress.on_progress(Phase::Keygen, 0.45);
        let key = AggregationKey {
            vk: pk.get_vk().clone(),
            params: agg_params.clone(),
            inner_params: self.inner.params().clone(),
            vk_fingerprint: keys::vk_fingerprint(pk.get_vk()),
            num_instances,
        };
        let prepared = Arc::new(PreparedKey { pk, config, break_points, key });
        keys.insert(n, prepared.clone());
        Ok(prepared)
    }

    /// The aggregation circuit over `snarks` at `stage`.
    fn circuit(&self, stage: CircuitBuilderStage, config: AggregationConfigParams, snarks: Vec<Snark>) -> Result<AggregationCircuit, AggregateError> {
        contained(|| {
            let mut circuit = AggregationCircuit::new::<SHPLONK>(stage, config, self.inner.params(), snarks, VerifierUniversality::None);
            circuit.expose_previous_instances(false);
            Ok(circuit)
        })
    }

    /// The verifier of the inner proofs.
    pub fn inner(&self) -> &Verifier {
        &self.inner
    }

    /// Verifies each bundle, obtains the aggregation SRS (generating the development one the
    /// first time takes minutes at k = 21), takes the aggregation key for `bundles.len()`
    /// proofs (prepared by [`Self::prepare`] or an earlier aggregation, else generated now),
    /// proves the aggregation and checks the result. Progress: `Verify` (inputs), `Srs`,
    /// `Keygen` (only when the key is generated), `Prove`, `Verify` (the result); cancellation
    /// between the steps. Bundles are refused before anything expensive runs; more than
    /// [`Self::MAX_BATCH`] with [`AggregateError::TooManyProofs`].
    pub fn aggregate(&self, bundles: &[ProofBundle], progress: &dyn ProgressListener, cancel: &CancellationToken) -> Result<Aggregation, AggregateError> {
        let stop = || if cancel.is_cancelled() { Err(AggregateError::Cancelled) } else { Ok(()) };
        if bundles.is_empty() {
            return Err(AggregateError::NoProofs);
        }
        if bundles.len() > Self::MAX_BATCH {
            return Err(AggregateError::TooManyProofs { n: bundles.len(), max: Self::MAX_BATCH });
        }
        progress.on_progress(Phase::Verify, 0.0);
        let mut statements = Vec::with_capacity(bundles.len());
        let mut snarks = Vec::with_capacity(bundles.len());
        for (index, bundle) in bundles.iter().enumerate() {
            if bundle.transcript != ProofTranscript::Poseidon {
                return Err(AggregateError::NotAggregatable { index, found: bundle.transcript });
            }
            let statement = self.inner.verify(bundle).map_err(|source| AggregateError::InvalidBundle { index, source })?;
            let instances = bundle.instances().map_err(|e| AggregateError::InvalidBundle { index, source: VerifyError::Malformed(e.to_string()) })?;
            snarks.push(Snark::new(self.protocol.clone(), vec![instances], bundle.proof.clone()));
            statements.push(statement);
            stop()?;
        }

        progress.on_progress(Phase::Srs, 0.02);
        let srs = self.aggregation_srs()?;
        stop()?;

        // The keys for this many proofs: cached, or generated now (see `Self::prepare`).
        let prepared = self.prepared(bundles.len(), &srs, progress, cancel)?;
        stop()?;

        progress.on_progress(Phase::Prove, 0.5);
        let circuit = self.circuit(CircuitBuilderStage::Prover, prepared.config, snarks)?.use_break_points(prepared.break_points.clone());
        let instances = circuit.instances().remove(0);
        if instances.len() != prepared.key.num_instances {
            return Err(AggregateError::Internal(format!("{} public inputs, the aggregation key has {}", instances.len(), prepared.key.num_instances)));
        }
        stop()?;
        let proof = contained(|| {
            let mut transcript: EvmTranscript<G1Affine, _, _, _> = halo2_proofs::transcript::TranscriptWriterBuffer::init(Vec::new());
            prove_shplonk(srs.params(), &prepared.pk, circuit, &instances, &mut transcript).map_err(|e| e.to_string())?;
            Ok(halo2_proofs::transcript::TranscriptWriterBuffer::finalize(transcript))
        })?;

        progress.on_progress(Phase::Verify, 0.95);
        let key = prepared.key.clone();
        let inner = &self.inner;
        let aggregated = AggregatedProof {
            model_id: inner.model().id(),
            model_name: inner.model().manifest().name.clone(),
            submission: inner.model().manifest().rules.submission,
            inner_vk_fingerprint: inner.vk_fingerprint,
            srs_fingerprint: inner.srs_fingerprint,
            srs_insecure: srs.is_insecure(),
            k: self.k,
            aggregation_vk_fingerprint: key.vk_fingerprint,
            inputs_per_proof: self.protocol.num_instance[0] as u32,
            instances: instances.iter().map(fr_to_be).collect(),
            proof,
        };
        key.verify(&aggregated)?;
        progress.on_progress(Phase::Verify, 1.0);
        Ok(Aggregation { proof: aggregated, key, statements })
    }
}

/// The result of [`Aggregator::aggregate`].
#[derive(Clone, Debug)]
pub struct Aggregation {
    /// The aggregated proof.
    pub proof: AggregatedProof,
    /// The aggregation circuit's verifying key (for [`AggregationKey::solidity_verifier`]).
    pub key: AggregationKey,
    /// What each inner proof states, in bundle order.
    pub statements: Vec<VerifiedStatement>,
}

/// The verifying side of an aggregation circuit for one model and one `n`.
#[derive(Clone)]
pub struct AggregationKey {
    vk: VerifyingKey<G1Affine>,
    params: Arc<ParamsKZG<Bn256>>,
    inner_params: Arc<ParamsKZG<Bn256>>,
    vk_fingerprint: [u8; 32],
    num_instances: usize,
}

impl std::fmt::Debug for AggregationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AggregationKey(vk={}, {} instances)", hex::encode(&self.vk_fingerprint[..8]), self.num_instances)
    }
}

impl AggregationKey {
    /// Fingerprint of the aggregation verifying key.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.vk_fingerprint
    }

    /// Public inputs of the aggregation circuit (12 + n × the inner proofs').
    pub fn num_instances(&self) -> usize {
        self.num_instances
    }

    /// Checks an aggregated proof natively: it is for this key, its proof verifies (Keccak
    /// transcript, SHPLONK), and its accumulator's pairing holds over the inner SRS.
    pub fn verify(&self, aggregated: &AggregatedProof) -> Result<(), AggregateError> {
        if aggregated.aggregation_vk_fingerprint != self.vk_fingerprint {
            return Err(AggregateError::WrongKey(format!(
                "made with aggregation key {}, this is {}",
                hex::encode(&aggregated.aggregation_vk_fingerprint[..8]),
                hex::encode(&self.vk_fingerprint[..8])
            )));
        }
        if aggregated.instances.len() != self.num_instances {
            return Err(AggregateError::WrongKey(format!("{} public inputs, the key has {}", aggregated.instances.len(), self.num_instances)));
        }
        let instances = aggregated.instance_fields()?;
        let mut transcript = EvmTranscript::<G1Affine, _, _, _>::init(aggregated.proof.as_slice());
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            self.params.verifier_params(),
            &self.vk,
            SingleStrategy::new(self.params.as_ref()),
            &[&[&instances]],
            &mut transcript,
        )
        .map_err(|e| AggregateError::Invalid(e.to_string()))?;
        if !accumulator_holds(&self.inner_params, &instances) {
            return Err(AggregateError::Invalid("the KZG accumulator's pairing check fails".into()));
        }
        Ok(())
    }

    /// The aggregation circuit's Solidity verifier (calldata
    /// [`AggregatedProof::verifier_calldata`]): the proof and the accumulator decided by one
    /// pairing. Compile it with [`crate::evm::Solc::compile_verifier`], which splits it into
    /// contracts under EIP-170's size limit when it does not fit in one.
    pub fn solidity_verifier(&self) -> Result<VerifierSource, AggregateError> {
        let (params, vk, n) = (&self.params, &self.vk, self.num_instances);
        contained(|| VerifierSource::render_aggregation(params, vk, n).map_err(|e| e.to_string()))
    }
}

/// Runs `f`, turning an error or a panic (halo2-base and snark-verifier assert on internal
/// errors) into [`AggregateError::Internal`].
fn contained<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, AggregateError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(AggregateError::Internal(e)),
        Err(panic) => Err(AggregateError::Internal(format!("panicked: {}", panic_message(panic.as_ref())))),
    }
}
