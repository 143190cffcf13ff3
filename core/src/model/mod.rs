//! Models: signed manifests, ONNX loading with tract, and the exact integer IR.
//!
//! `manifest` (what the issuer signs) → `onnx` (tract load + declutter) → `lower` (tract
//! graph → [`ir::Graph`]) → `bounds` (proven value ranges) → `exec` (native integer executor,
//! the twin of the circuit).

pub mod issuer;
pub mod manifest;

pub use issuer::{dev_issuer_key, IssuerKeys, IssuerSigningKey, DEV_ISSUER_KEY_ID};
pub use manifest::{Manifest, ModelRules, VerifiedModelFiles};

/// Errors loading, verifying, lowering or running a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid JSON for the schema.
    #[error("manifest is malformed: {0}")]
    ManifestParse(String),
    /// The manifest declares a schema this SDK does not read.
    #[error("manifest schema {found:?} is not supported (this SDK reads {supported:?}); update zkiris")]
    ManifestSchema {
        /// Schema found.
        found: String,
        /// Schema supported.
        supported: &'static str,
    },
    /// The issuer signature is malformed or does not verify.
    #[error("model signature is invalid: {0}; the model was altered or not signed by its issuer")]
    BadSignature(String),
    /// A key could not be parsed.
    #[error("issuer key is invalid: {0}")]
    BadIssuerKey(String),
    /// The manifest is signed by a key the app does not trust.
    #[error("model is signed by issuer {key_id:?} ({public_key}), which is not a trusted issuer; add its key only if you trust it")]
    UntrustedIssuer {
        /// Key id named by the manifest.
        key_id: String,
        /// Public key named by the manifest.
        public_key: String,
    },
    /// The ONNX bytes do not hash to the signed value.
    #[error("ONNX file does not match the signed manifest (sha256 {actual}, manifest says {expected}); re-download the model")]
    OnnxHashMismatch {
        /// Signed hash.
        expected: String,
        /// Hash of the bytes supplied.
        actual: String,
    },
    /// The model id does not match the ONNX bytes and rules.
    #[error("model id mismatch: manifest says {expected}, ONNX + rules give {actual}")]
    ModelIdMismatch {
        /// Signed id.
        expected: String,
        /// Recomputed id.
        actual: String,
    },
}
