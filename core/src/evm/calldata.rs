//! Calldata: the verifier's calldata and the `IrisCodeRegistry` (v2) ABI.
//!
//! # Public inputs
//!
//! The layout (v2) is defined once, in [`crate::public`]: rows 0–3 are `C`, `min_valid_bits`,
//! τ and the submission [`Binding`]; then, by the model's [`Submission`] mode, the 67 + 67
//! iris- and mask-code words (public-code, [`PUBLIC_CODE_INSTANCES`] inputs) or the share
//! commitments `S_1, S_2, S_3` (mpc-shares, [`MPC_SHARES_INSTANCES`] inputs). The registry
//! takes 2048-byte (16,384-bit) codes: [`registry_layout`]. This module only builds on that
//! layout (code words come from [`crate::public::code_words`]).
//!
//! # Verifier calldata
//!
//! A generated verifier reads the instances as 32-byte big-endian words, then the proof bytes
//! ([`encode_verifier_calldata`], identical to snark-verifier's `encode_calldata`).
//!
//! # Registry
//!
//! The `IrisCodeRegistry` ABI (`contracts/IrisCodeRegistry.sol`) is small enough to encode by
//! hand: [`register_calldata`], [`upgrade_calldata`], [`register_batch_calldata`] and [`upgrade_batch_calldata`] (relayers), the issuer's administration calls and the
//! views. What the registry stores per (commitment, model) is [`code_hash`] (public-code:
//! `keccak256` of the 134 code and mask words) or [`share_hash`] (mpc-shares:
//! `keccak256(S_1 ‖ S_2 ‖ S_3)`), each value as 32 big-endian bytes. [`decode_registry_event`]
//! reads its registration, upgrade, revocation and ownership events.

use halo2_proofs::halo2curves::bn256::Fr;
use sha3::{Digest, Keccak256};

use crate::attest::{DeviceId, EnrollmentSignature};
use crate::public::{self, Binding, PublicBody, PublicInputs, PublicLayout, Submission, CODE_BITS_PER_WORD, HEADER_ROWS, ROW_BINDING, ROW_SHARE_COMMITMENTS};

pub use crate::public::fr_to_be;

/// Bytes in a serialized iris code (and in a mask code) the registry takes.
pub const CODE_BYTES: usize = 2048;
/// Bits in a serialized code.
pub const CODE_BITS: usize = 8 * CODE_BYTES;
/// Bytes packed into one code word (31, so a word is always below the field modulus).
pub const WORD_BYTES: usize = CODE_BITS_PER_WORD / 8;
/// Words per code: `⌈2048 / 31⌉ = 67`; the last word holds 2 bytes.
pub const CODE_WORDS: usize = CODE_BITS.div_ceil(CODE_BITS_PER_WORD);
/// Public inputs of a public-code proof the registry takes: 4 + 2 × 67 = 138.
pub const PUBLIC_CODE_INSTANCES: usize = HEADER_ROWS + 2 * CODE_WORDS;
/// Public inputs of an mpc-shares proof: 4 + 3 = 7.
pub const MPC_SHARES_INSTANCES: usize = HEADER_ROWS + 3;
/// The registry's largest statement ([`PUBLIC_CODE_INSTANCES`]); kept for callers that size
/// buffers by it. Prefer [`registry_layout`].
pub const NUM_INSTANCES: usize = PUBLIC_CODE_INSTANCES;

/// The public-input layout the registry reads for `submission` (2048-byte codes).
pub fn registry_layout(submission: Submission) -> PublicLayout {
    PublicLayout::new(submission, CODE_BITS, CODE_BITS)
}

/// The registry layout with `count` public inputs, if there is one (138: public-code, 7:
/// mpc-shares).
pub fn registry_layout_for(count: usize) -> Option<PublicLayout> {
    [Submission::PublicCode, Submission::MpcShares].into_iter().map(registry_layout).find(|l| l.len() == count)
}

/// The registry's `uint8` for a submission mode (0 public-code, 1 mpc-shares).
pub fn submission_code(submission: Submission) -> u8 {
    match submission {
        Submission::PublicCode => 0,
        Submission::MpcShares => 1,
    }
}

/// Errors from encoding or decoding public inputs.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CalldataError {
    /// The number of public inputs is not the registry layout's.
    #[error("expected {expected} public inputs (layout v2), got {got}")]
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
    /// 32 bytes are not a canonical BN254 scalar.
    #[error("{what} is not a canonical BN254 field element (32 big-endian bytes below the modulus)")]
    NotCanonical {
        /// Which value.
        what: &'static str,
    },
}

/// Parses 32 big-endian bytes; they must be below the field modulus.
pub fn fr_from_be(bytes: &[u8; 32], what: &'static str) -> Result<Fr, CalldataError> {
    public::fr_from_be(bytes).ok_or(CalldataError::NotCanonical { what })
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

/// The [`CODE_WORDS`] public words of a 2048-byte serialized code ([`crate::public::code_words`]).
pub fn pack_code(code: &[u8]) -> Result<Vec<Fr>, CalldataError> {
    if code.len() != CODE_BYTES {
        return Err(CalldataError::CodeLength { got: code.len(), expected: CODE_BYTES });
    }
    Ok(public::code_words(code))
}

/// The public inputs of a public-code proof the registry takes, from 2048-byte codes.
pub fn public_code_inputs(
    commitment: Fr,
    min_valid_bits: u32,
    liveness_threshold: Fr,
    binding: Fr,
    code: &[u8],
    mask: &[u8],
) -> Result<PublicInputs, CalldataError> {
    Ok(PublicInputs {
        commitment,
        min_valid_bits,
        liveness_threshold,
        binding,
        body: PublicBody::Codes { iris_words: pack_code(code)?, mask_words: pack_code(mask)? },
    })
}

/// `instances` with the binding row set to `binding` (a copy).
pub fn with_binding(instances: &[Fr], binding: &Binding) -> Vec<Fr> {
    let mut out = instances.to_vec();
    if let Some(row) = out.get_mut(ROW_BINDING) {
        *row = binding.to_field();
    }
    out
}

/// Calldata for a generated verifier: every instance as 32 big-endian bytes, then the proof.
pub fn encode_verifier_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    snark_verifier_sdk::evm::encode_calldata(&[instances.to_vec()], proof)
}

fn keccak_rows(rows: &[Fr]) -> [u8; 32] {
    let mut h = Keccak256::new();
    rows.iter().for_each(|w| h.update(fr_to_be(w)));
    h.finalize().into()
}

/// The code hash a public-code registration stores: `keccak256(instance[4] ‖ … ‖
/// instance[137])`, each word as 32 big-endian bytes (the iris-code words, then the mask-code
/// words).
pub fn code_hash(instances: &[Fr]) -> Result<[u8; 32], CalldataError> {
    if instances.len() != PUBLIC_CODE_INSTANCES {
        return Err(CalldataError::InstanceCount { got: instances.len(), expected: PUBLIC_CODE_INSTANCES });
    }
    Ok(keccak_rows(&instances[registry_layout(Submission::PublicCode).first_iris_word()..]))
}

/// The share-commitment hash an mpc-shares registration stores: `keccak256(S_1 ‖ S_2 ‖ S_3)`.
pub fn share_commitments_hash(shares: &[Fr; 3]) -> [u8; 32] {
    keccak_rows(shares)
}

/// [`share_commitments_hash`] of an mpc-shares instance column (rows 4, 5, 6).
pub fn share_hash(instances: &[Fr]) -> Result<[u8; 32], CalldataError> {
    if instances.len() != MPC_SHARES_INSTANCES {
        return Err(CalldataError::InstanceCount { got: instances.len(), expected: MPC_SHARES_INSTANCES });
    }
    let s = &instances[ROW_SHARE_COMMITMENTS..];
    Ok(share_commitments_hash(&[s[0], s[1], s[2]]))
}

/// What `register` / `upgrade` return and store for an instance column of either mode.
pub fn record_hash(instances: &[Fr]) -> Result<[u8; 32], CalldataError> {
    match registry_layout_for(instances.len()).map(|l| l.submission) {
        Some(Submission::PublicCode) => code_hash(instances),
        Some(Submission::MpcShares) => share_hash(instances),
        None => Err(CalldataError::InstanceCount { got: instances.len(), expected: PUBLIC_CODE_INSTANCES }),
    }
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
/// Signature of `IrisCodeRegistry.registerBatch` (relayers: one aggregated proof for N
/// first registrations).
pub const REGISTER_BATCH_SIG: &str = "registerBatch(bytes32,bytes,uint256[],address[],bytes)";
/// Signature of `IrisCodeRegistry.upgradeBatch` (relayers: one aggregated proof for N
/// upgrades to a newer model).
pub const UPGRADE_BATCH_SIG: &str = "upgradeBatch(bytes32,bytes,uint256[],address[])";
/// Signature of `IrisCodeRegistry.setAggregationVerifier`.
pub const SET_AGGREGATION_VERIFIER_SIG: &str = "setAggregationVerifier(bytes32,uint256,address)";
/// Signature of the view `IrisCodeRegistry.aggregationOf` (returns the verifier and the model
/// verifier it was set for).
pub const AGGREGATION_OF_SIG: &str = "aggregationOf(bytes32,uint256)";
/// Signature of `IrisCodeRegistry.upgrade`.
pub const UPGRADE_SIG: &str = "upgrade(bytes32,bytes,uint256[])";
/// Signature of `IrisCodeRegistry.setModel` (v2: with the submission mode).
pub const SET_MODEL_SIG: &str = "setModel(bytes32,address,uint64,uint8,uint32,uint256,bool)";
/// Signature of `IrisCodeRegistry.setModelActive`.
pub const SET_MODEL_ACTIVE_SIG: &str = "setModelActive(bytes32,bool)";
/// Signature of `IrisCodeRegistry.setTrustedDevice`.
pub const SET_TRUSTED_DEVICE_SIG: &str = "setTrustedDevice(address,bool)";
/// Signature of `IrisCodeRegistry.revokeDevice`.
pub const REVOKE_DEVICE_SIG: &str = "revokeDevice(address)";
/// Signature of `IrisCodeRegistry.setUpgradePolicy`.
pub const SET_UPGRADE_POLICY_SIG: &str = "setUpgradePolicy(bool)";
/// Signature of `IrisCodeRegistry.transferOwnership` (step 1 of 2).
pub const TRANSFER_OWNERSHIP_SIG: &str = "transferOwnership(address)";
/// Signature of `IrisCodeRegistry.acceptOwnership` (step 2 of 2).
pub const ACCEPT_OWNERSHIP_SIG: &str = "acceptOwnership()";
/// Signature of the view `IrisCodeRegistry.owner`.
pub const OWNER_SIG: &str = "owner()";
/// Signature of the view `IrisCodeRegistry.pendingOwner`.
pub const PENDING_OWNER_SIG: &str = "pendingOwner()";
/// Signature of the view `IrisCodeRegistry.models`.
pub const MODELS_SIG: &str = "models(bytes32)";
/// Signature of the view `IrisCodeRegistry.codeHashOf`.
pub const CODE_HASH_OF_SIG: &str = "codeHashOf(bytes32,bytes32)";
/// Signature of the view `IrisCodeRegistry.shareHashOf`.
pub const SHARE_HASH_OF_SIG: &str = "shareHashOf(bytes32,bytes32)";
/// Signature of the view `IrisCodeRegistry.currentModelOf`.
pub const CURRENT_MODEL_OF_SIG: &str = "currentModelOf(bytes32)";
/// Signature of the view `IrisCodeRegistry.deviceOf`.
pub const DEVICE_OF_SIG: &str = "deviceOf(bytes32)";
/// Signature of the view `IrisCodeRegistry.isRegistered`.
pub const IS_REGISTERED_SIG: &str = "isRegistered(bytes32,bytes32)";
/// Signature of the view `IrisCodeRegistry.isRevoked`.
pub const IS_REVOKED_SIG: &str = "isRevoked(bytes32)";
/// Signature of the view `IrisCodeRegistry.bindingFor`.
pub const BINDING_FOR_SIG: &str = "bindingFor(address)";

/// Event `CodeRegistered` (public-code registration).
pub const CODE_REGISTERED_EVENT: &str = "CodeRegistered(bytes32,bytes32,bytes32,address)";
/// Event `CodeUpgraded` (upgrade to a public-code model).
pub const CODE_UPGRADED_EVENT: &str = "CodeUpgraded(bytes32,bytes32,bytes32,bytes32)";
/// Event `SharesRegistered` (mpc-shares registration).
pub const SHARES_REGISTERED_EVENT: &str = "SharesRegistered(bytes32,bytes32,address,bytes32,uint256,uint256,uint256)";
/// Event `SharesUpgraded` (upgrade to an mpc-shares model).
pub const SHARES_UPGRADED_EVENT: &str = "SharesUpgraded(bytes32,bytes32,bytes32,bytes32,uint256,uint256,uint256)";
/// Event `RegisteredFor` (one per statement of a `registerBatch`).
pub const REGISTERED_FOR_EVENT: &str = "RegisteredFor(bytes32,address,address)";
/// Event `UpgradedFor` (one per statement of an `upgradeBatch`).
pub const UPGRADED_FOR_EVENT: &str = "UpgradedFor(bytes32,address,address)";
/// Event `AggregationVerifierSet`.
pub const AGGREGATION_VERIFIER_SET_EVENT: &str = "AggregationVerifierSet(bytes32,uint256,address)";
/// Event `DeviceRevoked`.
pub const DEVICE_REVOKED_EVENT: &str = "DeviceRevoked(address)";
/// Event `OwnershipTransferStarted`.
pub const OWNERSHIP_TRANSFER_STARTED_EVENT: &str = "OwnershipTransferStarted(address,address)";
/// Event `OwnershipTransferred`.
pub const OWNERSHIP_TRANSFERRED_EVENT: &str = "OwnershipTransferred(address,address)";
/// Event `ModelSet`.
pub const MODEL_SET_EVENT: &str = "ModelSet(bytes32,address,uint64,uint8,uint32,uint256,bool)";

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

/// Calldata for `register(modelId, proof, publicInputs, deviceSignature)`. `instances` is the
/// model's layout-v2 column (138 values for public-code, 7 for mpc-shares), bound to the
/// account that sends the transaction ([`with_binding`]).
pub fn register_calldata(model_id: &[u8; 32], proof: &[u8], instances: &[Fr], signature: &EnrollmentSignature) -> Vec<u8> {
    encode_call(REGISTER_SIG, &[Token::Word(*model_id), Token::Bytes(proof), Token::Words(instance_words(instances)), Token::Bytes(&signature.0)])
}

/// Calldata for `registerBatch(modelId, proof, instances, accounts, deviceSignatures)`: a
/// relayer's N first registrations with one aggregated proof. `instances` is the aggregated
/// proof's public inputs as 32-byte big-endian words (the 12 accumulator limbs, then each
/// statement's layout-v2 inputs in order, as in a `.zka` file); statement `i` must be bound to
/// `accounts[i]` and its commitment signed by `signatures[i]`.
pub fn register_batch_calldata(
    model_id: &[u8; 32],
    proof: &[u8],
    instances: &[[u8; 32]],
    accounts: &[[u8; 20]],
    signatures: &[EnrollmentSignature],
) -> Vec<u8> {
    let signature_bytes: Vec<u8> = signatures.iter().flat_map(|s| s.0).collect();
    encode_call(
        REGISTER_BATCH_SIG,
        &[
            Token::Word(*model_id),
            Token::Bytes(proof),
            Token::Words(instances.to_vec()),
            Token::Words(accounts.iter().map(word_address).collect()),
            Token::Bytes(&signature_bytes),
        ],
    )
}

/// Calldata for `setAggregationVerifier(modelId, batchSize, verifier)` (the zero address
/// removes it).
pub fn set_aggregation_verifier_calldata(model_id: &[u8; 32], batch_size: u64, verifier: &[u8; 20]) -> Vec<u8> {
    encode_call(SET_AGGREGATION_VERIFIER_SIG, &[Token::Word(*model_id), Token::Word(word_u64(batch_size)), Token::Word(word_address(verifier))])
}

/// Calldata for the view `aggregationOf(modelId, batchSize)` (two address words: the
/// aggregation verifier and the model verifier it was set for).
pub fn aggregation_of_calldata(model_id: &[u8; 32], batch_size: u64) -> Vec<u8> {
    encode_call(AGGREGATION_OF_SIG, &[Token::Word(*model_id), Token::Word(word_u64(batch_size))])
}

/// Calldata for `upgradeBatch(newModelId, proof, instances, accounts)`: a relayer's N
/// upgrades to a newer model with one aggregated proof of proofs under that model.
/// `instances` is the aggregated proof's public inputs as 32-byte big-endian words (as in
/// [`register_batch_calldata`]); statement `i` must be bound to `accounts[i]`. No device
/// signature: each commitment was attested when it was first registered.
pub fn upgrade_batch_calldata(new_model_id: &[u8; 32], proof: &[u8], instances: &[[u8; 32]], accounts: &[[u8; 20]]) -> Vec<u8> {
    encode_call(
        UPGRADE_BATCH_SIG,
        &[Token::Word(*new_model_id), Token::Bytes(proof), Token::Words(instances.to_vec()), Token::Words(accounts.iter().map(word_address).collect())],
    )
}

/// Calldata for `upgrade(newModelId, proof, publicInputs)` (layout v2, bound like
/// [`register_calldata`]).
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
    /// Version; an upgrade must go to a strictly higher version. It cannot be lowered once the
    /// model has registrations.
    pub version: u64,
    /// The manifest's submission mode (fixes the number and meaning of the public inputs).
    pub submission: Submission,
    /// The `min_valid_bits` every proof for this model must carry.
    pub min_valid_bits: u32,
    /// The liveness threshold τ every proof for this model must carry (zero without liveness).
    pub liveness_threshold: Fr,
    /// Whether the model accepts registrations and upgrades to it.
    pub active: bool,
}

/// Calldata for `setModel(modelId, verifier, version, submission, minValidBits,
/// livenessThreshold, active)`.
pub fn set_model_calldata(entry: &ModelEntry) -> Vec<u8> {
    encode_call(
        SET_MODEL_SIG,
        &[
            Token::Word(entry.model_id),
            Token::Word(word_address(&entry.verifier)),
            Token::Word(word_u64(entry.version)),
            Token::Word(word_u64(u64::from(submission_code(entry.submission)))),
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

/// Calldata for `revokeDevice(device)`: the device's commitments can no longer register or upgrade.
pub fn revoke_device_calldata(device: &DeviceId) -> Vec<u8> {
    encode_call(REVOKE_DEVICE_SIG, &[Token::Word(word_address(&device.0))])
}

/// Calldata for `setUpgradePolicy(keepOldCode)`.
pub fn set_upgrade_policy_calldata(keep_old_code: bool) -> Vec<u8> {
    encode_call(SET_UPGRADE_POLICY_SIG, &[Token::Word(word_u64(u64::from(keep_old_code)))])
}

/// Calldata for `transferOwnership(newOwner)`: names the pending owner (the zero address
/// cancels); ownership moves only when it calls [`accept_ownership_calldata`].
pub fn transfer_ownership_calldata(new_owner: &[u8; 20]) -> Vec<u8> {
    encode_call(TRANSFER_OWNERSHIP_SIG, &[Token::Word(word_address(new_owner))])
}

/// Calldata for `acceptOwnership()`, sent by the pending owner.
pub fn accept_ownership_calldata() -> Vec<u8> {
    encode_call(ACCEPT_OWNERSHIP_SIG, &[])
}

/// Calldata for the view `owner()` (returns an address word).
pub fn owner_calldata() -> Vec<u8> {
    encode_call(OWNER_SIG, &[])
}

/// Calldata for the view `pendingOwner()` (returns an address word, zero if none).
pub fn pending_owner_calldata() -> Vec<u8> {
    encode_call(PENDING_OWNER_SIG, &[])
}

/// Calldata for the view `models(modelId)` (returns [`decode_model`]'s seven words).
pub fn models_calldata(model_id: &[u8; 32]) -> Vec<u8> {
    encode_call(MODELS_SIG, &[Token::Word(*model_id)])
}

/// Calldata for the view `codeHashOf(commitment, modelId)` (returns `bytes32`, zero if none).
pub fn code_hash_of_calldata(commitment: &[u8; 32], model_id: &[u8; 32]) -> Vec<u8> {
    encode_call(CODE_HASH_OF_SIG, &[Token::Word(*commitment), Token::Word(*model_id)])
}

/// Calldata for the view `shareHashOf(commitment, modelId)` (returns the stored
/// [`share_commitments_hash`], zero if none).
pub fn share_hash_of_calldata(commitment: &[u8; 32], model_id: &[u8; 32]) -> Vec<u8> {
    encode_call(SHARE_HASH_OF_SIG, &[Token::Word(*commitment), Token::Word(*model_id)])
}

/// Calldata for the view `currentModelOf(commitment)` (returns `bytes32`, zero if unregistered).
pub fn current_model_of_calldata(commitment: &[u8; 32]) -> Vec<u8> {
    encode_call(CURRENT_MODEL_OF_SIG, &[Token::Word(*commitment)])
}

/// Calldata for the view `deviceOf(commitment)` (the device that signed it at registration).
pub fn device_of_calldata(commitment: &[u8; 32]) -> Vec<u8> {
    encode_call(DEVICE_OF_SIG, &[Token::Word(*commitment)])
}

/// Calldata for the view `isRegistered(commitment, modelId)` (false once its device is revoked).
pub fn is_registered_calldata(commitment: &[u8; 32], model_id: &[u8; 32]) -> Vec<u8> {
    encode_call(IS_REGISTERED_SIG, &[Token::Word(*commitment), Token::Word(*model_id)])
}

/// Calldata for the view `isRevoked(commitment)`.
pub fn is_revoked_calldata(commitment: &[u8; 32]) -> Vec<u8> {
    encode_call(IS_REVOKED_SIG, &[Token::Word(*commitment)])
}

/// Calldata for the view `bindingFor(account)`: the binding the registry expects from `account`
/// (equal to [`Binding::to_field`] for this chain and registry).
pub fn binding_for_calldata(account: &[u8; 20]) -> Vec<u8> {
    encode_call(BINDING_FOR_SIG, &[Token::Word(word_address(account))])
}

/// ABI-encoded constructor arguments of `IrisCodeRegistry(bool keepOldCodeOnUpgrade)`.
pub fn registry_constructor_args(keep_old_code_on_upgrade: bool) -> Vec<u8> {
    encode_args(&[Token::Word(word_u64(u64::from(keep_old_code_on_upgrade)))])
}

/// One 32-byte return word of a view.
pub fn decode_word(output: &[u8]) -> Option<[u8; 32]> {
    output.try_into().ok()
}

/// An `address` return value (or indexed topic).
pub fn decode_address(word: &[u8]) -> Option<[u8; 20]> {
    let w: [u8; 32] = word.try_into().ok()?;
    if w[..12].iter().any(|&b| b != 0) {
        return None;
    }
    w[12..].try_into().ok()
}

/// A `bool` return value.
pub fn decode_bool(output: &[u8]) -> Option<bool> {
    match decode_word(output)? {
        w if w == [0u8; 32] => Some(false),
        w if w[..31].iter().all(|&b| b == 0) && w[31] == 1 => Some(true),
        _ => None,
    }
}

fn word_to_u64(w: &[u8]) -> Option<u64> {
    if w.len() != 32 || w[..24].iter().any(|&b| b != 0) {
        return None;
    }
    Some(u64::from_be_bytes(w[24..].try_into().ok()?))
}

/// A model as the registry's `models(modelId)` view returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegisteredModel {
    /// The entry as set by the issuer (`model_id` is the queried id).
    pub entry: ModelEntry,
    /// Registrations and upgrades into the model so far.
    pub registrations: u64,
}

/// Decodes the output of [`models_calldata`]: `(verifier, version, active, submission,
/// minValidBits, registrations, livenessThreshold)`; `None` for a malformed output or an
/// unknown submission mode.
pub fn decode_model(model_id: &[u8; 32], output: &[u8]) -> Option<RegisteredModel> {
    if output.len() != 7 * 32 {
        return None;
    }
    let w = |i: usize| &output[32 * i..32 * (i + 1)];
    let submission = match word_to_u64(w(3))? {
        0 => Submission::PublicCode,
        1 => Submission::MpcShares,
        _ => return None,
    };
    Some(RegisteredModel {
        entry: ModelEntry {
            model_id: *model_id,
            verifier: decode_address(w(0))?,
            version: word_to_u64(w(1))?,
            submission,
            min_valid_bits: u32::try_from(word_to_u64(w(4))?).ok()?,
            liveness_threshold: fr_from_be(&w(6).try_into().ok()?, "livenessThreshold").ok()?,
            active: decode_bool(w(2))?,
        },
        registrations: word_to_u64(w(5))?,
    })
}

/// A registry event.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegistryEvent {
    /// `CodeRegistered`: a public-code registration.
    CodeRegistered {
        /// `C`.
        commitment: [u8; 32],
        /// Model.
        model_id: [u8; 32],
        /// [`code_hash`].
        code_hash: [u8; 32],
        /// The enrollment device that signed `C`.
        device: [u8; 20],
    },
    /// `CodeUpgraded`: an upgrade to a public-code model.
    CodeUpgraded {
        /// `C`.
        commitment: [u8; 32],
        /// Previous model.
        old_model: [u8; 32],
        /// New model.
        new_model: [u8; 32],
        /// [`code_hash`] of the new code.
        code_hash: [u8; 32],
    },
    /// `SharesRegistered`: an mpc-shares registration.
    SharesRegistered {
        /// `C`.
        commitment: [u8; 32],
        /// Model.
        model_id: [u8; 32],
        /// The enrollment device that signed `C`.
        device: [u8; 20],
        /// [`share_commitments_hash`].
        share_hash: [u8; 32],
        /// `S_1, S_2, S_3`.
        shares: [Fr; 3],
    },
    /// `SharesUpgraded`: an upgrade to an mpc-shares model.
    SharesUpgraded {
        /// `C`.
        commitment: [u8; 32],
        /// Previous model.
        old_model: [u8; 32],
        /// New model.
        new_model: [u8; 32],
        /// [`share_commitments_hash`].
        share_hash: [u8; 32],
        /// `S_1, S_2, S_3`.
        shares: [Fr; 3],
    },
    /// `RegisteredFor`: a statement of a relayed batch, bound to `account`.
    RegisteredFor {
        /// `C`.
        commitment: [u8; 32],
        /// The account the statement is bound to.
        account: [u8; 20],
        /// The relayer that sent the batch.
        relayer: [u8; 20],
    },
    /// `UpgradedFor`: a statement of a relayed upgrade batch, bound to `account`.
    UpgradedFor {
        /// `C`.
        commitment: [u8; 32],
        /// The account the statement is bound to.
        account: [u8; 20],
        /// The relayer that sent the batch.
        relayer: [u8; 20],
    },
    /// `DeviceRevoked`.
    DeviceRevoked {
        /// The revoked device.
        device: [u8; 20],
    },
    /// `OwnershipTransferStarted`: `new_owner` may accept (zero: cancelled).
    OwnershipTransferStarted {
        /// The owner.
        owner: [u8; 20],
        /// The pending owner.
        new_owner: [u8; 20],
    },
    /// `OwnershipTransferred`.
    OwnershipTransferred {
        /// The previous owner (zero at deployment).
        previous_owner: [u8; 20],
        /// The new owner.
        new_owner: [u8; 20],
    },
}

/// Decodes a registry log (its topics and data); `None` for other events or malformed logs.
pub fn decode_registry_event(topics: &[[u8; 32]], data: &[u8]) -> Option<RegistryEvent> {
    let topic0 = *topics.first()?;
    let chunks = data.chunks_exact(32);
    if !chunks.remainder().is_empty() {
        return None;
    }
    let words: Vec<[u8; 32]> = chunks.filter_map(|c| c.try_into().ok()).collect();
    let fr = |w: &[u8; 32]| public::fr_from_be(w);
    let shares = |w: &[[u8; 32]]| Some([fr(&w[0])?, fr(&w[1])?, fr(&w[2])?]);
    let shape = |t: usize, d: usize| topics.len() == t && words.len() == d;
    if topic0 == event_topic(CODE_REGISTERED_EVENT) && shape(4, 1) {
        Some(RegistryEvent::CodeRegistered { commitment: topics[1], model_id: topics[2], code_hash: words[0], device: decode_address(&topics[3])? })
    } else if topic0 == event_topic(CODE_UPGRADED_EVENT) && shape(4, 1) {
        Some(RegistryEvent::CodeUpgraded { commitment: topics[1], old_model: topics[2], new_model: topics[3], code_hash: words[0] })
    } else if topic0 == event_topic(SHARES_REGISTERED_EVENT) && shape(4, 4) {
        Some(RegistryEvent::SharesRegistered {
            commitment: topics[1],
            model_id: topics[2],
            device: decode_address(&topics[3])?,
            share_hash: words[0],
            shares: shares(&words[1..])?,
        })
    } else if topic0 == event_topic(SHARES_UPGRADED_EVENT) && shape(4, 4) {
        Some(RegistryEvent::SharesUpgraded {
            commitment: topics[1],
            old_model: topics[2],
            new_model: topics[3],
            share_hash: words[0],
            shares: shares(&words[1..])?,
        })
    } else if topic0 == event_topic(REGISTERED_FOR_EVENT) && shape(4, 0) {
        Some(RegistryEvent::RegisteredFor { commitment: topics[1], account: decode_address(&topics[2])?, relayer: decode_address(&topics[3])? })
    } else if topic0 == event_topic(UPGRADED_FOR_EVENT) && shape(4, 0) {
        Some(RegistryEvent::UpgradedFor { commitment: topics[1], account: decode_address(&topics[2])?, relayer: decode_address(&topics[3])? })
    } else if topic0 == event_topic(DEVICE_REVOKED_EVENT) && shape(2, 0) {
        Some(RegistryEvent::DeviceRevoked { device: decode_address(&topics[1])? })
    } else if topic0 == event_topic(OWNERSHIP_TRANSFER_STARTED_EVENT) && shape(3, 0) {
        Some(RegistryEvent::OwnershipTransferStarted { owner: decode_address(&topics[1])?, new_owner: decode_address(&topics[2])? })
    } else if topic0 == event_topic(OWNERSHIP_TRANSFERRED_EVENT) && shape(3, 0) {
        Some(RegistryEvent::OwnershipTransferred { previous_owner: decode_address(&topics[1])?, new_owner: decode_address(&topics[2])? })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;

    fn sample_code(seed: u8) -> Vec<u8> {
        (0..CODE_BYTES).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    #[test]
    fn layout_follows_the_public_module() {
        assert_eq!((CODE_WORDS, WORD_BYTES), (67, 31));
        assert_eq!(PUBLIC_CODE_INSTANCES, 138);
        assert_eq!(MPC_SHARES_INSTANCES, 7);
        assert_eq!(registry_layout(Submission::PublicCode).len(), PUBLIC_CODE_INSTANCES);
        assert_eq!(registry_layout(Submission::MpcShares).len(), MPC_SHARES_INSTANCES);
        assert_eq!(registry_layout(Submission::PublicCode).iris_words(), CODE_WORDS);
        assert_eq!(registry_layout_for(138).map(|l| l.submission), Some(Submission::PublicCode));
        assert_eq!(registry_layout_for(7).map(|l| l.submission), Some(Submission::MpcShares));
        assert_eq!(registry_layout_for(137), None, "layout v1 is gone");
        assert_eq!((submission_code(Submission::PublicCode), submission_code(Submission::MpcShares)), (0, 1));
    }

    #[test]
    fn code_packing_matches_the_spec() {
        let code = sample_code(7);
        let words = pack_code(&code).unwrap();
        assert_eq!(words, public::code_words(&code));
        assert_eq!(words.len(), CODE_WORDS);
        // Word 0 is bytes 0..31 big-endian; the last word is the final 2 bytes.
        let be0 = fr_to_be(&words[0]);
        assert_eq!(be0[0], 0);
        assert_eq!(&be0[1..], &code[..31]);
        let last = fr_to_be(&words[66]);
        assert_eq!(&last[..30], &[0u8; 30]);
        assert_eq!(&last[30..], &code[2046..]);
        assert_eq!(pack_code(&code[1..]), Err(CalldataError::CodeLength { got: 2047, expected: 2048 }));
    }

    #[test]
    fn public_code_inputs_are_layout_v2() {
        let binding = Binding { chain_id: 1, registry: [1; 20], account: [2; 20] };
        let pi = public_code_inputs(Fr::from(123456789u64), 9000, fr_from_i64(-5), binding.to_field(), &sample_code(1), &sample_code(2)).unwrap();
        let inst = pi.to_instances();
        assert_eq!(inst.len(), PUBLIC_CODE_INSTANCES);
        assert_eq!(inst[public::ROW_LIVENESS_THRESHOLD] + Fr::from(5u64), Fr::ZERO);
        assert_eq!(inst[ROW_BINDING], binding.to_field());
        assert_eq!(inst[HEADER_ROWS..HEADER_ROWS + CODE_WORDS], pack_code(&sample_code(1)).unwrap()[..]);
        assert_eq!(PublicInputs::from_instances(&registry_layout(Submission::PublicCode), &inst).unwrap(), pi);
        let other = Binding { account: [3; 20], ..binding };
        let rebound = with_binding(&inst, &other);
        assert_eq!(rebound[ROW_BINDING], other.to_field());
        assert_eq!(rebound[..ROW_BINDING], inst[..ROW_BINDING]);
        assert_eq!(rebound[ROW_BINDING + 1..], inst[ROW_BINDING + 1..]);
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
        assert_eq!(selector("acceptOwnership()"), [0x79, 0xba, 0x50, 0x97]);
        assert_eq!(accept_ownership_calldata(), vec![0x79, 0xba, 0x50, 0x97]);
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
        // setModel: seven static words, the mode fourth.
        let entry = ModelEntry {
            model_id: [0x22; 32],
            verifier: [0x33; 20],
            version: 7,
            submission: Submission::MpcShares,
            min_valid_bits: 9000,
            liveness_threshold: fr_from_i64(-3),
            active: true,
        };
        let cd = set_model_calldata(&entry);
        assert_eq!(cd.len(), 4 + 7 * 32);
        assert_eq!(&cd[..4], &selector(SET_MODEL_SIG));
        assert_eq!(cd[4 + 3 * 32 + 31], 1);
        assert_eq!(revoke_device_calldata(&DeviceId([0x44; 20]))[4 + 12..], [0x44; 20]);
    }

    #[test]
    fn record_hashes_cover_only_the_body() {
        let mut inst = public_code_inputs(Fr::from(1u64), 1, Fr::ZERO, Fr::from(9u64), &sample_code(3), &sample_code(4)).unwrap().to_instances();
        let h = code_hash(&inst).unwrap();
        assert_eq!(record_hash(&inst).unwrap(), h);
        inst[0] = Fr::from(2u64);
        inst[ROW_BINDING] = Fr::from(10u64);
        assert_eq!(code_hash(&inst).unwrap(), h);
        inst[100] += Fr::ONE;
        assert_ne!(code_hash(&inst).unwrap(), h);
        assert!(matches!(code_hash(&inst[1..]), Err(CalldataError::InstanceCount { got: 137, expected: 138 })));

        let s = [Fr::from(11u64), Fr::from(12u64), -Fr::ONE];
        let mpc =
            PublicInputs { commitment: Fr::ONE, min_valid_bits: 1, liveness_threshold: Fr::ZERO, binding: Fr::ONE, body: PublicBody::Shares(s) }.to_instances();
        let mut pre = Vec::new();
        s.iter().for_each(|x| pre.extend_from_slice(&fr_to_be(x)));
        let expect: [u8; 32] = Keccak256::digest(&pre).into();
        assert_eq!(share_hash(&mpc).unwrap(), expect);
        assert_eq!(record_hash(&mpc).unwrap(), expect);
        assert!(matches!(share_hash(&inst), Err(CalldataError::InstanceCount { got: 138, expected: 7 })));
        assert!(record_hash(&mpc[..6]).is_err());
    }

    #[test]
    fn events_and_views_decode() {
        let mut data = vec![0x55; 32];
        for x in [1u64, 2, 3] {
            data.extend_from_slice(&word_u64(x));
        }
        let topics = [event_topic(SHARES_REGISTERED_EVENT), [1; 32], [2; 32], word_address(&[3; 20])];
        assert_eq!(
            decode_registry_event(&topics, &data),
            Some(RegistryEvent::SharesRegistered {
                commitment: [1; 32],
                model_id: [2; 32],
                device: [3; 20],
                share_hash: [0x55; 32],
                shares: [Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)],
            })
        );
        assert_eq!(decode_registry_event(&topics, &data[..96]), None, "wrong data length");
        assert_eq!(decode_registry_event(&topics[..3], &data), None, "wrong topic count");
        let mut bad = data.clone();
        bad[32..64].copy_from_slice(&crate::commitment::FIELD_MODULUS_BE);
        assert_eq!(decode_registry_event(&topics, &bad), None, "S_1 not canonical");
        assert_eq!(
            decode_registry_event(&[event_topic(DEVICE_REVOKED_EVENT), word_address(&[9; 20])], &[]),
            Some(RegistryEvent::DeviceRevoked { device: [9; 20] })
        );
        assert_eq!(decode_address(&[0xff; 32]), None);
        assert_eq!(decode_bool(&word_u64(1)), Some(true));
        assert_eq!(decode_bool(&word_u64(2)), None);

        let entry = ModelEntry {
            model_id: [0x22; 32],
            verifier: [0x33; 20],
            version: 7,
            submission: Submission::MpcShares,
            min_valid_bits: 9000,
            liveness_threshold: fr_from_i64(-3),
            active: true,
        };
        let mut out = Vec::new();
        for w in [word_address(&entry.verifier), word_u64(7), word_u64(1), word_u64(1), word_u64(9000), word_u64(4), fr_to_be(&entry.liveness_threshold)] {
            out.extend_from_slice(&w);
        }
        assert_eq!(decode_model(&entry.model_id, &out), Some(RegisteredModel { entry, registrations: 4 }));
        out[3 * 32 + 31] = 2;
        assert_eq!(decode_model(&[0x22; 32], &out), None, "unknown mode");
    }
}
