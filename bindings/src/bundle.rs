//! Proof bundles and their verification.

use std::sync::Arc;

use zkiris::circuit::plan::HEADER_INSTANCES;
use zkiris::prover as core;

use crate::error::{guard, ZkirisError};
use crate::model::Model;
use crate::prover::SrsSource;

/// A proof with its public statement: the model, the enrollment commitment and the iris and
/// mask codes. Serializes to a versioned binary file (`.zkp`).
#[derive(Debug, uniffi::Object)]
pub struct ProofBundle {
    inner: core::ProofBundle,
}

impl ProofBundle {
    /// Wraps a core bundle, checking it has the public-input header (commitment,
    /// thresholds) every accessor relies on.
    pub(crate) fn new(inner: core::ProofBundle) -> Result<Self, ZkirisError> {
        if inner.public_inputs.len() < HEADER_INSTANCES {
            return Err(ZkirisError::MalformedBundle {
                detail: format!(
                    "{} public inputs; at least {HEADER_INSTANCES} expected",
                    inner.public_inputs.len()
                ),
            });
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
        self.inner.public_inputs[0].to_vec()
    }

    /// The serialized iris code (packed bits, MSB first, in the model's code layout).
    pub fn iris_code(&self) -> Vec<u8> {
        self.inner.iris_code.clone()
    }

    /// The serialized mask code.
    pub fn mask_code(&self) -> Vec<u8> {
        self.inner.mask_code.clone()
    }

    /// The number of set bits of the mask code.
    pub fn valid_bits(&self) -> u32 {
        self.inner.valid_bits
    }

    /// The public inputs, each a 32-byte big-endian field element.
    pub fn public_inputs(&self) -> Vec<Vec<u8>> {
        self.inner.public_inputs.iter().map(|w| w.to_vec()).collect()
    }

    /// The proof bytes (KZG/SHPLONK over BN254, Keccak transcript: verifiable on chain).
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
            self.inner.register_calldata()?.ok_or_else(|| {
                ZkirisError::invalid(
                    "the bundle has no device attestation; register needs the enrollment device's signature",
                )
            })
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
    /// The proven serialized iris code.
    pub iris_code: Vec<u8>,
    /// The proven serialized mask code.
    pub mask_code: Vec<u8>,
    /// Set bits of the mask code.
    pub valid_bits: u32,
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
    /// A verifier for `model`: derives its verifying key from the model and the SRS (cached
    /// under `cache_dir`). `Prover.verifier(model)` is cheaper for a prepared model.
    #[uniffi::constructor]
    pub fn new(model: Arc<Model>, srs: SrsSource, cache_dir: String) -> Result<Arc<Self>, ZkirisError> {
        guard(|| {
            let inner = core::Verifier::new(
                model.core().clone(),
                &srs.into(),
                Some(std::path::Path::new(&cache_dir)),
            )?;
            Ok(Arc::new(Self { inner }))
        })
    }

    /// Checks `bundle`: its model, the consistency of its codes with the public inputs, and
    /// the proof. Returns what it proves; fails with `WrongModel`, `MalformedBundle` or
    /// `InvalidProof`.
    pub fn verify(&self, bundle: Arc<ProofBundle>) -> Result<VerifiedStatement, ZkirisError> {
        guard(|| {
            let s = self.inner.verify(bundle.core())?;
            Ok(VerifiedStatement {
                model_id: hex::encode(s.model_id),
                commitment: s.commitment.0.to_vec(),
                iris_code: s.iris_code,
                mask_code: s.mask_code,
                valid_bits: s.valid_bits,
            })
        })
    }
}
