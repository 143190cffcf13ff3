//! Calldata: the public-input layout, the verifier's calldata and the registry's ABI.
//!
//! # Public-input layout, v1 (one instance column, [`NUM_INSTANCES`] rows)
//!
//! ```text
//! instance[0]           commitment C (field element)
//! instance[1]           min_valid_bits
//! instance[2]           liveness threshold τ (0 for models without liveness; −t ↦ p − t)
//! instance[3 .. 70)     iris code words: the 2048-byte serialized iris code cut into 31-byte
//!                       chunks, each read as a big-endian integer (the last chunk has 2 bytes)
//! instance[70 .. 137)   mask code words, same packing
//! ```
//!
//! # Verifier calldata
//!
//! A generated verifier reads the instances as 32-byte big-endian words, then the proof bytes
//! ([`encode_verifier_calldata`], identical to snark-verifier's `encode_calldata`).
//!
//! # Registry
//!
//! The `IrisCodeRegistry` ABI (`contracts/IrisCodeRegistry.sol`) is small enough to encode by
//! hand: [`register_calldata`], [`upgrade_calldata`] and the issuer's administration calls. The
//! code hash the registry stores is [`code_hash`]: `keccak256` of the 134 code and mask words
//! (`instance[3..137]`), each as 32 big-endian bytes.

use halo2_proofs::halo2curves::{
    bn256::Fr,
    ff::{Field, PrimeField},
};
use sha3::{Digest, Keccak256};

use crate::attest::{DeviceId, EnrollmentSignature};

/// Bytes in a serialized iris code (and in a mask code).
pub const CODE_BYTES: usize = 2048;
/// Bytes packed into one code word (31, so a word is always below the field modulus).
pub const WORD_BYTES: usize = 31;
/// Words per code: `⌈2048 / 31⌉ = 67`; the last word holds 2 bytes.
pub const CODE_WORDS: usize = CODE_BYTES.div_ceil(WORD_BYTES);
/// Index of the commitment `C`.
pub const INSTANCE_COMMITMENT: usize = 0;
/// Index of `min_valid_bits`.
pub const INSTANCE_MIN_VALID_BITS: usize = 1;
/// Index of the liveness threshold τ.
pub const INSTANCE_LIVENESS_THRESHOLD: usize = 2;
/// Index of the first iris-code word.
pub const INSTANCE_CODE: usize = 3;
/// Index of the first mask-code word.
pub const INSTANCE_MASK: usize = INSTANCE_CODE + CODE_WORDS;
/// Number of public inputs.
pub const NUM_INSTANCES: usize = INSTANCE_MASK + CODE_WORDS;

/// Errors from encoding or decoding public inputs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CalldataError {
    /// The number of public inputs is not [`NUM_INSTANCES`].
    #[error("expected {expected} public inputs (layout v1), got {got}")]
    InstanceCount {
        /// Received.
        got: usize,
        /// Required.
        expected: usize,
    },
    /// A code or mask buffer does not have [`CODE_BYTES`] bytes.
    #[error("a serialized code must have {expected} bytes, got {got}")]
    CodeLength {
        /// Received.
        got: usize,
        /// Required.
        expected: usize,
    },
    /// A code word is too large to be a packed chunk.
    #[error("public input {index} is not a packed code word (it must be below 2^{bits})")]
    WordOutOfRange {
        /// Index in the instance column.
        index: usize,
        /// Bit bound of that word.
        bits: usize,
    },
    /// 32 bytes are not a canonical BN254 scalar.
    #[error("{what} is not a canonical BN254 field element (32 big-endian bytes below the modulus)")]
    NotCanonical {
        /// Which value.
        what: &'static str,
    },
}

/// A field element as 32 big-endian bytes (the EVM's `uint256`).
pub fn fr_to_be(value: &Fr) -> [u8; 32] {
    let mut out = value.to_repr();
    out.reverse();
    out
}

/// Parses 32 big-endian bytes; they must be below the field modulus.
pub fn fr_from_be(bytes: &[u8; 32], what: &'static str) -> Result<Fr, CalldataError> {
    let mut le = *bytes;
    le.reverse();
    Option::from(Fr::from_repr(le)).ok_or(CalldataError::NotCanonical { what })
}

/// A signed integer as a field element (`−t ↦ p − t`), the encoding of a negative threshold.
pub fn fr_from_i64(value: i64) -> Fr {
    let magnitude = Fr::from(value.unsigned_abs());
    if value < 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Packs a 2048-byte serialized code into its [`CODE_WORDS`] words (31-byte big-endian chunks).
pub fn pack_code(code: &[u8]) -> Result<Vec<Fr>, CalldataError> {
    if code.len() != CODE_BYTES {
        return Err(CalldataError::CodeLength { got: code.len(), expected: CODE_BYTES });
    }
    Ok(code
        .chunks(WORD_BYTES)
        .map(|chunk| {
            let mut be = [0u8; 32];
            be[32 - chunk.len()..].copy_from_slice(chunk);
            // At most 31 bytes: always below the modulus.
            let mut le = be;
            le.reverse();
            Fr::from_repr(le).unwrap_or(Fr::ZERO)
        })
        .collect())
}

/// Unpacks [`CODE_WORDS`] words (starting at instance index `first`, for error messages) into
/// the 2048-byte serialized code: concatenate the words as 31-byte big-endian values and keep
/// the first 2048 bytes (the last word holds 2 bytes).
pub fn unpack_code(words: &[Fr], first: usize) -> Result<Vec<u8>, CalldataError> {
    if words.len() != CODE_WORDS {
        return Err(CalldataError::InstanceCount { got: words.len(), expected: CODE_WORDS });
    }
    let mut out = Vec::with_capacity(CODE_BYTES);
    for (i, word) in words.iter().enumerate() {
        let len = (CODE_BYTES - i * WORD_BYTES).min(WORD_BYTES);
        let be = fr_to_be(word);
        if be[..32 - len].iter().any(|&b| b != 0) {
            return Err(CalldataError::WordOutOfRange { index: first + i, bits: 8 * len });
        }
        out.extend_from_slice(&be[32 - len..]);
    }
    Ok(out)
}

/// The public inputs of an iris-code proof, layout v1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicInputs {
    /// Enrollment commitment `C`.
    pub commitment: Fr,
    /// Minimum number of valid (set) mask bits the proof shows.
    pub min_valid_bits: u32,
    /// Liveness threshold τ as a field element ([`fr_from_i64`]; zero without liveness).
    pub liveness_threshold: Fr,
    /// Serialized iris code, [`CODE_BYTES`] bytes.
    pub code: Vec<u8>,
    /// Serialized mask code, [`CODE_BYTES`] bytes.
    pub mask: Vec<u8>,
}

impl PublicInputs {
    /// The instance column, [`NUM_INSTANCES`] values.
    pub fn to_instances(&self) -> Result<Vec<Fr>, CalldataError> {
        let mut out = Vec::with_capacity(NUM_INSTANCES);
        out.push(self.commitment);
        out.push(Fr::from(u64::from(self.min_valid_bits)));
        out.push(self.liveness_threshold);
        out.extend(pack_code(&self.code)?);
        out.extend(pack_code(&self.mask)?);
        Ok(out)
    }

    /// Parses an instance column (checks the count and that every code word is in range).
    pub fn from_instances(instances: &[Fr]) -> Result<Self, CalldataError> {
        if instances.len() != NUM_INSTANCES {
            return Err(CalldataError::InstanceCount { got: instances.len(), expected: NUM_INSTANCES });
        }
        let be = fr_to_be(&instances[INSTANCE_MIN_VALID_BITS]);
        if be[..28].iter().any(|&b| b != 0) {
            return Err(CalldataError::WordOutOfRange { index: INSTANCE_MIN_VALID_BITS, bits: 32 });
        }
        let min_valid_bits = u32::from_be_bytes([be[28], be[29], be[30], be[31]]);
        Ok(Self {
            commitment: instances[INSTANCE_COMMITMENT],
            min_valid_bits,
            liveness_threshold: instances[INSTANCE_LIVENESS_THRESHOLD],
            code: unpack_code(&instances[INSTANCE_CODE..INSTANCE_MASK], INSTANCE_CODE)?,
            mask: unpack_code(&instances[INSTANCE_MASK..NUM_INSTANCES], INSTANCE_MASK)?,
        })
    }
}

/// Calldata for a generated verifier: every instance as 32 big-endian bytes, then the proof.
pub fn encode_verifier_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    snark_verifier_sdk::evm::encode_calldata(&[instances.to_vec()], proof)
}

/// The code hash the registry stores: `keccak256(instance[3] ‖ … ‖ instance[136])`, each word
/// as 32 big-endian bytes (the iris-code words, then the mask-code words).
pub fn code_hash(instances: &[Fr]) -> Result<[u8; 32], CalldataError> {
    if instances.len() != NUM_INSTANCES {
        return Err(CalldataError::InstanceCount { got: instances.len(), expected: NUM_INSTANCES });
    }
    let mut h = Keccak256::new();
    for word in &instances[INSTANCE_CODE..] {
        h.update(fr_to_be(word));
    }
    Ok(h.finalize().into())
}

/// The 4-byte selector of a function or custom error signature, e.g. `"register(bytes32,bytes,uint256[],bytes)"`.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = Keccak256::digest(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// `topic0` of an event signature, e.g. `"CodeRegistered(bytes32,bytes32,bytes32,address)"`.
pub fn event_topic(signature: &str) -> [u8; 32] {
    Keccak256::digest(signature.as_bytes()).into()
}

/// Signature of `IrisCodeRegistry.register`.
pub const REGISTER_SIG: &str = "register(bytes32,bytes,uint256[],bytes)";
/// Signature of `IrisCodeRegistry.upgrade`.
pub const UPGRADE_SIG: &str = "upgrade(bytes32,bytes,uint256[])";
/// Signature of `IrisCodeRegistry.setModel`.
pub const SET_MODEL_SIG: &str = "setModel(bytes32,address,uint64,uint32,uint256,bool)";
/// Signature of `IrisCodeRegistry.setModelActive`.
pub const SET_MODEL_ACTIVE_SIG: &str = "setModelActive(bytes32,bool)";
/// Signature of `IrisCodeRegistry.setTrustedDevice`.
pub const SET_TRUSTED_DEVICE_SIG: &str = "setTrustedDevice(address,bool)";
/// Signature of `IrisCodeRegistry.setUpgradePolicy`.
pub const SET_UPGRADE_POLICY_SIG: &str = "setUpgradePolicy(bool)";
/// Signature of `IrisCodeRegistry.transferOwnership`.
pub const TRANSFER_OWNERSHIP_SIG: &str = "transferOwnership(address)";
/// Signature of the view `IrisCodeRegistry.codeHashOf`.
pub const CODE_HASH_OF_SIG: &str = "codeHashOf(bytes32,bytes32)";
/// Signature of the view `IrisCodeRegistry.currentModelOf`.
pub const CURRENT_MODEL_OF_SIG: &str = "currentModelOf(bytes32)";

/// One ABI argument.
enum Token<'a> {
    /// A static 32-byte word (`bytes32`, `uintN`, `address`, `bool`).
    Word([u8; 32]),
    /// `bytes`.
    Bytes(&'a [u8]),
    /// `uint256[]`.
    Words(Vec<[u8; 32]>),
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

fn word_address(a: &[u8; 20]) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[12..].copy_from_slice(a);
    w
}

fn encode_call(signature: &str, args: &[Token<'_>]) -> Vec<u8> {
    let mut out = selector(signature).to_vec();
    out.extend(encode_args(args));
    out
}

fn encode_args(args: &[Token<'_>]) -> Vec<u8> {
    let mut head = Vec::with_capacity(32 * args.len());
    let mut tail = Vec::new();
    for arg in args {
        match arg {
            Token::Word(w) => head.extend_from_slice(w),
            Token::Bytes(b) => {
                head.extend_from_slice(&word_u64((32 * args.len() + tail.len()) as u64));
                tail.extend_from_slice(&word_u64(b.len() as u64));
                tail.extend_from_slice(b);
                tail.resize(tail.len() + (32 - b.len() % 32) % 32, 0);
            }
            Token::Words(ws) => {
                head.extend_from_slice(&word_u64((32 * args.len() + tail.len()) as u64));
                tail.extend_from_slice(&word_u64(ws.len() as u64));
                ws.iter().for_each(|w| tail.extend_from_slice(w));
            }
        }
    }
    head.extend(tail);
    head
}

fn instance_words(instances: &[Fr]) -> Vec<[u8; 32]> {
    instances.iter().map(fr_to_be).collect()
}

/// Calldata for `register(modelId, proof, publicInputs, deviceSignature)`.
pub fn register_calldata(model_id: &[u8; 32], proof: &[u8], instances: &[Fr], signature: &EnrollmentSignature) -> Vec<u8> {
    encode_call(
        REGISTER_SIG,
        &[Token::Word(*model_id), Token::Bytes(proof), Token::Words(instance_words(instances)), Token::Bytes(&signature.0)],
    )
}

/// Calldata for `upgrade(newModelId, proof, publicInputs)`.
pub fn upgrade_calldata(new_model_id: &[u8; 32], proof: &[u8], instances: &[Fr]) -> Vec<u8> {
    encode_call(UPGRADE_SIG, &[Token::Word(*new_model_id), Token::Bytes(proof), Token::Words(instance_words(instances))])
}

/// A model entry as the issuer registers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModelEntry {
    /// Model id (the manifest's `model_id`, 32 bytes).
    pub model_id: [u8; 32],
    /// Address of the verifier (the entry part if it is split).
    pub verifier: [u8; 20],
    /// Version; an upgrade must go to a strictly higher version.
    pub version: u64,
    /// The `min_valid_bits` every proof for this model must carry.
    pub min_valid_bits: u32,
    /// The liveness threshold τ every proof for this model must carry (zero without liveness).
    pub liveness_threshold: Fr,
    /// Whether the model accepts registrations and upgrades to it.
    pub active: bool,
}

/// Calldata for `setModel(modelId, verifier, version, minValidBits, livenessThreshold, active)`.
pub fn set_model_calldata(entry: &ModelEntry) -> Vec<u8> {
    encode_call(
        SET_MODEL_SIG,
        &[
            Token::Word(entry.model_id),
            Token::Word(word_address(&entry.verifier)),
            Token::Word(word_u64(entry.version)),
            Token::Word(word_u64(u64::from(entry.min_valid_bits))),
            Token::Word(fr_to_be(&entry.liveness_threshold)),
            Token::Word(word_u64(u64::from(entry.active))),
        ],
    )
}

/// Calldata for `setModelActive(modelId, active)`.
pub fn set_model_active_calldata(model_id: &[u8; 32], active: bool) -> Vec<u8> {
    encode_call(SET_MODEL_ACTIVE_SIG, &[Token::Word(*model_id), Token::Word(word_u64(u64::from(active)))])
}

/// Calldata for `setTrustedDevice(device, trusted)`.
pub fn set_trusted_device_calldata(device: &DeviceId, trusted: bool) -> Vec<u8> {
    encode_call(SET_TRUSTED_DEVICE_SIG, &[Token::Word(word_address(&device.0)), Token::Word(word_u64(u64::from(trusted)))])
}

/// Calldata for `setUpgradePolicy(keepOldCode)`.
pub fn set_upgrade_policy_calldata(keep_old_code: bool) -> Vec<u8> {
    encode_call(SET_UPGRADE_POLICY_SIG, &[Token::Word(word_u64(u64::from(keep_old_code)))])
}

/// Calldata for `transferOwnership(newOwner)`.
pub fn transfer_ownership_calldata(new_owner: &[u8; 20]) -> Vec<u8> {
    encode_call(TRANSFER_OWNERSHIP_SIG, &[Token::Word(word_address(new_owner))])
}

/// Calldata for the view `codeHashOf(commitment, modelId)` (returns `bytes32`, zero if none).
pub fn code_hash_of_calldata(commitment: &[u8; 32], model_id: &[u8; 32]) -> Vec<u8> {
    encode_call(CODE_HASH_OF_SIG, &[Token::Word(*commitment), Token::Word(*model_id)])
}

/// Calldata for the view `currentModelOf(commitment)` (returns `bytes32`, zero if unregistered).
pub fn current_model_of_calldata(commitment: &[u8; 32]) -> Vec<u8> {
    encode_call(CURRENT_MODEL_OF_SIG, &[Token::Word(*commitment)])
}

/// ABI-encoded constructor arguments of `IrisCodeRegistry(bool keepOldCodeOnUpgrade)`.
pub fn registry_constructor_args(keep_old_code_on_upgrade: bool) -> Vec<u8> {
    encode_args(&[Token::Word(word_u64(u64::from(keep_old_code_on_upgrade)))])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_code(seed: u8) -> Vec<u8> {
        (0..CODE_BYTES).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn layout_constants() {
        assert_eq!(CODE_WORDS, 67);
        assert_eq!(INSTANCE_MASK, 70);
        assert_eq!(NUM_INSTANCES, 137);
    }

    #[test]
    fn code_packing_round_trips_and_matches_the_spec() {
        let code = sample_code(7);
        let words = pack_code(&code).unwrap();
        assert_eq!(words.len(), CODE_WORDS);
        // Word 0 is bytes 0..31 big-endian; the last word is the final 2 bytes.
        let be0 = fr_to_be(&words[0]);
        assert_eq!(be0[0], 0);
        assert_eq!(&be0[1..], &code[..31]);
        let last = fr_to_be(&words[66]);
        assert_eq!(&last[..30], &[0u8; 30]);
        assert_eq!(&last[30..], &code[2046..]);
        assert_eq!(unpack_code(&words, 3).unwrap(), code);
        assert_eq!(pack_code(&code[1..]), Err(CalldataError::CodeLength { got: 2047, expected: 2048 }));
    }

    #[test]
    fn rejects_words_out_of_range() {
        let mut words = pack_code(&sample_code(1)).unwrap();
        words[66] = Fr::from(1u64 << 16);
        assert_eq!(unpack_code(&words, 3), Err(CalldataError::WordOutOfRange { index: 69, bits: 16 }));
        words[66] = Fr::from(0xffffu64);
        words[5] = -Fr::ONE;
        assert_eq!(unpack_code(&words, 3), Err(CalldataError::WordOutOfRange { index: 8, bits: 248 }));
    }

    #[test]
    fn public_inputs_round_trip() {
        let pi = PublicInputs {
            commitment: Fr::from(123456789u64),
            min_valid_bits: 9000,
            liveness_threshold: fr_from_i64(-5),
            code: sample_code(1),
            mask: sample_code(2),
        };
        let inst = pi.to_instances().unwrap();
        assert_eq!(inst.len(), NUM_INSTANCES);
        assert_eq!(inst[2] + Fr::from(5u64), Fr::ZERO);
        assert_eq!(PublicInputs::from_instances(&inst).unwrap(), pi);
        assert!(matches!(PublicInputs::from_instances(&inst[1..]), Err(CalldataError::InstanceCount { got: 136, .. })));
    }

    #[test]
    fn field_bytes_are_big_endian_and_canonical() {
        let x = Fr::from(0x0102u64);
        let be = fr_to_be(&x);
        assert_eq!(&be[30..], &[1, 2]);
        assert_eq!(fr_from_be(&be, "x").unwrap(), x);
        assert_eq!(fr_from_be(&crate::commitment::FIELD_MODULUS_BE, "x"), Err(CalldataError::NotCanonical { what: "x" }));
        // Verifier calldata: 32-byte big-endian words then the proof.
        let cd = encode_verifier_calldata(&[x, Fr::ONE], &[0xaa, 0xbb]);
        assert_eq!(cd.len(), 66);
        assert_eq!(&cd[30..32], &[1, 2]);
        assert_eq!(cd[63], 1);
        assert_eq!(&cd[64..], &[0xaa, 0xbb]);
    }

    #[test]
    fn abi_encoding_matches_solidity() {
        // Known selectors (computed independently, e.g. with `cast sig`).
        assert_eq!(selector("transfer(address,uint256)"), [0xa9, 0x05, 0x9c, 0xbb]);
        assert_eq!(selector("transferOwnership(address)"), [0xf2, 0xfd, 0xe3, 0x8b]);
        // upgrade(bytes32, bytes, uint256[]): head = id, offset 0x60, offset 0x60+0x20+0x20.
        let cd = upgrade_calldata(&[0x11; 32], &[0xee; 33], &[Fr::from(5u64)]);
        let body = &cd[4..];
        assert_eq!(&body[..32], &[0x11; 32]);
        assert_eq!(body[63], 0x60);
        assert_eq!(body[95], 0x60 + 32 + 64);
        assert_eq!(body[0x60 + 31], 33);
        assert_eq!(&body[0x80..0x80 + 33], &[0xee; 33]);
        assert_eq!(&body[0x80 + 33..0xc0], &[0u8; 31]);
        assert_eq!(body[0xc0 + 31], 1);
        assert_eq!(body[0xe0 + 31], 5);
        assert_eq!(body.len(), 0x100);
        assert_eq!(registry_constructor_args(true), word_u64(1).to_vec());
    }

    #[test]
    fn code_hash_covers_only_code_words() {
        let pi = PublicInputs {
            commitment: Fr::from(1u64),
            min_valid_bits: 1,
            liveness_threshold: Fr::ZERO,
            code: sample_code(3),
            mask: sample_code(4),
        };
        let mut inst = pi.to_instances().unwrap();
        let h = code_hash(&inst).unwrap();
        inst[0] = Fr::from(2u64);
        assert_eq!(code_hash(&inst).unwrap(), h);
        inst[100] += Fr::ONE;
        assert_ne!(code_hash(&inst).unwrap(), h);
    }
}
