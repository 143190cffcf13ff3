//! Real proofs with the liveness rule in the statement, on the tiny CNN model (k ≤ 14), and
//! the bundled `world-v3-live` model: its outputs are exactly world-v3's and liveness-v1's, it
//! plans at k = 18 (keygen-free estimate), and a threshold above its score is a typed error.

mod common;

use std::sync::{Arc, OnceLock};

use zkiris::commitment::Salt;
use zkiris::model::manifest::ModelSpec;
use zkiris::model::{dev_issuer_key, IssuerKeys, Model, VerifiedModelFiles, DEV_ISSUER_KEY_ID};
use zkiris::prover::{check_enrollment, CancellationToken, NoProgress, ProofBundle, ProveError, ProvingSetup, SrsSource, VerifyError};
use zkiris::testkit::{tiny_model, tiny_sample, TinyLiveness, TinySpec};

const SEED: u64 = 5;

fn cache() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap()).path()
}

fn spec(threshold: i64) -> TinySpec {
    TinySpec::live(TinyLiveness { threshold, public: true })
}

fn score() -> i64 {
    let s = spec(0);
    let (image, mask) = tiny_sample(&s, SEED);
    tiny_model(&s).encode(&image, &mask).unwrap().liveness.unwrap()
}

fn prepare(threshold: i64) -> ProvingSetup {
    let model = Arc::new(tiny_model(&spec(threshold)));
    ProvingSetup::prepare(model, &SrsSource::Development, Some(cache()), &NoProgress, &CancellationToken::new()).unwrap()
}

fn prove(setup: &ProvingSetup, threshold: i64) -> Result<ProofBundle, ProveError> {
    let (image, mask) = tiny_sample(&spec(threshold), SEED);
    setup.prove(&image, &mask, &Salt::from_hex("0x99").unwrap(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new())
}

#[test]
fn liveness_proof_verifies_and_binds_the_public_threshold() {
    let s = score();
    let setup = prepare(s);
    let bundle = prove(&setup, s).expect("score = τ proves");
    let verifier = setup.verifier();
    verifier.verify(&bundle).expect("verifies");
    assert_eq!(bundle.public_inputs[2], zkiris::prover::fr_to_be(&zkiris::public::signed_to_field(s)), "τ is public input row 2");
    // A bundle claiming a lower τ than the model's is refused.
    let mut lowered = bundle.clone();
    lowered.public_inputs[2] = zkiris::prover::fr_to_be(&zkiris::public::signed_to_field(s - 1000));
    assert!(matches!(verifier.verify(&lowered), Err(VerifyError::Invalid(_))));
    eprintln!("tiny-live: k = {}, proof {} bytes", setup.srs().k(), bundle.proof.len());
}

#[test]
fn score_under_the_threshold_is_a_typed_error() {
    let s = score();
    let setup = prepare(s + 1);
    match prove(&setup, s + 1) {
        Err(ProveError::LivenessBelowThreshold { score, threshold }) => assert_eq!((score, threshold), (s, s + 1)),
        other => panic!("expected LivenessBelowThreshold, got {other:?}"),
    }
}

fn world_v3_live_with_threshold(threshold: Option<i64>) -> Model {
    let dir = common::models_dir().join("world-v3-live");
    let mut spec = ModelSpec::from_json(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
    let onnx = std::fs::read(dir.join("model.onnx")).unwrap();
    match threshold {
        None => common::bundled_model("world-v3-live"),
        Some(t) => {
            // A TEST-ONLY re-signed manifest with another τ.
            spec.rules.liveness.as_mut().unwrap().threshold = t;
            let m = spec.sign(&onnx, DEV_ISSUER_KEY_ID, &dev_issuer_key()).unwrap();
            Model::from_verified(VerifiedModelFiles::from_bytes(m, onnx, &IssuerKeys::development()).unwrap()).unwrap()
        }
    }
}

#[test]
fn world_v3_live_is_world_v3_plus_liveness_v1() {
    let live = world_v3_live_with_threshold(None);
    let world = common::bundled_model("world-v3");
    let pad = common::bundled_model("liveness-v1");
    let rule = live.manifest().rules.liveness.clone().expect("liveness rule");
    assert!(rule.public);
    assert_eq!(Some(&rule), pad.manifest().rules.liveness.as_ref());
    let image = zkiris::image::IrisImage::read_png(&common::models_dir().join("samples/synth-eye_128x1024.png")).unwrap();
    let mask = zkiris::image::IrisMask::all_valid(128, 1024);
    let a = check_enrollment(&live, &image, &mask).expect("the bona fide sample passes");
    let b = world.encode(&image, &mask).unwrap();
    let c = pad.encode(&image, &mask).unwrap();
    assert_eq!(a.bits.iris, b.bits.iris);
    assert_eq!(a.bits.mask, b.bits.mask);
    assert_eq!(a.liveness, c.liveness);
    // The statement plan (no keygen): one more padded-chain slot on the image, the CNN regions,
    // and the score comparator.
    let plan = zkiris::circuit::StatementPlan::new(&live).unwrap();
    let base = zkiris::circuit::StatementPlan::new(&world).unwrap();
    eprintln!("world-v3: {} rows, k = {}; world-v3-live: {} rows, k = {}", base.rows, base.min_k(), plan.rows, plan.min_k());
    assert_eq!(base.min_k(), 17);
    assert_eq!(plan.min_k(), 18, "world-v3-live needs 2^18 rows");
    assert_eq!((plan.cnn.relus.len(), plan.cnn.requants.len()), (2, 2));
    assert_eq!(plan.inputs[0].apad.len(), 2, "circular Gabor padding and the CNN's zero padding");
    assert!(plan.liveness.is_some());
}

#[test]
fn world_v3_live_threshold_above_the_score_is_a_typed_error() {
    let image = zkiris::image::IrisImage::read_png(&common::models_dir().join("samples/synth-eye_128x1024.png")).unwrap();
    let mask = zkiris::image::IrisMask::all_valid(128, 1024);
    let s = common::bundled_model("liveness-v1").encode(&image, &mask).unwrap().liveness.unwrap();
    let m = world_v3_live_with_threshold(Some(s + 1));
    match check_enrollment(&m, &image, &mask) {
        Err(ProveError::LivenessBelowThreshold { score, threshold }) => assert_eq!((score, threshold), (s, s + 1)),
        other => panic!("expected LivenessBelowThreshold, got {:?}", other.map(|e| e.liveness)),
    }
}

/// Full size (k = 18, minutes and a few GB): `cargo test --release --test prover_live -- --ignored`.
#[test]
#[ignore = "full-size world-v3-live proof (k = 18)"]
fn world_v3_live_proves_and_verifies() {
    let model = Arc::new(world_v3_live_with_threshold(None));
    let image = zkiris::image::IrisImage::read_png(&common::models_dir().join("samples/synth-eye_128x1024.png")).unwrap();
    let mask = zkiris::image::IrisMask::all_valid(128, 1024);
    let t = std::time::Instant::now();
    let setup = ProvingSetup::prepare(model, &SrsSource::Development, Some(cache()), &NoProgress, &CancellationToken::new()).unwrap();
    let prepared = t.elapsed();
    let t = std::time::Instant::now();
    let bundle = setup
        .prove(&image, &mask, &Salt::from_hex("0x99").unwrap(), None, &zkiris::prover::ProveOptions::default(), &NoProgress, &CancellationToken::new())
        .unwrap();
    let proved = t.elapsed();
    let st = setup.verifier().verify(&bundle).unwrap();
    let world = common::bundled_model("world-v3").encode(&image, &mask).unwrap();
    assert_eq!(st.valid_bits, Some(world.bits.valid_bits()));
    eprintln!("world-v3-live: k = {}, setup {prepared:?}, prove {proved:?}, proof {} bytes", setup.srs().k(), bundle.proof.len());
}
