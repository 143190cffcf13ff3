//! `zkiris vault ...` end to end: init, enroll (dev and explicit device keys), list, rotate,
//! delete, and the typed failures a user sees.

use std::path::Path;
use std::process::{Command, Output};

use zkiris::attest::{dev_device_id, DeviceKey};
use zkiris::commitment::{commit, Salt};
use zkiris::image::{IrisImage, IrisMask};

const IMAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/world-v3/constants/iris/test_image.bin");
const MASK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/world-v3/constants/mask/test_image.bin");
// The cheapest cost the vault accepts (KdfCost::MINIMUM).
const FAST_KDF: [&str; 4] = ["--kdf-memory-kib", "19456", "--kdf-passes", "2"];

fn zkiris(args: &[&str], pass: Option<&str>, new_pass: Option<&str>) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_zkiris"));
    c.args(args).env_remove("ZKIRIS_VAULT_PASSPHRASE").env_remove("ZKIRIS_VAULT_NEW_PASSPHRASE");
    if let Some(p) = pass {
        c.env("ZKIRIS_VAULT_PASSPHRASE", p);
    }
    if let Some(p) = new_pass {
        c.env("ZKIRIS_VAULT_NEW_PASSPHRASE", p);
    }
    c.output().unwrap()
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "stdout: {}\nstderr: {}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn fails(o: Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "expected failure, got stdout {}", String::from_utf8_lossy(&o.stdout));
    assert!(err.contains(needle), "stderr does not mention `{needle}`: {err}");
}

fn field(out: &str, name: &str) -> String {
    out.lines().find_map(|l| l.strip_prefix(name)).unwrap_or_else(|| panic!("no `{name}` in {out}")).trim().to_string()
}

fn write_pngs(dir: &Path) -> (IrisImage, IrisMask) {
    let image = IrisImage::new(128, 1024, std::fs::read(IMAGE).unwrap()).unwrap();
    let mask = IrisMask::new(128, 1024, std::fs::read(MASK).unwrap()).unwrap();
    std::fs::write(dir.join("i.png"), image.to_png_bytes()).unwrap();
    std::fs::write(dir.join("m.png"), mask.to_png_bytes()).unwrap();
    (image, mask)
}

#[test]
fn vault_commands_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let (image, mask) = write_pngs(tmp.path());
    let vault = tmp.path().join("vault");
    let d = vault.to_str().unwrap();
    let (img, msk) = (tmp.path().join("i.png"), tmp.path().join("m.png"));
    let (img, msk) = (img.to_str().unwrap(), msk.to_str().unwrap());

    let out = ok(zkiris(&[&["vault", "init", "--dir", d][..], &FAST_KDF[..]].concat(), Some("pw"), None));
    assert!(out.contains("created vault"), "{out}");
    fails(zkiris(&[&["vault", "init", "--dir", d][..], &FAST_KDF[..]].concat(), Some("pw"), None), "already exists");

    // Enroll with the dev device: warns, prints id and the commitment of (image, mask, salt).
    let o = zkiris(&["vault", "enroll", "--dir", d, "--image", img, "--mask", msk, "--salt", "0x05", "--meta", "eye=left"], Some("pw"), None);
    assert!(String::from_utf8_lossy(&o.stderr).contains("INSECURE"));
    let out = ok(o);
    let id_a = field(&out, "record");
    let expected = commit(&image, &mask, &Salt::from_hex("0x05").unwrap()).unwrap();
    assert_eq!(field(&out, "commitment"), expected.to_string());
    assert_eq!(field(&out, "device"), dev_device_id().to_string());
    // The same enrollment again is refused.
    fails(zkiris(&["vault", "enroll", "--dir", d, "--image", img, "--mask", msk, "--salt", "0x05"], Some("pw"), None), "already stored");

    // Enroll with an explicit device key (hex secret).
    let key = DeviceKey::generate();
    let hex_key = hex::encode(*key.to_bytes());
    let out = ok(zkiris(&["vault", "enroll", "--dir", d, "--image", img, "--mask", msk, "--device-key", &hex_key], Some("pw"), None));
    let id_b = field(&out, "record");
    assert_eq!(field(&out, "device"), key.id().to_string());

    // List as JSON.
    let listed: serde_json::Value = serde_json::from_str(&ok(zkiris(&["vault", "list", "--dir", d, "--json"], Some("pw"), None))).unwrap();
    let recs = listed["records"].as_array().unwrap();
    assert_eq!(recs.len(), 2);
    let a = recs.iter().find(|r| r["id"] == id_a.as_str()).unwrap();
    assert_eq!(a["commitment"], expected.to_string());
    assert_eq!(a["metadata"]["eye"], "left");
    assert_eq!((a["height"].as_u64(), a["width"].as_u64()), (Some(128), Some(1024)));
    let text = ok(zkiris(&["vault", "list", "--dir", d], Some("pw"), None));
    assert!(text.contains(&id_a) && text.contains(&id_b), "{text}");

    // Wrong passphrase; no passphrase and no terminal.
    fails(zkiris(&["vault", "list", "--dir", d], Some("nope"), None), "wrong key");
    fails(zkiris(&["vault", "list", "--dir", d], None, None), "ZKIRIS_VAULT_PASSPHRASE");

    // Rotate: the old passphrase stops working, the new one opens the same records.
    let out = ok(zkiris(&[&["vault", "rotate", "--dir", d][..], &FAST_KDF[..]].concat(), Some("pw"), Some("pw2")));
    assert!(out.contains("2 record(s) re-wrapped"), "{out}");
    fails(zkiris(&["vault", "list", "--dir", d], Some("pw"), None), "wrong key");
    assert!(ok(zkiris(&["vault", "list", "--dir", d], Some("pw2"), None)).contains(&id_a));

    // Delete.
    ok(zkiris(&["vault", "delete", "--dir", d, "--record", &id_a], Some("pw2"), None));
    fails(zkiris(&["vault", "delete", "--dir", d, "--record", &id_a], Some("pw2"), None), "not in the vault");
    fails(zkiris(&["vault", "delete", "--dir", d, "--record", "xyz"], Some("pw2"), None), "32 hex digits");
    let text = ok(zkiris(&["vault", "list", "--dir", d], Some("pw2"), None));
    assert!(!text.contains(&id_a) && text.contains(&id_b), "{text}");

    // Check: clean, then one damaged record reported by id with exit status 1, the other intact.
    let out = ok(zkiris(&["vault", "check", "--dir", d], Some("pw2"), None));
    assert!(out.contains("1 record(s) intact, 0 damaged"), "{out}");
    let rec = vault.join(format!("{id_b}.rec"));
    let saved = std::fs::read(&rec).unwrap();
    let mut bad = saved.clone();
    let n = bad.len();
    bad[n - 40] ^= 1;
    std::fs::write(&rec, &bad).unwrap();
    let o = zkiris(&["vault", "check", "--dir", d], Some("pw2"), None);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.contains(&format!("DAMAGED  {id_b}")) && out.contains("0 record(s) intact, 1 damaged"), "{out}");
    let o = zkiris(&["vault", "check", "--dir", d, "--json"], Some("pw2"), None);
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["damaged"][0]["id"], id_b.as_str(), "{report}");
    assert!(report["damaged"][0]["error"].as_str().unwrap().contains("damaged or was tampered with"), "{report}");
    std::fs::write(&rec, &saved).unwrap();
    fails(zkiris(&["vault", "check", "--dir", d], Some("pw"), None), "wrong key");
    let o = zkiris(&["vault", "check", "--dir", d], Some("pw"), None);
    assert_eq!(o.status.code(), Some(2));

    // Bad inputs.
    fails(zkiris(&["vault", "enroll", "--dir", d, "--image", img, "--mask", msk, "--meta", "novalue"], Some("pw2"), None), "KEY=VALUE");
    fails(zkiris(&["vault", "enroll", "--dir", d, "--image", img, "--mask", msk, "--device-key", "zz"], Some("pw2"), None), "--device-key");
    fails(zkiris(&["vault", "list", "--dir", tmp.path().join("none").to_str().unwrap()], Some("pw2"), None), "no vault");
}
