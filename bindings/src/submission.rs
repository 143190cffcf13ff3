//! How a proof is submitted: the model's submission mode, the submission binding, and the MPC
//! parties' public keys an mpc-shares proof encrypts its shares to.
//!
//! A model's signed manifest chooses the mode ([`Submission`]). In `MpcShares` mode a proof
//! never reveals the iris or mask code: the bundle carries three share envelopes, party `p`'s
//! secret share encrypted (HPKE, X-Wing) to party `p`'s public key, and only the share
//! commitments `S_1, S_2, S_3` are public. The app passes the parties' **public** keys
//! ([`ProveOptions::party_keys`]); their secret keys live on the MPC servers, and nothing in
//! these bindings reads a secret key or opens an envelope.

use zkiris::mpc::PartyPublicKey;
use zkiris::public::Binding;

use crate::error::{guard, ZkirisError};

/// How a model's proofs submit the iris code (chosen by the model's signed manifest).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Submission {
    /// The iris and mask codes are public inputs of the proof and are in the bundle.
    PublicCode,
    /// The codes stay private: the bundle carries three share envelopes (each MPC party's
    /// secret share, encrypted to that party) and the public share commitments
    /// `S_1, S_2, S_3`; `irisCode`/`maskCode` are empty and `validBits` is absent.
    MpcShares,
}

impl From<zkiris::public::Submission> for Submission {
    fn from(s: zkiris::public::Submission) -> Self {
        match s {
            zkiris::public::Submission::PublicCode => Submission::PublicCode,
            zkiris::public::Submission::MpcShares => Submission::MpcShares,
        }
    }
}

/// Who may submit a proof, and where: the registry contract checks
/// `keccak256(chainId ‖ registry ‖ msg.sender) mod r` against the proof's binding (public
/// input 3), so a proof lifted from the mempool, or replayed on another chain or deployment,
/// is refused.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct SubmissionBinding {
    /// EIP-155 chain id (`block.chainid`).
    pub chain_id: u64,
    /// The registry contract's address: 20 bytes.
    pub registry: Vec<u8>,
    /// The account that will send the registration transaction (`msg.sender`): 20 bytes.
    pub account: Vec<u8>,
}

impl SubmissionBinding {
    pub(crate) fn to_core(&self) -> Result<Binding, ZkirisError> {
        let address = |what: &str, bytes: &[u8]| -> Result<[u8; 20], ZkirisError> {
            bytes.try_into().map_err(|_| ZkirisError::invalid(format!("the binding's {what} address has {} bytes; an address has 20", bytes.len())))
        };
        Ok(Binding { chain_id: self.chain_id, registry: address("registry", &self.registry)?, account: address("account", &self.account)? })
    }
}

/// Per-proof options of `Prover.proveWithOptions`.
#[derive(Clone, Debug, Default, PartialEq, Eq, uniffi::Record)]
pub struct ProveOptions {
    /// The account, registry and chain the proof is for. Absent (the default): binding 0, the
    /// proof verifies natively but no registry accepts it.
    #[uniffi(default = None)]
    pub binding: Option<SubmissionBinding>,
    /// The three MPC parties' public keys, in party order 1, 2, 3, each as its key file
    /// (1,228 bytes, magic `ZKIRPPK`). Required, exactly three, for models whose
    /// `submission()` is `MpcShares`; must be empty for `PublicCode` models.
    #[uniffi(default)]
    pub party_keys: Vec<Vec<u8>>,
    /// Prove for a relayer's aggregation (`zkiris aggregate`): the same statement, keys and
    /// public inputs, with snark-verifier's Poseidon transcript, which an aggregation circuit
    /// can verify. Such a bundle (format version 3) verifies natively like any other
    /// (`Verifier.verify`), but the model's own Solidity verifier and `register` do not accept
    /// it: it is for a relayer's `registerBatch`. Default false (the EVM transcript).
    #[uniffi(default)]
    pub aggregatable: bool,
}

/// The options as the core prover takes them, checked against the model's submission mode.
pub(crate) fn core_options(
    options: &ProveOptions,
    submission: zkiris::public::Submission,
    model_id: &str,
) -> Result<zkiris::prover::ProveOptions, ZkirisError> {
    let binding = options.binding.as_ref().map(SubmissionBinding::to_core).transpose()?;
    let party_keys = match submission {
        zkiris::public::Submission::PublicCode => {
            if !options.party_keys.is_empty() {
                return Err(ZkirisError::UnexpectedPartyKeys { model_id: model_id.to_string() });
            }
            None
        }
        zkiris::public::Submission::MpcShares => Some(party_keys(&options.party_keys, model_id)?),
    };
    let transcript = if options.aggregatable { zkiris::prover::ProofTranscript::Poseidon } else { zkiris::prover::ProofTranscript::Evm };
    Ok(zkiris::prover::ProveOptions { binding, party_keys, transcript })
}

/// Parses three distinct party public keys.
fn party_keys(keys: &[Vec<u8>], model_id: &str) -> Result<[PartyPublicKey; 3], ZkirisError> {
    if keys.len() < 3 {
        return Err(ZkirisError::MissingPartyKeys { model_id: model_id.to_string(), given: keys.len() as u32 });
    }
    if keys.len() > 3 {
        return Err(ZkirisError::InvalidPartyKey { party: Some(4), detail: format!("there are three MPC parties, but {} keys were given", keys.len()) });
    }
    let parse = |i: usize| PartyPublicKey::from_bytes(&keys[i]).map_err(|e| ZkirisError::InvalidPartyKey { party: Some(i as u8 + 1), detail: e.to_string() });
    let parsed = [parse(0)?, parse(1)?, parse(2)?];
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        if parsed[a] == parsed[b] {
            return Err(ZkirisError::InvalidPartyKey {
                party: Some(b as u8 + 1),
                detail: format!("party {}'s key is party {}'s: one key holder could combine two shares and recover the iris code", b + 1, a + 1),
            });
        }
    }
    Ok(parsed)
}

/// Checks an MPC party's public key file (as `ProveOptions.partyKeys` takes it) and returns
/// its fingerprint: SHA-256 of the file, 32 bytes, to compare with the fingerprint the party
/// publishes out of band. Fails with `InvalidPartyKey` (`party` absent) when the bytes are not
/// a valid X-Wing party public key.
#[uniffi::export]
pub fn party_public_key_fingerprint(public_key: Vec<u8>) -> Result<Vec<u8>, ZkirisError> {
    guard(|| {
        let key = PartyPublicKey::from_bytes(&public_key).map_err(|e| ZkirisError::InvalidPartyKey { party: None, detail: e.to_string() })?;
        Ok(key.fingerprint().to_vec())
    })
}

/// The 32-byte value (big-endian field element) a proof made with `binding` carries as its
/// binding, public input 3: `keccak256(chainId as uint256 ‖ registry ‖ account)` reduced
/// modulo the BN254 scalar field, i.e. `abi.encodePacked(block.chainid, address(this),
/// msg.sender)` in the registry. Compare it with `ProofBundle.binding()`.
#[uniffi::export]
pub fn submission_binding_value(binding: SubmissionBinding) -> Result<Vec<u8>, ZkirisError> {
    guard(|| Ok(zkiris::public::fr_to_be(&binding.to_core()?.to_field()).to_vec()))
}
