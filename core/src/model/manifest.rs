//! The signed model manifest (`manifest.json`, schema `zkiris.manifest/1`).
//!
//! A manifest names an ONNX file and the *encoder rules* that turn its integer outputs into
//! iris-code and mask-code bits (rules that are not ONNX ops: signs, coverage thresholds,
//! fragile-bit refinement). The issuer signs the manifest; a model whose signature, ONNX hash
//! or model id does not verify against the trusted issuer keys is never used.
//!
//! ```text
//! model_id  = sha256( onnx bytes || canonical_json(rules) )
//!             rules = { inputs, outputs, encoder, code_layout, min_valid_bits, liveness }
//! signature = secp256k1 ECDSA (RFC 6979, SHA-256) over canonical_json(manifest without "signature")
//! ```
//!
//! `canonical_json` is JSON with object keys sorted, no whitespace, integers only (no floats
//! anywhere in a manifest: every threshold is an integer ratio).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::ModelError;
pub use super::issuer::IssuerRef;
use super::issuer::{IssuerKeys, IssuerSignature};

/// Current manifest schema tag.
pub const MANIFEST_SCHEMA: &str = "zkiris.manifest/1";

/// An integer ratio `num / den` (thresholds are exact rationals, never floats).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ratio {
    /// Numerator.
    pub num: u64,
    /// Denominator (nonzero).
    pub den: u64,
}

/// Element type of a model input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputDtype {
    /// Unsigned 8-bit integers.
    U8,
}

/// What a model input carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InputRole {
    /// The normalized iris image (0..=255).
    Image,
    /// The validity mask (0 or 1).
    Mask,
}

/// One model input as the manifest declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputSpec {
    /// ONNX input name.
    pub name: String,
    /// Image or mask.
    pub role: InputRole,
    /// Shape, rows × columns.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: InputDtype,
    /// Inclusive value range the model accepts; values outside it are refused.
    pub range: [i64; 2],
}

/// One integer model output the encoder reads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputSpec {
    /// ONNX output name.
    pub name: String,
    /// Shape `[channels, grid rows, grid cols]` (or `[1]` for a scalar such as liveness).
    pub shape: Vec<usize>,
}

/// An operand of a comparison rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operand {
    /// `output[channel, i, j]` at the bit's grid position.
    Output {
        /// Output name.
        output: String,
        /// Channel index.
        channel: usize,
    },
    /// A constant per grid row `i` (e.g. the number of pixels under a clipped patch).
    PerRow(Vec<i64>),
}

/// Which component of a complex response a fragile-bit test protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Component {
    /// Real part (bit = Re > 0).
    Re,
    /// Imaginary part (bit = Im > 0).
    Im,
}

/// How one code bit is derived from the model outputs at grid position `(i, j)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BitRule {
    /// `output[channel, i, j] > 0` (zero gives 0).
    Positive {
        /// Output name.
        output: String,
        /// Channel index.
        channel: usize,
    },
    /// `ratio.den * num >= ratio.num * den`, i.e. `num / den >= ratio`.
    AtLeast {
        /// Left-hand operand.
        num: Operand,
        /// Right-hand operand.
        den: Operand,
        /// Threshold.
        ratio: Ratio,
    },
    /// `re != 0 or im != 0`.
    NonZeroPair {
        /// Output name.
        output: String,
        /// Channel of the real part.
        re: usize,
        /// Channel of the imaginary part.
        im: usize,
    },
    /// open-iris polar fragile-bit refinement, in integers. With `q = Re²·S_im + Im²·S_re`
    /// and `M = N_i²·S_re·S_im`: `lo·M <= q <= hi·M`, and for `component = re`:
    /// `Im²·S_re <= cos2·q` (for `im`: `Re²·S_im <= cos2·q`).
    Fragile {
        /// Output name.
        output: String,
        /// Channel of the real part.
        re: usize,
        /// Channel of the imaginary part.
        im: usize,
        /// Which bit this test gates.
        component: Component,
        /// Σ K_re² and Σ K_im² of the integer kernel.
        kernel_sumsq: [u64; 2],
        /// N = patch rows × kernel cols, per grid row.
        patch_size: Vec<u64>,
        /// Lower bound on |z|², e.g. 1/10⁸ for |z| ≥ 1e-4.
        radius_lo_sq: Ratio,
        /// Upper bound on |z|², e.g. 121/1600 for |z| ≤ 0.275.
        radius_hi_sq: Ratio,
        /// cos²(angle) as a rational approximation.
        cos2: Ratio,
    },
    /// All sub-rules hold.
    All(Vec<BitRule>),
}

/// The encoder rules: one rule per code plane, evaluated at every grid position.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncoderSpec {
    /// Grid `[rows, cols]` (16 × 256 for every shipped model).
    pub grid: [usize; 2],
    /// Iris-code planes in code-layout order.
    pub iris: Vec<BitRule>,
    /// Mask-code planes in code-layout order.
    pub mask: Vec<BitRule>,
}

/// How code bits are laid out when serialized (see [`crate::iriscode`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeLayout {
    /// open-iris `IrisTemplate.serialize()`: np.packbits of (rows, cols, filters, 2), MSB first.
    /// Plane `p` is filter `p / 2`, component `p % 2`.
    Openiris,
    /// World v3: np.packbits of [plane(4), row(16), col(256)], MSB first.
    WorldV3,
}

/// The liveness (presentation-attack detection) rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LivenessRule {
    /// Output holding the integer liveness score.
    pub output: String,
    /// Threshold τ in the output's integer scale: the proof requires `score >= τ`.
    pub threshold: i64,
    /// Whether τ is a public input of the proof (otherwise it is fixed in the circuit).
    pub public: bool,
}

/// Where the ONNX file is and what it hashes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnnxRef {
    /// File name relative to the manifest.
    pub file: String,
    /// Lowercase hex sha256 of the file.
    pub sha256: String,
}

/// Everything that defines the computation (hashed into the model id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRules {
    /// Inputs.
    pub inputs: Vec<InputSpec>,
    /// Outputs the encoder reads.
    pub outputs: Vec<OutputSpec>,
    /// Encoder rules.
    pub encoder: EncoderSpec,
    /// Serialization layout of the codes.
    pub code_layout: CodeLayout,
    /// Minimum number of set mask bits for a valid template.
    pub min_valid_bits: u32,
    /// Optional liveness rule.
    pub liveness: Option<LivenessRule>,
    /// How codes are submitted: public inputs (`public-code`, the default, and the only mode
    /// before this field existed — it is left out of the canonical rules then, so older model
    /// ids are unchanged) or World's MPC secret shares (`mpc-shares`).
    #[serde(default, skip_serializing_if = "Submission::is_public_code")]
    pub submission: Submission,
}

/// How a proof submits the codes it proves (see `zkiris::public` for the public inputs of each).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Submission {
    /// The iris and mask codes are public inputs (a contract or server reads them).
    #[default]
    PublicCode,
    /// The codes stay private: the proof shows that three secret shares of the masked code
    /// (World's 2-of-3 Shamir sharing over GR(2^16, 4), [`crate::mpc`]) were derived from them,
    /// and only a Poseidon commitment to each share is public.
    MpcShares,
}

impl Submission {
    /// Whether this is [`Submission::PublicCode`].
    pub fn is_public_code(&self) -> bool {
        *self == Submission::PublicCode
    }

    /// The manifest spelling (`public-code`, `mpc-shares`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Submission::PublicCode => "public-code",
            Submission::MpcShares => "mpc-shares",
        }
    }
}

impl std::fmt::Display for Submission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Submission {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "public-code" => Ok(Submission::PublicCode),
            "mpc-shares" => Ok(Submission::MpcShares),
            other => Err(format!("unknown submission mode {other:?}; use public-code or mpc-shares")),
        }
    }
}

/// A parsed `manifest.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Schema tag, [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// Model name, e.g. `world-v3`.
    pub name: String,
    /// Model version, e.g. `3.0.0`.
    pub version: String,
    /// Free text.
    pub description: String,
    /// The ONNX file.
    pub onnx: OnnxRef,
    /// The computation.
    #[serde(flatten)]
    pub rules: ModelRules,
    /// `sha256(onnx || canonical_json(rules))`, hex.
    pub model_id: String,
    /// Signing issuer.
    pub issuer: IssuerRef,
    /// ECDSA signature over the canonical manifest without this field, hex (64 bytes r||s).
    pub signature: String,
}

/// Serializes `value` as canonical JSON: sorted keys, no whitespace.
pub fn canonical_json<T: Serialize>(value: &T) -> Vec<u8> {
    fn sort(v: serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let sorted: BTreeMap<String, serde_json::Value> = map.into_iter().map(|(k, v)| (k, sort(v))).collect();
                serde_json::Value::Object(sorted.into_iter().collect())
            }
            serde_json::Value::Array(a) => serde_json::Value::Array(a.into_iter().map(sort).collect()),
            other => other,
        }
    }
    // Serializing our own plain data types to a Value cannot fail.
    let v = serde_json::to_value(value).expect("manifest types serialize to JSON");
    serde_json::to_vec(&sort(v)).expect("JSON value serializes")
}

/// Computes the model id for ONNX bytes and rules.
pub fn compute_model_id(onnx: &[u8], rules: &ModelRules) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(onnx);
    h.update(canonical_json(rules));
    h.finalize().into()
}

/// Hex sha256 of a byte string.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl Manifest {
    /// Parses manifest JSON (no verification; see [`VerifiedModelFiles::load`]).
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| ModelError::ManifestParse(e.to_string()))?;
        if m.schema != MANIFEST_SCHEMA {
            return Err(ModelError::ManifestSchema { found: m.schema, supported: MANIFEST_SCHEMA });
        }
        Ok(m)
    }

    /// The bytes the issuer signs: the canonical manifest with `signature` removed.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).expect("manifest serializes");
        if let serde_json::Value::Object(map) = &mut v {
            map.remove("signature");
        }
        canonical_json(&v)
    }

    /// The 32-byte model id.
    pub fn model_id_bytes(&self) -> Result<[u8; 32], ModelError> {
        let raw = hex::decode(&self.model_id).map_err(|_| ModelError::ManifestParse("model_id is not hex".into()))?;
        raw.try_into().map_err(|_| ModelError::ManifestParse("model_id is not 32 bytes".into()))
    }

    /// Builds and signs a manifest (the issuer's side; see `zkiris model sign`).
    pub fn build_signed(
        name: &str,
        version: &str,
        description: &str,
        onnx_file: &str,
        onnx_bytes: &[u8],
        rules: ModelRules,
        key_id: &str,
        key: &super::issuer::IssuerSigningKey,
    ) -> Self {
        let mut m = Manifest {
            schema: MANIFEST_SCHEMA.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            description: description.to_string(),
            onnx: OnnxRef { file: onnx_file.to_string(), sha256: sha256_hex(onnx_bytes) },
            model_id: hex::encode(compute_model_id(onnx_bytes, &rules)),
            rules,
            issuer: IssuerRef { key_id: key_id.to_string(), public_key: key.public_key_hex() },
            signature: String::new(),
        };
        m.signature = key.sign(&m.signing_bytes()).to_hex();
        m
    }

    /// Pretty JSON for writing to disk.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("manifest serializes")
    }

    /// Verifies the signature, the ONNX hash and the model id against trusted issuers.
    pub fn verify(&self, onnx_bytes: &[u8], trusted: &IssuerKeys) -> Result<(), ModelError> {
        let sig = IssuerSignature::from_hex(&self.signature)?;
        trusted.verify(&self.issuer, &self.signing_bytes(), &sig)?;
        let actual = sha256_hex(onnx_bytes);
        if actual != self.onnx.sha256 {
            return Err(ModelError::OnnxHashMismatch { expected: self.onnx.sha256.clone(), actual });
        }
        let id = hex::encode(compute_model_id(onnx_bytes, &self.rules));
        if id != self.model_id {
            return Err(ModelError::ModelIdMismatch { expected: self.model_id.clone(), actual: id });
        }
        Ok(())
    }
}

/// A manifest and its ONNX bytes, verified against trusted issuer keys.
#[derive(Clone, Debug)]
pub struct VerifiedModelFiles {
    /// The manifest.
    pub manifest: Manifest,
    /// The ONNX bytes whose hash the manifest signs.
    pub onnx: Vec<u8>,
}

impl VerifiedModelFiles {
    /// Reads `manifest.json` and the ONNX file it names, and verifies both.
    pub fn load(manifest_path: &Path, trusted: &IssuerKeys) -> Result<Self, ModelError> {
        let read = |p: &Path| std::fs::read(p).map_err(|source| ModelError::Io { path: p.display().to_string(), source });
        let manifest = Manifest::from_json(&read(manifest_path)?)?;
        let dir: PathBuf = manifest_path.parent().map(Path::to_path_buf).unwrap_or_default();
        let onnx = read(&dir.join(&manifest.onnx.file))?;
        Self::from_bytes(manifest, onnx, trusted)
    }

    /// Verifies an already-read manifest and ONNX (the mobile path: bytes as downloaded).
    pub fn from_bytes(manifest: Manifest, onnx: Vec<u8>, trusted: &IssuerKeys) -> Result<Self, ModelError> {
        manifest.verify(&onnx, trusted)?;
        Ok(Self { manifest, onnx })
    }
}

/// An unsigned model description (`spec.json`, written by `models/make_models.py`), which the
/// issuer turns into a signed [`Manifest`] with `zkiris model sign`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSpec {
    /// Model name.
    pub name: String,
    /// Model version.
    pub version: String,
    /// Free text.
    pub description: String,
    /// ONNX file name relative to the spec.
    pub onnx: String,
    /// The computation.
    pub rules: ModelRules,
}

impl ModelSpec {
    /// Parses spec JSON.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ModelError> {
        serde_json::from_slice(bytes).map_err(|e| ModelError::ManifestParse(format!("spec: {e}")))
    }

    /// Signs the spec and its ONNX into a manifest, after checking that the ONNX lowers under
    /// the rules (an issuer must never sign a model zkiris cannot run).
    pub fn sign(&self, onnx_bytes: &[u8], key_id: &str, key: &super::issuer::IssuerSigningKey) -> Result<Manifest, ModelError> {
        super::Model::lower_rules(onnx_bytes, &self.rules)?;
        Ok(Manifest::build_signed(&self.name, &self.version, &self.description, &self.onnx, onnx_bytes, self.rules.clone(), key_id, key))
    }
}
