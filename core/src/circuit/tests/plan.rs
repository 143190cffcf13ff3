//! The statement planner refuses what it cannot prove soundly, and plans what it accepts so
//! that the honest witness passes and a tampered public input fails.

use std::sync::Arc;

use super::mock_failures;
use crate::circuit::{CircuitError, StatementPlan, Witness};
use crate::model::manifest::ModelSpec;
use crate::model::{dev_issuer_key, IssuerKeys, Model, VerifiedModelFiles, DEV_ISSUER_KEY_ID};
use crate::testkit::{tiny_files, tiny_sample, TinyRules, TinySpec};
use halo2_proofs::halo2curves::bn256::Fr;

/// The default world-style tiny model with its mask rules removed and `min_valid_bits` set.
fn maskless_model(min_valid_bits: u32) -> (Model, TinySpec) {
    let spec = TinySpec { min_valid_bits, ..TinySpec::default_for(TinyRules::World) };
    let (onnx, mut rules) = tiny_files(&spec);
    rules.encoder.mask.clear();
    let s = ModelSpec {
        name: format!("tiny-maskless-{min_valid_bits}"),
        version: "0.0.1".into(),
        description: "TEST ONLY".into(),
        onnx: "model.onnx".into(),
        rules,
    };
    let manifest = s.sign(&onnx, DEV_ISSUER_KEY_ID, &dev_issuer_key()).expect("lowers");
    let files = VerifiedModelFiles::from_bytes(manifest, onnx, &IssuerKeys::development()).expect("dev-signed");
    (Model::from_verified(files).expect("model"), spec)
}

#[test]
fn a_model_without_mask_rules_cannot_demand_valid_bits() {
    let (model, _) = maskless_model(8);
    match StatementPlan::new(&model) {
        Err(CircuitError::Unsupported(msg)) => assert!(msg.contains("no mask rules"), "{msg}"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(p) => panic!("a model demanding 8 valid bits without mask rules was planned (min_valid {}, mask bits {})", p.min_valid_bits, p.mask_pack.bits.len()),
    }
}

#[test]
fn a_model_without_mask_rules_proves_min_valid_zero_and_nothing_more() {
    let (model, spec) = maskless_model(0);
    let plan = Arc::new(StatementPlan::new(&model).expect("planned"));
    assert!(plan.mask_pack.bits.is_empty());
    let (image, mask) = tiny_sample(&spec, 7);
    let salt = crate::commitment::Salt::from_hex("0x1234abcd").unwrap();
    let c = crate::commitment::commit(&image, &mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    let w = Witness::new(&model, &plan, &image, &mask, fr(salt.as_bytes()), fr(&c.0)).unwrap();
    let k = plan.min_k();
    let honest = mock_failures(&plan, w.clone(), k);
    assert!(honest.is_empty(), "honest witness rejected: {:?}", &honest[..honest.len().min(3)]);
    // The popcount comparator proves 0 ≥ public min_valid_bits: with a public 1 (and the
    // witness copying that 1 into the comparator) the comparator's value gate fails (besides
    // the copy that pins public row 1 to the model's constant).
    let mut w = w;
    w.instances[1] = Fr::from(1);
    let failures = mock_failures(&plan, w, k);
    assert!(!failures.is_empty(), "min_valid_bits = 1 was accepted for a model without mask bits");
    assert!(failures.iter().any(|f| f.contains("('comparator value')")), "expected a comparator-value failure, got {failures:?}");
}
