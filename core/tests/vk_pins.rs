//! The verifying key of every bundled model is pinned in `core/tests/vk-fingerprints.txt`
//! (the pattern halo2_gadgets uses for its circuits): a change to the circuit, the planner or
//! a model that changes a key fails here, and the commit that makes the change on purpose
//! rewrites the file and says why.
//!
//! Rewrite the pins with `ZKIRIS_PIN_VKS=1 cargo test -p zkiris --test vk_pins`.
//! The keys are derived over the deterministic development SRS, so the pins are the same on
//! every machine.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rayon::prelude::*;

use zkiris::circuit::StatementPlan;
use zkiris::prover::default_cache_dir;
use zkiris::prover::Srs;
use zkiris::prover::{verifying_key, vk_fingerprint};

const PINS: &str = "tests/vk-fingerprints.txt";

/// `model directory → "k=… vk=…"` for every bundled model.
fn current() -> BTreeMap<String, String> {
    let mut names: Vec<String> = std::fs::read_dir(common::models_dir())
        .expect("models/")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("manifest.json").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 11, "expected the bundled models, found {names:?}");
    let cache = default_cache_dir();
    let models: Vec<(String, Arc<StatementPlan>)> = names
        .into_iter()
        .filter_map(|name| {
            let model = common::bundled_model(&name);
            // A component model (the liveness CNN alone) has no statement of its own.
            if model.manifest().rules.encoder.iris.is_empty() {
                return None;
            }
            Some((name, Arc::new(StatementPlan::new(&model).expect("bundled model plans"))))
        })
        .collect();
    let mut srs: BTreeMap<u32, Srs> = BTreeMap::new();
    for (_, plan) in &models {
        let k = plan.min_k();
        if let std::collections::btree_map::Entry::Vacant(e) = srs.entry(k) {
            e.insert(Srs::development(k, &cache).expect("development SRS"));
        }
    }
    // Key derivation is mostly single-threaded synthesis: derive the keys side by side.
    models
        .par_iter()
        .map(|(name, plan)| {
            let k = plan.min_k();
            let vk = verifying_key(srs[&k].params(), plan).expect("verifying key");
            (name.clone(), format!("k={k} vk={}", hex::encode(vk_fingerprint(&vk))))
        })
        .collect()
}

#[test]
fn every_bundled_models_verifying_key_is_pinned() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(PINS);
    let now = current();
    let text: String = now.iter().map(|(n, v)| format!("{n} {v}\n")).collect();
    if std::env::var_os("ZKIRIS_PIN_VKS").is_some() {
        std::fs::write(&path, &text).expect("write pins");
        return;
    }
    let pinned: BTreeMap<String, String> = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; create it with ZKIRIS_PIN_VKS=1", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once(' ').map(|(n, v)| (n.to_string(), v.to_string())))
        .collect();
    let changed: Vec<String> = now
        .keys()
        .chain(pinned.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|n| now.get(*n) != pinned.get(*n))
        .map(|n| format!("{n}: pinned {:?}, now {:?}", pinned.get(n), now.get(n)))
        .collect();
    assert!(
        changed.is_empty(),
        "verifying keys changed:\n{}\nIf the change is intended, rewrite the pins with ZKIRIS_PIN_VKS=1 cargo test -p zkiris --test vk_pins and say why in the commit.",
        changed.join("\n")
    );
}
