//! Private code submission from the command line, end to end on a tiny mpc-shares model with
//! 16,384-bit codes (so its codes are template-shaped): `party keygen` → `prove --party-key ×3`
//! with a binding → `verify --json` (S_p and the binding, no code) → each party `party open`s
//! its share → `party combine` any two → `zkiris match` against `zkiris encode --json` of the
//! same image gives distance 0; and the failures, each checked for its exit status and for
//! writing nothing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zkiris::mpc::{Party, PartyPublicKey, PartySecretKey, ShareFile};
use zkiris::prover::ProofBundle;
use zkiris::public::{fr_to_be, Binding, Submission};
use zkiris::testkit::{write_tiny, TinyRules, TinySpec};

const CHAIN_ID: &str = "31337";
const REGISTRY: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
const ACCOUNT: &str = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";

fn zkiris(args: &[&str], cache: &Path) -> Output {
    zkiris_env(args, cache, None)
}

fn zkiris_env(args: &[&str], cache: &Path, models: Option<&Path>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkiris"));
    c.args(args).env("ZKIRIS_CACHE", cache).env_remove("ZKIRIS_MODELS");
    if let Some(m) = models {
        c.env("ZKIRIS_MODELS", m);
    }
    c.output().unwrap()
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout: {}\nstderr: {}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

fn ok(o: Output) -> Output {
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    o
}

/// Fails with `status`, mentions `needle` (stdout or stderr), and `out` was not written.
fn fails(o: &Output, status: i32, needle: &str, out: &Path) {
    assert_eq!(o.status.code(), Some(status), "{}", text(o));
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(all.contains(needle), "output does not mention `{needle}`: {}", text(o));
    assert!(!out.exists(), "{} was written: {}", out.display(), text(o));
    no_temporaries(out.parent().unwrap());
}

/// No temporary file of an atomic write is left in `dir`.
fn no_temporaries(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().to_string();
        assert!(!name.ends_with(".tmp"), "temporary file {name} left in {}", dir.display());
    }
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A tiny world-style model with a 16 × 256 probe grid (4 planes: 16,384-bit codes, the
/// template shape) submitting MPC shares; it proves at k = 17 (the shares chip alone fills
/// 114,691 rows), where the bundled tiny mpc model (128-bit codes) proves at k = 11.
fn mpc_spec() -> TinySpec {
    TinySpec {
        rows: 32,
        cols: 256,
        grid_rows: 16,
        grid_cols: 256,
        k_rows: 3,
        k_cols: 5,
        submission: Submission::MpcShares,
        ..TinySpec::default_for(TinyRules::World)
    }
}

fn open_args<'a>(model: &'a str, party: &'a str, key: &'a Path, proof: &'a Path, out: &'a Path) -> Vec<&'a str> {
    vec!["party", "open", "--model", model, "--party", party, "--key", s(key), "--proof", s(proof), "--out", s(out), "--json"]
}

#[test]
fn keygen_prove_verify_open_combine_match_and_every_failure() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let cache = dir.join("cache");
    let models = dir.join("models");
    let manifest = write_tiny(&mpc_spec(), 11, &models.join("tiny-mpc")).unwrap();
    let model = s(&manifest).to_string();
    let public_model = write_tiny(&TinySpec::default_for(TinyRules::World), 11, &dir.join("public")).unwrap();
    let (img, mask) = (models.join("tiny-mpc/image.png"), models.join("tiny-mpc/mask.png"));
    let salt = "00000000000000000000000000000000000000000000000000000000000000c5";

    // 1. Three parties make their key pairs (and a fourth key that is nobody's).
    let keys: Vec<PathBuf> = (1..=4).map(|p| dir.join(format!("party{p}.key"))).collect();
    for key in &keys {
        let o = ok(zkiris(&["party", "keygen", "--out", s(key), "--json"], &cache));
        let j = json(&o);
        let pub_path = PathBuf::from(format!("{}.pub", key.display()));
        assert_eq!(j["public_key"], s(&pub_path));
        let sk = PartySecretKey::from_bytes(&std::fs::read(key).unwrap()).unwrap();
        let pk = PartyPublicKey::from_bytes(&std::fs::read(&pub_path).unwrap()).unwrap();
        assert_eq!(sk.public_key(), pk, "the .pub file is the secret key's public key");
        assert_eq!(j["fingerprint"], hex::encode(pk.fingerprint()));
        #[cfg(unix)]
        assert_eq!(mode(key), 0o600, "the secret key is private");
    }
    no_temporaries(&dir);
    // keygen refuses to overwrite a key, unless --force.
    let before = std::fs::read(&keys[3]).unwrap();
    let o = zkiris(&["party", "keygen", "--out", s(&keys[3])], &cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("already exists"), "{}", text(&o));
    assert_eq!(std::fs::read(&keys[3]).unwrap(), before, "the existing key is untouched");
    let o = ok(zkiris(&["party", "keygen", "--out", s(&keys[3]), "--force"], &cache));
    assert!(String::from_utf8_lossy(&o.stdout).contains("fingerprint"), "{}", text(&o));
    assert_ne!(std::fs::read(&keys[3]).unwrap(), before, "--force made a new key");
    let pubs: Vec<String> = keys.iter().map(|k| format!("{}.pub", k.display())).collect();

    // 2. Prove with the three public keys and a binding.
    let proof = dir.join("p.zkp");
    let prove = |extra: &[&str], out: &Path| {
        let mut args = vec!["prove", "--model", &model, "--image", s(&img), "--mask", s(&mask), "--salt", salt, "--out", s(out)];
        args.extend_from_slice(extra);
        zkiris(&args, &cache)
    };
    let binding_args = ["--chain-id", CHAIN_ID, "--registry", REGISTRY, "--account", ACCOUNT];
    let party_args = ["--party-key", &pubs[0], "--party-key", &pubs[1], "--party-key", &pubs[2]];
    let o = ok(prove(&[&party_args[..], &binding_args[..], &["--json"]].concat(), &proof));
    let pj = json(&o);
    assert_eq!(pj["submission"], "mpc-shares");
    assert_eq!(pj["envelopes"], 3);
    assert!(pj["valid_bits"].is_null(), "an mpc-shares proof reveals no valid-bit count: {pj}");
    let bundle = ProofBundle::from_bytes(&std::fs::read(&proof).unwrap()).unwrap();
    assert_eq!(bundle.submission, Submission::MpcShares);
    assert!(bundle.iris_code.is_empty() && bundle.mask_code.is_empty(), "no code in the bundle");
    let s_p = bundle.share_commitments().unwrap();
    let s_hex: Vec<String> = s_p.iter().map(|x| format!("0x{}", hex::encode(x))).collect();
    let binding = Binding::parse(31337, REGISTRY, ACCOUNT).unwrap().to_field();
    let binding_hex = format!("0x{}", hex::encode(fr_to_be(&binding)));
    assert_eq!(bundle.binding().unwrap(), fr_to_be(&binding), "the binding is public input 3");

    // 3. verify --json: S_1..S_3 and the binding, and no code.
    let v = ok(zkiris(&["verify", "--model", &model, "--proof", s(&proof), "--json"], &cache));
    let vj = json(&v);
    assert_eq!(vj["valid"], true);
    assert_eq!(vj["submission"], "mpc-shares");
    assert_eq!(vj["share_commitments"], serde_json::json!(s_hex));
    assert_eq!(vj["binding"], binding_hex.as_str());
    for key in ["iris_codes", "mask_codes", "valid_bits", "code_encoding"] {
        assert!(vj.get(key).is_none(), "verify --json of an mpc-shares proof shows {key}: {vj}");
    }

    // 4. Each party opens its own share; it matches S_p.
    let shares: Vec<PathBuf> = (1..=3).map(|p| dir.join(format!("share{p}.json"))).collect();
    for p in 0..3 {
        let o = ok(zkiris(&open_args(&model, &(p + 1).to_string(), &keys[p], &proof, &shares[p]), &cache));
        let j = json(&o);
        assert_eq!((j["ok"].as_bool(), j["party"].as_u64()), (Some(true), Some(p as u64 + 1)), "{j}");
        assert_eq!(j["share_commitment"], s_hex[p].as_str());
        assert_eq!(j["binding"], binding_hex.as_str());
        let file = ShareFile::from_json(&std::fs::read(&shares[p]).unwrap()).unwrap();
        assert_eq!(file.party(), Party::ALL[p]);
        assert_eq!(file.model_id(), bundle.model_id);
        assert_eq!(fr_to_be(&file.share().commitment()), s_p[p], "share{} matches S_{}", p + 1, p + 1);
        assert_eq!(file.share().elements().len(), 16384 / 4);
        #[cfg(unix)]
        assert_eq!(mode(&shares[p]), 0o600, "a share file is private");
    }
    no_temporaries(&dir);
    // Opening again onto an existing share file is refused (exit 2) and leaves it as it was.
    let before = std::fs::read(&shares[0]).unwrap();
    let o = zkiris(&open_args(&model, "1", &keys[0], &proof, &shares[0]), &cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(json(&o)["reason"], "exists");
    assert_eq!(std::fs::read(&shares[0]).unwrap(), before);

    // 5. Any two shares combine into the template of `zkiris encode --json` of the same image.
    let encoded = dir.join("encoded.json");
    let o = ok(zkiris(&["encode", "--model", &model, "--image", s(&img), "--mask", s(&mask), "--json"], &cache));
    std::fs::write(&encoded, &o.stdout).unwrap();
    let encoded_template: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    for (a, b) in [(0, 1), (1, 2), (2, 0)] {
        let template = dir.join(format!("template{}{}.json", a + 1, b + 1));
        let o = ok(zkiris(&["party", "combine", s(&shares[a]), s(&shares[b]), "--out", s(&template), "--model", &model, "--json"], &cache));
        let j = json(&o);
        assert_eq!(j["parties"], serde_json::json!([a + 1, b + 1]));
        let t: serde_json::Value = serde_json::from_slice(&std::fs::read(&template).unwrap()).unwrap();
        assert_eq!(t["model_id"], encoded_template["model_id"]);
        assert_eq!(t["mask_codes"], encoded_template["mask_codes"], "the mask code is reconstructed exactly");
        assert_eq!(t["valid_bits"], encoded_template["valid_bits"]);
        assert_eq!(j["valid_bits"], encoded_template["valid_bits"]);
        #[cfg(unix)]
        assert_eq!(mode(&template), 0o600, "a template is private");
        let m = ok(zkiris(&["match", s(&template), s(&encoded), "--json"], &cache));
        let mj = json(&m);
        assert_eq!(mj["distance"].as_f64(), Some(0.0), "{mj}");
        assert_eq!(mj["shift"].as_i64(), Some(0), "{mj}");
        assert_eq!(mj["same_model"], true);
    }
    // Without --model, the model is found among the bundled models ($ZKIRIS_MODELS) by id.
    let found = dir.join("template-found.json");
    let o = ok(zkiris_env(&["party", "combine", s(&shares[0]), s(&shares[2]), "--out", s(&found)], &cache, Some(&models)));
    assert!(String::from_utf8_lossy(&o.stdout).contains("combined parties 1 and 3"), "{}", text(&o));
    // … and when none has that id, it is a clear error.
    let nowhere = dir.join("template-nowhere.json");
    let o = zkiris_env(&["party", "combine", s(&shares[0]), s(&shares[2]), "--out", s(&nowhere)], &cache, Some(&dir.join("public")));
    fails(&o, 2, "pass --model", &nowhere);

    // 6. Failures: the exit status, and nothing written.
    let out = dir.join("never.json");
    // A key that is nobody's: the opaque decryption error.
    let o = zkiris(&open_args(&model, "1", &keys[3], &proof, &out), &cache);
    fails(&o, 1, "cannot decrypt", &out);
    assert_eq!(json(&o)["reason"], "decryption");
    // Party 2's key with --party 1.
    let o = zkiris(&open_args(&model, "1", &keys[1], &proof, &out), &cache);
    fails(&o, 1, "--party 2", &out);
    assert_eq!(json(&o)["reason"], "wrong_party");
    // A tampered byte of party 1's envelope (the proof itself still verifies: the envelope's
    // structure is intact, and only party 1 can tell its ciphertext was changed).
    let mut tampered = bundle.clone();
    let last = tampered.envelopes[0].len() - 1;
    tampered.envelopes[0][last] ^= 0x01;
    let tampered_path = dir.join("tampered.zkp");
    std::fs::write(&tampered_path, tampered.to_bytes()).unwrap();
    let o = zkiris(&open_args(&model, "1", &keys[0], &tampered_path, &out), &cache);
    fails(&o, 1, "cannot decrypt", &out);
    assert_eq!(json(&o)["reason"], "decryption");
    // A proof of another model (refused before any verifying key is derived) …
    let o = zkiris(&open_args(s(&public_model), "1", &keys[0], &proof, &out), &cache);
    fails(&o, 1, "the proof is for model", &out);
    assert_eq!(json(&o)["reason"], "wrong_model");
    // … and a tampered proof: refused before any decryption.
    let mut bad_proof = bundle.clone();
    bad_proof.proof[64] ^= 0x01;
    let bad_proof_path = dir.join("bad-proof.zkp");
    std::fs::write(&bad_proof_path, bad_proof.to_bytes()).unwrap();
    let o = zkiris(&open_args(&model, "1", &keys[0], &bad_proof_path, &out), &cache);
    fails(&o, 1, "invalid", &out);
    assert_eq!(json(&o)["reason"], "invalid");
    // A truncated proof file.
    let bytes = std::fs::read(&proof).unwrap();
    let truncated = dir.join("truncated.zkp");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let o = zkiris(&open_args(&model, "1", &keys[0], &truncated, &out), &cache);
    fails(&o, 2, "truncated", &out);
    assert_eq!(json(&o)["reason"], "bad_bundle");
    // A truncated key file.
    let short_key = dir.join("short.key");
    std::fs::write(&short_key, &std::fs::read(&keys[0]).unwrap()[..20]).unwrap();
    let o = zkiris(&open_args(&model, "1", &short_key, &proof, &out), &cache);
    fails(&o, 2, "truncated", &out);
    assert_eq!(json(&o)["reason"], "bad_key");
    // A public key where the secret key belongs.
    let o = zkiris(&open_args(&model, "1", Path::new(&pubs[0]), &proof, &out), &cache);
    fails(&o, 2, "secret key is needed", &out);
    // A missing key file, and a party that does not exist.
    let o = zkiris(&open_args(&model, "1", &dir.join("missing.key"), &proof, &out), &cache);
    fails(&o, 2, "missing.key", &out);
    let o = zkiris(&["party", "open", "--model", &model, "--party", "4", "--key", s(&keys[0]), "--proof", s(&proof), "--out", s(&out)], &cache);
    fails(&o, 2, "--party", &out);
    // Two shares of the same party.
    let copy = dir.join("share1-copy.json");
    std::fs::copy(&shares[0], &copy).unwrap();
    let o = zkiris(&["party", "combine", s(&shares[0]), s(&copy), "--out", s(&out), "--model", &model, "--json"], &cache);
    fails(&o, 1, "party 1", &out);
    assert_eq!(json(&o)["reason"], "same_party");
    // A damaged share file.
    let broken = dir.join("broken.json");
    let share_text = std::fs::read(&shares[1]).unwrap();
    std::fs::write(&broken, &share_text[..share_text.len() - 2]).unwrap();
    let o = zkiris(&["party", "combine", s(&shares[0]), s(&broken), "--out", s(&out), "--model", &model], &cache);
    fails(&o, 2, "not a valid share file", &out);
    // Shares of another enrollment do not combine with these.
    let mut other: serde_json::Value = serde_json::from_slice(&share_text).unwrap();
    other["commitment"] = format!("0x{}", "00".repeat(31) + "07").into();
    let other_path = dir.join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    let o = zkiris(&["party", "combine", s(&shares[0]), s(&other_path), "--out", s(&out), "--model", &model, "--json"], &cache);
    fails(&o, 1, "different enrollment commitments", &out);
    assert_eq!(json(&o)["reason"], "commitment_mismatch");
    // The public-code twin is not the model the shares were made with.
    let o = zkiris(&["party", "combine", s(&shares[0]), s(&shares[1]), "--out", s(&out), "--model", s(&public_model)], &cache);
    fails(&o, 2, "the shares are of model", &out);

    // 7. prove refuses wrong party-key arguments before any proving work.
    let never = dir.join("never.zkp");
    let o = prove(&["--party-key", &pubs[0], "--party-key", &pubs[1]], &never);
    fails(&o, 2, "exactly three --party-key", &never);
    let o = prove(&[], &never);
    fails(&o, 2, "give the three parties' public keys", &never);
    let o = prove(&["--party-key", &pubs[0], "--party-key", s(&keys[1]), "--party-key", &pubs[2]], &never);
    fails(&o, 2, "SECRET key", &never);
    let o = prove(&["--party-key", &pubs[0], "--party-key", &pubs[1], "--party-key", &pubs[0]], &never);
    fails(&o, 2, "same public key", &never);
    let o = prove(&["--party-key", &pubs[0], "--party-key", &pubs[1], "--party-key", s(&short_key)], &never);
    fails(&o, 2, "party 3", &never);
    let o = prove(&[&party_args[..], &["--chain-id", "1", "--registry", REGISTRY]].concat(), &never);
    fails(&o, 2, "--account", &never);
    let o = prove(&[&party_args[..], &["--chain-id", "1", "--registry", "0x1234", "--account", ACCOUNT]].concat(), &never);
    fails(&o, 2, "--registry", &never);
    let (public_img, public_mask) = (dir.join("public/image.png"), dir.join("public/mask.png"));
    let public_prove = zkiris(
        &[
            "prove",
            "--model",
            s(&public_model),
            "--image",
            s(&public_img),
            "--mask",
            s(&public_mask),
            "--salt",
            salt,
            "--out",
            s(&never),
            "--party-key",
            &pubs[0],
        ],
        &cache,
    );
    fails(&public_prove, 2, "public code", &never);
}
