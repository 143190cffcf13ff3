//! Shared fixture for the EVM tests: a dev SRS, two stand-in "models", proofs, compiled
//! verifiers and the compiled registry, built once per test binary.

#![allow(dead_code)]

pub mod standin;

use std::sync::OnceLock;

use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::{keygen_pk, keygen_vk, ProvingKey},
    poly::kzg::commitment::ParamsKZG,
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use zkiris::evm::{
    calldata::{fr_from_i64, PublicInputs, CODE_BYTES, NUM_INSTANCES},
    prove::{prove_evm, verify_native_evm},
    solc::{CompiledContract, CompiledVerifier, Solc},
    verifier::VerifierSource,
};

use standin::{StandInCircuit, K};

/// One stand-in model: its key, rendered verifier and compiled verifier.
pub struct Model {
    pub id: [u8; 32],
    pub tag: u64,
    pub version: u64,
    pub min_valid_bits: u32,
    pub liveness: Fr,
    pub pk: ProvingKey<G1Affine>,
    pub source: VerifierSource,
    pub compiled: CompiledVerifier,
}

/// A proof with its public inputs.
#[derive(Clone)]
pub struct Proven {
    pub instances: Vec<Fr>,
    pub proof: Vec<u8>,
}

pub struct Fixture {
    pub solc: Solc,
    pub params: ParamsKZG<Bn256>,
    pub model_a: Model,
    pub model_b: Model,
    pub registry: CompiledContract,
    /// Commitment C1 under model A (code X).
    pub a_c1: Proven,
    /// Commitment C1 under model B (code Y): the upgrade.
    pub b_c1: Proven,
    /// Commitment C2 under model A with the same code X as C1 (duplicate code).
    pub a_c2_same_code: Proven,
    /// Commitment C3 under model A with its own code Z.
    pub a_c3: Proven,
}

pub fn code(seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![0u8; CODE_BYTES];
    rand_chacha::rand_core::RngCore::fill_bytes(&mut rng, &mut out);
    out
}

pub fn commitment(n: u64) -> Fr {
    // Any canonical field element will do for the stand-in.
    Fr::from(n) * Fr::from(0x1234_5678_9abc_def1u64) + Fr::from(n * n)
}

fn model(solc: &Solc, params: &ParamsKZG<Bn256>, tag: u64, version: u64, min_valid_bits: u32, liveness: Fr) -> Model {
    let circuit = StandInCircuit { tag, instances: None };
    let vk = keygen_vk(params, &circuit).expect("keygen_vk");
    let pk = keygen_pk(params, vk, &circuit).expect("keygen_pk");
    let source = VerifierSource::render(params, pk.get_vk(), NUM_INSTANCES).expect("render");
    let compiled = solc.compile_verifier(&source).expect("compile verifier");
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(b"standin-");
    id[24..].copy_from_slice(&tag.to_be_bytes());
    Model { id, tag, version, min_valid_bits, liveness, pk, source, compiled }
}

pub fn prove(params: &ParamsKZG<Bn256>, model: &Model, c: Fr, code_seed: u64) -> Proven {
    let pi = PublicInputs {
        commitment: c,
        min_valid_bits: model.min_valid_bits,
        liveness_threshold: model.liveness,
        code: code(code_seed),
        mask: code(code_seed + 1000),
    };
    let instances = pi.to_instances().expect("instances");
    let circuit = StandInCircuit { tag: model.tag, instances: Some(instances.clone()) };
    let proof = prove_evm(params, &model.pk, circuit, &instances, ChaCha20Rng::seed_from_u64(code_seed)).expect("prove");
    verify_native_evm(params, model.pk.get_vk(), &instances, &proof).expect("native verify");
    Proven { instances, proof }
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let solc = Solc::locate().expect("solc (run `npm ci --prefix contracts`)");
        // Deterministic, INSECURE test SRS.
        let params = ParamsKZG::<Bn256>::setup(K, ChaCha20Rng::seed_from_u64(42));
        let model_a = model(&solc, &params, 1, 1, 9000, Fr::from(0u64));
        let model_b = model(&solc, &params, 2, 2, 9500, fr_from_i64(-3));
        let registry_src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/IrisCodeRegistry.sol"))
            .expect("contracts/IrisCodeRegistry.sol");
        let registry = solc
            .compile_contract(&[("IrisCodeRegistry.sol", &registry_src)], "IrisCodeRegistry")
            .expect("compile registry");
        let a_c1 = prove(&params, &model_a, commitment(1), 1);
        let b_c1 = prove(&params, &model_b, commitment(1), 2);
        let a_c2_same_code = prove(&params, &model_a, commitment(2), 1);
        let a_c3 = prove(&params, &model_a, commitment(3), 3);
        Fixture { solc, params, model_a, model_b, registry, a_c1, b_c1, a_c2_same_code, a_c3 }
    })
}
