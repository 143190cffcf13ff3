//! The phase-1 witness: the value of every phase-1 cell, computed natively from the
//! enrollment and the plan.
//!
//! Phase-1 values (pixels, mask bits, product-polynomial coefficients, rule values, limbs,
//! bits, packing accumulators) exist before any challenge. The phase-2 cells (Horner
//! evaluations, padded chains, kernel polynomials, the identity accumulator, batched dense
//! sums, the popcount, operand copies) are not here: each chip computes its own from these
//! values and β during synthesis (`statement::assign_phase2`). Outputs of the convolutions
//! and the CNN path are checked against the model's native executor, so the circuit and the
//! executor agree by construction.

use halo2_proofs::arithmetic::Field;
use halo2_proofs::halo2curves::bn256::Fr;

#[cfg(test)]
use crate::image::{IrisImage, IrisMask};
use crate::model::{Encoding, Model};
use crate::mpc::{GrElement, MaskedCode, Slopes};
use crate::public::{Submission, ROW_BINDING, ROW_SHARE_COMMITMENTS};

use super::chips::compare::sign_limbs;
use super::chips::conv::conv_coefficients;
use super::chips::logic;
use super::chips::pack::{pack_rows, Base, CODE_BITS_PER_WORD};
use super::chips::relu::relu_cells;
use super::chips::requant::requant_cells;
use super::expr::fe;
use super::plan::cnn::CnnStep;
use super::plan::region::CellRef;
use super::plan::{Arg, Atom, StatementPlan};
use super::CircuitError;

/// Dense column values for the shared columns.
#[derive(Clone, Debug)]
pub struct Columns1 {
    /// `q[0..4]`.
    pub q: [Vec<Fr>; 4],
    /// `v`.
    pub v: Vec<Fr>,
    /// `b`.
    pub b: Vec<Fr>,
    /// `u` (CNN outputs; all zero for models without a CNN path).
    pub u: Vec<Fr>,
}

/// The private witness of one proof (crate-private: only the prover builds one).
#[derive(Clone)]
pub(crate) struct Witness {
    /// Phase-1 columns.
    pub cols: Columns1,
    /// Integer value of every atom's main result (`d` for comparators) — for tests.
    pub atom_values: Vec<i128>,
    /// The operand values `[x, y]` of every comparator atom (zero for other atoms): the
    /// comparator chip's inputs (an operand may be the popcount, which exists only in phase 2).
    pub operands: Vec<[i128; 2]>,
    /// Public inputs.
    pub instances: Vec<Fr>,
    /// The commitment salt as a field element.
    pub salt: Fr,
    /// Product-polynomial coefficients per convolution (stored order) as integers.
    pub coefficients: Vec<Vec<i64>>,
    /// Per input: the values row-major (pixels or mask bits).
    pub inputs: Vec<Vec<i64>>,
    /// Test hook: phase-2 cells to overwrite after they are computed (`(column, row, value)`
    /// with column 0 = h, 1 = g, 2 = g2). Empty in every real proof.
    #[doc(hidden)]
    pub phase2_overrides: Vec<(u8, usize, Fr)>,
    /// Test hook: the phase-1 columns as computed, kept by witnesses built in the crate's unit
    /// tests (`None` in every real proof). The chips compute their cells from the values
    /// here, and the statement then re-assigns every cell a test has edited in `cols` since,
    /// so a test can tamper with any phase-1 cell.
    #[doc(hidden)]
    pub baseline: Option<Box<Columns1>>,
    /// Test hook: a value for the commitment header cell (and for the sponge's first input)
    /// instead of the circuit's constant. `None` in every real proof.
    #[doc(hidden)]
    pub header_override: Option<Fr>,
    /// The submission binding (public input 3).
    pub binding: Fr,
    /// The shares' slope per chunk (mpc-shares models).
    pub slopes: Option<Vec<GrElement>>,
}

/// Overwrites field elements with zero so that the compiler keeps the stores (the crate
/// forbids `unsafe`, so no volatile writes: `black_box` makes the zeroed memory observable).
fn wipe_fr(v: &mut [Fr]) {
    v.iter_mut().for_each(|x| *x = Fr::ZERO);
    std::hint::black_box(v);
}

impl Columns1 {
    fn wipe(&mut self) {
        self.q.iter_mut().for_each(|c| wipe_fr(c));
        wipe_fr(&mut self.v);
        wipe_fr(&mut self.b);
        wipe_fr(&mut self.u);
    }
}

impl Drop for Columns1 {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl Witness {
    /// Zeroes every private value (pixels, mask bits, salt, intermediate values, slopes):
    /// what [`Drop`] does, so a witness leaves no biometric data in freed memory.
    pub(crate) fn wipe(&mut self) {
        use zeroize::Zeroize;
        self.cols.wipe();
        self.atom_values.iter_mut().for_each(|v| *v = 0);
        std::hint::black_box(&mut self.atom_values[..]);
        self.operands.iter_mut().for_each(|v| *v = [0, 0]);
        std::hint::black_box(&mut self.operands[..]);
        if let Some(b) = &mut self.baseline {
            b.wipe();
        }
        self.salt = Fr::ZERO;
        std::hint::black_box(&mut self.salt);
        self.coefficients.iter_mut().for_each(|c| c.zeroize());
        self.inputs.iter_mut().for_each(|c| c.zeroize());
        self.phase2_overrides.clear();
        if let Some(s) = &mut self.slopes {
            s.iter_mut().for_each(|e| e.0.zeroize());
        }
    }
}

impl Drop for Witness {
    fn drop(&mut self) {
        self.wipe();
    }
}

impl std::fmt::Debug for Witness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Witness([REDACTED], {} public inputs)", self.instances.len())
    }
}

impl Columns1 {
    fn new(rows: usize) -> Self {
        Self { q: std::array::from_fn(|_| vec![Fr::ZERO; rows]), v: vec![Fr::ZERO; rows], b: vec![Fr::ZERO; rows], u: vec![Fr::ZERO; rows] }
    }

    /// The `q` cells of `rows` rows from `first`, four per row in order.
    pub fn quads(&self, first: usize, rows: usize) -> Vec<Fr> {
        (first..first + rows).flat_map(|r| self.q.iter().map(move |c| c[r])).collect()
    }

    /// Value of a phase-1 cell (`h`/`g` cells are not phase 1 and read as zero).
    pub fn get(&self, c: CellRef) -> Fr {
        match c {
            CellRef::Q(r, k) => self.q[k][r],
            CellRef::V(r) => self.v[r],
            CellRef::B(r) => self.b[r],
            CellRef::U(r) => self.u[r],
            CellRef::H(_) | CellRef::G(_) => Fr::ZERO,
        }
    }
}

/// Reads a field element holding a small signed integer (|x| < 2^127).
pub fn to_i128(x: Fr) -> i128 {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let small = |f: &Fr| -> Option<u128> {
        let repr = f.to_repr();
        let b = repr.as_ref();
        if b[16..].iter().all(|&v| v == 0) && b[15] < 0x80 {
            let mut lo = [0u8; 16];
            lo.copy_from_slice(&b[..16]);
            Some(u128::from_le_bytes(lo))
        } else {
            None
        }
    };
    match small(&x) {
        Some(v) => v as i128,
        None => small(&(-x)).map(|v| -(v as i128)).unwrap_or(i128::MIN),
    }
}

impl Witness {
    /// The phase-1 values as computed (before any test edits): what the chips read.
    pub(crate) fn computed(&self) -> &Columns1 {
        self.baseline.as_deref().unwrap_or(&self.cols)
    }

    /// Builds the phase-1 witness for `image`, `mask` and `salt` under `plan`, unbound
    /// (binding 0) and, for an mpc-shares model, with fresh random slopes. Tests only: the
    /// prover runs the model once and calls [`Witness::from_encoding`].
    #[cfg(test)]
    pub fn new(model: &Model, plan: &StatementPlan, image: &IrisImage, mask: &IrisMask, salt: Fr, commitment: Fr) -> Result<Self, CircuitError> {
        let enc = model.encode(image, mask).map_err(|e| CircuitError::Witness(e.to_string()))?;
        let slopes = plan.shares.as_ref().map(|s| Slopes::random(s.chunks));
        Self::from_encoding(model, plan, &enc, salt, commitment, Fr::ZERO, slopes.as_ref())
    }

    /// Builds the witness from the model's run on the enrollment (`enc`), the salt, the
    /// commitment, the submission binding and (mpc-shares models) the shares' slopes.
    pub fn from_encoding(
        model: &Model,
        plan: &StatementPlan,
        enc: &Encoding,
        salt: Fr,
        commitment: Fr,
        binding: Fr,
        slopes: Option<&Slopes>,
    ) -> Result<Self, CircuitError> {
        let mut cols = Columns1::new(plan.rows);
        let mut inputs = Vec::new();
        // Inputs.
        for inp in &plan.inputs {
            let data: Vec<i64> = enc.trace.get(inp.tensor).data.clone();
            for (k, &x) in data.iter().enumerate() {
                cols.q[k % 4][inp.first_row + k / 4] = Fr::from(x as u64);
            }
            // The packing chip's running sums over the values and the zero rows after them.
            let rows = inp.data_rows + inp.zero_rows;
            let quads: Vec<u64> = (0..4 * rows).map(|k| data.get(k).copied().unwrap_or(0) as u64).collect();
            let base = if inp.is_mask { Base::Bit } else { Base::Byte };
            for (r, acc) in pack_rows(&quads, inp.group_rows, base.bits()).into_iter().enumerate() {
                cols.v[inp.first_row + r] = acc;
            }
            inputs.push(data);
        }
        // Convolution coefficients.
        let mut coefficients = Vec::new();
        for conv in &plan.convs {
            let p = &conv.plan;
            let coef = conv_coefficients(p, conv.seg_len, &inputs[conv.source]);
            let lead = conv.seg_len - p.segment_len();
            // The outputs among the coefficients (plus the constant term, e.g. a bias) must
            // equal the executor's values.
            let expect = &enc.trace.get(conv.target).data;
            for s in 0..p.segments {
                for j in 0..p.outputs {
                    let pos = s * conv.seg_len + lead + p.output_position(j);
                    if coef[pos] + p.constant[s * p.outputs + j] != expect[s * p.outputs + j] {
                        return Err(CircuitError::Internal(format!("convolution output ({s},{j}) disagrees with the executor")));
                    }
                }
            }
            for (t, &v) in coef.iter().enumerate() {
                cols.q[t % 4][conv.seg_first_row + t / 4] = fe(v as i128);
            }
            coefficients.push(coef);
        }
        // The CNN path, layer by layer from the cells already filled; every output is checked
        // against the executor.
        fill_cnn(plan, &enc.trace, &mut cols)?;
        let tau = plan.liveness.as_ref().filter(|l| l.public).map(|l| l.threshold as i128).unwrap_or(0);
        // Rule atoms (in order: later atoms may read earlier ones).
        let mut atom_values = vec![0i128; plan.atoms.len()];
        let mut operands = vec![[0i128; 2]; plan.atoms.len()];
        for (idx, atom) in plan.atoms.iter().enumerate() {
            let row = plan.atom_rows[idx];
            match atom {
                Atom::Compare { x, y, f, rows } => {
                    let val = |a: &Arg, cols: &Columns1| -> i128 {
                        match a {
                            Arg::Cell(CellRef::H(_)) => popcount(plan, cols),
                            Arg::Cell(c) => to_i128(cols.get(*c)),
                            Arg::Instance(1) => model.manifest().rules.min_valid_bits as i128,
                            Arg::Instance(2) => tau,
                            Arg::Instance(_) | Arg::Zero => 0,
                        }
                    };
                    let (xv, yv) = (val(x, &cols), val(y, &cols));
                    operands[idx] = [xv, yv];
                    let d = f[0] + f[1] * xv + f[2] * yv;
                    let (bit, limbs) = sign_limbs(d, plan.shape.limb_bits, *rows);
                    cols.v[row] = fe(d);
                    cols.b[row] = Fr::from(u64::from(bit));
                    for (k, l) in limbs.iter().enumerate() {
                        cols.q[k % 4][row + k / 4] = Fr::from(*l);
                    }
                    atom_values[idx] = d;
                }
                Atom::Square { x, y } | Atom::NonZero { x, y } | Atom::SquareNonZero { x, y } => {
                    let (xv, yv) = (cols.get(*x), cols.get(*y));
                    cols.q[0][row] = xv;
                    cols.q[1][row] = yv;
                    if !matches!(atom, Atom::NonZero { .. }) {
                        [cols.q[2][row], cols.q[3][row]] = logic::squares(xv, yv);
                    }
                    if !matches!(atom, Atom::Square { .. }) {
                        (cols.v[row], cols.b[row]) = logic::nonzero(xv, yv);
                    }
                }
                Atom::And(ins) => {
                    // Missing inputs are ones (the AND of fewer than four bits).
                    let bits: [Fr; 4] = std::array::from_fn(|k| ins.get(k).map(|c| cols.get(*c)).unwrap_or(Fr::ONE));
                    for (k, bit) in bits.iter().enumerate() {
                        cols.q[k][row] = *bit;
                    }
                    cols.b[row] = logic::and(bits);
                }
            }
        }
        // Public code words (public-code) or share commitments (mpc-shares).
        let mut instances = vec![Fr::ZERO; plan.instances];
        instances[0] = commitment;
        instances[1] = Fr::from(model.manifest().rules.min_valid_bits as u64);
        instances[2] = fe(tau);
        instances[ROW_BINDING] = binding;
        for pack in plan.packs() {
            // Code bits, four per row (zeros after the last), packed into words of
            // CODE_BITS_PER_WORD bits by the packing chip's running sums.
            let rows = pack.bits.len().div_ceil(4);
            let quads: Vec<u64> = (0..4 * rows).map(|i| pack.bits.get(i).map_or(0, |c| u64::from(cols.get(*c) == Fr::ONE))).collect();
            for (r, acc) in pack_rows(&quads, CODE_BITS_PER_WORD / 4, Base::Bit.bits()).into_iter().enumerate() {
                let row = pack.first_row + r;
                for k in 0..4 {
                    cols.q[k][row] = Fr::from(quads[4 * r + k]);
                }
                cols.v[row] = acc;
            }
            if plan.layout.submission == Submission::PublicCode {
                for w in 0..pack.words() {
                    instances[pack.first_instance + w] = cols.v[pack.word_end_row(w)];
                }
            }
        }
        let slopes = match (&plan.shares, slopes) {
            (None, _) => None,
            (Some(_), None) => return Err(CircuitError::Witness("an mpc-shares statement needs the shares' slopes".into())),
            (Some(sp), Some(slopes)) => {
                if slopes.elements().len() != sp.chunks {
                    return Err(CircuitError::Witness(format!("{} slopes for {} chunks", slopes.elements().len(), sp.chunks)));
                }
                // S_p from the proven bits (the circuit's own code and mask cells) and the slopes.
                let bits = |cells: &[CellRef]| -> Vec<u8> {
                    let mut out = vec![0u8; cells.len().div_ceil(8)];
                    for (i, c) in cells.iter().enumerate() {
                        if cols.get(*c) == Fr::ONE {
                            out[i / 8] |= 0x80 >> (i % 8);
                        }
                    }
                    out
                };
                let (code, mask) = (bits(&plan.iris_pack.bits), bits(&plan.mask_pack.bits));
                let masked = MaskedCode::new(&code, &mask, plan.iris_pack.bits.len()).map_err(|e| CircuitError::Witness(e.to_string()))?;
                let shares = crate::mpc::share(&masked, slopes).map_err(|e| CircuitError::Witness(e.to_string()))?;
                for (p, share) in shares.iter().enumerate() {
                    instances[ROW_SHARE_COMMITMENTS + p] = share.commitment();
                }
                Some(slopes.elements().to_vec())
            }
        };
        // The crate's unit tests tamper with `cols`; the statement re-assigns what they change.
        let baseline = cfg!(test).then(|| Box::new(cols.clone()));
        Ok(Self {
            cols,
            atom_values,
            operands,
            instances,
            salt,
            coefficients,
            inputs,
            phase2_overrides: Vec::new(),
            baseline,
            header_override: None,
            binding,
            slopes,
        })
    }
}

fn popcount(plan: &StatementPlan, cols: &Columns1) -> i128 {
    plan.mask_pack.bits.iter().map(|c| to_i128(cols.get(*c))).sum()
}

/// Fills the CNN regions in plan order and checks each output against the executor's trace.
fn fill_cnn(plan: &StatementPlan, trace: &crate::model::exec::Trace, cols: &mut Columns1) -> Result<(), CircuitError> {
    let l = plan.shape.limb_bits;
    let cnn = &plan.cnn;
    let disagree = |what: &str, e: usize| CircuitError::Internal(format!("{what} element {e} disagrees with the executor"));
    let put_limbs = |cols: &mut Columns1, row: usize, limbs: &[u64]| {
        for (k, v) in limbs.iter().enumerate() {
            cols.q[k % 4][row + k / 4] = Fr::from(*v);
        }
    };
    for step in &cnn.steps {
        match *step {
            CnnStep::Relu(i) => {
                let r = &cnn.relus[i];
                let expect = &trace.get(r.tensor).data;
                for (e, el) in r.elems.iter().enumerate() {
                    let row = r.row(e);
                    let x0 = to_i128(cols.get(el.src.cell));
                    let d = x0 + el.src.offset as i128 - el.konst as i128;
                    let (b, limbs, y) = relu_cells(d, el.konst as i128, l, r.rows);
                    if y != expect[e] as i128 {
                        return Err(disagree("ReLU", e));
                    }
                    cols.v[row] = fe(x0);
                    cols.b[row] = Fr::from(u64::from(b));
                    cols.u[row] = fe(y);
                    put_limbs(cols, row, &limbs);
                }
            }
            CnnStep::Requant(i) => {
                let r = &cnn.requants[i];
                let expect = &trace.get(r.tensor).data;
                for (e, el) in r.elems.iter().enumerate() {
                    let row = r.row(e);
                    let x0 = to_i128(cols.get(el.cell));
                    let (y, cells) = requant_cells(x0 + el.offset as i128, r.ylo as i128, &r.shape, l);
                    if y != expect[e] as i128 {
                        return Err(disagree("requantisation", e));
                    }
                    cols.v[row] = fe(x0);
                    cols.u[row] = fe(y);
                    put_limbs(cols, row, &cells);
                }
            }
            CnnStep::Dense(i) => {
                let d = &cnn.denses[i];
                let expect = &trace.get(d.tensor).data;
                for b in &d.blocks {
                    let x: Vec<i128> = b.inputs.iter().map(|c| to_i128(cols.get(*c))).collect();
                    for (t, &xv) in x.iter().enumerate() {
                        cols.q[t % 4][b.first_row + t / 4] = fe(xv);
                    }
                    for (g, (&o, ws)) in b.outputs.iter().zip(&b.weights).enumerate() {
                        let y: i128 = ws.iter().zip(&x).map(|(&w, &xv)| w as i128 * xv).sum();
                        if y + b.constants[g] as i128 != expect[o] as i128 {
                            return Err(disagree("dense layer", o));
                        }
                        cols.v[b.first_row + g] = fe(y);
                    }
                }
                for (e, o) in d.outputs.iter().enumerate() {
                    let mut acc = o.constant as i128;
                    for r in 0..o.rows() {
                        for k in 0..4 {
                            let (x, w) = match o.terms.get(4 * r + k) {
                                Some(&(cell, w)) => (to_i128(cols.get(cell)), w as i128),
                                None => (0, 0),
                            };
                            cols.q[k][o.first_row + r] = fe(x);
                            acc += w * x;
                        }
                        cols.v[o.first_row + r] = fe(acc);
                    }
                    if acc != expect[e] as i128 {
                        return Err(disagree("dense layer", e));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{tiny_model, tiny_sample, TinyRules, TinySpec};

    #[test]
    fn wipe_zeroes_every_private_value() {
        let spec = TinySpec::default_for(TinyRules::World);
        let model = tiny_model(&spec);
        let plan = StatementPlan::new(&model).expect("plan");
        let (image, mask) = tiny_sample(&spec, 3);
        let mut w = Witness::new(&model, &plan, &image, &mask, Fr::from(77), Fr::from(1)).expect("witness");
        assert!(w.cols.q[0].iter().any(|x| *x != Fr::ZERO) && w.inputs.iter().flatten().any(|x| *x != 0));
        w.wipe();
        let cols = &w.cols;
        assert!(cols.q.iter().chain([&cols.v, &cols.b, &cols.u]).flatten().all(|x| *x == Fr::ZERO));
        assert!(w.inputs.iter().flatten().all(|x| *x == 0) && w.coefficients.iter().flatten().all(|x| *x == 0));
        assert!(w.atom_values.iter().all(|x| *x == 0) && w.salt == Fr::ZERO);
    }
}
