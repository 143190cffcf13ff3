//! Errors loading, lowering and running a model.

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
    /// The ONNX bytes are truncated or corrupt, or tract cannot type the graph.
    #[error("cannot load ONNX model: {0}")]
    OnnxParse(String),
    /// The graph uses an op the IR does not support.
    #[error("node {node:?} uses op {op}, which zkiris cannot prove; supported: Conv, EinSum/Gemm/MatMul, Add, Sub, Mul by a constant, Max/Min (ReLU), Reshape, Transpose, Pad, Slice, Concat, Gather, Cast, ReduceSum")]
    UnsupportedOp {
        /// Node name.
        node: String,
        /// Op name (tract's).
        op: String,
    },
    /// The graph uses a datum type the IR does not support.
    #[error("node {node:?} has datum type {dtype}, which zkiris cannot prove (use integer or f32 tensors)")]
    UnsupportedDtype {
        /// Node name.
        node: String,
        /// Datum type.
        dtype: String,
    },
    /// Wrong number of inputs given to the executor.
    #[error("model takes {expected} inputs, {actual} given")]
    InputCount {
        /// Expected.
        expected: usize,
        /// Given.
        actual: usize,
    },
    /// An input has the wrong shape.
    #[error("input {input:?} must have shape {expected:?}, got {actual:?}")]
    InputShape {
        /// Input name.
        input: String,
        /// Expected shape.
        expected: Vec<usize>,
        /// Given shape.
        actual: Vec<usize>,
    },
    /// An input value is outside the range the model accepts.
    #[error("input {input:?} value {value} at index {index} is outside the accepted range [{lo}, {hi}]")]
    InputRange {
        /// Input name.
        input: String,
        /// Flat index.
        index: usize,
        /// Value.
        value: i64,
        /// Lower bound.
        lo: i128,
        /// Upper bound.
        hi: i128,
    },
    /// The manifest and the ONNX graph disagree (names, shapes, outputs).
    #[error("manifest does not match the ONNX graph: {0}")]
    ManifestMismatch(String),
    /// A tensor's proven bound is too wide to compute or prove exactly.
    #[error("tensor {tensor:?} may reach {bits} bits, above the limit of {limit}; the model would overflow and is refused")]
    BoundOverflow {
        /// Tensor (producing node) name.
        tensor: String,
        /// Bits needed.
        bits: u32,
        /// Limit.
        limit: u32,
    },
    /// An internal consistency check failed (a bug in zkiris; please report it).
    #[error("internal error: {0}")]
    Internal(String),
}
