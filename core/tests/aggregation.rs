//! Aggregation for relayers (feature `agg`): a proof of the two-phase tiny world model made with
//! the Poseidon transcript verifies natively, and snark-verifier's aggregation circuit, run over
//! it in witness-generation mode, produces a KZG accumulator whose final pairing check holds —
//! and fails when the proof or a public input is changed. Then the real thing, as a relayer
//! runs it: an [`Aggregator`] generates the aggregation key and proves two mpc-shares bundles
//! (each bound to its own account) into one [`AggregatedProof`] that verifies natively and
//! (feature `evm-test`) in its Solidity verifier on revm, and through `IrisCodeRegistry.registerBatch`
//! registers both statements in one call; it refuses Keccak bundles, tampered bundles, and
//! tampered aggregated instances or proofs. World-v3-size
//! aggregation (k = 21, minutes) is measured by `core/examples/agg_spike.rs`.

use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Fr;
use snark_verifier_sdk::halo2::aggregation::{AggregationCircuit, AggregationConfigParams, VerifierUniversality};
use snark_verifier_sdk::snark_verifier::halo2_base::gates::circuit::CircuitBuilderStage;
use snark_verifier_sdk::{CircuitExt, Snark, SHPLONK};
use zkiris::commitment::Salt;
use zkiris::image::{IrisImage, IrisMask};
use zkiris::prover::agg::{accumulator_holds, AggregateError, AggregatedProof, Aggregator};
use zkiris::prover::{
    CancellationToken, NoProgress, Phase, ProgressListener, ProofBundle, ProofTranscript, ProveOptions, ProvingSetup, SrsSource, VerifyError,
};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

/// Records the phases a progress listener saw.
#[derive(Default)]
struct Phases(std::sync::Mutex<Vec<Phase>>);

impl ProgressListener for Phases {
    fn on_progress(&self, phase: Phase, _: f64) {
        self.0.lock().unwrap().push(phase);
    }
}

impl Phases {
    fn saw(&self, phase: Phase) -> bool {
        self.0.lock().unwrap().contains(&phase)
    }
}

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
fn prove_poseidon(setup: &ProvingSetup, image: &IrisImage, mask: &IrisMask, salt: &Salt, options: ProveOptions) -> ProofBundle {
    let options = ProveOptions { transcript: ProofTranscript::Poseidon, ..options };
    setup.prove(image, mask, salt, None, &options, &NoProgress, &CancellationToken::new()).expect("honest Poseidon-transcript proof")
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
    let bundle = prove_poseidon(&setup, &image, &mask, &Salt::random(), ProveOptions::default());
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
    // (Two proofs folding into one accumulator: the real aggregation below.)

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

/// The aggregation circuit's size in the test: 2^19 rows is the smallest the tiny model's
/// two-proof aggregation fits with a 2^18-row lookup table.
const AGG_K: u32 = 19;

/// The issuer that deploys the registry in the EVM part of the test.
#[cfg(feature = "evm-test")]
const ISSUER: [u8; 20] = [0x0e; 20];

/// Where the registry will be: the issuer's first contract (proofs are bound to it before it
/// is deployed, as a relayer's users would bind to a known deployment).
fn registry_address() -> [u8; 20] {
    #[cfg(feature = "evm-test")]
    return zkiris::evm::create_address(ISSUER, 0);
    #[cfg(not(feature = "evm-test"))]
    return [0x42; 20];
}

/// Proof options bound to `account` at the registry on chain 1, proving in mpc-shares mode for
/// `parties`.
fn bound(account: u8, parties: &[zkiris::mpc::PartyPublicKey; 3]) -> ProveOptions {
    let binding = zkiris::public::Binding { chain_id: 1, registry: registry_address(), account: [account; 20] };
    ProveOptions { binding: Some(binding), party_keys: Some(parties.clone()), ..ProveOptions::default() }
}

#[test]
fn an_aggregator_folds_two_bundles_into_one_proof_that_verifies_registers_and_refuses_what_does_not() {
    use zkiris::mpc::PartySecretKey;
    use zkiris::public::Submission;
    // The relayer's case: mpc-shares proofs (seven public inputs each, what the registry takes).
    let spec = TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(TinyRules::World) };
    let (dir, setup) = prepared(&spec);
    let (image, mask) = tiny_sample(&spec, 7);
    let parties = [0, 1, 2].map(|_| PartySecretKey::generate().public_key());
    let bound = |account: u8| bound(account, &parties);
    let salts = [Salt::random(), Salt::random()];
    let a = prove_poseidon(&setup, &image, &mask, &salts[0], bound(0xa1));
    let (image_b, mask_b) = tiny_sample(&spec, 8);
    let b = prove_poseidon(&setup, &image_b, &mask_b, &salts[1], bound(0xb2));
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

    // Batch sizes the registry cannot take are refused before anything runs.
    assert!(matches!(aggregator.prepare(0, &NoProgress, &none), Err(AggregateError::NoProofs)));
    assert!(matches!(aggregator.prepare(65, &NoProgress, &none), Err(AggregateError::TooManyProofs { n: 65, max: 64 })));

    // The relayer's start-up: the aggregation key for batches of two from the model alone (no
    // proof yet), so its verifier can be deployed before any proof arrives.
    let started = std::time::Instant::now();
    let keygen = Phases::default();
    let prepared = aggregator.prepare(2, &keygen, &none).expect("the aggregation key for two proofs");
    assert!(keygen.saw(Phase::Keygen));
    assert_eq!(prepared.num_instances(), 12 + 2 * 7);
    eprintln!("aggregation key for 2 tiny proofs at k = {AGG_K} in {:.1} s", started.elapsed().as_secs_f64());

    // The honest aggregation, by a clone of the aggregator (clones share its keys): no key
    // generation, the prepared key verifies the proof natively.
    let started = std::time::Instant::now();
    let phases = Phases::default();
    let aggregation = aggregator.clone().aggregate(&[a.clone(), b.clone()], &phases, &none).expect("two honest bundles aggregate");
    eprintln!("aggregated 2 tiny proofs at k = {AGG_K} in {:.1} s (key prepared)", started.elapsed().as_secs_f64());
    assert!(phases.saw(Phase::Prove) && !phases.saw(Phase::Keygen), "the prepared key was generated again");
    assert_eq!(aggregation.key.fingerprint(), prepared.fingerprint());
    let agg = &aggregation.proof;
    let key = &prepared;
    assert_eq!(agg.len(), 2);
    assert_eq!(agg.statement_inputs(0).unwrap(), &a.public_inputs[..]);
    assert_eq!(agg.statement_inputs(1).unwrap(), &b.public_inputs[..]);
    assert_eq!(aggregation.statements[1].binding, b.binding().unwrap());
    assert_eq!((agg.model_id, agg.inner_vk_fingerprint, agg.k), (setup.model().id(), setup.vk_fingerprint(), AGG_K));
    assert_eq!(AggregatedProof::from_bytes(&agg.to_bytes()).unwrap(), *agg);
    key.verify(agg).expect("the aggregated proof verifies natively");

    // Seven public inputs per mpc-shares statement (C, min valid bits, τ, binding, S_1..S_3): no
    // code word reaches the aggregated proof either.
    assert_eq!(agg.inputs_per_proof, 7);
    // Tampering with what the chain reads: the second proof's binding, the first one's S_1, an accumulator limb,
    // a proof byte; and a proof for another key.
    let mut forged = agg.clone();
    let row = 12 + agg.inputs_per_proof as usize + zkiris::public::ROW_BINDING;
    forged.instances[row][31] ^= 1;
    assert!(matches!(key.verify(&forged), Err(AggregateError::Invalid(_))), "forged binding");
    let mut forged = agg.clone();
    forged.instances[12 + zkiris::public::ROW_SHARE_COMMITMENTS][31] ^= 1;
    assert!(matches!(key.verify(&forged), Err(AggregateError::Invalid(_))), "forged S_1 of the first proof");
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
    {
        let enrollments = [(&image, &mask, &salts[0]), (&image_b, &mask_b, &salts[1])];
        on_the_evm(&setup, &aggregation, [&a, &b], enrollments, &parties);
    }
}

/// The aggregation verifier compiled by the pinned solc, deployed on revm under EIP-170 (split
/// into parts when it does not fit), accepts the aggregated proof and rejects a forged binding.
/// Then the registry: a relayer's `registerBatch` registers both statements (each bound to its
/// own account) with the one aggregated proof, and refuses swapped accounts, a forged binding,
/// a missing aggregation verifier, a batch size without one, an untrusted signature and a replay.
#[cfg(feature = "evm-test")]
fn on_the_evm(
    setup: &ProvingSetup,
    aggregation: &zkiris::prover::agg::Aggregation,
    bundles: [&ProofBundle; 2],
    enrollments: [(&IrisImage, &IrisMask, &Salt); 2],
    parties: &[zkiris::mpc::PartyPublicKey; 3],
) {
    use zkiris::attest::{dev_device_id, dev_device_key, DeviceKey};
    use zkiris::evm::calldata::{
        decode_registry_event, fr_to_be, is_registered_calldata, register_batch_calldata, selector, set_aggregation_verifier_calldata, RegistryEvent,
    };
    use zkiris::evm::{calldata_gas, CallOutcome, LocalRegistry, Solc};
    use zkiris::public::{ROW_BINDING, ROW_COMMITMENT};

    let solc = Solc::locate().expect("solc (npm ci --prefix contracts)");
    let mut registry = LocalRegistry::deploy(solc, ISSUER, true).unwrap();
    assert_eq!(registry.address(), registry_address(), "the proofs were bound to this deployment");
    let model_id = setup.model().id();
    let direct = registry.publish(setup).unwrap();
    registry.trust_device(&dev_device_id()).unwrap();

    // Reverts with this custom error (by selector).
    fn reverts(out: &CallOutcome, error: &str) {
        assert!(!out.success, "expected {error}, but the call succeeded");
        assert_eq!(out.output.get(..4), Some(&selector(error)[..]), "expected {error}, got 0x{}", hex::encode(&out.output));
    }

    let source = aggregation.key.solidity_verifier().unwrap();
    let relayer = [0x11; 20];
    let agg = &aggregation.proof;
    let accounts = [[0xa1; 20], [0xb2; 20]];
    let signatures = bundles.map(|b| dev_device_key().sign_commitment(&b.public_inputs[ROW_COMMITMENT]));
    let batch = |accounts: &[[u8; 20]], instances: &[[u8; 32]]| register_batch_calldata(&model_id, &agg.proof, instances, accounts, &signatures);

    // No aggregation verifier for the model yet.
    reverts(&registry.call(relayer, batch(&accounts, &agg.instances)).unwrap(), "NoAggregationVerifier(bytes32,uint256)");
    let published = registry.publish_aggregation_verifier(model_id, 2, &source).unwrap();
    // A fork of the chain from here, for the same statements as upgrades (below).
    let fork = registry.fork();

    // The aggregation verifier alone.
    let calldata = agg.verifier_calldata().unwrap();
    let out = registry.evm_mut().call(relayer, published.verifier, calldata.clone()).unwrap();
    assert!(out.success, "the aggregation verifier accepts the aggregated proof: {:?}", out.halt);
    eprintln!(
        "aggregation verifier: {} part(s), largest {} bytes; verify gas {} (calldata {} bytes, {} gas); direct verifier {} part(s)",
        published.verifier_parts,
        published.largest_part_bytes,
        out.gas_used,
        calldata.len(),
        calldata_gas(&calldata),
        direct.verifier_parts
    );
    let honest_gas = out.gas_used;
    let binding_word = 12 + agg.inputs_per_proof as usize + ROW_BINDING;
    let mut forged = calldata.clone();
    forged[32 * binding_word + 31] ^= 1;
    assert!(!registry.evm_mut().call(relayer, published.verifier, forged).unwrap().success, "a forged binding must revert");
    // An accumulator limb or a proof commitment changed: the point is off the curve, and the
    // verifier reverts once the points are read (it used to fail in a curve precompile, which
    // consumes all the gas it is given, and run out of gas).
    for (what, byte) in [("accumulator limb", 31), ("proof commitment", 32 * agg.instances.len() + 5)] {
        let mut forged = calldata.clone();
        forged[byte] ^= 1;
        let out = registry.evm_mut().call(relayer, published.verifier, forged).unwrap();
        assert!(!out.success && out.halt.is_none(), "a forged {what} must revert, not halt ({:?})", out.halt);
        assert!(out.gas_used < honest_gas, "a forged {what} used {} gas (honest: {honest_gas})", out.gas_used);
    }

    // The registry: swapped accounts break each statement's binding; a forged binding passes the
    // registry's checks (it is bound to another account) but not the proof; one statement is
    // not a batch of two; a signature by an untrusted device.
    reverts(&registry.call(relayer, batch(&[accounts[1], accounts[0]], &agg.instances)).unwrap(), "BindingMismatch(uint256,uint256)");
    let mut rebound = agg.instances.clone();
    rebound[binding_word] = fr_to_be(&registry.binding([0xc3; 20]).to_field());
    reverts(&registry.call(relayer, batch(&[accounts[0], [0xc3; 20]], &rebound)).unwrap(), "ProofRejected(bytes32)");
    let one = register_batch_calldata(&model_id, &agg.proof, &agg.instances[..12 + agg.inputs_per_proof as usize], &accounts[..1], &signatures[..1]);
    reverts(&registry.call(relayer, one).unwrap(), "NoAggregationVerifier(bytes32,uint256)");
    let rogue = DeviceKey::from_bytes(&[7u8; 32]).unwrap().sign_commitment(&bundles[1].public_inputs[ROW_COMMITMENT]);
    let untrusted = register_batch_calldata(&model_id, &agg.proof, &agg.instances, &accounts, &[signatures[0], rogue]);
    reverts(&registry.call(relayer, untrusted).unwrap(), "UntrustedDevice(address)");
    // Only the issuer sets aggregation verifiers.
    let not_owner = registry.call(relayer, set_aggregation_verifier_calldata(&model_id, 2, &published.verifier)).unwrap();
    reverts(&not_owner, "NotOwner(address)");

    // The honest batch: both registered, each with its SharesRegistered event and the account
    // it is bound to.
    let data = batch(&accounts, &agg.instances);
    // The library builds the same calldata from the signed bundles and their bindings, and
    // refuses bindings in the wrong order before anything is sent.
    let signed: Vec<ProofBundle> = bundles
        .iter()
        .zip(&signatures)
        .map(|(b, s)| ProofBundle { attestation: Some(zkiris::prover::Attestation { device: dev_device_id(), signature: *s }), ..(*b).clone() })
        .collect();
    let bindings = accounts.map(|a| registry.binding(a));
    assert_eq!(agg.register_batch_calldata(&signed, &bindings).unwrap(), data, "AggregatedProof::register_batch_calldata");
    let swapped = agg.register_batch_calldata(&signed, &[bindings[1], bindings[0]]);
    assert!(matches!(swapped, Err(zkiris::prover::agg::BatchCalldataError::WrongBinding { index: 0, .. })), "{swapped:?}");
    let calldata_bytes = data.len();
    let out = registry.call(relayer, data).unwrap();
    assert!(out.success, "registerBatch: 0x{}", hex::encode(&out.output));
    eprintln!("registerBatch of 2: {} gas ({} per registration), calldata {} bytes", out.gas_used, out.gas_used / 2, calldata_bytes);
    let events: Vec<RegistryEvent> = out.logs.iter().filter_map(|l| decode_registry_event(&l.topics, &l.data)).collect();
    for (i, bundle) in bundles.iter().enumerate() {
        let commitment = bundle.public_inputs[ROW_COMMITMENT];
        assert!(events.iter().any(|e| matches!(e, RegistryEvent::SharesRegistered { commitment: c, .. } if *c == commitment)), "statement {i} registered");
        assert!(events.contains(&RegistryEvent::RegisteredFor { commitment, account: accounts[i], relayer }), "statement {i} relayed for its account");
        let registered = registry.call(relayer, is_registered_calldata(&commitment, &model_id)).unwrap();
        assert_eq!(registered.output.last(), Some(&1), "statement {i} is registered");
    }
    // A replay of the same batch, sent through the library's relayer call.
    let replay = registry.register_batch(relayer, &model_id, &agg.proof, &agg.instances, &accounts, &signatures);
    reverted(&replay, "registerBatch", "AlreadyRegistered(bytes32,bytes32)");

    upgrades_on_the_evm(fork, aggregation, bundles, enrollments, parties);
}

/// `upgradeBatch` with the real aggregated proof, on a fork of the chain taken before the
/// batch registration: each person first registered directly (`register`, from their own
/// account) under an older mpc-shares model — the same commitment `C`, from the same enrolled
/// image, mask and salt — and a relayer moves both commitments to the aggregated model in one
/// call. Refused: swapped accounts, a statement re-bound to another account, and a replay (no
/// longer an upgrade).
#[cfg(feature = "evm-test")]
fn upgrades_on_the_evm(
    mut registry: zkiris::evm::LocalRegistry,
    aggregation: &zkiris::prover::agg::Aggregation,
    bundles: [&ProofBundle; 2],
    enrollments: [(&IrisImage, &IrisMask, &Salt); 2],
    parties: &[zkiris::mpc::PartyPublicKey; 3],
) {
    use zkiris::attest::{dev_device_id, dev_device_key};
    use zkiris::evm::calldata::{current_model_of_calldata, decode_registry_event, fr_to_be, selector, share_hash, RegistryEvent};
    use zkiris::prover::Attestation;
    use zkiris::public::{Submission, ROW_BINDING, ROW_COMMITMENT};

    let agg = &aggregation.proof;
    let new_model = agg.model_id;
    let relayer = [0x11; 20];
    let accounts = [[0xa1; 20], [0xb2; 20]];
    fn reverts(out: &zkiris::evm::CallOutcome, error: &str) {
        assert!(!out.success, "expected {error}, but the call succeeded");
        assert_eq!(out.output.get(..4), Some(&selector(error)[..]), "expected {error}, got 0x{}", hex::encode(&out.output));
    }

    // The older model: the same tiny encoder with another quality threshold (another model id),
    // published as version 0.0.0 (the aggregated model is 0.0.1).
    let old_spec = TinySpec { submission: Submission::MpcShares, min_valid_bits: 4, ..TinySpec::default_for(TinyRules::World) };
    let (_old_dir, old) = prepared(&old_spec);
    assert_ne!(old.model().id(), new_model);
    registry
        .publish_model(
            old.srs().params(),
            old.verifying_key(),
            old.plan().instances,
            old.model().id(),
            "0.0.0",
            Submission::MpcShares,
            old_spec.min_valid_bits,
            halo2_proofs::halo2curves::bn256::Fr::zero(),
        )
        .unwrap();
    // Each person registers under it directly, from their own account, with the same C.
    for (i, (image, mask, salt)) in enrollments.into_iter().enumerate() {
        let options = ProveOptions { binding: Some(registry.binding(accounts[i])), party_keys: Some(parties.clone()), ..ProveOptions::default() };
        let first = old.prove(image, mask, salt, None, &options, &NoProgress, &CancellationToken::new()).expect("the older model's proof");
        let commitment = first.public_inputs[ROW_COMMITMENT];
        assert_eq!(commitment, bundles[i].public_inputs[ROW_COMMITMENT], "one enrollment, one commitment under both models");
        let signature = dev_device_key().sign_commitment(&commitment);
        let signed = ProofBundle { attestation: Some(Attestation { device: dev_device_id(), signature }), ..first };
        registry.register(accounts[i], &signed).expect("a first registration under the older model");
    }

    // The relayer's calldata from the bundles and their bindings (no device signature needed).
    let bindings = accounts.map(|a| registry.binding(a));
    let unsigned: Vec<ProofBundle> = bundles.iter().map(|b| ProofBundle { attestation: None, ..(*b).clone() }).collect();
    let data = agg.upgrade_batch_calldata(&unsigned, &bindings).expect("upgradeBatch calldata");
    assert_eq!(data, zkiris::evm::calldata::upgrade_batch_calldata(&new_model, &agg.proof, &agg.instances, &accounts));
    let swapped = agg.upgrade_batch_calldata(&unsigned, &[bindings[1], bindings[0]]);
    assert!(matches!(swapped, Err(zkiris::prover::agg::BatchCalldataError::WrongBinding { index: 0, .. })), "{swapped:?}");

    // Refused: swapped accounts; the second statement re-bound to another account (the
    // registry's checks pass, the proof does not).
    let batch = |accounts: &[[u8; 20]], instances: &[[u8; 32]]| zkiris::evm::calldata::upgrade_batch_calldata(&new_model, &agg.proof, instances, accounts);
    reverts(&registry.call(relayer, batch(&[accounts[1], accounts[0]], &agg.instances)).unwrap(), "BindingMismatch(uint256,uint256)");
    let binding_word = 12 + agg.inputs_per_proof as usize + ROW_BINDING;
    let mut rebound = agg.instances.clone();
    rebound[binding_word] = fr_to_be(&registry.binding([0xc3; 20]).to_field());
    reverts(&registry.call(relayer, batch(&[accounts[0], [0xc3; 20]], &rebound)).unwrap(), "ProofRejected(bytes32)");

    // The honest batch: both commitments move to the aggregated model, each with its
    // SharesUpgraded and UpgradedFor events.
    let calldata_bytes = data.len();
    let out = registry.call(relayer, data).unwrap();
    assert!(out.success, "upgradeBatch: 0x{}", hex::encode(&out.output));
    eprintln!("upgradeBatch of 2: {} gas ({} per upgrade), calldata {} bytes", out.gas_used, out.gas_used / 2, calldata_bytes);
    let events: Vec<RegistryEvent> = out.logs.iter().filter_map(|l| decode_registry_event(&l.topics, &l.data)).collect();
    for (i, bundle) in bundles.iter().enumerate() {
        let commitment = bundle.public_inputs[ROW_COMMITMENT];
        let hash = share_hash(&bundle.instances().unwrap()).unwrap();
        assert!(
            events.iter().any(|e| matches!(e, RegistryEvent::SharesUpgraded { commitment: c, old_model, new_model: n, share_hash, .. }
                if *c == commitment && *old_model == old.model().id() && *n == new_model && *share_hash == hash)),
            "statement {i} upgraded"
        );
        assert!(events.contains(&RegistryEvent::UpgradedFor { commitment, account: accounts[i], relayer }), "statement {i} relayed for its account");
        let current = registry.call(relayer, current_model_of_calldata(&commitment)).unwrap();
        assert_eq!(current.output, new_model.to_vec(), "statement {i} is under the new model");
    }
    // A replay, sent through the library's relayer call: the commitments are already under
    // this model.
    let replay = registry.upgrade_batch(relayer, &new_model, &agg.proof, &agg.instances, &accounts);
    reverted(&replay, "upgradeBatch", "NotAnUpgrade(bytes32,bytes32,bytes32)");
}

/// `result` is the registry's typed revert of `call` with the custom error `error`.
#[cfg(feature = "evm-test")]
fn reverted(result: &Result<zkiris::evm::Submitted, zkiris::evm::RegistryError>, call: &str, error: &str) {
    let selector = hex::encode(zkiris::evm::calldata::selector(error));
    assert!(
        matches!(result, Err(zkiris::evm::RegistryError::Reverted { call: c, output, .. }) if *c == call && output.starts_with(&selector)),
        "expected {call} to revert with {error}: {result:?}"
    );
}
