//! Proving cost of the Poseidon sponge chip at commitment size (5,205 elements: the 128×1024
//! enrollment commitment), with a real KZG (SHPLONK) keygen + prove + verify at k = 17.
//!
//! Ignored by default (about a minute per width on 2 cores). Run one width per process, so the
//! peak-RSS figure belongs to that width alone:
//!
//! ```text
//! ZKIRIS_POSEIDON_WIDTH=6 cargo test -p zkiris --lib circuit::chips::poseidon::cost \
//!     -- --ignored --nocapture
//! ```
//!
//! Optional: `ZKIRIS_POSEIDON_ELEMENTS` (default 5205), `ZKIRIS_POSEIDON_K` (default 17),
//! `ZKIRIS_POSEIDON_PROOFS` (proofs timed, default 2; the best is reported).
//!
//! The circuit is the chip alone: its two advice columns (`a`, `b`), its four fixed columns and
//! one instance column for the output. The inputs are assigned in `a` below the hash region
//! and copied in, as a larger circuit would copy them from its packing chip. Prints one line
//! `RESULT width=… rows=… prove_wall=… prove_cpu=… …` for the report.

use std::time::Instant;

use super::{PoseidonChip, PoseidonConfig, PoseidonInstructions};
use crate::poseidon::sponge_hash;
use halo2_proofs::circuit::{Layouter, SimpleFloorPlanner, Value};
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof, Advice, Circuit, Column, ConstraintSystem, Error, Instance};
use halo2_proofs::poly::commitment::ParamsProver;
use halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_proofs::transcript::{Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_proofs::SerdeFormat;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

#[derive(Clone, Copy, Debug)]
struct Width(usize);

impl Default for Width {
    fn default() -> Self {
        Width(super::DEFAULT_WIDTH)
    }
}

#[derive(Clone, Debug)]
struct Config {
    chip: PoseidonConfig,
    a: Column<Advice>,
    instance: Column<Instance>,
}

#[derive(Clone, Debug, Default)]
struct CommitmentHash {
    width: Width,
    inputs: Vec<Value<Fr>>,
}

impl Circuit<Fr> for CommitmentHash {
    type Config = Config;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = Width;

    fn without_witnesses(&self) -> Self {
        Self { width: self.width, inputs: vec![Value::unknown(); self.inputs.len()] }
    }

    fn params(&self) -> Width {
        self.width
    }

    fn configure(meta: &mut ConstraintSystem<Fr>) -> Config {
        Self::configure_with_params(meta, Width::default())
    }

    fn configure_with_params(meta: &mut ConstraintSystem<Fr>, width: Width) -> Config {
        let advice = [meta.advice_column(), meta.advice_column()];
        let fixed = [meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()];
        let chip = PoseidonChip::configure_with_width(meta, &advice, &fixed, width.0).expect("supported width");
        let instance = meta.instance_column();
        meta.enable_equality(instance);
        Config { chip, a: advice[0], instance }
    }

    fn synthesize(&self, config: Config, mut layouter: impl Layouter<Fr>) -> Result<(), Error> {
        let chip = PoseidonChip::construct(config.chip.clone());
        let out = layouter.assign_region(
            || "commitment hash",
            |mut region| {
                let below = config.chip.rows_needed(self.inputs.len());
                let cells: Vec<_> = self.inputs.iter().enumerate().map(|(i, v)| region.assign_advice(config.a, below + i, *v)).collect();
                let (out, _) = chip.hash(&mut region, 0, &cells)?;
                Ok(out.cell())
            },
        )?;
        layouter.constrain_instance(out, config.instance, 0);
        Ok(())
    }
}

/// Number of distinct calculations halo2-axiom's gate evaluator performs per extended-domain
/// row for these gates (a mirror of its `GraphEvaluator::add_expression`, which shares equal
/// sub-expressions across all gates). Each costs a few ns at each of the `4·2^k` points, so it
/// is a proxy for the gates' share of proving time.
fn gate_calculations(cs: &ConstraintSystem<Fr>) -> usize {
    gate_calculations_by_gate(cs).iter().map(|g| g.2).sum::<usize>() + 1 // + the final Horner combination
}

/// halo2's quotient evaluator computes every gate polynomial at every row of the extended
/// domain, as a graph of calculations shared between gates (the same query or sub-expression
/// is computed once). Per gate, in configuration order: its name, its polynomials and the
/// calculations it adds to the gates before it. A selector counts as one stored value (keygen
/// compresses it into a fixed column).
pub(crate) fn gate_calculations_by_gate(cs: &ConstraintSystem<Fr>) -> Vec<(String, usize, usize)> {
    use halo2_proofs::plonk::Expression;
    use std::collections::HashMap;

    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
    enum V {
        Const(String),
        Calc(usize),
    }
    struct G {
        calcs: HashMap<String, usize>,
    }
    impl G {
        fn calc(&mut self, key: String) -> V {
            let n = self.calcs.len();
            V::Calc(*self.calcs.entry(key).or_insert(n))
        }
        fn add(&mut self, e: &Expression<Fr>) -> V {
            let zero = V::Const(format!("{:?}", Fr::ZERO));
            let one = V::Const(format!("{:?}", Fr::ONE));
            let two = V::Const(format!("{:?}", Fr::from(2)));
            match e {
                Expression::Constant(c) => V::Const(format!("{c:?}")),
                Expression::Selector(s) => self.calc(format!("S{}", s.index())),
                Expression::Fixed(q) => self.calc(format!("F{}@{}", q.column_index(), q.rotation().0)),
                Expression::Advice(q) => self.calc(format!("A{}@{}", q.column_index(), q.rotation().0)),
                Expression::Instance(q) => self.calc(format!("I{}@{}", q.column_index(), q.rotation().0)),
                Expression::Challenge(c) => self.calc(format!("X{}", c.index())),
                Expression::Negated(a) => match &**a {
                    Expression::Constant(c) => V::Const(format!("{:?}", -*c)),
                    _ => {
                        let r = self.add(a);
                        if r == zero {
                            r
                        } else {
                            self.calc(format!("neg {r:?}"))
                        }
                    }
                },
                Expression::Sum(a, b) => match &**b {
                    Expression::Negated(b) => {
                        let (ra, rb) = (self.add(a), self.add(b));
                        if ra == zero {
                            self.calc(format!("neg {rb:?}"))
                        } else if rb == zero {
                            ra
                        } else {
                            self.calc(format!("sub {ra:?} {rb:?}"))
                        }
                    }
                    _ => {
                        let (ra, rb) = (self.add(a), self.add(b));
                        if ra == zero {
                            rb
                        } else if rb == zero {
                            ra
                        } else {
                            let (x, y) = if ra <= rb { (ra, rb) } else { (rb, ra) };
                            self.calc(format!("add {x:?} {y:?}"))
                        }
                    }
                },
                Expression::Product(a, b) => {
                    let (ra, rb) = (self.add(a), self.add(b));
                    if ra == zero || rb == zero {
                        zero
                    } else if ra == one {
                        rb
                    } else if rb == one {
                        ra
                    } else if ra == two {
                        self.calc(format!("dbl {rb:?}"))
                    } else if rb == two {
                        self.calc(format!("dbl {ra:?}"))
                    } else if ra == rb {
                        self.calc(format!("sq {ra:?}"))
                    } else {
                        let (x, y) = if ra <= rb { (ra, rb) } else { (rb, ra) };
                        self.calc(format!("mul {x:?} {y:?}"))
                    }
                }
                Expression::Scaled(a, f) => {
                    if *f == Fr::ZERO {
                        zero
                    } else if *f == Fr::ONE {
                        self.add(a)
                    } else {
                        let ra = self.add(a);
                        self.calc(format!("mul {ra:?} {f:?}"))
                    }
                }
            }
        }
    }
    let mut g = G { calcs: HashMap::new() };
    let mut out = Vec::new();
    for gate in cs.gates() {
        let before = g.calcs.len();
        for poly in gate.polynomials() {
            g.add(poly);
        }
        out.push((gate.name().to_string(), gate.polynomials().len(), g.calcs.len() - before));
    }
    out
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// User + system CPU seconds of this process.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (tick(11) + tick(12)) / 100.0
}

/// Peak resident set size (MiB) since the last [`reset_peak_rss`].
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn reset_peak_rss() {
    // Linux: writing 5 resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn params(k: u32) -> ParamsKZG<Bn256> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../target/poseidon-cost-srs-k{k}.bin"));
    if let Ok(bytes) = std::fs::read(&path) {
        if let Ok(p) = ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytes) {
            return p;
        }
    }
    let p = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::seed_from_u64(17));
    let mut bytes = Vec::new();
    if p.write_custom(&mut bytes, SerdeFormat::RawBytes).is_ok() {
        let _ = std::fs::write(&path, bytes);
    }
    p
}

#[test]
#[ignore = "measurement: about a minute per width; see the module docs"]
fn poseidon_commitment_cost() {
    let width = env("ZKIRIS_POSEIDON_WIDTH", super::DEFAULT_WIDTH);
    let n = env("ZKIRIS_POSEIDON_ELEMENTS", 5205);
    let k = env("ZKIRIS_POSEIDON_K", 17) as u32;
    let proofs = env("ZKIRIS_POSEIDON_PROOFS", 2).max(1);

    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let inputs: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
    let expected = sponge_hash(width, &inputs).expect("width");
    let circuit = CommitmentHash { width: Width(width), inputs: inputs.iter().map(|x| Value::known(*x)).collect() };

    let params = params(k);
    let t0 = Instant::now();
    let vk = keygen_vk(&params, &circuit.without_witnesses()).expect("keygen_vk");
    let pk = keygen_pk(&params, vk, &circuit.without_witnesses()).expect("keygen_pk");
    let keygen = t0.elapsed().as_secs_f64();
    let cs = pk.get_vk().cs();
    let gate_polys: usize = cs.gates().iter().map(|g| g.polynomials().len()).sum();
    let gate_calcs = gate_calculations(cs);
    let rows = {
        let mut meta = ConstraintSystem::<Fr>::default();
        CommitmentHash::configure_with_params(&mut meta, Width(width)).chip.rows_needed(n)
    };

    reset_peak_rss();
    let (mut best_wall, mut best_cpu) = (f64::MAX, f64::MAX);
    let mut proof = Vec::new();
    for _ in 0..proofs {
        let (w0, c0) = (Instant::now(), cpu_seconds());
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<_>, _, _, _, _>(
            &params,
            &pk,
            std::slice::from_ref(&circuit),
            &[&[&[expected]]],
            &mut rng,
            &mut transcript,
        )
        .expect("prove");
        best_wall = best_wall.min(w0.elapsed().as_secs_f64());
        best_cpu = best_cpu.min(cpu_seconds() - c0);
        proof = transcript.finalize();
    }
    let prove_rss = peak_rss_mib();

    let t1 = Instant::now();
    let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof.as_slice());
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<_>, _, _, _>(
        params.verifier_params(),
        pk.get_vk(),
        SingleStrategy::new(&params),
        &[&[&[expected]]],
        &mut transcript,
    )
    .expect("the proof verifies");
    let verify = t1.elapsed().as_secs_f64();

    println!(
        "RESULT width={width} elements={n} k={k} rows={rows} advice={} fixed={} degree={} gate_polys={gate_polys} gate_calcs={gate_calcs} \
         keygen={keygen:.2}s prove_wall={best_wall:.2}s prove_cpu={best_cpu:.2}s verify={verify:.3}s \
         proof_bytes={} prove_peak_rss={prove_rss:.0}MiB",
        cs.num_advice_columns(),
        cs.num_fixed_columns(),
        cs.degree(),
        proof.len(),
    );
}

/// Static figures for every width (no proving): rows for 5,205 elements, gate polynomials and
/// evaluator calculations. `cargo test -p zkiris --lib circuit::chips::poseidon::cost::gate_stats -- --ignored --nocapture`
#[test]
#[ignore = "prints a table"]
fn gate_stats() {
    for width in 3..=17 {
        let mut meta = ConstraintSystem::<Fr>::default();
        let config = CommitmentHash::configure_with_params(&mut meta, Width(width));
        let polys: usize = meta.gates().iter().map(|g| g.polynomials().len()).sum();
        println!("width={width:2} rows(5205)={:6} gate_polys={polys:3} gate_calcs={:4}", config.chip.rows_needed(5205), gate_calculations(&meta));
    }
}

/// Native cost of the full 128×1024 commitment (what an enrollment device computes).
/// `cargo test -p zkiris --lib circuit::chips::poseidon::cost::native_commit_time -- --ignored --nocapture`
#[test]
#[ignore = "timing"]
fn native_commit_time() {
    use crate::commitment::{commit, Salt};
    use crate::image::{IrisImage, IrisMask};
    let pixels: Vec<u8> = (0..128 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let image = IrisImage::new(128, 1024, pixels).expect("image");
    let mask = IrisMask::all_valid(128, 1024);
    let salt = Salt::random();
    let _ = commit(&image, &mask, &salt).expect("commit"); // warm the parameter cache
    let t = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        std::hint::black_box(commit(&image, &mask, &salt).expect("commit"));
    }
    println!("RESULT native commit 128x1024: {:.1} ms per commitment", t.elapsed().as_secs_f64() * 1000.0 / runs as f64);
}
