//! ReLU (and any `Max` with a constant): `y = max(x, c)` with a proven sign bit.
//!
//! `x` is a copy (equality constraint) of a proven cell — a convolution output, a dense-layer
//! output, a requantisation output — plus a constant offset (the bias a convolution output
//! cell does not include). With `d = x − c`, the bit `b = [d ≥ 0]` is proven exactly like the
//! comparator's ([`super::compare`]): `w = b·d + (1 − b)·(−1 − d)` is decomposed into `4R`
//! range-checked limbs of `L` bits, which a wrong `b` cannot satisfy because `w` would then
//! be a "negative" field element ≈ `p − |d|`. `R` is chosen per layer from the proven bound of
//! `d`, and `4RL ≤ 224`. The output is `y = c + b·d`, which is `max(x, c)`.
//!
//! | row | q0..q3 | v | b | u | c0 | c1 | gates |
//! |---|---|---|---|---|---|---|---|
//! | r | limbs 0..3 | `x₀` (copy) | `b` | `y` | `offset − c` | `c` | `s_relu[R]`, `s_limbs` |
//! | r+1..r+R−1 | limbs 4.. | | | | | | `s_limbs` |
//!
//! with `d = v + c0`. The gate `relu` (one per `R`) has three constraints:
//!
//! | # | constraint |
//! |---|---|
//! | 0 | `b·(1 − b) = 0` |
//! | 1 | `b·d + (1 − b)·(−1 − d) = Σ_k limb_k·2^(kL)` |
//! | 2 | `y = c + b·d` |
//!
//! The limbs are range-checked by [`super::range`] (`s_limbs` on each of the `R` rows, which
//! [`ReluConfig::place`] enables).
//!
//! # What this chip does not constrain
//!
//! Where `x₀` comes from: the statement copies it from the producing cell.

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector};
use halo2_proofs::poly::Rotation;

use super::range::RangeConfig;
use super::AssignedFr;
use crate::circuit::expr::{c, fe, two_pow};
use crate::circuit::layout::{CnnColumns, Columns};

/// Configuration of the ReLU gates.
#[derive(Clone, Debug)]
pub struct ReluConfig {
    cols: Columns,
    cnn: CnnColumns,
    /// One selector per limb-row count `R` in use.
    s_relu: Vec<(usize, Selector)>,
    /// Limb width in bits.
    limb_bits: u32,
}

impl ReluConfig {
    /// Configures one gate per row count in `rows` (each `R ≥ 1`). The limbs are range-checked
    /// by [`super::range`]'s `s_limbs`, which the statement enables on every row.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns, limb_bits: u32, rows: &[usize]) -> Self {
        let s_relu: Vec<(usize, Selector)> = rows.iter().map(|r| (*r, meta.selector())).collect();
        for &(r, sel) in &s_relu {
            meta.create_gate("relu", |m| {
                let s = m.query_selector(sel);
                let v = m.query_advice(cols.v, Rotation::cur());
                let b = m.query_advice(cols.b, Rotation::cur());
                let y = m.query_advice(cnn.u, Rotation::cur());
                let off = m.query_fixed(cnn.c[0], Rotation::cur());
                let konst = m.query_fixed(cnn.c[1], Rotation::cur());
                let one = c(Fr::from(1));
                let d = v + off;
                let w = b.clone() * d.clone() + (one.clone() - b.clone()) * (c(-Fr::from(1)) - d.clone());
                let mut limbs = c(Fr::from(0));
                for row in 0..r {
                    for (k, col) in cols.q.iter().enumerate() {
                        limbs = limbs + m.query_advice(*col, Rotation(row as i32)) * c(two_pow(limb_bits * (4 * row as u32 + k as u32)));
                    }
                }
                vec![s.clone() * b.clone() * (one - b.clone()), s.clone() * (w - limbs), s * (y - konst - b * d)]
            });
        }
        Self { cols: *cols, cnn: *cnn, s_relu, limb_bits }
    }

    /// The selector for `R` limb rows.
    fn selector(&self, rows: usize) -> Result<Selector, Error> {
        self.s_relu.iter().find(|(r, _)| *r == rows).map(|(_, s)| *s).ok_or(Error::Synthesis)
    }

    /// Places a ReLU of `R = rows` limb rows at `row`: its gate, its constants (the input's
    /// `offset` and the constant `konst`) and the range checks of its limbs.
    fn place(&self, region: &mut Region<'_, Fr>, range: &RangeConfig, row: usize, rows: usize, offset: i128, konst: i128) -> Result<(), Error> {
        self.selector(rows)?.enable(region, row)?;
        region.assign_fixed(self.cnn.c[0], row, fe(offset - konst));
        region.assign_fixed(self.cnn.c[1], row, fe(konst));
        range.enable_rows(region, row, rows)
    }

    /// [`Self::place`] and the cells for the input value `x₀` (the copied cell's value, the
    /// input being `x₀ + offset`): returns the output cell `y = max(x₀ + offset, konst)`.
    #[allow(clippy::too_many_arguments)] // the placement and the input of one row
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        range: &RangeConfig,
        row: usize,
        rows: usize,
        offset: i128,
        konst: i128,
        x0: Value<i128>,
    ) -> Result<AssignedFr<'v>, Error> {
        self.place(region, range, row, rows, offset, konst)?;
        self.assign_cells(region, row, rows, x0, x0.map(|x| x + offset - konst), konst)
    }

    /// The advice cells for input `x₀` and difference `d` (tests forge `d`).
    fn assign_cells<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        row: usize,
        rows: usize,
        x0: Value<i128>,
        d: Value<i128>,
        konst: i128,
    ) -> Result<AssignedFr<'v>, Error> {
        let cells = d.map(|d| relu_cells(d, konst, self.limb_bits, rows));
        region.assign_advice(self.cols.v, row, x0.map(fe));
        region.assign_advice(self.cols.b, row, cells.as_ref().map(|c| Fr::from(u64::from(c.0))));
        for k in 0..4 * rows {
            region.assign_advice(self.cols.q[k % 4], row + k / 4, cells.as_ref().map(|c| Fr::from(c.1[k])));
        }
        Ok(region.assign_advice(self.cnn.u, row, cells.map(|c| fe(c.2))))
    }
}

/// Native twin: the sign bit, the limbs of `w` and the output for `d = x − c`.
pub fn relu_cells(d: i128, konst: i128, limb_bits: u32, rows: usize) -> (bool, Vec<u64>, i128) {
    let (b, limbs) = super::compare::sign_limbs(d, limb_bits, rows);
    (b, limbs, if b { konst + d } else { konst })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, lookup, run, ChipTest, Failure};
    use halo2_proofs::circuit::Layouter;

    const L: u32 = 4;
    const ROW: usize = 2;

    /// A cell overwritten after the chip has assigned its rows.
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        /// `b` (and `y`) set to these values.
        B(i128),
        /// `y` set to this value.
        Y(i128),
        /// `q[k]` of limb row `r` set to this value.
        Q(usize, usize, i128),
    }

    /// `max(x₀ + offset, konst)` over `rows` limb rows at row 2.
    #[derive(Clone, Debug)]
    struct Relu {
        x0: i128,
        offset: i128,
        konst: i128,
        rows: usize,
        tampers: Vec<Tamper>,
    }

    impl ChipTest for Relu {
        type Config = (RangeConfig, ReluConfig);

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, cnn: &CnnColumns) -> Self::Config {
            (RangeConfig::configure(meta, cols, L, false), ReluConfig::configure(meta, cols, cnn, L, &[1, 2]))
        }

        fn load((range, _): &Self::Config, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
            range.load(layouter)
        }

        fn assign(&self, (range, relu): &Self::Config, cols: &Columns, cnn: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            relu.assign(region, range, ROW, self.rows, self.offset, self.konst, Value::known(self.x0))?;
            for t in &self.tampers {
                let (col, row, v) = match *t {
                    Tamper::B(v) => (cols.b, ROW, v),
                    Tamper::Y(v) => (cnn.u, ROW, v),
                    Tamper::Q(r, k, v) => (cols.q[k], ROW + r, v),
                };
                region.assign_advice(col, row, Value::known(fe(v)));
            }
            Ok(())
        }
    }

    fn relu(x0: i128, rows: usize, tampers: &[Tamper]) -> Vec<Failure> {
        run(6, Relu { x0, offset: 3, konst: 0, rows, tampers: tampers.to_vec() })
    }

    #[test]
    fn honest_relus_are_accepted() {
        for rows in [1, 2] {
            for x0 in [-1000, -4, -3, -2, 0, 5, 300] {
                assert_eq!(relu(x0, rows, &[]), vec![], "x0 = {x0}, R = {rows}");
            }
        }
        // Output values, with a non-zero constant: max(x₀ + 3, −7).
        let (b, _, y) = relu_cells(-20 + 3 + 7, -7, L, 1);
        assert_eq!((b, y), (false, -7));
        let (b, _, y) = relu_cells(20 + 3 + 7, -7, L, 1);
        assert_eq!((b, y), (true, 23));
    }

    #[test]
    fn a_non_boolean_sign_fails_constraint_0() {
        // b = 2 on d = 5 ≥ 0: w = 2d − (−1 − d) = 3d + 1 = 16 has valid limbs (0, 1) and
        // y = 2d = 10 satisfies constraint 2; only the boolean constraint objects.
        let x0 = 2;
        assert_eq!(relu(x0, 1, &[Tamper::B(2), Tamper::Y(10), Tamper::Q(0, 0, 0), Tamper::Q(0, 1, 1)]), vec![gate("relu", 0, ROW)]);
    }

    #[test]
    fn a_flipped_sign_fails_the_decomposition() {
        // d = 5 claimed negative, with the matching output y = 0: the limbs still hold w = 5.
        assert_eq!(relu(2, 1, &[Tamper::B(0), Tamper::Y(0)]), vec![gate("relu", 1, ROW)]);
        // d = −6 claimed non-negative, with y = d: same.
        assert_eq!(relu(-9, 2, &[Tamper::B(1), Tamper::Y(-6)]), vec![gate("relu", 1, ROW)]);
    }

    #[test]
    fn a_tampered_limb_fails_the_decomposition_and_an_out_of_range_limb_its_lookup() {
        // Second limb row of R = 2.
        assert_eq!(relu(300, 2, &[Tamper::Q(1, 2, 1)]), vec![gate("relu", 1, ROW)]);
        // d = 303 = 0xF + 16·0x2 + 256·1: limb 0 + 16 and limb 1 − 1 keep the sum; only the
        // lookup of q0 on the first row objects.
        assert_eq!(relu_cells(303, 0, L, 1).1, vec![15, 2, 1, 0]);
        assert_eq!(relu(300, 1, &[Tamper::Q(0, 0, 31), Tamper::Q(0, 1, 1)]), vec![lookup("limb", 0, ROW)]);
    }

    #[test]
    fn a_wrong_output_fails_constraint_2() {
        assert_eq!(relu(2, 1, &[Tamper::Y(6)]), vec![gate("relu", 2, ROW)]);
        assert_eq!(relu(-9, 1, &[Tamper::Y(-6)]), vec![gate("relu", 2, ROW)]);
    }
}
