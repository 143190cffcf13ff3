//! The convolution identity: proving a whole constant-weight convolution with one polynomial
//! identity at the challenge β, instead of one constraint per multiply-add.
//!
//! # Why this layout
//!
//! A world-v3 iris code is ~9.5M constant multiply-adds. ezkl copies an input into a cell for
//! every tap (≈ 1 row per MAC): 275 s and 9.6 GB for a 1.5M-MAC convolution on this machine.
//! Here the cost is per *pixel* and per *output*, not per MAC:
//!
//! * Each source chain (an image row) `a_c` is a polynomial `A_c(X)` (first element at the
//!   highest degree), evaluated once at β by the quad Horner gate ([`super::horner`]).
//!   Circular columns are handled by padding the chain *algebraically*: the padded chain's
//!   evaluation is a combination of three Horner values of the unpadded row (`s_apad`), so
//!   no pixel is copied.
//! * For every output segment `s` (a filter × probe row), the product polynomial
//!   `Y_s(X) = Σ_c B_{s,c}(X)·A_c(X)` (with `B_{s,c}(X) = Σ_u k_{s,c}[u]·X^u` the kernel row)
//!   has the convolution outputs among its coefficients: output `j` is the coefficient at
//!   `taps − 1 + offset + stride·j` counted from the top. All its coefficients (outputs and
//!   the few in between, which are private) are witnessed in quads and Horner-evaluated.
//! * The identity `Σ_s β^{N·(S−1−s)}·Y_s(β) = Σ_s β^{N·(S−1−s)} Σ_c B_{s,c}(β)·A_c(β)` is
//!   checked with one equality. The left side is the Horner value over all segments; the
//!   right side is accumulated in the `acc` region (one row per (segment, chain) block) from
//!   the kernel polynomials `B(β)` (computed once per distinct kernel with the taps in the
//!   fixed column `kf`) and the padded chains. A wrong coefficient makes the two sides
//!   differ as polynomials in β of degree < N·S, so the check fails except with probability
//!   `N·S/|F| < 2^-230`.
//!
//! Alternatives measured on the probe benchmark (k = 17, 2 cores): per-tap cells (ezkl's
//! layout) need ~9.5M rows (k ≥ 24, does not fit); one row per output with the kernel in
//! rotations needs 41 rotations × 21 rows = 861 queries per gate (30 KB proofs, >1M gas);
//! the polyphase split (one chain per image row × column phase) needs 4× the Horner columns.
//! Full-row chains with the stride absorbed in the product polynomial cost 1 Horner column
//! and ~26k coefficient rows for world-v3, which is why they won.
//!
//! | region | cells | gate |
//! |---|---|---|
//! | chain end row − slot | `g = A^pad(β)` from `h` at the chain end and P_lo/4, (W−P_hi)/4 rows above it | `s_apad[k]` |
//! | kernel rows | `g = g[-1]·β + kf` (taps from highest power) | `s_b_start`, `s_b_next` |
//! | block rows | `g = g[-1]·β^N + g2·h` at a segment start, `g = g[-1] + g2·h` otherwise (`g2` = A^pad copy, `h` = B copy) | `s_acc_*` |
//!
//! | gate | # | selector | constraint |
//! |---|---|---|---|
//! | `padded chain at beta` (one per shape) | 0 | `s_apad[shape]` | `g = A^pad(β)` (circular: `h·β^P_hi + (h − h_lo·β^P_lo)·β^(W+P_hi) + h_hi`; zero: `h·β^(P_hi − tail)`) |
//! | `kernel polynomial at beta` | 0 | `s_b_start` | `g = kf` |
//! | | 1 | `s_b_next` | `g = g[-1]·β + kf` |
//! | `convolution identity accumulator` | 0 | `s_acc_first` | `g = g2·h` |
//! | | 1 | `s_acc_next` | `g = g[-1] + g2·h` |
//! | | 2 + i | `s_acc_seg[N_i]` | `g = g[-1]·β^(N_i) + g2·h` |
//!
//! Every cell here is a phase-2 cell.
//!
//! # What this chip does not constrain
//!
//! The Horner values it reads ([`super::horner`]), the copies of padded chains and kernel
//! values into the accumulator, and the final equality of the accumulator with the Horner
//! value of the product coefficients: the statement makes those copies.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

use super::AssignedFr;
use crate::circuit::expr::{fe, fpow, pow};
use crate::circuit::layout::Columns;
use crate::circuit::plan::linear::Boundary;

/// Shape parameters of a padded-chain gate (one variant per distinct shape).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct ApadShape {
    /// Rows per chain (`width / 4`, rounded up).
    pub chain_rows: usize,
    /// Chain width.
    pub width: usize,
    /// Padding before.
    pub pad_lo: usize,
    /// Padding after.
    pub pad_hi: usize,
    /// Trailing zero cells in the last row of the chain.
    pub tail_zeros: usize,
    /// Circular (true) or zero padding.
    pub circular: bool,
    /// Rows above the chain's last row where `A^pad(β)` is kept in `g`: an input read by
    /// convolutions with different padding keeps one padded-chain value per shape, in slots
    /// 0, 1, … counted up from the chain end.
    pub slot: usize,
}

/// Configuration of the convolution-identity gates.
#[derive(Clone, Debug)]
pub struct ConvConfig {
    cols: Columns,
    /// One selector per padded-chain shape.
    s_apad: Vec<(ApadShape, Selector)>,
    /// First tap of a kernel polynomial.
    s_b_start: Selector,
    /// Next taps.
    s_b_next: Selector,
    /// First block of the accumulator.
    s_acc_first: Selector,
    /// A segment's first block, one selector per segment length `N`.
    s_acc_seg: Vec<(usize, Selector)>,
    /// Other blocks.
    s_acc_next: Selector,
}

/// One block of the accumulator: its segment, the padded chain `A^pad(β)` and the kernel
/// polynomial `B(β)` it multiplies.
#[derive(Clone, Copy, Debug)]
pub struct AccBlock {
    /// Segment index (blocks of one segment are consecutive).
    pub segment: usize,
    /// `A^pad(β)` (copied into `g2`).
    pub chain: Value<Fr>,
    /// `B(β)` (copied into `h`).
    pub kernel: Value<Fr>,
}

impl ConvConfig {
    /// Configures the gates for the given padded-chain shapes and segment lengths.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, shapes: &[ApadShape], seg_lens: &[usize]) -> Self {
        let s_apad: Vec<(ApadShape, Selector)> = shapes.iter().map(|s| (*s, meta.selector())).collect();
        for (shape, sel) in &s_apad {
            let sh = *shape;
            let sel = *sel;
            meta.create_gate("padded chain at beta", |m| {
                let beta = m.query_challenge(cols.beta);
                let s = m.query_selector(sel);
                // The gate sits `slot` rows above the chain end; `h` is read relative to the end.
                let end = sh.slot as i32;
                let g = m.query_advice(cols.g, Rotation::cur());
                let h = m.query_advice(cols.h, Rotation(end));
                let rhs = if sh.circular {
                    let mut e = h.clone() * pow(&beta, sh.pad_hi as u64);
                    if sh.pad_lo > 0 {
                        let h_lo = m.query_advice(cols.h, Rotation(end - (sh.pad_lo / 4) as i32));
                        e = e + (h.clone() - h_lo * pow(&beta, sh.pad_lo as u64)) * pow(&beta, (sh.width + sh.pad_hi) as u64);
                    }
                    if sh.pad_hi > 0 {
                        e = e + m.query_advice(cols.h, Rotation(end - ((sh.width - sh.pad_hi) / 4) as i32));
                    }
                    e
                } else {
                    h * pow(&beta, (sh.pad_hi - sh.tail_zeros) as u64)
                };
                vec![s * (g - rhs)]
            });
        }
        let s_b_start = meta.selector();
        let s_b_next = meta.selector();
        meta.create_gate("kernel polynomial at beta", |m| {
            let beta = m.query_challenge(cols.beta);
            let g = m.query_advice(cols.g, Rotation::cur());
            let g_prev = m.query_advice(cols.g, Rotation::prev());
            let k = m.query_fixed(cols.kf, Rotation::cur());
            let (st, nx) = (m.query_selector(s_b_start), m.query_selector(s_b_next));
            vec![st * (g.clone() - k.clone()), nx * (g - g_prev * beta - k)]
        });
        let s_acc_first = meta.selector();
        let s_acc_next = meta.selector();
        let s_acc_seg: Vec<(usize, Selector)> = seg_lens.iter().map(|n| (*n, meta.selector())).collect();
        meta.create_gate("convolution identity accumulator", |m| {
            let beta = m.query_challenge(cols.beta);
            let g = m.query_advice(cols.g, Rotation::cur());
            let g_prev = m.query_advice(cols.g, Rotation::prev());
            let term = m.query_advice(cols.g2, Rotation::cur()) * m.query_advice(cols.h, Rotation::cur());
            let mut out =
                vec![m.query_selector(s_acc_first) * (g.clone() - term.clone()), m.query_selector(s_acc_next) * (g.clone() - g_prev.clone() - term.clone())];
            for (n, sel) in &s_acc_seg {
                out.push(m.query_selector(*sel) * (g.clone() - g_prev.clone() * pow(&beta, *n as u64) - term.clone()));
            }
            out
        });
        Self { cols: *cols, s_apad, s_b_start, s_b_next, s_acc_first, s_acc_seg, s_acc_next }
    }

    /// Enables the padded-chain gate of `shape` at `row` (`shape.slot` rows above the chain's
    /// last row).
    pub fn enable_apad(&self, region: &mut Region<'_, Fr>, shape: &ApadShape, row: usize) -> Result<(), Error> {
        self.s_apad.iter().find(|(s, _)| s == shape).map(|(_, sel)| *sel).ok_or(Error::Synthesis)?.enable(region, row)
    }

    /// The padded-chain value at `row` for a chain whose Horner values `horner` (one per
    /// chain row) end at row `row + shape.slot`: enables the gate, assigns `g`.
    pub fn assign_apad<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        shape: &ApadShape,
        row: usize,
        horner: Value<&[Fr]>,
        beta: Value<Fr>,
    ) -> Result<AssignedFr<'v>, Error> {
        self.enable_apad(region, shape, row)?;
        Ok(region.assign_advice(self.cols.g, row, horner.zip(beta).map(|(h, b)| apad_value(shape, h, b))))
    }

    /// The product polynomial's coefficients (phase 1) in the `q` cells of `rows` rows from
    /// `first_row`, four per row in stored order, zero after the last. They are the prover's
    /// claim: the Horner run over them ([`super::horner`]) and the identity at β
    /// ([`Self::assign_accumulator`]) check them in phase 2.
    pub fn assign_coefficients(&self, region: &mut Region<'_, Fr>, first_row: usize, rows: usize, coefficients: Value<&[i64]>) {
        for t in 0..4 * rows {
            region.assign_advice(self.cols.q[t % 4], first_row + t / 4, coefficients.map(|c| c.get(t).map_or(Fr::from(0), |v| fe(*v as i128))));
        }
    }

    /// Places the kernel polynomial of `kernel` (taps `k[0..taps]`) from `first_row`: the taps
    /// from the highest power in `kf`, and the gates.
    fn place_kernel(&self, region: &mut Region<'_, Fr>, first_row: usize, kernel: &[i64]) -> Result<(), Error> {
        for (t, &w) in kernel.iter().rev().enumerate() {
            region.assign_fixed(self.cols.kf, first_row + t, fe(w as i128));
            if t == 0 { self.s_b_start } else { self.s_b_next }.enable(region, first_row + t)?;
        }
        Ok(())
    }

    /// [`Self::place_kernel`] and the running values in `g`: returns the cell of
    /// `B(β) = Σ_u k[u]·β^u` (the last row).
    pub fn assign_kernel<'v>(&self, region: &mut Region<'_, Fr>, first_row: usize, kernel: &[i64], beta: Value<Fr>) -> Result<AssignedFr<'v>, Error> {
        self.place_kernel(region, first_row, kernel)?;
        let mut acc = Value::known(Fr::from(0));
        let mut last = None;
        for (t, &w) in kernel.iter().rev().enumerate() {
            acc = if t == 0 { Value::known(fe(w as i128)) } else { acc.zip(beta).map(|(a, b)| a * b + fe(w as i128)) };
            last = Some(region.assign_advice(self.cols.g, first_row + t, acc));
        }
        last.ok_or(Error::Synthesis)
    }

    /// Places the accumulator of blocks in `segments` (the segment of each block, in order)
    /// from `first_row`, for segments of `seg_len` coefficients.
    fn place_accumulator(&self, region: &mut Region<'_, Fr>, first_row: usize, seg_len: usize, segments: impl IntoIterator<Item = usize>) -> Result<(), Error> {
        let seg_sel = self.s_acc_seg.iter().find(|(len, _)| *len == seg_len).map(|(_, sel)| *sel).ok_or(Error::Synthesis)?;
        let mut prev = usize::MAX;
        for (b, s) in segments.into_iter().enumerate() {
            let sel = if b == 0 {
                self.s_acc_first
            } else if s != prev {
                seg_sel
            } else {
                self.s_acc_next
            };
            sel.enable(region, first_row + b)?;
            prev = s;
        }
        Ok(())
    }

    /// [`Self::place_accumulator`] and its cells: the copies `g2 = A^pad(β)`, `h = B(β)` of
    /// each block (returned for the caller's copy constraints) and the running sum in `g`.
    /// Returns the block cells and the last running sum (the right side of the identity).
    #[allow(clippy::type_complexity)] // the cells of each block and the result
    pub fn assign_accumulator<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        seg_len: usize,
        blocks: &[AccBlock],
        beta: Value<Fr>,
    ) -> Result<(Vec<[AssignedFr<'v>; 2]>, AssignedFr<'v>), Error> {
        self.place_accumulator(region, first_row, seg_len, blocks.iter().map(|b| b.segment))?;
        let mut acc = Value::known(Fr::from(0));
        let mut cells = Vec::with_capacity(blocks.len());
        let mut last = None;
        for (i, b) in blocks.iter().enumerate() {
            let row = first_row + i;
            let term = b.chain * b.kernel;
            acc = if i == 0 {
                term
            } else if b.segment != blocks[i - 1].segment {
                acc.zip(beta).map(|(a, beta)| a * fpow(beta, seg_len as u64)) + term
            } else {
                acc + term
            };
            cells.push([region.assign_advice(self.cols.g2, row, b.chain), region.assign_advice(self.cols.h, row, b.kernel)]);
            last = Some(region.assign_advice(self.cols.g, row, acc));
        }
        Ok((cells, last.ok_or(Error::Synthesis)?))
    }
}

/// Native twin of the padded-chain gate: `A^pad(β)` from the chain's Horner row values.
pub fn apad_value(shape: &ApadShape, horner: &[Fr], beta: Fr) -> Fr {
    let end = horner.len() - 1;
    let h = horner[end];
    if !shape.circular {
        return h * fpow(beta, (shape.pad_hi - shape.tail_zeros) as u64);
    }
    let mut e = h * fpow(beta, shape.pad_hi as u64);
    if shape.pad_lo > 0 {
        let h_lo = horner[end - shape.pad_lo / 4];
        e += (h - h_lo * fpow(beta, shape.pad_lo as u64)) * fpow(beta, (shape.width + shape.pad_hi) as u64);
    }
    if shape.pad_hi > 0 {
        e += horner[end - (shape.width - shape.pad_hi) / 4];
    }
    e
}

/// Native twin of the product-polynomial coefficients the convolution identity proves: for
/// each segment of `plan` (laid out `seg_len` coefficients apart, its `segment_len` values at
/// the end), the coefficients of `Σ kernel(X)·chain(X)` over the source values `src` padded as
/// the plan's boundary says (circular wrap or zeros). The outputs sit at
/// `ConvPlan::output_position`; the other coefficients are the identity's free terms.
pub(crate) fn conv_coefficients(plan: &crate::circuit::plan::linear::ConvPlan, seg_len: usize, src: &[i64]) -> Vec<i64> {
    use crate::circuit::plan::linear::Boundary;
    let pw = plan.padded_width();
    let padded: Vec<Vec<i64>> = (0..plan.chains)
        .map(|c| {
            (0..pw)
                .map(|q| {
                    let k = q as i64 - plan.pad_lo as i64;
                    match plan.boundary {
                        Boundary::Circular => src[c * plan.width + k.rem_euclid(plan.width as i64) as usize],
                        Boundary::Zero if k < 0 || k >= plan.width as i64 => 0,
                        Boundary::Zero => src[c * plan.width + k as usize],
                    }
                })
                .collect()
        })
        .collect();
    let n = plan.segment_len();
    let lead = seg_len - n;
    let taps = plan.taps as i64;
    let mut coef = vec![0i64; plan.segments * seg_len];
    for &(s, c, k) in &plan.blocks {
        let kernel = &plan.kernels[k];
        let a = &padded[c];
        let base = s * seg_len + lead;
        for t in 0..n {
            let mut acc = 0i64;
            for (u, &w) in kernel.iter().enumerate() {
                let idx = t as i64 + u as i64 - taps + 1;
                if idx >= 0 && (idx as usize) < pw && w != 0 {
                    acc += w * a[idx as usize];
                }
            }
            coef[base + t] += acc;
        }
    }
    coef
}

/// The padded-chain shape of a conv plan (in slot 0; the planner moves it to a free slot).
pub fn apad_shape(plan: &crate::circuit::plan::linear::ConvPlan) -> ApadShape {
    let chain_rows = plan.width.div_ceil(4);
    ApadShape {
        chain_rows,
        width: plan.width,
        pad_lo: plan.pad_lo,
        pad_hi: plan.pad_hi,
        tail_zeros: chain_rows * 4 - plan.width,
        circular: plan.boundary == Boundary::Circular,
        slot: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::horner::horner_rows;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;

    /// Width 12 (three rows), one element of circular padding on each side… in quads: four.
    const CIRCULAR: ApadShape = ApadShape { chain_rows: 3, width: 12, pad_lo: 4, pad_hi: 4, tail_zeros: 0, circular: true, slot: 1 };
    /// Width 10 (three rows, two trailing zeros), zero padding.
    const ZERO: ApadShape = ApadShape { chain_rows: 3, width: 10, pad_lo: 2, pad_hi: 3, tail_zeros: 2, circular: false, slot: 0 };
    const SEG: usize = 8;
    /// The chain's Horner values sit on rows 1..=3 (end row 3).
    const END: usize = 3;
    const KERNEL: [i64; 3] = [2, -3, 5];
    const ACC: [usize; 4] = [0, 0, 1, 1];

    fn chain(width: usize) -> Vec<Fr> {
        let mut v: Vec<Fr> = (1..=width as u64).map(|x| Fr::from(x * x + 3)).collect();
        v.resize(width.div_ceil(4) * 4, Fr::from(0));
        v
    }

    /// Horner evaluation of a list, first element at the highest degree.
    fn eval(v: &[Fr], beta: Fr) -> Fr {
        v.iter().fold(Fr::from(0), |a, x| a * beta + x)
    }

    #[test]
    fn apad_value_is_the_padded_chain_at_beta() {
        let beta = Fr::from(11);
        let a = chain(12);
        let padded: Vec<Fr> = a[8..].iter().chain(&a).chain(&a[..4]).copied().collect();
        assert_eq!(apad_value(&CIRCULAR, &horner_rows(&a, beta), beta), eval(&padded, beta));
        let a = chain(10);
        let padded: Vec<Fr> = [Fr::from(0); 2].iter().chain(&a[..10]).chain(&[Fr::from(0); 3]).copied().collect();
        assert_eq!(apad_value(&ZERO, &horner_rows(&a, beta), beta), eval(&padded, beta));
    }

    /// What a test changes: `g` or `h` plus one at a row, after assignment.
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        G(usize),
        H(usize),
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Part {
        Apad(ApadShape),
        Kernel,
        Acc,
    }

    #[derive(Clone, Debug)]
    struct Conv {
        part: Part,
        tampers: Vec<Tamper>,
    }

    impl ChipTest for Conv {
        type Config = ConvConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> ConvConfig {
            ConvConfig::configure(meta, cols, &[CIRCULAR, ZERO], &[SEG])
        }

        fn assign(&self, cfg: &ConvConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            region.next_phase();
            let beta = region.get_challenge(cols.beta);
            match self.part {
                Part::Apad(shape) => {
                    let hv = beta.map(|b| horner_rows(&chain(shape.width), b));
                    for r in 0..shape.chain_rows {
                        region.assign_advice(cols.h, END + 1 - shape.chain_rows + r, hv.as_ref().map(|h| h[r]));
                    }
                    let row = END - shape.slot;
                    cfg.assign_apad(region, &shape, row, hv.as_ref().map(|h| &h[..]), beta)?;
                }
                Part::Kernel => {
                    let last = cfg.assign_kernel(region, 1, &KERNEL, beta)?;
                    last.value().zip(beta).assert_if_known(|(v, b)| v.evaluate() == fe(2) + fe(-3) * b + fe(5) * b * b);
                }
                Part::Acc => {
                    let blocks: Vec<AccBlock> = ACC
                        .iter()
                        .enumerate()
                        .map(|(i, &s)| AccBlock { segment: s, chain: Value::known(Fr::from(3 + i as u64)), kernel: Value::known(Fr::from(7 * i as u64 + 1)) })
                        .collect();
                    let (_, last) = cfg.assign_accumulator(region, 1, SEG, &blocks, beta)?;
                    // Σ_s β^(N·(S−1−s)) Σ_blocks A·B: (3·1 + 4·8)·β^8 + (5·15 + 6·22).
                    last.value().zip(beta).assert_if_known(|(v, b)| v.evaluate() == Fr::from(35) * fpow(*b, 8) + Fr::from(207));
                }
            }
            for t in &self.tampers {
                let (col, row) = match *t {
                    Tamper::G(r) => (cols.g, r),
                    Tamper::H(r) => (cols.h, r),
                };
                let honest = self.honest(col == cols.g, row, beta);
                region.assign_advice(col, row, honest.map(|v| v + Fr::from(1)));
            }
            Ok(())
        }
    }

    impl Conv {
        /// The honest `g` (or `h`) value of this part at `row`.
        fn honest(&self, is_g: bool, row: usize, beta: Value<Fr>) -> Value<Fr> {
            beta.map(|b| match self.part {
                Part::Apad(shape) => {
                    let hv = horner_rows(&chain(shape.width), b);
                    if is_g {
                        apad_value(&shape, &hv, b)
                    } else {
                        hv[row + shape.chain_rows - 1 - END]
                    }
                }
                Part::Kernel => KERNEL.iter().rev().take(row).fold(Fr::from(0), |a, w| a * b + fe(*w as i128)),
                Part::Acc if !is_g => Fr::from(7 * (row as u64 - 1) + 1),
                Part::Acc => {
                    let mut acc = Fr::from(0);
                    for i in 0..row {
                        let term = Fr::from(3 + i as u64) * Fr::from(7 * i as u64 + 1);
                        acc = if i == 0 {
                            term
                        } else if ACC[i] != ACC[i - 1] {
                            acc * fpow(b, SEG as u64) + term
                        } else {
                            acc + term
                        };
                    }
                    acc
                }
            })
        }
    }

    fn conv(part: Part, tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Conv { part, tampers: tampers.to_vec() })
    }

    const APAD: &str = "padded chain at beta";
    const KER: &str = "kernel polynomial at beta";
    const IDENTITY: &str = "convolution identity accumulator";

    #[test]
    fn honest_parts_are_accepted() {
        for part in [Part::Apad(CIRCULAR), Part::Apad(ZERO), Part::Kernel, Part::Acc] {
            assert_eq!(conv(part, &[]), vec![], "{part:?}");
        }
    }

    #[test]
    fn a_wrong_padded_chain_value_fails_its_gate() {
        // Circular: g sits one row above the chain end; h is read at the end and at the rows
        // P_lo/4 = 1 and (W − P_hi)/4 = 2 above it.
        assert_eq!(conv(Part::Apad(CIRCULAR), &[Tamper::G(END - 1)]), vec![gate(APAD, 0, END - 1)]);
        for r in [END, END - 1, END - 2] {
            assert_eq!(conv(Part::Apad(CIRCULAR), &[Tamper::H(r)]), vec![gate(APAD, 0, END - 1)], "h at row {r}");
        }
        assert_eq!(conv(Part::Apad(ZERO), &[Tamper::G(END)]), vec![gate(APAD, 0, END)]);
        assert_eq!(conv(Part::Apad(ZERO), &[Tamper::H(END)]), vec![gate(APAD, 0, END)]);
    }

    #[test]
    fn a_wrong_kernel_value_fails_its_constraint() {
        assert_eq!(conv(Part::Kernel, &[Tamper::G(1)]), vec![gate(KER, 0, 1), gate(KER, 1, 2)]);
        assert_eq!(conv(Part::Kernel, &[Tamper::G(3)]), vec![gate(KER, 1, 3)]);
    }

    #[test]
    fn a_wrong_accumulator_value_fails_its_constraint() {
        // Rows 1..=4: first, next, segment start (constraint 2 + 0), next.
        assert_eq!(conv(Part::Acc, &[Tamper::G(1)]), vec![gate(IDENTITY, 0, 1), gate(IDENTITY, 1, 2)]);
        assert_eq!(conv(Part::Acc, &[Tamper::G(2)]), vec![gate(IDENTITY, 1, 2), gate(IDENTITY, 2, 3)]);
        assert_eq!(conv(Part::Acc, &[Tamper::G(3)]), vec![gate(IDENTITY, 1, 4), gate(IDENTITY, 2, 3)]);
        assert_eq!(conv(Part::Acc, &[Tamper::G(4)]), vec![gate(IDENTITY, 1, 4)]);
        // A block's kernel copy.
        assert_eq!(conv(Part::Acc, &[Tamper::H(3)]), vec![gate(IDENTITY, 2, 3)]);
    }
}
