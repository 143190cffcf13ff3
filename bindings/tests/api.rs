//! The exported API exercised from Rust, the way the foreign bindings call it: the model from
//! downloaded bytes, a vault with an app-side key provider, prepare, prove, verify, typed
//! errors, cancellation, and panics stopped at the boundary.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use zkiris::vault::KeyProvider as _;
use zkiris_ffi::*;

// ---- sync adapters over the async exports (Kotlin and Swift await them; here a minimal
// executor parks the test thread until the worker thread wakes it) and the INSECURE
// development keys, which the bindings do not export (this crate's tests enable `dev-keys`).

struct Unpark(std::thread::Thread);
impl std::task::Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

fn development_issuer() -> TrustedIssuer {
    TrustedIssuer { key_id: zkiris::model::DEV_ISSUER_KEY_ID.into(), public_key: zkiris::model::dev_issuer_key().public_key_hex() }
}

fn development_device_id() -> String {
    zkiris::attest::dev_device_id().to_string()
}

fn development_device() -> Arc<EnrollmentDevice> {
    EnrollmentDevice::from_secret_key(zkiris::attest::dev_device_key().to_bytes().to_vec()).unwrap()
}

fn model_new(onnx: Vec<u8>, manifest: Vec<u8>, issuers: Vec<TrustedIssuer>) -> Result<Arc<Model>, ZkirisError> {
    block_on(Model::load(onnx, manifest, issuers))
}

fn vault_create(dir: String, keys: Arc<dyn KeyProvider>) -> Result<Arc<Vault>, ZkirisError> {
    block_on(Vault::create(dir, keys))
}

fn vault_open(dir: String, keys: Arc<dyn KeyProvider>) -> Result<Arc<Vault>, ZkirisError> {
    block_on(Vault::open(dir, keys))
}

fn vault_create_with_passphrase(dir: String, passphrase: Vec<u8>, kdf: Option<KdfCost>) -> Result<Arc<Vault>, ZkirisError> {
    block_on(Vault::create_with_passphrase(dir, passphrase, kdf))
}

fn vault_open_with_passphrase(dir: String, passphrase: Vec<u8>) -> Result<Arc<Vault>, ZkirisError> {
    block_on(Vault::open_with_passphrase(dir, passphrase))
}

fn verifier_new(model: Arc<Model>, srs: SrsSource, cache_dir: String) -> Result<Arc<Verifier>, ZkirisError> {
    block_on(Verifier::load(model, srs, cache_dir))
}

trait Now {
    fn enroll_now(&self, e: Enrollment, trusted: Vec<String>) -> Result<String, ZkirisError>;
    fn delete_now(&self, id: String) -> Result<(), ZkirisError>;
    fn rotate_now(&self, keys: Arc<dyn KeyProvider>) -> Result<(), ZkirisError>;
    fn rotate_to_passphrase_now(&self, passphrase: Vec<u8>, kdf: Option<KdfCost>) -> Result<(), ZkirisError>;
    fn check_now(&self) -> Result<VaultCheckReport, ZkirisError>;
}

impl Now for Arc<Vault> {
    fn enroll_now(&self, e: Enrollment, trusted: Vec<String>) -> Result<String, ZkirisError> {
        block_on(self.clone().enroll(e, trusted))
    }
    fn delete_now(&self, id: String) -> Result<(), ZkirisError> {
        block_on(self.clone().delete(id))
    }
    fn rotate_now(&self, keys: Arc<dyn KeyProvider>) -> Result<(), ZkirisError> {
        block_on(self.clone().rotate(keys))
    }
    fn rotate_to_passphrase_now(&self, passphrase: Vec<u8>, kdf: Option<KdfCost>) -> Result<(), ZkirisError> {
        block_on(self.clone().rotate_to_passphrase(passphrase, kdf))
    }
    fn check_now(&self) -> Result<VaultCheckReport, ZkirisError> {
        block_on(self.clone().check())
    }
}

fn verify_now(verifier: &Arc<Verifier>, bundle: Arc<ProofBundle>) -> Result<VerifiedStatement, ZkirisError> {
    block_on(verifier.clone().verify(bundle))
}

fn estimate_now(model: &Arc<Model>) -> Result<ProvingEstimate, ZkirisError> {
    block_on(model.clone().estimate())
}

fn model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/test-tiny")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(model_dir().join(name)).unwrap()
}

fn model() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| model_new(read("model.onnx"), read("manifest.json"), vec![development_issuer()]).unwrap()).clone()
}

fn cache() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

/// The prover the tests share, as an app shares one: a `Prover` runs one operation at a time
/// (`Busy` otherwise), so, like an app, the tests queue their calls (here: retry on `Busy`).
struct Shared(Arc<Prover>);

fn retry_busy<T>(f: impl Fn() -> Result<T, ZkirisError>) -> Result<T, ZkirisError> {
    loop {
        match f() {
            Err(ZkirisError::Busy) => std::thread::sleep(std::time::Duration::from_millis(20)),
            other => return other,
        }
    }
}

impl Shared {
    fn prepare(
        &self,
        m: Arc<Model>,
        srs: SrsSource,
        l: Option<Arc<dyn ProgressListener>>,
        c: Option<Arc<CancellationToken>>,
    ) -> Result<PreparedModel, ZkirisError> {
        retry_busy(|| self.0.prepare(m.clone(), srs.clone(), l.clone(), c.clone()))
    }
    fn prove(
        &self,
        v: Arc<Vault>,
        id: String,
        m: Arc<Model>,
        l: Option<Arc<dyn ProgressListener>>,
        c: Option<Arc<CancellationToken>>,
    ) -> Result<Arc<ProofBundle>, ZkirisError> {
        retry_busy(|| self.0.prove(v.clone(), id.clone(), m.clone(), l.clone(), c.clone()))
    }
    fn prove_with_options(
        &self,
        v: Arc<Vault>,
        id: String,
        m: Arc<Model>,
        o: ProveOptions,
        l: Option<Arc<dyn ProgressListener>>,
        c: Option<Arc<CancellationToken>>,
    ) -> Result<Arc<ProofBundle>, ZkirisError> {
        retry_busy(|| self.0.prove_with_options(v.clone(), id.clone(), m.clone(), o.clone(), l.clone(), c.clone()))
    }
}

impl std::ops::Deref for Shared {
    type Target = Prover;
    fn deref(&self) -> &Prover {
        &self.0
    }
}

/// One prover with the test model prepared.
fn prover() -> Shared {
    static P: OnceLock<Arc<Prover>> = OnceLock::new();
    Shared(
        P.get_or_init(|| {
            let p = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: None }).unwrap();
            p.prepare(model(), SrsSource::Development, None, None).unwrap();
            p
        })
        .clone(),
    )
}

/// An app-side key provider (what a platform keystore does), backed by the core's AEAD.
struct TestKeys(zkiris::vault::RawKeyProvider);

impl TestKeys {
    fn new(id: &str, key: u8) -> Arc<Self> {
        Arc::new(Self(zkiris::vault::RawKeyProvider::new(id, &[key; 32])))
    }
}

impl KeyProvider for TestKeys {
    fn key_id(&self) -> String {
        self.0.key_id()
    }
    fn wrap(&self, data_key: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        self.0.wrap(&data_key).map_err(|e| KeyProviderError::Unavailable { reason: e.to_string() })
    }
    fn unwrap(&self, wrapped: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        match self.0.unwrap(&wrapped) {
            Ok(k) => Ok(k.to_vec()),
            Err(zkiris::vault::KeyError::WrongKey) => Err(KeyProviderError::WrongKey),
            Err(e) => Err(KeyProviderError::Unavailable { reason: e.to_string() }),
        }
    }
}

fn sample() -> (IrisImageData, IrisImageData) {
    (iris_image_from_png(read("sample.png")).unwrap(), iris_mask_from_png(read("sample_mask.png")).unwrap())
}

/// A vault in a fresh directory holding one enrollment of the sample.
fn enrolled_vault() -> (tempfile::TempDir, Arc<Vault>, String) {
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_create(dir.path().display().to_string(), TestKeys::new("test-key", 1)).unwrap();
    let (image, mask) = sample();
    let enrollment = block_on(development_device().enroll(image, mask)).unwrap();
    let id = vault.enroll_now(enrollment, vec![development_device_id()]).unwrap();
    (dir, vault, id)
}

#[derive(Default)]
struct Events(Mutex<Vec<(Phase, f64)>>);

impl ProgressListener for Events {
    fn on_progress(&self, phase: Phase, fraction: f64) {
        self.0.lock().unwrap().push((phase, fraction));
    }
}

#[test]
fn enroll_prove_verify_through_the_exported_api() {
    let (_dir, vault, id) = enrolled_vault();
    let listed = vault.list();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].device_id, development_device_id());

    let events = Arc::new(Events::default());
    let bundle = prover().prove(vault.clone(), id.clone(), model(), Some(events.clone()), None).unwrap();
    let ev = events.0.lock().unwrap().clone();
    assert!(ev.iter().any(|(p, _)| *p == Phase::Prove), "{ev:?}");
    assert!(ev.windows(2).all(|w| w[1].1 >= w[0].1), "non-decreasing: {ev:?}");
    assert_eq!(ev.last().map(|e| e.1), Some(1.0));
    assert!(ev.len() <= 110, "throttled to about one event per percent, got {}", ev.len());

    let statement = verify_now(&prover().verifier(model()).unwrap(), bundle.clone()).unwrap();
    assert_eq!(statement.commitment, listed[0].commitment);
    assert_eq!(statement.iris_code, bundle.iris_code());
    assert_eq!(statement.model_id, model().id());
    assert_eq!(bundle.device_id(), Some(development_device_id()));
    assert!(bundle.insecure_srs());
    // A public-code proof without options: the codes, no envelopes, binding 0 (unbound).
    assert_eq!(model().submission(), Submission::PublicCode);
    assert_eq!((bundle.submission(), statement.submission), (Submission::PublicCode, Submission::PublicCode));
    assert!(bundle.envelopes().is_empty() && bundle.share_commitments().is_empty());
    assert_eq!(bundle.binding(), vec![0u8; 32]);
    assert_eq!(statement.binding, vec![0u8; 32]);
    let popcount: u32 = bundle.mask_code().iter().map(|b| b.count_ones()).sum();
    assert_eq!((bundle.valid_bits(), statement.valid_bits), (Some(popcount), Some(popcount)));

    // The bundle survives a byte round trip and verifies with an independently built verifier.
    let again = ProofBundle::from_bytes(bundle.to_bytes()).unwrap();
    let verifier = verifier_new(model(), SrsSource::Development, cache().path().display().to_string()).unwrap();
    assert_eq!(verify_now(&verifier, again.clone()).unwrap(), statement);

    // EVM calldata: the verifier's is every public input as a word, then the proof.
    let calldata = again.verifier_calldata().unwrap();
    assert_eq!(calldata.len(), 32 * again.public_inputs().len() + again.proof().len());
    assert_eq!(&calldata[..32], &again.commitment()[..]);
    assert_eq!(&calldata[calldata.len() - again.proof().len()..], &again.proof()[..]);
    let register = again.register_calldata().unwrap();
    assert_eq!(&register[..4], &zkiris::evm::calldata::selector(zkiris::evm::calldata::REGISTER_SIG));
    assert_eq!(&again.upgrade_calldata().unwrap()[..4], &zkiris::evm::calldata::selector(zkiris::evm::calldata::UPGRADE_SIG));

    // The estimate is calibrated by the measured keygen and proof.
    let e = prover().estimate(model()).unwrap();
    assert!(e.calibrated && e.device_factor > 0.0 && e.k > 0, "{e:?}");
    assert!(!estimate_now(&model()).unwrap().calibrated);
}

#[test]
fn vault_errors_are_typed() {
    let (dir, vault, id) = enrolled_vault();
    let path = dir.path().display().to_string();
    drop(vault);
    // Same key id, another key: WrongKey.
    assert!(matches!(vault_open(path.clone(), TestKeys::new("test-key", 2)), Err(ZkirisError::WrongKey { .. })));
    // Another key id: WrongKey too (the vault names its key).
    assert!(matches!(vault_open(path.clone(), TestKeys::new("other", 1)), Err(ZkirisError::WrongKey { .. })));
    // A provider that reports its key unavailable.
    struct Locked;
    impl KeyProvider for Locked {
        fn key_id(&self) -> String {
            "test-key".into()
        }
        fn wrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Unavailable { reason: "user cancelled".into() })
        }
        fn unwrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Unavailable { reason: "user cancelled".into() })
        }
    }
    assert!(matches!(vault_open(path.clone(), Arc::new(Locked)), Err(ZkirisError::KeyUnavailable { detail }) if detail.contains("user cancelled")));

    // A flipped byte in the record file: Tampered when proving from it.
    let vault = vault_open(path.clone(), TestKeys::new("test-key", 1)).unwrap();
    let rec = dir.path().join(format!("{id}.rec"));
    let mut bytes = std::fs::read(&rec).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0x01;
    std::fs::write(&rec, bytes).unwrap();
    let r = prover().prove(vault.clone(), id.clone(), model(), None, None);
    assert!(matches!(r, Err(ZkirisError::Tampered { .. })), "{:?}", r.err());

    assert!(matches!(prover().prove(vault.clone(), "not-an-id".into(), model(), None, None), Err(ZkirisError::InvalidInput { .. })));
    let missing = "00".repeat(16);
    assert!(matches!(prover().prove(vault.clone(), missing.clone(), model(), None, None), Err(ZkirisError::NotFound { record_id }) if record_id == missing));
    assert!(matches!(vault.delete_now(id.clone()), Ok(())));
    assert!(vault.list().is_empty());

    // Enrollments from untrusted devices or with a forged commitment are refused.
    let (image, mask) = sample();
    let enrollment = block_on(development_device().enroll(image, mask)).unwrap();
    assert!(matches!(vault.enroll_now(enrollment.clone(), vec![]), Err(ZkirisError::EnrollmentRejected { .. })));
    let mut forged = enrollment.clone();
    forged.image.pixels[0] ^= 1;
    assert!(matches!(vault.enroll_now(forged, vec![development_device_id()]), Err(ZkirisError::EnrollmentRejected { .. })));
    let mut short = enrollment;
    short.salt.pop();
    assert!(matches!(vault.enroll_now(short, vec![development_device_id()]), Err(ZkirisError::InvalidInput { .. })));
}

#[test]
fn passphrase_vaults_rotate_to_a_platform_key_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let cheap = Some(kdf_cost_minimum());
    let vault = vault_create_with_passphrase(path.clone(), "correct horse".into(), cheap).unwrap();
    let (image, mask) = sample();
    let id = vault.enroll_now(block_on(development_device().enroll(image, mask)).unwrap(), vec![development_device_id()]).unwrap();
    drop(vault);
    assert!(matches!(vault_open_with_passphrase(path.clone(), "wrong horse".into()), Err(ZkirisError::WrongKey { .. })));
    let vault = vault_open_with_passphrase(path.clone(), "correct horse".into()).unwrap();
    let generation = vault.generation();
    vault.rotate_now(TestKeys::new("platform", 9)).unwrap();
    assert!(vault.generation() > generation);
    assert_eq!(vault.key_id(), "platform");
    drop(vault);
    assert!(vault_open_with_passphrase(path.clone(), "correct horse".into()).is_err());
    let vault = vault_open(path.clone(), TestKeys::new("platform", 9)).unwrap();
    assert_eq!(vault.list()[0].id, id);
    vault.rotate_to_passphrase_now("new horse".into(), cheap).unwrap();
    drop(vault);
    assert_eq!(vault_open_with_passphrase(path, "new horse".into()).unwrap().list().len(), 1);
}

#[test]
fn model_errors_are_typed() {
    let onnx = read("model.onnx");
    let manifest = read("manifest.json");
    // Nobody trusted.
    assert!(matches!(model_new(onnx.clone(), manifest.clone(), vec![]), Err(ZkirisError::UntrustedModel { .. })));
    // Altered ONNX bytes.
    let mut altered = onnx.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(matches!(model_new(altered, manifest.clone(), vec![development_issuer()]), Err(ZkirisError::UntrustedModel { .. })));
    // Garbage manifest, bad issuer key.
    assert!(matches!(model_new(onnx.clone(), b"{".to_vec(), vec![development_issuer()]), Err(ZkirisError::UntrustedModel { .. })));
    let bad = TrustedIssuer { key_id: "x".into(), public_key: "zz".into() };
    assert!(matches!(model_new(onnx, manifest, vec![bad]), Err(ZkirisError::InvalidInput { .. })));
    assert!(matches!(ProofBundle::from_bytes(b"garbage".to_vec()), Err(ZkirisError::MalformedBundle { .. })));
}

#[test]
fn prover_refusals_are_typed() {
    let (_dir, vault, id) = enrolled_vault();
    // Not prepared.
    let fresh = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: None }).unwrap();
    assert!(matches!(fresh.prove(vault.clone(), id.clone(), model(), None, None), Err(ZkirisError::NotPrepared { .. })));
    assert!(matches!(fresh.verifier(model()), Err(ZkirisError::NotPrepared { .. })));
    // A memory budget below the estimate refuses before any work.
    let small = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: Some(1), threads: None }).unwrap();
    match small.prepare(model(), SrsSource::Development, None, None) {
        Err(ZkirisError::OutOfMemoryEstimate { required_mib, available_mib: 1 }) => assert!(required_mib > 1),
        other => panic!("expected OutOfMemoryEstimate, got {other:?}"),
    }
    // A pre-cancelled token.
    let token = CancellationToken::new();
    token.cancel();
    assert!(matches!(prover().prove(vault.clone(), id.clone(), model(), None, Some(token)), Err(ZkirisError::Cancelled)));
    // A missing ceremony file.
    let r = fresh.prepare(model(), SrsSource::File { path: "/nonexistent/params.srs".into() }, None, None);
    assert!(matches!(r, Err(ZkirisError::SrsUnavailable { .. })), "{r:?}");
    // An enrollment with no valid mask bits: typed threshold failure, before proving.
    let (image, mask) = sample();
    let empty = IrisImageData { pixels: vec![0; mask.pixels.len()], ..mask };
    let weak = vault.enroll_now(block_on(development_device().enroll(image, empty)).unwrap(), vec![development_device_id()]).unwrap();
    let r = prover().prove(vault, weak, model(), None, None);
    assert!(matches!(r, Err(ZkirisError::InsufficientValidBits { valid: 0, required }) if required == model().min_valid_bits()), "{r:?}");
}

/// Cancels its token on the `at`-th prove-phase event.
struct CancelAt {
    token: Arc<CancellationToken>,
    at: usize,
    seen: AtomicUsize,
}

impl ProgressListener for CancelAt {
    fn on_progress(&self, phase: Phase, _: f64) {
        if phase == Phase::Prove && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
            self.token.cancel();
        }
    }
}

#[test]
fn a_running_proof_is_cancelled() {
    let (_dir, vault, id) = enrolled_vault();
    let token = CancellationToken::new();
    let listener = Arc::new(CancelAt { token: token.clone(), at: 3, seen: AtomicUsize::new(0) });
    let r = prover().prove(vault.clone(), id.clone(), model(), Some(listener.clone()), Some(token.clone()));
    assert!(matches!(r, Err(ZkirisError::Cancelled)), "{:?}", r.err());
    assert!(token.is_cancelled());
    // The prover is still usable.
    assert!(prover().prove(vault, id, model(), None, None).is_ok());
}

struct PanickingListener(AtomicBool);

impl ProgressListener for PanickingListener {
    fn on_progress(&self, _: Phase, _: f64) {
        self.0.store(true, Ordering::SeqCst);
        panic!("listener bug");
    }
}

struct PanickingKeys;

impl KeyProvider for PanickingKeys {
    fn key_id(&self) -> String {
        panic!("key provider bug")
    }
    fn wrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        unreachable!()
    }
    fn unwrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
        unreachable!()
    }
}

#[test]
fn panics_are_stopped_at_the_boundary() {
    // A panic inside prepare (outside halo2) and inside proving both come back as Internal.
    let p = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: None }).unwrap();
    let listener = Arc::new(PanickingListener(AtomicBool::new(false)));
    let r = p.prepare(model(), SrsSource::Development, Some(listener.clone()), None);
    assert!(listener.0.load(Ordering::SeqCst));
    assert!(matches!(&r, Err(ZkirisError::Internal { detail }) if detail.contains("listener bug")), "{r:?}");

    let (_dir, vault, id) = enrolled_vault();
    let r = prover().prove(vault.clone(), id.clone(), model(), Some(Arc::new(PanickingListener(AtomicBool::new(false)))), None);
    assert!(matches!(&r, Err(ZkirisError::Internal { .. })), "{r:?}");

    let dir = tempfile::tempdir().unwrap();
    let r = vault_create(dir.path().display().to_string(), Arc::new(PanickingKeys));
    assert!(matches!(&r, Err(ZkirisError::Internal { detail }) if detail.contains("key provider bug")), "{:?}", r.err());

    // Everything still works afterwards.
    assert!(prover().prove(vault, id, model(), None, None).is_ok());
}

// ---- mpc-shares: private code submission -------------------------------------------------

fn mpc_read(name: &str) -> Vec<u8> {
    std::fs::read(model_dir().join("../test-tiny-mpc").join(name)).unwrap()
}

/// The mpc-shares tiny model (`models/test-tiny-mpc`: the same network, `"submission":
/// "mpc-shares"`), prepared on the shared prover.
fn mpc_model() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| {
        let m = model_new(mpc_read("model.onnx"), mpc_read("manifest.json"), vec![development_issuer()]).unwrap();
        assert_eq!(m.submission(), Submission::MpcShares);
        prover().prepare(m.clone(), SrsSource::Development, None, None).unwrap();
        m
    })
    .clone()
}

fn binding() -> SubmissionBinding {
    SubmissionBinding { chain_id: 31337, registry: vec![0x11; 20], account: vec![0x22; 20] }
}

#[test]
fn mpc_shares_prove_verify_and_open_through_the_exported_api() {
    use zkiris::mpc::{combine, Party, PartySecretKey, ShareEnvelope, ShareFile, StatementId};

    // 32 big-endian bytes as a field element (the envelopes' statement is in field elements).
    let fr = |bytes: &[u8]| zkiris::public::fr_from_be(bytes.try_into().unwrap()).expect("a canonical field element");
    let (_dir, vault, id) = enrolled_vault();
    let sks = [0, 1, 2].map(|_| PartySecretKey::generate());
    let pks: Vec<Vec<u8>> = sks.iter().map(|k| k.public_key().to_bytes()).collect();
    let options = ProveOptions { binding: Some(binding()), party_keys: pks.clone(), ..ProveOptions::default() };
    let bundle = prover().prove_with_options(vault.clone(), id.clone(), mpc_model(), options, None, None).unwrap();

    // No code leaves the phone: three envelopes, S_1..S_3, no iris or mask code, no valid bits.
    assert_eq!(bundle.submission(), Submission::MpcShares);
    assert!(bundle.iris_code().is_empty() && bundle.mask_code().is_empty());
    assert_eq!(bundle.valid_bits(), None);
    let envelopes = bundle.envelopes();
    assert_eq!(envelopes.len(), 3);
    let s = bundle.share_commitments();
    assert_eq!(s.len(), 3);
    assert!(s.iter().all(|c| c.len() == 32));
    // Layout v2: C, min_valid_bits, τ, binding, S_1, S_2, S_3.
    assert_eq!(bundle.public_inputs().len(), 7);
    assert_eq!(bundle.public_inputs()[4..].to_vec(), s);

    // The binding is keccak256(chain id ‖ registry ‖ account) mod r, computed by the core.
    let core_binding = zkiris::public::Binding { chain_id: 31337, registry: [0x11; 20], account: [0x22; 20] };
    let expected_binding = zkiris::public::fr_to_be(&core_binding.to_field()).to_vec();
    assert_eq!(bundle.binding(), expected_binding);
    assert_eq!(submission_binding_value(binding()).unwrap(), expected_binding);
    assert_ne!(expected_binding, vec![0u8; 32]);

    // Verification through the exported Verifier, after a byte round trip.
    let again = ProofBundle::from_bytes(bundle.to_bytes()).unwrap();
    let verifier = prover().verifier(mpc_model()).unwrap();
    let statement = verify_now(&verifier, again).unwrap();
    assert_eq!(statement.submission, Submission::MpcShares);
    assert_eq!(statement.binding, expected_binding);
    assert_eq!(statement.share_commitments, s);
    assert_eq!(statement.model_id, mpc_model().id());
    assert_eq!(statement.commitment, vault.list()[0].commitment);
    assert!(statement.iris_code.is_empty() && statement.valid_bits.is_none());
    // A bundle that lost an envelope, or that carries a code, is refused as malformed.
    let mut core = zkiris::prover::ProofBundle::from_bytes(&bundle.to_bytes()).unwrap();
    core.envelopes.pop();
    let r = verify_now(&verifier, ProofBundle::from_bytes(core.to_bytes()).unwrap());
    assert!(matches!(r, Err(ZkirisError::MalformedBundle { .. })), "{r:?}");
    let mut core = zkiris::prover::ProofBundle::from_bytes(&bundle.to_bytes()).unwrap();
    core.valid_bits = Some(1);
    let r = verify_now(&verifier, ProofBundle::from_bytes(core.to_bytes()).unwrap());
    assert!(matches!(r, Err(ZkirisError::MalformedBundle { .. })), "{r:?}");

    // Each party opens its envelope with its secret key against the verified statement and
    // S_p; `open` recomputes S_p over the decrypted share and refuses a mismatch.
    let model_id: [u8; 32] = hex::decode(statement.model_id.clone()).unwrap().try_into().unwrap();
    let st = StatementId::new(model_id, fr(&statement.commitment), fr(&statement.binding));
    let mut files = Vec::new();
    for p in 0..3 {
        let env = ShareEnvelope::from_bytes(&envelopes[p]).unwrap();
        assert_eq!(env.party(), Party::ALL[p]);
        let s_p = fr(&statement.share_commitments[p]);
        let share = env.open(&sks[p], Party::ALL[p], &st, s_p).unwrap();
        assert_eq!(share.commitment(), s_p);
        // Another party's key, or another party's S_p, does not open it.
        assert!(env.open(&sks[(p + 1) % 3], Party::ALL[p], &st, s_p).is_err());
        let other_s = fr(&statement.share_commitments[(p + 1) % 3]);
        assert!(env.open(&sks[p], Party::ALL[p], &st, other_s).is_err());
        files.push(ShareFile::from_statement(share, &st));
    }
    // An unbound statement id (binding 0) does not open the envelopes either.
    let unbound = StatementId::new(model_id, st.commitment, zkiris::public::reduce_be(&[0; 32]));
    assert!(ShareEnvelope::from_bytes(&envelopes[0]).unwrap().open(&sks[0], Party::ALL[0], &unbound, fr(&s[0])).is_err());

    // Any two shares give back the masked code of the code that the public-code model proves
    // for the same enrollment (the same network; the codes are public there): the mask, and
    // the code bits under it (World's masked code keeps no code bit where the mask is 0).
    let public = prover()
        .prove_with_options(
            vault.clone(),
            id.clone(),
            model(),
            ProveOptions { binding: Some(binding()), party_keys: vec![], ..ProveOptions::default() },
            None,
            None,
        )
        .unwrap();
    assert_eq!(public.submission(), Submission::PublicCode);
    assert!(public.envelopes().is_empty() && public.share_commitments().is_empty());
    assert_eq!(public.binding(), expected_binding);
    let public_statement = verify_now(&prover().verifier(model()).unwrap(), public.clone()).unwrap();
    assert_eq!(public_statement.binding, expected_binding);
    assert!(public_statement.share_commitments.is_empty());
    let masked: Vec<u8> = public.iris_code().iter().zip(public.mask_code()).map(|(c, m)| c & m).collect();
    assert_ne!(masked, public.iris_code(), "the sample's mask hides some set code bits");
    for (a, b) in [(0, 1), (0, 2), (1, 2)] {
        let (code, mask) = combine(&files[a], &files[b]).unwrap();
        assert_eq!(code.to_vec(), masked, "parties {} and {}", a + 1, b + 1);
        assert_eq!(mask.to_vec(), public.mask_code(), "parties {} and {}", a + 1, b + 1);
    }
    let popcount: u32 = public.mask_code().iter().map(|b| b.count_ones()).sum();
    assert_eq!(public.valid_bits(), Some(popcount));
    assert!(popcount >= mpc_model().min_valid_bits());
}

#[test]
fn party_key_errors_are_typed() {
    use zkiris::mpc::PartySecretKey;

    let (_dir, vault, id) = enrolled_vault();
    let sks = [0, 1, 2].map(|_| PartySecretKey::generate());
    let pks: Vec<Vec<u8>> = sks.iter().map(|k| k.public_key().to_bytes()).collect();
    // A prover without the mpc model prepared: every refusal below comes before any work
    // (otherwise it would say NotPrepared).
    let fresh = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: None }).unwrap();
    let mpc = model_new(mpc_read("model.onnx"), mpc_read("manifest.json"), vec![development_issuer()]).unwrap();
    let prove = |model: &Arc<Model>, keys: Vec<Vec<u8>>| {
        fresh.prove_with_options(
            vault.clone(),
            id.clone(),
            model.clone(),
            ProveOptions { binding: Some(binding()), party_keys: keys, ..ProveOptions::default() },
            None,
            None,
        )
    };

    // Missing: none (also through the option-less `prove`), or fewer than three.
    let r = prove(&mpc, vec![]);
    assert!(matches!(&r, Err(ZkirisError::MissingPartyKeys { model_id, given: 0 }) if *model_id == mpc.id()), "{r:?}");
    let r = fresh.prove(vault.clone(), id.clone(), mpc.clone(), None, None);
    assert!(matches!(r, Err(ZkirisError::MissingPartyKeys { given: 0, .. })), "{r:?}");
    let r = prove(&mpc, pks[..2].to_vec());
    assert!(matches!(r, Err(ZkirisError::MissingPartyKeys { given: 2, .. })), "{r:?}");
    // Extra: a fourth key, or any key for a public-code model.
    let mut four = pks.clone();
    four.push(PartySecretKey::generate().public_key().to_bytes());
    let r = prove(&mpc, four);
    assert!(matches!(r, Err(ZkirisError::InvalidPartyKey { party: Some(4), .. })), "{r:?}");
    let r = prove(&model(), pks.clone());
    assert!(matches!(&r, Err(ZkirisError::UnexpectedPartyKeys { model_id }) if *model_id == model().id()), "{r:?}");
    // Garbage: random bytes, a truncated key, a secret-key file, an invalid X-Wing key, a
    // repeated key.
    let mut garbage = pks.clone();
    garbage[1] = b"not a key".to_vec();
    let r = prove(&mpc, garbage);
    assert!(matches!(r, Err(ZkirisError::InvalidPartyKey { party: Some(2), .. })), "{r:?}");
    let mut short = pks.clone();
    short[2].pop();
    let r = prove(&mpc, short);
    assert!(matches!(r, Err(ZkirisError::InvalidPartyKey { party: Some(3), .. })), "{r:?}");
    let mut secret = pks.clone();
    secret[0] = sks[0].to_bytes().to_vec();
    let r = prove(&mpc, secret);
    assert!(matches!(&r, Err(ZkirisError::InvalidPartyKey { party: Some(1), detail }) if detail.contains("secret key")), "{r:?}");
    let mut unreduced = pks.clone();
    unreduced[0][12] = 0xff;
    unreduced[0][13] |= 0x0f;
    let r = prove(&mpc, unreduced);
    assert!(matches!(r, Err(ZkirisError::InvalidPartyKey { party: Some(1), .. })), "{r:?}");
    let repeated = vec![pks[0].clone(), pks[1].clone(), pks[0].clone()];
    let r = prove(&mpc, repeated);
    assert!(matches!(r, Err(ZkirisError::InvalidPartyKey { party: Some(3), .. })), "{r:?}");
    // A binding address that is not 20 bytes.
    let r = fresh.prove_with_options(
        vault.clone(),
        id.clone(),
        mpc.clone(),
        ProveOptions { binding: Some(SubmissionBinding { account: vec![0x22; 19], ..binding() }), party_keys: pks.clone(), ..ProveOptions::default() },
        None,
        None,
    );
    assert!(matches!(r, Err(ZkirisError::InvalidInput { .. })), "{r:?}");
    assert!(matches!(submission_binding_value(SubmissionBinding { registry: vec![], ..binding() }), Err(ZkirisError::InvalidInput { .. })));
    // Valid options pass the checks and reach the next one: the model is not prepared.
    let r = prove(&mpc, pks.clone());
    assert!(matches!(r, Err(ZkirisError::NotPrepared { .. })), "{r:?}");

    // The fingerprint helper checks a key on its own.
    assert_eq!(party_public_key_fingerprint(pks[0].clone()).unwrap(), sks[0].public_key().fingerprint().to_vec());
    assert!(matches!(party_public_key_fingerprint(b"garbage".to_vec()), Err(ZkirisError::InvalidPartyKey { party: None, .. })));
}

// ---- issue 17: check, invalidated keys, KDF floor, single flight, threads, off-thread ----

#[test]
fn vault_check_reports_damaged_records_by_id() {
    let (dir, vault, id) = enrolled_vault();
    let (image, mask) = sample();
    let mut other = block_on(development_device().enroll(image, mask)).unwrap();
    other.metadata.insert("eye".into(), "right".into());
    let second = vault.enroll_now(other, vec![development_device_id()]).unwrap();
    let report = vault.check_now().unwrap();
    assert!(report.damaged.is_empty());
    assert_eq!(report.intact.len(), 2);
    let rec = dir.path().join(format!("{second}.rec"));
    let mut bytes = std::fs::read(&rec).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0x01;
    std::fs::write(&rec, bytes).unwrap();
    let report = vault.check_now().unwrap();
    assert_eq!(report.intact, vec![id]);
    assert_eq!(report.damaged.len(), 1);
    assert_eq!(report.damaged[0].record_id, second);
    assert!(report.damaged[0].detail.contains("tampered"), "{}", report.damaged[0].detail);
    // Listing still shows both (it reads the index only).
    assert_eq!(vault.list().len(), 2);
}

#[test]
fn a_permanently_invalidated_key_is_key_invalidated_not_retryable() {
    let (dir, vault, _) = enrolled_vault();
    drop(vault);
    struct Gone;
    impl KeyProvider for Gone {
        fn key_id(&self) -> String {
            "test-key".into()
        }
        fn wrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Invalidated { reason: "KeyPermanentlyInvalidatedException".into() })
        }
        fn unwrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Invalidated { reason: "KeyPermanentlyInvalidatedException".into() })
        }
    }
    match vault_open(dir.path().display().to_string(), Arc::new(Gone)) {
        Err(ZkirisError::KeyInvalidated { detail }) => assert!(detail.contains("KeyPermanentlyInvalidatedException"), "{detail}"),
        other => panic!("expected KeyInvalidated, got {:?}", other.err()),
    }
}

#[test]
fn kdf_costs_below_the_floor_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v").display().to_string();
    for weak in [
        KdfCost { memory_kib: 8, passes: 1, lanes: 1 },
        KdfCost { memory_kib: 19 * 1024, passes: 1, lanes: 1 },
        KdfCost { memory_kib: 16 * 1024, passes: 3, lanes: 1 },
    ] {
        match vault_create_with_passphrase(path.clone(), b"pw".to_vec(), Some(weak)) {
            Err(ZkirisError::KdfTooWeak { memory_kib, passes, min_memory_kib: 19456, min_passes: 2 }) => {
                assert_eq!((memory_kib, passes), (weak.memory_kib, weak.passes))
            }
            other => panic!("{weak:?}: expected KdfTooWeak, got {:?}", other.err()),
        }
        assert!(!std::path::Path::new(&path).join("vault.idx").exists());
    }
    let vault = vault_create_with_passphrase(path.clone(), b"pw".to_vec(), Some(kdf_cost_minimum())).unwrap();
    let generation = vault.generation();
    assert!(matches!(
        vault.rotate_to_passphrase_now(b"pw2".to_vec(), Some(KdfCost { memory_kib: 8, passes: 1, lanes: 1 })),
        Err(ZkirisError::KdfTooWeak { .. })
    ));
    assert_eq!(vault.generation(), generation);
    drop(vault);
    assert!(vault_open_with_passphrase(path, b"pw".to_vec()).is_ok());
    assert_eq!(kdf_cost_mobile(), KdfCost { memory_kib: 64 * 1024, passes: 3, lanes: 1 });
}

/// Calls back into the prover from inside a running operation (the listener runs on the
/// working thread) and records what the second call got, and on which thread it ran.
struct Reentrant {
    prover: Arc<Prover>,
    vault: Arc<Vault>,
    id: String,
    second: Mutex<Vec<Result<(), ZkirisError>>>,
    threads: Mutex<Vec<String>>,
}

impl ProgressListener for Reentrant {
    fn on_progress(&self, _: Phase, _: f64) {
        self.threads.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_string());
        let mut second = self.second.lock().unwrap();
        if second.is_empty() {
            second.push(self.prover.prove(self.vault.clone(), self.id.clone(), model(), None, None).map(|_| ()));
            second.push(self.prover.prepare(model(), SrsSource::Development, None, None).map(|_| ()));
        }
    }
}

#[test]
fn one_operation_at_a_time_per_prover_on_its_own_threads() {
    let (_dir, vault, id) = enrolled_vault();
    assert!(matches!(
        Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: Some(0) }),
        Err(ZkirisError::InvalidInput { .. })
    ));
    let p = Prover::new(ProverConfig { cache_dir: cache().path().display().to_string(), memory_budget_mib: None, threads: Some(1) }).unwrap();
    retry_busy(|| p.prepare(model(), SrsSource::Development, None, None)).unwrap();
    let listener = Arc::new(Reentrant { prover: p.clone(), vault: vault.clone(), id: id.clone(), second: Mutex::new(vec![]), threads: Mutex::new(vec![]) });
    let bundle = p.prove(vault.clone(), id.clone(), model(), Some(listener.clone()), None).unwrap();
    assert!(!bundle.proof().is_empty());
    // Both calls made while the proof ran were refused at once, and the proof still finished.
    assert_eq!(*listener.second.lock().unwrap(), vec![Err(ZkirisError::Busy), Err(ZkirisError::Busy)]);
    // The work ran on the prover's own single worker thread.
    let threads = listener.threads.lock().unwrap().clone();
    assert!(!threads.is_empty() && threads.iter().all(|t| t == "zkiris-prover-0"), "{threads:?}");
    // Free again afterwards, also after an error.
    assert!(matches!(p.prove(vault.clone(), "bad".into(), model(), None, None), Err(ZkirisError::InvalidInput { .. })));
    assert!(p.prove(vault, id, model(), None, None).is_ok());
}

#[test]
fn vault_calls_run_off_the_callers_thread() {
    struct Where(TestKeys, Mutex<Vec<String>>);
    impl KeyProvider for Where {
        fn key_id(&self) -> String {
            self.0.key_id()
        }
        fn wrap(&self, k: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            self.1.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_string());
            self.0.wrap(k)
        }
        fn unwrap(&self, w: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            self.1.lock().unwrap().push(std::thread::current().name().unwrap_or("").to_string());
            self.0.unwrap(w)
        }
    }
    let keys = Arc::new(Where(TestKeys(zkiris::vault::RawKeyProvider::new("k", &[3; 32])), Mutex::new(vec![])));
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_create(dir.path().display().to_string(), keys.clone()).unwrap();
    let (image, mask) = sample();
    vault.enroll_now(block_on(development_device().enroll(image, mask)).unwrap(), vec![development_device_id()]).unwrap();
    drop(vault);
    let vault = vault_open(dir.path().display().to_string(), keys.clone()).unwrap();
    vault.check_now().unwrap();
    let seen = keys.1.lock().unwrap().clone();
    assert_eq!(seen.iter().filter(|t| *t == "zkiris-vault-create").count(), 1, "{seen:?}");
    assert!(
        seen.iter().any(|t| t == "zkiris-vault-enroll") && seen.iter().any(|t| t == "zkiris-vault-open") && seen.iter().any(|t| t == "zkiris-vault-check"),
        "{seen:?}"
    );
    let me = std::thread::current().name().unwrap_or("").to_string();
    assert!(!seen.contains(&me), "{me} in {seen:?}");
}
