//! Aggregation for relayers (feature `agg`): a proof of the two-phase tiny world model made with
//! the Poseidon transcript verifies natively, and snark-verifier's aggregation circuit, run over
//! it in witness-generation mode, produces a KZG accumulator whose final pairing check holds —
//! and fails when the proof or a public input is changed. Then the real thing: an [`Aggregator`]
//! generates the aggregation key, proves two bundles into one [`AggregatedProof`] that verifies
//! natively and (feature `evm-test`) in its Solidity verifier on revm, and refuses Keccak
//! bundles, tampered bundles, and tampered aggregated instances or proofs. World-v3-size
//! aggregation (k = 21, minutes) is measured by `core/examples/agg_spike.rs`.

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use zkiris::commitment::Salt;
use zkiris::prover::agg::{accumulator_holds, AggregateError, AggregatedProof, Aggregator};
use zkiris::prover::{CancellationToken, NoProgress, ProofBundle, ProofTranscript, ProveOptions, ProvingSetup, SrsSource, VerifyError};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

/// The aggregation circuit's public instances over `snarks` (witness generation only).
fn aggregated_instances(setup: &ProvingSetup, snarks: Vec<Snark>) -> Vec<Fr> {
    let params = AggregationConfigParams { degree: 19, lookup_bits: 18, ..Default::default() };
    let mut agg = AggregationCircuit::new::<SHPLONK>(CircuitBuilderStage::Mock, params, setup.srs().params(), snarks, VerifierUniversality::None);
    agg.expose_previous_instances(false);
    agg.instances().remove(0)
}

/// The tiny model of `spec` prepared for proving, with its cache directory.
fn prepared(spec: &TinySpec) -> (tempfile::TempDir, ProvingSetup) {
    let dir = tempfile::tempdir().unwrap();
    let setup = ProvingSetup::prepare(Arc::new(tiny_model(spec)), &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    (dir, setup)
}

/// A Poseidon-transcript proof of `setup`'s model, as a bundle.
fn prove_poseidon(setup: &ProvingSetup, image: &zkiris::image::IrisImage, mask: &zkiris::image::IrisMask, options: ProveOptions) -> ProofBundle {
    let options = ProveOptions { transcript: ProofTranscript::Poseidon, ..options };
    setup.prove(image, mask, &Salt::random(), None, &options, &NoProgress, &CancellationToken::new()).expect("honest Poseidon-transcript proof")
}

/// The snark-verifier view of a bundle: protocol, instances, proof.
fn snark_of(setup: &ProvingSetup, bundle: &ProofBundle) -> Snark {
    Snark::new(setup.snark_protocol(), vec![bundle.instances().unwrap()], bundle.proof.clone())
}

/// Native verification of a Poseidon-transcript proof with other instances or proof bytes.
fn verifies(setup: &ProvingSetup, bundle: &ProofBundle, instances: &[Fr], proof: &[u8]) -> bool {
    let mut b = bundle.clone();
    b.public_inputs = instances.iter().map(zkiris::public::fr_to_be).collect();
    b.proof = proof.to_vec();
    setup.verifier().verify(&b).is_ok()
}

#[test]
fn aggregatable_proof_verifies_and_its_accumulator_holds_only_for_the_honest_proof() {
    let spec = TinySpec::default_for(TinyRules::World);
    let (_dir, setup) = prepared(&spec);
    let (image, mask) = tiny_sample(&spec, 7);
    let bundle = prove_poseidon(&setup, &image, &mask, ProveOptions::default());
    assert_eq!(bundle.transcript, ProofTranscript::Poseidon);
    let snark = snark_of(&setup, &bundle);
    let params = setup.srs().params();
    setup.verifier().verify(&bundle).expect("the Poseidon-transcript proof verifies natively");
    // The bundle file says which transcript it holds (format version 3).
    let back = ProofBundle::from_bytes(&bundle.to_bytes()).unwrap();
    assert_eq!(back, bundle);
    // The same proof bytes read as a Keccak-transcript proof do not verify.
    let keccak = ProofBundle { transcript: ProofTranscript::Evm, ..bundle.clone() };
    assert!(matches!(setup.verifier().verify(&keccak), Err(VerifyError::Invalid(_))));

    // The aggregation circuit re-exposes the proof's instances after its 12 accumulator limbs,
    // and the accumulator's pairing check holds.
    let inst = aggregated_instances(&setup, vec![snark.clone()]);
    assert_eq!(inst[12..], snark.instances[0][..], "previous instances re-exposed in order");
    assert!(accumulator_holds(params, &inst), "honest proof: the accumulator must hold");
    // Two copies fold into one accumulator too.
    let inst2 = aggregated_instances(&setup, vec![snark.clone(), snark.clone()]);
    assert_eq!(inst2.len(), 12 + 2 * snark.instances[0].len());
    assert!(accumulator_holds(params, &inst2), "two honest proofs: the accumulator must hold");

    // A changed public input (the commitment, row 0) breaks the accumulator and the native check.
    let mut forged = snark.clone();
    forged.instances[0][0] += Fr::one();
    assert!(!verifies(&setup, &bundle, &forged.instances[0], &forged.proof));
    assert!(!accumulator_holds(params, &aggregated_instances(&setup, vec![forged])), "forged public input: the accumulator must not hold");

    // A changed evaluation in the proof breaks it as well: the proof ends with the two SHPLONK
    // opening points (32 bytes each, compressed), after the last evaluation (a 32-byte
    // little-endian scalar); flipping its lowest bit keeps it canonical, so decoding succeeds.
    let mut tampered = snark.clone();
    let at = tampered.proof.len() - 3 * 32;
    tampered.proof[at] ^= 1;
    assert!(!verifies(&setup, &bundle, &tampered.instances[0], &tampered.proof));
    assert!(!accumulator_holds(params, &aggregated_instances(&setup, vec![tampered])), "tampered proof: the accumulator must not hold");

    // Malformed accumulator limbs are refused, not a panic.
    assert!(!accumulator_holds(params, &inst[..11]));
    let mut bad = inst.clone();
    bad[0] += Fr::one();
    assert!(!accumulator_holds(params, &bad));
}

#[test]
fn an_mpc_shares_proof_aggregates_with_its_seven_public_inputs_and_its_envelopes_open() {
    use zkiris::mpc::{Party, PartySecretKey, ShareEnvelope, StatementId};
    use zkiris::public::{PublicInputs, PublicLayout, Submission, ROW_SHARE_COMMITMENTS};
    let spec = TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(TinyRules::World) };
    let (_dir, setup) = prepared(&spec);
    let (image, mask) = tiny_sample(&spec, 5);
    // Without party keys an mpc-shares proof is refused, whatever the transcript.
    let no_keys = ProveOptions { transcript: ProofTranscript::Poseidon, ..ProveOptions::default() };
    assert!(setup.prove(&image, &mask, &Salt::random(), None, &no_keys, &NoProgress, &CancellationToken::new()).is_err());
    let parties = [PartySecretKey::generate(), PartySecretKey::generate(), PartySecretKey::generate()];
    let options = ProveOptions { party_keys: Some([0, 1, 2].map(|p| parties[p].public_key())), ..ProveOptions::default() };
    let proof = prove_poseidon(&setup, &image, &mask, options);
    let snark = snark_of(&setup, &proof);
    let params = setup.srs().params();
    setup.verifier().verify(&proof).expect("verifies natively");

    // Seven public inputs (C, min valid bits, τ, binding, S_1..S_3), no code words; each party
    // opens its own envelope against its S_p.
    let instances = &snark.instances[0];
    assert_eq!(instances.len(), 7);
    let be: Vec<[u8; 32]> = instances.iter().map(zkiris::public::fr_to_be).collect();
    let public = PublicInputs::from_be_bytes(&PublicLayout::new(Submission::MpcShares, 128, 128), &be).unwrap();
    let statement = StatementId::of(setup.model().id(), &public);
    assert_eq!(proof.envelopes.len(), 3);
    for p in 0..3 {
        let share = ShareEnvelope::from_bytes(&proof.envelopes[p]).unwrap().open(&parties[p], Party::ALL[p], &statement, instances[ROW_SHARE_COMMITMENTS + p]);
        assert!(share.is_ok(), "party {} opens its share", p + 1);
    }

    // The aggregation circuit re-exposes the seven inputs after the accumulator, and it holds;
    // a changed share commitment breaks it.
    let inst = aggregated_instances(&setup, vec![snark.clone()]);
    assert_eq!(inst[12..], instances[..]);
    assert!(accumulator_holds(params, &inst), "honest mpc-shares proof: the accumulator must hold");
    let mut forged = snark.clone();
    forged.instances[0][ROW_SHARE_COMMITMENTS] += Fr::one();
    assert!(!accumulator_holds(params, &aggregated_instances(&setup, vec![forged])), "forged S_1: the accumulator must not hold");
}

/// The aggregation circuit's size in the test: 2^19 rows is the smallest the tiny model's
/// two-proof aggregation fits with a 2^18-row lookup table.
const AGG_K: u32 = 19;

fn bound(account: u8) -> ProveOptions {
    let binding = zkiris::public::Binding { chain_id: 31337, registry: [0x42; 20], account: [account; 20] };
    ProveOptions { binding: Some(binding), ..ProveOptions::default() }
}

#[test]
fn an_aggregator_folds_two_bundles_into_one_proof_that_verifies_and_refuses_what_does_not() {
    let spec = TinySpec::default_for(TinyRules::World);
    let (dir, setup) = prepared(&spec);
    let (image, mask) = tiny_sample(&spec, 7);
    let a = prove_poseidon(&setup, &image, &mask, bound(0xa1));
    let b = prove_poseidon(&setup, &image, &mask, bound(0xb2));
    let none = CancellationToken::new();

    assert!(matches!(Aggregator::new(setup.verifier(), &SrsSource::Development, Some(dir.path()), 17), Err(AggregateError::BadK { k: 17 })));
    let aggregator = Aggregator::new(setup.verifier(), &SrsSource::Development, Some(dir.path()), AGG_K).unwrap();

    // Refused before any key generation: nothing, a Keccak-transcript bundle, a bundle that does
    // not verify (its binding changed), and a cancelled run.
    assert!(matches!(aggregator.aggregate(&[], &NoProgress, &none), Err(AggregateError::NoProofs)));
    let keccak = setup.prove(&image, &mask, &Salt::random(), None, &bound(0xc3), &NoProgress, &none).unwrap();
    let err = aggregator.aggregate(&[a.clone(), keccak], &NoProgress, &none).unwrap_err();
    assert!(matches!(err, AggregateError::NotAggregatable { index: 1, found: ProofTranscript::Evm }), "{err}");
    let mut rebound = b.clone();
    rebound.public_inputs[zkiris::public::ROW_BINDING][31] ^= 1;
    let err = aggregator.aggregate(&[a.clone(), rebound], &NoProgress, &none).unwrap_err();
    assert!(matches!(err, AggregateError::InvalidBundle { index: 1, source: VerifyError::Invalid(_) }), "{err}");
    let cancelled = CancellationToken::new();
    cancelled.cancel();
    assert!(matches!(aggregator.aggregate(&[a.clone(), b.clone()], &NoProgress, &cancelled), Err(AggregateError::Cancelled)));

    // The honest aggregation: keygen and proof of the aggregation circuit, checked natively.
    let started = std::time::Instant::now();
    let aggregation = aggregator.aggregate(&[a.clone(), b.clone()], &NoProgress, &none).expect("two honest bundles aggregate");
    eprintln!("aggregated 2 tiny proofs at k = {AGG_K} in {:.1} s", started.elapsed().as_secs_f64());
    let agg = &aggregation.proof;
    let key = &aggregation.key;
    assert_eq!(agg.len(), 2);
    assert_eq!(agg.statement_inputs(0).unwrap(), &a.public_inputs[..]);
    assert_eq!(agg.statement_inputs(1).unwrap(), &b.public_inputs[..]);
    assert_eq!(aggregation.statements[1].binding, b.binding().unwrap());
    assert_eq!((agg.model_id, agg.inner_vk_fingerprint, agg.k), (setup.model().id(), setup.vk_fingerprint(), AGG_K));
    assert_eq!(AggregatedProof::from_bytes(&agg.to_bytes()).unwrap(), *agg);
    key.verify(agg).expect("the aggregated proof verifies natively");

    // Tampering with what the chain reads: the second proof's binding, an accumulator limb,
    // a proof byte; and a proof for another key.
    let mut forged = agg.clone();
    let row = 12 + agg.inputs_per_proof as usize + zkiris::public::ROW_BINDING;
    forged.instances[row][31] ^= 1;
    assert!(matches!(key.verify(&forged), Err(AggregateError::Invalid(_))), "forged binding");
    let mut forged = agg.clone();
    forged.instances[0][31] ^= 1;
    assert!(matches!(key.verify(&forged), Err(AggregateError::Invalid(_))), "forged accumulator limb");
    let mut forged = agg.clone();
    let at = forged.proof.len() - 3 * 32;
    forged.proof[at] ^= 1;
    assert!(matches!(key.verify(&forged), Err(AggregateError::Invalid(_))), "tampered proof");
    let other_key = AggregatedProof { aggregation_vk_fingerprint: [0; 32], ..agg.clone() };
    assert!(matches!(key.verify(&other_key), Err(AggregateError::WrongKey(_))));

    #[cfg(feature = "evm-test")]
    on_the_evm(&aggregation);
}

/// The aggregation verifier compiled by the pinned solc, deployed on revm under EIP-170 (split
/// into parts when it does not fit), accepts the aggregated proof and rejects a forged binding.
#[cfg(feature = "evm-test")]
fn on_the_evm(aggregation: &zkiris::prover::agg::Aggregation) {
    use zkiris::evm::{calldata_gas, LocalEvm, Solc};
    let source = aggregation.key.solidity_verifier().unwrap();
    let compiled = Solc::locate().expect("solc (npm ci --prefix contracts)").compile_verifier(&source).unwrap();
    let mut evm = LocalEvm::new();
    let from = [0x11; 20];
    let verifier = compiled.deploy_with(|code| evm.deploy(from, code).map(|d| d.address)).unwrap();
    let calldata = aggregation.proof.verifier_calldata().unwrap();
    let out = evm.call(from, verifier, calldata.clone()).unwrap();
    assert!(out.success, "the aggregation verifier accepts the aggregated proof: {:?}", out.halt);
    eprintln!(
        "aggregation verifier: {} part(s), runtime {:?} bytes; verify gas {} (calldata {} bytes, {} gas)",
        compiled.parts().len(),
        compiled.parts().iter().map(|p| p.runtime_code.len()).collect::<Vec<_>>(),
        out.gas_used,
        calldata.len(),
        calldata_gas(&calldata)
    );
    let mut forged = calldata;
    let word = 12 + aggregation.proof.inputs_per_proof as usize + zkiris::public::ROW_BINDING;
    forged[32 * word + 31] ^= 1;
    assert!(!evm.call(from, verifier, forged).unwrap().success, "a forged binding must revert");
}
