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
//! | row | q0 | q1 | q2 | q3 | s_limbs |
//! |---|---|---|---|---|---|
//! | r | limb | limb | limb | limb | 1 |

use halo2_proofs::circuit::{Layouter, Value};
use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{ConstraintSystem, Error, Selector, TableColumn};
use halo2_proofs::poly::Rotation;

use crate::circuit::layout::Columns;

/// Configuration of the limb range check.
#[derive(Clone, Debug)]
pub struct RangeConfig {
    /// Enables the lookups on a row.
    pub s_limbs: Selector,
    /// Table columns: limb pairs (paired) or one column of limbs (single).
    pub table: Vec<TableColumn>,
    /// Limb width `L` in bits.
    pub limb_bits: u32,
    /// Pair table (two lookups per row) or single-limb table (four lookups per row).
    pub paired: bool,
}

impl RangeConfig {
    /// Configures the lookups.
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
            Self { s_limbs, table, limb_bits, paired }
        } else {
            let table = vec![meta.lookup_table_column()];
            for q in cols.q {
                meta.lookup("limb", |m| {
                    let s = m.query_selector(s_limbs);
                    vec![(s * m.query_advice(q, Rotation::cur()), table[0])]
                });
            }
            Self { s_limbs, table, limb_bits, paired }
        }
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
        let pow2 = |n: usize| (n + 16).next_power_of_two();
        pow2(rows) >= pow2(Self::table_rows(limb_bits, true))
    }
}
