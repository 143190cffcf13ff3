//! Proving keys: keygen from the model, and an on-disk cache.
//!
//! A proving key is ~2 KB per circuit row (290 MB for world-v3 at k = 17): it is generated on
//! the device from the signed model and cached, never shipped. The cache file name is derived
//! from everything the key depends on — the model id, the SRS fingerprint, `k`, the zkiris code
//! version, a digest of the constraint system and a digest of the circuit's source files
//! ([`circuit_source_digest`]) — and the file is checksummed; writing a new
//! key removes the same model's stale keys ([`super::cachefile`]); a corrupt or stale file is
//! regenerated, never trusted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::Bn256;
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine};
use halo2_proofs::plonk::{keygen_pk, keygen_vk_custom, Circuit, ConstraintSystem, ProvingKey, VerifyingKey};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use sha2::{Digest, Sha256};

use super::cachefile;
use super::progress::{CancellationToken, Phase, ProgressListener};
use super::srs::Srs;
use crate::circuit::{CircuitShape, IrisCircuit, StatementPlan};

/// Errors generating keys.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// halo2 keygen failed (the circuit does not fit the SRS, …).
    #[error("key generation failed: {0}")]
    Keygen(String),
    /// The caller cancelled key generation (nothing was written to the cache).
    #[error("key generation was cancelled")]
    Cancelled,
}

/// sha256 of a verifying key's canonical bytes.
pub fn vk_fingerprint(vk: &VerifyingKey<G1Affine>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkiris-vk-v1");
    h.update(vk.to_bytes(SerdeFormat::RawBytes));
    h.finalize().into()
}

/// sha256 of the circuit's constraint system (gates, lookups, columns, queries) for a shape:
/// any change to the circuit's shape gives a different digest, so a cached key made by another
/// build of the circuit is never loaded. From the shape alone: configuring a circuit takes
/// milliseconds, planning a statement takes seconds.
fn shape_constraint_digest(shape: &CircuitShape) -> [u8; 32] {
    let mut cs = ConstraintSystem::<Fr>::default();
    let _ = IrisCircuit::configure_with_params(&mut cs, shape.clone());
    let mut h = Sha256::new();
    h.update(format!("{:?}", cs.pinned()).as_bytes());
    h.finalize().into()
}

/// sha256 of the source files that decide a circuit's keys (computed by `core/build.rs`).
///
/// The constraint-system digest sees gates and columns but not fixed values or copy
/// constraints; a code change that moves a public input to another row changes neither, yet
/// makes every cached key of the previous build produce invalid proofs. Keys are therefore
/// also named after the circuit's source, so another build's key is never loaded.
pub fn circuit_source_digest() -> &'static str {
    env!("ZKIRIS_CIRCUIT_SOURCE_DIGEST")
}

/// The cache file of a proving key.
pub fn cache_path(dir: &Path, model_id: &[u8; 32], srs: &Srs, k: u32, plan: &StatementPlan) -> PathBuf {
    dir.join(format!("pk-{}-{}.bin", model_prefix(model_id), key_digest(model_id, srs, k, plan)))
}

/// The cache file of a verifying key: named like the proving key it belongs to.
pub fn vk_cache_path(dir: &Path, model_id: &[u8; 32], srs: &Srs, k: u32, plan: &StatementPlan) -> PathBuf {
    shape_vk_cache_path(dir, model_id, srs, k, &plan.shape)
}

/// [`vk_cache_path`] from the circuit's shape alone.
fn shape_vk_cache_path(dir: &Path, model_id: &[u8; 32], srs: &Srs, k: u32, shape: &CircuitShape) -> PathBuf {
    dir.join(format!("vk-{}-{}.bin", model_prefix(model_id), shape_key_digest(model_id, srs, k, shape)))
}

/// 32 hex digits over everything a key depends on.
fn key_digest(model_id: &[u8; 32], srs: &Srs, k: u32, plan: &StatementPlan) -> String {
    shape_key_digest(model_id, srs, k, &plan.shape)
}

fn shape_key_digest(model_id: &[u8; 32], srs: &Srs, k: u32, shape: &CircuitShape) -> String {
    let mut h = Sha256::new();
    h.update(model_id);
    h.update(srs.fingerprint());
    h.update(k.to_le_bytes());
    h.update(cachefile::code_version());
    h.update(shape_constraint_digest(shape));
    h.update(circuit_source_digest());
    h.update([u8::from(COMPRESS_SELECTORS)]);
    hex::encode(h.finalize())[..32].to_string()
}

/// The part of a cache file name that names the model (16 hex digits of its id).
fn model_prefix(model_id: &[u8; 32]) -> String {
    hex::encode(&model_id[..8])
}

/// Removes cached proving keys that can no longer be loaded: other keys of the same model
/// (made for another SRS, circuit build or code version) and keys in the pre-0.1 file naming
/// (`pk-<32 hex>.bin`, which no version reads any more). Proving keys are hundreds of MB to
/// GBs; on a phone a stale one is storage the user never gets back. Keys of other models are
/// kept. Errors are ignored: the cache is an optimisation.
pub fn prune_stale(dir: &Path, model_id: &[u8; 32], keep: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    let same_model = format!("pk-{}-", model_prefix(model_id));
    let same_model_vk = format!("vk-{}-", model_prefix(model_id));
    let same_model_shape = format!("shape-{}-", model_prefix(model_id));
    let keep_shape = shape_cache_path(dir, model_id);
    // The verifying key that belongs to `keep`.
    let keep_vk = keep.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_prefix("pk-")).map(|rest| keep.with_file_name(format!("vk-{rest}")));
    let mut removed = 0;
    for e in entries.flatten() {
        let path = e.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        let legacy =
            name.len() == "pk-.bin".len() + 32 && name.starts_with("pk-") && name.ends_with(".bin") && name[3..35].bytes().all(|b| b.is_ascii_hexdigit());
        let stale =
            ((name.starts_with(&same_model) || name.starts_with(&same_model_vk) || name.starts_with(&same_model_shape)) && name.ends_with(".bin")) || legacy;
        if stale && path != keep && Some(&path) != keep_vk.as_ref() && path != keep_shape && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// The cache file of a model's circuit size and shape: named after the model, the code version
/// and the circuit's source (everything the plan is a function of), so another build's record
/// is never read.
pub fn shape_cache_path(dir: &Path, model_id: &[u8; 32]) -> PathBuf {
    let mut h = Sha256::new();
    h.update(b"zkiris-circuit-shape-v1");
    h.update(model_id);
    h.update(cachefile::code_version());
    h.update(circuit_source_digest());
    h.update([u8::from(COMPRESS_SELECTORS)]);
    dir.join(format!("shape-{}-{}.bin", model_prefix(model_id), &hex::encode(h.finalize())[..32]))
}

/// What a verifier needs of a statement plan: the circuit's `k` and its `configure` parameters.
#[derive(serde::Serialize, serde::Deserialize)]
struct ShapeRecord {
    k: u32,
    shape: CircuitShape,
}

/// Records a plan's `k` ([`StatementPlan::min_k`]) and shape in the cache, unless the record
/// there already says so; a corrupt or wrong record is replaced (errors ignored: the cache is
/// an optimisation).
pub fn store_shape(dir: &Path, model_id: &[u8; 32], plan: &StatementPlan) {
    let path = shape_cache_path(dir, model_id);
    if cached_shape(dir, model_id).is_some_and(|(k, shape)| k == plan.min_k() && shape == plan.shape) {
        return;
    }
    if let Ok(body) = bincode::serialize(&ShapeRecord { k: plan.min_k(), shape: plan.shape.clone() }) {
        let _ = cachefile::write(&path, cachefile::Kind::CircuitShape, &body);
    }
}

/// The cached `k` and shape of a model's circuit, if this build recorded them
/// ([`store_shape`]); `None` if absent or corrupt (the caller plans the statement instead).
///
/// Planning a statement (the linear-map analysis of the model) takes seconds; a verifier only
/// needs the shape to configure the circuit and read its verifying key. A record that does not
/// describe the real circuit cannot make a proof pass: the verifying key is found by the
/// shape's constraint-system digest, and a bundle is checked against that key's fingerprint.
pub fn cached_shape(dir: &Path, model_id: &[u8; 32]) -> Option<(u32, CircuitShape)> {
    let path = shape_cache_path(dir, model_id);
    let parse = |r: &mut dyn std::io::Read| {
        let mut body = Vec::new();
        r.read_to_end(&mut body)?;
        let opts = {
            use bincode::Options;
            bincode::DefaultOptions::new().with_fixint_encoding().with_limit(1 << 20).reject_trailing_bytes()
        };
        bincode::Options::deserialize::<ShapeRecord>(opts, &body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
    };
    let rec = cachefile::read_with(&path, cachefile::Kind::CircuitShape, parse).ok()?;
    // The largest k a zkiris circuit is planned at is well below the BN254 SRS limit of 2^28.
    (rec.k >= 1 && rec.k <= 28).then_some((rec.k, rec.shape))
}

/// Reads a cached verifying key for a circuit shape without its plan: `None` if absent,
/// corrupt, or made for another `k` (the caller derives it from the plan instead).
pub fn cached_vk(srs: &Srs, shape: &CircuitShape, model_id: &[u8; 32], dir: &Path) -> Option<VerifyingKey<G1Affine>> {
    read_vk(&shape_vk_cache_path(dir, model_id, srs, srs.k(), shape), shape).ok().filter(|vk| vk.get_domain().k() == srs.k())
}

/// Reads a verifying-key cache file for a circuit shape (checksum first; a halo2 panic on a
/// malformed body is an `InvalidData` error, never a panic).
fn read_vk(path: &Path, shape: &CircuitShape) -> std::io::Result<VerifyingKey<G1Affine>> {
    let parse = |mut r: &mut dyn std::io::Read| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            VerifyingKey::<G1Affine>::read::<_, IrisCircuit>(&mut r, SerdeFormat::RawBytes, shape.clone())
        }))
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed verifying key")))
    };
    cachefile::read_with(path, cachefile::Kind::VerifyingKey, parse)
}

/// Where a proving key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// Loaded from the cache.
    Cache,
    /// Generated (and written to the cache if one was given).
    Generated,
    /// Generated because the cached file was corrupt or stale.
    Regenerated,
}

/// Whether keygen packs selectors into shared fixed columns.
///
/// halo2 can store several selectors in one fixed column when they are never on in the same
/// row and the gates' degree leaves room (a selector becomes a low-degree polynomial in the
/// shared column). halo2-axiom's `keygen_vk` leaves this off; zkiris turns it on because every
/// fixed column is a commitment the on-chain verifier multiplies (6,000 gas per `ecMul`) and an
/// evaluation in the proof: world-v3 goes from 34 fixed columns to 20. The choice is recorded
/// in the verifying key, so a key read from disk is checked with the rule it was made with.
pub const COMPRESS_SELECTORS: bool = true;

/// Generates the verifying key of a circuit for a plan (with `COMPRESS_SELECTORS`).
pub fn verifying_key(params: &ParamsKZG<Bn256>, plan: &Arc<StatementPlan>) -> Result<VerifyingKey<G1Affine>, KeyError> {
    keygen_vk_custom(params, &IrisCircuit::new(plan.clone()), COMPRESS_SELECTORS).map_err(|e| KeyError::Keygen(e.to_string()))
}

/// Generates the verifying and proving keys for a plan (no progress, no cancellation).
#[cfg(test)]
pub(crate) fn keygen(srs: &Srs, plan: &Arc<StatementPlan>) -> Result<ProvingKey<G1Affine>, KeyError> {
    keygen_with(srs, plan, &KeygenProgress::none())
}

/// Where key generation reports to: [`Phase::Keygen`] events with fractions from `start` to
/// `end` (never backwards), and a cancellation token checked between its steps.
pub struct KeygenProgress<'a> {
    listener: &'a dyn ProgressListener,
    cancel: Option<&'a CancellationToken>,
    start: f64,
    end: f64,
}

impl<'a> KeygenProgress<'a> {
    /// Reports `Keygen` fractions in `[start, end]` to `listener` and stops at the next step
    /// after `cancel` is cancelled.
    pub fn new(listener: &'a dyn ProgressListener, cancel: &'a CancellationToken, start: f64, end: f64) -> Self {
        Self { listener, cancel: Some(cancel), start, end }
    }

    /// No events, no cancellation.
    #[cfg(test)]
    pub(crate) fn none() -> Self {
        Self { listener: &super::progress::NoProgress, cancel: None, start: 0.0, end: 1.0 }
    }

    /// Reports that `done` (0..=1) of key generation is done.
    fn report(&self, done: f64) {
        self.listener.on_progress(Phase::Keygen, self.start + (self.end - self.start) * done.clamp(0.0, 1.0));
    }

    /// [`Self::report`], then fails with [`KeyError::Cancelled`] if the caller has cancelled.
    fn step(&self, done: f64) -> Result<(), KeyError> {
        self.report(done);
        match self.cancel {
            Some(c) if c.is_cancelled() => Err(KeyError::Cancelled),
            _ => Ok(()),
        }
    }
}

/// The share of a key generation's time each step ends at (world-v3 at k = 17 on two cores:
/// the verifying key, which commits to every fixed and permutation column, about 5 s of 20; the
/// proving key's polynomials and extended-domain evaluations about 14 s; writing the cache the
/// last second).
const VK_DONE: f64 = 0.25;
const PK_DONE: f64 = 0.95;

/// [`keygen`] with progress and cancellation checkpoints between the verifying key and the
/// proving key (halo2 computes each in one call, so those are the points where it can stop).
pub fn keygen_with(srs: &Srs, plan: &Arc<StatementPlan>, progress: &KeygenProgress) -> Result<ProvingKey<G1Affine>, KeyError> {
    let circuit = IrisCircuit::new(plan.clone());
    let vk = verifying_key(srs.params().as_ref(), plan)?;
    progress.step(VK_DONE)?;
    let pk = keygen_pk(srs.params().as_ref(), vk, &circuit).map_err(|e| KeyError::Keygen(e.to_string()))?;
    progress.step(PK_DONE)?;
    Ok(pk)
}

/// Loads the verifying key from `cache_dir`, or derives it (and caches it there).
///
/// Deriving a verifying key commits to every fixed and permutation column (about 5 s for
/// world-v3 at k = 17 on two cores); a cached one is read in milliseconds, so a verifier started as a fresh
/// process (`zkiris verify`, a phone's `Verifier`) pays the derivation once per model and SRS.
/// The file is named like the proving key (model, SRS, `k`, code version, constraint-system and
/// circuit-source digests) and checksummed; a corrupt or stale file is derived again.
pub fn load_or_derive_vk(
    srs: &Srs,
    plan: &Arc<StatementPlan>,
    model_id: &[u8; 32],
    cache_dir: Option<&Path>,
) -> Result<(VerifyingKey<G1Affine>, KeySource), KeyError> {
    let Some(dir) = cache_dir else {
        return verifying_key(srs.params().as_ref(), plan).map(|vk| (vk, KeySource::Generated));
    };
    let source = match read_vk(&vk_cache_path(dir, model_id, srs, srs.k(), plan), &plan.shape) {
        Ok(vk) if vk.get_domain().k() == srs.k() => return Ok((vk, KeySource::Cache)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => KeySource::Generated,
        _ => KeySource::Regenerated,
    };
    let vk = verifying_key(srs.params().as_ref(), plan)?;
    store_vk(dir, model_id, srs, plan, &vk);
    Ok((vk, source))
}

/// Writes a verifying key to the cache (errors ignored: the cache is an optimisation).
fn store_vk(dir: &Path, model_id: &[u8; 32], srs: &Srs, plan: &StatementPlan, vk: &VerifyingKey<G1Affine>) {
    let path = vk_cache_path(dir, model_id, srs, srs.k(), plan);
    let _ = cachefile::write_with(&path, cachefile::Kind::VerifyingKey, |mut w| vk.write(&mut w, SerdeFormat::RawBytes));
}

/// Loads the proving key from `cache_dir`, or generates and caches it, with progress events
/// and cancellation checkpoints ([`keygen_with`]). A cancellation seen before the key is written returns
/// [`KeyError::Cancelled`] and writes nothing; once the key is in the cache the call completes.
pub fn load_or_generate_with(
    srs: &Srs,
    plan: &Arc<StatementPlan>,
    model_id: &[u8; 32],
    cache_dir: Option<&Path>,
    progress: &KeygenProgress,
) -> Result<(ProvingKey<G1Affine>, KeySource), KeyError> {
    progress.step(0.0)?;
    let k = srs.k();
    let Some(dir) = cache_dir else {
        let pk = keygen_with(srs, plan, progress)?;
        progress.step(1.0)?;
        return Ok((pk, KeySource::Generated));
    };
    let path = cache_path(dir, model_id, srs, k, plan);
    let mut source = KeySource::Generated;
    // Streamed in both directions: the key (0.4–1 GB) is never in memory twice.
    let parse = |mut r: &mut dyn std::io::Read| {
        // halo2 panics on some malformed inputs; the checksum has already matched, but a panic
        // must still never escape (it may cross an FFI).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            ProvingKey::<G1Affine>::read::<_, IrisCircuit>(&mut r, SerdeFormat::RawBytes, plan.shape.clone())
        }))
        .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "malformed proving key")))
    };
    match cachefile::read_with(&path, cachefile::Kind::ProvingKey, parse) {
        Ok(pk) => {
            // A key cached before verifying keys were: give its verifier the vk now.
            if !vk_cache_path(dir, model_id, srs, k, plan).exists() {
                store_vk(dir, model_id, srs, plan, pk.get_vk());
            }
            progress.step(1.0)?;
            return Ok((pk, KeySource::Cache));
        }
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => source = KeySource::Regenerated,
        Err(_) => {}
    }
    let pk = keygen_with(srs, plan, progress)?;
    // A cache that cannot be written only costs time later; proving goes on.
    if cachefile::write_with(&path, cachefile::Kind::ProvingKey, |mut w| pk.write(&mut w, SerdeFormat::RawBytes)).is_ok() {
        prune_stale(dir, model_id, &path);
    }
    // Its verifying key too, so that a verifier on this device starts without deriving it.
    store_vk(dir, model_id, srs, plan, pk.get_vk());
    progress.report(1.0);
    Ok((pk, source))
}
