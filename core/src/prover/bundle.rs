//! The proof bundle: a versioned binary file (`.zkp`) holding a proof and everything a
//! verifier needs to interpret it.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ZKIRISP\0"
//! 8       2     format version (2: Keccak transcript, 3: Poseidon transcript), little-endian
//! 10      …     bincode (v1, little-endian, fixed-int) of `ProofBundle` fields:
//!                 model_id [32], model_name, model_version, vk_fingerprint [32],
//!                 srs_fingerprint [32], srs_insecure, submission (u32: 0 public-code,
//!                 1 mpc-shares), public_inputs [[32]; n] (big-endian field elements, layout
//!                 v2 of `crate::public`), code_layout, iris_code (packed bits), mask_code
//!                 (packed bits), valid_bits (optional u32), attestation (optional device id +
//!                 65-byte signature over the commitment), envelopes (bytes, three in
//!                 mpc-shares mode, see `crate::mpc::envelope`), proof
//! end−1   1     version 3 only: the transcript, 1 = Poseidon
//! ```
//!
//! In `mpc-shares` mode the bundle never holds the iris template: `iris_code` and `mask_code`
//! are empty and `valid_bits` is absent; the public inputs carry `S_1, S_2, S_3` and the
//! envelopes carry each party's encrypted share. Version 1 (layout v1, no binding, no
//! submission mode) is refused: its verifying keys no longer exist, so its proofs must be made
//! again. A Keccak-transcript bundle is written as version 2 (so SDKs from before version 3
//! still read it) and a Poseidon-transcript bundle as version 3; each proof has exactly one
//! encoding.
//!
//! The proof uses SHPLONK with one of two Fiat–Shamir transcripts ([`ProofTranscript`]):
//! Keccak (the default), so the same bytes verify natively and in the generated Solidity
//! verifier ([`crate::evm`]); or Poseidon, so a relayer can fold the proof into an
//! aggregation proof (feature `agg`, `crate::prover::agg`), which is what goes on chain.

use serde::{Deserialize, Serialize};

use crate::attest::{DeviceId, EnrollmentSignature};
use crate::model::manifest::{CodeLayout, Submission};

/// File magic.
pub const BUNDLE_MAGIC: &[u8; 8] = b"ZKIRISP\0";
/// Newest format version (written for Poseidon-transcript proofs; Keccak-transcript proofs are
/// written as version 2).
pub const BUNDLE_VERSION: u16 = 3;

/// The Fiat–Shamir transcript a proof was made with. Same circuit, keys and public inputs;
/// only the hash that derives the challenges differs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ProofTranscript {
    /// Keccak-256 (snark-verifier's `EvmTranscript`): verifies natively and in the model's
    /// Solidity verifier. The default.
    #[default]
    Evm,
    /// Poseidon over BN254 (snark-verifier's halo2 transcript): verifies natively (feature
    /// `agg`) and inside the aggregation circuit, which a relayer runs to verify many proofs
    /// in one contract call; the model's own Solidity verifier does not accept it.
    Poseidon,
}

impl ProofTranscript {
    /// Lower-case name (`evm`, `poseidon`).
    pub fn name(self) -> &'static str {
        match self {
            ProofTranscript::Evm => "evm",
            ProofTranscript::Poseidon => "poseidon",
        }
    }

    /// Bytes of one curve point in the proof: 64 (uncompressed `x, y`) in the Keccak
    /// transcript, 32 (compressed) in the Poseidon one.
    pub(crate) fn point_bytes(self) -> usize {
        match self {
            ProofTranscript::Evm => 64,
            ProofTranscript::Poseidon => 32,
        }
    }
}

/// The version-3 transcript byte of a Poseidon-transcript proof.
const POSEIDON_TAG: u8 = 1;

impl std::fmt::Display for ProofTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors decoding a bundle.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BundleError {
    /// Not a zkiris proof file.
    #[error("not a zkiris proof bundle (bad magic)")]
    BadMagic,
    /// Written by a newer zkiris.
    #[error("proof bundle format {found} is newer than this SDK supports ({supported}); update zkiris")]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// Written by an old zkiris whose verifying keys no longer exist.
    #[error("proof bundle format {found} is obsolete (its circuit's keys no longer exist); prove again with this SDK")]
    Obsolete {
        /// Version found.
        found: u16,
    },
    /// Truncated or corrupt body.
    #[error("proof bundle is truncated or corrupt: {0}")]
    Corrupt(String),
    /// A Poseidon-transcript (aggregatable) proof asked for the model verifier's or the
    /// registry's single-proof calldata, which only a Keccak-transcript proof satisfies.
    #[error("this proof uses the Poseidon transcript (aggregatable): the model's verifier contract, `register` and `upgrade` reject it; submit it through a relayer's aggregation (`registerBatch`), or prove again without `aggregatable`")]
    NotForTheVerifierContract,
}

/// The device attestation carried with a proof: who signed the commitment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attestation {
    /// The enrollment device.
    pub device: DeviceId,
    /// Its signature over the commitment.
    pub signature: EnrollmentSignature,
}

/// A proof with its public statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofBundle {
    /// Model id (sha256 of ONNX and rules).
    pub model_id: [u8; 32],
    /// Model name.
    pub model_name: String,
    /// Model version.
    pub model_version: String,
    /// sha256 of the verifying key.
    pub vk_fingerprint: [u8; 32],
    /// Fingerprint of the SRS.
    pub srs_fingerprint: [u8; 32],
    /// Whether the proof was made with the insecure development SRS.
    pub srs_insecure: bool,
    /// How the statement submits the codes.
    pub submission: Submission,
    /// Public inputs as 32-byte big-endian field elements (layout v2, [`crate::public`]).
    pub public_inputs: Vec<[u8; 32]>,
    /// Serialization layout of the codes.
    pub code_layout: CodeLayout,
    /// The serialized iris code (packed bits in `code_layout` order, MSB first); empty in
    /// mpc-shares mode.
    pub iris_code: Vec<u8>,
    /// The serialized mask code; empty in mpc-shares mode.
    pub mask_code: Vec<u8>,
    /// Set mask bits (public-code mode; not revealed in mpc-shares mode).
    pub valid_bits: Option<u32>,
    /// Enrollment-device attestation of the commitment, if known.
    pub attestation: Option<Attestation>,
    /// Each MPC party's share, encrypted to it (mpc-shares mode: three, in party order).
    pub envelopes: Vec<Vec<u8>>,
    /// The proof (SHPLONK, made with `transcript`).
    pub proof: Vec<u8>,
    /// The proof's Fiat–Shamir transcript (the last byte of the file, not in the bincode body).
    #[serde(skip)]
    pub transcript: ProofTranscript,
}

impl ProofBundle {
    /// Encodes as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.proof.len() + 64 * self.public_inputs.len() + 8192);
        out.extend_from_slice(BUNDLE_MAGIC);
        let version: u16 = match self.transcript {
            ProofTranscript::Evm => 2,
            ProofTranscript::Poseidon => 3,
        };
        out.extend_from_slice(&version.to_le_bytes());
        // Serializing plain data into a Vec cannot fail.
        out.extend(bincode::serialize(self).expect("bundle serializes"));
        if self.transcript == ProofTranscript::Poseidon {
            out.push(POSEIDON_TAG);
        }
        out
    }

    /// Decodes bytes, refusing unknown formats.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleError> {
        if bytes.len() < 10 || &bytes[..8] != BUNDLE_MAGIC {
            return Err(BundleError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version > BUNDLE_VERSION {
            return Err(BundleError::UnsupportedVersion { found: version, supported: BUNDLE_VERSION });
        }
        if version < 2 {
            return Err(BundleError::Obsolete { found: version });
        }
        use bincode::Options;
        let opts = bincode::DefaultOptions::new().with_fixint_encoding().with_limit(64 << 20);
        let mut rest = &bytes[10..];
        let mut b: ProofBundle = opts.deserialize_from(&mut rest).map_err(|e| BundleError::Corrupt(e.to_string()))?;
        match (version, rest) {
            (2, []) => {}
            (3, [POSEIDON_TAG]) => b.transcript = ProofTranscript::Poseidon,
            (2, _) => return Err(BundleError::Corrupt(format!("{} bytes after the proof", rest.len()))),
            _ => return Err(BundleError::Corrupt("a version-3 bundle must end with the Poseidon transcript byte".into())),
        }
        Ok(b)
    }

    /// The commitment (public input 0).
    pub fn commitment(&self) -> Option<[u8; 32]> {
        self.public_inputs.first().copied()
    }

    /// Model id as hex.
    pub fn model_id_hex(&self) -> String {
        hex::encode(self.model_id)
    }

    /// The public inputs as field elements (the instance column).
    pub fn instances(&self) -> Result<Vec<halo2_proofs::halo2curves::bn256::Fr>, BundleError> {
        self.public_inputs
            .iter()
            .map(|b| super::fr_from_be(b).ok_or_else(|| BundleError::Corrupt("a public input is not a canonical field element".into())))
            .collect()
    }

    /// Calldata for the model's generated verifier contract: every public input as a 32-byte
    /// word, then the proof ([`crate::evm::calldata::encode_verifier_calldata`]). A
    /// Poseidon-transcript proof is refused ([`BundleError::NotForTheVerifierContract`]), as
    /// by [`Self::register_calldata`] and [`Self::upgrade_calldata`].
    pub fn verifier_calldata(&self) -> Result<Vec<u8>, BundleError> {
        self.evm_transcript()?;
        Ok(crate::evm::calldata::encode_verifier_calldata(&self.instances()?, &self.proof))
    }

    /// Refuses a Poseidon-transcript proof where the Keccak transcript is needed.
    fn evm_transcript(&self) -> Result<(), BundleError> {
        match self.transcript {
            ProofTranscript::Evm => Ok(()),
            ProofTranscript::Poseidon => Err(BundleError::NotForTheVerifierContract),
        }
    }

    /// Calldata for `IrisCodeRegistry.register` ([`crate::evm::calldata::register_calldata`]),
    /// or `None` when the bundle carries no device attestation.
    pub fn register_calldata(&self) -> Result<Option<Vec<u8>>, BundleError> {
        self.evm_transcript()?;
        let Some(att) = &self.attestation else { return Ok(None) };
        Ok(Some(crate::evm::calldata::register_calldata(&self.model_id, &self.proof, &self.instances()?, &att.signature)))
    }

    /// Calldata for `IrisCodeRegistry.upgrade` ([`crate::evm::calldata::upgrade_calldata`]).
    pub fn upgrade_calldata(&self) -> Result<Vec<u8>, BundleError> {
        self.evm_transcript()?;
        Ok(crate::evm::calldata::upgrade_calldata(&self.model_id, &self.proof, &self.instances()?))
    }

    /// The submission binding (public input 3), if present.
    pub fn binding(&self) -> Option<[u8; 32]> {
        self.public_inputs.get(crate::public::ROW_BINDING).copied()
    }

    /// `S_1, S_2, S_3` (mpc-shares mode).
    pub fn share_commitments(&self) -> Option<[[u8; 32]; 3]> {
        if self.submission != Submission::MpcShares {
            return None;
        }
        let r = crate::public::ROW_SHARE_COMMITMENTS;
        Some([*self.public_inputs.get(r)?, *self.public_inputs.get(r + 1)?, *self.public_inputs.get(r + 2)?])
    }

    /// The codes as an open-iris style template, for 4 × 16 × 256 codes (the shipped models);
    /// `None` in mpc-shares mode.
    pub fn template(&self) -> Option<crate::iriscode::IrisTemplate> {
        use base64::Engine;
        let valid_bits = self.valid_bits?;
        if self.iris_code.len() != 2048 || self.mask_code.len() != 2048 {
            return None;
        }
        let b64 = base64::engine::general_purpose::STANDARD;
        Some(crate::iriscode::IrisTemplate {
            model_id: self.model_id,
            code_layout: self.code_layout,
            iris_codes: b64.encode(&self.iris_code),
            mask_codes: b64.encode(&self.mask_code),
            valid_bits,
        })
    }
}
