//! The halo2 circuit that proves an iris code was derived from the committed enrollment.
//!
//! See the crate documentation for the statement.
//!
//! | module | what |
//! |---|---|
//! | `chips` | the gadgets: one concept each, with its own gates, layout table and MockProver tests |
//! | `plan` | no constraints: the statement plan (regions, rows, rule atoms, public-input layout), with `plan::linear` (which values are linear maps of which cells, and their convolution structure), `plan::cnn` (the cells and chips of a liveness score's CNN path) and `plan::region` (cell references and input/convolution regions) |
//! | `layout` | the shared columns and the row allocator |
//! | `statement` | the whole statement as one halo2 `Circuit` |
//! | `witness` | (crate-private) native computation of every cell; `tests` tamper with it |

pub(crate) mod chips;
pub(crate) mod expr;
pub(crate) mod layout;
pub(crate) mod plan;
pub(crate) mod statement;
pub(crate) mod witness;

#[cfg(test)]
mod tests;

pub use plan::{CircuitShape, StatementPlan};
pub use statement::IrisCircuit;
pub(crate) use witness::Witness;

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
