//! A proof made by the CLI verifies through the mobile bindings' `Verifier`, and a proof made
//! through the bindings (vault record → `Prover.prove`) verifies with `zkiris verify`: the two
//! front ends share one bundle format and one statement. Uses the dev-signed tiny model in
//! `models/test-tiny/` that the Kotlin and Swift tests load.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use zkiris_ffi::{
    iris_image_from_png, iris_mask_from_png, EnrollmentDevice, Model, ProofBundle, Prover, ProverConfig, SrsSource, TrustedIssuer, Vault, Verifier,
};

fn model_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/test-tiny")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(model_dir().join(name)).unwrap()
}

fn zkiris(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkiris")).args(args).env("ZKIRIS_CACHE", cache).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout: {}\nstderr: {}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Runs one of the bindings' async calls to completion (they run on a thread of their own).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
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

fn model() -> Arc<Model> {
    // The bindings export no development keys: the issuer's public key, as the Kotlin and Swift tests read it.
    let issuer = TrustedIssuer { key_id: zkiris::model::DEV_ISSUER_KEY_ID.into(), public_key: zkiris::model::dev_issuer_key().public_key_hex() };
    block_on(Model::load(read("model.onnx"), read("manifest.json"), vec![issuer])).unwrap()
}

#[test]
fn cli_proofs_verify_in_the_bindings_and_binding_proofs_verify_in_the_cli() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let manifest = model_dir().join("manifest.json");
    let manifest = manifest.to_str().unwrap();

    // CLI → bindings.
    let cli_proof = tmp.path().join("cli.zkp");
    let salt = "00000000000000000000000000000000000000000000000000000000000000c3";
    let image = model_dir().join("sample.png");
    let mask = model_dir().join("sample_mask.png");
    let o = zkiris(
        &[
            "prove",
            "--model",
            manifest,
            "--image",
            image.to_str().unwrap(),
            "--mask",
            mask.to_str().unwrap(),
            "--salt",
            salt,
            "--out",
            cli_proof.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(o.status.success(), "{}", text(&o));
    let bundle = ProofBundle::from_bytes(std::fs::read(&cli_proof).unwrap()).unwrap();
    let verifier = block_on(Verifier::load(model(), SrsSource::Development, cache.display().to_string())).unwrap();
    let statement = block_on(verifier.clone().verify(bundle.clone())).unwrap();
    assert_eq!(statement.iris_code, bundle.iris_code());
    assert_eq!(statement.model_id, model().id());
    // …and the bindings refuse the CLI's proof once a code bit is flipped in the file.
    let mut bytes = std::fs::read(&cli_proof).unwrap();
    let code = bundle.iris_code();
    let at = bytes.windows(code.len()).position(|w| w == &code[..]).expect("the bundle carries the iris code");
    bytes[at] ^= 0x01;
    assert!(block_on(verifier.verify(ProofBundle::from_bytes(bytes).unwrap())).is_err());

    // Bindings → CLI: enroll into a vault, prove from the record, write the bundle bytes.
    let vault_dir = tmp.path().join("vault");
    let vault = block_on(Vault::create_with_passphrase(vault_dir.display().to_string(), "interop passphrase".into(), None)).unwrap();
    let device = EnrollmentDevice::from_secret_key(zkiris::attest::dev_device_key().to_bytes().to_vec()).unwrap();
    let enrollment =
        block_on(device.clone().enroll(iris_image_from_png(read("sample.png")).unwrap(), iris_mask_from_png(read("sample_mask.png")).unwrap())).unwrap();
    let id = block_on(vault.clone().enroll(enrollment, vec![device.device_id()])).unwrap();
    let prover = Prover::new(ProverConfig { cache_dir: cache.display().to_string(), memory_budget_mib: None, threads: None }).unwrap();
    prover.prepare(model(), SrsSource::Development, None, None).unwrap();
    let ffi_bundle = prover.prove(vault, id, model(), None, None).unwrap();
    let ffi_proof = tmp.path().join("ffi.zkp");
    std::fs::write(&ffi_proof, ffi_bundle.to_bytes()).unwrap();
    let o = zkiris(&["verify", "--model", manifest, "--proof", ffi_proof.to_str().unwrap(), "--json"], &cache);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["model_id"], model().id());
    assert_eq!(v["commitment"].as_str().unwrap().trim_start_matches("0x"), hex::encode(ffi_bundle.commitment()));
    // The same sample gives the same code through either front end.
    assert_eq!(ffi_bundle.iris_code(), bundle.iris_code());
}
