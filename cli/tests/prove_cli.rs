//! `zkiris commit | prove | verify | calldata | aggregate` end to end on a tiny model written to disk as an
//! app downloads it: exit codes, JSON output, tampering and typed failures.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use zkiris::prover::{ProofBundle, ProofTranscript};
use zkiris::testkit::{write_tiny, TinyRules, TinySpec};

fn zkiris(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkiris")).args(args).env("ZKIRIS_CACHE", cache).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("status {:?}\nstdout: {}\nstderr: {}", o.status.code(), String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(o)))
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    cache: PathBuf,
    world: String,
    openiris: String,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let world = write_tiny(&TinySpec::default_for(TinyRules::World), 7, &dir.join("world")).unwrap();
    let openiris = write_tiny(&TinySpec::default_for(TinyRules::Openiris), 7, &dir.join("openiris")).unwrap();
    let cache = dir.join("cache");
    Fixture { dir, cache, world: world.display().to_string(), openiris: openiris.display().to_string(), _tmp: tmp }
}

#[test]
fn commit_prove_verify_and_tamper() {
    let f = fixture();
    let img = f.dir.join("world/image.png");
    let mask = f.dir.join("world/mask.png");
    let (img, mask) = (img.to_str().unwrap(), mask.to_str().unwrap());
    let salt = "00000000000000000000000000000000000000000000000000000000000000aa";

    let c = zkiris(&["commit", "--image", img, "--mask", mask, "--salt", salt, "--json"], &f.cache);
    assert!(c.status.success(), "{}", text(&c));
    let commitment = json(&c)["commitment"].as_str().unwrap().to_string();

    let proof = f.dir.join("p.zkp");
    let (registry, account) = ("0x5fbdb2315678afecb367f032d93f642f64180aa3", "0x70997970c51812dc3a010c7d01b50e0d17dc79c8");
    let p = zkiris(
        &[
            "prove",
            "--model",
            &f.world,
            "--image",
            img,
            "--mask",
            mask,
            "--salt",
            salt,
            "--out",
            proof.to_str().unwrap(),
            "--json",
            "--chain-id",
            "1",
            "--registry",
            registry,
            "--account",
            account,
        ],
        &f.cache,
    );
    assert!(p.status.success(), "{}", text(&p));
    let pj = json(&p);
    assert_eq!(pj["commitment"].as_str().unwrap(), commitment.trim_start_matches("0x"), "proof states the commitment");
    let binding = zkiris::public::Binding::parse(1, registry, account).unwrap().to_field();
    let binding = format!("0x{}", hex::encode(zkiris::public::fr_to_be(&binding)));
    assert_eq!(pj["binding"], binding.as_str());
    assert_eq!(pj["submission"], "public-code");
    assert!(!f.dir.join(".p.zkp.tmp").exists(), "no temporary file is left");

    let v = zkiris(&["verify", "--model", &f.world, "--proof", proof.to_str().unwrap(), "--json"], &f.cache);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    let vj = json(&v);
    assert_eq!(vj["valid"], true);
    assert_eq!(vj["commitment"].as_str().unwrap(), commitment);
    let bundle = ProofBundle::from_bytes(&std::fs::read(&proof).unwrap()).unwrap();
    assert_eq!(vj["iris_codes"].as_str().unwrap(), hex::encode(&bundle.iris_code), "the proven iris code");
    assert_eq!(vj["mask_codes"].as_str().unwrap(), hex::encode(&bundle.mask_code));
    assert_eq!(vj["valid_bits"].as_u64(), bundle.valid_bits.map(u64::from));
    assert_eq!(vj["submission"], "public-code");
    assert_eq!(vj["binding"], binding.as_str(), "the proof is bound to (chain, registry, account)");
    // Party keys are for mpc-shares models only; a public-code proof has no shares to open.
    let key = f.dir.join("p1.key");
    let o = zkiris(&["party", "keygen", "--out", key.to_str().unwrap()], &f.cache);
    assert!(o.status.success(), "{}", text(&o));
    let share = f.dir.join("share.json");
    let o = zkiris(
        &[
            "party",
            "open",
            "--model",
            &f.world,
            "--party",
            "1",
            "--key",
            key.to_str().unwrap(),
            "--proof",
            proof.to_str().unwrap(),
            "--out",
            share.to_str().unwrap(),
            "--json",
        ],
        &f.cache,
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(json(&o)["reason"], "not_mpc_shares");
    assert!(!share.exists());

    // A flipped proof byte: invalid, exit 1.
    let mut b = ProofBundle::from_bytes(&std::fs::read(&proof).unwrap()).unwrap();
    b.proof[64] ^= 1;
    let bad = f.dir.join("bad.zkp");
    std::fs::write(&bad, b.to_bytes()).unwrap();
    let v = zkiris(&["verify", "--model", &f.world, bad.to_str().unwrap(), "--json"], &f.cache);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    assert_eq!(json(&v)["valid"], false);

    // The proof under another model: wrong_model, exit 1.
    let v = zkiris(&["verify", "--model", &f.openiris, proof.to_str().unwrap(), "--json"], &f.cache);
    assert_eq!(v.status.code(), Some(1), "{}", text(&v));
    assert_eq!(json(&v)["reason"], "wrong_model");

    // Not a bundle at all: an error, exit 2.
    let junk = f.dir.join("junk.zkp");
    std::fs::write(&junk, b"not a proof").unwrap();
    let v = zkiris(&["verify", "--model", &f.world, junk.to_str().unwrap()], &f.cache);
    assert_eq!(v.status.code(), Some(2), "{}", text(&v));
    assert!(String::from_utf8_lossy(&v.stderr).contains("not a zkiris proof bundle"), "{}", text(&v));

    // Tiny models have short codes: registry calldata (layout v2, 2048-byte codes) is refused clearly,
    // with the bundle given as an argument or as `--proof`.
    for args in [vec!["calldata", proof.to_str().unwrap(), "--for", "verifier"], vec!["calldata", "--proof", proof.to_str().unwrap()]] {
        let cd = zkiris(&args, &f.cache);
        assert_eq!(cd.status.code(), Some(2), "{}", text(&cd));
        assert!(String::from_utf8_lossy(&cd.stderr).contains("layout (v2)"), "{}", text(&cd));
    }
}

#[test]
fn export_verifier_writes_source_bytecode_and_manifest() {
    let f = fixture();
    let out = f.dir.join("verifier");
    let o = zkiris(&["export-verifier", "--model", &f.world, "--out-dir", out.to_str().unwrap()], &f.cache);
    assert!(o.status.success(), "{}", text(&o));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("verifier.json")).unwrap()).unwrap();
    // A tiny model has its own public-input count: the bare verifier is for it, not the registry.
    assert_eq!(manifest["registry_layout_v2"], false, "{manifest}");
    let parts = manifest["parts"].as_array().unwrap();
    assert!(!parts.is_empty());
    for part in parts {
        let bin = std::fs::read_to_string(out.join(part["creation_bytecode"].as_str().unwrap())).unwrap();
        assert!(bin.len() > 1000 && bin.bytes().all(|c| c.is_ascii_hexdigit()), "{part}");
        assert!(part["runtime_bytes"].as_u64().unwrap() <= 24_576, "{part}");
    }
    let sol = std::fs::read_to_string(out.join("Halo2Verifier.sol")).unwrap();
    assert!(sol.contains("contract Halo2Verifier"));
    assert!(String::from_utf8_lossy(&o.stdout).contains("stores forwarded, memory"), "{}", text(&o));
}

#[test]
fn bad_inputs_fail_before_proving_with_clear_errors() {
    let f = fixture();
    let img = f.dir.join("world/image.png");
    let (img, mask) = (img.to_str().unwrap(), f.dir.join("world/mask.png"));
    let mask = mask.to_str().unwrap();
    let out = f.dir.join("never.zkp");
    let out = out.to_str().unwrap();
    // A malformed salt.
    let o = zkiris(&["prove", "--model", &f.world, "--image", img, "--mask", mask, "--salt", "xyz", "--out", out], &f.cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--salt"), "{}", text(&o));
    // A mask of another shape.
    let other_mask = f.dir.join("openiris/mask.png");
    let spec = TinySpec::default_for(TinyRules::World);
    let wrong = zkiris::image::IrisMask::all_valid(spec.rows as u32 + 1, spec.cols as u32);
    std::fs::write(&other_mask, wrong.to_png_bytes()).unwrap();
    let o = zkiris(&["prove", "--model", &f.world, "--image", img, "--mask", other_mask.to_str().unwrap(), "--salt", &"11".repeat(32), "--out", out], &f.cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // A manifest whose signature does not verify (edited rules).
    let forged = f.dir.join("world/forged.json");
    let original = std::fs::read_to_string(&f.world).unwrap();
    let edited = original.replacen("\"version\": \"0.0.1\"", "\"version\": \"0.0.2\"", 1);
    assert_ne!(original, edited, "the manifest was edited");
    std::fs::write(&forged, edited).unwrap();
    let o = zkiris(&["prove", "--model", forged.to_str().unwrap(), "--image", img, "--mask", mask, "--salt", &"11".repeat(32), "--out", out], &f.cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("signature"), "{}", text(&o));
    // No failure wrote a proof.
    assert!(!Path::new(out).exists());
}

#[test]
fn prove_from_a_vault_record() {
    let f = fixture();
    let vault = f.dir.join("vault");
    let v = vault.to_str().unwrap();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_zkiris"))
            .args(args)
            .env("ZKIRIS_CACHE", &f.cache)
            .env("ZKIRIS_VAULT_PASSPHRASE", "pass")
            .env("ZKIRIS_VAULT_NEW_PASSPHRASE", "pass")
            .output()
            .unwrap()
    };
    let o = run(&["vault", "init", "--dir", v, "--kdf-memory-kib", "19456", "--kdf-passes", "2"]);
    assert!(o.status.success(), "{}", text(&o));
    let (img, mask) = (f.dir.join("world/image.png"), f.dir.join("world/mask.png"));
    let o = run(&["vault", "enroll", "--dir", v, "--image", img.to_str().unwrap(), "--mask", mask.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let record = out.lines().find_map(|l| l.strip_prefix("record")).unwrap().trim().to_string();
    let commitment = out.lines().find_map(|l| l.strip_prefix("commitment")).unwrap().trim().to_string();

    let proof = f.dir.join("vault.zkp");
    let o = run(&["prove", "--model", &f.world, "--vault", v, "--record", &record, "--out", proof.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let b = ProofBundle::from_bytes(&std::fs::read(&proof).unwrap()).unwrap();
    assert_eq!(format!("0x{}", hex::encode(b.commitment().unwrap())), commitment, "the proof opens the enrolled commitment");
    assert!(b.attestation.is_some(), "a vault proof carries the device attestation");
    let o = run(&["verify", "--model", &f.world, "--proof", proof.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("valid bits") && out.contains(&format!("submission public-code; binding 0x{} (unbound", "00".repeat(32))), "{}", text(&o));

    // A wrong passphrase is a clear error and writes nothing.
    let bad = f.dir.join("bad-pass.zkp");
    let o = Command::new(env!("CARGO_BIN_EXE_zkiris"))
        .args(["prove", "--model", &f.world, "--vault", v, "--record", &record, "--out", bad.to_str().unwrap()])
        .env("ZKIRIS_CACHE", &f.cache)
        .env("ZKIRIS_VAULT_PASSPHRASE", "wrong")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!bad.exists());
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

const AGG_REGISTRY: &str = "0x5fbdb2315678afecb367f032d93f642f64180aa3";

/// `prove --aggregatable` and `aggregate`'s refusals, before any key generation. The
/// aggregation itself (key generation and proof of the aggregation circuit: about six minutes
/// for two tiny proofs on two cores) runs once in the suite, through the library, in
/// `core/tests/aggregation.rs` (natively, tampered, and on revm); the README's aggregation
/// table comes from this command on world-v3-mpc.
#[test]
fn prove_aggregatable_verifies_and_aggregate_refuses_what_it_cannot_fold() {
    let f = fixture();
    let (dir, cache) = (f.dir.as_path(), &f.cache);
    let (model, other) = (Path::new(&f.world), Path::new(&f.openiris));
    let (img, mask) = (dir.join("world/image.png"), dir.join("world/mask.png"));
    let prove = |out: &Path, account: &str, extra: &[&str]| {
        let mut args = vec!["prove", "--model", s(model), "--image", s(&img), "--mask", s(&mask), "--out", s(out), "--json"];
        args.extend_from_slice(&["--salt", "00000000000000000000000000000000000000000000000000000000000000aa"]);
        args.extend_from_slice(&["--chain-id", "31337", "--registry", AGG_REGISTRY, "--account", account]);
        args.extend_from_slice(extra);
        let o = zkiris(&args, cache);
        assert!(o.status.success(), "{}", text(&o));
        json(&o)
    };
    // An aggregatable proof and an ordinary one.
    let (a, keccak) = (dir.join("a.zkp"), dir.join("keccak.zkp"));
    assert_eq!(prove(&a, "0x70997970c51812dc3a010c7d01b50e0d17dc79c8", &["--aggregatable"])["transcript"], "poseidon");
    assert_eq!(prove(&keccak, "0x90f79bf6eb2c4f870365e785982e1f101e93b906", &[])["transcript"], "evm");
    let bundle_a = ProofBundle::from_bytes(&std::fs::read(&a).unwrap()).unwrap();
    assert_eq!(bundle_a.transcript, ProofTranscript::Poseidon);
    assert_eq!(u16::from_le_bytes([std::fs::read(&a).unwrap()[8], std::fs::read(&a).unwrap()[9]]), 3, "a Poseidon bundle is format version 3");
    assert_eq!(std::fs::read(&keccak).unwrap()[8..10], [2, 0], "a Keccak bundle is still format version 2");

    // A Poseidon bundle verifies natively like any other.
    let v = zkiris(&["verify", "--model", s(model), s(&a), "--json"], cache);
    assert_eq!(v.status.code(), Some(0), "{}", text(&v));
    assert_eq!(json(&v)["transcript"], "poseidon");
    // ... but the model's verifier contract cannot check it: no single-proof calldata for it.
    for call in ["verifier", "register", "upgrade"] {
        let o = zkiris(&["calldata", s(&a), "--for", call], cache);
        assert_eq!(o.status.code(), Some(2), "{call}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains("Poseidon transcript"), "{call}: {}", text(&o));
    }

    // Refused, exit 1, nothing written: a Keccak bundle, a bundle of another model.
    let out = dir.join("agg.zka");
    let o = zkiris(&["aggregate", "--model", s(model), s(&a), s(&keccak), "--out", s(&out), "--k", "19", "--json"], cache);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!((json(&o)["reason"].as_str(), json(&o)["index"].as_u64()), (Some("not_aggregatable"), Some(1)), "{}", text(&o));
    let o = zkiris(&["aggregate", "--model", s(other), s(&a), "--out", s(&out), "--k", "19", "--json"], cache);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(json(&o)["reason"], "wrong_model");
    // A k the aggregation circuit cannot use: an error, exit 2.
    let o = zkiris(&["aggregate", "--model", s(model), s(&a), "--out", s(&out), "--k", "12"], cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("outside 18..=26"), "{}", text(&o));
    // A bundle that does not verify (its binding changed): exit 1, `invalid`.
    let mut forged = bundle_a.clone();
    forged.public_inputs[zkiris::public::ROW_BINDING][31] ^= 1;
    let forged_path = dir.join("forged.zkp");
    std::fs::write(&forged_path, forged.to_bytes()).unwrap();
    let o = zkiris(&["aggregate", "--model", s(model), s(&forged_path), "--out", s(&out), "--k", "19", "--json"], cache);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!((json(&o)["reason"].as_str(), json(&o)["index"].as_u64()), (Some("invalid"), Some(0)), "{}", text(&o));
    assert!(!out.exists(), "nothing written for a refused aggregation");
    // `--batch N`: 1..=64 (the registry's limit), the number of proofs given, and without proofs
    // a verifier directory to write into; each refused with exit 2 before any key generation.
    let verifier_dir = dir.join("agg-verifier");
    for (args, says) in [
        (vec!["--batch", "0", "--verifier", s(&verifier_dir)], "--batch"),
        (vec!["--batch", "65", "--verifier", s(&verifier_dir)], "--batch"),
        (vec!["--batch", "2"], "give --verifier DIR"),
        (vec!["--batch", "3", s(&a)], "--batch 3 but 1 proofs given"),
    ] {
        let mut argv = vec!["aggregate", "--model", s(model), "--k", "19"];
        argv.extend(args);
        let o = zkiris(&argv, cache);
        assert_eq!(o.status.code(), Some(2), "{argv:?}: {}", text(&o));
        assert!(String::from_utf8_lossy(&o.stderr).contains(says), "{argv:?}: {}", text(&o));
    }
    assert!(!verifier_dir.exists() && !out.exists(), "nothing written for a refused --batch");

    // `calldata --for register-batch`: an aggregated proof's registerBatch calldata from the
    // signed bundles and their accounts, checked against each statement. (The aggregated proof
    // here is assembled from the two bundles' statements with a placeholder proof: the
    // calldata does not depend on the proof's validity, which the chain checks; the real
    // aggregation is tested in core/tests/aggregation.rs.)
    use zkiris::attest::{dev_device_id, dev_device_key};
    use zkiris::prover::agg::AggregatedProof;
    use zkiris::prover::Attestation;
    let accounts = ["0x70997970c51812dc3a010c7d01b50e0d17dc79c8", "0x90f79bf6eb2c4f870365e785982e1f101e93b906"];
    let bundle_k = ProofBundle::from_bytes(&std::fs::read(&keccak).unwrap()).unwrap();
    let signed: Vec<ProofBundle> = [&bundle_a, &bundle_k]
        .iter()
        .map(|b| {
            let signature = dev_device_key().sign_commitment(&b.public_inputs[zkiris::public::ROW_COMMITMENT]);
            ProofBundle { attestation: Some(Attestation { device: dev_device_id(), signature }), ..(*b).clone() }
        })
        .collect();
    let (sa, sk) = (dir.join("a-signed.zkp"), dir.join("k-signed.zkp"));
    std::fs::write(&sa, signed[0].to_bytes()).unwrap();
    std::fs::write(&sk, signed[1].to_bytes()).unwrap();
    let aggregated = AggregatedProof {
        model_id: bundle_a.model_id,
        model_name: bundle_a.model_name.clone(),
        submission: bundle_a.submission,
        inner_vk_fingerprint: bundle_a.vk_fingerprint,
        srs_fingerprint: bundle_a.srs_fingerprint,
        srs_insecure: true,
        k: 19,
        aggregation_vk_fingerprint: [5; 32],
        inputs_per_proof: bundle_a.public_inputs.len() as u32,
        instances: [vec![[0u8; 32]; 12], bundle_a.public_inputs.clone(), bundle_k.public_inputs.clone()].concat(),
        proof: vec![7; 96],
    };
    let zka = dir.join("batch.zka");
    std::fs::write(&zka, aggregated.to_bytes()).unwrap();
    let batch_for = |call: &str, bundles: [&Path; 2], accounts: [&str; 2]| {
        let mut args = vec!["calldata", s(&zka), "--for", call, "--chain-id", "31337", "--registry", AGG_REGISTRY];
        for (b, a) in bundles.iter().zip(accounts) {
            args.extend_from_slice(&["--bundle", s(b), "--account", a]);
        }
        zkiris(&args, cache)
    };
    let batch = |bundles: [&Path; 2], accounts: [&str; 2]| batch_for("register-batch", bundles, accounts);
    let o = batch([&sa, &sk], accounts);
    assert!(o.status.success(), "{}", text(&o));
    let account_bytes = accounts.map(|a| zkiris::public::parse_address(a).unwrap());
    let expected = zkiris::evm::calldata::register_batch_calldata(
        &aggregated.model_id,
        &aggregated.proof,
        &aggregated.instances,
        &account_bytes,
        &[signed[0].attestation.as_ref().unwrap().signature, signed[1].attestation.as_ref().unwrap().signature],
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("0x{}", hex::encode(expected)));
    // Refused (exit 2, nothing on stdout): accounts in the wrong order, an unsigned bundle,
    // bundles in the wrong order.
    for (bundles, accounts, needle) in [
        ([sa.as_path(), sk.as_path()], [accounts[1], accounts[0]], "statement 0 is not bound to account"),
        ([a.as_path(), sk.as_path()], accounts, "bundle 0 has no enrollment device signature"),
        ([sk.as_path(), sa.as_path()], accounts, "bundle 0 is not statement 0"),
    ] {
        let o = batch(bundles, accounts);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(o.stdout.is_empty() && String::from_utf8_lossy(&o.stderr).contains(needle), "{needle}: {}", text(&o));
    }

    // `calldata --for upgrade-batch`: the same checks but no device signature (an upgrade takes
    // none), so the unsigned bundle is accepted, and the calldata is upgradeBatch's.
    let o = batch_for("upgrade-batch", [&a, &sk], accounts);
    assert!(o.status.success(), "{}", text(&o));
    let expected = zkiris::evm::calldata::upgrade_batch_calldata(&aggregated.model_id, &aggregated.proof, &aggregated.instances, &account_bytes);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), format!("0x{}", hex::encode(expected)));
    for (bundles, accounts, needle) in [
        ([a.as_path(), sk.as_path()], [accounts[1], accounts[0]], "statement 0 is not bound to account"),
        ([sk.as_path(), a.as_path()], accounts, "bundle 0 is not statement 0"),
    ] {
        let o = batch_for("upgrade-batch", bundles, accounts);
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(o.stdout.is_empty() && String::from_utf8_lossy(&o.stderr).contains(needle), "{needle}: {}", text(&o));
    }
    // Without the registry the statements are bound to.
    let o = zkiris(&["calldata", s(&zka), "--for", "upgrade-batch", "--bundle", s(&a), "--account", accounts[0]], cache);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--for upgrade-batch needs --chain-id and --registry"), "{}", text(&o));
}
