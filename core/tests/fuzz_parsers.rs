//! Fuzzing every parser of outside bytes through the public API: share envelopes, MPC party
//! key files, `share.json`, proof bundles and model manifests. Arbitrary bytes, and valid
//! encodings mutated (flipped bytes, cuts, insertions, and for JSON replaced or removed
//! values), never panic: they parse to a typed error, or to a value that re-encodes to the
//! same thing. Whatever still parses after a mutation must not pass for the original (a
//! changed envelope does not open, a changed manifest does not verify).

use std::path::{Path, PathBuf};

use halo2_proofs::halo2curves::bn256::Fr;
use proptest::prelude::*;
use serde_json::Value;
use zkiris::attest::{dev_device_id, dev_device_key};
use zkiris::model::manifest::{CodeLayout, Manifest, Submission};
use zkiris::model::IssuerKeys;
use zkiris::mpc::Slopes;
use zkiris::mpc::{seal_shares, share, MaskedCode, Party, PartyPublicKey, PartySecretKey, Share, ShareEnvelope, ShareFile, StatementId};
use zkiris::prover::{fr_to_be, Attestation, ProofBundle, ProofTranscript};

const CASES: u32 = 3000;

/// `v` with bytes xor-ed (`x` never 0, so an edit always changes the byte), then an insertion,
/// then a cut.
fn mutate(mut v: Vec<u8>, edits: &[(usize, u8)], insert: Option<(usize, Vec<u8>)>, cut: Option<usize>) -> Vec<u8> {
    let n = v.len().max(1);
    for &(i, x) in edits {
        if let Some(b) = v.get_mut(i % n) {
            *b ^= x;
        }
    }
    if let Some((at, bytes)) = insert {
        let at = at % (v.len() + 1);
        v.splice(at..at, bytes);
    }
    if let Some(c) = cut {
        v.truncate(c % (v.len() + 1));
    }
    v
}

fn edits() -> impl Strategy<Value = Vec<(usize, u8)>> {
    proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4)
}

fn insertion() -> impl Strategy<Value = Option<(usize, Vec<u8>)>> {
    proptest::option::weighted(0.2, (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8)))
}

fn cut() -> impl Strategy<Value = Option<usize>> {
    proptest::option::weighted(0.2, any::<usize>())
}

/// Arbitrary JSON values, with the edge cases of our formats among the leaves.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1e20f64..1e20).prop_map(Value::from),
        prop_oneof![Just(0i64), Just(1), Just(2), Just(3), Just(4), Just(-1), Just(65535), Just(65536), Just(u32::MAX as i64)].prop_map(Value::from),
        "[a-z0-9x]{0,10}".prop_map(Value::from),
        prop_oneof![Just("0x"), Just("world-v3"), Just("mpc-shares"), Just("public-code"), Just("zkiris.manifest/1")].prop_map(Value::from),
        "[0-9a-f]{64}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Replaces (or, with `remove`, deletes) the value found by walking `path` down `v`.
fn mutate_json(v: &mut Value, path: &[usize], replacement: Value, remove: bool) {
    fn child(v: &mut Value, i: usize) -> Option<&mut Value> {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let key = m.keys().nth(i % m.len())?.clone();
                m.get_mut(&key)
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                a.get_mut(i % n)
            }
            _ => None,
        }
    }
    let Some((&first, rest)) = path.split_first() else {
        *v = replacement;
        return;
    };
    let is_leaf_parent = rest.is_empty()
        || child(v, first).map(|c| !matches!(c, Value::Object(m) if !m.is_empty()) && !matches!(c, Value::Array(a) if !a.is_empty())).unwrap_or(true);
    if remove && is_leaf_parent {
        match v {
            Value::Object(m) if !m.is_empty() => {
                let n = m.len();
                if let Some(k) = m.keys().nth(first % n).cloned() {
                    m.remove(&k);
                }
                return;
            }
            Value::Array(a) if !a.is_empty() => {
                let n = a.len();
                a.remove(first % n);
                return;
            }
            _ => {}
        }
    }
    match child(v, first) {
        Some(c) => mutate_json(c, rest, replacement, remove),
        None => *v = replacement,
    }
}

// ---------------------------------------------------------------------------------------
// MPC: envelopes, party keys, share files.

struct Mpc {
    shares: [Share; 3],
    sks: [PartySecretKey; 3],
    statement: StatementId,
    envelopes: [Vec<u8>; 3],
    public_key: Vec<u8>,
    secret_key: Vec<u8>,
    share_json: Vec<u8>,
}

fn mpc() -> Mpc {
    let masked = MaskedCode::from_chunks((0..6).map(|k| [[0, 1, 65535, 1][k % 4], 65535, 0, 1]).collect());
    let shares = share(&masked, &Slopes::random(6)).unwrap();
    let sks = [0; 3].map(|_| PartySecretKey::generate());
    let statement = StatementId::new([9u8; 32], Fr::from(77), Fr::from(0));
    let pks = [0, 1, 2].map(|i| sks[i].public_key());
    let envelopes = seal_shares(&shares, &pks, &statement).unwrap().map(|e| e.to_bytes());
    let share_json = ShareFile::from_statement(shares[1].clone(), &statement).to_json().as_bytes().to_vec();
    Mpc { public_key: pks[0].to_bytes(), secret_key: sks[0].to_bytes().to_vec(), shares, sks, statement, envelopes, share_json }
}

thread_local!(static MPC: Mpc = mpc());

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn envelope_bytes_never_panic_and_changed_envelopes_never_open(
        p in 0..3usize,
        edits in edits(),
        insert in insertion(),
        cut in cut(),
        random in proptest::collection::vec(any::<u8>(), 0..1400),
        use_random in any::<bool>(),
        keep_header in any::<bool>(),
    ) {
        MPC.with(|m| {
            let original = &m.envelopes[p];
            let bytes = if use_random {
                // With the real header, so random bodies reach the later checks too.
                let mut b = random.clone();
                if keep_header {
                    let h = original[..21.min(b.len())].to_vec();
                    b[..h.len()].copy_from_slice(&h);
                }
                b
            } else {
                mutate(original.clone(), &edits, insert.clone(), cut)
            };
            match ShareEnvelope::from_bytes(&bytes) {
                Err(e) => prop_assert!(!e.to_string().is_empty()),
                Ok(env) => {
                    prop_assert_eq!(&env.to_bytes(), &bytes, "not canonical");
                    let party = env.party();
                    let s = m.shares[party.zero_based()].commitment();
                    match env.open(&m.sks[party.zero_based()], party, &m.statement, s) {
                        Ok(opened) => {
                            prop_assert_eq!(&bytes, original, "a changed envelope opened");
                            prop_assert_eq!(&opened, &m.shares[p]);
                        }
                        Err(e) => prop_assert!(bytes != *original, "the original did not open: {}", e),
                    }
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn party_key_bytes_never_panic(
        edits in edits(),
        insert in insertion(),
        cut in cut(),
        random in proptest::collection::vec(any::<u8>(), 0..1300),
        which in 0..3u8,
    ) {
        MPC.with(|m| {
            let bytes = match which {
                0 => mutate(m.public_key.clone(), &edits, insert.clone(), cut),
                1 => mutate(m.secret_key.clone(), &edits, insert.clone(), cut),
                _ => random.clone(),
            };
            match PartyPublicKey::from_bytes(&bytes) {
                Ok(k) => prop_assert_eq!(k.to_bytes(), bytes.clone(), "public key not canonical"),
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            match PartySecretKey::from_bytes(&bytes) {
                Ok(k) => {
                    prop_assert_eq!(&k.to_bytes()[..], &bytes[..], "secret key not canonical");
                    let _ = k.public_key();
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })?;
    }

    #[test]
    fn share_json_never_panics(
        edits in edits(),
        insert in insertion(),
        cut in cut(),
        random in proptest::collection::vec(any::<u8>(), 0..400),
        path in proptest::collection::vec(any::<usize>(), 0..4),
        replacement in json_value(),
        remove in any::<bool>(),
        how in 0..3u8,
    ) {
        MPC.with(|m| {
            let bytes = match how {
                0 => mutate(m.share_json.clone(), &edits, insert.clone(), cut),
                1 => {
                    let mut v: Value = serde_json::from_slice(&m.share_json).unwrap();
                    mutate_json(&mut v, &path, replacement.clone(), remove);
                    serde_json::to_vec(&v).unwrap()
                }
                _ => random.clone(),
            };
            match ShareFile::from_json(&bytes) {
                Ok(f) => {
                    prop_assert!(!f.share().elements().is_empty());
                    prop_assert!(Party::new(f.party().index()).is_ok());
                    let again = ShareFile::from_json(f.to_json().as_bytes());
                    prop_assert_eq!(again.as_ref(), Ok(&f), "does not round-trip");
                }
                Err(e) => prop_assert!(!e.to_string().is_empty()),
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------
// Proof bundles.

fn bundles() -> Vec<Vec<u8>> {
    let c = [0x11u8; 32];
    let attestation = Attestation { device: dev_device_id(), signature: dev_device_key().sign_commitment(&c) };
    let public_code = ProofBundle {
        model_id: [1; 32],
        model_name: "world-v3".into(),
        model_version: "3.0.0".into(),
        vk_fingerprint: [2; 32],
        srs_fingerprint: [3; 32],
        srs_insecure: true,
        submission: Submission::PublicCode,
        public_inputs: (0..12u64).map(|i| fr_to_be(&Fr::from(i * 1000 + 1))).collect(),
        code_layout: CodeLayout::WorldV3,
        iris_code: (0..2048).map(|i| (i * 7) as u8).collect(),
        mask_code: vec![0xff; 2048],
        valid_bits: Some(16384),
        attestation: Some(attestation),
        envelopes: vec![],
        proof: (0..640).map(|i| (i * 13) as u8).collect(),
        transcript: ProofTranscript::Evm,
    };
    let envelopes = MPC.with(|m| m.envelopes.to_vec());
    let mpc_shares = ProofBundle {
        submission: Submission::MpcShares,
        public_inputs: (0..7u64).map(|i| fr_to_be(&Fr::from(i + 5))).collect(),
        code_layout: CodeLayout::Openiris,
        iris_code: vec![],
        mask_code: vec![],
        valid_bits: None,
        attestation: None,
        envelopes,
        proof: vec![0x42; 96],
        ..public_code.clone()
    };
    // A Poseidon-transcript (aggregatable) bundle: format version 3, the transcript byte last.
    let poseidon = ProofBundle { transcript: ProofTranscript::Poseidon, ..mpc_shares.clone() };
    [public_code, mpc_shares, poseidon]
        .iter()
        .map(|b| {
            let bytes = b.to_bytes();
            assert_eq!(&ProofBundle::from_bytes(&bytes).unwrap(), b);
            bytes
        })
        .collect()
}

thread_local!(static BUNDLES: Vec<Vec<u8>> = bundles());

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn bundle_bytes_never_panic(
        which in 0..3usize,
        edits in edits(),
        insert in insertion(),
        cut in cut(),
        // A length or count field overwritten with a large value.
        big in proptest::option::weighted(0.2, (any::<usize>(), any::<u64>())),
        random in proptest::collection::vec(any::<u8>(), 0..600),
        use_random in any::<bool>(),
    ) {
        BUNDLES.with(|b| {
            let original = &b[which];
            let bytes = if use_random {
                // Past the magic and version, so random bodies reach bincode.
                let mut v = original[..10].to_vec();
                v.extend_from_slice(&random);
                v
            } else {
                let mut v = mutate(original.clone(), &edits, insert.clone(), cut);
                if let Some((at, x)) = big {
                    if v.len() >= 18 {
                        let at = 10 + at % (v.len() - 17);
                        v[at..at + 8].copy_from_slice(&x.to_le_bytes());
                    }
                }
                v
            };
            match ProofBundle::from_bytes(&bytes) {
                Err(e) => prop_assert!(!e.to_string().is_empty()),
                Ok(bundle) => {
                    prop_assert_eq!(&bundle.to_bytes(), &bytes, "bundle encoding is not canonical");
                    let _ = (bundle.commitment(), bundle.binding(), bundle.share_commitments(), bundle.template(), bundle.model_id_hex());
                    let _ = (bundle.instances(), bundle.verifier_calldata(), bundle.register_calldata(), bundle.upgrade_calldata());
                }
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------
// Model manifests.

struct ManifestCase {
    text: Vec<u8>,
    parsed: Manifest,
    /// The ONNX file, when the manifest verifies against it with the development issuer key.
    onnx: Option<Vec<u8>>,
}

fn manifests() -> Vec<ManifestCase> {
    fn find(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                find(&p, out);
            } else if p.file_name().is_some_and(|n| n == "manifest.json") {
                out.push(p);
            }
        }
    }
    let mut paths = Vec::new();
    find(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../models"), &mut paths);
    paths.sort();
    let trusted = IssuerKeys::development();
    let cases: Vec<ManifestCase> = paths
        .iter()
        .filter_map(|p| {
            let text = std::fs::read(p).unwrap();
            let parsed = Manifest::from_json(&text).ok()?;
            let onnx = std::fs::read(p.with_file_name(&parsed.onnx.file)).ok().filter(|o| o.len() < 1 << 20 && parsed.verify(o, &trusted).is_ok());
            Some(ManifestCase { text, parsed, onnx })
        })
        .collect();
    assert!(cases.len() >= 4, "bundled manifests: {paths:?}");
    assert!(cases.iter().filter(|c| c.onnx.is_some()).count() >= 2, "manifests that verify with their ONNX");
    cases
}

thread_local!(static MANIFESTS: Vec<ManifestCase> = manifests());

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, ..ProptestConfig::default() })]

    #[test]
    fn manifest_json_never_panics_and_changed_manifests_never_verify(
        which in any::<usize>(),
        edits in edits(),
        insert in insertion(),
        cut in cut(),
        random in proptest::collection::vec(any::<u8>(), 0..300),
        path in proptest::collection::vec(any::<usize>(), 0..5),
        replacement in json_value(),
        remove in any::<bool>(),
        how in 0..3u8,
    ) {
        MANIFESTS.with(|ms| {
            let case = &ms[which % ms.len()];
            let bytes = match how {
                0 => mutate(case.text.clone(), &edits, insert.clone(), cut),
                1 => {
                    let mut v: Value = serde_json::from_slice(&case.text).unwrap();
                    mutate_json(&mut v, &path, replacement.clone(), remove);
                    serde_json::to_vec(&v).unwrap()
                }
                _ => random.clone(),
            };
            match Manifest::from_json(&bytes) {
                Err(e) => prop_assert!(!e.to_string().is_empty()),
                Ok(m) => {
                    let _ = (m.model_id_bytes(), m.signing_bytes(), m.to_json_pretty());
                    if let Some(onnx) = &case.onnx {
                        let verified = m.verify(onnx, &IssuerKeys::development());
                        if m != case.parsed {
                            prop_assert!(verified.is_err(), "a changed manifest verified");
                        } else {
                            prop_assert!(verified.is_ok(), "an unchanged manifest failed: {:?}", verified);
                        }
                    } else {
                        let _ = m.verify(b"not the model", &IssuerKeys::development());
                    }
                }
            }
            Ok(())
        })?;
    }
}

#[test]
fn the_mutators_change_what_they_touch() {
    assert_eq!(mutate(vec![1, 2, 3], &[(4, 0xff)], None, None), vec![1, 0xfd, 3]);
    assert_eq!(mutate(vec![1, 2, 3], &[], Some((1, vec![9])), Some(2)), vec![1, 9]);
    let mut v = serde_json::json!({"a": {"b": [1, 2]}, "c": 3});
    mutate_json(&mut v, &[0, 0, 1], Value::from("x"), false);
    assert_eq!(v, serde_json::json!({"a": {"b": [1, "x"]}, "c": 3}));
    mutate_json(&mut v, &[1], Value::Null, true);
    assert_eq!(v, serde_json::json!({"a": {"b": [1, "x"]}}));
    mutate_json(&mut v, &[0, 0, 0], Value::Null, true);
    assert_eq!(v, serde_json::json!({"a": {"b": ["x"]}}));
}
