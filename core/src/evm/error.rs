//! The error of rendering, optimising and splitting an EVM verifier (shared by `verifier`,
//! `inline`, `memory` and `yul`).

/// Errors from rendering or splitting a verifier.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifierError {
    /// The circuit does not have exactly one instance column.
    #[error("the circuit has {found} instance columns; the EVM verifier supports exactly one (put every public input in one column)")]
    InstanceColumns {
        /// Instance columns in the verifying key.
        found: usize,
    },
    /// The parameters and the verifying key were made for different circuit sizes.
    #[error("the KZG parameters are for k = {params_k} but the verifying key is for k = {vk_k}; use the parameters the key was generated with")]
    ParamsMismatch {
        /// `k` of the parameters.
        params_k: u32,
        /// `k` of the verifying key.
        vk_k: u32,
    },
    /// snark-verifier failed while generating code.
    #[error("snark-verifier could not generate the verifier: {0}")]
    Generate(String),
    /// The generated code does not have the shape `VerifierSource::split` understands.
    #[error("the generated verifier has an unexpected shape: {0} (the snark-verifier output format changed; update evm::verifier and evm::memory)")]
    UnexpectedShape(&'static str),
    /// More parts were asked for than there are statements to distribute.
    #[error("cannot split the verifier into {parts} parts: it has only {statements} top-level statements")]
    TooManyParts {
        /// Requested number of parts.
        parts: usize,
        /// Top-level statements available.
        statements: usize,
    },
}
