//! Tamper tests of the whole statement that pin single constraints (issue 15, point 6).
//!
//! Each test starts from an honest witness of a tiny model, changes exactly one thing the
//! constraint under test forbids, repairs everything else the change would break (packing
//! accumulators, the public commitment, code words, downstream bits), and asserts the exact
//! failure: the gate, its constraint index and row, or the copy (permutation) cells. So each
//! test fails if its constraint is removed: the repaired witness would then be accepted.
//!
//! The statement is one region at row 0 (see `circuit::layout`), so MockProver's region
//! offsets are the plan's absolute rows.

use std::sync::Arc;

use crate::circuit::chips::compare::sign_limbs;
use crate::circuit::chips::pack::CODE_BITS_PER_WORD;
use crate::circuit::plan::region::{CellRef, InputRegion};
use crate::circuit::plan::{Arg, Atom};
use crate::circuit::statement::IrisConfig;
use crate::circuit::witness::to_i128;
use crate::circuit::{IrisCircuit, StatementPlan, Witness};
use crate::commitment::{commit, Salt, SPONGE_WIDTH};
use crate::model::manifest::Submission;
use crate::testkit::{tiny_model, tiny_sample, TinyLiveness, TinyRules, TinySpec};
use halo2_proofs::arithmetic::Field;
use halo2_proofs::dev::{metadata, FailureLocation, MockProver, VerifyFailure};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::plonk::{Any, Circuit, Column, ConstraintSystem};

/// The pack gate's constraints, in the order `PackConfig::configure` returns them.
const PACK: &str = "pack";
const PACK_BIT_NEXT: usize = 3;
const PACK_COUNT_START: usize = 4;
const PACK_COUNT_NEXT: usize = 5;
/// `s_zero · q_k` is constraint `6 + 2k`.
fn pack_zero(k: usize) -> usize {
    6 + 2 * k
}

/// One MockProver failure, reduced to what identifies it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fail {
    /// Constraint `constraint` of gate `gate` at `row`.
    Gate { gate: String, constraint: usize, row: usize },
    /// Lookup `name` at `row`.
    Lookup { name: String, row: usize },
    /// The copy (permutation) cell at (`column`, `row`) differs from the next cell of its cycle.
    Copy { column: metadata::Column, row: usize },
}

fn row_of(location: &FailureLocation) -> usize {
    match location {
        FailureLocation::InRegion { offset, .. } => *offset,
        FailureLocation::OutsideRegion { row } => *row,
    }
}

impl From<VerifyFailure> for Fail {
    fn from(f: VerifyFailure) -> Self {
        match f {
            VerifyFailure::ConstraintNotSatisfied { constraint, location, .. } => {
                // "Constraint 3 in gate 5 ('pack')" (a named constraint adds " ('name')").
                let s = constraint.to_string();
                let constraint = s["Constraint ".len()..].split(' ').next().and_then(|n| n.parse().ok()).expect("constraint index");
                let gate = s.rsplit_once(" ('").map(|(_, g)| g.trim_end_matches("')").to_string()).expect("gate name");
                Fail::Gate { gate, constraint, row: row_of(&location) }
            }
            VerifyFailure::Lookup { name, location, .. } => Fail::Lookup { name, row: row_of(&location) },
            VerifyFailure::Permutation { column, location } => Fail::Copy { column, row: row_of(&location) },
            other => panic!("unexpected failure kind: {other}"),
        }
    }
}

fn gate(name: &str, constraint: usize, row: usize) -> Fail {
    Fail::Gate { gate: name.into(), constraint, row }
}

fn col(c: impl Into<Column<Any>>) -> metadata::Column {
    c.into().into()
}

/// A tiny model's plan, honest witness, circuit size and column configuration.
struct Case {
    plan: Arc<StatementPlan>,
    w: Witness,
    k: u32,
    cfg: IrisConfig,
}

fn case(spec: TinySpec) -> Case {
    let model = tiny_model(&spec);
    let plan = Arc::new(StatementPlan::new(&model).unwrap());
    let (image, mask) = tiny_sample(&spec, 7);
    let salt = Salt::from_hex("0x1234abcd").unwrap();
    let c = commit(&image, &mask, &salt).unwrap();
    let fr = |b: &[u8; 32]| crate::prover::fr_from_be(b).unwrap();
    let w = Witness::new(&model, &plan, &image, &mask, fr(salt.as_bytes()), fr(&c.0)).unwrap();
    let mut cs = ConstraintSystem::default();
    let cfg = IrisCircuit::configure_with_params(&mut cs, plan.shape.clone());
    let k = plan.min_k();
    Case { plan, w, k, cfg }
}

fn world() -> Case {
    case(TinySpec::default_for(TinyRules::World))
}

/// MockProver's failures for `w` (with its own public inputs), sorted.
fn failures(c: &Case, w: Witness) -> Vec<Fail> {
    let inst = w.instances.clone();
    let circuit = IrisCircuit::with_witness(c.plan.clone(), Arc::new(w));
    let mut out: Vec<Fail> = match MockProver::run(c.k, &circuit, vec![inst]).unwrap().verify() {
        Ok(()) => vec![],
        Err(e) => e.into_iter().map(Fail::from).collect(),
    };
    out.sort();
    out.dedup();
    out
}

/// Asserts that the only failures are copy cells in `columns`, and that `cell` is one of them.
fn assert_copy_only(what: &str, f: &[Fail], cell: (metadata::Column, usize), columns: &[metadata::Column]) {
    assert!(f.contains(&Fail::Copy { column: cell.0, row: cell.1 }), "{what}: expected the copy at {cell:?} to fail, got {f:?}");
    for x in f {
        assert!(matches!(x, Fail::Copy { column, .. } if columns.contains(column)), "{what}: unexpected failure {x:?} (all: {f:?})");
    }
}

/// Recomputes the packing accumulators `v` of an input region from its quads (as the witness
/// does), so a changed quad leaves every packing gate satisfied.
fn repack_input(inp: &InputRegion, w: &mut Witness) {
    let (base, shift) = if inp.is_mask { (Fr::from(2), Fr::from(16)) } else { (Fr::from(256), Fr::from(1u64 << 32)) };
    let mut acc = Fr::ZERO;
    for r in 0..inp.data_rows + inp.zero_rows {
        let row = inp.first_row + r;
        let quad = (0..4).fold(Fr::ZERO, |a, k| a * base + w.cols.q[k][row]);
        acc = if r % inp.group_rows == 0 { quad } else { acc * shift + quad };
        w.cols.v[row] = acc;
    }
}

/// The commitment of what the circuit hashes for `w`: the header (or its override), the
/// element cells of the pixels and the mask, and the salt.
fn recommit(plan: &StatementPlan, w: &Witness) -> Fr {
    let mut elements = vec![w.header_override.unwrap_or(Fr::from_u128(plan.commitment_header()))];
    for inp in plan.commitment_order() {
        for c in inp.element_cells() {
            elements.push(w.cols.get(c));
        }
    }
    elements.push(w.salt);
    crate::poseidon::sponge_hash(SPONGE_WIDTH, &elements).unwrap()
}

/// Re-derives everything downstream of changed rule bits: the AND atoms, the code packers and
/// their public words, and the popcount comparator (the popcount itself is phase 2, computed
/// from the packer's quads).
fn repropagate_bits(plan: &StatementPlan, w: &mut Witness) {
    for (idx, atom) in plan.atoms.iter().enumerate() {
        if let Atom::And(ins) = atom {
            let row = plan.atom_rows[idx];
            let mut prod = Fr::ONE;
            for k in 0..4 {
                let v = ins.get(k).map(|c| w.cols.get(*c)).unwrap_or(Fr::ONE);
                w.cols.q[k][row] = v;
                prod *= v;
            }
            w.cols.b[row] = prod;
        }
    }
    let mut packs = vec![&plan.mask_pack];
    if plan.layout.submission == Submission::PublicCode {
        packs.push(&plan.iris_pack);
    }
    for pack in packs {
        let bits: Vec<Fr> = pack.bits.iter().map(|c| w.cols.get(*c)).collect();
        let mut acc = Fr::ZERO;
        for (r, quad) in bits.chunks(4).enumerate() {
            let row = pack.first_row + r;
            let mut qv = Fr::ZERO;
            for k in 0..4 {
                let bit = quad.get(k).copied().unwrap_or(Fr::ZERO);
                w.cols.q[k][row] = bit;
                qv = qv * Fr::from(2) + bit;
            }
            acc = if (4 * r) % CODE_BITS_PER_WORD == 0 { qv } else { acc * Fr::from(16) + qv };
            w.cols.v[row] = acc;
        }
        if plan.layout.submission == Submission::PublicCode {
            for word in 0..pack.words() {
                w.instances[pack.first_instance + word] = w.cols.v[pack.word_end_row(word)];
            }
        }
    }
    let popcount: u64 = plan.mask_pack.bits.iter().map(|c| u64::from(w.cols.get(*c) == Fr::ONE)).sum();
    set_comparator(plan, w, plan.popcount_atom, popcount as i128 - plan.min_valid_bits as i128);
}

/// Sets comparator atom `a`'s value `d`, its honest sign bit and limbs.
fn set_comparator(plan: &StatementPlan, w: &mut Witness, a: usize, d: i128) {
    let Atom::Compare { rows, .. } = plan.atoms[a] else { panic!("atom {a} is not a comparator") };
    let row = plan.atom_rows[a];
    let (bit, limbs) = sign_limbs(d, plan.shape.limb_bits, rows);
    w.cols.v[row] = crate::circuit::expr::fe(d);
    w.cols.b[row] = Fr::from(u64::from(bit));
    for (k, l) in limbs.iter().enumerate() {
        w.cols.q[k % 4][row + k / 4] = Fr::from(*l);
    }
}

#[test]
fn honest_witnesses_are_accepted() {
    // The baseline every test below perturbs: no failure at all.
    let c = world();
    assert_eq!(failures(&c, c.w.clone()), vec![]);
    let o = case(TinySpec::default_for(TinyRules::Openiris));
    assert_eq!(failures(&o, o.w.clone()), vec![]);
}

// 0. The chips compute the witness.

/// In a real proof nothing is re-assigned after the chips: each chip computes its phase-1
/// cells from its inputs. For honest witnesses of the three tiny model kinds (rules only,
/// open-iris rules, a liveness CNN), every `q`, `v`, `b` and `u` cell the chips assigned equals
/// the witness's column (the values the prover checked against the model's executor), and the
/// statement holds.
#[test]
fn the_chips_compute_every_phase_1_cell_of_the_witness() {
    use halo2_proofs::dev::AdviceCellValue;
    let live = TinySpec::live(TinyLiveness { threshold: -(1 << 40), public: true });
    for (what, c) in [("world", world()), ("openiris", case(TinySpec::default_for(TinyRules::Openiris))), ("liveness", case(live))] {
        let mut w = c.w.clone();
        w.baseline = None;
        let cols = w.cols.clone();
        let inst = w.instances.clone();
        let prover = MockProver::run(c.k, &IrisCircuit::with_witness(c.plan.clone(), Arc::new(w)), vec![inst]).unwrap();
        let mut columns: Vec<_> = (0..4).map(|k| ("q", c.cfg.cols.q[k], &cols.q[k])).collect();
        columns.push(("v", c.cfg.cols.v, &cols.v));
        columns.push(("b", c.cfg.cols.b, &cols.b));
        if let Some(cnn) = &c.cfg.cnn {
            columns.push(("u", cnn.cols.u, &cols.u));
        }
        let mut nonzero = 0;
        for (name, column, expect) in columns {
            for (row, cell) in prover.advice_values(column)[..c.plan.rows].iter().enumerate() {
                // The commitment header, the salt and the binding: the statement's own cells.
                if name == "v" && (c.plan.misc_row + 1..c.plan.misc_row + 4).contains(&row) {
                    continue;
                }
                let AdviceCellValue::Assigned(value) = cell else { panic!("{what}: {name} row {row} is not assigned") };
                assert_eq!(value.evaluate(), expect[row], "{what}: {name} row {row}");
                nonzero += usize::from(expect[row] != Fr::ZERO);
            }
        }
        assert!(nonzero > 1000, "{what}: {nonzero} non-zero cells");
        assert_eq!(prover.verify(), Ok(()), "{what}");
    }
}

// 1. Commitment zero padding.

/// Pins `s_zero` (pack gate, `q_k = 0`) on the rows that pad the last commitment element of the
/// pixels and of the mask: a non-zero padding cell, with the packing and the public commitment
/// recomputed to match, fails exactly that constraint.
#[test]
fn commitment_padding_cells_must_be_zero() {
    let c = world();
    assert_eq!(c.plan.inputs.len(), 2);
    for inp in &c.plan.inputs {
        assert!(inp.zero_rows > 0, "the tiny model's inputs end in a partial element");
        for (row, k) in [(inp.first_row + inp.data_rows, 0), (inp.first_row + inp.data_rows + inp.zero_rows - 1, 3)] {
            let mut w = c.w.clone();
            w.cols.q[k][row] = Fr::ONE;
            repack_input(inp, &mut w);
            w.instances[0] = recommit(&c.plan, &w);
            assert_ne!(w.instances[0], c.w.instances[0], "the padding cell reaches the commitment");
            assert_eq!(failures(&c, w), vec![gate(PACK, pack_zero(k), row)], "mask={}, row {row}, q{k}", inp.is_mask);
        }
    }
}

// 2. Unused packer slots.

/// A tiny model whose iris code is not a multiple of 4 bits: 4 sign planes plus an embedding
/// plane on a 1×15 grid = 75 bits, so the last packer row has one unused slot.
fn odd_code_spec() -> TinySpec {
    TinySpec {
        cols: 60,
        grid_rows: 1,
        grid_cols: 15,
        liveness: Some(TinyLiveness { threshold: -(1 << 40), public: false }),
        embedding: true,
        ..TinySpec::default_for(TinyRules::World)
    }
}

/// Pins the constant-zero copy of the unused slots of a code packer's last row: a 1 there, with
/// the packing accumulator and the public code word recomputed, breaks only that copy.
#[test]
fn unused_packer_slots_must_be_zero() {
    let c = case(odd_code_spec());
    assert_eq!(failures(&c, c.w.clone()), vec![], "honest witness");
    let pack = &c.plan.iris_pack;
    assert_eq!(pack.bits.len() % 4, 3, "one unused slot");
    let row = pack.first_row + pack.rows() - 1;
    let word = pack.words() - 1;
    assert_eq!(pack.word_end_row(word), row);
    let mut w = c.w.clone();
    w.cols.q[3][row] = Fr::ONE;
    w.cols.v[row] += Fr::ONE;
    w.instances[pack.first_instance + word] += Fr::ONE;
    let f = failures(&c, w);
    assert_copy_only("unused slot", &f, (col(c.cfg.cols.q[3]), row), &[col(c.cfg.cols.q[3]), col(c.cfg.cols.constant)]);
    assert_eq!(f.len(), 2, "the slot and the constant it must equal: {f:?}");
}

// 3. Mask bits packed into the commitment elements.

/// Pins the mask's bit-packing gate (pack gate, `v = v[-1]·16 + quad₂` under `s_bit_next`) on the
/// cells the sponge hashes: a mask element that is not the packing of the proven mask bits,
/// with the public commitment recomputed over it, fails exactly that constraint on that row.
#[test]
fn mask_elements_must_be_the_packed_mask_bits() {
    let c = world();
    let inp = c.plan.inputs.iter().find(|i| i.is_mask).unwrap();
    let cells = inp.element_cells();
    assert!(cells.len() >= 2);
    for cell in [cells[0], *cells.last().unwrap()] {
        let CellRef::V(row) = cell else { panic!("elements are v cells") };
        let mut w = c.w.clone();
        w.cols.v[row] += Fr::ONE;
        w.instances[0] = recommit(&c.plan, &w);
        assert_eq!(failures(&c, w), vec![gate(PACK, PACK_BIT_NEXT, row)], "element at row {row}");
    }
}

// 4. The popcount accumulator.

/// The world tiny model requiring one valid mask bit more than the sample has, and that
/// sample's honest popcount.
fn one_bit_short() -> (Case, u64) {
    let c = world();
    let popcount: u64 = c.plan.mask_pack.bits.iter().map(|b| u64::from(c.w.cols.get(*b) == Fr::ONE)).sum();
    let spec = TinySpec { min_valid_bits: popcount as u32 + 1, ..TinySpec::default_for(TinyRules::World) };
    let short = case(spec);
    assert!(!failures(&short, short.w.clone()).is_empty(), "too few valid bits must not prove");
    (short, popcount)
}

/// Claims popcount + 1 at the comparator: its operand copy and value, bit and limbs.
fn claim_popcount(c: &Case, w: &mut Witness, claimed: u64) {
    let a = c.plan.popcount_atom;
    w.phase2_overrides.push((1, c.plan.atom_rows[a], Fr::from(claimed)));
    set_comparator(&c.plan, w, a, claimed as i128 - c.plan.min_valid_bits as i128);
    assert_eq!(w.cols.b[c.plan.atom_rows[a]], Fr::ONE);
}

/// Pins the popcount accumulator's running step (`h = h[-1] + Σq`, pack gate under
/// `s_count_next`): inflating only the final count by one, with the comparator reading the
/// inflated count, fails exactly that constraint on the last row.
#[test]
fn popcount_running_sum_cannot_skip_a_step() {
    let (c, popcount) = one_bit_short();
    let mp = &c.plan.mask_pack;
    let last = mp.first_row + mp.rows() - 1;
    let mut w = c.w.clone();
    w.phase2_overrides.push((0, last, Fr::from(popcount + 1)));
    claim_popcount(&c, &mut w, popcount + 1);
    assert_eq!(failures(&c, w), vec![gate(PACK, PACK_COUNT_NEXT, last)]);
}

/// Pins the popcount accumulator's start (`h = Σq`, pack gate under `s_count_start`): a running
/// sum that starts one too high (every later step consistent), read by the comparator, fails
/// exactly that constraint on the first row.
#[test]
fn popcount_running_sum_must_start_at_the_first_quad() {
    let (c, popcount) = one_bit_short();
    let mp = &c.plan.mask_pack;
    let mut w = c.w.clone();
    let mut count = Fr::ONE;
    for r in 0..mp.rows() {
        let row = mp.first_row + r;
        count += (0..4).map(|k| w.cols.q[k][row]).sum::<Fr>();
        w.phase2_overrides.push((0, row, count));
    }
    assert_eq!(count, Fr::from(popcount + 1));
    claim_popcount(&c, &mut w, popcount + 1);
    assert_eq!(failures(&c, w), vec![gate(PACK, PACK_COUNT_START, mp.first_row)]);
}

// 5. Public row 2 when τ is not public.

/// Pins the copy of the constant 0 to public row 2 when τ is not public (no liveness rule, or a
/// liveness rule with a private τ): a non-zero row 2 breaks only that copy.
#[test]
fn public_tau_row_must_be_zero_when_tau_is_not_public() {
    let private = TinySpec::live(TinyLiveness { threshold: -(1 << 40), public: false });
    for (what, c) in [("no liveness", world()), ("private τ", case(private))] {
        assert!(!c.plan.liveness.as_ref().is_some_and(|l| l.public), "{what}");
        assert_eq!(failures(&c, c.w.clone()), vec![], "{what}: honest witness");
        // The prover's cell bound to row 2 and row 2 itself both say 5.
        let mut w = c.w.clone();
        w.cols.v[c.plan.misc_row] = Fr::from(5);
        w.instances[2] = Fr::from(5);
        let f = failures(&c, w);
        let cols = &c.cfg.cols;
        assert_copy_only(what, &f, (col(cols.instance), 2), &[col(cols.instance), col(cols.constant)]);
        assert_eq!(f.len(), 2, "{what}: row 2 and the constant 0 it must equal: {f:?}");
    }
}

// 6. The commitment header.

/// Pins the copy of the constant header `1·2^64 + h·2^32 + w` into the cell the sponge hashes
/// first: another header (format version 2), hashed into a matching public commitment,
/// breaks only that copy.
#[test]
fn commitment_header_must_be_the_constant() {
    let c = world();
    let honest = c.plan.commitment_header();
    assert_eq!(honest >> 64, 1, "format version 1");
    assert_eq!(recommit(&c.plan, &c.w), c.w.instances[0], "recommit reproduces the honest commitment");
    let mut w = c.w.clone();
    w.header_override = Some(Fr::from_u128(honest + (1 << 64)));
    w.instances[0] = recommit(&c.plan, &w);
    let f = failures(&c, w);
    let cols = &c.cfg.cols;
    assert_copy_only("header", &f, (col(cols.v), c.plan.misc_row + 1), &[col(cols.v), col(cols.constant)]);
    assert_eq!(f.len(), 2, "the header cell and the constant it must equal: {f:?}");
}

// 8. The open-iris comparators.

fn is_square_cell(a: &Arg, k: usize) -> bool {
    matches!(a, Arg::Cell(CellRef::Q(_, q)) if *q == k)
}

/// Which open-iris comparator an atom is (by its operands and coefficients).
fn openiris_kind(a: &Atom) -> Option<&'static str> {
    let Atom::Compare { x, y, f, .. } = a else { return None };
    if is_square_cell(x, 2) && is_square_cell(y, 3) {
        return Some(match (f[0].signum(), f[1].signum()) {
            (-1, 1) => "fragile: radius ≥ lo",
            (1, -1) => "fragile: radius ≤ hi",
            (0, _) => "fragile: angle",
            _ => panic!("unknown fragile comparator {f:?}"),
        });
    }
    (f[1] == 100 && f[2] == 0 && *y == Arg::Zero).then_some("coverage ≥ 93/100")
}

/// Pins, for each open-iris mask comparator — the fragile-bit tests (radius ≥ lo, radius ≤ hi,
/// angle) and the coverage ratio — the two gates that make its bit the sign of its own
/// `d = f0 + f1·x + f2·y`: a forged bit (with every AND, code word and the popcount re-derived)
/// fails exactly the sign decomposition `w = b·d + (1−b)(−1−d) = limbs` on that comparator's row,
/// and a forged `d` of the other sign with a valid sign proof for it fails exactly the
/// comparator value gate there. The forged bits change a public mask word: 0 → 1 (a bit made
/// valid) where the sample has a false comparator of the kind, else 1 → 0.
#[test]
fn openiris_fragile_and_coverage_comparators_prove_their_bits() {
    let c = case(TinySpec::default_for(TinyRules::Openiris));
    let mut seen = Vec::new();
    for kind in ["fragile: radius ≥ lo", "fragile: radius ≤ hi", "fragile: angle", "coverage ≥ 93/100"] {
        // Prefer a false comparator whose flip changes the public code (the attack), then any
        // flip that changes the public code.
        let candidates: Vec<usize> = (0..c.plan.atoms.len()).filter(|&a| openiris_kind(&c.plan.atoms[a]) == Some(kind)).collect();
        assert!(!candidates.is_empty(), "{kind}: no such comparator");
        let forge = |a: usize, d: Option<i128>| {
            let row = c.plan.atom_rows[a];
            let mut w = c.w.clone();
            match d {
                None => w.cols.b[row] = Fr::ONE - w.cols.b[row],
                Some(d) => set_comparator(&c.plan, &mut w, a, d),
            }
            repropagate_bits(&c.plan, &mut w);
            w
        };
        let score = |a: usize| {
            let w = forge(a, None);
            u8::from(w.instances != c.w.instances) * 2 + u8::from(w.cols.b[c.plan.atom_rows[a]] == Fr::ONE)
        };
        let (best, a) = candidates.iter().map(|&a| (score(a), a)).max_by_key(|&(s, a)| (s, std::cmp::Reverse(a))).unwrap();
        assert!(best >= 2, "{kind}: the forged bit reaches a public mask word");
        let row = c.plan.atom_rows[a];
        let honest_d = c.w.atom_values[a];
        assert_eq!(c.w.cols.b[row], Fr::from(u64::from(honest_d >= 0)));
        seen.push((kind, honest_d >= 0));
        // The bit alone.
        assert_eq!(failures(&c, forge(a, None)), vec![gate("sign decomposition", 0, row)], "{kind}: forged bit at row {row}");
        // The value: 0 for a false comparator, −1 for a true one, with its own bit and limbs.
        let forged_d = if honest_d >= 0 { -1 } else { 0 };
        assert_eq!(failures(&c, forge(a, Some(forged_d))), vec![gate("comparator value", 0, row)], "{kind}: forged d at row {row}");
    }
    println!("(kind, honest bit): {seen:?}");
}

// 8b. The merged square / non-zero row.

/// Writes `q0..q3`, `v`, `b` of the square/non-zero row `row`, moves every comparator reading
/// its squares to the new `d` (with its honest sign bit and limbs), and re-derives the bits
/// downstream, so that only what the written cells themselves break can fail.
fn rewrite_square_row(c: &Case, w: &mut Witness, row: usize, q: [Fr; 4], v: Fr, b: Fr) {
    let sq = |w: &Witness| (to_i128(w.cols.q[2][row]), to_i128(w.cols.q[3][row]));
    let (old2, old3) = sq(w);
    for (k, val) in q.into_iter().enumerate() {
        w.cols.q[k][row] = val;
    }
    (w.cols.v[row], w.cols.b[row]) = (v, b);
    let (new2, new3) = sq(w);
    let mut readers = 0;
    for (a, atom) in c.plan.atoms.iter().enumerate() {
        if let Atom::Compare { x: Arg::Cell(CellRef::Q(r2, 2)), y: Arg::Cell(CellRef::Q(r3, 3)), f, .. } = atom {
            if (*r2, *r3) == (row, row) {
                set_comparator(&c.plan, w, a, c.w.atom_values[a] + f[1] * (new2 - old2) + f[2] * (new3 - old3));
                readers += 1;
            }
        }
    }
    assert!(readers >= 4, "the fragile comparators read the squares of row {row} ({readers})");
    repropagate_bits(&c.plan, w);
}

/// The open-iris square and non-zero atoms of one operand pair share a row
/// (`Atom::SquareNonZero`): each of its gates still holds on its own there. A forged square
/// (with the comparators that read it and every bit downstream re-derived) fails exactly its
/// `logic` constraint (0 for `q2 = x²`, 1 for `q3 = y²`); a forged non-zero bit 0 (inverse 0)
/// for a non-zero pair fails exactly `(x²+y²)·(1−b) = 0` (constraint 3); and operands that are
/// not the response cells, with a consistent row, fail only their copies.
#[test]
fn the_merged_square_and_nonzero_row_keeps_each_gate() {
    let c = case(TinySpec::default_for(TinyRules::Openiris));
    let merged: Vec<usize> = (0..c.plan.atoms.len()).filter(|&a| matches!(c.plan.atoms[a], Atom::SquareNonZero { .. })).collect();
    assert!(!merged.is_empty(), "the tiny open-iris plan merges its squares and non-zero tests");
    assert!(!c.plan.atoms.iter().any(|a| matches!(a, Atom::Square { .. } | Atom::NonZero { .. })), "every pair is merged");
    // A pair with a non-zero response, whose forged bit 1 → 0 reaches a public mask word.
    let a = *merged
        .iter()
        .find(|&&a| {
            let row = c.plan.atom_rows[a];
            let mut w = c.w.clone();
            w.cols.b[row] = Fr::ZERO;
            repropagate_bits(&c.plan, &mut w);
            c.w.cols.b[row] == Fr::ONE && w.instances != c.w.instances
        })
        .expect("a non-zero pair whose bit reaches the mask code");
    let row = c.plan.atom_rows[a];
    let Atom::SquareNonZero { x: xc, .. } = c.plan.atoms[a] else { unreachable!() };
    let q = |w: &Witness| [0, 1, 2, 3].map(|k| w.cols.q[k][row]);
    let honest = q(&c.w);
    let (v, b) = (c.w.cols.v[row], c.w.cols.b[row]);
    assert_eq!(honest[2], honest[0] * honest[0]);
    assert_eq!(honest[3], honest[1] * honest[1]);
    for (k, constraint) in [(2, 0), (3, 1)] {
        let mut forged = honest;
        forged[k] += Fr::ONE;
        let mut w = c.w.clone();
        rewrite_square_row(&c, &mut w, row, forged, v, b);
        assert_eq!(failures(&c, w), vec![gate("logic", constraint, row)], "forged q{k} at row {row}");
    }
    let mut w = c.w.clone();
    rewrite_square_row(&c, &mut w, row, honest, Fr::ZERO, Fr::ZERO);
    assert_ne!(w.instances, c.w.instances, "the forged bit changes the public mask code");
    assert_eq!(failures(&c, w), vec![gate("logic", 3, row)], "forged non-zero bit at row {row}");
    // x + 1 in q0 with its own square, inverse and bit: only the copy of x breaks.
    let x1 = honest[0] + Fr::ONE;
    let norm = x1 * x1 + honest[1] * honest[1];
    let mut w = c.w.clone();
    rewrite_square_row(&c, &mut w, row, [x1, honest[1], x1 * x1, honest[3]], norm.invert().unwrap(), Fr::ONE);
    let f = failures(&c, w);
    let cols = &c.cfg.cols;
    let CellRef::Q(_, src) = xc else { panic!("the operand is a convolution cell") };
    assert_copy_only("operand x", &f, (col(cols.q[0]), row), &[col(cols.q[0]), col(cols.q[src]), col(cols.g)]);
}

// 9. Phases.

/// Pins every advice column's phase and β's: the columns β's polynomials bind (`q`, `v`, `b`,
/// `u`, the Poseidon and shares columns) are committed in phase 0, before β is drawn; only the
/// running-sum columns `h`, `g`, `g2` are phase 1. MockProver cannot see Fiat–Shamir order, so
/// a column moved to phase 1 would pass every other test.
#[test]
fn advice_phases_and_the_challenge_are_pinned() {
    let mpc = TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(TinyRules::World) };
    let live = TinySpec::live(TinyLiveness { threshold: -(1 << 40), public: true });
    for (what, spec) in [("world", TinySpec::default_for(TinyRules::World)), ("live", live), ("mpc", mpc)] {
        let plan = StatementPlan::new(&tiny_model(&spec)).unwrap();
        let mut cs = ConstraintSystem::<Fr>::default();
        let cfg = IrisCircuit::configure_with_params(&mut cs, plan.shape.clone());
        let phases = cs.advice_column_phase();
        let cols = &cfg.cols;
        let second: Vec<usize> = [cols.h, cols.g, cols.g2].iter().map(|c| c.index()).collect();
        for (i, &p) in phases.iter().enumerate() {
            assert_eq!(p, u8::from(second.contains(&i)), "{what}: advice column {i} is in phase {p}");
        }
        for c in cols.q.iter().chain([&cols.v, &cols.b]) {
            assert_eq!(c.column_type().phase(), 0, "{what}");
        }
        if let Some(cnn) = &cfg.cnn {
            assert_eq!(cnn.cols.u.column_type().phase(), 0, "{what}: u");
        }
        assert_eq!(cfg.cnn.is_some(), what == "live");
        assert_eq!(cfg.shares.is_some(), what == "mpc");
        // β is the only challenge, squeezed after phase 0's commitments (usable in phase 1).
        assert_eq!(cs.num_challenges(), 1, "{what}");
        assert_eq!(cs.challenge_phase(), vec![0], "{what}");
        assert_eq!((cols.beta.index(), cols.beta.phase()), (0, 0), "{what}");
        println!("{what}: {} advice columns, phases {phases:?}", phases.len());
    }
}
