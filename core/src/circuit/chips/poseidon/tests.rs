use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_proofs::dev::{MockProver, VerifyFailure};
use halo2_proofs::plonk::{Circuit, Instance, SecondPhase};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use super::*;
use crate::poseidon::sponge_hash;

/// A cell overwritten after the chip has assigned its witness.
#[derive(Clone, Debug, Default)]
enum Tamper {
    #[default]
    None,
    /// `a` at this row offset gets `+ 1`.
    A { row: usize },
    /// `b` at this row offset gets `+ 1`.
    B { row: usize },
    /// `a` at this row offset gets `+ 1`, and `b` the matching square `(a + c)²`, so only the
    /// linear gates can notice.
    AConsistent { row: usize },
    /// The whole chip witness is replaced by that of these inputs (input cells unchanged).
    Trace(Vec<Fr>),
}

#[derive(Clone, Copy, Debug)]
struct TestParams {
    width: usize,
    /// Put the chip's advice columns in the second phase (inputs stay in the first).
    second_phase: bool,
}

impl Default for TestParams {
    fn default() -> Self {
        Self { width: DEFAULT_WIDTH, second_phase: false }
    }
}

#[derive(Clone, Debug)]
struct TestConfig {
    chip: PoseidonConfig,
    input: Column<Advice>,
    instance: Column<Instance>,
}

/// Hashes `inputs` (assigned in their own column) `copies` times, one after the other from
/// `start_row`, and exposes each output as public input `i`.
#[derive(Clone, Debug, Default)]
struct HashCircuit {
    width: usize,
    second_phase: bool,
    inputs: Vec<Fr>,
    start_row: usize,
    copies: usize,
    tamper: Tamper,
}

impl Circuit<Fr> for HashCircuit {
    type Config = TestConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = TestParams;

    fn without_witnesses(&self) -> Self {
        Self { tamper: Tamper::None, ..self.clone() }
    }

    fn params(&self) -> TestParams {
        TestParams { width: self.width, second_phase: self.second_phase }
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> TestConfig {
        Self::configure_with_params(meta, TestParams::default())
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, params: TestParams) -> TestConfig {
        let input = meta.advice_column();
        meta.enable_equality(input);
        let advice = if params.second_phase {
            [meta.advice_column_in(SecondPhase), meta.advice_column_in(SecondPhase)]
        } else {
            [meta.advice_column(), meta.advice_column()]
        };
        let fixed = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        let chip = PoseidonChip::configure_with_width(meta, &advice, &fixed, params.width).expect("valid test width");
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        TestConfig { chip, input, instance }
    }

    fn synthesize(&self, config: TestConfig, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = PoseidonChip::construct(config.chip.clone());
        let mut outputs = Vec::new();
        layouter.assign_region(
            || "poseidon",
            |mut region| {
                let cells: Vec<_> = self.inputs.iter().enumerate().map(|(i, x)| region.assign_advice(config.input, i, Value::known(*x))).collect();
                let mut row = self.start_row;
                for _ in 0..self.copies.max(1) {
                    let (out, used) = chip.hash(&mut region, row, &cells)?;
                    assert_eq!(used, config.chip.rows_needed(cells.len()));
                    self.apply_tamper(&mut region, &config.chip, row);
                    outputs.push(out.cell());
                    row += used;
                }
                Ok(())
            },
        )?;
        for (i, cell) in outputs.into_iter().enumerate() {
            layouter.constrain_instance(cell, config.instance, i);
        }
        Ok(())
    }
}

impl HashCircuit {
    fn apply_tamper(&self, region: &mut Region<'_, Fr>, cfg: &PoseidonConfig, start: usize) {
        let k = cfg.constants;
        let (a, b, _) = k.trace(&self.inputs);
        let c = k.fixed_layout(self.inputs.len()).c;
        match &self.tamper {
            Tamper::None => {}
            Tamper::A { row } => {
                region.assign_advice(cfg.a, start + row, Value::known(a[*row] + Fr::ONE));
            }
            Tamper::B { row } => {
                region.assign_advice(cfg.b, start + row, Value::known(b[*row] + Fr::ONE));
            }
            Tamper::AConsistent { row } => {
                let new = a[*row] + Fr::ONE;
                region.assign_advice(cfg.a, start + row, Value::known(new));
                region.assign_advice(cfg.b, start + row, Value::known((new + c[*row]).square()));
            }
            Tamper::Trace(other) => {
                let (a2, b2, _) = k.trace(other);
                for (row, (x, y)) in a2.iter().zip(&b2).enumerate() {
                    region.assign_advice(cfg.a, start + row, Value::known(*x));
                    region.assign_advice(cfg.b, start + row, Value::known(*y));
                }
            }
        }
    }
}

fn random_inputs(n: usize, seed: u64) -> Vec<Fr> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    (0..n).map(|_| Fr::random(&mut rng)).collect()
}

fn k_for(rows: usize) -> u32 {
    // With halo2's blinding rows.
    crate::circuit::chips::circuit_rows(rows).trailing_zeros().max(4)
}

fn run(circuit: &HashCircuit, public: Vec<Fr>) -> Result<(), Vec<VerifyFailure>> {
    let k = ChipConstants::get(circuit.width).expect("width");
    let rows = circuit.start_row + circuit.copies.max(1) * k.rows_needed(circuit.inputs.len());
    let prover = MockProver::run(k_for(rows.max(circuit.inputs.len())), circuit, vec![public]).expect("synthesis");
    prover.verify()
}

fn circuit(width: usize, inputs: Vec<Fr>, tamper: Tamper) -> HashCircuit {
    HashCircuit { width, second_phase: false, inputs, start_row: 0, copies: 1, tamper }
}

/// The (gate name, row) of every failed constraint, and the number of permutation failures.
fn summarize(failures: &[VerifyFailure]) -> (Vec<(String, String)>, usize) {
    let mut gates = Vec::new();
    let mut perms = 0;
    for f in failures {
        match f {
            VerifyFailure::ConstraintNotSatisfied { constraint, location, .. } => {
                gates.push((constraint.to_string(), location.to_string()));
            }
            VerifyFailure::Permutation { .. } => perms += 1,
            other => panic!("unexpected failure kind: {other}"),
        }
    }
    (gates, perms)
}

/// Whether a failure location (halo2-axiom prints regions' offsets or absolute rows) is `row`;
/// the test region starts at row 0, so both are the same number.
fn at_row(location: &str, row: usize) -> bool {
    location.ends_with(&format!("at offset {row}")) || location.ends_with(&format!("on row {row}"))
}

fn has_gate(gates: &[(String, String)], gate: &str, row: usize) -> bool {
    gates.iter().any(|(c, l)| c.contains(&format!("('{gate}')")) && at_row(l, row))
}

#[test]
fn derived_constants_exist_for_all_widths() {
    for width in MIN_WIDTH..=MAX_WIDTH {
        let k = ChipConstants::get(width).unwrap_or_else(|e| panic!("width {width}: {e}"));
        assert_eq!(k.xbar.len(), k.partial());
        // The witness generator (which uses only the native permutation) agrees with the sponge.
        let inputs = random_inputs(2 * width + 1, width as u64);
        let (_, _, out) = k.trace(&inputs);
        assert_eq!(out, sponge_hash(width, &inputs).unwrap(), "width {width}");
    }
    assert_eq!(ChipConstants::get(1).unwrap_err(), PoseidonChipError::Width(PoseidonError::UnsupportedWidth { width: 1 }));
}

#[test]
fn layout_arithmetic() {
    let k = ChipConstants::get(6).unwrap();
    assert_eq!(k.rows_per_permutation(), 9 * 6 + 60);
    assert_eq!(k.rows_needed(0), 114 + 6);
    assert_eq!(k.rows_needed(5), 114 + 6);
    assert_eq!(k.rows_needed(6), 2 * 114 + 6);
    assert_eq!(k.input_row(0), 1);
    assert_eq!(k.input_row(4), 5);
    assert_eq!(k.input_row(5), 114 + 1);
    for n in [0, 1, 4, 5, 6, 5205] {
        assert_eq!(rows_needed(n), ChipConstants::get(DEFAULT_WIDTH).unwrap().rows_needed(n), "{n}");
    }
    assert_eq!(rows_needed(5205), 118_680);
}

#[test]
fn chip_matches_native_sponge() {
    for width in [3, DEFAULT_WIDTH, 9] {
        let rate = width - 1;
        for len in [0, 1, rate - 1, rate, rate + 1, 3 * rate + 2] {
            let inputs = random_inputs(len, (width * 100 + len) as u64);
            let expected = sponge_hash(width, &inputs).unwrap();
            let c = circuit(width, inputs, Tamper::None);
            assert_eq!(run(&c, vec![expected]), Ok(()), "width {width}, {len} inputs");
            // A wrong public output is rejected (by the copy into the instance column).
            let (gates, perms) = summarize(&run(&c, vec![expected + Fr::ONE]).unwrap_err());
            assert!(gates.is_empty() && perms > 0, "width {width}, {len} inputs: {gates:?}");
        }
    }
}

#[test]
fn chip_embeds_at_any_start_row_and_repeats() {
    let inputs = random_inputs(11, 7);
    let h = sponge_hash(DEFAULT_WIDTH, &inputs).unwrap();
    let c = HashCircuit { width: DEFAULT_WIDTH, second_phase: false, inputs, start_row: 37, copies: 2, tamper: Tamper::None };
    assert_eq!(run(&c, vec![h, h]), Ok(()));
}

/// Row offsets (within one hash) of interesting cells, for width `t`.
struct Rows {
    t: usize,
    n: usize,
    rpp: usize,
}

impl Rows {
    fn new(width: usize) -> Self {
        let k = ChipConstants::get(width).unwrap();
        Self { t: width, n: k.partial(), rpp: k.rows_per_permutation() }
    }
    fn absorb(&self, perm: usize, j: usize) -> usize {
        perm * self.rpp + j
    }
    fn full(&self, perm: usize, round: usize, i: usize) -> usize {
        let skip = if round < 4 { 0 } else { self.n };
        perm * self.rpp + self.t + round * self.t + skip + i
    }
    fn partial(&self, perm: usize, m: usize) -> usize {
        perm * self.rpp + 5 * self.t + m
    }
}

fn tampered(tamper: Tamper) -> (Vec<(String, String)>, usize) {
    let inputs = random_inputs(3 * (DEFAULT_WIDTH - 1), 99);
    let expected = sponge_hash(DEFAULT_WIDTH, &inputs).unwrap();
    let c = circuit(DEFAULT_WIDTH, inputs, tamper);
    summarize(&run(&c, vec![expected]).expect_err("tampered witness must be rejected"))
}

#[test]
fn tampered_state_cell_is_rejected() {
    let r = Rows::new(DEFAULT_WIDTH);
    let row = r.full(1, 2, 1);
    let (gates, _) = tampered(Tamper::A { row });
    assert!(has_gate(&gates, "sbox square", row), "{gates:?}");
    assert!(has_gate(&gates, "full round", r.full(1, 1, 0)), "{gates:?}");
}

#[test]
fn tampered_sbox_helper_is_rejected() {
    let r = Rows::new(DEFAULT_WIDTH);
    // A full-round helper: its own square check and the MDS of that round.
    let row = r.full(0, 5, 2);
    let (gates, _) = tampered(Tamper::B { row });
    assert!(has_gate(&gates, "sbox square", row), "{gates:?}");
    assert!(has_gate(&gates, "full round", r.full(0, 5, 0)), "{gates:?}");
    // A partial-round helper: its square check and the recurrence windows that read it.
    let row = r.partial(1, 20);
    let (gates, _) = tampered(Tamper::B { row });
    assert!(has_gate(&gates, "sbox square", row), "{gates:?}");
    assert!(has_gate(&gates, "partial recurrence", row), "{gates:?}");
}

#[test]
fn each_linear_gate_catches_a_consistent_tamper() {
    let r = Rows::new(DEFAULT_WIDTH);
    let t = DEFAULT_WIDTH;
    // (cell changed with a matching square, gate that must fail, its anchor row)
    let cases = [
        (r.partial(0, 0), "partial entry", r.full(0, 3, 0)),
        (r.partial(0, 2 * t + 1), "partial recurrence", r.partial(0, t + 1)),
        (r.full(2, 4, 1), "partial exit", r.partial(2, r.n - t)),
        (r.full(1, 0, 2), "absorb", r.absorb(1, 2)),
        (r.full(1, 0, 0), "absorb capacity", r.absorb(1, 0)),
        (r.full(1, 6, 3), "full round", r.full(1, 5, 0)),
    ];
    for (row, gate, anchor) in cases {
        let (gates, _) = tampered(Tamper::AConsistent { row });
        assert!(has_gate(&gates, gate, anchor), "tampering row {row}: expected {gate} at {anchor}, got {gates:?}");
        assert!(!gates.iter().any(|(c, _)| c.contains("sbox square")), "square stays consistent: {gates:?}");
    }
}

#[test]
fn tampered_input_copy_is_rejected_by_the_copy_constraint() {
    // The chip runs a fully consistent witness for different inputs; only the copy of the
    // changed input into the chip (and the public output) can catch it.
    let inputs = random_inputs(3 * (DEFAULT_WIDTH - 1), 99);
    let mut other = inputs.clone();
    other[7] += Fr::ONE;
    let c = circuit(DEFAULT_WIDTH, inputs, Tamper::Trace(other.clone()));
    let forged = sponge_hash(DEFAULT_WIDTH, &other).unwrap();
    let failures = run(&c, vec![forged]).unwrap_err();
    let (gates, perms) = summarize(&failures);
    assert!(gates.is_empty(), "{gates:?}");
    assert!(perms >= 1);
    // Columns in configure order: the input column is advice 0, the chip's `a`, `b` are 1, 2.
    let k = ChipConstants::get(DEFAULT_WIDTH).unwrap();
    let perm_at = |col: &str, row: usize| {
        failures.iter().any(|f| {
            matches!(f, VerifyFailure::Permutation { column, location }
                if at_row(&location.to_string(), row) && column.to_string().contains(col))
        })
    };
    assert!(perm_at("Advice', 2", k.input_row(7)), "the chip's copy of input 7: {failures:?}");
    assert!(perm_at("Advice', 0", 7), "the caller's input 7: {failures:?}");
}

#[test]
fn tampered_output_is_rejected() {
    let inputs = random_inputs(3 * (DEFAULT_WIDTH - 1), 99);
    let k = ChipConstants::get(DEFAULT_WIDTH).unwrap();
    let out_row = k.rows_needed(inputs.len()) - DEFAULT_WIDTH + 1;
    let r = Rows::new(DEFAULT_WIDTH);
    let (gates, _) = tampered(Tamper::A { row: out_row });
    assert!(has_gate(&gates, "full round", r.full(2, 7, 0)), "{gates:?}");
}

#[test]
fn configure_rejects_bad_arguments() {
    let mut meta = ConstraintSystem::<Fr>::default();
    let advice = [meta.advice_column()];
    let fixed = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
    assert_eq!(PoseidonChip::configure(&mut meta, &advice, &fixed).unwrap_err(), PoseidonChipError::Columns { advice: 1, fixed: 4 });
    let advice = [meta.advice_column(), meta.advice_column()];
    assert_eq!(
        PoseidonChip::configure_with_width(&mut meta, &advice, &fixed, 18).unwrap_err(),
        PoseidonChipError::Width(PoseidonError::UnsupportedWidth { width: 18 })
    );
}

#[test]
fn max_degree_is_five() {
    for width in [3, DEFAULT_WIDTH, 9] {
        let mut meta = ConstraintSystem::<Fr>::default();
        let advice = [meta.advice_column(), meta.advice_column()];
        let fixed = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        PoseidonChip::configure_with_width(&mut meta, &advice, &fixed, width).unwrap();
        assert_eq!(meta.degree(), 5, "width {width}");
    }
}

#[test]
fn real_proof_verifies() {
    real_proof(false);
}

#[test]
fn real_proof_verifies_with_second_phase_columns() {
    real_proof(true);
}

#[test]
fn second_phase_columns_mock() {
    let inputs = random_inputs(9, 21);
    let h = sponge_hash(DEFAULT_WIDTH, &inputs).unwrap();
    let mut c = circuit(DEFAULT_WIDTH, inputs, Tamper::None);
    c.second_phase = true;
    assert_eq!(run(&c, vec![h]), Ok(()));
    assert!(run(&c, vec![h + Fr::ONE]).is_err());
}

fn real_proof(second_phase: bool) {
    use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
    use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
    use halo2_proofs::poly::commitment::ParamsProver;
    use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
    use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
    use halo2_proofs::poly::kzg::strategy::SingleStrategy;
    use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer};

    let mut rng = ChaCha20Rng::seed_from_u64(5);
    let inputs = random_inputs(13, 3);
    let h = sponge_hash(DEFAULT_WIDTH, &inputs).unwrap();
    let mut c = circuit(DEFAULT_WIDTH, inputs, Tamper::None);
    c.second_phase = second_phase;
    let k = 10;
    assert!(ChipConstants::get(DEFAULT_WIDTH).unwrap().rows_needed(13) + 16 < 1 << k);
    let params = ParamsKZG::<Bn256>::setup(k, &mut rng);
    let vk = keygen_vk(&params, &c.without_witnesses()).unwrap();
    let pk = keygen_pk(&params, vk, &c.without_witnesses()).unwrap();
    let prove = |public: Fr, rng: &mut ChaCha20Rng| {
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<_>, _, _, _, _>(&params, &pk, std::slice::from_ref(&c), &[&[&[public]]], rng, &mut transcript)
            .unwrap();
        transcript.finalize()
    };
    let verify = |proof: &[u8], public: Fr| {
        let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<_>, _, _, _>(
            params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&params),
            &[&[&[public]]],
            &mut transcript,
        )
    };
    let proof = prove(h, &mut rng);
    assert!(verify(&proof, h).is_ok());
    assert!(verify(&proof, h + Fr::ONE).is_err(), "the proof is bound to the output");
}

#[test]
fn random_lengths_match() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for _ in 0..3 {
        let len = rng.gen_range(0..30);
        let inputs = random_inputs(len, rng.gen());
        let h = sponge_hash(DEFAULT_WIDTH, &inputs).unwrap();
        assert_eq!(run(&circuit(DEFAULT_WIDTH, inputs, Tamper::None), vec![h]), Ok(()), "{len} inputs");
    }
}
