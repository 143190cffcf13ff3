//! The halo2 circuit that proves an iris code was derived from the committed enrollment.
//!
//! See the crate documentation for the statement. Chips (one concept each, in the style of
//! zcash's halo2_gadgets: a `Config` from `configure`, a `Chip` holding it, assignment
//! instructions on absolute rows):
//!
//! | module | proves |
//! |---|---|
//! | [`linear`] | (planning only) which values are linear maps of which cells, and their convolution structure |
//! | [`plan`] | (planning only) regions, rows, rule atoms and the public-input layout of a model |
//! | [`range`] | limb range checks against a table of limb pairs |
//! | [`horner`] | evaluation of quad rows at the challenge β |
//! | [`pack`] | packing into commitment elements and public code words; zero/boolean rows; popcount |
//! | [`conv`] | the convolution identity (padded chains, kernel polynomials, accumulator) |
//! | [`compare`] | sign bits of `f0 + f1·x + f2·y` with range-checked limbs |
//! | [`logic`] | squares, non-zero tests, AND |
//! | [`cnn`] | (planning only) the cells and chips of a liveness score's CNN path |
//! | [`relu`] | `max(x, c)` with a proven sign bit |
//! | [`requant`] | rounding right shifts with range-checked remainder and output |
//! | [`dense`] | constant-weight dot products over copied cells |
//! | [`dense_batch`] | many dot products over shared inputs, checked by one random linear combination |
//! | [`poseidon`] | the Poseidon sponge (the commitment), twin of [`crate::poseidon`] |
//! | [`statement`] | the whole statement as one halo2 `Circuit` |
//! | [`witness`] | native computation of every cell |

pub mod cnn;
pub mod compare;
pub mod conv;
pub mod dense;
pub mod dense_batch;
pub mod expr;
pub mod horner;
pub mod layout;
pub mod linear;
pub mod logic;
pub mod pack;
pub mod plan;
pub mod poseidon;
pub mod range;
pub mod region;
pub mod relu;
pub mod requant;
pub mod shares;
pub mod statement;
pub mod witness;

pub use plan::{CircuitShape, StatementPlan};
pub use statement::IrisCircuit;
pub use witness::Witness;

/// Errors building or assigning the circuit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CircuitError {
    /// The model has a structure this circuit cannot prove.
    #[error("model cannot be proven: {0}")]
    Unsupported(String),
    /// The model does not fit in the largest supported circuit size.
    #[error("model needs {rows} rows, more than 2^{max_k}; use a smaller model")]
    TooLarge {
        /// Rows needed.
        rows: usize,
        /// Largest k.
        max_k: u32,
    },
    /// The witness could not be built (bad enrollment data for this model).
    #[error("cannot build the witness: {0}")]
    Witness(String),
    /// An internal consistency check failed (a bug in zkiris; please report it).
    #[error("internal circuit error: {0}")]
    Internal(String),
}
