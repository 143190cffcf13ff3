//! MockProver tests of the whole statement on small test models: the honest witness is
//! accepted, and tampering with any constraint family is rejected.

use std::sync::Arc;

use super::{assert_rejected, mock_failures as failures};

use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;

fn witness_for(model: &crate::model::Model, plan: &StatementPlan, image: &crate::image::IrisImage, mask: &crate::image::IrisMask) -> Witness {
    let salt = crate::commitment::Salt::from_hex("0x1234abcd").unwrap();
    let c = crate::commitment::commit(image, mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    Witness::new(model, plan, image, mask, fr(salt.as_bytes()), fr(&c.0)).unwrap()
}

fn setup(rules: TinyRules) -> (Arc<StatementPlan>, Witness, u32) {
    let spec = TinySpec::default_for(rules);
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let (image, mask) = tiny_sample(&spec, 7);
    let w = witness_for(&model, &plan, &image, &mask);
    let k = plan.min_k();
    (plan, w, k)
}

fn run(plan: &Arc<StatementPlan>, w: Witness, k: u32) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let inst = w.instances.clone();
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    MockProver::run(k, &c, vec![inst]).unwrap().verify()
}

#[test]
fn honest_witness_is_accepted() {
    for rules in [TinyRules::World, TinyRules::Openiris] {
        let (plan, w, k) = setup(rules);
        eprintln!("{rules:?}: k = {k}, rows = {}, atoms = {}, instances = {}", plan.rows, plan.atoms.len(), plan.instances);
        if let Err(e) = run(&plan, w, k) {
            panic!("{rules:?}: {} failures, first: {:?}", e.len(), &e[..e.len().min(3)]);
        }
    }
}

use crate::circuit::plan::region::CellRef;
use crate::circuit::plan::Atom;
use halo2_proofs::dev::FailureLocation;

fn first_atom(plan: &StatementPlan, pred: impl Fn(&Atom) -> bool) -> usize {
    plan.atoms.iter().position(pred).expect("atom of that kind")
}

#[test]
fn tampered_pixel_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let r = plan.inputs[0].first_row + 5;
    w.cols.q[2][r] += Fr::from(1);
    let f = failures(&plan, w, k);
    // The packing into the commitment element sees it, and so does the convolution identity.
    assert_rejected("pixel", &f, "gate:");
}

#[test]
fn out_of_range_pixel_is_rejected_by_the_lookup() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let r = plan.inputs[0].first_row + 3;
    // Keep packing consistent: 16 = limb overflow for 4-bit pixels.
    w.cols.q[1][r] = Fr::from(16);
    let f = failures(&plan, w, k);
    assert_rejected("pixel range", &f, "lookup:");
}

/// The tiny model with the range table forced to one layout.
fn setup_layout(paired: bool) -> (Arc<StatementPlan>, Witness, u32) {
    let (plan, w, _) = setup(TinyRules::World);
    let mut p = (*plan).clone();
    p.shape.paired_limbs = paired;
    let k = p.min_k();
    (Arc::new(p), w, k)
}

#[test]
fn both_range_table_layouts_check_every_limb_column() {
    for paired in [true, false] {
        let (plan, w, k) = setup_layout(paired);
        assert!(failures(&plan, w.clone(), k).is_empty(), "paired={paired}: honest witness rejected");
        let r = plan.inputs[0].first_row + 3;
        for col in 0..4 {
            let mut bad = w.clone();
            bad.cols.q[col][r] = Fr::from(16);
            let f = failures(&plan, bad, k);
            assert_rejected(&format!("paired={paired}, q{col} = 16"), &f, "lookup:");
        }
    }
}

#[test]
fn range_layout_follows_circuit_size() {
    use crate::circuit::chips::range::RangeConfig;
    // world-v3 (124,865 rows) already spans 2^17, so the 65,536-row pair table is free.
    assert!(RangeConfig::paired_for(124_865, 8));
    // A 32×256 image (7,023 rows) would grow from 2^13 to 2^17 with it.
    assert!(!RangeConfig::paired_for(7_023, 8));
    assert!(RangeConfig::paired_for(1_000, 4));
}

#[test]
fn non_binary_mask_bit_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let r = plan.inputs[1].first_row + 2;
    w.cols.q[0][r] = Fr::from(2);
    let f = failures(&plan, w, k);
    assert_rejected("mask bit", &f, "gate:");
}

#[test]
fn tampered_response_coefficient_breaks_the_identity() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let conv = &plan.convs[0];
    let CellRef::Q(r, c) = conv.output_cell(0, 3) else { unreachable!() };
    w.cols.q[c][r] += Fr::from(1);
    let f = failures(&plan, w, k);
    // The Horner value over the coefficients no longer equals the accumulated right side.
    assert_rejected("response", &f, "copy:");
}

#[test]
fn tampered_garbage_coefficient_breaks_the_identity() {
    // Coefficients between outputs are private but still bound by the identity.
    let (plan, mut w, k) = setup(TinyRules::World);
    let conv = &plan.convs[0];
    let r = conv.seg_first_row + 1;
    w.cols.q[0][r] += Fr::from(7);
    let f = failures(&plan, w, k);
    assert_rejected("garbage coefficient", &f, "copy:");
}

#[test]
fn tampered_sign_bit_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let a = first_atom(&plan, |a| matches!(a, Atom::Compare { f, .. } if f[0] == -1));
    let row = plan.atom_rows[a];
    w.cols.b[row] = Fr::from(1) - w.cols.b[row];
    let f = failures(&plan, w, k);
    assert_rejected("sign bit", &f, "gate:");
}

#[test]
fn non_boolean_bit_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let a = first_atom(&plan, |a| matches!(a, Atom::Compare { .. }));
    let row = plan.atom_rows[a];
    w.cols.b[row] = Fr::from(2);
    let f = failures(&plan, w, k);
    assert_rejected("bit", &f, "gate:");
}

#[test]
fn tampered_limb_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let a = first_atom(&plan, |a| matches!(a, Atom::Compare { .. }));
    let row = plan.atom_rows[a];
    w.cols.q[1][row] += Fr::from(1);
    let f = failures(&plan, w, k);
    assert_rejected("limb", &f, "gate:");
}

#[test]
fn tampered_comparator_value_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let a = first_atom(&plan, |a| matches!(a, Atom::Compare { .. }));
    let row = plan.atom_rows[a];
    w.cols.v[row] += Fr::from(1);
    let f = failures(&plan, w, k);
    assert_rejected("comparator value", &f, "gate:");
}

#[test]
fn tampered_public_code_word_is_rejected() {
    let (plan, w, k) = setup(TinyRules::World);
    let mut inst = w.instances.clone();
    inst[3] += Fr::from(1);
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    let r = MockProver::run(k, &c, vec![inst]).unwrap().verify();
    assert!(r.is_err(), "a flipped public code bit was accepted");
}

#[test]
fn tampered_code_bit_in_packer_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    let row = plan.iris_pack.first_row;
    w.cols.q[0][row] = Fr::from(1) - w.cols.q[0][row];
    let f = failures(&plan, w, k);
    assert_rejected("packed bit", &f, "");
}

#[test]
fn wrong_public_min_valid_is_rejected() {
    let (plan, w, k) = setup(TinyRules::World);
    let mut inst = w.instances.clone();
    inst[1] = Fr::from(0);
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    assert!(MockProver::run(k, &c, vec![inst]).unwrap().verify().is_err(), "public min_valid must equal the model's");
}

#[test]
fn too_few_valid_bits_cannot_be_proven() {
    // A model demanding more valid mask bits than the sample has: the honest witness fails.
    let mut spec = TinySpec::default_for(TinyRules::World);
    spec.min_valid_bits = 10_000;
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let (image, mask) = tiny_sample(&spec, 7);
    let w = witness_for(&model, &plan, &image, &mask);
    let k = plan.min_k();
    let f = failures(&plan, w, k);
    assert!(!f.is_empty(), "popcount below min_valid was accepted");
}

#[test]
fn nonzero_ands_and_squares_are_enforced() {
    let (plan, w0, k) = setup(TinyRules::Openiris);
    for (what, pred, col) in [
        ("square", (|a: &Atom| matches!(a, Atom::Square { .. } | Atom::SquareNonZero { .. })) as fn(&Atom) -> bool, 2usize),
        ("nonzero bit", |a: &Atom| matches!(a, Atom::NonZero { .. } | Atom::SquareNonZero { .. }), 9),
        ("and bit", |a: &Atom| matches!(a, Atom::And(_)), 9),
    ] {
        let mut w = w0.clone();
        let a = first_atom(&plan, pred);
        let row = plan.atom_rows[a];
        if col == 9 {
            w.cols.b[row] = Fr::from(1) - w.cols.b[row];
        } else {
            w.cols.q[col][row] += Fr::from(1);
        }
        let f = failures(&plan, w, k);
        assert_rejected(what, &f, "gate:");
    }
}

#[test]
fn tampered_phase2_cells_are_rejected() {
    let (plan, w0, k) = setup(TinyRules::World);
    let inp = &plan.inputs[0];
    let conv = &plan.convs[0];
    for (what, col, row) in [
        ("horner", 0u8, inp.first_row + 2),
        ("padded chain", 1, inp.chain_end_row(1)),
        ("kernel poly", 1, conv.kernel_rows[0] + 1),
        ("accumulator", 1, conv.acc_first_row + 2),
        ("segment horner", 0, conv.seg_first_row + 3),
    ] {
        let mut w = w0.clone();
        w.phase2_overrides.push((col, row, Fr::from(12345)));
        let f = failures(&plan, w, k);
        assert_rejected(what, &f, "");
    }
}

#[allow(dead_code)]
fn _loc(_: FailureLocation) {}

#[test]
fn wrong_commitment_is_rejected() {
    let (plan, w, k) = setup(TinyRules::World);
    let mut inst = w.instances.clone();
    inst[0] += Fr::from(1);
    let c = IrisCircuit::with_witness(plan.clone(), Arc::new(w));
    let r = MockProver::run(k, &c, vec![inst]).unwrap().verify();
    assert!(r.is_err(), "a wrong commitment was accepted");
}

#[test]
fn wrong_salt_is_rejected() {
    let (plan, mut w, k) = setup(TinyRules::World);
    w.salt += Fr::from(1);
    let f = failures(&plan, w, k);
    // The sponge output no longer equals the public commitment.
    assert_rejected("salt", &f, "copy:");
}

#[test]
fn commitment_element_must_be_the_packed_pixels() {
    // Change a packed element consistently with nothing else: the packing gate catches it.
    let (plan, mut w, k) = setup(TinyRules::World);
    let inp = &plan.inputs[0];
    let r = inp.first_row + inp.group_rows - 1;
    w.cols.v[r] += Fr::from(1);
    let f = failures(&plan, w, k);
    assert_rejected("packed element", &f, "gate:");
}
