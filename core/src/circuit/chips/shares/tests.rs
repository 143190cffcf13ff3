//! MockProver tests of the shares chip on World's published vectors: the honest witness
//! proves, and each constraint rejects a tampered cell with its own, exact failure.

use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Circuit, Instance};

use super::*;
use crate::mpc::shares::{share, share_commitment, MaskedCode, Slopes};

/// A cell changed after the chip has assigned its witness.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    /// `x` at this absolute row gets `+ delta` (as a signed integer).
    X { row: usize, delta: i64 },
    /// `y` at this absolute row is set to `value`.
    Y { row: usize, value: Fr },
    /// `x_high` (`Bytes` layout) at this absolute row is set to `value`.
    High { row: usize, value: Fr },
    /// Before assignment: `x` at this row gets `+ 1` and the packing (and so the hashed
    /// elements and `S_p`) is recomputed from the changed cell.
    Forge { row: usize },
}

#[derive(Clone, Debug)]
struct TestConfig {
    chip: SharesConfig,
    bits: Column<Advice>,
    instance: Column<Instance>,
}

/// The chip on the given code/mask bits (assigned in their own column: code bits at rows
/// `0..n`, mask bits at `n..2n`), with `S_1..S_3` exposed as public inputs 0..3, in the given
/// range-check layout.
#[derive(Clone, Debug)]
struct SharesCircuit {
    range: SharesRange,
    code: Vec<u8>,
    mask: Vec<u8>,
    slopes: Vec<GrElement>,
    tampers: Vec<Tamper>,
}

impl Circuit<Fr> for SharesCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = SharesRange;

    fn without_witnesses(&self) -> Self {
        Self { tampers: vec![], ..self.clone() }
    }

    fn params(&self) -> SharesRange {
        self.range
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        Self::configure_with_params(meta, SharesRange::Table16)
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, range: SharesRange) -> TestConfig {
        let bits = meta.advice_column();
        meta.enable_equality(bits);
        let (x, y) = (meta.advice_column(), meta.advice_column());
        let padv = [meta.advice_column(), meta.advice_column()];
        let pfix = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        let constant = meta.fixed_column();
        meta.enable_constant(constant);
        let x_high = (range == SharesRange::Bytes).then(|| meta.advice_column());
        let chip = SharesChip::configure(meta, x, x_high, y, padv, pfix);
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        TestConfig { chip, bits, instance }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = SharesChip::construct(config.chip.clone());
        chip.load_table(&mut layouter)?;
        let mut outs = Vec::new();
        layouter.assign_region(
            || "shares",
            |mut region| {
                let n = self.code.len();
                let mut assign = |row: usize, v: u8| BitCell {
                    cell: region.assign_advice(config.bits, row, Value::known(Fr::from(v as u64))).cell(),
                    value: Value::known(Fr::from(v as u64)),
                };
                let code: Vec<BitCell> = self.code.iter().enumerate().map(|(i, &b)| assign(i, b)).collect();
                let mask: Vec<BitCell> = self.mask.iter().enumerate().map(|(i, &b)| assign(n + i, b)).collect();
                let input = SharesInput { code: &code, mask: &mask, slopes: Value::known(&self.slopes) };
                let mut cells = self.cells();
                for t in &self.tampers {
                    if let Tamper::Forge { row } = *t {
                        cells.x[row] += Fr::one();
                        cells.pack();
                    }
                }
                let out = chip.assign_cells(&mut region, 0, &input, Value::known(cells))?;
                for t in &self.tampers {
                    match *t {
                        Tamper::Forge { .. } => {}
                        Tamper::X { row, delta } => {
                            region.assign_advice(config.chip.x, row, Value::known(self.cells().x[row] + int(delta)));
                        }
                        Tamper::Y { row, value } => {
                            region.assign_advice(config.chip.y, row, Value::known(value));
                        }
                        Tamper::High { row, value } => {
                            region.assign_advice(config.chip.x_high.ok_or(Error::Synthesis)?, row, Value::known(value));
                        }
                    }
                }
                outs = out.commitments.iter().map(|c| c.cell()).collect();
                Ok(())
            },
        )?;
        for (i, cell) in outs.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, i);
        }
        Ok(())
    }
}

impl SharesCircuit {
    /// The honest chunk-row values.
    fn cells(&self) -> ChunkCells {
        let to_fr = |v: &[u8]| v.iter().map(|&b| Fr::from(b as u64)).collect::<Vec<_>>();
        ChunkCells::new(&to_fr(&self.code), &to_fr(&self.mask), &self.slopes)
    }
}

/// World's 20 published vectors: masked codes as code/mask bits, the slopes, and the three
/// shares.
fn vectors() -> (Vec<u8>, Vec<u8>, Vec<GrElement>, [Vec<GrElement>; 3]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance/world-mpc/vectors.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("vectors.json")).expect("json");
    let quads =
        |v: &serde_json::Value| -> Vec<[u16; 4]> { v.as_array().unwrap().iter().map(|q| std::array::from_fn(|j| q[j].as_u64().unwrap() as u16)).collect() };
    let masked = quads(&v["masked_codes"]);
    let (mut code, mut mask) = (Vec::new(), Vec::new());
    for m in masked.iter().flatten() {
        let (c, k) = match m {
            0 => (0, 0),
            1 => (0, 1),
            65535 => (1, 1),
            other => panic!("masked value {other}"),
        };
        code.push(c);
        mask.push(k);
    }
    let el = |q: Vec<[u16; 4]>| q.into_iter().map(GrElement).collect::<Vec<_>>();
    let shares = [el(quads(&v["shares"][0])), el(quads(&v["shares"][1])), el(quads(&v["shares"][2]))];
    (code, mask, el(quads(&v["slopes"])), shares)
}

fn vector_circuit(tampers: Vec<Tamper>) -> (SharesCircuit, Vec<Fr>) {
    vector_circuit_in(SharesRange::Table16, tampers)
}

fn vector_circuit_in(range: SharesRange, tampers: Vec<Tamper>) -> (SharesCircuit, Vec<Fr>) {
    let (code, mask, slopes, shares) = vectors();
    let public = Party::ALL.iter().zip(&shares).map(|(p, s)| share_commitment(*p, &s.iter().flat_map(|e| e.0).collect::<Vec<_>>())).collect();
    (SharesCircuit { range, code, mask, slopes, tampers }, public)
}

/// The smallest `k` for the circuit: the chip's rows, the bit rows, the range table.
fn k_for(c: &SharesCircuit) -> u32 {
    let chunks = c.code.len() / 4;
    let rows = SharesChip::rows(chunks).max(SharesChip::poseidon_rows(chunks)).max(2 * c.code.len()).max(c.range.table_rows());
    super::super::circuit_rows(rows).trailing_zeros()
}

fn run(circuit: &SharesCircuit, public: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    MockProver::run(k_for(circuit), circuit, vec![public]).expect("synthesis").verify()
}

/// (constraint, location) of every failed gate, lookups (name, location), permutation count.
fn summarize(failures: &[VerifyFailure]) -> (Vec<(String, String)>, Vec<(String, String)>, usize) {
    let (mut gates, mut lookups, mut perms) = (Vec::new(), Vec::new(), 0);
    for f in failures {
        match f {
            VerifyFailure::ConstraintNotSatisfied { constraint, location, .. } => gates.push((constraint.to_string(), location.to_string())),
            VerifyFailure::Lookup { name, location, .. } => lookups.push((name.clone(), location.to_string())),
            VerifyFailure::Permutation { .. } => perms += 1,
            other => panic!("unexpected failure kind: {other}"),
        }
    }
    (gates, lookups, perms)
}

fn at_row(location: &str, row: usize) -> bool {
    location.ends_with(&format!("at offset {row}")) || location.ends_with(&format!("on row {row}"))
}

fn has_gate(gates: &[(String, String)], gate: &str, row: usize) -> bool {
    gates.iter().any(|(c, l)| c.contains(&format!("('{gate}')")) && at_row(l, row))
}

/// The failures of a tampered run (which must fail).
fn tampered(tampers: Vec<Tamper>) -> (Vec<(String, String)>, Vec<(String, String)>, usize) {
    tampered_in(SharesRange::Table16, tampers)
}

/// [`tampered`] in the given range-check layout.
fn tampered_in(range: SharesRange, tampers: Vec<Tamper>) -> (Vec<(String, String)>, Vec<(String, String)>, usize) {
    let (c, public) = vector_circuit_in(range, tampers);
    summarize(&run(&c, public).expect_err("a tampered witness must be rejected"))
}

/// Names of the lookups that failed at `row`.
fn lookups_at(lookups: &[(String, String)], row: usize) -> Vec<&str> {
    let mut names: Vec<&str> = lookups.iter().filter(|(_, l)| at_row(l, row)).map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names
}

const SHARE_GATE: &str = "shares: share coefficients";

#[test]
fn published_vectors_prove_in_the_byte_layout_at_a_small_k() {
    let (c, public) = vector_circuit_in(SharesRange::Bytes, vec![]);
    assert_eq!(k_for(&c), 10, "20 chunks: 563 rows and a 256-row table");
    assert_eq!(run(&c, public), Ok(()));
    // The 16-bit table alone needs k = 17.
    assert_eq!(k_for(&vector_circuit(vec![]).0), 17);
}

#[test]
fn layout_choice_follows_the_rows() {
    assert_eq!(SharesRange::for_rows(10_000), SharesRange::Bytes);
    assert_eq!(SharesRange::for_rows(65_536 - 16), SharesRange::Bytes);
    // From 2^16 rows on the circuit is at k ≥ 17, where the 16-bit table is free.
    assert_eq!(SharesRange::for_rows(65_536 - 15), SharesRange::Table16);
    assert_eq!(SharesRange::for_rows(SharesChip::rows(4096)), SharesRange::Table16);
    assert_eq!((SharesRange::Table16.table_rows(), SharesRange::Bytes.table_rows()), (65_536, 256));
}

#[test]
fn published_vectors_prove_and_match_the_published_shares() {
    let (c, public) = vector_circuit(vec![]);
    assert_eq!(run(&c, public.clone()), Ok(()));
    // The chip's remainder cells are the published shares, coefficient by coefficient.
    let (_, _, _, shares) = vectors();
    let x = c.cells().x;
    for (p, share) in shares.iter().enumerate() {
        for (k, e) in share.iter().enumerate() {
            for j in 0..4 {
                assert_eq!(x[ROWS_PER_CHUNK * k + r_off(p + 1, j)], Fr::from(e.0[j] as u64), "party {}, chunk {k}, coefficient {j}", p + 1);
            }
        }
    }
    // The native sharing of the same masked code with the same slopes commits to the same S_p.
    let masked = MaskedCode::from_chunks(
        c.code.chunks(4).zip(c.mask.chunks(4)).map(|(cb, mb)| std::array::from_fn(|j| crate::mpc::shares::masked_value(cb[j], mb[j]))).collect(),
    );
    let native = share(&masked, &Slopes::from_elements(c.slopes.clone())).unwrap();
    assert_eq!(native.iter().map(|s| s.commitment()).collect::<Vec<_>>(), public);
}

#[test]
fn random_slopes_prove() {
    let (mut c, _) = vector_circuit(vec![]);
    c.slopes = Slopes::random(20).elements().to_vec();
    let masked = MaskedCode::new(&pack(&c.code), &pack(&c.mask), 80).unwrap();
    let public = share(&masked, &Slopes::from_elements(c.slopes.clone())).unwrap().iter().map(|s| s.commitment()).collect();
    assert_eq!(run(&c, public), Ok(()));
}

fn pack(bits: &[u8]) -> Vec<u8> {
    bits.chunks(8).map(|b| b.iter().enumerate().fold(0u8, |acc, (i, &v)| acc | (v << (7 - i)))).collect()
}

#[test]
fn tampered_share_coefficient_is_rejected() {
    // Party 2's coefficient 1 of chunk 3, +1: its share identity fails, and so does the packing
    // accumulator that reads it.
    let row = ROWS_PER_CHUNK * 3 + r_off(2, 1);
    let (gates, _, _) = tampered(vec![Tamper::X { row, delta: 1 }]);
    assert!(has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 3), "{gates:?}");
    assert!(has_gate(&gates, "shares: pack", row), "{gates:?}");
}

#[test]
fn tampered_share_coefficient_with_consistent_packing_is_rejected_by_the_share_identity() {
    // The share cell is changed before assignment and everything downstream follows it: the
    // packing holds and S_2 is the commitment to the forged share. Only the share identity can
    // notice.
    let (c, _) = vector_circuit(vec![]);
    let (_, _, _, shares) = vectors();
    let k = 3;
    let mut forged = shares[1].clone();
    forged[k].0[1] = forged[k].0[1].wrapping_add(1);
    let mut public: Vec<Fr> = Party::ALL.iter().zip(&shares).map(|(p, s)| share_commitment(*p, &s.iter().flat_map(|e| e.0).collect::<Vec<_>>())).collect();
    public[1] = share_commitment(Party::ALL[1], &forged.iter().flat_map(|e| e.0).collect::<Vec<_>>());
    let c = SharesCircuit { tampers: vec![Tamper::Forge { row: ROWS_PER_CHUNK * k + r_off(2, 1) }], ..c };
    let (gates, lookups, perms) = summarize(&run(&c, public).unwrap_err());
    assert!(lookups.is_empty() && perms == 0, "{lookups:?} {perms}");
    assert_eq!(gates.len(), 1, "{gates:?}");
    assert!(has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * k), "{gates:?}");
}

/// A field element known to hold a non-negative integer below 2^63.
fn fr_small(v: Fr) -> i64 {
    let b = crate::public::fr_to_be(&v);
    assert!(b[..24].iter().all(|&x| x == 0));
    i64::from_be_bytes(b[24..].try_into().unwrap())
}

#[test]
fn tampered_slope_is_rejected() {
    // A slope coefficient changes the share of all three parties for that coefficient.
    let (gates, _, _) = tampered(vec![Tamper::X { row: ROWS_PER_CHUNK * 5 + SLOPE_OFF + 2, delta: 1 }]);
    assert!(has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 5), "{gates:?}");
    assert!(gates.iter().all(|(c, _)| c.contains(SHARE_GATE)), "{gates:?}");
}

#[test]
fn tampered_quotient_is_rejected() {
    let (gates, lookups, _) = tampered(vec![Tamper::X { row: ROWS_PER_CHUNK * 7 + q_off(3, 2), delta: 1 }]);
    assert!(has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 7), "{gates:?}");
    assert!(lookups.is_empty(), "{lookups:?}");
}

#[test]
fn quotient_and_remainder_moved_together_fail_the_range_check() {
    // q' + 1 with r − 2^16, or q' − 1 with r + 2^16, keep the share identity; the remainder
    // (or the quotient) leaves [0, 2^16), and only the 16-bit lookup catches it.
    let (r_row, q_row) = (ROWS_PER_CHUNK * 2 + r_off(1, 0), ROWS_PER_CHUNK * 2 + q_off(1, 0));
    let (c, _) = vector_circuit(vec![]);
    let r = fr_small(c.cells().x[r_row]);
    // Down: r − 2^16 < 0. Up: r + 2^16 ≥ 2^16 always.
    for (dq, dr, bad) in [(1, -(1i64 << 16), r_row), (-1, 1i64 << 16, r_row)] {
        let (gates, lookups, _) = tampered(vec![Tamper::X { row: q_row, delta: dq }, Tamper::X { row: r_row, delta: dr }]);
        assert!(!has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 2), "the share identity holds (r = {r}): {gates:?}");
        assert!(lookups.iter().any(|(n, l)| n.contains("16-bit") && at_row(l, bad)), "row {bad}: {lookups:?}");
    }
}

/// Quotient `q'_1,0` and remainder `r_1,0` of chunk 2 moved together by `±2^16` (the share
/// identity still holds) in the byte layout, with the high byte of the remainder cell set to
/// `high`: (failed lookups at the remainder row, whether the share identity failed).
fn moved_in_bytes(up: bool, high: impl FnOnce(i64) -> i64) -> (Vec<String>, bool) {
    let (r_row, q_row) = (ROWS_PER_CHUNK * 2 + r_off(1, 0), ROWS_PER_CHUNK * 2 + q_off(1, 0));
    let r = fr_small(vector_circuit(vec![]).0.cells().x[r_row]);
    let (dq, dr) = if up { (-1, 1i64 << 16) } else { (1, -(1i64 << 16)) };
    let h = high(r + dr);
    let tampers = vec![Tamper::X { row: q_row, delta: dq }, Tamper::X { row: r_row, delta: dr }, Tamper::High { row: r_row, value: int(h) }];
    let (gates, lookups, _) = tampered_in(SharesRange::Bytes, tampers);
    (lookups_at(&lookups, r_row).into_iter().map(String::from).collect(), has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 2))
}

#[test]
fn byte_layout_high_byte_lookup_catches_a_remainder_of_2_16_or_more() {
    // r + 2^16 split honestly: the low byte is in range, the high byte is ≥ 256. Only the
    // high-byte lookup stands between this witness and a proof.
    let (failed, identity) = moved_in_bytes(true, |x| x >> 8);
    assert!(!identity);
    assert_eq!(failed, ["shares: x high byte"]);
}

#[test]
fn byte_layout_low_byte_lookup_catches_an_out_of_range_low_part() {
    // r + 2^16 with an in-range high byte: the low part is ≥ 2^16. Only the low-byte lookup
    // fails.
    let (failed, identity) = moved_in_bytes(true, |x| (x >> 8) & 255);
    assert!(!identity);
    assert_eq!(failed, ["shares: x low byte"]);
    // r − 2^16 < 0 with the remainder's own high byte: the low part is negative.
    let (failed, _) = moved_in_bytes(false, |x| (x + (1 << 16)) >> 8);
    assert_eq!(failed, ["shares: x low byte"]);
}

#[test]
fn byte_layout_high_byte_is_tied_to_its_cell() {
    // An honest x with its high byte off by one: the low part leaves [0, 2^8).
    let row = ROWS_PER_CHUNK * 4 + r_off(3, 2);
    let x = fr_small(vector_circuit(vec![]).0.cells().x[row]);
    for h in [(x >> 8) + 1, (x >> 8) - 1] {
        let (gates, lookups, perms) = tampered_in(SharesRange::Bytes, vec![Tamper::High { row, value: int(h) }]);
        assert!(gates.is_empty() && perms == 0, "{gates:?}");
        assert_eq!(lookups_at(&lookups, row), ["shares: x low byte"]);
    }
}

#[test]
fn tampered_masked_value_is_rejected() {
    // A mask bit flipped inside the chip: the copy from the proven mask code fails, and so does
    // the share identity of that chunk.
    let (gates, _, perms) = tampered(vec![Tamper::Y { row: ROWS_PER_CHUNK * 4 + MASK_OFF + 1, value: Fr::zero() }]);
    assert!(perms > 0, "the copy of the mask bit");
    assert!(has_gate(&gates, SHARE_GATE, ROWS_PER_CHUNK * 4), "{gates:?}");
    // A code bit set to 2 (so m − 2cm changes sign on a valid bit): the boolean gate fails.
    let (gates, _, _) = tampered(vec![Tamper::Y { row: ROWS_PER_CHUNK * 6 + CODE_OFF + 3, value: Fr::from(2) }]);
    assert!(has_gate(&gates, "shares: bits", ROWS_PER_CHUNK * 6), "{gates:?}");
}

#[test]
fn tampered_share_commitment_is_rejected() {
    let (c, mut public) = vector_circuit(vec![]);
    public[2] += Fr::one();
    let (gates, lookups, perms) = summarize(&run(&c, public).unwrap_err());
    assert!(gates.is_empty() && lookups.is_empty() && perms > 0, "{gates:?} {lookups:?}");
}

#[test]
fn tampered_packing_accumulator_is_rejected() {
    let row = ROWS_PER_CHUNK * 9 + r_off(1, 2);
    let (gates, _, _) = tampered(vec![Tamper::Y { row, value: Fr::from(12345) }]);
    assert!(has_gate(&gates, "shares: pack", row), "{gates:?}");
}

#[test]
fn layout_arithmetic() {
    assert_eq!(SharesChip::rows(4096), 28 * 4096 + 3);
    // 16,384 coefficients per party: 1,093 packed elements and a header.
    assert_eq!(SharesChip::poseidon_rows(4096), 3 * super::super::poseidon::rows_needed_at(SHARE_SPONGE_WIDTH, 1094).unwrap());
    assert_eq!(CROSS_ROTATION, -25);
    assert_eq!(r_off(1, 3) + ROWS_PER_CHUNK - r_off(1, 0), 28 + 3);
}
