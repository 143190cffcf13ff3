//! # zkiris
//!
//! Prove, in zero knowledge, that an iris code was derived correctly from a person's own
//! enrolled iris image, through a specific issuer-signed model, with liveness and quality
//! checks passed — without revealing the image.
//!
//! The data path is `vault → model IR → witness → circuit → proof → verifier/contract`:
//!
//! | module | job |
//! |---|---|
//! | [`image`] | normalized iris images and masks (secret buffers) |
//! | [`attest`] | enrollment-device signatures over commitments |
//! | [`circuit`] | the halo2 circuit: convolution identity, comparators, commitment, public codes |
//! | [`commitment`] | the Poseidon enrollment commitment `C = Commit(I, M, r)` |
//! | [`encoder`] | the native encoder: bit rules applied to the model outputs |
//! | [`model`] | signed manifests, ONNX → integer IR, native executor |
//! | [`iriscode`] | iris/mask code bits, open-iris and world-v3 serialization, the open-iris Hamming matcher |
//! | [`poseidon`] | native Poseidon over BN254 (Grain-generated constants, circomlib-compatible) and the commitment sponge |
//! | [`prover`] | SRS, key cache, proving with progress and cancellation, native verification, proof bundles |
//! | [`evm`] | EVM verifiers (snark-verifier), calldata, registry ABI, local EVM tests |
//! | [`vault`] | encrypted on-device storage of enrollments (XChaCha20-Poly1305, envelope keys, atomic writes) |
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod attest;
pub mod circuit;
pub mod commitment;
pub mod encoder;
pub mod evm;
pub mod image;
pub mod iriscode;
pub mod model;
pub mod mpc;
pub mod poseidon;
pub mod prover;
pub mod public;
#[doc(hidden)]
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod vault;

// The statement's MockProver tests (`circuit/tests`) share `core/tests/common` with the
// integration tests, which name the crate `zkiris`.
#[cfg(test)]
extern crate self as zkiris;
