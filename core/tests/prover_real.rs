//! Real KZG proofs (Keccak transcript, SHPLONK) of small test models through the public prover
//! API: prove, verify, bundle round trip, and rejection of every tampering a verifier can see.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use zkiris::commitment::Salt;
use zkiris::prover::{CancellationToken, NoProgress, Phase, ProofBundle, ProveError, ProvingSetup, SrsSource, VerifyError};
use zkiris::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

fn cache() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn setup(rules: TinyRules) -> &'static ProvingSetup {
    static W: OnceLock<ProvingSetup> = OnceLock::new();
    static O: OnceLock<ProvingSetup> = OnceLock::new();
    let cell = if rules == TinyRules::World { &W } else { &O };
    cell.get_or_init(|| {
        let model = Arc::new(tiny_model(&TinySpec::default_for(rules)));
        ProvingSetup::prepare(model, &SrsSource::Development, Some(cache()), &NoProgress, &CancellationToken::new()).unwrap()
    })
}

fn proof(rules: TinyRules) -> &'static ProofBundle {
    static W: OnceLock<ProofBundle> = OnceLock::new();
    static O: OnceLock<ProofBundle> = OnceLock::new();
    let cell = if rules == TinyRules::World { &W } else { &O };
    cell.get_or_init(|| {
        let (image, mask) = tiny_sample(&TinySpec::default_for(rules), 3);
        setup(rules)
            .prove(&image, &mask, &Salt::from_hex("0x77").unwrap(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new())
            .unwrap()
    })
}

#[test]
fn proofs_verify_and_state_the_native_codes() {
    for rules in [TinyRules::World, TinyRules::Openiris] {
        let s = setup(rules);
        let b = proof(rules);
        let st = s.verifier().verify(b).unwrap();
        let spec = TinySpec::default_for(rules);
        let (image, mask) = tiny_sample(&spec, 3);
        let enc = s.model().encode(&image, &mask).unwrap();
        let iris = s.model().serialized_codes(&enc).0.to_vec();
        assert_eq!(st.iris_code, iris, "{rules:?}: proven code equals the native encoder's");
        assert_eq!(st.valid_bits, Some(enc.bits.valid_bits()));
        let c = zkiris::commitment::commit(&image, &mask, &Salt::from_hex("0x77").unwrap()).unwrap();
        assert_eq!(st.commitment, c);
        eprintln!("{rules:?}: proof {} bytes, k = {}", b.proof.len(), s.srs().k());
    }
}

#[test]
fn bundle_round_trips_and_refuses_bad_files() {
    let b = proof(TinyRules::World);
    let bytes = b.to_bytes();
    assert_eq!(&ProofBundle::from_bytes(&bytes).unwrap(), b);
    assert!(matches!(ProofBundle::from_bytes(b"garbage"), Err(zkiris::prover::BundleError::BadMagic)));
    let mut future = bytes.clone();
    future[8] = 99;
    assert!(matches!(ProofBundle::from_bytes(&future), Err(zkiris::prover::BundleError::UnsupportedVersion { .. })));
    assert!(matches!(ProofBundle::from_bytes(&bytes[..bytes.len() / 2]), Err(zkiris::prover::BundleError::Corrupt(_))));
}

#[test]
fn tampered_proofs_are_rejected() {
    let s = setup(TinyRules::World);
    let v = s.verifier();
    let good = proof(TinyRules::World);
    // A flipped code bit in the claimed code (and its public word) does not verify.
    let mut b = good.clone();
    b.iris_code[0] ^= 0x80;
    let words = zkiris::public::code_words(&b.iris_code);
    b.public_inputs[zkiris::public::HEADER_ROWS] = zkiris::prover::fr_to_be(&words[0]);
    assert!(matches!(v.verify(&b), Err(VerifyError::Invalid(_))), "flipped code bit");
    // Another submission binding (a proof lifted for another account, registry or chain).
    let mut b = good.clone();
    b.public_inputs[zkiris::public::ROW_BINDING][31] ^= 1;
    assert!(matches!(v.verify(&b), Err(VerifyError::Invalid(_))), "another binding");
    // A claimed code inconsistent with the public inputs is malformed.
    let mut b = good.clone();
    b.iris_code[0] ^= 0x80;
    assert!(matches!(v.verify(&b), Err(VerifyError::Malformed(_))));
    // A different commitment.
    let mut b = good.clone();
    b.public_inputs[0][31] ^= 1;
    assert!(matches!(v.verify(&b), Err(VerifyError::Invalid(_))), "different commitment");
    // A truncated proof.
    let mut b = good.clone();
    b.proof.truncate(b.proof.len() - 100);
    assert!(v.verify(&b).is_err(), "truncated proof");
    // A corrupted proof byte.
    let mut b = good.clone();
    b.proof[100] ^= 1;
    assert!(v.verify(&b).is_err(), "corrupted proof");
    // A proof labelled as made with another SRS is refused with a typed error.
    let mut b = good.clone();
    b.srs_fingerprint[0] ^= 1;
    assert!(matches!(v.verify(&b), Err(VerifyError::WrongSrs { .. })), "other SRS");
    // So is a proof labelled as made with another verifying key (another circuit version).
    let mut b = good.clone();
    b.vk_fingerprint[0] ^= 1;
    assert!(matches!(v.verify(&b), Err(VerifyError::WrongVerifyingKey { .. })), "other verifying key");
}

#[test]
fn a_proof_does_not_verify_under_another_models_key() {
    let other = setup(TinyRules::Openiris).verifier();
    let b = proof(TinyRules::World);
    assert!(matches!(other.verify(b), Err(VerifyError::WrongModel { .. })));
    // Even relabelled as the other model, the proof fails against its key.
    let mut relabelled = b.clone();
    relabelled.model_id = other.model().id();
    relabelled.code_layout = other.model().manifest().rules.code_layout;
    assert!(other.verify(&relabelled).is_err());
}

#[test]
fn progress_is_reported_and_cancellation_is_prompt() {
    let s = setup(TinyRules::World);
    let (image, mask) = tiny_sample(&TinySpec::default_for(TinyRules::World), 4);
    let events = Arc::new(Mutex::new(Vec::<(Phase, f64)>::new()));
    let ev = events.clone();
    let listener = move |p: Phase, f: f64| ev.lock().unwrap().push((p, f));
    s.prove(&image, &mask, &Salt::random(), None, &zkiris::prover::ProveOptions::default(), &listener, &CancellationToken::new()).unwrap();
    let ev = events.lock().unwrap();
    assert!(ev.iter().any(|(p, _)| *p == Phase::Prove));
    assert!(ev.windows(2).all(|w| w[1].1 >= w[0].1 - 1e-9), "progress is monotone");
    assert!((ev.last().unwrap().1 - 1.0).abs() < 1e-9);

    // Cancel from the progress callback once proving has started.
    let token = CancellationToken::new();
    let t2 = token.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let c2 = calls.clone();
    let cancel_on_prove = move |p: Phase, _: f64| {
        if p == Phase::Prove && c2.fetch_add(1, Ordering::SeqCst) == 2 {
            t2.cancel();
        }
    };
    let r = s.prove(&image, &mask, &Salt::random(), None, &zkiris::prover::ProveOptions::default(), &cancel_on_prove, &token);
    assert!(matches!(r, Err(ProveError::Cancelled)), "{r:?}");
    // A token cancelled before the call stops it immediately.
    let pre = CancellationToken::new();
    pre.cancel();
    assert!(matches!(s.prove(&image, &mask, &Salt::random(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &pre), Err(ProveError::Cancelled)));
}

#[test]
fn key_generation_reports_progress_and_can_be_cancelled_between_its_steps() {
    let model = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World)));
    let files = |d: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).filter(|n| n.starts_with("pk-") || n.starts_with("vk-")).collect()
    };
    // A full generation: Keygen events from 0.4 to 1.0 through its steps, never backwards.
    let dir = tempfile::tempdir().unwrap();
    let events = Arc::new(Mutex::new(Vec::<(Phase, f64)>::new()));
    let ev = events.clone();
    let listener = move |p: Phase, f: f64| ev.lock().unwrap().push((p, f));
    ProvingSetup::prepare(model.clone(), &SrsSource::Development, Some(dir.path()), &listener, &CancellationToken::new()).unwrap();
    let ev = events.lock().unwrap().clone();
    assert!(ev.windows(2).all(|w| w[1].1 >= w[0].1), "progress never goes backwards: {ev:?}");
    let keygen: Vec<f64> = ev.iter().filter(|(p, _)| *p == Phase::Keygen).map(|(_, f)| *f).collect();
    assert!(keygen.len() >= 4 && keygen.iter().any(|f| *f > 0.45 && *f < 0.95), "steps inside key generation: {keygen:?}");
    assert_eq!(keygen.first(), Some(&0.4));
    assert_eq!(keygen.last(), Some(&1.0));
    // Cancelled once the verifying key is done: the proving key is never built, nothing is
    // written, and the next prepare generates it.
    let dir = tempfile::tempdir().unwrap();
    let token = CancellationToken::new();
    let t2 = token.clone();
    let cancel_inside = move |p: Phase, f: f64| {
        if p == Phase::Keygen && f > 0.4 {
            t2.cancel();
        }
    };
    let r = ProvingSetup::prepare(model.clone(), &SrsSource::Development, Some(dir.path()), &cancel_inside, &token);
    assert!(matches!(r, Err(ProveError::Cancelled)), "{r:?}");
    assert!(files(dir.path()).is_empty(), "a cancelled key generation writes no key: {:?}", files(dir.path()));
    let again = ProvingSetup::prepare(model, &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(again.key_source(), zkiris::prover::KeySource::Generated);
}

#[test]
fn too_few_valid_bits_is_a_typed_error_before_proving() {
    let s = setup(TinyRules::World);
    let spec = TinySpec::default_for(TinyRules::World);
    let image = tiny_sample(&spec, 5).0;
    let mask = zkiris::image::IrisMask::new(spec.rows as u32, spec.cols as u32, vec![0; spec.rows * spec.cols]).unwrap();
    let r = s.prove(&image, &mask, &Salt::random(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new());
    assert!(matches!(r, Err(ProveError::InsufficientValidBits { .. })), "{r:?}");
}

#[test]
fn proving_key_cache_is_used_and_corruption_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World)));
    let prep = |m: &Arc<zkiris::model::Model>| {
        ProvingSetup::prepare(m.clone(), &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap()
    };
    let a = prep(&model);
    assert_eq!(a.key_source(), zkiris::prover::KeySource::Generated);
    let b = prep(&model);
    assert_eq!(b.key_source(), zkiris::prover::KeySource::Cache);
    assert_eq!(a.vk_fingerprint(), b.vk_fingerprint());
    // Corrupt every cached proving key: it is regenerated, not trusted.
    for e in std::fs::read_dir(dir.path()).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap().to_str().unwrap().starts_with("pk-") {
            let mut bytes = std::fs::read(&p).unwrap();
            let n = bytes.len();
            bytes[n / 2] ^= 0xff;
            std::fs::write(&p, bytes).unwrap();
        }
    }
    let c = prep(&model);
    assert_eq!(c.key_source(), zkiris::prover::KeySource::Regenerated);
    assert_eq!(c.vk_fingerprint(), a.vk_fingerprint());
}

#[test]
fn a_verifier_reads_its_verifying_key_from_the_cache_and_rederives_a_corrupt_one() {
    use zkiris::prover::{KeySource, Verifier};
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World)));
    let verifier = || Verifier::new(model.clone(), &SrsSource::Development, Some(dir.path())).unwrap();
    let vk_files = || -> Vec<std::path::PathBuf> {
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("vk-")).collect()
    };
    let first = verifier();
    assert_eq!(first.key_source(), KeySource::Generated);
    assert_eq!(vk_files().len(), 1, "the derived key is cached");
    let second = verifier();
    assert_eq!(second.key_source(), KeySource::Cache);
    // The cached key verifies a proof made with a proving key from another cache.
    let b = proof(TinyRules::World);
    second.verify(b).unwrap();
    assert_eq!(format!("{second:?}"), format!("{first:?}"));
    // A corrupt file is derived again (and rewritten), never trusted.
    let path = vk_files().remove(0);
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    let third = verifier();
    assert_eq!(third.key_source(), KeySource::Regenerated);
    third.verify(b).unwrap();
    assert_eq!(verifier().key_source(), KeySource::Cache);
    // Preparing a prover in a cache also leaves the verifying key there.
    let other = tempfile::tempdir().unwrap();
    ProvingSetup::prepare(model.clone(), &SrsSource::Development, Some(other.path()), &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(Verifier::new(model.clone(), &SrsSource::Development, Some(other.path())).unwrap().key_source(), KeySource::Cache);
}

#[test]
fn a_verifier_configures_from_the_cached_shape_and_replaces_a_wrong_or_corrupt_one() {
    use zkiris::circuit::StatementPlan;
    use zkiris::prover::{KeySource, Verifier};
    use zkiris::testkit::shape_cache as keys;
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World)));
    let plan = StatementPlan::new(&model).unwrap();
    let verifier = || Verifier::new(model.clone(), &SrsSource::Development, Some(dir.path())).unwrap();
    let b = proof(TinyRules::World);
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), None);
    assert_eq!(verifier().key_source(), KeySource::Generated);
    // The first verifier records k and the shape; the next reads them and the key from disk.
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), Some((plan.min_k(), plan.shape.clone())));
    let fast = verifier();
    assert_eq!(fast.key_source(), KeySource::Cache);
    fast.verify(b).unwrap();
    // A record describing another circuit (the open-iris model's, under this model's name)
    // finds no key for its constraint system: the verifier plans, still verifies, and the record
    // is put right.
    let other = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::Openiris)));
    let other_plan = StatementPlan::new(&other).unwrap();
    assert_ne!(other_plan.shape, plan.shape);
    keys::store_shape(dir.path(), &model.id(), &other_plan);
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), Some((other_plan.min_k(), other_plan.shape.clone())));
    let v = verifier();
    v.verify(b).unwrap();
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), Some((plan.min_k(), plan.shape.clone())));
    // A corrupt record is never parsed (checksum) and is rewritten.
    let path = keys::shape_cache_path(dir.path(), &model.id());
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), None);
    verifier().verify(b).unwrap();
    assert_eq!(keys::cached_shape(dir.path(), &model.id()), Some((plan.min_k(), plan.shape.clone())));
    // A prover's setup records the shape too, so a verifier on the proving device never plans.
    let other_dir = tempfile::tempdir().unwrap();
    ProvingSetup::prepare(model.clone(), &SrsSource::Development, Some(other_dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(keys::cached_shape(other_dir.path(), &model.id()), Some((plan.min_k(), plan.shape.clone())));
}

#[test]
fn a_verifier_reads_only_the_srs_points_it_uses_and_they_are_the_full_srss() {
    use halo2_proofs::poly::commitment::ParamsProver;
    use zkiris::prover::{Srs, SrsError, Verifier};
    let dir = tempfile::tempdir().unwrap();
    // Development SRS: the first call takes the points from the full SRS and records them.
    let full = Srs::development(6, dir.path()).unwrap();
    let record = dir.path().join("dev-srs-INSECURE-k6-verifier.bin");
    assert!(record.exists(), "generating the full SRS records the verifier's points");
    let part = Srs::development_for_verifier(6, dir.path()).unwrap();
    assert_eq!(part.fingerprint(), full.fingerprint());
    assert_eq!(
        (part.k(), part.params().get_g()[0], part.params().g2(), part.params().s_g2()),
        (6, full.params().get_g()[0], full.params().g2(), full.params().s_g2())
    );
    assert!(part.is_insecure());
    // The record alone suffices (the full SRS is not read) ...
    std::fs::remove_file(dir.path().join("dev-srs-INSECURE-k6.bin")).unwrap();
    assert_eq!(Srs::development_for_verifier(6, dir.path()).unwrap().fingerprint(), full.fingerprint());
    // ... and a corrupt record is never used: the full SRS is regenerated, the record rewritten.
    let mut bytes = std::fs::read(&record).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x10;
    std::fs::write(&record, &bytes).unwrap();
    assert_eq!(Srs::development_for_verifier(6, dir.path()).unwrap().fingerprint(), full.fingerprint());
    assert!(dir.path().join("dev-srs-INSECURE-k6.bin").exists());
    assert_ne!(std::fs::read(&record).unwrap(), bytes, "the corrupt record is replaced");
    std::fs::remove_file(dir.path().join("dev-srs-INSECURE-k6.bin")).unwrap();
    assert_eq!(Srs::development_for_verifier(6, dir.path()).unwrap().fingerprint(), full.fingerprint());

    // Ceremony file: the points at their offsets, downsized like the full load.
    let file = dir.path().join("ceremony.params");
    let big = Srs::development(7, dir.path()).unwrap();
    big.write_processed(&file).unwrap();
    for k in [5, 7] {
        let part = Srs::load_for_verifier(&file, k).unwrap();
        let whole = Srs::load(&file, k).unwrap();
        assert_eq!((part.k(), part.fingerprint()), (whole.k(), whole.fingerprint()), "k = {k}");
        assert!(!part.is_insecure());
    }
    assert!(matches!(Srs::load_for_verifier(&file, 8), Err(SrsError::TooSmall { have: 7, need: 8 })));
    // A truncated file, or one whose [s]_2 is not a point, gets the full load's typed error.
    let good = std::fs::read(&file).unwrap();
    std::fs::write(&file, &good[..good.len() - 1]).unwrap();
    assert!(matches!(Srs::load_for_verifier(&file, 5), Err(SrsError::Malformed { .. })));
    let mut bad = good.clone();
    let m = bad.len();
    for b in &mut bad[m - 64..m - 1] {
        *b = 0xff;
    }
    std::fs::write(&file, &bad).unwrap();
    assert!(matches!(Srs::load_for_verifier(&file, 5), Err(SrsError::Malformed { .. })));
    assert!(matches!(Srs::load_for_verifier(&dir.path().join("missing"), 5), Err(SrsError::Io { .. })));

    // A verifier built from the points verifies, refuses a tampered proof, and renders the
    // same EVM verifier as the full SRS.
    let model = setup(TinyRules::World).model().clone();
    let vdir = tempfile::tempdir().unwrap();
    Verifier::new(model.clone(), &SrsSource::Development, Some(vdir.path())).unwrap();
    let v = Verifier::new(model, &SrsSource::Development, Some(vdir.path())).unwrap();
    assert_eq!(v.params().get_g().len(), 2, "the cached verifier holds only the points it uses");
    let b = proof(TinyRules::World);
    v.verify(b).unwrap();
    let mut t = b.clone();
    let last = t.proof.len() - 1;
    t.proof[last] ^= 1;
    assert!(v.verify(&t).is_err());
    let instances = setup(TinyRules::World).plan().instances;
    let with_points = zkiris::evm::VerifierSource::render(v.params(), v.verifying_key(), instances).unwrap();
    let with_full = zkiris::evm::VerifierSource::render(setup(TinyRules::World).srs().params(), setup(TinyRules::World).verifying_key(), instances).unwrap();
    assert_eq!(with_points.solidity(), with_full.solidity());
}

#[test]
fn a_new_proving_key_removes_the_same_models_stale_keys() {
    let dir = tempfile::tempdir().unwrap();
    let model = Arc::new(tiny_model(&TinySpec::default_for(TinyRules::World)));
    let prefix = hex::encode(&model.id()[..8]);
    // A key of this model from another circuit build, a key of another model, a key in the
    // old naming, and an unrelated file.
    let stale = dir.path().join(format!("pk-{prefix}-00000000000000000000000000000000.bin"));
    let stale_vk = dir.path().join(format!("vk-{prefix}-00000000000000000000000000000000.bin"));
    let stale_shape = dir.path().join(format!("shape-{prefix}-00000000000000000000000000000000.bin"));
    let other = dir.path().join("pk-0123456789abcdef-00000000000000000000000000000000.bin");
    let other_vk = dir.path().join("vk-0123456789abcdef-00000000000000000000000000000000.bin");
    let legacy = dir.path().join("pk-0f26235afa0e35f34f6ab898255097b6.bin");
    let unrelated = dir.path().join("notes.txt");
    for p in [&stale, &stale_vk, &stale_shape, &other, &other_vk, &legacy, &unrelated] {
        std::fs::write(p, b"x").unwrap();
    }
    let s = ProvingSetup::prepare(model, &SrsSource::Development, Some(dir.path()), &NoProgress, &CancellationToken::new()).unwrap();
    assert_eq!(s.key_source(), zkiris::prover::KeySource::Generated);
    assert!(!stale.exists() && !stale_vk.exists() && !stale_shape.exists() && !legacy.exists(), "stale keys of this model are removed");
    assert!(other.exists() && other_vk.exists() && unrelated.exists(), "other models' keys and other files are kept");
    for kind in ["pk", "vk"] {
        let keys: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(&format!("{kind}-{prefix}-")))
            .collect();
        assert_eq!(keys.len(), 1, "{keys:?}");
    }
}

#[test]
fn bundle_calldata_helpers_match_the_evm_encoders() {
    use zkiris::evm::calldata;
    let b = proof(TinyRules::World);
    let instances = b.instances().unwrap();
    assert_eq!(instances.len(), b.public_inputs.len());
    assert_eq!(b.verifier_calldata().unwrap(), calldata::encode_verifier_calldata(&instances, &b.proof));
    assert_eq!(b.upgrade_calldata().unwrap(), calldata::upgrade_calldata(&b.model_id, &b.proof, &instances));
    // Without a device attestation there is nothing to register with.
    assert_eq!(b.register_calldata().unwrap(), None);
    let key = zkiris::attest::dev_device_key();
    let signature = key.sign_commitment(&b.public_inputs[0]);
    let mut signed = b.clone();
    signed.attestation = Some(zkiris::prover::Attestation { device: key.id(), signature });
    assert_eq!(signed.register_calldata().unwrap(), Some(calldata::register_calldata(&b.model_id, &b.proof, &instances, &signature)));
    // A public input that is not a field element is refused, not encoded.
    let mut bad = b.clone();
    bad.public_inputs[1] = [0xff; 32];
    assert!(matches!(bad.verifier_calldata(), Err(zkiris::prover::BundleError::Corrupt(_))));
}
