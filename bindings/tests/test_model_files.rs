//! The tiny test models and sample enrollment that the Kotlin (JVM) and Swift tests load as
//! files, the way an app downloads a model:
//!
//! - `models/test-tiny/`: the `public-code` tiny model;
//! - `models/test-tiny-mpc/`: the same network with `"submission": "mpc-shares"` in its signed
//!   rules, and three **insecure** MPC party key pairs (`party{1,2,3}.key.pub`, the public-key
//!   files an app passes to `ProveOptions.partyKeys`, and `party{1,2,3}.key`, the secret-key
//!   files only the tests use, to open the envelopes like the parties would).
//!
//! They are generated deterministically from `zkiris::testkit` (16×64 image, 4-bit pixels,
//! world-v3-style rules) and signed with the **insecure** development issuer key (RFC 6979
//! signatures are deterministic). The party keys' X-Wing seeds are the public ASCII strings
//! `"zkiris INSECURE test MPC party p"` (32 bytes): anyone can open the test envelopes. This
//! test fails if the committed files differ from a fresh generation;
//! `ZKIRIS_REGEN=1 cargo test -p zkiris-ffi --test test_model_files` rewrites them.

use std::path::{Path, PathBuf};

use zkiris::attest::dev_device_key;
use zkiris::model::manifest::ModelSpec;
use zkiris::model::{dev_issuer_key, DEV_ISSUER_KEY_ID};
use zkiris::mpc::{PartyPublicKey, PartySecretKey};
use zkiris::mpc::{KEM_ID, KEY_FORMAT_VERSION, SECRET_KEY_MAGIC};
use zkiris::public::Submission;
use zkiris::testkit::{tiny_files, tiny_sample, TinyRules, TinySpec};

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// The two test models: directory name and spec.
fn specs() -> [(&'static str, TinySpec); 2] {
    let public = TinySpec::default_for(TinyRules::World);
    let mpc = TinySpec { submission: Submission::MpcShares, ..TinySpec::default_for(TinyRules::World) };
    [("test-tiny", public), ("test-tiny-mpc", mpc)]
}

/// The insecure test key of MPC party `p` (1, 2, 3): its X-Wing seed is a public string.
fn test_party_key(p: u8) -> PartySecretKey {
    let seed = format!("zkiris INSECURE test MPC party {p}");
    assert_eq!(seed.len(), 32);
    let mut file = SECRET_KEY_MAGIC.to_vec();
    file.extend_from_slice(&KEY_FORMAT_VERSION.to_be_bytes());
    file.extend_from_slice(&KEM_ID.to_be_bytes());
    file.extend_from_slice(seed.as_bytes());
    PartySecretKey::from_bytes(&file).unwrap()
}

/// `(file name, bytes)` of every generated file of one model directory.
fn generate(spec: &TinySpec) -> Vec<(String, Vec<u8>)> {
    let (onnx, rules) = tiny_files(spec);
    let mpc = if spec.submission == Submission::MpcShares { "-mpc" } else { "" };
    let model_spec = ModelSpec {
        // The name testkit::tiny_model gives the same model, so both share cached keys.
        name: format!("tiny-{:?}-{}x{}{mpc}", spec.rules, spec.rows, spec.cols).to_lowercase(),
        version: "0.0.1".into(),
        description: "TEST ONLY tiny model".into(),
        onnx: "model.onnx".into(),
        rules,
    };
    let manifest = model_spec.sign(&onnx, DEV_ISSUER_KEY_ID, &dev_issuer_key()).expect("the tiny model lowers");
    let (image, mask) = tiny_sample(spec, 3);
    let mut files = vec![
        ("model.onnx".to_string(), onnx),
        ("manifest.json".to_string(), format!("{}\n", manifest.to_json_pretty()).into_bytes()),
        ("sample.png".to_string(), image.to_png_bytes()),
        ("sample_mask.png".to_string(), mask.to_png_bytes()),
        // The bindings do not export the development keys (never in a phone build): the
        // Kotlin and Swift tests read them from here. `<key id> <SEC1 public key hex>`.
        ("INSECURE-dev-issuer.txt".to_string(), format!("{DEV_ISSUER_KEY_ID} {}\n", dev_issuer_key().public_key_hex()).into_bytes()),
        // The development enrollment device's secret key, hex (`EnrollmentDevice.fromSecretKey`;
        // also what `zkiris vault enroll --device-key FILE` reads).
        ("INSECURE-dev-device.key".to_string(), format!("{}\n", hex::encode(*dev_device_key().to_bytes())).into_bytes()),
    ];
    if spec.submission == Submission::MpcShares {
        for p in 1..=3 {
            let sk = test_party_key(p);
            files.push((format!("party{p}.key.pub"), sk.public_key().to_bytes()));
            files.push((format!("party{p}.key"), sk.to_bytes().to_vec()));
        }
    }
    files
}

#[test]
fn committed_test_model_files_are_current() {
    for (dir, spec) in specs() {
        let dir = models().join(dir);
        let files = generate(&spec);
        if std::env::var_os("ZKIRIS_REGEN").is_some() {
            std::fs::create_dir_all(&dir).unwrap();
            for (name, bytes) in &files {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        for (name, bytes) in &files {
            let path = dir.join(name);
            let committed = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run with ZKIRIS_REGEN=1 to write it", path.display()));
            assert!(committed == *bytes, "{} differs from a fresh generation; run with ZKIRIS_REGEN=1 and commit the result", path.display());
        }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut f = std::pin::pin!(f);
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn generation_is_deterministic_and_loads_as_the_testkit_model() {
    for (_, spec) in specs() {
        let files = generate(&spec);
        assert_eq!(files, generate(&spec));
        let get = |n: &str| files.iter().find(|(name, _)| name == n).map(|(_, b)| b.clone()).unwrap();
        let issuer_line = String::from_utf8(get("INSECURE-dev-issuer.txt")).unwrap();
        let (key_id, public_key) = issuer_line.trim().split_once(' ').unwrap();
        let issuer = zkiris_ffi::TrustedIssuer { key_id: key_id.into(), public_key: public_key.into() };
        let model = block_on(zkiris_ffi::Model::load(get("model.onnx"), get("manifest.json"), vec![issuer])).unwrap();
        let device =
            zkiris_ffi::EnrollmentDevice::from_secret_key(hex::decode(String::from_utf8(get("INSECURE-dev-device.key")).unwrap().trim()).unwrap()).unwrap();
        assert_eq!(device.device_id(), zkiris::attest::dev_device_id().to_string());
        let reference = zkiris::testkit::tiny_model(&spec);
        assert_eq!(model.id(), reference.id_hex());
        assert_eq!(model.name(), reference.manifest().name);
        assert_eq!(model.submission() == zkiris_ffi::Submission::MpcShares, spec.submission == Submission::MpcShares);
        if spec.submission == Submission::MpcShares {
            // Three distinct, valid party keys; each public file is its secret file's key.
            let mut fingerprints = Vec::new();
            for p in 1..=3 {
                let pk = get(&format!("party{p}.key.pub"));
                let sk = PartySecretKey::from_bytes(&get(&format!("party{p}.key"))).unwrap();
                assert_eq!(PartyPublicKey::from_bytes(&pk).unwrap(), sk.public_key());
                fingerprints.push(zkiris_ffi::party_public_key_fingerprint(pk).unwrap());
            }
            fingerprints.sort();
            fingerprints.dedup();
            assert_eq!(fingerprints.len(), 3);
        }
    }
}
