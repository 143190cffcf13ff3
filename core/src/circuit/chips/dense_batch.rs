//! Batched constant-weight linear layers: `width` outputs over one shared input list, checked
//! together by one random linear combination (Freivalds).
//!
//! A block holds up to `G = width` outputs `y_g = Σ_i W[g][i]·x_i` (the bias is a
//! [`crate::circuit::plan::cnn::ValueRef`] offset) whose inputs are the same cells (a dense Gemm: every output
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
//! | gate | # | selector | constraint |
//! |---|---|---|---|
//! | `batched dense: running sum of x·Wβ` | 0 | `s_start` | `h = Σ_k q_k·Wβ_k` |
//! | | 1 | `s_next` | `h = h[-1] + Σ_k q_k·Wβ_k` |
//! | `batched dense: outputs at β` | 0 | `s_y_start` | `g = v` |
//! | | 1 | `s_y_next` | `g = g[-1]·β + v` |
//!
//! `q` and `v` are phase-1 cells ([`DenseBatchConfig::assign`]), `h` and `g` phase-2 cells
//! ([`DenseBatchConfig::assign_at_beta`], which also makes the closing copy).
//!
//! # What this chip does not constrain
//!
//! Where the inputs come from (the statement copies them from the producing cells).
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

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Column, ConstraintSystem, Error, Expression, Fixed, Selector};
use halo2_proofs::poly::Rotation;

use super::AssignedFr;
use crate::circuit::expr::{fe, fpow};
use crate::circuit::layout::{CnnColumns, Columns};

/// Outputs per block when the batched layout is used.
pub const DEFAULT_WIDTH: usize = 16;

/// Configuration of the batched dense gates.
#[derive(Clone, Debug)]
pub struct DenseBatchConfig {
    cols: Columns,
    /// Outputs per block (`G`).
    width: usize,
    /// Weight columns: `w[g][k]` (output `g`, input slot `k`); `w[0]` is the direct layout's
    /// weight columns.
    w: Vec<[Column<Fixed>; 4]>,
    /// First input row of a block.
    s_start: Selector,
    /// Other input rows.
    s_next: Selector,
    /// First output row (`g = y_0`).
    s_y_start: Selector,
    /// Other output rows (`g = g[-1]·β + y`).
    s_y_next: Selector,
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
        Self { cols: *cols, width, w, s_start, s_next, s_y_start, s_y_next }
    }

    /// Outputs per block (`G`).
    pub fn width(&self) -> usize {
        self.width
    }

    /// Places a block from `first_row` over `inputs` inputs: its gates and the weights
    /// `weights[g][i]` (at most `G` outputs; missing weights are 0).
    fn place(&self, region: &mut Region<'_, Fr>, first_row: usize, weights: &[Vec<i64>], inputs: usize) -> Result<(), Error> {
        if weights.len() > self.width {
            return Err(Error::Synthesis);
        }
        for r in 0..inputs.div_ceil(4).max(1) {
            let row = first_row + r;
            if r == 0 { self.s_start } else { self.s_next }.enable(region, row)?;
            for (g, ws) in weights.iter().enumerate() {
                for k in 0..4 {
                    let w = ws.get(4 * r + k).copied().unwrap_or(0);
                    region.assign_fixed(self.w[g][k], row, fe(w as i128));
                }
            }
        }
        for g in 0..self.width {
            if g == 0 { self.s_y_start } else { self.s_y_next }.enable(region, first_row + g)?;
        }
        Ok(())
    }

    /// [`Self::place`] and the phase-1 cells: the inputs `x` in `q` (which the caller ties to
    /// the producing cells) and the claimed outputs `y` in `v` (one per slot, 0 for unused
    /// slots). Returns the output cells.
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        weights: &[Vec<i64>],
        x: Value<&[i128]>,
        y: Value<&[Fr]>,
        inputs: usize,
    ) -> Result<Vec<AssignedFr<'v>>, Error> {
        self.place(region, first_row, weights, inputs)?;
        for t in 0..4 * inputs.div_ceil(4).max(1) {
            region.assign_advice(self.cols.q[t % 4], first_row + t / 4, x.map(|x| x.get(t).map_or(Fr::from(0), |v| fe(*v))));
        }
        Ok((0..self.width).map(|g| region.assign_advice(self.cols.v, first_row + g, y.map(|y| y.get(g).copied().unwrap_or(Fr::from(0))))).collect())
    }

    /// The phase-2 cells of a block assigned by [`Self::assign`] (same arguments), and the copy
    /// that closes the check: the running sum on the last input row equals the outputs at β.
    #[allow(clippy::too_many_arguments)] // the block's arguments and β
    pub fn assign_at_beta(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        weights: &[Vec<i64>],
        x: Value<&[i128]>,
        y: Value<&[Fr]>,
        inputs: usize,
        beta: Value<Fr>,
    ) -> Result<(), Error> {
        let cells = x.zip(y).zip(beta).map(|((x, y), b)| block_phase2(x, weights, y, self.width, b));
        let rows = inputs.div_ceil(4).max(1);
        let mut h_last = None;
        for r in 0..rows {
            h_last = Some(region.assign_advice(self.cols.h, first_row + r, cells.as_ref().map(|c| c.0[r])));
        }
        let mut g_last = None;
        for g in 0..self.width {
            g_last = Some(region.assign_advice(self.cols.g, first_row + g, cells.as_ref().map(|c| c.1[g])));
        }
        match (h_last, g_last) {
            (Some(h), Some(g)) => {
                region.constrain_equal(h.cell(), g.cell());
                Ok(())
            }
            _ => Err(Error::Synthesis),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};

    const FIRST: usize = 1;
    const G: usize = 3;
    const X: [i128; 6] = [5, -2, 7, 1, 3, 4];

    fn weights() -> Vec<Vec<i64>> {
        vec![vec![1, 2, 3, 4, 5, 6], vec![-1, 0, 2, 0, -3, 1], vec![0, 0, 0, 0, 0, 9]]
    }

    fn honest_y() -> Vec<Fr> {
        weights().iter().map(|ws| fe(ws.iter().zip(X).map(|(w, x)| *w as i128 * x).sum())).collect()
    }

    /// A change to the block (row offsets from the first row).
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        /// Output `g` claimed `+ 1`, with every phase-2 cell computed from the claim.
        Forge(usize),
        /// `q[k]` plus one after assignment.
        Q(usize, usize),
        /// `h` plus one after assignment.
        H(usize),
        /// `g` plus one after assignment.
        G(usize),
        /// `v` plus one after assignment.
        V(usize),
    }

    /// A block of three outputs over six inputs (two input rows, three output rows) at row 1.
    #[derive(Clone, Debug)]
    struct Block(Vec<Tamper>);

    impl ChipTest for Block {
        type Config = DenseBatchConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> DenseBatchConfig {
            DenseBatchConfig::configure(meta, cols, cnn, G)
        }

        fn assign(&self, cfg: &DenseBatchConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let mut y = honest_y();
            for t in &self.0 {
                if let Tamper::Forge(g) = *t {
                    y[g] += Fr::from(1);
                }
            }
            let (x, yv) = (Value::known(&X[..]), Value::known(&y[..]));
            cfg.assign(region, FIRST, &weights(), x, yv, X.len())?;
            region.next_phase();
            let beta = region.get_challenge(cols.beta);
            cfg.assign_at_beta(region, FIRST, &weights(), x, yv, X.len(), beta)?;
            let phase2 = beta.map(|b| block_phase2(&X, &weights(), &y, G, b));
            let one = Fr::from(1);
            for t in &self.0 {
                match *t {
                    Tamper::Forge(_) => {}
                    Tamper::Q(r, k) => {
                        region.assign_advice(cols.q[k], FIRST + r, Value::known(fe(X[4 * r + k]) + one));
                    }
                    Tamper::V(g) => {
                        region.assign_advice(cols.v, FIRST + g, Value::known(y[g] + one));
                    }
                    Tamper::H(r) => {
                        region.assign_advice(cols.h, FIRST + r, phase2.as_ref().map(|p| p.0[r] + one));
                    }
                    Tamper::G(g) => {
                        region.assign_advice(cols.g, FIRST + g, phase2.as_ref().map(|p| p.1[g] + one));
                    }
                }
            }
            Ok(())
        }
    }

    fn block(tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Block(tampers.to_vec()))
    }

    const SUM: &str = "batched dense: running sum of x·Wβ";
    const OUT: &str = "batched dense: outputs at β";

    #[test]
    fn honest_block_is_accepted() {
        assert_eq!(block(&[]), vec![]);
    }

    #[test]
    fn a_wrong_output_with_consistent_cells_fails_only_the_closing_copy() {
        // Freivalds: the claimed outputs at β no longer equal the running sum.
        assert_eq!(block(&[Tamper::Forge(1)]), vec![Failure::Copy(FIRST + 1), Failure::Copy(FIRST + 2)]);
    }

    #[test]
    fn running_sum_constraints() {
        assert_eq!(block(&[Tamper::Q(0, 2)]), vec![gate(SUM, 0, FIRST)]);
        assert_eq!(block(&[Tamper::Q(1, 1)]), vec![gate(SUM, 1, FIRST + 1)]);
        assert_eq!(block(&[Tamper::H(0)]), vec![gate(SUM, 0, FIRST), gate(SUM, 1, FIRST + 1)]);
    }

    #[test]
    fn outputs_at_beta_constraints() {
        assert_eq!(block(&[Tamper::V(0)]), vec![gate(OUT, 0, FIRST)]);
        assert_eq!(block(&[Tamper::V(2)]), vec![gate(OUT, 1, FIRST + 2)]);
        assert_eq!(block(&[Tamper::G(0)]), vec![gate(OUT, 0, FIRST), gate(OUT, 1, FIRST + 1)]);
    }
}
