//! The batched dense layout (`circuit::chips::dense_batch`): many dot products over shared inputs,
//! checked by one random linear combination at the challenge β. On the tiny model whose CNN
//! also has an `embedding` Gemm, forced to blocks of 4 outputs: the code and public inputs equal
//! the direct layout's, a real proof verifies, and each constraint of the block is needed —
//! tampered running sums, outputs at β, input copies, claimed outputs (also an unused slot that
//! nothing else reads) are rejected by MockProver.

use std::sync::Arc;

use crate::circuit::plan::region::CellRef;
use crate::circuit::plan::PlanOptions;
use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::model::Model;
use crate::testkit::{tiny_model, tiny_sample, TinyLiveness, TinySpec};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

use super::{assert_rejected, mock_failures};

const SEED: u64 = 11;
const WIDTH: usize = 4;

fn spec() -> TinySpec {
    TinySpec { embedding: true, ..TinySpec::live(TinyLiveness { threshold: i64::MIN / 4, public: true }) }
}

fn witness(model: &Model, plan: &StatementPlan) -> Witness {
    let (image, mask) = tiny_sample(&spec(), SEED);
    let salt = crate::commitment::Salt::from_hex("0x77").unwrap();
    let c = crate::commitment::commit(&image, &mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    Witness::new(model, plan, &image, &mask, fr(salt.as_bytes()), fr(&c.0)).unwrap()
}

fn setup(width: usize) -> (Model, Arc<StatementPlan>, Witness, u32) {
    let model = tiny_model(&spec());
    let plan = Arc::new(StatementPlan::with_options(&model, &PlanOptions { dense_width: Some(width) }).unwrap());
    let w = witness(&model, &plan);
    let k = plan.min_k();
    (model, plan, w, k)
}

/// The phase-2 columns `h` and `g` in MockProver's failure reports (advice columns are numbered
/// in creation order: q0..q3, v, b, then h, g).
const H: &str = "Phase(1) }, index: 6 }";
const G: &str = "Phase(1) }, index: 7 }";

#[test]
fn batched_layout_proves_the_same_statement_as_the_direct_one() {
    let (model, plan, w, k) = setup(WIDTH);
    assert_eq!(plan.shape.dense_width, WIDTH);
    let blocks: Vec<_> = plan.cnn.denses.iter().flat_map(|d| &d.blocks).collect();
    assert!(plan.cnn.denses.iter().all(|d| d.outputs.is_empty()), "every dense layer is batched");
    assert!(blocks.len() >= 4 && blocks.iter().any(|b| b.outputs.len() == WIDTH), "blocks: {:?}", blocks.iter().map(|b| b.outputs.len()).collect::<Vec<_>>());
    let direct = Arc::new(StatementPlan::with_options(&model, &PlanOptions { dense_width: Some(1) }).unwrap());
    assert_eq!(direct.shape.dense_width, 1);
    let wd = witness(&model, &direct);
    assert_eq!(w.instances, wd.instances, "same public inputs (commitment, τ, code words)");
    assert!(plan.rows < direct.rows, "batched {} rows vs direct {}", plan.rows, direct.rows);
    assert_eq!(mock_failures(&plan, w, k), Vec::<String>::new());
    // The automatic choice keeps the direct layout for small dense layers.
    assert_eq!(StatementPlan::new(&model).unwrap().shape.dense_width, 1);
}

#[test]
fn batched_layout_real_proof_verifies() {
    let (_, plan, w, k) = setup(WIDTH);
    let dir = tempfile::tempdir().unwrap();
    let srs = crate::prover::Srs::development(k, dir.path()).unwrap();
    let pk = crate::prover::keys::keygen(&srs, &plan).unwrap();
    let inst = w.instances.clone();
    let rng = rand_chacha::rand_core::SeedableRng::seed_from_u64(1);
    let rng: rand_chacha::ChaCha20Rng = rng;
    let proof = crate::testkit::prove_evm(srs.params(), &pk, IrisCircuit::with_witness(plan.clone(), Arc::new(w)), &inst, rng).unwrap();
    crate::testkit::verify_native_evm(srs.params(), pk.get_vk(), &inst, &proof).expect("verifies");
    let mut bad = inst.clone();
    bad[3] += Fr::ONE;
    assert!(crate::testkit::verify_native_evm(srs.params(), pk.get_vk(), &bad, &proof).is_err());
}

/// Overwrites one phase-2 cell (column 0 = h, 1 = g) on the second row of the first block and
/// returns MockProver's failures.
fn phase2_tampered(column: u8, value: u64) -> Vec<String> {
    let (_, plan, mut w, k) = setup(WIDTH);
    let b = &plan.cnn.denses[0].blocks[0];
    w.phase2_overrides.push((column, b.first_row + 1, Fr::from(value)));
    mock_failures(&plan, w, k)
}

#[test]
fn tampered_running_sum_is_rejected() {
    assert_rejected("running sum", &phase2_tampered(0, 12345), "batched dense: running sum");
}

#[test]
fn tampered_output_at_beta_is_rejected() {
    assert_rejected("outputs at β", &phase2_tampered(1, 777), "batched dense: outputs at β");
}

#[test]
fn tampered_input_copy_is_rejected() {
    let (_, plan, mut w, k) = setup(WIDTH);
    let b = &plan.cnn.denses[0].blocks[0];
    // The running sum is recomputed from the tampered copy (the synthesizer derives phase 2
    // from phase 1), so only the copy constraint to the producing cell can catch it.
    w.cols.q[1][b.first_row] += Fr::ONE;
    let f = mock_failures(&plan, w, k);
    assert_rejected("input copy", &f, "copy:");
    assert!(!f.iter().any(|s| s.contains("batched dense")), "{f:?}");
}

#[test]
fn wrong_claimed_output_is_rejected_by_the_random_linear_combination() {
    let (_, plan, mut w, k) = setup(WIDTH);
    let d = &plan.cnn.denses[0];
    let b = &d.blocks[0];
    let CellRef::V(row) = b.output_cell(1) else { panic!("outputs are v cells") };
    w.cols.v[row] += Fr::ONE;
    let f = mock_failures(&plan, w, k);
    assert_rejected("claimed output", &f, H);
    assert!(f.iter().any(|s| s.contains(G)), "{f:?}");
}

#[test]
fn unused_output_slot_must_be_zero() {
    let (_, plan, mut w, k) = setup(WIDTH);
    // A block with a free slot (the liveness Gemm has one output): nothing but the random
    // linear combination reads that cell.
    let b = plan.cnn.denses.iter().flat_map(|d| &d.blocks).find(|b| b.outputs.len() < WIDTH).expect("a block with a free slot");
    let CellRef::V(row) = b.output_cell(WIDTH - 1) else { panic!("outputs are v cells") };
    w.cols.v[row] = Fr::from(5);
    let f = mock_failures(&plan, w, k);
    assert_rejected("unused slot", &f, "copy:");
    assert!(f.iter().all(|s| s.contains(H) || s.contains(G)), "only the h–g equality fails: {f:?}");
}
