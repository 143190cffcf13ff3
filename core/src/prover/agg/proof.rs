//! The aggregated-proof file (`.zka`): one proof that `n` proof bundles of one model verify,
//! with everything a relayer or contract needs to interpret it.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ZKIRISA\0"
//! 8       2     format version (1), little-endian
//! 10      …     bincode (v1, little-endian, fixed-int) of `AggregatedProof` fields:
//!                 model_id [32], model_name, submission (u32: 0 public-code, 1 mpc-shares),
//!                 inner_vk_fingerprint [32], srs_fingerprint [32], srs_insecure, k (u32),
//!                 aggregation_vk_fingerprint [32], inputs_per_proof (u32),
//!                 instances [[32]; 12 + n·inputs_per_proof] (big-endian field elements),
//!                 proof (Keccak transcript, SHPLONK)
//! ```
//!
//! The instances are the aggregation circuit's public inputs: the KZG accumulator
//! (`lhs.x, lhs.y, rhs.x, rhs.y`, three 88-bit limbs each), then each inner proof's public
//! inputs in bundle order (layout v2 of [`crate::public`]: commitment, `min_valid_bits`, τ,
//! binding, then the codes or `S_1..S_3`). A contract calls the aggregation verifier with
//! [`AggregatedProof::verifier_calldata`] and then reads each statement's inputs from the same
//! words.

use serde::{Deserialize, Serialize};

use halo2_proofs::halo2curves::bn256::Fr;

use crate::evm::ACCUMULATOR_INSTANCES as ACCUMULATOR_LIMBS;
use crate::model::manifest::Submission;
use crate::prover::{fr_from_be, ProofBundle};
use crate::public::{fr_to_be, Binding, ROW_BINDING};

/// File magic.
pub const AGGREGATED_MAGIC: &[u8; 8] = b"ZKIRISA\0";
/// Current format version.
pub const AGGREGATED_VERSION: u16 = 1;

/// Errors decoding an aggregated proof.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum AggregatedProofError {
    /// Not a zkiris aggregated proof.
    #[error("not a zkiris aggregated proof (bad magic)")]
    BadMagic,
    /// Written by a newer zkiris.
    #[error("aggregated proof format {found} is newer than this SDK supports ({supported}); update zkiris")]
    UnsupportedVersion {
        /// Version found.
        found: u16,
        /// Version supported.
        supported: u16,
    },
    /// Truncated, corrupt or inconsistent.
    #[error("aggregated proof is truncated or corrupt: {0}")]
    Corrupt(String),
}

/// Why `registerBatch` or `upgradeBatch` calldata cannot be built
/// ([`AggregatedProof::register_batch_calldata`], [`AggregatedProof::upgrade_batch_calldata`]):
/// each case would make the registry revert, so it is refused before anything is sent.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum BatchCalldataError {
    /// Not one bundle and one binding per aggregated statement.
    #[error("the aggregated proof holds {expected} statements, but {bundles} bundles and {bindings} bindings were given")]
    Count {
        /// Statements in the aggregated proof.
        expected: usize,
        /// Bundles given.
        bundles: usize,
        /// Bindings given.
        bindings: usize,
    },
    /// Bundle `index` is not statement `index` of the aggregated proof.
    #[error("bundle {index} is not statement {index} of the aggregated proof (its public inputs differ); give the bundles in the order they were aggregated")]
    NotTheStatement {
        /// Position.
        index: usize,
    },
    /// Bundle `index` carries no enrollment device signature.
    #[error("bundle {index} has no enrollment device signature, which a first registration needs (prove from a vault record)")]
    Unsigned {
        /// Position.
        index: usize,
    },
    /// Statement `index` is not bound to the account (at the chain and registry) given for it.
    #[error("statement {index} is not bound to account 0x{account} on chain {chain_id} at registry 0x{registry}: the registry would revert BindingMismatch")]
    WrongBinding {
        /// Position.
        index: usize,
        /// The account given, hex.
        account: String,
        /// The chain id given.
        chain_id: u64,
        /// The registry given, hex.
        registry: String,
    },
    /// The bindings name more than one chain or registry; a batch goes to one registry.
    #[error("binding {index} names another chain or registry than binding 0; a batch goes to one registry")]
    MixedRegistries {
        /// Position.
        index: usize,
    },
}

/// One proof that `n` proof bundles of one model verify.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AggregatedProof {
    /// Model id of every inner proof.
    pub model_id: [u8; 32],
    /// Model name.
    pub model_name: String,
    /// How the inner statements submit the codes.
    pub submission: Submission,
    /// Verifying-key fingerprint of the inner proofs.
    pub inner_vk_fingerprint: [u8; 32],
    /// Fingerprint of the inner proofs' SRS (the aggregation SRS has the same τ).
    pub srs_fingerprint: [u8; 32],
    /// Whether the insecure development SRS was used.
    pub srs_insecure: bool,
    /// log2 of the aggregation circuit's rows.
    pub k: u32,
    /// Fingerprint of the aggregation circuit's verifying key.
    pub aggregation_vk_fingerprint: [u8; 32],
    /// Public inputs of each inner proof.
    pub inputs_per_proof: u32,
    /// The aggregation circuit's public inputs, 32-byte big-endian: the accumulator's 12
    /// limbs, then each inner proof's public inputs.
    pub instances: Vec<[u8; 32]>,
    /// The aggregation proof (Keccak transcript, SHPLONK): verifies natively and in the
    /// aggregation circuit's Solidity verifier.
    pub proof: Vec<u8>,
}

impl AggregatedProof {
    /// Encodes as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.proof.len() + 32 * self.instances.len() + 256);
        out.extend_from_slice(AGGREGATED_MAGIC);
        out.extend_from_slice(&AGGREGATED_VERSION.to_le_bytes());
        // Serializing plain data into a Vec cannot fail.
        out.extend(bincode::serialize(self).expect("aggregated proof serializes"));
        out
    }

    /// Decodes bytes, refusing unknown formats and an instance count that does not match.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AggregatedProofError> {
        if bytes.len() < 10 || &bytes[..8] != AGGREGATED_MAGIC {
            return Err(AggregatedProofError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[8], bytes[9]]);
        if version != AGGREGATED_VERSION {
            return Err(AggregatedProofError::UnsupportedVersion { found: version, supported: AGGREGATED_VERSION });
        }
        use bincode::Options;
        let opts = bincode::DefaultOptions::new().with_fixint_encoding().with_limit(64 << 20);
        let p: AggregatedProof = opts.deserialize(&bytes[10..]).map_err(|e| AggregatedProofError::Corrupt(e.to_string()))?;
        let per = p.inputs_per_proof as usize;
        let inner =
            p.instances.len().checked_sub(ACCUMULATOR_LIMBS).ok_or_else(|| AggregatedProofError::Corrupt("fewer instances than accumulator limbs".into()))?;
        if per == 0 || inner == 0 || inner % per != 0 {
            return Err(AggregatedProofError::Corrupt(format!("{inner} inner public inputs are not a whole number of proofs of {per}")));
        }
        Ok(p)
    }

    /// How many proofs this aggregates.
    pub fn len(&self) -> usize {
        (self.instances.len().saturating_sub(ACCUMULATOR_LIMBS)).checked_div(self.inputs_per_proof as usize).unwrap_or(0)
    }

    /// Whether it aggregates no proof (never for a decoded or produced one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Inner proof `i`'s public inputs (32-byte big-endian, layout v2), in bundle order.
    pub fn statement_inputs(&self, i: usize) -> Option<&[[u8; 32]]> {
        let per = self.inputs_per_proof as usize;
        self.instances.get(ACCUMULATOR_LIMBS + i * per..ACCUMULATOR_LIMBS + (i + 1) * per)
    }

    /// The instances as field elements.
    pub fn instance_fields(&self) -> Result<Vec<Fr>, AggregatedProofError> {
        self.instances
            .iter()
            .map(|b| fr_from_be(b).ok_or_else(|| AggregatedProofError::Corrupt("an instance is not a canonical field element".into())))
            .collect()
    }

    /// Calldata for the aggregation circuit's Solidity verifier: every instance as a 32-byte
    /// word, then the proof (the same ABI as a model's verifier,
    /// [`crate::evm::calldata::encode_verifier_calldata`]).
    pub fn verifier_calldata(&self) -> Result<Vec<u8>, AggregatedProofError> {
        Ok(crate::evm::calldata::encode_verifier_calldata(&self.instance_fields()?, &self.proof))
    }

    /// Calldata for `IrisCodeRegistry.registerBatch(modelId, proof, instances, accounts,
    /// deviceSignatures)` ([`crate::evm::calldata::register_batch_calldata`]): `bundles` are the
    /// aggregated bundles in their aggregation order (each gives its enrollment device
    /// signature), `bindings[i]` the [`Binding`] statement `i` was proven for (its account goes
    /// into `accounts`). Everything the registry would revert on before the proof check that can
    /// be seen here is refused: a count mismatch, a bundle that is not its statement, a missing
    /// signature, a binding that does not match, bindings for two registries.
    pub fn register_batch_calldata(&self, bundles: &[ProofBundle], bindings: &[Binding]) -> Result<Vec<u8>, BatchCalldataError> {
        let accounts = self.batch_accounts(bundles, bindings)?;
        let signatures = bundles
            .iter()
            .enumerate()
            .map(|(index, bundle)| bundle.attestation.as_ref().map(|a| a.signature).ok_or(BatchCalldataError::Unsigned { index }))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::evm::calldata::register_batch_calldata(&self.model_id, &self.proof, &self.instances, &accounts, &signatures))
    }

    /// Calldata for `IrisCodeRegistry.upgradeBatch(newModelId, proof, instances, accounts)`
    /// ([`crate::evm::calldata::upgrade_batch_calldata`]): the aggregated proof's statements,
    /// proven under the newer model, move their commitments to it. `bundles` and `bindings` as
    /// for [`Self::register_batch_calldata`], with the same checks except the device signature,
    /// which an upgrade does not take (each commitment was attested at its first registration).
    pub fn upgrade_batch_calldata(&self, bundles: &[ProofBundle], bindings: &[Binding]) -> Result<Vec<u8>, BatchCalldataError> {
        let accounts = self.batch_accounts(bundles, bindings)?;
        Ok(crate::evm::calldata::upgrade_batch_calldata(&self.model_id, &self.proof, &self.instances, &accounts))
    }

    /// The accounts of a batch, after checking that `bundles[i]` is statement `i` and that the
    /// statement is bound to `bindings[i]`, all at one registry.
    fn batch_accounts(&self, bundles: &[ProofBundle], bindings: &[Binding]) -> Result<Vec<[u8; 20]>, BatchCalldataError> {
        let expected = self.len();
        if bundles.len() != expected || bindings.len() != expected {
            return Err(BatchCalldataError::Count { expected, bundles: bundles.len(), bindings: bindings.len() });
        }
        for (index, (bundle, binding)) in bundles.iter().zip(bindings).enumerate() {
            let statement = self.statement_inputs(index).ok_or(BatchCalldataError::NotTheStatement { index })?;
            if bundle.model_id != self.model_id || bundle.public_inputs != statement {
                return Err(BatchCalldataError::NotTheStatement { index });
            }
            if (binding.chain_id, binding.registry) != (bindings[0].chain_id, bindings[0].registry) {
                return Err(BatchCalldataError::MixedRegistries { index });
            }
            if statement.get(ROW_BINDING) != Some(&fr_to_be(&binding.to_field())) {
                return Err(BatchCalldataError::WrongBinding {
                    index,
                    account: hex::encode(binding.account),
                    chain_id: binding.chain_id,
                    registry: hex::encode(binding.registry),
                });
            }
        }
        Ok(bindings.iter().map(|b| b.account).collect())
    }

    /// Model id as hex.
    pub fn model_id_hex(&self) -> String {
        hex::encode(self.model_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AggregatedProof {
        AggregatedProof {
            model_id: [1; 32],
            model_name: "m".into(),
            submission: Submission::MpcShares,
            inner_vk_fingerprint: [2; 32],
            srs_fingerprint: [3; 32],
            srs_insecure: true,
            k: 20,
            aggregation_vk_fingerprint: [4; 32],
            inputs_per_proof: 7,
            instances: (0..12 + 14u8).map(|i| [i; 32]).collect(),
            proof: vec![9; 100],
        }
    }

    #[test]
    fn round_trips_and_splits_statements() {
        let p = sample();
        let back = AggregatedProof::from_bytes(&p.to_bytes()).unwrap();
        assert_eq!(back, p);
        assert_eq!(p.len(), 2);
        assert_eq!(p.statement_inputs(1).unwrap()[0], [19; 32]);
        assert!(p.statement_inputs(2).is_none());
    }

    #[test]
    fn refuses_bad_magic_versions_and_counts() {
        let p = sample();
        let mut b = p.to_bytes();
        b[0] ^= 1;
        assert_eq!(AggregatedProof::from_bytes(&b), Err(AggregatedProofError::BadMagic));
        let mut b = p.to_bytes();
        b[8] = 2;
        assert_eq!(AggregatedProof::from_bytes(&b), Err(AggregatedProofError::UnsupportedVersion { found: 2, supported: 1 }));
        let b = p.to_bytes();
        assert!(matches!(AggregatedProof::from_bytes(&b[..b.len() - 1]), Err(AggregatedProofError::Corrupt(_))));
        let odd = AggregatedProof { instances: p.instances[..12 + 13].to_vec(), ..p.clone() };
        assert!(matches!(AggregatedProof::from_bytes(&odd.to_bytes()), Err(AggregatedProofError::Corrupt(_))));
        let none = AggregatedProof { instances: p.instances[..12].to_vec(), ..p };
        assert!(matches!(AggregatedProof::from_bytes(&none.to_bytes()), Err(AggregatedProofError::Corrupt(_))));
    }
}
