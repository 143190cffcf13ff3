//! EVM tamper tests against the real two-phase statement (issue 15, point 6): a proof made by
//! the public prover for a real `IrisCircuit` (phase-0 columns, the challenge β, the phase-1
//! running sums), verified by its generated Solidity/Yul verifier on revm. The honest proof
//! passes; a flipped proof byte (in a phase-0 commitment, in a phase-1 commitment, in the
//! evaluations, in the final opening), a changed public input (the commitment, the binding, one
//! code word) and a proof of another statement each revert, and the native EVM-transcript
//! verifier agrees.
//!
//! The suite runs on the tiny world-style model: the same chips and the same two-phase
//! structure as world-v3 (β drawn after the phase-0 commitments, `h`, `g`, `g2` in phase 1, the
//! same 8 phase-0 advice columns), at k = 11 instead of 17, so keygen, two proofs and solc take
//! about 6 s. `world_v3_real_proofs_on_chain` runs the same suite on the bundled world-v3 model
//! and the conformance image (138 public inputs, a split verifier); it is `--ignored` because it
//! takes about 2.5 minutes on two cores (measured 155 s with the tiny one, 777,115 gas to verify).
//!
//! `cargo test -p zkiris --features evm-test --test evm_two_phase` (solc: `npm ci --prefix contracts`).

mod common;

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use zkiris::commitment::Salt;
use zkiris::evm::calldata::{encode_verifier_calldata, with_binding};
use zkiris::evm::Solc;
use zkiris::evm::VerifierSource;
use zkiris::evm::{create_address, LocalEvm};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::Model;
use zkiris::prover::{CancellationToken, NoProgress, ProofBundle, ProveOptions, ProvingSetup, SrsSource};
use zkiris::public::{Binding, HEADER_ROWS, ROW_BINDING, ROW_COMMITMENT};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};
use zkiris::testkit::{verify_native_evm, EvmProofError};

const ISSUER: [u8; 20] = [0x15; 20];
const USER: [u8; 20] = [0x42; 20];
const OTHER: [u8; 20] = [0x43; 20];

fn binding(account: [u8; 20]) -> Binding {
    Binding { chain_id: 1, registry: create_address(ISSUER, 0), account }
}

/// Proves one enrollment, bound to [`USER`].
fn prove(setup: &ProvingSetup, (image, mask): &(IrisImage, IrisMask), salt: &str) -> ProofBundle {
    let options = ProveOptions { binding: Some(binding(USER)), ..Default::default() };
    setup.prove(image, mask, &Salt::from_hex(salt).unwrap(), None, &options, &NoProgress, &CancellationToken::new()).expect("honest proof")
}

/// The lowest bit of public input `row` flipped.
fn flip_low_bit(instances: &[Fr], row: usize) -> Vec<Fr> {
    let mut out = instances.to_vec();
    let mut be = zkiris::public::fr_to_be(&out[row]);
    be[31] ^= 1;
    out[row] = zkiris::public::fr_from_be(&be).unwrap();
    out
}

/// The tamper suite on `model`: statement A (`a`) and another statement B (`b`).
fn suite(model: Model, a: (IrisImage, IrisMask), b: (IrisImage, IrisMask)) {
    let dir = tempfile::tempdir().unwrap();
    let setup = ProvingSetup::prepare(Arc::new(model), &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    let (params, vk) = (setup.srs().params(), setup.verifying_key());

    // The statement is really two-phase: β is drawn after the phase-0 advice commitments, and
    // the running sums are committed after it.
    let cs = vk.cs();
    let phases = cs.advice_column_phase();
    let phase0 = phases.iter().filter(|&&p| p == 0).count();
    assert_eq!((cs.num_challenges(), cs.challenge_phase()), (1, vec![0]));
    assert_eq!(phases.iter().filter(|&&p| p == 1).count(), 3, "h, g, g2 in phase 1: {phases:?}");

    let pa = prove(&setup, &a, "0x1234abcd");
    let pb = prove(&setup, &b, "0x5678");
    let (ia, ib) = (pa.instances().unwrap(), pb.instances().unwrap());
    assert_eq!(ia.len(), setup.plan().instances);
    assert_ne!(ia[ROW_COMMITMENT], ib[ROW_COMMITMENT], "two statements");
    verify_native_evm(params, vk, &ia, &pa.proof).expect("native verify A");
    verify_native_evm(params, vk, &ib, &pb.proof).expect("native verify B");

    let solc = Solc::locate().expect("solc (run `npm ci --prefix contracts`)");
    let source = VerifierSource::render(params, vk, ia.len()).unwrap();
    assert_eq!(source.proof_len(), pa.proof.len());
    let compiled = solc.compile_verifier(&source).unwrap();
    let mut evm = LocalEvm::new();
    let verifier = compiled.deploy_with(|code| evm.deploy(ISSUER, code).map(|d| d.address)).unwrap();
    let mut call = |instances: &[Fr], proof: &[u8]| evm.call(USER, verifier, encode_verifier_calldata(instances, proof)).unwrap();

    // Honest proofs pass.
    let honest = call(&ia, &pa.proof);
    assert!(honest.success, "honest proof reverted: 0x{} {:?}", hex::encode(&honest.output), honest.halt);
    println!(
        "k = {}: honest verify {} gas, proof {} bytes, {} public inputs, {phase0} phase-0 advice columns",
        setup.srs().k(),
        honest.gas_used,
        pa.proof.len(),
        ia.len()
    );
    assert!(call(&ib, &pb.proof).success, "honest proof B reverted");

    // One flipped proof byte: the first phase-0 commitment, the first phase-1 commitment
    // (h, after the phase-0 ones: 64 bytes per point), a middle byte, the final opening.
    for pos in [5, 64 * phase0 + 5, pa.proof.len() / 2, pa.proof.len() - 1] {
        let mut proof = pa.proof.clone();
        proof[pos] ^= 0x01;
        let out = call(&ia, &proof);
        assert!(!out.success, "flipped proof byte {pos} accepted on chain");
        if [5, 64 * phase0 + 5].contains(&pos) {
            // A commitment's x coordinate: the point is off the curve, and the verifier reverts
            // once the points are read, instead of failing in a curve precompile, which consumes
            // all the gas it is given and ran the transaction out of gas.
            assert!(out.halt.is_none(), "a malformed proof point halted ({:?}) instead of reverting", out.halt);
            assert!(out.gas_used < honest.gas_used, "a malformed proof point used {} gas (honest: {})", out.gas_used, honest.gas_used);
        }
        assert!(verify_native_evm(params, vk, &ia, &proof).is_err(), "flipped proof byte {pos} accepted natively");
    }

    // One changed public input: the commitment, the binding (re-bound to another account),
    // one code word (its lowest bit: one code bit), each the same proof.
    let mut other_c = ia.clone();
    other_c[ROW_COMMITMENT] = ib[ROW_COMMITMENT];
    let rebound = with_binding(&ia, &binding(OTHER));
    assert_ne!(rebound[ROW_BINDING], ia[ROW_BINDING]);
    for (what, inst) in
        [("commitment", other_c), ("binding", rebound), ("iris code word", flip_low_bit(&ia, HEADER_ROWS)), ("mask code word", flip_low_bit(&ia, ia.len() - 1))]
    {
        assert!(!call(&inst, &pa.proof).success, "changed {what} accepted on chain");
        assert_eq!(verify_native_evm(params, vk, &inst, &pa.proof), Err(EvmProofError::Invalid), "{what}");
    }

    // A proof of another statement: B's proof with A's public inputs, and A's with B's.
    assert!(!call(&ia, &pb.proof).success, "B's proof accepted for A's statement");
    assert!(!call(&ib, &pa.proof).success, "A's proof accepted for B's statement");
    assert_eq!(verify_native_evm(params, vk, &ia, &pb.proof), Err(EvmProofError::Invalid));
}

#[test]
fn tiny_two_phase_proofs_on_chain() {
    let spec = TinySpec::default_for(TinyRules::World);
    suite(tiny_model(&spec), tiny_sample(&spec, 7), tiny_sample(&spec, 8));
}

#[test]
#[ignore = "world-v3 size: keygen, two proofs and a split verifier take about 2.5 minutes"]
fn world_v3_real_proofs_on_chain() {
    let (image, mask) = common::world_v3_test_inputs();
    // Statement B: the same enrollment shifted by one column (another image, mask and code).
    let shift = |v: &[u8]| -> Vec<u8> { v.chunks(1024).flat_map(|r| r[1..].iter().chain(&r[..1]).copied().collect::<Vec<u8>>()).collect() };
    let b = (IrisImage::new(128, 1024, shift(image.pixels())).unwrap(), IrisMask::new(128, 1024, shift(mask.bits())).unwrap());
    suite(common::bundled_model("world-v3"), (image, mask), b);
}
