//! The comparator: a bit `b = [d ≥ 0]` for `d = f0 + f1·x + f2·y`, proved with range-checked
//! limbs.
//!
//! Operands `x`, `y` are copies (equality constraints) of cells elsewhere — a convolution
//! output, a square, a popcount or a public input — and `f0..f2` are per-row constants in
//! fixed columns, so one gate covers every rule: `x > 0` is `d = x − 1`, a coverage ratio
//! `num/den ≥ p/q` is `d = q·num − p·den`, a fragile-bit test is linear in two squares.
//!
//! The sign is proved by decomposing `w = b·d + (1 − b)·(−1 − d)` into `4R` limbs of `L` bits
//! over `R` rows (the range table). If `b` were wrong, `w` would be a "negative" field element
//! ≈ p − |d| and could not be written with `4RL ≤ 224` bits, so a valid decomposition proves
//! `b`. `R` is chosen per comparator from the proven bound of `d`.
//!
//! Soundness does not depend on `R` (a wrong `b` needs ≈ 254 bits whatever `R`); the bound only
//! has to be large enough for every honest `d`, and a smaller `d` is fewer rows. So the planner
//! writes each rule with the smallest `d` it can: a comparison with a constant
//! `den·q ≥ num·M` becomes `q − ⌈num·M/den⌉ ≥ 0` (and `den·q ≤ num·M` becomes
//! `⌊num·M/den⌋ − q ≥ 0`), which is the same test for an integer `q` and drops the factor
//! `den` from `d`: open-iris's fragile radius tests (den = 10^8 and 1,600) fit 3 rows instead
//! of 4.
//!
//! | row | q0..q3 | v | b | g | g2 | f0..f2 | gates |
//! |---|---|---|---|---|---|---|---|
//! | r | limbs 0..3 | `d` | `b` | x | y | `f0..f2` | `comparator value`, `bit`, `sign decomposition` (`R`), `s_limbs` |
//! | r+1..r+R−1 | limbs 4.. | | | | | | `s_limbs` |
//!
//! | gate | constraint |
//! |---|---|
//! | `comparator value` (`s_value`) | `v = f0 + f1·g + f2·g2` |
//! | `bit` (`s_bit`) | `b·(1 − b) = 0` |
//! | `sign decomposition` (`s_sign[R]`, one gate per `R`) | `b·v + (1 − b)·(−1 − v) = Σ_k limb_k·2^(kL)` |
//!
//! `q`, `v`, `b` are phase-1 cells ([`CompareConfig::assign`]); the operand copies `g`, `g2`
//! are phase-2 cells ([`CompareConfig::assign_operands`]) because some operands (a popcount)
//! are.
//!
//! # What this chip does not constrain
//!
//! Where `x` and `y` come from (the statement copies them from proven cells or binds them to
//! public inputs), and what `b` is used for (the statement pins it to 1 where a rule must
//! hold).

use halo2_proofs::circuit::{Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_proofs::poly::Rotation;

use super::range::RangeConfig;
use super::AssignedFr;
use crate::circuit::expr::{c, fe, two_pow};
use crate::circuit::layout::Columns;

/// Configuration of the comparator gates.
#[derive(Clone, Debug)]
pub struct CompareConfig {
    cols: Columns,
    /// `v = f0 + f1·g + f2·g2`.
    s_value: Selector,
    /// `b ∈ {0, 1}`.
    s_bit: Selector,
    /// Sign decomposition over `R` rows, one selector per `R` in use.
    s_sign: Vec<(usize, Selector)>,
    /// Limb width in bits.
    limb_bits: u32,
}

impl CompareConfig {
    /// Configures the gates for the row counts `rows` (each `R ≥ 1`).
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, limb_bits: u32, rows: &[usize]) -> Self {
        let s_value = meta.selector();
        let s_bit = meta.selector();
        meta.create_gate("comparator value", |m| {
            let s = m.query_selector(s_value);
            let v = m.query_advice(cols.v, Rotation::cur());
            let x = m.query_advice(cols.g, Rotation::cur());
            let y = m.query_advice(cols.g2, Rotation::cur());
            let f: Vec<Expression<Fr>> = cols.f.iter().map(|col| m.query_fixed(*col, Rotation::cur())).collect();
            vec![s * (v - f[0].clone() - f[1].clone() * x - f[2].clone() * y)]
        });
        meta.create_gate("bit", |m| {
            let s = m.query_selector(s_bit);
            let b = m.query_advice(cols.b, Rotation::cur());
            vec![s * b.clone() * (c(Fr::from(1)) - b)]
        });
        let s_sign: Vec<(usize, Selector)> = rows.iter().map(|r| (*r, meta.selector())).collect();
        for (r, sel) in &s_sign {
            let (r, sel) = (*r, *sel);
            meta.create_gate("sign decomposition", |m| {
                let s = m.query_selector(sel);
                let v = m.query_advice(cols.v, Rotation::cur());
                let b = m.query_advice(cols.b, Rotation::cur());
                let one = c(Fr::from(1));
                let w = b.clone() * v.clone() + (one.clone() - b) * (c(-Fr::from(1)) - v);
                let mut limbs = c(Fr::from(0));
                for row in 0..r {
                    for (k, col) in cols.q.iter().enumerate() {
                        let shift = two_pow(limb_bits * (4 * row as u32 + k as u32));
                        limbs = limbs + m.query_advice(*col, Rotation(row as i32)) * c(shift);
                    }
                }
                vec![s * (w - limbs)]
            });
        }
        Self { cols: *cols, s_value, s_bit, s_sign, limb_bits }
    }

    /// The sign selector for `R` rows.
    fn sign_selector(&self, rows: usize) -> Result<Selector, Error> {
        self.s_sign.iter().find(|(r, _)| *r == rows).map(|(_, s)| *s).ok_or(Error::Synthesis)
    }

    /// Enables only the `bit` gate on `row` (the statement's non-zero rows, where it is
    /// redundant but part of the keys).
    pub fn enable_bit(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_bit.enable(region, row)
    }

    /// Places a comparator of `R = rows` limb rows at `row`: its gates, its coefficients `f`
    /// and the range checks of its limbs.
    fn place(&self, region: &mut Region<'_, Fr>, range: &RangeConfig, row: usize, rows: usize, f: &[i128; 3]) -> Result<(), Error> {
        self.s_value.enable(region, row)?;
        self.s_bit.enable(region, row)?;
        self.sign_selector(rows)?.enable(region, row)?;
        range.enable_rows(region, row, rows)?;
        for (col, v) in self.cols.f.iter().zip(f) {
            region.assign_fixed(*col, row, fe(*v));
        }
        Ok(())
    }

    /// [`Self::place`] and the phase-1 cells for operand values `x`, `y`: returns the cell of
    /// `b = [f0 + f1·x + f2·y ≥ 0]`. The operand cells follow with [`Self::assign_operands`].
    #[allow(clippy::too_many_arguments)] // the placement and the operands of one row
    pub fn assign<'v>(
        &self,
        region: &mut Region<'_, Fr>,
        range: &RangeConfig,
        row: usize,
        rows: usize,
        f: &[i128; 3],
        x: Value<i128>,
        y: Value<i128>,
    ) -> Result<AssignedFr<'v>, Error> {
        self.place(region, range, row, rows, f)?;
        let d = x.zip(y).map(|(x, y)| f[0] + f[1] * x + f[2] * y);
        Ok(self.assign_sign(region, row, rows, d))
    }

    /// `v = d`, its sign bit and limbs (tests forge `d`).
    fn assign_sign<'v>(&self, region: &mut Region<'_, Fr>, row: usize, rows: usize, d: Value<i128>) -> AssignedFr<'v> {
        let cells = d.map(|d| sign_limbs(d, self.limb_bits, rows));
        region.assign_advice(self.cols.v, row, d.map(fe));
        for k in 0..4 * rows {
            region.assign_advice(self.cols.q[k % 4], row + k / 4, cells.as_ref().map(|c| Fr::from(c.1[k])));
        }
        region.assign_advice(self.cols.b, row, cells.map(|c| Fr::from(u64::from(c.0))))
    }

    /// The operand copies `g = x`, `g2 = y` of the comparator at `row` (phase 2); returns
    /// their cells for the caller's copy constraints.
    pub fn assign_operands<'v>(&self, region: &mut Region<'_, Fr>, row: usize, x: Value<Fr>, y: Value<Fr>) -> [AssignedFr<'v>; 2] {
        [region.assign_advice(self.cols.g, row, x), region.assign_advice(self.cols.g2, row, y)]
    }
}

/// Rows needed to decompose `w < 2^bits` into `4·L`-bit rows.
pub fn rows_for_bits(bits: u32, limb_bits: u32) -> usize {
    (bits.max(1) as usize).div_ceil(4 * limb_bits as usize)
}

/// Native twin: the limbs of `w = b·d + (1−b)(−1−d)` (little-endian, `L` bits each).
pub fn sign_limbs(d: i128, limb_bits: u32, rows: usize) -> (bool, Vec<u64>) {
    let b = d >= 0;
    let w: u128 = if b { d as u128 } else { (-1 - d) as u128 };
    let mask = (1u128 << limb_bits) - 1;
    let limbs = (0..4 * rows).map(|k| if (k as u32) * limb_bits >= 128 { 0 } else { ((w >> (k as u32 * limb_bits)) & mask) as u64 }).collect();
    (b, limbs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{gate, lookup, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;
    use halo2_proofs::circuit::Layouter;

    const L: u32 = 4;
    const ROW: usize = 1;

    /// A cell overwritten after the chip has assigned its rows.
    #[derive(Clone, Copy, Debug)]
    enum Tamper {
        /// Phase-1 cells computed for this `d` instead (operands unchanged).
        D(i128),
        /// `b` set to this value.
        B(i128),
        /// `q[k]` of limb row `r` set to this value.
        Q(usize, usize, i128),
        /// Operand `g` set to this value.
        G(i128),
    }

    /// `[f0 + f1·x + f2·y ≥ 0]` over `rows` limb rows at row 1.
    #[derive(Clone, Debug)]
    struct Compare {
        f: [i128; 3],
        x: i128,
        y: i128,
        rows: usize,
        tampers: Vec<Tamper>,
    }

    impl ChipTest for Compare {
        type Config = (RangeConfig, CompareConfig);

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> Self::Config {
            (RangeConfig::configure(meta, cols, L, false), CompareConfig::configure(meta, cols, L, &[1, 2]))
        }

        fn load((range, _): &Self::Config, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
            range.load(layouter)
        }

        fn assign(&self, (range, cmp): &Self::Config, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let (x, y) = (Value::known(self.x), Value::known(self.y));
            cmp.assign(region, range, ROW, self.rows, &self.f, x, y)?;
            cmp.assign_operands(region, ROW, x.map(fe), y.map(fe));
            for t in &self.tampers {
                match *t {
                    Tamper::D(d) => {
                        cmp.assign_sign(region, ROW, self.rows, Value::known(d));
                    }
                    Tamper::B(v) => {
                        region.assign_advice(cols.b, ROW, Value::known(fe(v)));
                    }
                    Tamper::Q(r, k, v) => {
                        region.assign_advice(cols.q[k], ROW + r, Value::known(fe(v)));
                    }
                    Tamper::G(v) => {
                        region.assign_advice(cols.g, ROW, Value::known(fe(v)));
                    }
                }
            }
            Ok(())
        }
    }

    /// `q·num − p·den ≥ 0` for `num/den ≥ p/q = 3/4`, as the coverage rule writes it.
    fn ratio(num: i128, den: i128, rows: usize, tampers: &[Tamper]) -> Vec<Failure> {
        run(6, Compare { f: [0, 4, -3], x: num, y: den, rows, tampers: tampers.to_vec() })
    }

    #[test]
    fn honest_comparisons_are_accepted() {
        for rows in [1, 2] {
            for (num, den) in [(3, 4), (2, 4), (75, 100), (74, 100), (0, 0), (0, 1000)] {
                assert_eq!(ratio(num, den, rows, &[]), vec![], "{num}/{den}, R = {rows}");
            }
        }
        assert_eq!(sign_limbs(-1, L, 1), (false, vec![0, 0, 0, 0]));
        assert_eq!(sign_limbs(0x1234, L, 1), (true, vec![4, 3, 2, 1]));
    }

    #[test]
    fn a_value_off_its_operands_fails_the_value_gate() {
        // The phase-1 cells of d + 1 (consistent limbs) over the honest operands.
        assert_eq!(ratio(74, 100, 1, &[Tamper::D(4 * 74 - 300 + 1)]), vec![gate("comparator value", 0, ROW)]);
        // An operand changed after the fact.
        assert_eq!(ratio(74, 100, 1, &[Tamper::G(75)]), vec![gate("comparator value", 0, ROW)]);
    }

    #[test]
    fn a_non_boolean_bit_fails_the_bit_gate() {
        // d = 4 ≥ 0 with b = 2: w = 2d − (−1 − d) = 3d + 1 = 13 = limb 13, so the decomposition
        // holds and only the boolean constraint objects.
        assert_eq!(ratio(76, 100, 1, &[Tamper::B(2), Tamper::Q(0, 0, 13)]), vec![gate("bit", 0, ROW)]);
    }

    #[test]
    fn a_flipped_bit_fails_the_sign_decomposition() {
        // 74/100 < 3/4 claimed ≥ (the fragile rule's and the coverage rule's forgery).
        assert_eq!(ratio(74, 100, 1, &[Tamper::B(1)]), vec![gate("sign decomposition", 0, ROW)]);
        assert_eq!(ratio(75, 100, 2, &[Tamper::B(0)]), vec![gate("sign decomposition", 0, ROW)]);
        // A limb on the second row of R = 2.
        assert_eq!(ratio(900, 100, 2, &[Tamper::Q(1, 0, 1)]), vec![gate("sign decomposition", 0, ROW)]);
    }

    #[test]
    fn a_limb_out_of_range_fails_its_lookup() {
        // d = 4·900 − 300 = 3300 = 0xCE4: limb 0 + 16 and limb 1 − 1 keep the sum.
        assert_eq!(sign_limbs(3300, L, 1).1, vec![4, 14, 12, 0]);
        assert_eq!(ratio(900, 100, 1, &[Tamper::Q(0, 0, 20), Tamper::Q(0, 1, 13)]), vec![lookup("limb", 0, ROW)]);
    }
}
