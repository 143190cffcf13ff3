//! Encoder rules on a CNN output: a tiny model whose liveness CNN also has an `embedding` Gemm,
//! with the sign bits of the embedding as a fifth iris-code plane. The shared layers are planned
//! once, the circuit's code bits equal the native encoder's, and tampering with an embedding
//! cell or a code bit is rejected by MockProver.

use std::sync::Arc;

use crate::circuit::plan::region::CellRef;
use crate::circuit::witness::to_i128;
use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::iriscode::serialize::serial_index;
use crate::model::Model;
use crate::testkit::{tiny_model, tiny_sample, TinyLiveness, TinySpec};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

const SEED: u64 = 11;

fn spec() -> TinySpec {
    TinySpec { embedding: true, ..TinySpec::live(TinyLiveness { threshold: i64::MIN / 4, public: true }) }
}

fn setup() -> (Model, Arc<StatementPlan>, Witness, u32) {
    let spec = spec();
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let (image, mask) = tiny_sample(&spec, SEED);
    let salt = crate::commitment::Salt::from_hex("0x77").unwrap();
    let c = crate::commitment::commit(&image, &mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    let w = Witness::new(&model, &plan, &image, &mask, fr(salt.as_bytes()), fr(&c.0)).unwrap();
    let k = plan.min_k();
    (model, plan, w, k)
}

fn accepted(plan: &Arc<StatementPlan>, w: Witness, k: u32) -> bool {
    let inst = w.instances.clone();
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    MockProver::run(k, &c, vec![inst]).unwrap().verify().is_ok()
}

/// The `b` cells of the embedding plane (plane 4), in grid order.
fn embedding_bit_cells(plan: &StatementPlan) -> Vec<CellRef> {
    let (rows, cols) = (2, 16);
    (0..rows * cols).map(|e| plan.iris_pack.bits[serial_index(crate::model::manifest::CodeLayout::WorldV3, 5, rows, cols, 4, e / cols, e % cols)]).collect()
}

#[test]
fn embedding_bits_are_proven_and_match_the_native_encoder() {
    let (model, plan, w, k) = setup();
    let cnn = &plan.cnn;
    // The two ReLUs are shared by the score and the embedding, and every tensor is planned once
    // (measured: 2 ReLUs, 3 requantisations, 4 dense layers).
    assert_eq!(cnn.relus.len(), 2);
    let mut tensors: Vec<_> =
        cnn.relus.iter().map(|r| r.tensor).chain(cnn.requants.iter().map(|r| r.tensor)).chain(cnn.denses.iter().map(|d| d.tensor)).collect();
    let n = tensors.len();
    tensors.sort_by_key(|t| t.0);
    tensors.dedup();
    assert_eq!(tensors.len(), n, "a tensor planned twice");
    let emb_t = model.graph().output("embedding").unwrap();
    assert!(cnn.denses.iter().any(|d| d.tensor == emb_t));
    assert_eq!(plan.iris_pack.bits.len(), 5 * 32);
    let (image, mask) = tiny_sample(&spec(), SEED);
    let enc = model.encode(&image, &mask).unwrap();
    let emb = &enc.trace.get(model.graph().output("embedding").unwrap()).data;
    let bits: Vec<i128> = embedding_bit_cells(&plan).iter().map(|c| to_i128(w.cols.get(*c))).collect();
    assert_eq!(bits, emb.iter().map(|&v| i128::from(v > 0)).collect::<Vec<_>>());
    assert_eq!(bits, enc.bits.iris[4 * 32..].iter().map(|&b| b as i128).collect::<Vec<_>>());
    assert!(bits.contains(&0) && bits.contains(&1), "the sample's embedding has both signs: {bits:?}");
    assert!(k <= 14, "k = {k}");
    assert!(accepted(&plan, w, k));
}

#[test]
fn tampered_embedding_cell_is_rejected() {
    let (model, plan, mut w, k) = setup();
    let t = model.graph().output("embedding").unwrap();
    let d = plan.cnn.denses.iter().find(|d| d.tensor == t).expect("the embedding is a dense layer");
    // Move one embedding value across zero (its bit flips consistently downstream if the rule
    // atoms were recomputed; the dense gate still ties it to the features).
    let cell = d.outputs[3].cell();
    let CellRef::V(row) = cell else { panic!("dense outputs are v cells") };
    w.cols.v[row] = -w.cols.v[row];
    assert!(!accepted(&plan, w, k));
}

#[test]
fn flipped_embedding_bit_is_rejected() {
    let (_, plan, w0, k) = setup();
    let cells = embedding_bit_cells(&plan);
    // The comparator's bit cell.
    let mut w = w0.clone();
    let CellRef::B(row) = cells[5] else { panic!("bits are b cells") };
    w.cols.b[row] = Fr::ONE - w.cols.b[row];
    assert!(!accepted(&plan, w, k));
    // The public code word (the verifier's side): flip the embedding plane's first bit.
    let mut w = w0;
    let s = serial_index(crate::model::manifest::CodeLayout::WorldV3, 5, 2, 16, 4, 0, 0);
    let word = 3 + s / 248;
    let last = ((word - 3 + 1) * 248).min(160) - 1;
    w.instances[word] += Fr::from(2).pow_vartime([(last - s) as u64]);
    assert!(!accepted(&plan, w, k));
}
