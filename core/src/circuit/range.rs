//! Range checks: every `q` cell on a selected row is an `L`-bit limb (`L` = 8 for real
//! images, 4 for the small test models).
//!
//! One lookup checks the pair `(q0, q1)` and another `(q2, q3)` against a table of all
//! `2^L × 2^L` pairs, so a row checks four limbs with two lookup arguments. A single-column
//! table of `2^(2L)` values could not tell `q0` from `q1` (`q0 + 2^L·q1` can be in range with
//! both limbs out of range), which is why the table holds pairs.
//!
//! | row | q0 | q1 | q2 | q3 | s_limbs |
//! |---|---|---|---|---|---|
//! | r | limb | limb | limb | limb | 1 |

use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use super::layout::Columns;

/// Configuration of the limb range check.
#[derive(Clone, Debug)]
pub struct RangeConfig {
    /// Enables the lookups on a row.
    pub s_limbs: Selector,
    /// Table of limb pairs.
    pub table: [TableColumn; 2],
    /// Limb width `L` in bits.
    pub limb_bits: u32,
}

impl RangeConfig {
    /// Configures the two lookups.
    pub fn configure(meta: &mut ConstraintSystem<Fr>, cols: &Columns, limb_bits: u32) -> Self {
        let s_limbs = meta.complex_selector();
        let table = [meta.lookup_table_column(), meta.lookup_table_column()];
        for pair in [[cols.q[0], cols.q[1]], [cols.q[2], cols.q[3]]] {
            meta.lookup("limb pair", |m| {
                let s = m.query_selector(s_limbs);
                vec![(s.clone() * m.query_advice(pair[0], Rotation::cur()), table[0]), (s * m.query_advice(pair[1], Rotation::cur()), table[1])]
            });
        }
        Self { s_limbs, table, limb_bits }
    }

    /// Loads the `2^(2L)` pairs.
    pub fn load(&self, layouter: &mut impl Layouter<Fr>) -> Result<(), Error> {
        let n = 1usize << self.limb_bits;
        layouter.assign_table(
            || "limb pairs",
            |mut t| {
                for i in 0..n * n {
                    t.assign_cell(|| "hi", self.table[0], i, || Value::known(Fr::from((i / n) as u64)))?;
                    t.assign_cell(|| "lo", self.table[1], i, || Value::known(Fr::from((i % n) as u64)))?;
                }
                Ok(())
            },
        )
    }

    /// Rows the table occupies (the circuit needs `2^k` above this).
    pub fn table_rows(limb_bits: u32) -> usize {
        1usize << (2 * limb_bits)
    }
}
