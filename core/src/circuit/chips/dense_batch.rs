//! Batched constant-weight linear layers: `width` outputs over one shared input list, checked
//! together by one random linear combination (Freivalds).
//!
//! A block holds up to `G = width` outputs `y_g = Σ_i W[g][i]·x_i` (the bias is a
//! [`crate::circuit::cnn::ValueRef`] offset) whose inputs are the same cells (a dense Gemm: every output
//! reads every feature; a convolution: the channels at one position read one patch). With β
//! the phase-2 challenge, drawn after the inputs `x` and the claimed outputs `y` are committed,
//! the block proves
//!
//! ```text
//! Σ_g β^(G−1−g)·y_g  =  Σ_i x_i · (Σ_g β^(G−1−g)·W[g][i])
//! ```
//!
//! If any claimed `y_g` is wrong, the difference is a non-zero polynomial in β of degree
//! `< G` whose coefficients were fixed before β was drawn, so the check passes with
//! probability at most `(G−1)/|F|` (about 2^-250).
//!
//! | row `r` of a block | `q0..q3` | `h` | `w[g][0..4]` | `v` (`r < G`) | `g` (`r < G`) |
//! |---|---|---|---|---|---|
//! | 0 | inputs 0..4 (copies) | `Σ_k q_k·Wβ_k` | `W[g][4r+k]` | `y_r` | `y_0` |
//! | `r > 0` | inputs `4r..4r+4` | `h[-1] + Σ_k q_k·Wβ_k` | `W[g][4r+k]` | `y_r` | `g[-1]·β + y_r` |
//!
//! where `Wβ_k = Σ_g β^(G−1−g)·w[g][k]` is an expression in the fixed weight columns, and an
//! equality constraint ties `h` on the last input row to `g` on row `G−1`. Unused output slots
//! of a last block have weight 0; their `y` cells are then forced to 0 by the same check.
//!
//! # Why this layout
//!
//! [`super::dense`] spends a row per four multiply-adds of *one* output and an advice cell
//! for its running sum. Here a row does `4·G` multiply-adds (G = 16: 64) with the same five
//! advice cells (four input copies and one running sum): the claimed outputs need only `G`
//! cells per block. On ezkl's `cnn_embed` (1.95M multiply-adds in its second convolution and
//! two Gemms) the dense rows fall from 487k to 32k, which brings the whole statement from
//! k = 20 to k = 17. The price is `4·(G−1)` more fixed columns (the weights), which every
//! proof opens: verification gas grows by about one elliptic-curve multiplication per column,
//! so models whose dense layers are small (liveness-v1: 145k multiply-adds) keep the direct
//! layout (see [`crate::circuit::plan::PlanOptions`]).

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Column, ConstraintSystem, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use crate::circuit::expr::{fe, fpow};
use crate::circuit::layout::{CnnColumns, Columns};

/// Outputs per block when the batched layout is used.
pub const DEFAULT_WIDTH: usize = 16;

/// Configuration of the batched dense gates.
#[derive(Clone, Debug)]
pub struct DenseBatchConfig {
    /// Outputs per block (`G`).
    pub width: usize,
    /// Weight columns: `w[g][k]` (output `g`, input slot `k`); `w[0]` is the direct layout's
    /// weight columns.
    pub w: Vec<[Column<Fixed>; 4]>,
    /// First input row of a block.
    pub s_start: Selector,
    /// Other input rows.
    pub s_next: Selector,
    /// First output row (`g = y_0`).
    pub s_y_start: Selector,
    /// Other output rows (`g = g[-1]·β + y`).
    pub s_y_next: Selector,
}

impl DenseBatchConfig {
    /// Configures the gates for blocks of `width` outputs.
    ///
    /// # Side-effects
    /// Creates `4·(width − 1)` fixed columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns, width: usize) -> Self {
        let mut w = vec![cnn.w];
        for _ in 1..width {
            w.push([meta.fixed_column(), meta.fixed_column(), meta.fixed_column(), meta.fixed_column()]);
        }
        let (s_start, s_next, s_y_start, s_y_next) = (meta.selector(), meta.selector(), meta.selector(), meta.selector());
        meta.create_gate("batched dense: running sum of x·Wβ", |m| {
            let beta = m.query_challenge(cols.beta);
            let mut sum = Expression::Constant(Fr::from(0));
            for k in 0..4 {
                // Wβ_k = Σ_g β^(G−1−g)·w[g][k], in Horner form.
                let mut wb = m.query_fixed(w[0][k], Rotation::cur());
                for col in &w[1..] {
                    wb = wb * beta.clone() + m.query_fixed(col[k], Rotation::cur());
                }
                sum = sum + m.query_advice(cols.q[k], Rotation::cur()) * wb;
            }
            let h = m.query_advice(cols.h, Rotation::cur());
            let h_prev = m.query_advice(cols.h, Rotation::prev());
            let (st, nx) = (m.query_selector(s_start), m.query_selector(s_next));
            vec![st * (h.clone() - sum.clone()), nx * (h - h_prev - sum)]
        });
        meta.create_gate("batched dense: outputs at β", |m| {
            let beta = m.query_challenge(cols.beta);
            let y = m.query_advice(cols.v, Rotation::cur());
            let g = m.query_advice(cols.g, Rotation::cur());
            let g_prev = m.query_advice(cols.g, Rotation::prev());
            let (st, nx) = (m.query_selector(s_y_start), m.query_selector(s_y_next));
            vec![st * (g.clone() - y.clone()), nx * (g - g_prev * beta - y)]
        });
        Self { width, w, s_start, s_next, s_y_start, s_y_next }
    }
}

/// The phase-2 cells of one block: the running sums (`h`, one per input row) and the outputs
/// at β (`g`, one per output slot), from the input values `x` (integers), the weights
/// `weights[g][i]` and the claimed outputs.
///
/// Each row's four-term partial dot products are exact integers (|w·x| < 2^60 by the model's
/// bounds, four terms fit an `i128`), so the field work is one multiplication per output and row.
/// (Wrapping arithmetic only matters for a tampered test witness, which must not panic.)
pub fn block_phase2(x: &[i128], weights: &[Vec<i64>], claimed: &[Fr], width: usize, beta: Fr) -> (Vec<Fr>, Vec<Fr>) {
    let powers: Vec<Fr> = (0..width).map(|g| fpow(beta, (width - 1 - g) as u64)).collect();
    let rows = x.len().div_ceil(4).max(1);
    let mut h = Vec::with_capacity(rows);
    let mut acc = Fr::from(0);
    for r in 0..rows {
        let span = 4 * r..(4 * r + 4).min(x.len());
        for (g, ws) in weights.iter().enumerate() {
            let partial: i128 = ws[span.clone()].iter().zip(&x[span.clone()]).fold(0i128, |a, (&w, &xv)| a.wrapping_add((w as i128).wrapping_mul(xv)));
            if partial != 0 {
                acc += powers[g] * fe(partial);
            }
        }
        h.push(acc);
    }
    let mut gv = Vec::with_capacity(width);
    let mut at = Fr::from(0);
    for g in 0..width {
        let y = claimed.get(g).copied().unwrap_or(Fr::from(0));
        at = if g == 0 { y } else { at * beta + y };
        gv.push(at);
    }
    (h, gv)
}
