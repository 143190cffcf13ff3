//! Issuer-signed iris-code models, as an app downloads them.

use std::sync::{Arc, OnceLock};

use zkiris::circuit::StatementPlan;
use zkiris::model::manifest::Manifest;
use zkiris::model::{IssuerKeys, VerifiedModelFiles};
use zkiris::prover::Estimate;

use crate::blocking::off_thread;
use crate::error::ZkirisError;

/// An issuer public key the app trusts to sign models.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct TrustedIssuer {
    /// A name for the key (informational).
    pub key_id: String,
    /// The SEC1 compressed secp256k1 public key, hex (66 digits).
    pub public_key: String,
}

/// Expected cost of proving one enrollment with a model.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct ProvingEstimate {
    /// Circuit size exponent (the circuit has `2^k` rows).
    pub k: u32,
    /// Rows used.
    pub rows: u64,
    /// Expected proving time, seconds.
    pub prove_seconds: f64,
    /// Expected one-time keygen time (the key is cached afterwards), seconds.
    pub keygen_seconds: f64,
    /// Expected peak resident memory while proving, MiB (with a 10 % margin).
    pub peak_memory_mib: f64,
    /// Expected peak resident memory while generating the keys, MiB (first `prepare` on a
    /// device only; with a 10 % margin). `prepare` checks the larger of the two peaks.
    pub keygen_peak_memory_mib: f64,
    /// Size of the cached proving key, MiB.
    pub proving_key_mib: f64,
    /// How much slower than the reference machine the times assume (1.0 = reference).
    pub device_factor: f64,
    /// Whether `device_factor` was measured on this device (by earlier keygens and proofs
    /// of this `Prover`) rather than assumed.
    pub calibrated: bool,
}

impl ProvingEstimate {
    pub(crate) fn from_core(e: &Estimate, factor: f64, calibrated: bool) -> Self {
        let s = e.scaled(factor);
        Self {
            k: s.k,
            rows: s.rows as u64,
            prove_seconds: s.prove_seconds,
            keygen_seconds: s.keygen_seconds,
            peak_memory_mib: s.peak_memory_mib,
            keygen_peak_memory_mib: s.keygen_peak_memory_mib,
            proving_key_mib: s.proving_key_mib,
            device_factor: factor,
            calibrated,
        }
    }
}

/// A verified model: ONNX bytes plus the signed manifest, checked against the issuers the app
/// trusts (signature, ONNX hash, model id) and lowered to the exact integer IR.
#[derive(uniffi::Object)]
pub struct Model {
    inner: Arc<zkiris::model::Model>,
    estimate: OnceLock<Estimate>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.inner.manifest();
        write!(f, "Model({} {}, id {})", m.name, m.version, self.inner.id_hex())
    }
}

impl Model {
    pub(crate) fn core(&self) -> &Arc<zkiris::model::Model> {
        &self.inner
    }

    /// The reference-machine estimate (plans the circuit once).
    pub(crate) fn core_estimate(&self) -> Result<Estimate, ZkirisError> {
        if let Some(e) = self.estimate.get() {
            return Ok(e.clone());
        }
        let plan = StatementPlan::new(&self.inner).map_err(|e| ZkirisError::UnsupportedModel { detail: e.to_string() })?;
        Ok(self.estimate.get_or_init(|| Estimate::for_plan(&plan)).clone())
    }
}

#[uniffi::export]
impl Model {
    /// Verifies and loads a model from its ONNX bytes and `manifest.json` bytes (as
    /// downloaded). `trusted_issuers` are the only keys accepted as signers. `async` (Kotlin
    /// `suspend`, Swift `async`): hashing, signature checks and lowering the ONNX graph run on
    /// a worker thread.
    #[uniffi::constructor]
    pub async fn load(onnx: Vec<u8>, manifest: Vec<u8>, trusted_issuers: Vec<TrustedIssuer>) -> Result<Arc<Self>, ZkirisError> {
        off_thread("model-load", move || {
            let mut keys = IssuerKeys::new();
            for issuer in &trusted_issuers {
                keys.add_hex(&issuer.key_id, &issuer.public_key)?;
            }
            let manifest = Manifest::from_json(&manifest)?;
            let files = VerifiedModelFiles::from_bytes(manifest, onnx, &keys)?;
            let inner = zkiris::model::Model::from_verified(files)?;
            Ok(Arc::new(Self { inner: Arc::new(inner), estimate: OnceLock::new() }))
        })
        .await
    }

    /// The model id (64 hex digits): sha256 of the ONNX bytes and the rules.
    pub fn id(&self) -> String {
        self.inner.id_hex()
    }

    /// The model name, e.g. `world-v3`.
    pub fn name(&self) -> String {
        self.inner.manifest().name.clone()
    }

    /// The model version, e.g. `3.0.0`.
    pub fn version(&self) -> String {
        self.inner.manifest().version.clone()
    }

    /// How this model's proofs submit the iris code: `PublicCode` (the code is in the bundle)
    /// or `MpcShares` (proving needs the three MPC parties' public keys, and the bundle
    /// carries encrypted shares instead of the code).
    pub fn submission(&self) -> crate::submission::Submission {
        self.inner.manifest().rules.submission.into()
    }

    /// The minimum number of valid mask bits an enrollment needs.
    pub fn min_valid_bits(&self) -> u32 {
        self.inner.manifest().rules.min_valid_bits
    }

    /// The estimated proving cost on the reference machine (see `Prover.estimate` for this
    /// device). The first call plans the circuit (up to a second for full-size models), so
    /// it runs on a worker thread.
    pub async fn estimate(self: Arc<Self>) -> Result<ProvingEstimate, ZkirisError> {
        off_thread("model-estimate", move || Ok(ProvingEstimate::from_core(&self.core_estimate()?, 1.0, false))).await
    }
}
