//! The tiny test model and sample enrollment that the Kotlin (JVM) and Swift tests load as
//! files, the way an app downloads a model: `models/test-tiny/`.
//!
//! They are generated deterministically from `zkiris::testkit` (16×64 image, 4-bit pixels,
//! world-v3-style rules) and signed with the **insecure** development issuer key (RFC 6979
//! signatures are deterministic). This test fails if the committed files differ from a fresh
//! generation; `ZKIRIS_REGEN=1 cargo test -p zkiris-ffi --test test_model_files` rewrites them.

use std::path::{Path, PathBuf};

use zkiris::model::manifest::ModelSpec;
use zkiris::model::{dev_issuer_key, DEV_ISSUER_KEY_ID};
use zkiris::testkit::{tiny_files, tiny_sample, TinyRules, TinySpec};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/test-tiny")
}

/// `(file name, bytes)` of every generated file.
fn generate() -> Vec<(&'static str, Vec<u8>)> {
    let spec = TinySpec::default_for(TinyRules::World);
    let (onnx, rules) = tiny_files(&spec);
    let model_spec = ModelSpec {
        // The name testkit::tiny_model gives the same model, so both share cached keys.
        name: format!("tiny-{:?}-{}x{}", spec.rules, spec.rows, spec.cols).to_lowercase(),
        version: "0.0.1".into(),
        description: "TEST ONLY tiny model".into(),
        onnx: "model.onnx".into(),
        rules,
    };
    let manifest = model_spec
        .sign(&onnx, DEV_ISSUER_KEY_ID, &dev_issuer_key())
        .expect("the tiny model lowers");
    let (image, mask) = tiny_sample(&spec, 3);
    vec![
        ("model.onnx", onnx),
        ("manifest.json", format!("{}\n", manifest.to_json_pretty()).into_bytes()),
        ("sample.png", image.to_png_bytes()),
        ("sample_mask.png", mask.to_png_bytes()),
    ]
}

#[test]
fn committed_test_model_files_are_current() {
    let files = generate();
    if std::env::var_os("ZKIRIS_REGEN").is_some() {
        std::fs::create_dir_all(dir()).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir().join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let path = dir().join(name);
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with ZKIRIS_REGEN=1 to write it", path.display()));
        assert!(
            committed == *bytes,
            "{} differs from a fresh generation; run with ZKIRIS_REGEN=1 and commit the result",
            path.display()
        );
    }
}

#[test]
fn generation_is_deterministic_and_loads_as_the_testkit_model() {
    assert_eq!(generate(), generate());
    let files = generate();
    let get = |n: &str| {
        files
            .iter()
            .find(|(name, _)| *name == n)
            .map(|(_, b)| b.clone())
            .unwrap()
    };
    let model = zkiris_ffi::Model::new(
        get("model.onnx"),
        get("manifest.json"),
        vec![zkiris_ffi::development_issuer()],
    )
    .unwrap();
    let reference = zkiris::testkit::tiny_model(&TinySpec::default_for(TinyRules::World));
    assert_eq!(model.id(), reference.id_hex());
    assert_eq!(model.name(), reference.manifest().name);
}
