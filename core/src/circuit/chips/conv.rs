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

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::pow;
use crate::circuit::layout::Columns;
use crate::circuit::linear::Boundary;

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
    /// One selector per padded-chain shape.
    pub s_apad: Vec<(ApadShape, Selector)>,
    /// First tap of a kernel polynomial.
    pub s_b_start: Selector,
    /// Next taps.
    pub s_b_next: Selector,
    /// First block of the accumulator.
    pub s_acc_first: Selector,
    /// A segment's first block, one selector per segment length `N`.
    pub s_acc_seg: Vec<(usize, Selector)>,
    /// Other blocks.
    pub s_acc_next: Selector,
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
        Self { s_apad, s_b_start, s_b_next, s_acc_first, s_acc_seg, s_acc_next }
    }

    /// The selector for a padded-chain shape.
    pub fn apad_selector(&self, shape: &ApadShape) -> Option<Selector> {
        self.s_apad.iter().find(|(s, _)| s == shape).map(|(_, sel)| *sel)
    }

    /// The segment-start selector for length `n`.
    pub fn seg_selector(&self, n: usize) -> Option<Selector> {
        self.s_acc_seg.iter().find(|(len, _)| *len == n).map(|(_, sel)| *sel)
    }
}

/// Native twin of the padded-chain gate: `A^pad(β)` from the chain's Horner row values.
pub fn apad_value(shape: &ApadShape, horner: &[Fr], beta: Fr) -> Fr {
    use crate::circuit::expr::fpow;
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

/// The padded-chain shape of a conv plan (in slot 0; the planner moves it to a free slot).
pub fn apad_shape(plan: &crate::circuit::linear::ConvPlan) -> ApadShape {
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
