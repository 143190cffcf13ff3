//! Shared test helpers: locating the conformance vectors and the bundled models.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use zkiris::image::{IrisImage, IrisMask};
use zkiris::model::{IssuerKeys, Model};

pub mod npz;

/// The conformance vectors vendored in `tests/conformance/` (or `$ZKIRIS_CONFORMANCE`).
/// Fails loudly if absent: conformance tests must never silently skip.
pub fn conformance_dir() -> PathBuf {
    let d = std::env::var_os("ZKIRIS_CONFORMANCE").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/conformance"));
    assert!(d.join("openiris").exists() && d.join("world-v3").exists(), "conformance vectors not found in {}", d.display());
    d
}

/// The repository's `models/` directory.
pub fn models_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../models")
}

/// Loads a bundled model, trusting only the development issuer.
pub fn bundled_model(rel: &str) -> Model {
    Model::load(&models_dir().join(rel).join("manifest.json"), &IssuerKeys::development()).expect("bundled model loads")
}

/// Reads one array from an `.npz` file as raw little-endian values of type `T`.
pub fn npz_array<T: npyz::Deserialize>(path: &Path, key: &str) -> (Vec<u64>, Vec<T>) {
    let arr = npz::Npz::open(path).array(key);
    let shape = arr.shape().to_vec();
    let fortran = arr.order() == npyz::Order::Fortran;
    let data = arr.into_vec::<T>().expect("array data");
    if !fortran || shape.len() < 2 {
        return (shape, data);
    }
    // Column-major file: reorder into row-major.
    let dims: Vec<usize> = shape.iter().map(|&d| d as usize).collect();
    let n = data.len();
    let mut col_strides = vec![1usize; dims.len()];
    for i in 1..dims.len() {
        col_strides[i] = col_strides[i - 1] * dims[i - 1];
    }
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    let mut src: Vec<Option<T>> = data.into_iter().map(Some).collect();
    let mut idx = vec![0usize; dims.len()];
    for slot in out.iter_mut() {
        let off: usize = idx.iter().zip(&col_strides).map(|(i, s)| i * s).sum();
        *slot = src[off].take();
        for ax in (0..dims.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < dims[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    (shape, out.into_iter().map(|v| v.expect("each element read once")).collect())
}

/// Reads a bool array as 0/1 bytes.
pub fn npz_bool(path: &Path, key: &str) -> (Vec<u64>, Vec<u8>) {
    let (s, v) = npz_array::<bool>(path, key);
    (s, v.into_iter().map(u8::from).collect())
}

/// The world-v3 conformance image and mask (128×1024 raw files).
pub fn world_v3_test_inputs() -> (IrisImage, IrisMask) {
    let d = conformance_dir().join("world-v3/constants");
    let img = std::fs::read(d.join("iris/test_image.bin")).expect("iris test image");
    let mask = std::fs::read(d.join("mask/test_image.bin")).expect("mask test image");
    (IrisImage::new(128, 1024, img).unwrap(), IrisMask::new(128, 1024, mask).unwrap())
}

/// An open-iris sample's normalized image and mask.
pub fn openiris_sample(name: &str) -> (IrisImage, IrisMask) {
    let p = conformance_dir().join("openiris/samples").join(format!("{name}.npz"));
    let (shape, img) = npz_array::<u8>(&p, "normalized_image");
    let (_, mask) = npz_bool(&p, "normalized_mask");
    let (h, w) = (shape[0] as u32, shape[1] as u32);
    (IrisImage::new(h, w, img).unwrap(), IrisMask::new(h, w, mask).unwrap())
}

/// Names of all open-iris samples.
pub fn openiris_samples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(conformance_dir().join("openiris/samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".npz")).map(str::to_string))
        .collect();
    v.sort();
    v
}

/// Reads a float32 `.npy` file.
pub fn npz_array_npy(path: &Path) -> (Vec<u64>, Vec<f32>) {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let npy = npyz::NpyFile::new(&bytes[..]).expect("npy header");
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec::<f32>().expect("f32 data"))
}

/// The bundled open-iris model for a normalized image of `h × w` pixels.
pub fn openiris_model_for_shape(h: u32, w: u32) -> &'static str {
    match (h, w) {
        (128, 512) => "openiris-1.11",
        (100, 400) => "openiris-1.11/test-shapes/100x400",
        (100, 512) => "openiris-1.11/test-shapes/100x512",
        other => panic!("no openiris model for {other:?}"),
    }
}
