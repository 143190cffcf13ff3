//! Preparing models, proving enrollments, progress and cancellation.
//!
//! `prepare` and `prove` block the calling thread until they are done (Rust starts no
//! runtime; the work runs on the prover's worker pool). The Kotlin and Swift layers run them
//! off the main thread and turn them into `suspend` / `async` functions; a
//! [`CancellationToken`] stops a running call at its next checkpoint. One operation at a time
//! per [`Prover`] (`Busy`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use zkiris::prover::{self as core, Attestation, ProvingSetup};

use crate::bundle::{ProofBundle, Verifier};
use crate::error::{guard, ZkirisError};
use crate::model::{Model, ProvingEstimate};
use crate::srs::SrsSource;
use crate::submission::{core_options, ProveOptions};
use crate::vault::{parse_record_id, Vault};

/// A phase of a long operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum Phase {
    /// Loading or generating the SRS.
    Srs,
    /// Analysing the model and planning the circuit.
    Plan,
    /// Generating (or loading) the proving key.
    Keygen,
    /// Computing the witness.
    Witness,
    /// Proving.
    Prove,
    /// Verifying.
    Verify,
}

impl From<core::Phase> for Phase {
    fn from(p: core::Phase) -> Self {
        match p {
            core::Phase::Srs => Phase::Srs,
            core::Phase::Plan => Phase::Plan,
            core::Phase::Keygen => Phase::Keygen,
            core::Phase::Witness => Phase::Witness,
            core::Phase::Prove => Phase::Prove,
            core::Phase::Verify => Phase::Verify,
        }
    }
}

/// Receives progress of `Prover.prepare` and `Prover.prove`: the phase and the fraction of
/// the whole operation done (0 to 1, non-decreasing). Called on the working thread: return
/// quickly and do not throw.
#[uniffi::export(with_foreign)]
pub trait ProgressListener: Send + Sync {
    /// One progress event.
    fn on_progress(&self, phase: Phase, fraction: f64);
}

/// Forwards core progress to a foreign listener, at most once per percent (plus every phase
/// change and the final 1.0), so a proof makes ~100 foreign calls, not one per transcript write.
struct Forward {
    listener: Option<Arc<dyn ProgressListener>>,
    last: Mutex<Option<(core::Phase, f64)>>,
}

impl Forward {
    fn new(listener: Option<Arc<dyn ProgressListener>>) -> Self {
        Self { listener, last: Mutex::new(None) }
    }
}

impl core::ProgressListener for Forward {
    fn on_progress(&self, phase: core::Phase, fraction: f64) {
        let Some(listener) = &self.listener else { return };
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            let due = match *last {
                None => true,
                Some((p, f)) => p != phase || fraction - f >= 0.01 || (fraction >= 1.0 && f < 1.0),
            };
            if !due {
                return;
            }
            *last = Some((phase, fraction));
        }
        listener.on_progress(phase.into(), fraction.clamp(0.0, 1.0));
    }
}

/// A cancellation flag shared between the app and a running operation.
#[derive(Debug, Default, uniffi::Object)]
pub struct CancellationToken(core::CancellationToken);

#[uniffi::export]
impl CancellationToken {
    /// A fresh, unset token.
    #[uniffi::constructor]
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Requests cancellation: the operation stops at its next checkpoint and fails with
    /// `Cancelled`.
    pub fn cancel(&self) {
        self.0.cancel()
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.is_cancelled()
    }
}

fn token(cancel: Option<Arc<CancellationToken>>) -> core::CancellationToken {
    cancel.map(|c| c.0.clone()).unwrap_or_default()
}

/// Configuration of a [`Prover`].
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ProverConfig {
    /// A directory for the SRS and proving-key caches (the app's cache directory: the files
    /// can be regenerated, and proving keys are 290 MB to 1.2 GB for the full-size models).
    pub cache_dir: String,
    /// Refuse to start an operation whose estimated peak memory exceeds this many MiB. `None`:
    /// the memory the OS says this process can still get: `MemAvailable` on Android and Linux,
    /// `os_proc_available_memory()` on iOS (the app's remaining jetsam allowance, which is
    /// what gets an app killed); no check on other systems.
    #[uniffi(default = None)]
    pub memory_budget_mib: Option<u64>,
    /// Worker threads for key generation and proving (`None`: one per core). Fewer threads
    /// leave cores to the UI and use less memory per thread, at the cost of time. 0 is
    /// `InvalidInput`.
    #[uniffi(default = None)]
    pub threads: Option<u32>,
}

/// Where a proving key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum KeySource {
    /// Loaded from the cache.
    Cache,
    /// Generated and cached.
    Generated,
    /// Generated because the cached file was corrupt or stale.
    Regenerated,
}

impl From<core::KeySource> for KeySource {
    fn from(k: core::KeySource) -> Self {
        match k {
            core::KeySource::Cache => KeySource::Cache,
            core::KeySource::Generated => KeySource::Generated,
            core::KeySource::Regenerated => KeySource::Regenerated,
        }
    }
}

/// The result of [`Prover::prepare`].
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PreparedModel {
    /// The model id.
    pub model_id: String,
    /// Circuit size exponent.
    pub k: u32,
    /// Where the proving key came from.
    pub key_source: KeySource,
    /// Fingerprint of the verifying key (hex), the same for every device.
    pub vk_fingerprint: String,
    /// Whether the insecure development SRS is in use.
    pub insecure_srs: bool,
    /// Wall-clock seconds the preparation took.
    pub seconds: f64,
}

/// Proves enrollments. Holds the prepared models (proving keys in memory) and what it has
/// measured about this device's speed. Thread-safe; create one per app and share it.
///
/// **One operation at a time.** `prepare` and `prove` each use all the prover's threads and
/// up to the estimated peak memory; a second one started while one runs fails at once with
/// `ZkirisError.Busy` and starts nothing (two at once would double the peak memory). Queue
/// them in the app. `estimate`, `verifier` and `release` never wait.
#[derive(uniffi::Object)]
pub struct Prover {
    cache_dir: PathBuf,
    memory_budget_mib: Option<u64>,
    /// The worker pool when `ProverConfig.threads` is set (else rayon's global pool).
    pool: Option<rayon::ThreadPool>,
    busy: AtomicBool,
    setups: Mutex<HashMap<[u8; 32], ProvingSetup>>,
    /// Measured time / reference-estimate ratio (exponential average), once measured.
    device_factor: Mutex<Option<f64>>,
}

/// Holds a [`Prover`]'s single-flight flag; clears it when dropped (also on error or panic).
struct Running<'a>(&'a AtomicBool);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section here is a single insert or read: a panic cannot leave them torn.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(target_os = "ios")]
extern "C" {
    /// `<os/proc.h>`, iOS 13+: bytes this process can still allocate before it reaches its
    /// memory limit (jetsam); 0 when not applicable.
    fn os_proc_available_memory() -> usize;
}

/// MiB of memory this process can still use, where the OS tells: `MemAvailable` on Linux and
/// Android, `os_proc_available_memory()` on iOS.
pub(crate) fn available_memory_mib() -> Option<u64> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let text = std::fs::read_to_string("/proc/meminfo").ok()?;
        let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib / 1024)
    }
    #[cfg(target_os = "ios")]
    {
        // SAFETY: a plain C function without arguments or preconditions (iOS 13+, the
        // package's minimum).
        let bytes = unsafe { os_proc_available_memory() };
        (bytes > 0).then(|| bytes as u64 / (1024 * 1024))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "ios")))]
    {
        None
    }
}

impl std::fmt::Debug for Prover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prover").field("cache_dir", &self.cache_dir).field("prepared", &lock(&self.setups).len()).finish_non_exhaustive()
    }
}

impl Prover {
    fn check_memory(&self, required_mib: f64) -> Result<(), ZkirisError> {
        let available = self.memory_budget_mib.or_else(available_memory_mib);
        match available {
            Some(available_mib) if required_mib > available_mib as f64 => {
                Err(ZkirisError::OutOfMemoryEstimate { required_mib: required_mib.ceil() as u64, available_mib })
            }
            _ => Ok(()),
        }
    }

    /// Claims the single-flight flag, or `Busy`.
    fn start(&self) -> Result<Running<'_>, ZkirisError> {
        self.busy.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).map_err(|_| ZkirisError::Busy)?;
        Ok(Running(&self.busy))
    }

    /// Runs `f` on the prover's worker pool (its own if `threads` was set).
    fn on_pool<T: Send>(&self, f: impl FnOnce() -> T + Send) -> T {
        match &self.pool {
            Some(pool) => pool.install(f),
            None => f(),
        }
    }

    fn calibrate(&self, measured_seconds: f64, estimated_seconds: f64) {
        if !(estimated_seconds > 0.0 && measured_seconds > 0.0) {
            return;
        }
        let ratio = (measured_seconds / estimated_seconds).clamp(0.01, 1000.0);
        let mut f = lock(&self.device_factor);
        *f = Some(match *f {
            Some(old) => 0.5 * old + 0.5 * ratio,
            None => ratio,
        });
    }

    fn setup(&self, model: &Model) -> Result<ProvingSetup, ZkirisError> {
        lock(&self.setups).get(&model.core().id()).cloned().ok_or_else(|| ZkirisError::NotPrepared { model_id: model.id() })
    }
}

#[uniffi::export]
impl Prover {
    /// A prover caching its SRS and proving keys under `config.cache_dir` (created if missing).
    #[uniffi::constructor]
    pub fn new(config: ProverConfig) -> Result<Arc<Self>, ZkirisError> {
        guard(|| {
            let pool = match config.threads {
                None => None,
                Some(0) => return Err(ZkirisError::invalid("ProverConfig.threads must be at least 1 (or null for one per core)")),
                Some(n) => Some(
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(n as usize)
                        .thread_name(|i| format!("zkiris-prover-{i}"))
                        .build()
                        .map_err(|e| ZkirisError::Internal { detail: format!("cannot start {n} prover threads: {e}") })?,
                ),
            };
            let cache_dir = PathBuf::from(&config.cache_dir);
            std::fs::create_dir_all(&cache_dir)
                .map_err(|e| ZkirisError::Storage { detail: format!("cannot create the cache directory {}: {e}", cache_dir.display()) })?;
            Ok(Arc::new(Self {
                cache_dir,
                memory_budget_mib: config.memory_budget_mib,
                pool,
                busy: AtomicBool::new(false),
                setups: Mutex::new(HashMap::new()),
                device_factor: Mutex::new(None),
            }))
        })
    }

    /// Prepares `model` for proving: plans the circuit, obtains the SRS, and loads the proving
    /// key from the cache or generates it (slow the first time: see `estimate`). Reports
    /// progress and can be cancelled. Blocks its thread (the Kotlin and Swift layers run it in
    /// the background).
    ///
    /// Fails with `Busy` if this prover is already preparing or proving, and with
    /// `OutOfMemoryEstimate` before allocating anything if the larger of the estimated
    /// key-generation and proving peaks exceeds the memory available (see `ProverConfig`).
    pub fn prepare(
        &self,
        model: Arc<Model>,
        srs: SrsSource,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<PreparedModel, ZkirisError> {
        guard(|| {
            let _running = self.start()?;
            let estimate = model.core_estimate()?;
            self.check_memory(estimate.peak_memory_mib.max(estimate.keygen_peak_memory_mib))?;
            let t0 = Instant::now();
            let (srs, listener, cancel) = (srs.into(), Forward::new(listener), token(cancel));
            let setup = self.on_pool(|| ProvingSetup::prepare(model.core().clone(), &srs, Some(&self.cache_dir), &listener, &cancel))?;
            let seconds = t0.elapsed().as_secs_f64();
            if setup.key_source() != core::KeySource::Cache {
                self.calibrate(seconds, estimate.keygen_seconds);
            }
            let prepared = PreparedModel {
                model_id: model.id(),
                k: setup.srs().k(),
                key_source: setup.key_source().into(),
                vk_fingerprint: hex::encode(setup.vk_fingerprint()),
                insecure_srs: setup.srs().is_insecure(),
                seconds,
            };
            lock(&self.setups).insert(model.core().id(), setup);
            Ok(prepared)
        })
    }

    /// Proves that the enrollment `record_id` in `vault` encodes, through `model`, to the iris
    /// code in the returned bundle, and that it matches its signed commitment: the same as
    /// `proveWithOptions` with default options (no submission binding, no party keys). For
    /// `MpcShares` models, and for proofs a registry should accept, use `proveWithOptions`.
    pub fn prove(
        &self,
        vault: Arc<Vault>,
        record_id: String,
        model: Arc<Model>,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<Arc<ProofBundle>, ZkirisError> {
        self.prove_with_options(vault, record_id, model, ProveOptions::default(), listener, cancel)
    }

    /// Proves that the enrollment `record_id` in `vault` encodes, through `model`, to an iris
    /// code, and that it matches its signed commitment; `model` must have been prepared.
    ///
    /// - `PublicCode` models: the code is in the bundle (`irisCode`, `maskCode`).
    /// - `MpcShares` models: `options.partyKeys` must hold the three MPC parties' public keys
    ///   in party order; the code is secret-shared, each share encrypted to its party, and
    ///   the bundle carries the three envelopes and `S_1, S_2, S_3` but no code.
    ///
    /// `options.binding` binds the proof to the account that will submit it (see
    /// `SubmissionBinding`). The options are checked before anything is proven
    /// (`MissingPartyKeys`, `UnexpectedPartyKeys`, `InvalidPartyKey`, `InvalidInput`). Blocks
    /// until done, reporting progress to `listener`; `cancel` stops it with `Cancelled`.
    /// `Busy` if this prover is already preparing or proving; `OutOfMemoryEstimate` before
    /// anything is allocated if the proving peak exceeds the memory available.
    pub fn prove_with_options(
        &self,
        vault: Arc<Vault>,
        record_id: String,
        model: Arc<Model>,
        options: ProveOptions,
        listener: Option<Arc<dyn ProgressListener>>,
        cancel: Option<Arc<CancellationToken>>,
    ) -> Result<Arc<ProofBundle>, ZkirisError> {
        guard(|| {
            let _running = self.start()?;
            let id = parse_record_id(&record_id)?;
            let options = core_options(&options, model.core().manifest().rules.submission, &model.id())?;
            let setup = self.setup(&model)?;
            let estimate = model.core_estimate()?;
            self.check_memory(estimate.peak_memory_mib)?;
            let cancel = token(cancel);
            if cancel.is_cancelled() {
                return Err(ZkirisError::Cancelled);
            }
            let record = vault.core().get(&id)?;
            let attestation = Attestation { device: record.device(), signature: *record.signature() };
            let t0 = Instant::now();
            let listener = Forward::new(listener);
            let bundle = self.on_pool(|| setup.prove(record.image(), record.mask(), record.salt(), Some(attestation), &options, &listener, &cancel))?;
            drop(record);
            self.calibrate(t0.elapsed().as_secs_f64(), estimate.prove_seconds);
            Ok(Arc::new(ProofBundle::new(bundle)?))
        })
    }

    /// The expected time and memory of proving with `model` on this device: the reference
    /// estimate scaled by the speed this prover has measured (by its keygens and proofs;
    /// uncalibrated until the first one).
    pub fn estimate(&self, model: Arc<Model>) -> Result<ProvingEstimate, ZkirisError> {
        guard(|| {
            let e = model.core_estimate()?;
            let factor = *lock(&self.device_factor);
            Ok(ProvingEstimate::from_core(&e, factor.unwrap_or(1.0), factor.is_some()))
        })
    }

    /// A verifier for a prepared model (no extra key generation).
    pub fn verifier(&self, model: Arc<Model>) -> Result<Arc<Verifier>, ZkirisError> {
        guard(|| Ok(Arc::new(Verifier::from_core(self.setup(&model)?.verifier()))))
    }

    /// Forgets the prepared model (frees its proving key; the cached file stays).
    pub fn release(&self, model: Arc<Model>) {
        lock(&self.setups).remove(&model.core().id());
    }
}
