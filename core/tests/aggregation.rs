//! Aggregatable proofs (feature `agg`): a proof of the two-phase tiny world model made with the
//! Poseidon transcript verifies natively, and snark-verifier's aggregation circuit, run over it
//! in witness-generation mode, produces a KZG accumulator whose final pairing check holds —
//! and fails when the proof or a public input is changed. Keygen and proving of the
//! aggregation circuit itself (k = 21, minutes) are measured by `core/examples/agg_spike.rs`,
//! not here.

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use zkiris::commitment::Salt;
use zkiris::prover::agg::{accumulator_holds, verify_aggregatable};
use zkiris::prover::{CancellationToken, NoProgress, ProveOptions, ProvingSetup, SrsSource};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

/// The aggregation circuit's public instances over `snarks` (witness generation only).
fn aggregated_instances(setup: &ProvingSetup, snarks: Vec<Snark>) -> Vec<Fr> {
    let params = AggregationConfigParams { degree: 19, lookup_bits: 18, ..Default::default() };
    let mut agg = AggregationCircuit::new::<SHPLONK>(CircuitBuilderStage::Mock, params, setup.srs().params(), snarks, VerifierUniversality::None);
    agg.expose_previous_instances(false);
    agg.instances().remove(0)
}

#[test]
fn aggregatable_proof_verifies_and_its_accumulator_holds_only_for_the_honest_proof() {
    let spec = TinySpec::default_for(TinyRules::World);
    let dir = tempfile::tempdir().unwrap();
    let setup = ProvingSetup::prepare(Arc::new(tiny_model(&spec)), &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    let (image, mask) = tiny_sample(&spec, 7);
    let snark = setup.prove_aggregatable(&image, &mask, &Salt::random(), &ProveOptions::default()).expect("honest proof").snark;
    let params = setup.srs().params();
    let vk = setup.verifying_key();
    verify_aggregatable(params, vk, &snark.instances[0], &snark.proof).expect("the Poseidon-transcript proof verifies natively");

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
    assert!(verify_aggregatable(params, vk, &forged.instances[0], &forged.proof).is_err());
    assert!(!accumulator_holds(params, &aggregated_instances(&setup, vec![forged])), "forged public input: the accumulator must not hold");

    // A changed evaluation in the proof breaks it as well: the proof ends with the two SHPLONK
    // opening points (32 bytes each, compressed), after the last evaluation (a 32-byte
    // little-endian scalar); flipping its lowest bit keeps it canonical, so decoding succeeds.
    let mut tampered = snark.clone();
    let at = tampered.proof.len() - 3 * 32;
    tampered.proof[at] ^= 1;
    assert!(verify_aggregatable(params, vk, &tampered.instances[0], &tampered.proof).is_err());
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
    let dir = tempfile::tempdir().unwrap();
    let setup = ProvingSetup::prepare(Arc::new(tiny_model(&spec)), &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    let (image, mask) = tiny_sample(&spec, 5);
    // Without party keys an mpc-shares proof is refused, as by `prove`.
    assert!(setup.prove_aggregatable(&image, &mask, &Salt::random(), &ProveOptions::default()).is_err());
    let parties = [PartySecretKey::generate(), PartySecretKey::generate(), PartySecretKey::generate()];
    let options = ProveOptions { party_keys: Some([0, 1, 2].map(|p| parties[p].public_key())), ..ProveOptions::default() };
    let proof = setup.prove_aggregatable(&image, &mask, &Salt::random(), &options).expect("honest mpc-shares proof");
    let snark = proof.snark;
    let params = setup.srs().params();
    verify_aggregatable(params, setup.verifying_key(), &snark.instances[0], &snark.proof).expect("verifies natively");

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
