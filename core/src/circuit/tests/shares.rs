//! MockProver tests of the whole statement in mpc-shares mode: World's published share vectors
//! fed through a tiny model, and the statement-level constraints of the mode (the share
//! commitments and the submission binding are bound to the public inputs; the iris code is
//! not). The shares chip's own constraints are tested inline in `circuit::chips::shares`.

use std::sync::Arc;

use super::{assert_rejected, mock_failures as failures};
use crate::circuit::chips::shares::SharesRange;
use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::commitment::Salt;
use crate::image::{IrisImage, IrisMask};
use crate::model::Model;
use crate::mpc::{share_commitment, GrElement, MaskedCode, Party, Slopes};
use crate::public::{PublicInputs, Submission, ROW_BINDING, ROW_SHARE_COMMITMENTS};
use crate::testkit::{probe_pixel, tiny_model, tiny_sample, TinyRules, TinySpec};
use halo2_proofs::dev::MockProver;
use halo2_proofs::halo2curves::bn256::Fr;

fn vectors() -> serde_json::Value {
    let path = super::common::conformance_dir().join("world-mpc/vectors.json");
    serde_json::from_slice(&std::fs::read(path).expect("vectors.json")).expect("json")
}

fn quads(v: &serde_json::Value) -> Vec<[u16; 4]> {
    v.as_array().unwrap().iter().map(|q| std::array::from_fn(|j| q[j].as_u64().unwrap() as u16)).collect()
}

/// A 4×20 probe model (80 code bits = the 20 published chunks) in mpc-shares mode.
fn probe_spec() -> TinySpec {
    TinySpec {
        rows: 4,
        cols: 20,
        grid_rows: 4,
        grid_cols: 5,
        k_rows: 1,
        k_cols: 5,
        min_valid_bits: 8,
        submission: Submission::MpcShares,
        ..TinySpec::default_for(TinyRules::Probe)
    }
}

/// The image and mask whose code and mask bits are the published masked codes.
fn vector_enrollment(spec: &TinySpec) -> (IrisImage, IrisMask, Vec<[u16; 4]>) {
    let masked = quads(&vectors()["masked_codes"]);
    let (mut px, mut mk) = (vec![0u8; spec.rows * spec.cols], vec![0u8; spec.rows * spec.cols]);
    let (gr, gc) = (spec.grid_rows, spec.grid_cols);
    for (s, &m) in masked.iter().flatten().enumerate() {
        let (f, i, j) = (s / (gr * gc), (s % (gr * gc)) / gc, s % gc);
        let (r, c) = probe_pixel(spec, f, i, j);
        px[r * spec.cols + c] = u8::from(m == 65535);
        mk[r * spec.cols + c] = u8::from(m != 0);
    }
    (IrisImage::new(spec.rows as u32, spec.cols as u32, px).unwrap(), IrisMask::new(spec.rows as u32, spec.cols as u32, mk).unwrap(), masked)
}

fn witness(model: &Model, plan: &StatementPlan, image: &IrisImage, mask: &IrisMask, binding: Fr, slopes: &Slopes) -> Witness {
    let salt = Salt::from_hex("0x5a17").unwrap();
    let c = crate::commitment::commit(image, mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::public::fr_from_be(b).unwrap();
    let enc = model.encode(image, mask).unwrap();
    Witness::from_encoding(model, plan, &enc, fr(salt.as_bytes()), fr(&c.0), binding, Some(slopes)).unwrap()
}

struct Setup {
    plan: Arc<StatementPlan>,
    w: Witness,
    k: u32,
}

/// The probe model on the published vectors with the published slopes.
fn vector_setup() -> Setup {
    let spec = probe_spec();
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let (image, mask, masked) = vector_enrollment(&spec);
    // The model reproduces the masked codes.
    let enc = model.encode(&image, &mask).unwrap();
    let code = crate::iriscode::serialize::serialize_bits(model.manifest().rules.code_layout, 4, 4, 5, &enc.bits.iris);
    let mcode = crate::iriscode::serialize::serialize_bits(model.manifest().rules.code_layout, 4, 4, 5, &enc.bits.mask);
    assert_eq!(MaskedCode::new(&code, &mcode, 80).unwrap().chunks(), &masked[..], "the probe model reads the vectors' bits");
    let slopes = Slopes::from_elements(quads(&vectors()["slopes"]).into_iter().map(GrElement).collect());
    let w = witness(&model, &plan, &image, &mask, Fr::from(0xb1d), &slopes);
    let k = plan.min_k();
    Setup { plan, w, k }
}

fn run(s: &Setup, w: Witness) -> Result<(), Vec<halo2_proofs::dev::VerifyFailure>> {
    let inst = w.instances.clone();
    let c = IrisCircuit::with_witness(s.plan.clone(), Arc::new(w));
    MockProver::run(s.k, &c, vec![inst]).unwrap().verify()
}

#[test]
fn published_vectors_prove_through_a_model() {
    let s = vector_setup();
    // 80 code bits: the shares chip checks its cells in bytes (a 256-row table), so the circuit
    // stays small; the 16-bit table alone would set k = 17.
    assert_eq!(s.plan.shape.shares, Some(SharesRange::Bytes));
    assert_eq!(s.k, 10);
    assert_eq!(s.plan.instances, 7, "C, min_valid_bits, τ, binding, S_1..S_3: no code word is public");
    // The public S_p are the commitments to the published shares.
    let v = vectors();
    let layout = s.plan.layout;
    let public = PublicInputs::from_instances(&layout, &s.w.instances).unwrap();
    let expected: Vec<Fr> = (0..3).map(|p| share_commitment(Party::ALL[p], &quads(&v["shares"][p]).into_iter().flatten().collect::<Vec<_>>())).collect();
    assert_eq!(public.share_commitments().unwrap().to_vec(), expected);
    assert_eq!(public.binding, Fr::from(0xb1d));
    if let Err(e) = run(&s, s.w.clone()) {
        panic!("{} failures, first: {:?}", e.len(), &e[..e.len().min(3)]);
    }
}

#[test]
fn the_shares_range_table_follows_the_circuit_size() {
    // 16,384-bit codes fill 114,691 rows of the chip's columns: the circuit is at k ≥ 17
    // anyway, so the 65,536-row table is free and one lookup per cell is the cheaper check.
    for m in ["world-v3-mpc", "world-v3-live-mpc"] {
        let plan = StatementPlan::new(&super::common::bundled_model(m)).unwrap();
        assert_eq!(plan.shape.shares, Some(SharesRange::Table16), "{m}");
    }
    // The bundled tiny mpc-shares test model (128-bit codes) would be at k = 17 only for the
    // table; with byte halves it is at the k of its other rows.
    let tiny = StatementPlan::new(&super::common::bundled_model("test-tiny-mpc")).unwrap();
    assert_eq!(tiny.shape.shares, Some(SharesRange::Bytes));
    assert_eq!(tiny.shares.as_ref().unwrap().chunks, 32);
    assert_eq!(tiny.min_k(), 11);
    // Public-code models have no shares chip.
    assert_eq!(StatementPlan::new(&super::common::bundled_model("world-v3")).unwrap().shape.shares, None);
}

#[test]
fn tiny_models_prove_in_mpc_mode() {
    for rules in [TinyRules::World, TinyRules::Openiris] {
        let spec = TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(rules) };
        let model = tiny_model(&spec);
        let plan = Arc::new(StatementPlan::new(&model).unwrap());
        let (image, mask) = tiny_sample(&spec, 3);
        let w = witness(&model, &plan, &image, &mask, Fr::from(7), &Slopes::random(plan.shares.as_ref().unwrap().chunks));
        let k = plan.min_k();
        let s = Setup { plan, w: w.clone(), k };
        if let Err(e) = run(&s, w) {
            panic!("{rules:?}: {} failures, first: {:?}", e.len(), &e[..e.len().min(3)]);
        }
    }
}

#[test]
fn tampered_share_commitment_is_rejected() {
    for p in 0..3 {
        let s = vector_setup();
        let mut w = s.w.clone();
        w.instances[ROW_SHARE_COMMITMENTS + p] += Fr::one();
        assert_rejected(&format!("S_{}", p + 1), &failures(&s.plan, w, s.k), "copy:");
    }
}

#[test]
fn tampered_binding_is_rejected() {
    let s = vector_setup();
    let mut w = s.w.clone();
    w.instances[ROW_BINDING] += Fr::one();
    assert_rejected("binding", &failures(&s.plan, w, s.k), "copy:");
}

#[test]
fn shares_of_other_slopes_are_rejected() {
    // The public S_p are commitments to shares made with other slopes than the circuit's:
    // the shares chip computes different shares, so its S_p differ from the public ones.
    let s = vector_setup();
    let spec = probe_spec();
    let model = tiny_model(&spec);
    let (image, mask, _) = vector_enrollment(&spec);
    let other = witness(&model, &s.plan, &image, &mask, Fr::from(0xb1d), &Slopes::random(20));
    let mut w = s.w.clone();
    for p in 0..3 {
        w.instances[ROW_SHARE_COMMITMENTS + p] = other.instances[ROW_SHARE_COMMITMENTS + p];
    }
    assert_rejected("other slopes", &failures(&s.plan, w, s.k), "copy:");
}

#[test]
fn tampered_code_bit_is_rejected() {
    // A rule bit (a code bit the shares chip copies) flipped: the comparator that computes it
    // fails, and so do the chip's copy and the share identity of its chunk.
    let s = vector_setup();
    let mut w = s.w.clone();
    let crate::circuit::plan::region::CellRef::B(row) = s.plan.iris_pack.bits[9] else { panic!("rule bits are b cells") };
    w.cols.b[row] = Fr::one() - w.cols.b[row];
    assert_rejected("code bit", &failures(&s.plan, w, s.k), "gate:");
}
