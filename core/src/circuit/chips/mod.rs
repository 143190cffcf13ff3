//! The circuit's chips: one concept each, in the style of zcash's halo2_gadgets (a `…Config`
//! from `configure`, placement and assignment methods on absolute rows, a layout table in the
//! doc, and inline MockProver tests that tamper with each constraint and assert the exact
//! failure).
//!
//! Most chips share the columns of [`super::layout`] and are placed by the statement at rows
//! the [`super::plan`] chooses; the Poseidon and shares chips own their columns.
//!
//! | module | proves |
//! |---|---|
//! | [`range`] | limb range checks against a table of limbs or limb pairs |
//! | [`horner`] | evaluation of quad rows at the challenge β |
//! | [`pack`] | packing into commitment elements and public code words; zero/boolean rows; popcount |
//! | [`conv`] | the convolution identity (padded chains, kernel polynomials, accumulator) |
//! | [`compare`] | sign bits of `f0 + f1·x + f2·y` with range-checked limbs |
//! | [`logic`] | squares, non-zero tests, AND |
//! | [`relu`] | `max(x, c)` with a proven sign bit |
//! | [`requant`] | rounding right shifts with range-checked remainder and output |
//! | [`dense`] | constant-weight dot products over copied cells |
//! | [`dense_batch`] | many dot products over shared inputs, checked by one random linear combination |
//! | [`poseidon`] | the Poseidon sponge (the commitment), twin of [`crate::poseidon`] |
//! | [`shares`] | the MPC shares of the masked code and their commitments |

use halo2_proofs::halo2curves::bn256::Fr;

pub mod compare;
pub mod conv;
pub mod dense;
pub mod dense_batch;
pub mod horner;
pub mod logic;
pub mod pack;
pub mod poseidon;
pub mod range;
pub mod relu;
pub mod requant;
pub mod shares;

#[cfg(test)]
pub(crate) mod testing;

/// Rows a circuit keeps free at the end of its columns for halo2's blinding factors (with
/// margin): `n` used rows need `2^k ≥ n + RESERVED_ROWS`.
pub const RESERVED_ROWS: usize = 16;

/// The `2^k` rows a circuit with `rows` used rows (or a table of `rows` rows) occupies.
pub fn circuit_rows(rows: usize) -> usize {
    (rows + RESERVED_ROWS).next_power_of_two()
}

/// Whether a lookup table of `table_rows` rows leaves the size of a circuit that uses `rows`
/// rows without it unchanged. The chips with a large and a small table layout
/// ([`range::RangeConfig::paired_for`], [`shares::SharesRange::for_rows`]) take the large one
/// exactly then.
pub fn table_is_free(rows: usize, table_rows: usize) -> bool {
    circuit_rows(rows) >= circuit_rows(table_rows)
}

/// A cell assigned in the statement's region.
pub type AssignedFr<'v> = halo2_proofs::circuit::AssignedCell<&'v halo2_proofs::plonk::Assigned<Fr>, Fr>;
