//! Vault behaviour through the public API: round trips with the real conformance images,
//! keys, deletion, rotation, attestation checks, locking and concurrency.

mod vault_support;

use std::sync::Arc;

use vault_support::*;
use zkiris::attest::{dev_device_id, dev_device_key, DeviceKey};
use zkiris::vault::{
    EnrollmentRecord, KdfCost, KeyProvider, PassphraseProvider, RawKeyProvider, RecordId, Vault, VaultError, VaultFile, VaultOptions, INDEX_FILE, LOCK_FILE,
};

fn passphrase(p: &[u8]) -> Arc<dyn KeyProvider> {
    Arc::new(PassphraseProvider::generate(p, KdfCost::MINIMUM).unwrap())
}

#[test]
fn conformance_images_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let (image, mask) = conformance_pair();
    let original = signed_record(image, mask, &dev_device_key()).with_metadata("site", "test-orb");
    let id = {
        let vault = Vault::create(dir.path(), passphrase(b"pw"), VaultOptions::default()).unwrap();
        let id = vault.import(original.clone(), &[dev_device_id()]).unwrap();
        assert_eq!(vault.get(&id).unwrap(), original);
        id
    };
    let (vault, report) = Vault::open_with_passphrase(dir.path(), b"pw", VaultOptions::default()).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let back = vault.get(&id).unwrap();
    // Byte-identical to the files on disk, and every other field.
    assert_eq!(back.image().pixels(), &std::fs::read(CONFORMANCE_IMAGE).unwrap()[..]);
    assert_eq!(back.mask().bits(), &std::fs::read(CONFORMANCE_MASK).unwrap()[..]);
    assert_eq!(back.salt(), original.salt());
    assert_eq!(back.commitment(), original.commitment());
    assert_eq!(back.signature(), original.signature());
    assert_eq!(back.device(), dev_device_id());
    assert_eq!(back.created_unix(), 1_700_000_000);
    assert_eq!(back.metadata().get("site").map(String::as_str), Some("test-orb"));
    assert_eq!(back, original);
    back.signature().verify(&back.commitment().0, &[dev_device_id()]).unwrap();
    // The commitment recomputed from the stored image, mask and salt is the signed one.
    let recomputed = zkiris::commitment::commit(back.image(), back.mask(), back.salt()).unwrap();
    assert_eq!(&recomputed, back.commitment());
    back.verify_commitment().unwrap();

    let list = vault.list();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0], original.summary(id));
    assert_eq!((list[0].height, list[0].width), (128, 1024));
    let mut expected = vec![id.file_name(), INDEX_FILE.to_string(), LOCK_FILE.to_string()];
    expected.sort();
    assert_eq!(file_names(dir.path()), expected);
    assert_no_plaintext(dir.path(), &[&original]);
    // Secrets are redacted.
    let dbg = format!("{back:?}");
    assert!(dbg.contains("IrisImage(128x1024, [REDACTED])") && dbg.contains("Salt([REDACTED])"), "{dbg}");
}

#[test]
fn wrong_keys_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    {
        let v = Vault::create(dir.path(), passphrase(b"right"), VaultOptions::default()).unwrap();
        v.import(record(1), &[dev_device_id()]).unwrap();
    }
    let e = Vault::open_with_passphrase(dir.path(), b"wrong", VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::WrongKey), "{e}");
    // A passphrase provider with other parameters (another salt) is noticed by its key id.
    let e = Vault::open(dir.path(), passphrase(b"right"), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::KeyIdMismatch { .. }), "{e}");

    // Raw keys: same id, other key → WrongKey; other id → KeyIdMismatch.
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    Vault::create(dir.path(), Arc::new(RawKeyProvider::new("k", &key)), VaultOptions::default()).unwrap();
    let e = Vault::open(dir.path(), Arc::new(RawKeyProvider::new("k", &[8u8; 32])), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::WrongKey), "{e}");
    let e = Vault::open(dir.path(), Arc::new(RawKeyProvider::new("other", &key)), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::KeyIdMismatch { .. }), "{e}");
    // A passphrase on a raw-key vault.
    let e = Vault::open_with_passphrase(dir.path(), b"x", VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::KeyIdMismatch { .. }), "{e}");
    Vault::open(dir.path(), Arc::new(RawKeyProvider::new("k", &key)), VaultOptions::default()).unwrap();
}

#[test]
fn create_and_open_preconditions() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let e = Vault::open(dir.path(), p.clone(), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::NotAVault { .. }), "{e}");
    let e = Vault::open(dir.path().join("nope"), p.clone(), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::NotAVault { .. }), "{e}");
    Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let e = Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::AlreadyExists { .. }), "{e}");
    let e = Vault::create(dir.path().join("x"), Arc::new(RawKeyProvider::new("", &[0; 32])), VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::InvalidKeyId { len: 0 }), "{e}");
    let info = Vault::inspect(dir.path()).unwrap();
    assert_eq!(info.key_id, "k");
    assert_eq!(info.generation, 1);
    assert!(info.kdf.is_none());
}

#[test]
fn delete_shreds_the_key_then_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let v = Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let (ra, rb) = (record(1), record(2));
    let a = v.import(ra.clone(), &[dev_device_id()]).unwrap();
    let b = v.import(rb.clone(), &[dev_device_id()]).unwrap();
    let saved_a = std::fs::read(dir.path().join(a.file_name())).unwrap();
    let gen = v.generation();
    v.delete(&a).unwrap();
    assert_eq!(v.generation(), gen + 1);
    assert!(matches!(v.get(&a), Err(VaultError::NotFound { record }) if record == a));
    assert!(matches!(v.delete(&a), Err(VaultError::NotFound { .. })));
    assert!(!dir.path().join(a.file_name()).exists());
    assert_eq!(v.get(&b).unwrap(), rb);
    drop(v);

    // Putting the old ciphertext back does not resurrect the record: its wrapped key is gone
    // from the committed index, so open treats the file as an orphan and removes it.
    std::fs::write(dir.path().join(a.file_name()), &saved_a).unwrap();
    let (v, report) = Vault::open(dir.path(), p, VaultOptions::default()).unwrap();
    assert_eq!(report.orphan_records_removed, vec![a]);
    assert!(matches!(v.get(&a), Err(VaultError::NotFound { .. })));
    assert_eq!(v.list().iter().map(|s| s.id).collect::<Vec<_>>(), vec![b]);
    assert!(!dir.path().join(a.file_name()).exists());
}

#[test]
fn rotate_kek_rewraps_without_reencrypting() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(dir.path(), passphrase(b"old"), VaultOptions::default()).unwrap();
    let (ra, rb) = (record(1), record(2));
    let a = v.import(ra.clone(), &[dev_device_id()]).unwrap();
    let b = v.import(rb.clone(), &[dev_device_id()]).unwrap();
    let files_before: Vec<Vec<u8>> = [a, b].iter().map(|id| std::fs::read(dir.path().join(id.file_name())).unwrap()).collect();
    let old_key_id = v.key_id();

    let new = passphrase(b"new");
    v.rotate_kek(new.clone()).unwrap();
    assert_eq!(v.key_id(), new.key_id());
    assert_ne!(v.key_id(), old_key_id);
    // The same handle keeps working, and record files were not touched.
    assert_eq!(v.get(&a).unwrap(), ra);
    let files_after: Vec<Vec<u8>> = [a, b].iter().map(|id| std::fs::read(dir.path().join(id.file_name())).unwrap()).collect();
    assert_eq!(files_before, files_after);
    // Rotating to the key already in force is refused.
    assert!(matches!(v.rotate_kek(new.clone()), Err(VaultError::KeyIdMismatch { .. })));
    drop(v);

    let e = Vault::open_with_passphrase(dir.path(), b"old", VaultOptions::default()).unwrap_err();
    assert!(matches!(e, VaultError::WrongKey), "{e}");
    let (v, _) = Vault::open_with_passphrase(dir.path(), b"new", VaultOptions::default()).unwrap();
    assert_eq!(v.get(&a).unwrap(), ra);
    assert_eq!(v.get(&b).unwrap(), rb);

    // Passphrase → raw key → passphrase.
    let raw = raw_provider("platform-key-2");
    v.rotate_kek(raw.clone()).unwrap();
    drop(v);
    assert!(Vault::inspect(dir.path()).unwrap().kdf.is_none());
    let v = reopen(dir.path(), raw);
    assert_eq!(v.get(&b).unwrap(), rb);
    v.rotate_kek(passphrase(b"third")).unwrap();
    drop(v);
    let (v, _) = Vault::open_with_passphrase(dir.path(), b"third", VaultOptions::default()).unwrap();
    assert_eq!(v.list().len(), 2);
    assert_no_plaintext(dir.path(), &[&ra, &rb]);
}

/// A provider whose unwrap always fails: rotation to it must not brick the vault.
struct BrokenProvider;
impl KeyProvider for BrokenProvider {
    fn key_id(&self) -> String {
        "broken".into()
    }
    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, zkiris::vault::KeyError> {
        Ok(dek.iter().map(|b| b ^ 0x55).collect())
    }
    fn unwrap(&self, _: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, zkiris::vault::KeyError> {
        Err(zkiris::vault::KeyError::Unavailable("keystore locked".into()))
    }
}

#[test]
fn rotation_to_a_broken_provider_is_refused_before_commit() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let v = Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let r = record(3);
    let id = v.import(r.clone(), &[dev_device_id()]).unwrap();
    let e = v.rotate_kek(Arc::new(BrokenProvider)).unwrap_err();
    assert!(matches!(e, VaultError::KeyProvider(zkiris::vault::KeyError::Unavailable(_))), "{e}");
    assert_eq!(v.key_id(), "k");
    drop(v);
    assert_eq!(reopen(dir.path(), p).get(&id).unwrap(), r);
}

#[test]
fn import_checks_the_capture_attestation() {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(dir.path(), raw_provider("k"), VaultOptions::default()).unwrap();
    let trusted = [dev_device_id()];

    // Signed by a device that is not trusted.
    let rogue = DeviceKey::generate();
    let (i, m) = synthetic_pair(10);
    let e = v.import(signed_record(i, m, &rogue), &trusted).unwrap_err();
    assert!(matches!(e, VaultError::UntrustedDevice { device } if device == rogue.id()), "{e}");

    // Signature by the dev device, but the record claims another device.
    let good = record(11);
    let claims_rogue =
        EnrollmentRecord::new(good.image().clone(), good.mask().clone(), good.salt().clone(), *good.commitment(), *good.signature(), rogue.id()).unwrap();
    let e = v.import(claims_rogue, &[dev_device_id(), rogue.id()]).unwrap_err();
    assert!(matches!(e, VaultError::DeviceMismatch { stated, signer } if stated == rogue.id() && signer == dev_device_id()), "{e}");

    // A malformed signature.
    let mut sig = *good.signature();
    sig.0[64] = 30;
    let bad_sig = EnrollmentRecord::new(good.image().clone(), good.mask().clone(), good.salt().clone(), *good.commitment(), sig, dev_device_id()).unwrap();
    assert!(matches!(v.import(bad_sig, &trusted), Err(VaultError::BadSignature { .. })));

    // A validly signed commitment that is not Commit(image, mask, salt) of the record's data:
    // here the salt was swapped after signing.
    let wrong_salt = EnrollmentRecord::new(
        good.image().clone(),
        good.mask().clone(),
        zkiris::commitment::Salt::random(),
        *good.commitment(),
        *good.signature(),
        dev_device_id(),
    )
    .unwrap();
    let e = v.import(wrong_salt, &trusted).unwrap_err();
    assert!(matches!(e, VaultError::CommitmentMismatch { signed, computed } if signed == *good.commitment() && computed != signed), "{e}");
    // Same with one pixel changed.
    let mut px = good.image().pixels().to_vec();
    px[777] ^= 1;
    let wrong_image = EnrollmentRecord::new(
        zkiris::image::IrisImage::new(H, W, px).unwrap(),
        good.mask().clone(),
        good.salt().clone(),
        *good.commitment(),
        *good.signature(),
        dev_device_id(),
    )
    .unwrap();
    assert!(matches!(v.import(wrong_image, &trusted), Err(VaultError::CommitmentMismatch { .. })));

    // Metadata over the limits.
    let huge = record(12).with_metadata("k", "v".repeat(70_000));
    assert!(matches!(v.import(huge, &trusted), Err(VaultError::InvalidRecord { .. })));

    // Nothing was stored by the refused imports.
    assert!(v.list().is_empty());
    let id = v.import(good.clone(), &trusted).unwrap();
    let e = v.import(good, &trusted).unwrap_err();
    assert!(matches!(e, VaultError::Duplicate { existing } if existing == id), "{e}");
    assert_eq!(v.list().len(), 1);
}

#[test]
fn writers_are_serialised_across_handles() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let h1 = Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let (h2, _) = Vault::open(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let (r1, r2) = (record(1), record(2));
    let a = h1.import(r1.clone(), &[dev_device_id()]).unwrap();
    // h2 has not seen `a` yet; its import re-reads the index first, so `a` is kept.
    let b = h2.import(r2.clone(), &[dev_device_id()]).unwrap();
    assert_eq!(h2.list().len(), 2);
    h1.delete(&b).unwrap();
    assert_eq!(h1.list().iter().map(|s| s.id).collect::<Vec<_>>(), vec![a]);
    // h2 still lists `b`, but reading it reports NotFound (deleted meanwhile), not Tampered.
    assert_eq!(h2.list().len(), 2);
    assert!(matches!(h2.get(&b), Err(VaultError::NotFound { record }) if record == b));
    drop((h1, h2));
    let v = reopen(dir.path(), p.clone());
    assert_eq!(v.list().iter().map(|s| s.id).collect::<Vec<_>>(), vec![a]);

    // While another process holds the writer lock, writes and opens are refused with Locked.
    let lock_file = std::fs::OpenOptions::new().write(true).open(dir.path().join(LOCK_FILE)).unwrap();
    let mut other = fd_lock::RwLock::new(lock_file);
    let guard = other.try_write().unwrap();
    assert!(matches!(v.import(record(5), &[dev_device_id()]), Err(VaultError::Locked { .. })));
    assert!(matches!(v.delete(&a), Err(VaultError::Locked { .. })));
    assert!(matches!(v.rotate_kek(raw_provider("k2")), Err(VaultError::Locked { .. })));
    assert!(matches!(Vault::open(dir.path(), p.clone(), VaultOptions::default()), Err(VaultError::Locked { .. })));
    // Readers are not blocked.
    assert_eq!(v.get(&a).unwrap(), r1);
    drop(guard);
    v.import(record(5), &[dev_device_id()]).unwrap();
    assert_eq!(v.list().len(), 2);
}

#[test]
fn concurrent_readers_with_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let v = Arc::new(Vault::create(dir.path(), raw_provider("k"), VaultOptions::default()).unwrap());
    let stable: Vec<(RecordId, EnrollmentRecord)> = (0..3)
        .map(|i| {
            let r = record(100 + i);
            (v.import(r.clone(), &[dev_device_id()]).unwrap(), r)
        })
        .collect();
    let stable = Arc::new(stable);
    let readers: Vec<_> = (0..4)
        .map(|t| {
            let (v, stable) = (v.clone(), stable.clone());
            std::thread::spawn(move || {
                for round in 0..8 {
                    let (id, r) = &stable[(t + round) % stable.len()];
                    assert_eq!(&v.get(id).unwrap(), r);
                    assert!(v.list().len() >= 3);
                }
            })
        })
        .collect();
    for i in 0..4 {
        let id = v.import(record(200 + i), &[dev_device_id()]).unwrap();
        if i % 2 == 0 {
            v.delete(&id).unwrap();
        }
    }
    for r in readers {
        r.join().unwrap();
    }
    assert_eq!(v.list().len(), 5);
}

#[test]
fn missing_record_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let v = Vault::create(dir.path(), p.clone(), VaultOptions::default()).unwrap();
    let a = v.import(record(1), &[dev_device_id()]).unwrap();
    let rb = record(2);
    let b = v.import(rb.clone(), &[dev_device_id()]).unwrap();
    drop(v);
    std::fs::remove_file(dir.path().join(a.file_name())).unwrap();
    let (v, report) = Vault::open(dir.path(), p, VaultOptions::default()).unwrap();
    assert_eq!(report.missing_records, vec![a]);
    let e = v.get(&a).unwrap_err();
    assert!(matches!(e, VaultError::Tampered { file: VaultFile::Record(r), .. } if r == a), "{e}");
    assert_eq!(v.get(&b).unwrap(), rb);
}

/// The plaintext scanner used by the fault tests does find a leak.
#[test]
#[should_panic(expected = "plaintext")]
fn plaintext_scanner_detects_a_leak() {
    let dir = tempfile::tempdir().unwrap();
    let r = record(9);
    let mut leaked = vec![0xAAu8; 100];
    leaked.extend_from_slice(&r.image().pixels()[5000..5040]);
    std::fs::write(dir.path().join("innocent.bin"), leaked).unwrap();
    assert_no_plaintext(dir.path(), &[&r]);
}

/// Timings for the report: `cargo test -p zkiris --test vault_roundtrip measure -- --ignored --nocapture`.
#[test]
#[ignore = "measurement; run explicitly"]
fn measure_mobile_kdf_and_record_io() {
    use std::time::Instant;
    let dir = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let p: Arc<dyn KeyProvider> = Arc::new(PassphraseProvider::generate(b"pw", KdfCost::MOBILE).unwrap());
    let kdf = t.elapsed();
    let v = Vault::create(dir.path(), p, VaultOptions::default()).unwrap();
    let (image, mask) = conformance_pair();
    let r = signed_record(image, mask, &dev_device_key());
    let t = Instant::now();
    let id = v.import(r.clone(), &[dev_device_id()]).unwrap();
    let import = t.elapsed();
    let t = Instant::now();
    for _ in 0..10 {
        assert_eq!(v.get(&id).unwrap(), r);
    }
    let get = t.elapsed() / 10;
    let t = Instant::now();
    r.verify_commitment().unwrap();
    let commit = t.elapsed();
    let size = std::fs::metadata(dir.path().join(id.file_name())).unwrap().len();
    println!("argon2id MOBILE (64 MiB, t=3, p=1): {kdf:?}; import (incl. commitment check {commit:?}): {import:?}; get: {get:?}; record file: {size} bytes");
}
