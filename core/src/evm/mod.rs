//! On-chain verification: EVM verifiers, calldata, and the `IrisCodeRegistry` contract's ABI.
//!
//! Every item here is generic over the circuit: it needs the KZG parameters, the verifying (or
//! proving) key and the number of public inputs, nothing else. The public inputs follow
//! layout v2 of [`crate::public`] (one instance column: the commitment, the quality thresholds,
//! the submission binding, then the packed iris and mask codes — 138 values for public-code
//! models — or the three MPC share commitments — 7 values for mpc-shares models).
//!
//! # End to end
//!
//! ```text
//!  issuer (once per model)                         phone (per person and model)
//!  ───────────────────────                         ────────────────────────────
//!  vk ──VerifierSource::render──▶ Solidity          prove_evm(params, pk, circuit, instances)
//!        Solc::compile_verifier ──▶ bytecode          │  (Keccak transcript: EVM-verifiable)
//!        (split if > 24,576 bytes)                    ▼
//!        deploy_with ──▶ verifier address          proof bytes + public inputs + device signature
//!  registry.setModel(id, verifier, version,        (binding = keccak(chain ‖ registry ‖
//!                    submission, minValidBits,      submitter) mod r, public input 3)
//!                    τ, active)                       │
//!  registry.setTrustedDevice(orb, true)               ▼
//!                                                  register_calldata / upgrade_calldata
//!                                                     │
//!                                                     ▼
//!                          IrisCodeRegistry.register(modelId, proof, publicInputs, signature)
//!                            ├─ model active; input count of its mode (138 / 7), canonical
//!                            ├─ thresholds equal the model's; binding == bindingFor(msg.sender)
//!                            ├─ ecrecover(device signature over C): trusted, not revoked
//!                            ├─ C not registered yet; public-code: code not held by another C
//!                            ├─ verifier.staticcall(publicInputs ‖ proof) succeeds
//!                            └─ store keccak256(code words) or keccak256(S_1‖S_2‖S_3) under
//!                               (C, model), record the device, emit CodeRegistered / SharesRegistered
//! ```
//!
//! 1. **Export the verifier.** [`VerifierSource::render`] produces the Solidity (Yul in
//!    an assembly block) for a verifying key. It is a pure function: the source can be written
//!    to disk, reviewed and compiled anywhere.
//! 2. **Compile.** [`Solc`] runs the pinned solc 0.8.19 (the npm solcjs shim in
//!    `contracts/scripts/solc`, or `ZKIRIS_SOLC`) with the optimizer off.
//!    [`Solc::compile_verifier`] keeps every contract under the EIP-170 limit, splitting
//!    a large verifier into a chain of contracts (`verifier.rs` explains the split).
//! 3. **Deploy.** [`CompiledVerifier::deploy_with`] deploys the parts in the right order
//!    and returns the entry address. The issuer deploys `contracts/IrisCodeRegistry.sol` once,
//!    then registers each model's verifier address, version, submission mode and thresholds
//!    ([`calldata::set_model_calldata`]) and the trusted enrollment devices (and revokes a
//!    compromised one with [`calldata::revoke_device_calldata`]).
//! 4. **Prove.** The phone proves with [`crate::prover`] (Keccak transcript, SHPLONK; a
//!    Blake2b proof never verifies on chain) and can check the proof natively. The
//!    statement is bound to the account that will submit it, the chain and the registry
//!    ([`crate::public::Binding`]); the registry refuses it from anyone else, elsewhere.
//! 5. **Submit.** [`calldata::register_calldata`] encodes the first registration (with the
//!    enrollment device's signature on `C`, [`crate::attest`]); [`calldata::upgrade_calldata`]
//!    links a proof under a newer model to the same `C` without a new device signature. The
//!    bare verifier can also be called directly with [`calldata::encode_verifier_calldata`].
//!
//! `revm` (feature `evm-test`, host only) runs all of this in a local EVM for tests and gas
//! measurements.
//!
//! | module | job |
//! |---|---|
//! | `verifier` | render the verifier source; split it for EIP-170 |
//! | `solc` | locate the pinned compiler, compile, check sizes, deploy order |
//! | `inline` | store-to-load forwarding in the generated verifier (fewer memory round trips; crate-private) |
//! | `memory` | memory compaction of the generated verifier (less memory-expansion gas; crate-private) |
//! | [`calldata`] | the registry's layout v2 (on [`crate::public`]), verifier calldata, registry ABI encodings and events |
//! | `prove` | prove and verify any circuit natively with the EVM transcript (test support: reached through `crate::testkit`, feature `dev-keys`) |
//! | `revm` | local EVM: deploy, call, gas (feature `evm-test`) |
//! | `registry` | the registry and real verifiers deployed locally: publish, register, upgrade, gas (feature `evm-test`) |

pub mod calldata;
mod error;
mod inline;
mod memory;
#[cfg(feature = "testkit")]
pub(crate) mod prove;
#[cfg(feature = "evm-test")]
pub(crate) mod registry;
#[cfg(feature = "evm-test")]
pub(crate) mod revm;
pub(crate) mod solc;
pub(crate) mod verifier;
mod yul;

#[cfg(feature = "evm-test")]
pub use registry::{registry_accepts, registry_version, LocalRegistry, PublishedModel, RegistryError, Submitted, REGISTRY_CONTRACT, REGISTRY_SOURCE};
#[cfg(feature = "evm-test")]
pub use revm::{calldata_gas, create_address, CallOutcome, Deployment, EvmLog, LocalEvm, RevmError, DEFAULT_CHAIN_ID, TX_GAS_LIMIT};
pub use solc::{CompiledContract, CompiledVerifier, Solc, SolcError, EVM_VERSION, MAX_VERIFIER_PARTS, PINNED_SOLC_VERSION, SOLC_ENV};
pub use verifier::{PrecompileCalls, VerifierPart, VerifierSource, ACCUMULATOR_INSTANCES, EIP170_MAX_RUNTIME_BYTES, VERIFIER_CONTRACT};
