//! Proof bundles and their verification.

use std::sync::Arc;

use zkiris::prover as core;
use zkiris::public::HEADER_ROWS;

use crate::blocking::off_thread;
use crate::error::{guard, ZkirisError};
use crate::model::Model;
use crate::srs::SrsSource;
use crate::submission::Submission;

/// A proof with its public statement: the model, the enrollment commitment, the submission
/// binding, and either the iris and mask codes (`PublicCode` models) or three encrypted share
/// envelopes with their public commitments (`MpcShares` models). Serializes to a versioned
/// binary file (`.zkp`).
#[derive(Debug, uniffi::Object)]
pub struct ProofBundle {
    inner: core::ProofBundle,
}

impl ProofBundle {
    /// Wraps a core bundle, checking it has the public-input header (commitment, thresholds,
    /// binding) every accessor relies on.
    pub(crate) fn new(inner: core::ProofBundle) -> Result<Self, ZkirisError> {
        if inner.public_inputs.len() < HEADER_ROWS {
            return Err(ZkirisError::MalformedBundle { detail: format!("{} public inputs; at least {HEADER_ROWS} expected", inner.public_inputs.len()) });
        }
        Ok(Self { inner })
    }

    pub(crate) fn core(&self) -> &core::ProofBundle {
        &self.inner
    }
}

#[uniffi::export]
impl ProofBundle {
    /// Parses bundle bytes (as written by `to_bytes`).
    #[uniffi::constructor]
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Arc<Self>, ZkirisError> {
        guard(|| Ok(Arc::new(Self::new(core::ProofBundle::from_bytes(&bytes)?)?)))
    }

    /// The bundle as bytes (magic `ZKIRISP\0`, format version, body).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.inner.to_bytes()
    }

    /// The model id (hex).
    pub fn model_id(&self) -> String {
        self.inner.model_id_hex()
    }

    /// The model name.
    pub fn model_name(&self) -> String {
        self.inner.model_name.clone()
    }

    /// The model version.
    pub fn model_version(&self) -> String {
        self.inner.model_version.clone()
    }

    /// The 32-byte enrollment commitment `C` (public input 0).
    pub fn commitment(&self) -> Vec<u8> {
        self.inner.public_inputs[zkiris::public::ROW_COMMITMENT].to_vec()
    }

    /// How the proof submits the code (the model's mode).
    pub fn submission(&self) -> Submission {
        self.inner.submission.into()
    }

    /// The submission binding, public input 3: 32 bytes, big-endian; all zero when the proof
    /// was made without a `SubmissionBinding` (no registry accepts it then). Compare with
    /// `submissionBindingValue(binding)`.
    pub fn binding(&self) -> Vec<u8> {
        self.inner.public_inputs[zkiris::public::ROW_BINDING].to_vec()
    }

    /// The serialized iris code (packed bits, MSB first, in the model's code layout).
    /// **Empty for `MpcShares` proofs**: the code never leaves the phone in the clear.
    pub fn iris_code(&self) -> Vec<u8> {
        self.inner.iris_code.clone()
    }

    /// The serialized mask code. **Empty for `MpcShares` proofs.**
    pub fn mask_code(&self) -> Vec<u8> {
        self.inner.mask_code.clone()
    }

    /// The number of set bits of the mask code; absent for `MpcShares` proofs (not revealed).
    pub fn valid_bits(&self) -> Option<u32> {
        self.inner.valid_bits
    }

    /// The three share envelopes of an `MpcShares` proof, in party order 1, 2, 3: party `p`'s
    /// secret share, HPKE-encrypted (X-Wing) to party `p`'s public key and bound to this
    /// proof's statement; only party `p`'s secret key opens it. Deliver each to its party.
    /// Empty for `PublicCode` proofs.
    pub fn envelopes(&self) -> Vec<Vec<u8>> {
        self.inner.envelopes.clone()
    }

    /// The public share commitments `S_1, S_2, S_3` of an `MpcShares` proof (public inputs
    /// 4, 5, 6), each 32 bytes big-endian: party `p` accepts the share in its envelope only if
    /// it matches `S_p`. Empty for `PublicCode` proofs.
    pub fn share_commitments(&self) -> Vec<Vec<u8>> {
        self.inner.share_commitments().map(|s| s.iter().map(|c| c.to_vec()).collect()).unwrap_or_default()
    }

    /// The public inputs, each a 32-byte big-endian field element.
    pub fn public_inputs(&self) -> Vec<Vec<u8>> {
        self.inner.public_inputs.iter().map(|w| w.to_vec()).collect()
    }

    /// Whether the proof uses the Poseidon transcript (`ProveOptions.aggregatable`): for a
    /// relayer's aggregation and `registerBatch`, not for the model's verifier contract or
    /// `register`.
    pub fn aggregatable(&self) -> bool {
        self.inner.transcript == zkiris::prover::ProofTranscript::Poseidon
    }

    /// The proof bytes (KZG/SHPLONK over BN254; with the Keccak transcript, verifiable by the
    /// model's verifier contract; with the Poseidon transcript, see `aggregatable`).
    pub fn proof(&self) -> Vec<u8> {
        self.inner.proof.clone()
    }

    /// Whether the proof was made with the insecure development SRS (never accept such
    /// proofs in production).
    pub fn insecure_srs(&self) -> bool {
        self.inner.srs_insecure
    }

    /// The enrollment device that signed the commitment, if the bundle carries its
    /// attestation.
    pub fn device_id(&self) -> Option<String> {
        self.inner.attestation.as_ref().map(|a| a.device.to_string())
    }

    /// EVM calldata for the model's verifier contract: public inputs, then the proof.
    pub fn verifier_calldata(&self) -> Result<Vec<u8>, ZkirisError> {
        guard(|| Ok(self.inner.verifier_calldata()?))
    }

    /// EVM calldata for `IrisCodeRegistry.register(modelId, proof, publicInputs, signature)`
    /// (the first registration of an enrollment; needs the device attestation).
    pub fn register_calldata(&self) -> Result<Vec<u8>, ZkirisError> {
        guard(|| {
            self.inner
                .register_calldata()?
                .ok_or_else(|| ZkirisError::invalid("the bundle has no device attestation; register needs the enrollment device's signature"))
        })
    }

    /// EVM calldata for `IrisCodeRegistry.upgrade(newModelId, proof, publicInputs)` (links
    /// a proof under a newer model to the same enrollment).
    pub fn upgrade_calldata(&self) -> Result<Vec<u8>, ZkirisError> {
        guard(|| Ok(self.inner.upgrade_calldata()?))
    }
}

/// What a verified proof states.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedStatement {
    /// The model id (hex).
    pub model_id: String,
    /// The 32-byte enrollment commitment.
    pub commitment: Vec<u8>,
    /// The proven submission binding (32 bytes, big-endian; all zero when unbound).
    pub binding: Vec<u8>,
    /// How the proof submits the code.
    pub submission: Submission,
    /// The proven serialized iris code; empty for `MpcShares` proofs.
    pub iris_code: Vec<u8>,
    /// The proven serialized mask code; empty for `MpcShares` proofs.
    pub mask_code: Vec<u8>,
    /// Set bits of the mask code; absent for `MpcShares` proofs (not revealed).
    pub valid_bits: Option<u32>,
    /// The proven share commitments `S_1, S_2, S_3` (32 bytes each, big-endian) of an
    /// `MpcShares` proof; empty for `PublicCode` proofs.
    pub share_commitments: Vec<Vec<u8>>,
}

/// Verifies proof bundles of one model natively.
#[derive(Debug, uniffi::Object)]
pub struct Verifier {
    inner: core::Verifier,
}

impl Verifier {
    pub(crate) fn from_core(inner: core::Verifier) -> Self {
        Self { inner }
    }
}

#[uniffi::export]
impl Verifier {
    /// A verifier for `model`: reads the circuit's shape and verifying key from `cache_dir`
    /// (a fraction of a second), or, the first time for a model on this device, plans the
    /// circuit and derives the key (seconds) and caches both. Runs on a worker thread (Kotlin
    /// `suspend`, Swift `async`). `Prover.verifier(model)` is cheaper for a prepared model.
    #[uniffi::constructor]
    pub async fn load(model: Arc<Model>, srs: SrsSource, cache_dir: String) -> Result<Arc<Self>, ZkirisError> {
        off_thread("verifier-load", move || {
            let inner = core::Verifier::new(model.core().clone(), &srs.into(), Some(std::path::Path::new(&cache_dir)))?;
            Ok(Arc::new(Self { inner }))
        })
        .await
    }

    /// Checks `bundle`: its model, the consistency of its codes (or, for `MpcShares`, the
    /// presence and form of its three envelopes) with the public inputs, and the proof. Returns
    /// what it proves; fails with `WrongModel`, `MalformedBundle` or `InvalidProof`. (Whether
    /// an envelope opens to the share `S_p` commits to only its party can check.)
    ///
    /// Runs on a worker thread (Kotlin `suspend`, Swift `async`): tens of milliseconds.
    pub async fn verify(self: Arc<Self>, bundle: Arc<ProofBundle>) -> Result<VerifiedStatement, ZkirisError> {
        off_thread("verify", move || {
            let s = self.inner.verify(bundle.core())?;
            Ok(VerifiedStatement {
                model_id: hex::encode(s.model_id),
                commitment: s.commitment.0.to_vec(),
                binding: s.binding.to_vec(),
                submission: s.submission.into(),
                iris_code: s.iris_code,
                mask_code: s.mask_code,
                valid_bits: s.valid_bits,
                share_commitments: s.share_commitments.map(|c| c.iter().map(|x| x.to_vec()).collect()).unwrap_or_default(),
            })
        })
        .await
    }
}
