//! The exported API exercised from Rust, the way the foreign bindings call it: the model from
//! downloaded bytes, a vault with an app-side key provider, prepare, prove, verify, typed
//! errors, cancellation, and panics stopped at the boundary.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use zkiris::vault::KeyProvider as _;
use zkiris_ffi::*;

fn model_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/test-tiny")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(model_dir().join(name)).unwrap()
}

fn model() -> Arc<Model> {
    static M: OnceLock<Arc<Model>> = OnceLock::new();
    M.get_or_init(|| Model::new(read("model.onnx"), read("manifest.json"), vec![development_issuer()]).unwrap())
        .clone()
}

fn cache() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().unwrap())
}

/// One prover with the test model prepared.
fn prover() -> Arc<Prover> {
    static P: OnceLock<Arc<Prover>> = OnceLock::new();
    P.get_or_init(|| {
        let p = Prover::new(ProverConfig {
            cache_dir: cache().path().display().to_string(),
            memory_budget_mib: None,
        })
        .unwrap();
        p.prepare(model(), SrsSource::Development, None, None).unwrap();
        p
    })
    .clone()
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
        self.0
            .wrap(&data_key)
            .map_err(|e| KeyProviderError::Unavailable { reason: e.to_string() })
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
    (
        iris_image_from_png(read("sample.png")).unwrap(),
        iris_mask_from_png(read("sample_mask.png")).unwrap(),
    )
}

/// A vault in a fresh directory holding one enrollment of the sample.
fn enrolled_vault() -> (tempfile::TempDir, Arc<Vault>, String) {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::create(dir.path().display().to_string(), TestKeys::new("test-key", 1)).unwrap();
    let (image, mask) = sample();
    let enrollment = EnrollmentDevice::development().enroll(image, mask).unwrap();
    let id = vault.enroll(enrollment, vec![development_device_id()]).unwrap();
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
    let bundle = prover()
        .prove(vault.clone(), id.clone(), model(), Some(events.clone()), None)
        .unwrap();
    let ev = events.0.lock().unwrap().clone();
    assert!(ev.iter().any(|(p, _)| *p == Phase::Prove), "{ev:?}");
    assert!(ev.windows(2).all(|w| w[1].1 >= w[0].1), "non-decreasing: {ev:?}");
    assert_eq!(ev.last().map(|e| e.1), Some(1.0));
    assert!(
        ev.len() <= 110,
        "throttled to about one event per percent, got {}",
        ev.len()
    );

    let statement = prover().verifier(model()).unwrap().verify(bundle.clone()).unwrap();
    assert_eq!(statement.commitment, listed[0].commitment);
    assert_eq!(statement.iris_code, bundle.iris_code());
    assert_eq!(statement.model_id, model().id());
    assert_eq!(bundle.device_id(), Some(development_device_id()));
    assert!(bundle.insecure_srs());

    // The bundle survives a byte round trip and verifies with an independently built verifier.
    let again = ProofBundle::from_bytes(bundle.to_bytes()).unwrap();
    let verifier = Verifier::new(model(), SrsSource::Development, cache().path().display().to_string()).unwrap();
    assert_eq!(verifier.verify(again.clone()).unwrap(), statement);

    // EVM calldata: the verifier's is every public input as a word, then the proof.
    let calldata = again.verifier_calldata().unwrap();
    assert_eq!(calldata.len(), 32 * again.public_inputs().len() + again.proof().len());
    assert_eq!(&calldata[..32], &again.commitment()[..]);
    assert_eq!(&calldata[calldata.len() - again.proof().len()..], &again.proof()[..]);
    let register = again.register_calldata().unwrap();
    assert_eq!(
        &register[..4],
        &zkiris::evm::calldata::selector(zkiris::evm::calldata::REGISTER_SIG)
    );
    assert_eq!(
        &again.upgrade_calldata().unwrap()[..4],
        &zkiris::evm::calldata::selector(zkiris::evm::calldata::UPGRADE_SIG)
    );

    // The estimate is calibrated by the measured keygen and proof.
    let e = prover().estimate(model()).unwrap();
    assert!(e.calibrated && e.device_factor > 0.0 && e.k > 0, "{e:?}");
    assert!(!model().estimate().unwrap().calibrated);
}

#[test]
fn vault_errors_are_typed() {
    let (dir, vault, id) = enrolled_vault();
    let path = dir.path().display().to_string();
    drop(vault);
    // Same key id, another key: WrongKey.
    assert!(matches!(
        Vault::open(path.clone(), TestKeys::new("test-key", 2)),
        Err(ZkirisError::WrongKey { .. })
    ));
    // Another key id: WrongKey too (the vault names its key).
    assert!(matches!(
        Vault::open(path.clone(), TestKeys::new("other", 1)),
        Err(ZkirisError::WrongKey { .. })
    ));
    // A provider that reports its key unavailable.
    struct Locked;
    impl KeyProvider for Locked {
        fn key_id(&self) -> String {
            "test-key".into()
        }
        fn wrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Unavailable {
                reason: "user cancelled".into(),
            })
        }
        fn unwrap(&self, _: Vec<u8>) -> Result<Vec<u8>, KeyProviderError> {
            Err(KeyProviderError::Unavailable {
                reason: "user cancelled".into(),
            })
        }
    }
    assert!(
        matches!(Vault::open(path.clone(), Arc::new(Locked)), Err(ZkirisError::KeyUnavailable { detail }) if detail.contains("user cancelled"))
    );

    // A flipped byte in the record file: Tampered when proving from it.
    let vault = Vault::open(path.clone(), TestKeys::new("test-key", 1)).unwrap();
    let rec = dir.path().join(format!("{id}.rec"));
    let mut bytes = std::fs::read(&rec).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 0x01;
    std::fs::write(&rec, bytes).unwrap();
    let r = prover().prove(vault.clone(), id.clone(), model(), None, None);
    assert!(matches!(r, Err(ZkirisError::Tampered { .. })), "{:?}", r.err());

    assert!(matches!(
        prover().prove(vault.clone(), "not-an-id".into(), model(), None, None),
        Err(ZkirisError::InvalidInput { .. })
    ));
    let missing = "00".repeat(16);
    assert!(
        matches!(prover().prove(vault.clone(), missing.clone(), model(), None, None), Err(ZkirisError::NotFound { record_id }) if record_id == missing)
    );
    assert!(matches!(vault.delete(id.clone()), Ok(())));
    assert!(vault.list().is_empty());

    // Enrollments from untrusted devices or with a forged commitment are refused.
    let (image, mask) = sample();
    let enrollment = EnrollmentDevice::development().enroll(image, mask).unwrap();
    assert!(matches!(
        vault.enroll(enrollment.clone(), vec![]),
        Err(ZkirisError::EnrollmentRejected { .. })
    ));
    let mut forged = enrollment.clone();
    forged.image.pixels[0] ^= 1;
    assert!(matches!(
        vault.enroll(forged, vec![development_device_id()]),
        Err(ZkirisError::EnrollmentRejected { .. })
    ));
    let mut short = enrollment;
    short.salt.pop();
    assert!(matches!(
        vault.enroll(short, vec![development_device_id()]),
        Err(ZkirisError::InvalidInput { .. })
    ));
}

#[test]
fn passphrase_vaults_rotate_to_a_platform_key_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().display().to_string();
    let cheap = Some(KdfCost {
        memory_kib: 8,
        passes: 1,
        lanes: 1,
    });
    let vault = Vault::create_with_passphrase(path.clone(), "correct horse".into(), cheap).unwrap();
    let (image, mask) = sample();
    let id = vault
        .enroll(
            EnrollmentDevice::development().enroll(image, mask).unwrap(),
            vec![development_device_id()],
        )
        .unwrap();
    drop(vault);
    assert!(matches!(
        Vault::open_with_passphrase(path.clone(), "wrong horse".into()),
        Err(ZkirisError::WrongKey { .. })
    ));
    let vault = Vault::open_with_passphrase(path.clone(), "correct horse".into()).unwrap();
    let generation = vault.generation();
    vault.rotate(TestKeys::new("platform", 9)).unwrap();
    assert!(vault.generation() > generation);
    assert_eq!(vault.key_id(), "platform");
    drop(vault);
    assert!(Vault::open_with_passphrase(path.clone(), "correct horse".into()).is_err());
    let vault = Vault::open(path.clone(), TestKeys::new("platform", 9)).unwrap();
    assert_eq!(vault.list()[0].id, id);
    vault.rotate_to_passphrase("new horse".into(), cheap).unwrap();
    drop(vault);
    assert_eq!(
        Vault::open_with_passphrase(path, "new horse".into())
            .unwrap()
            .list()
            .len(),
        1
    );
}

#[test]
fn model_errors_are_typed() {
    let onnx = read("model.onnx");
    let manifest = read("manifest.json");
    // Nobody trusted.
    assert!(matches!(
        Model::new(onnx.clone(), manifest.clone(), vec![]),
        Err(ZkirisError::UntrustedModel { .. })
    ));
    // Altered ONNX bytes.
    let mut altered = onnx.clone();
    let last = altered.len() - 1;
    altered[last] ^= 1;
    assert!(matches!(
        Model::new(altered, manifest.clone(), vec![development_issuer()]),
        Err(ZkirisError::UntrustedModel { .. })
    ));
    // Garbage manifest, bad issuer key.
    assert!(matches!(
        Model::new(onnx.clone(), b"{".to_vec(), vec![development_issuer()]),
        Err(ZkirisError::UntrustedModel { .. })
    ));
    let bad = TrustedIssuer {
        key_id: "x".into(),
        public_key: "zz".into(),
    };
    assert!(matches!(
        Model::new(onnx, manifest, vec![bad]),
        Err(ZkirisError::InvalidInput { .. })
    ));
    assert!(matches!(
        ProofBundle::from_bytes(b"garbage".to_vec()),
        Err(ZkirisError::MalformedBundle { .. })
    ));
}

#[test]
fn prover_refusals_are_typed() {
    let (_dir, vault, id) = enrolled_vault();
    // Not prepared.
    let fresh = Prover::new(ProverConfig {
        cache_dir: cache().path().display().to_string(),
        memory_budget_mib: None,
    })
    .unwrap();
    assert!(matches!(
        fresh.prove(vault.clone(), id.clone(), model(), None, None),
        Err(ZkirisError::NotPrepared { .. })
    ));
    assert!(matches!(fresh.verifier(model()), Err(ZkirisError::NotPrepared { .. })));
    // A memory budget below the estimate refuses before any work.
    let small = Prover::new(ProverConfig {
        cache_dir: cache().path().display().to_string(),
        memory_budget_mib: Some(1),
    })
    .unwrap();
    match small.prepare(model(), SrsSource::Development, None, None) {
        Err(ZkirisError::OutOfMemoryEstimate {
            required_mib,
            available_mib: 1,
        }) => assert!(required_mib > 1),
        other => panic!("expected OutOfMemoryEstimate, got {other:?}"),
    }
    // A pre-cancelled token.
    let token = CancellationToken::new();
    token.cancel();
    assert!(matches!(
        prover().prove(vault.clone(), id.clone(), model(), None, Some(token)),
        Err(ZkirisError::Cancelled)
    ));
    // A missing ceremony file.
    let r = fresh.prepare(
        model(),
        SrsSource::File {
            path: "/nonexistent/params.srs".into(),
        },
        None,
        None,
    );
    assert!(matches!(r, Err(ZkirisError::SrsUnavailable { .. })), "{r:?}");
    // An enrollment with no valid mask bits: typed threshold failure, before proving.
    let (image, mask) = sample();
    let empty = IrisImageData {
        pixels: vec![0; mask.pixels.len()],
        ..mask
    };
    let weak = vault
        .enroll(
            EnrollmentDevice::development().enroll(image, empty).unwrap(),
            vec![development_device_id()],
        )
        .unwrap();
    let r = prover().prove(vault, weak, model(), None, None);
    assert!(
        matches!(r, Err(ZkirisError::InsufficientValidBits { valid: 0, required }) if required == model().min_valid_bits()),
        "{r:?}"
    );
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
    let listener = Arc::new(CancelAt {
        token: token.clone(),
        at: 3,
        seen: AtomicUsize::new(0),
    });
    let r = prover().prove(
        vault.clone(),
        id.clone(),
        model(),
        Some(listener.clone()),
        Some(token.clone()),
    );
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
    let p = Prover::new(ProverConfig {
        cache_dir: cache().path().display().to_string(),
        memory_budget_mib: None,
    })
    .unwrap();
    let listener = Arc::new(PanickingListener(AtomicBool::new(false)));
    let r = p.prepare(model(), SrsSource::Development, Some(listener.clone()), None);
    assert!(listener.0.load(Ordering::SeqCst));
    assert!(
        matches!(&r, Err(ZkirisError::Internal { detail }) if detail.contains("listener bug")),
        "{r:?}"
    );

    let (_dir, vault, id) = enrolled_vault();
    let r = prover().prove(
        vault.clone(),
        id.clone(),
        model(),
        Some(Arc::new(PanickingListener(AtomicBool::new(false)))),
        None,
    );
    assert!(matches!(&r, Err(ZkirisError::Internal { .. })), "{r:?}");

    let dir = tempfile::tempdir().unwrap();
    let r = Vault::create(dir.path().display().to_string(), Arc::new(PanickingKeys));
    assert!(
        matches!(&r, Err(ZkirisError::Internal { detail }) if detail.contains("key provider bug")),
        "{:?}",
        r.err()
    );

    // Everything still works afterwards.
    assert!(prover().prove(vault, id, model(), None, None).is_ok());
}
