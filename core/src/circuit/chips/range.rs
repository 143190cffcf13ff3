//! Range checks: every `q` cell on a selected row is an `L`-bit limb (`L` = 8 for real
//! images, 4 for the small test models).
//!
//! Two table layouts, chosen per model by [`RangeConfig::paired_for`]:
//!
//! - **paired** (large circuits): one lookup checks the pair `(q0, q1)` and another `(q2, q3)`
//!   against a table of all `2^L × 2^L` pairs, so a row checks four limbs with two lookup
//!   arguments. A single-column table of `2^(2L)` values could not tell `q0` from `q1`
//!   (`q0 + 2^L·q1` can be in range with both limbs out of range), which is why the table holds
//!   pairs. The table has `2^(2L)` rows (65,536 for bytes), which is free once the circuit has
//!   that many rows anyway (world-v3 has 124,865).
//! - **single** (small circuits): four lookups, one per `q` column, into a table of the `2^L`
//!   limb values. Twice the lookup arguments, but the table no longer sets a floor of
//!   `2^(2L)` rows on the circuit: a 32×256 image proves at k = 15 instead of k = 17.
//!
//! | row | q0 | q1 | q2 | q3 | selector | lookups (paired) | lookups (single) |
//! |---|---|---|---|---|---|---|---|
//! | r | limb | limb | limb | limb | `s_limbs` | `limb pair` 0: `(q0, q1)`, 1: `(q2, q3)` | `limb` 0..3: `qk` |
//!
//! The lookups are the only constraints: on a row without `s_limbs` the `q` cells are free.
//! Which cells are limbs (and what they add up to) is the business of the chips that enable
//! the check on their rows ([`super::compare`], [`super::relu`], [`super::requant`], the pixel
//! rows of the statement).

use halo2_proofs::circuit::{Layouter, Region, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use crate::circuit::layout::Columns;

/// Configuration of the limb range check.
#[derive(Clone, Debug)]
pub struct RangeConfig {
    cols: Columns,
    /// Enables the lookups on a row.
    s_limbs: Selector,
    /// Table columns: limb pairs `(hi, lo)` (paired) or one column of limbs (single).
    table: Vec<TableColumn>,
    /// Limb width `L` in bits.
    limb_bits: u32,
    /// Pair table (two lookups per row) or single-limb table (four lookups per row).
    paired: bool,
}

impl RangeConfig {
    /// Configures the lookups on the shared `q` columns.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, limb_bits: u32, paired: bool) -> Self {
        let s_limbs = meta.complex_selector();
        if paired {
            let table = vec![meta.lookup_table_column(), meta.lookup_table_column()];
            for pair in [[cols.q[0], cols.q[1]], [cols.q[2], cols.q[3]]] {
                meta.lookup("limb pair", |m| {
                    let s = m.query_selector(s_limbs);
                    vec![(s.clone() * m.query_advice(pair[0], Rotation::cur()), table[0]), (s * m.query_advice(pair[1], Rotation::cur()), table[1])]
                });
            }
            Self { cols: *cols, s_limbs, table, limb_bits, paired }
        } else {
            let table = vec![meta.lookup_table_column()];
            for q in cols.q {
                meta.lookup("limb", |m| {
                    let s = m.query_selector(s_limbs);
                    vec![(s * m.query_advice(q, Rotation::cur()), table[0])]
                });
            }
            Self { cols: *cols, s_limbs, table, limb_bits, paired }
        }
    }

    /// Limb width `L` in bits.
    pub fn limb_bits(&self) -> u32 {
        self.limb_bits
    }

    /// Range-checks the four `q` cells of `row`.
    pub fn enable(&self, region: &mut Region<'_, Fr>, row: usize) -> Result<(), Error> {
        self.s_limbs.enable(region, row)
    }

    /// Range-checks the four `q` cells of each of `rows` rows from `row`.
    pub fn enable_rows(&self, region: &mut Region<'_, Fr>, row: usize, rows: usize) -> Result<(), Error> {
        (row..row + rows).try_for_each(|r| self.enable(region, r))
    }

    /// Places four limbs in the `q` cells of `row` and range-checks them.
    pub fn assign(&self, region: &mut Region<'_, Fr>, row: usize, limbs: [Value<Fr>; 4]) -> Result<(), Error> {
        self.enable(region, row)?;
        for (col, limb) in self.cols.q.iter().zip(limbs) {
            region.assign_advice(*col, row, limb);
        }
        Ok(())
    }

    /// Loads the table.
    pub fn load(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        let n = 1usize << self.limb_bits;
        layouter.assign_table(
            || "limbs",
            |mut t| {
                if self.paired {
                    for i in 0..n * n {
                        t.assign_cell(|| "hi", self.table[0], i, || Value::known(Fr::from((i / n) as u64)))?;
                        t.assign_cell(|| "lo", self.table[1], i, || Value::known(Fr::from((i % n) as u64)))?;
                    }
                } else {
                    for i in 0..n {
                        t.assign_cell(|| "limb", self.table[0], i, || Value::known(Fr::from(i as u64)))?;
                    }
                }
                Ok(())
            },
        )
    }

    /// Rows the table occupies (the circuit needs `2^k` above this).
    pub fn table_rows(limb_bits: u32, paired: bool) -> usize {
        if paired {
            1usize << (2 * limb_bits)
        } else {
            1usize << limb_bits
        }
    }

    /// Lookup arguments of a layout.
    pub fn lookups(paired: bool) -> usize {
        if paired {
            2
        } else {
            4
        }
    }

    /// The layout for a circuit whose other regions need `rows` rows: paired when the pair
    /// table does not make the circuit larger (fewer lookup arguments), single otherwise.
    pub fn paired_for(rows: usize, limb_bits: u32) -> bool {
        super::table_is_free(rows, Self::table_rows(limb_bits, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::circuit::chips::testing::{lookup, run, ChipTest, Failure};
    use crate::circuit::layout::CnnColumns;
    use halo2_proofs::plonk::ConstraintSystem;

    const L: u32 = 4;

    /// Limbs on row 1, range-checked (or not), with the given table layout.
    #[derive(Clone, Debug)]
    struct Limbs<const PAIRED: bool> {
        limbs: [u64; 4],
        checked: bool,
    }

    impl<const PAIRED: bool> ChipTest for Limbs<PAIRED> {
        type Config = RangeConfig;

        fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, _: &CnnColumns) -> RangeConfig {
            RangeConfig::configure(meta, cols, L, PAIRED)
        }

        fn load(cfg: &RangeConfig, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
            cfg.load(layouter)
        }

        fn assign(&self, cfg: &RangeConfig, cols: &Columns, _: &CnnColumns, region: &mut Region<'_, Fr>) -> Result<(), Error> {
            let limbs = self.limbs.map(|l| Value::known(Fr::from(l)));
            if self.checked {
                cfg.assign(region, 1, limbs)
            } else {
                for (k, l) in limbs.into_iter().enumerate() {
                    region.assign_advice(cols.q[k], 1, l);
                }
                Ok(())
            }
        }
    }

    fn single(limbs: [u64; 4]) -> Vec<Failure> {
        run(9, Limbs::<false> { limbs, checked: true })
    }

    fn paired(limbs: [u64; 4]) -> Vec<Failure> {
        run(9, Limbs::<true> { limbs, checked: true })
    }

    #[test]
    fn limbs_in_range_are_accepted() {
        for limbs in [[0, 0, 0, 0], [15, 15, 15, 15], [0, 15, 7, 3]] {
            assert_eq!(single(limbs), vec![], "{limbs:?}");
            assert_eq!(paired(limbs), vec![], "{limbs:?}");
        }
    }

    #[test]
    fn a_limb_out_of_range_fails_its_own_lookup() {
        for k in 0..4 {
            let mut limbs = [1, 2, 3, 4];
            limbs[k] = 16;
            assert_eq!(single(limbs), vec![lookup("limb", k, 1)], "single, q{k}");
            assert_eq!(paired(limbs), vec![lookup("limb pair", k / 2, 1)], "paired, q{k}");
        }
    }

    #[test]
    fn the_pair_table_tells_the_two_limbs_apart() {
        // (q0, q1) = (16, 0) and (0, 16): 16·q0 + q1 and q0 + 16·q1 are both below 2^(2L),
        // which a one-column table of 2^(2L) values would accept; the pair table does not.
        assert_eq!(paired([16, 0, 0, 0]), vec![lookup("limb pair", 0, 1)]);
        assert_eq!(paired([0, 0, 0, 16]), vec![lookup("limb pair", 1, 1)]);
    }

    #[test]
    fn rows_without_the_selector_are_not_checked() {
        assert_eq!(run(9, Limbs::<false> { limbs: [99, 0, 0, 0], checked: false }), vec![]);
    }

    #[test]
    fn table_sizes() {
        assert_eq!((RangeConfig::table_rows(4, true), RangeConfig::table_rows(4, false)), (256, 16));
        assert_eq!((RangeConfig::lookups(true), RangeConfig::lookups(false)), (2, 4));
    }
}
