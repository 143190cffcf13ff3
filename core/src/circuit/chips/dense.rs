//! Constant-weight linear layers over materialized values: `y = c + Σ_k w_k·x_k`, one dot
//! product per output, four terms per row.
//!
//! # Why this layout
//!
//! The convolution identity ([`super::conv`]) makes a layer cost per *input and output*
//! instead of per multiply-add, but it needs its source laid out as Horner chains and a
//! sliding-window structure. It is used for every layer that reads an enrollment input (the
//! first convolution of a CNN, where almost all the multiply-adds are: 1.2M for
//! liveness-v1). The later layers of a small CNN read a few thousand materialized values
//! (requantisation and ReLU outputs) and are cheap in absolute terms (liveness-v1: 147k
//! multiply-adds for the second convolution, 4k for the global pooling, 8 for the final
//! Gemm), so they use this plain layout: the inputs are copies of the producing cells
//! (equality constraints, no extra range checks), the weights sit in fixed columns, and the
//! running sum is in `v`. A random-linear-combination check would need the β-weighted
//! column sums `Σ_i β^i·W_ij` of the weight matrix — one multiply-add per weight in the
//! circuit again — so it does not pay off without the convolution structure.
//!
//! | row | q0..q3 | v | w0..w3 | c0 | selector | constraint of `dense dot product` |
//! |---|---|---|---|---|---|---|
//! | first of an output | `x` copies | `c + Σ w·q` | weights | `c` (bias) | `s_dot_start` | 0: `v = c0 + Σ_k w_k·q_k` |
//! | next | `x` copies | `v[-1] + Σ w·q` | weights | 0 | `s_dot_next` | 1: `v = v[-1] + c0 + Σ_k w_k·q_k` |
//!
//! The output is `v` on the output's last row.
//!
//! # What this chip does not constrain
//!
//! Where the inputs come from (the statement copies them from the producing cells). Slots
//! with weight 0 (the padding of a last row) are free.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::AssignedFr;
use crate::circuit::expr::fe;
use crate::circuit::layout::{CnnColumns, Columns};

/// Configuration of the dot-product gate.
#[derive(Clone, Debug)]
pub struct DenseConfig {
    cols: Columns,
    cnn: CnnColumns,
    /// First row of an output.
    s_dot_start: Selector,
    /// Continuation rows.
    s_dot_next: Selector,
}

impl DenseConfig {
    /// Configures the gate.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> Self {
        let s_dot_start = meta.selector();
        let s_dot_next = meta.selector();
        meta.create_gate("dense dot product", |m| {
            let mut sum: Expression<Fr> = m.query_fixed(cnn.c[0], Rotation::cur());
            for k in 0..4 {
                sum = sum + m.query_advice(cols.q[k], Rotation::cur()) * m.query_fixed(cnn.w[k], Rotation::cur());
            }
            let v = m.query_advice(cols.v, Rotation::cur());
            let v_prev = m.query_advice(cols.v, Rotation::prev());
            let (st, nx) = (m.query_selector(s_dot_start), m.query_selector(s_dot_next));
            vec![st * (v.clone() - sum.clone()), nx * (v - v_prev - sum)]
        });
        Self { cols: *cols, cnn: *cnn, s_dot_start, s_dot_next }
    }

    /// Rows of a dot product of `terms` terms (at least one).
    pub fn rows(terms: usize) -> usize {
        terms.div_ceil(4).max(1)
    }

    /// Places the dot product `constant + Σ_t weights[t]·x_t` from `first_row`: its gates, the
    /// bias and the weights (0 in unused slots).
    fn place(&self, region: &mut Region<'_, Fr>, first_row: usize, constant: i64, weights: impl Fn(usize) -> Option<i64>, terms: usize) -> Result<(), Error> {
        for r in 0..Self::rows(terms) {
            let row = first_row + r;
            if r == 0 { self.s_dot_start } else { self.s_dot_next }.enable(region, row)?;
            region.assign_fixed(self.cnn.c[0], row, if r == 0 { fe(constant as i128) } else { Fr::from(0) });
            for (k, col) in self.cnn.w.iter().enumerate() {
                region.assign_fixed(*col, row, fe(weights(4 * r + k).unwrap_or(0) as i128));
            }
        }
        Ok(())
    }

    /// [`Self::place`] and the cells for the input values `x`: the `q` cells (which the caller
    /// ties to the producing cells) and the running sums. Returns the output cell.
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        first_row: usize,
        constant: i64,
        weights: &[i64],
        x: Value<&[i128]>,
    ) -> Result<AssignedFr<'v>, Error> {
        self.place(region, first_row, constant, |t| weights.get(t).copied(), weights.len())?;
        let rows = Self::rows(weights.len());
        let mut out = None;
        for r in 0..rows {
            let row = first_row + r;
            for (k, col) in self.cols.q.iter().enumerate() {
                region.assign_advice(*col, row, x.map(|x| x.get(4 * r + k).map_or(Fr::from(0), |v| fe(*v))));
            }
            let sum = x.map(|x| {
                let end = (4 * r + 4).min(weights.len());
                fe(constant as i128 + weights[..end].iter().zip(x).map(|(w, x)| *w as i128 * x).sum::<i128>())
            });
            out = Some(region.assign_advice(self.cols.v, row, sum));
        }
        out.ok_or(Error::Synthesis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, run, ChipTest, Failure};

    const FIRST: usize = 1;
    /// Seven terms: two rows, the last slot of the second row unused.
    const WEIGHTS: [i64; 7] = [3, -1, 0, 7, 2, -5, 4];
    const X: [i128; 7] = [10, 20, 30, 40, -50, 60, 70];

    /// A cell changed after the chip has assigned its rows (row offsets from the first row).
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        /// `q[k]` plus one.
        Q(usize, usize),
        /// `v` plus one.
        V(usize),
    }

    #[derive(Clone, Debug)]
    struct Dot(Vec<Tamper>);

    impl ChipTest for Dot {
        type Config = DenseConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> DenseConfig {
            DenseConfig::configure(meta, cols, cnn)
        }

        fn assign(&self, cfg: &DenseConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let out = cfg.assign(region, FIRST, -9, &WEIGHTS, Value::known(&X[..]))?;
            out.value().assert_if_known(|v| v.evaluate() == fe(-9 + 30 - 20 + 280 - 100 - 300 + 280));
            for t in &self.0 {
                let (col, r) = match *t {
                    Tamper::Q(r, k) => (cols.q[k], r),
                    Tamper::V(r) => (cols.v, r),
                };
                let honest = match *t {
                    Tamper::Q(r, k) => X.get(4 * r + k).map_or(Fr::from(0), |v| fe(*v)),
                    Tamper::V(r) => {
                        let end = (4 * r + 4).min(7);
                        fe(-9 + WEIGHTS[..end].iter().zip(X).map(|(w, x)| *w as i128 * x).sum::<i128>())
                    }
                };
                region.assign_advice(col, FIRST + r, Value::known(honest + Fr::from(1)));
            }
            Ok(())
        }
    }

    fn dot(tampers: &[Tamper]) -> Vec<Failure> {
        run(5, Dot(tampers.to_vec()))
    }

    #[test]
    fn honest_dot_product_is_accepted() {
        assert_eq!(dot(&[]), vec![]);
        assert_eq!((DenseConfig::rows(0), DenseConfig::rows(4), DenseConfig::rows(7)), (1, 1, 2));
    }

    #[test]
    fn wrong_running_sums_fail() {
        assert_eq!(dot(&[Tamper::V(0)]), vec![gate("dense dot product", 0, FIRST), gate("dense dot product", 1, FIRST + 1)]);
        assert_eq!(dot(&[Tamper::V(1)]), vec![gate("dense dot product", 1, FIRST + 1)]);
    }

    #[test]
    fn wrong_inputs_fail_unless_their_weight_is_zero() {
        assert_eq!(dot(&[Tamper::Q(0, 3)]), vec![gate("dense dot product", 0, FIRST)]);
        assert_eq!(dot(&[Tamper::Q(1, 1)]), vec![gate("dense dot product", 1, FIRST + 1)]);
        // Weight 0 (term 2) and the unused slot of the last row: free.
        assert_eq!(dot(&[Tamper::Q(0, 2), Tamper::Q(1, 3)]), vec![]);
    }
}
