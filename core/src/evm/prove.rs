//! Proving and verifying natively with the EVM transcript (Keccak-256, SHPLONK).
//!
//! A proof verifies on chain only if its Fiat–Shamir transcript is the one the generated
//! verifier recomputes: snark-verifier's `EvmTranscript` (Keccak-256 over 32-byte words). A
//! proof made with the default Blake2b transcript is rejected by every EVM verifier, so EVM
//! proofs are made with [`prove_evm`]. [`verify_native_evm`] checks such a proof off chain with
//! exactly the verifier's rules (same transcript, same instances).

use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::{create_proof, verify_proof, Circuit, Error as PlonkError, ProvingKey, VerifyingKey},
    poly::{
        commitment::ParamsProver,
        kzg::{
            commitment::{KZGCommitmentScheme, ParamsKZG},
            multiopen::{ProverSHPLONK, VerifierSHPLONK},
            strategy::SingleStrategy,
        },
    },
    transcript::{TranscriptReadBuffer, TranscriptWriterBuffer},
};
use rand_core::RngCore;
use snark_verifier_sdk::{snark_verifier::system::halo2::transcript::evm::EvmTranscript, NativeLoader};

/// Errors from EVM-transcript proving and verification.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EvmProofError {
    /// The prover failed (unsatisfied circuit, wrong instance count, synthesis error).
    #[error("proving failed: {0}")]
    Prove(String),
    /// The proof bytes are truncated or contain an invalid curve point or scalar.
    #[error("the proof is malformed: {0}")]
    Malformed(String),
    /// The proof is well formed but does not verify for these instances and key.
    #[error("the proof does not verify against this verifying key and these public inputs")]
    Invalid,
}

/// Proves `circuit` with public inputs `instances` (one instance column) using SHPLONK and the
/// Keccak EVM transcript. The proof is what the generated verifier reads after the instances.
pub fn prove_evm<C: Circuit<Fr>>(
    params: &ParamsKZG<Bn256>,
    pk: &ProvingKey<G1Affine>,
    circuit: C,
    instances: &[Fr],
    rng: impl RngCore,
) -> Result<Vec<u8>, EvmProofError> {
    let mut transcript: EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>> = TranscriptWriterBuffer::init(Vec::new());
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(params, pk, &[circuit], &[&[instances]], rng, &mut transcript)
        .map_err(|e| EvmProofError::Prove(format!("{e:?}")))?;
    Ok(transcript.finalize())
}

/// Verifies an EVM-transcript proof natively, with the same rules as the on-chain verifier.
pub fn verify_native_evm(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<(), EvmProofError> {
    let mut transcript: EvmTranscript<G1Affine, NativeLoader, &[u8], Vec<u8>> = TranscriptReadBuffer::init(proof);
    verify_proof::<_, VerifierSHPLONK<'_, Bn256>, _, _, _>(params.verifier_params(), vk, SingleStrategy::new(params), &[&[instances]], &mut transcript).map_err(
        |e| match e {
            PlonkError::Transcript(io) => EvmProofError::Malformed(io.to_string()),
            PlonkError::InvalidInstances | PlonkError::InstanceTooLarge => EvmProofError::Malformed("the instances do not match the verifying key".into()),
            _ => EvmProofError::Invalid,
        },
    )
}
