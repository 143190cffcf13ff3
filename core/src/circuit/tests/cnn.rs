//! The CNN path of the statement (liveness score ≥ τ) on a tiny model with the same op set as
//! `models/liveness-v1`: the honest witness is accepted, the circuit's cells agree with the
//! native executor, and tampering with any requantisation, ReLU, dense-layer, score or τ cell is
//! rejected by MockProver.

use std::sync::Arc;

use super::{assert_rejected, mock_failures as failures};

use crate::circuit::plan::cnn::CnnStep;
use crate::circuit::plan::region::CellRef;
use crate::circuit::witness::to_i128;
use crate::circuit::{StatementPlan, Witness};
use crate::model::Model;
use crate::testkit::{tiny_model, tiny_sample, TinyLiveness, TinySpec};
use halo2_proofs::halo2curves::bn256::Fr;

const SEED: u64 = 7;

fn witness_for(model: &Model, plan: &StatementPlan, spec: &TinySpec) -> Witness {
    let (image, mask) = tiny_sample(spec, SEED);
    let salt = crate::commitment::Salt::from_hex("0x1234abcd").unwrap();
    let c = crate::commitment::commit(&image, &mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    Witness::new(model, plan, &image, &mask, fr(salt.as_bytes()), fr(&c.0)).unwrap()
}

/// The sample's integer liveness score (from the native executor).
fn sample_score() -> i64 {
    let spec = TinySpec::live(TinyLiveness { threshold: 0, public: true });
    let (image, mask) = tiny_sample(&spec, SEED);
    tiny_model(&spec).encode(&image, &mask).unwrap().liveness.unwrap()
}

fn setup(threshold: i64, public: bool) -> (Model, Arc<StatementPlan>, Witness, u32) {
    let spec = TinySpec::live(TinyLiveness { threshold, public });
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let w = witness_for(&model, &plan, &spec);
    let k = plan.min_k();
    (model, plan, w, k)
}

#[test]
fn honest_liveness_witness_is_accepted() {
    let s = sample_score();
    let (_, plan, w, k) = setup(s - 1000, true);
    eprintln!(
        "k = {k}, rows = {}, relus = {}, requants = {}, denses = {}, convs = {}",
        plan.rows,
        plan.cnn.relus.len(),
        plan.cnn.requants.len(),
        plan.cnn.denses.len(),
        plan.convs.len()
    );
    assert!(k <= 14);
    let f = failures(&plan, w, k);
    assert!(f.is_empty(), "{} failures: {:?}", f.len(), &f[..f.len().min(6)]);
}

#[test]
fn circuit_cells_agree_with_the_native_executor() {
    let s = sample_score();
    let (model, plan, w, _) = setup(s, true);
    let spec = TinySpec::live(TinyLiveness { threshold: s, public: true });
    let (image, mask) = tiny_sample(&spec, SEED);
    let trace = model.encode(&image, &mask).unwrap().trace;
    let cnn = &plan.cnn;
    assert_eq!((cnn.relus.len(), cnn.requants.len()), (2, 2), "two ReLUs and two requantisations, as in liveness-v1");
    let mut checked = 0;
    for step in &cnn.steps {
        let (tensor, cells): (_, Vec<Fr>) = match *step {
            CnnStep::Relu(i) => (cnn.relus[i].tensor, (0..cnn.relus[i].elems.len()).map(|e| w.cols.u[cnn.relus[i].row(e)]).collect()),
            CnnStep::Requant(i) => (cnn.requants[i].tensor, (0..cnn.requants[i].elems.len()).map(|e| w.cols.u[cnn.requants[i].row(e)]).collect()),
            CnnStep::Dense(i) => (cnn.denses[i].tensor, cnn.denses[i].outputs.iter().map(|o| w.cols.get(o.cell())).collect()),
        };
        let expect = &trace.get(tensor).data;
        assert_eq!(cells.len(), expect.len());
        for (c, e) in cells.iter().zip(expect) {
            assert_eq!(to_i128(*c), *e as i128);
        }
        checked += cells.len();
    }
    // The first convolution (from the image) is proven by the convolution identity, with the bias
    // as the offset of each value.
    let &(ci, t) = cnn.convs.first().expect("the first CNN convolution uses the identity");
    let conv = &plan.convs[ci];
    let expect = &trace.get(t).data;
    for (e, &v) in expect.iter().enumerate() {
        let p = &conv.plan;
        let CellRef::Q(r, k) = conv.output_cell(e / p.outputs, e % p.outputs) else { panic!("coefficient cell") };
        assert_eq!(to_i128(w.cols.q[k][r]) + p.constant[e] as i128, v as i128);
    }
    assert!(checked > 300, "{checked} cells checked");
    // The score is proven against the public τ.
    assert_eq!(w.instances[2], crate::circuit::expr::fe(s as i128));
}

#[test]
fn tampered_requant_remainder_is_rejected() {
    let (_, plan, mut w, k) = setup(sample_score() - 1000, true);
    let r = &plan.cnn.requants[0];
    let row = r.row(5);
    w.cols.q[0][row] = Fr::from((to_i128(w.cols.q[0][row]) as u64 + 1) % 16);
    assert_rejected("requant remainder", &failures(&plan, w, k), "('requantisation')");
}

#[test]
fn requant_remainder_above_its_shift_is_rejected() {
    // r + 2^s with y − 1 satisfies the rounding equation; the remainder limbs cannot hold it.
    let (_, plan, mut w, k) = setup(sample_score() - 1000, true);
    let r = plan.cnn.requants.iter().find(|r| r.shape.shift % 4 != 0).expect("a shift that is not a multiple of the limb width");
    let row = (0..r.elems.len()).map(|e| r.row(e)).find(|&row| to_i128(w.cols.u[row]) > r.ylo as i128).expect("an output above its lower bound");
    let l = 4u32;
    let (full, t) = ((r.shape.shift / l) as usize, r.shape.shift % l);
    // Add 2^s to r (in the partial limb: + 2^t) and take 1 from y.
    let cell = |k: usize| (k % 4, row + k / 4);
    let (c, rr) = cell(full);
    let part = to_i128(w.cols.q[c][rr]) as u64 + (1 << t);
    w.cols.q[c][rr] = Fr::from(part);
    let (c2, r2) = cell(full + 1);
    w.cols.q[c2][r2] = Fr::from(part << (l - t));
    w.cols.u[row] -= Fr::from(1);
    let base = full + 2;
    let (c3, r3) = cell(base);
    w.cols.q[c3][r3] -= Fr::from(1);
    let f = failures(&plan, w, k);
    assert_rejected("requant remainder ≥ 2^s", &f, "lookup:");
    assert!(f.iter().all(|s| !s.contains("requantisation")), "the rounding equation still holds; only the range check catches it: {f:?}");
}

#[test]
fn tampered_relu_output_is_rejected() {
    let (_, plan, mut w, k) = setup(sample_score() - 1000, true);
    let r = &plan.cnn.relus[0];
    w.cols.u[r.row(3)] += Fr::from(1);
    assert_rejected("relu output", &failures(&plan, w, k), "('relu')");
}

#[test]
fn flipped_relu_sign_bit_is_rejected() {
    // A prover that zeroes a positive pre-activation (or passes a negative one) must flip the
    // bit; the output is made consistent with the flipped bit. With the flipped bit, w is a
    // "negative" field element ≈ p − |d|, and no range-checked limbs sum to it.
    let (_, plan, w, k) = setup(sample_score() - 1000, true);
    let r = &plan.cnn.relus[1];
    for want_positive in [true, false] {
        let mut w = w.clone();
        let e = (0..r.elems.len()).find(|&e| (w.cols.b[r.row(e)] == Fr::from(1)) == want_positive).expect("element of that sign");
        let row = r.row(e);
        let el = r.elems[e];
        let d = to_i128(w.cols.v[row]) + el.src.offset as i128 - el.konst as i128;
        let flipped = !want_positive;
        w.cols.b[row] = Fr::from(u64::from(flipped));
        w.cols.u[row] = crate::circuit::expr::fe(el.konst as i128 + if flipped { d } else { 0 });
        // In-range limbs (those of |d|); any choice fails.
        let (_, limbs) = crate::circuit::chips::compare::sign_limbs(-1 - d.abs(), 4, r.rows);
        for (k2, l) in limbs.iter().enumerate() {
            w.cols.q[k2 % 4][row + k2 / 4] = Fr::from(*l);
        }
        assert_rejected("relu sign bit", &failures(&plan, w, k), "('relu')");
    }
}

#[test]
fn tampered_dense_output_is_rejected() {
    let (_, plan, w, k) = setup(sample_score() - 1000, true);
    for d in &plan.cnn.denses {
        let mut w = w.clone();
        let CellRef::V(row) = d.outputs[0].cell() else { panic!("dense outputs are in v") };
        w.cols.v[row] += Fr::from(1);
        assert_rejected("dense output", &failures(&plan, w, k), "('dense dot product')");
    }
}

#[test]
fn tampered_score_is_rejected() {
    // Raise the score cell and everything that reads it consistently: the dense gate that
    // produces it breaks.
    let s = sample_score();
    let (_, plan, mut w, k) = setup(s, true);
    let score_dense = plan.cnn.denses.last().unwrap();
    let CellRef::V(row) = score_dense.outputs[0].cell() else { panic!() };
    w.cols.v[row] += Fr::from(1_000_000);
    let f = failures(&plan, w, k);
    assert_rejected("score", &f, "('dense dot product')");
}

#[test]
fn score_just_under_a_public_threshold_cannot_be_proven() {
    let s = sample_score();
    let (_, plan, w, k) = setup(s, true);
    assert!(failures(&plan, w, k).is_empty(), "score = τ passes");
    let (_, plan, w, k) = setup(s + 1, true);
    let f = failures(&plan, w, k);
    assert_rejected("score = τ − 1", &f, "copy:");
}

#[test]
fn public_threshold_cannot_be_changed() {
    let s = sample_score();
    let (_, plan, w, k) = setup(s + 1, true);
    // The honest witness for τ = s + 1 fails (above); claiming a lower τ in the public input
    // while the circuit reads τ = s + 1 from it is the same circuit, so it fails on the
    // instance copy, and lowering both is a different public statement.
    let mut lowered = w.clone();
    lowered.instances[2] = crate::circuit::expr::fe(s as i128 - 5);
    let f = failures(&plan, lowered, k);
    assert!(!f.is_empty(), "a public τ that differs from the one the comparator used is rejected");
    let _ = w;
}

#[test]
fn fixed_threshold_is_part_of_the_circuit() {
    let s = sample_score();
    let (_, plan, w, k) = setup(s, false);
    assert_eq!(w.instances[2], Fr::zero(), "row 2 is zero when τ is not public");
    assert!(failures(&plan, w, k).is_empty());
    let (_, plan, w, k) = setup(s + 1, false);
    assert_rejected("score under a fixed τ", &failures(&plan, w, k), "copy:");
}

#[test]
fn a_model_without_iris_code_rules_is_refused() {
    // liveness-v1 alone computes a score but no code: there is no statement to prove.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/liveness-v1/manifest.json");
    let model = Model::load(&path, &crate::model::IssuerKeys::development()).unwrap();
    match StatementPlan::new(&model) {
        Err(crate::circuit::CircuitError::Unsupported(m)) => assert!(m.contains("no iris-code rules"), "{m}"),
        other => panic!("expected Unsupported, got {:?}", other.map(|p| p.rows)),
    }
}
