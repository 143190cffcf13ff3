//! Where the structured reference string (SRS) comes from: the app's choice, shared by the
//! prover and the verifier.

use std::path::PathBuf;

use zkiris::prover as core;

/// Where the structured reference string (SRS) comes from.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SrsSource {
    /// The deterministic development SRS, generated and cached in the cache directory.
    /// **INSECURE: anyone can forge proofs under it.** Tests and demos only.
    Development,
    /// KZG parameters from a trusted-setup ceremony (a halo2 `ParamsKZG` file for BN254).
    File {
        /// Path of the file.
        path: String,
    },
}

impl From<SrsSource> for core::SrsSource {
    fn from(s: SrsSource) -> Self {
        match s {
            SrsSource::Development => core::SrsSource::Development,
            SrsSource::File { path } => core::SrsSource::File(PathBuf::from(path)),
        }
    }
}
