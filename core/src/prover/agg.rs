//! Aggregatable proofs (feature `agg`, experimental; the relayer's `zkiris aggregate` is not
//! built yet: see the README, "Aggregation for relayers").
//!
//! snark-verifier's in-circuit verifier (`AggregationCircuit`, halo2 loader) recomputes the
//! inner proof's Fiat–Shamir challenges with its Poseidon transcript, so an aggregatable proof
//! must be made with that transcript instead of the Keccak `EvmTranscript` of
//! [`ProvingSetup::prove`]. Same circuit, same proving key, same instances; only the transcript
//! differs. Both submission modes: in mpc-shares mode the shares are sealed to the parties
//! as in a bundle, and the aggregation circuit re-exposes only the 7 public inputs.

use halo2_proofs::halo2curves::bn256::Fq;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::plonk::{create_proof, verify_proof, VerifyingKey};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey};
use snark_verifier_sdk::snark_verifier::pcs::AccumulationDecider;
use snark_verifier_sdk::snark_verifier::system::halo2::{compile, Config};
use snark_verifier_sdk::snark_verifier::util::arithmetic::{fe_from_limbs, CurveAffine};
use snark_verifier_sdk::snark_verifier::verifier::plonk::PlonkProtocol;
use snark_verifier_sdk::{NativeLoader, Snark, SHPLONK};

use super::*;

/// The snark-verifier protocol of a verifying key with one instance column of `num_instances`
/// rows. `compile` reads the phases of the constraint system from the key (world-v3: advice in
/// two phases with the challenge β between them), as for the EVM verifier
/// ([`crate::evm::verifier`]).
pub fn protocol(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, num_instances: usize) -> PlonkProtocol<G1Affine> {
    compile(params, vk, Config::kzg().with_num_instance(vec![num_instances]))
}

/// Verifies a Poseidon-transcript proof natively (SHPLONK).
pub fn verify_aggregatable(params: &ParamsKZG<Bn256>, vk: &VerifyingKey<G1Affine>, instances: &[Fr], proof: &[u8]) -> Result<(), String> {
    let mut transcript = PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&[instances]],
        &mut transcript,
    )
    .map_err(|e| e.to_string())
}

impl ProvingSetup {
    /// The snark-verifier protocol of this setup's verifying key.
    pub fn snark_protocol(&self) -> PlonkProtocol<G1Affine> {
        protocol(self.srs.params(), self.pk.get_vk(), self.plan.instances)
    }

    /// Proves like [`Self::prove`], with the Poseidon transcript: the same statement in
    /// either submission mode (the same model run, witness, shares and envelopes), returned as
    /// a snark-verifier-sdk [`Snark`] (protocol, instances, proof) for the aggregation circuit.
    /// In mpc-shares mode the shares are sealed to `options.party_keys` exactly as `prove`
    /// seals them, bound to these public inputs.
    pub fn prove_aggregatable(&self, image: &IrisImage, mask: &IrisMask, salt: &Salt, options: &ProveOptions) -> Result<AggregatableProof, ProveError> {
        let StatementWitness { witness, shares, .. } = self.statement_witness(image, mask, salt, options)?;
        let instances = witness.instances.clone();
        let circuit = IrisCircuit::with_witness(self.plan.clone(), Arc::new(witness));
        let mut transcript = PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
        let rng: rand_chacha::ChaCha20Rng = rand_chacha::rand_core::SeedableRng::from_entropy();
        contain_panic(|| {
            create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
                self.srs.params().as_ref(),
                &self.pk,
                &[circuit],
                &[&[&instances]],
                rng,
                &mut transcript,
            )
        })?;
        let proof = transcript.finalize();
        let public_inputs: Vec<[u8; 32]> = instances.iter().map(fr_to_be).collect();
        let envelopes = self.seal_shares(shares.as_ref(), options, &public_inputs)?;
        Ok(AggregatableProof { snark: Snark::new(self.snark_protocol(), vec![instances], proof), envelopes })
    }
}

/// A proof for the aggregation circuit, and its share envelopes.
#[derive(Clone, Debug)]
pub struct AggregatableProof {
    /// The proof (Poseidon transcript), its protocol and its public inputs.
    pub snark: Snark,
    /// mpc-shares: the three share envelopes (party order), sealed as in a proof bundle;
    /// public-code: empty.
    pub envelopes: Vec<Vec<u8>>,
}

/// The final check of an aggregation proof's KZG accumulator, natively: its first 12 public
/// inputs are `lhs.x, lhs.y, rhs.x, rhs.y` as three 88-bit limbs each, and the aggregation
/// is sound only if `e(lhs, [1]₂) = e(rhs, [τ]₂)` over the inner proofs' SRS — what the EVM
/// verifier of the aggregation circuit checks last. `false` for malformed limbs.
pub fn accumulator_holds(params: &ParamsKZG<Bn256>, instances: &[Fr]) -> bool {
    if instances.len() < 12 {
        return false;
    }
    let c: Vec<Fq> = (0..4).map(|i| fe_from_limbs::<Fr, Fq, 3, 88>([instances[3 * i], instances[3 * i + 1], instances[3 * i + 2]])).collect();
    let (Some(lhs), Some(rhs)) = (G1Affine::from_xy(c[0], c[1]).into_option(), G1Affine::from_xy(c[2], c[3]).into_option()) else {
        return false;
    };
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(&dk, KzgAccumulator::new(lhs, rhs)).is_ok()
}
