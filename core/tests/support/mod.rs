//! Shared fixture for the EVM tests: a dev SRS, three stand-in "models" (two public-code, one
//! mpc-shares), proofs, compiled verifiers and the compiled registry, built once per test
//! binary.
//!
//! Proofs are bound (public-input layout v2) to the account that submits them, the chain and
//! the registry. The tests deploy the registry as the issuer's first transaction on a fresh
//! chain, so its address is known before any proof is made: [`REGISTRY`].

#![allow(dead_code)]

pub mod standin;

use std::sync::OnceLock;

use halo2_proofs::{
    halo2curves::bn256::{Bn256, Fr, G1Affine},
    plonk::{keygen_pk, keygen_vk, ProvingKey},
    poly::kzg::commitment::ParamsKZG,
};
use rand_chacha::{
    rand_core::{RngCore, SeedableRng},
    ChaCha20Rng,
};
use zkiris::{
    evm::{
        calldata::{fr_from_i64, public_code_inputs, registry_layout, CODE_BYTES},
        create_address, CompiledContract, CompiledVerifier, Solc, VerifierSource, DEFAULT_CHAIN_ID,
    },
    public::{Binding, PublicBody, PublicInputs, Submission},
    testkit::{prove_evm, verify_native_evm},
};

use standin::{StandInCircuit, K};

/// The issuer: deploys the registry (its first transaction) and the verifiers.
pub const ISSUER: [u8; 20] = [0x15; 20];
/// Account A, the submitter every fixture proof is bound to.
pub const USER: [u8; 20] = [0x42; 20];
/// Account B.
pub const OTHER: [u8; 20] = [0x43; 20];
/// The chain id the fixture proofs are bound to.
pub const CHAIN_ID: u64 = DEFAULT_CHAIN_ID;

/// The registry's address: the issuer's first deployment.
pub fn registry_address() -> [u8; 20] {
    create_address(ISSUER, 0)
}

/// The binding of `account` submitting to the test registry on `chain_id`.
pub fn binding(chain_id: u64, account: [u8; 20]) -> Binding {
    Binding { chain_id, registry: registry_address(), account }
}

/// One stand-in model: its key, rendered verifier and compiled verifier.
pub struct Model {
    pub id: [u8; 32],
    pub tag: u64,
    pub submission: Submission,
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
    /// public-code, version 1.
    pub model_a: Model,
    /// public-code, version 2.
    pub model_b: Model,
    /// mpc-shares, version 3.
    pub model_m: Model,
    pub registry: CompiledContract,
    /// Commitment C1 under model A (code X).
    pub a_c1: Proven,
    /// Commitment C1 under model B (code Y): the upgrade.
    pub b_c1: Proven,
    /// Commitment C2 under model A with the same code X as C1 (duplicate code).
    pub a_c2_same_code: Proven,
    /// Commitment C3 under model A with its own code Z.
    pub a_c3: Proven,
    /// Commitment C3 under model B.
    pub b_c3: Proven,
    /// Commitment C4 under model M (shares only).
    pub m_c4: Proven,
    /// Commitment C1 under model M: an upgrade from public-code to mpc-shares.
    pub m_c1: Proven,
    /// `a_c1`'s statement, unbound (binding 0).
    pub a_c1_unbound: Proven,
    /// `a_c1`'s statement bound to account A on chain 2.
    pub a_c1_chain2: Proven,
}

pub fn code(seed: u64) -> Vec<u8> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut out = vec![0u8; CODE_BYTES];
    rng.fill_bytes(&mut out);
    out
}

/// Three stand-in share commitments (any canonical field elements).
pub fn shares(seed: u64) -> [Fr; 3] {
    let mut rng = ChaCha20Rng::seed_from_u64(seed ^ 0x5EED);
    let mut s = || {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        zkiris::public::reduce_be(&b)
    };
    [s(), s(), s()]
}

pub fn commitment(n: u64) -> Fr {
    // Any canonical field element will do for the stand-in.
    Fr::from(n) * Fr::from(0x1234_5678_9abc_def1u64) + Fr::from(n * n)
}

#[allow(clippy::too_many_arguments)]
fn model(solc: &Solc, params: &ParamsKZG<Bn256>, tag: u64, submission: Submission, version: u64, min_valid_bits: u32, liveness: Fr) -> Model {
    let circuit = StandInCircuit::new(tag, submission, None);
    let vk = keygen_vk(params, &circuit).expect("keygen_vk");
    let pk = keygen_pk(params, vk, &circuit).expect("keygen_pk");
    let source = VerifierSource::render(params, pk.get_vk(), registry_layout(submission).len()).expect("render");
    let compiled = solc.compile_verifier(&source).expect("compile verifier");
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(b"standin-");
    id[24..].copy_from_slice(&tag.to_be_bytes());
    Model { id, tag, submission, version, min_valid_bits, liveness, pk, source, compiled }
}

/// The instances of `model`'s statement for commitment `c`: codes from `seed` (public-code)
/// or share commitments from `seed` (mpc-shares), bound to `bind` (`None`: binding 0).
pub fn statement(model: &Model, c: Fr, seed: u64, bind: Option<Binding>) -> Vec<Fr> {
    let binding = bind.map_or(Fr::from(0u64), |b| b.to_field());
    match model.submission {
        Submission::PublicCode => {
            public_code_inputs(c, model.min_valid_bits, model.liveness, binding, &code(seed), &code(seed + 1000)).expect("instances").to_instances()
        }
        Submission::MpcShares => PublicInputs {
            commitment: c,
            min_valid_bits: model.min_valid_bits,
            liveness_threshold: model.liveness,
            binding,
            body: PublicBody::Shares(shares(seed)),
        }
        .to_instances(),
    }
}

pub fn prove_instances(params: &ParamsKZG<Bn256>, model: &Model, instances: Vec<Fr>, rng_seed: u64) -> Proven {
    let circuit = StandInCircuit::new(model.tag, model.submission, Some(instances.clone()));
    let proof = prove_evm(params, &model.pk, circuit, &instances, ChaCha20Rng::seed_from_u64(rng_seed)).expect("prove");
    verify_native_evm(params, model.pk.get_vk(), &instances, &proof).expect("native verify");
    Proven { instances, proof }
}

/// A proof for commitment `c` under `model`, bound to `USER` on the test chain and registry.
pub fn prove(params: &ParamsKZG<Bn256>, model: &Model, c: Fr, seed: u64) -> Proven {
    prove_instances(params, model, statement(model, c, seed, Some(binding(CHAIN_ID, USER))), seed)
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let solc = Solc::locate().expect("solc (run `npm ci --prefix contracts`)");
        // Deterministic, INSECURE test SRS.
        let params = ParamsKZG::<Bn256>::setup(K, ChaCha20Rng::seed_from_u64(42));
        let model_a = model(&solc, &params, 1, Submission::PublicCode, 1, 9000, Fr::from(0u64));
        let model_b = model(&solc, &params, 2, Submission::PublicCode, 2, 9500, fr_from_i64(-3));
        let model_m = model(&solc, &params, 3, Submission::MpcShares, 3, 9000, fr_from_i64(-3));
        let registry_src =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../contracts/IrisCodeRegistry.sol")).expect("contracts/IrisCodeRegistry.sol");
        let registry = solc.compile_contract(&[("IrisCodeRegistry.sol", &registry_src)], "IrisCodeRegistry").expect("compile registry");
        let a_c1 = prove(&params, &model_a, commitment(1), 1);
        let b_c1 = prove(&params, &model_b, commitment(1), 2);
        let a_c2_same_code = prove(&params, &model_a, commitment(2), 1);
        let a_c3 = prove(&params, &model_a, commitment(3), 3);
        let b_c3 = prove(&params, &model_b, commitment(3), 4);
        let m_c4 = prove(&params, &model_m, commitment(4), 5);
        let m_c1 = prove(&params, &model_m, commitment(1), 6);
        let a_c1_unbound = prove_instances(&params, &model_a, statement(&model_a, commitment(1), 1, None), 7);
        let a_c1_chain2 = prove_instances(&params, &model_a, statement(&model_a, commitment(1), 1, Some(binding(2, USER))), 8);
        Fixture { solc, params, model_a, model_b, model_m, registry, a_c1, b_c1, a_c2_same_code, a_c3, b_c3, m_c4, m_c1, a_c1_unbound, a_c1_chain2 }
    })
}
