//! Tampering, truncation, empty files and future versions: every damaged file gives a typed
//! error naming it, and undamaged records stay readable.

mod vault_support;

use std::path::Path;
use std::sync::Arc;

use vault_support::*;
use zkiris::attest::dev_device_id;
use zkiris::vault::{EnrollmentRecord, KdfCost, KeyProvider, PassphraseProvider, RecordId, Vault, VaultError, VaultFile, VaultOptions, INDEX_FILE};

struct Fixture {
    dir: tempfile::TempDir,
    /// Every vault handle of the fixture reads through this overlay.
    overlay: Arc<OverlayFs>,
    provider: Arc<dyn KeyProvider>,
    a: (RecordId, EnrollmentRecord),
    b: (RecordId, EnrollmentRecord),
}

fn fixture(provider: Arc<dyn KeyProvider>) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let v = Vault::create(dir.path(), provider.clone(), VaultOptions::default()).unwrap();
    let (ra, rb) = (record(1), record(2));
    let a = (v.import(ra.clone(), &[dev_device_id()]).unwrap(), ra);
    let b = (v.import(rb.clone(), &[dev_device_id()]).unwrap(), rb);
    Fixture { dir, overlay: OverlayFs::new(), provider, a, b }
}

fn open(f: &Fixture) -> Result<Vault, VaultError> {
    Vault::open(f.dir.path(), f.provider.clone(), VaultOptions::default().with_fs(f.overlay.clone())).map(|(v, _)| v)
}

/// Replaces a file on disk while `f` runs (for code paths that take no `Fs`).
fn with_disk_file<T>(path: &Path, bytes: &[u8], f: impl FnOnce() -> T) -> T {
    let saved = std::fs::read(path).unwrap();
    std::fs::write(path, bytes).unwrap();
    let out = f();
    std::fs::write(path, saved).unwrap();
    out
}

fn is_tampered(e: &VaultError, file: VaultFile) -> bool {
    matches!(e, VaultError::Tampered { file: f, .. } if *f == file)
}

#[test]
fn every_flipped_index_byte_is_tampered() {
    for provider in [raw_provider("k"), Arc::new(PassphraseProvider::generate(b"pw", KdfCost::MINIMUM).unwrap()) as _] {
        let f = fixture(provider);
        let path = f.dir.path().join(INDEX_FILE);
        let good = std::fs::read(&path).unwrap();
        for i in 0..good.len() {
            for bit in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[i] ^= bit;
                let e = f.overlay.with(&path, &bad, || open(&f).unwrap_err());
                assert!(is_tampered(&e, VaultFile::Index), "flip {bit:#x} at {i}: {e}");
            }
        }
        // Untouched, it still opens and both records read back.
        let v = open(&f).unwrap();
        assert_eq!(v.get(&f.a.0).unwrap(), f.a.1);
        assert_eq!(v.get(&f.b.0).unwrap(), f.b.1);
    }
}

/// Byte positions to flip in a 262 KB record file: every header, tag and trailer byte, and a
/// stride through the ciphertext.
fn record_positions(len: usize) -> Vec<usize> {
    let mut v: Vec<usize> = (0..94).collect();
    v.extend((94..len - 48).step_by(251));
    v.extend(len - 48..len);
    v
}

#[test]
fn flipped_record_byte_is_tampered_and_names_the_record() {
    let f = fixture(raw_provider("k"));
    let v = open(&f).unwrap();
    let path = f.dir.path().join(f.a.0.file_name());
    let good = std::fs::read(&path).unwrap();
    for i in record_positions(good.len()) {
        let mut bad = good.clone();
        bad[i] ^= 0x10;
        f.overlay.with(&path, &bad, || {
            let e = v.get(&f.a.0).unwrap_err();
            assert!(is_tampered(&e, VaultFile::Record(f.a.0)), "flip at {i}: {e}");
            assert_eq!(v.get(&f.b.0).unwrap(), f.b.1, "other record after flip at {i}");
        });
        // A tampered record does not stop the vault from opening.
        if i % 4096 == 0 {
            f.overlay.with(&path, &bad, || assert_eq!(open(&f).unwrap().list().len(), 2));
        }
    }
    assert_eq!(v.get(&f.a.0).unwrap(), f.a.1);
}

#[test]
fn tampering_that_fixes_the_checksums_is_still_caught() {
    let f = fixture(raw_provider("k"));
    let v = open(&f).unwrap();
    let path = f.dir.path().join(f.a.0.file_name());
    let good = std::fs::read(&path).unwrap();
    // Ciphertext, nonce, vault id, record id and data-key id: the AEAD or the binding check.
    for i in [22, 38, 54, 70, 93, 94, 1000, good.len() - 40] {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        fix_checksums(&mut bad);
        f.overlay.with(&path, &bad, || {
            let e = v.get(&f.a.0).unwrap_err();
            assert!(is_tampered(&e, VaultFile::Record(f.a.0)), "flip at {i}: {e}");
        });
    }
    // A record copied to another record's name (same vault, same KEK) does not decrypt.
    let b_path = f.dir.path().join(f.b.0.file_name());
    f.overlay.with(&b_path, &good, || {
        let e = v.get(&f.b.0).unwrap_err();
        assert!(is_tampered(&e, VaultFile::Record(f.b.0)), "{e}");
    });
    // A record moved into another vault under the same key and id does not decrypt either.
    let other = tempfile::tempdir().unwrap();
    let v2 = Vault::create(other.path(), f.provider.clone(), VaultOptions::default().with_fs(f.overlay.clone())).unwrap();
    let id2 = v2.import(record(1), &[dev_device_id()]).unwrap();
    let mut moved = good.clone();
    moved[38..54].copy_from_slice(&id2.0); // claim the other vault's record id
    fix_checksums(&mut moved);
    f.overlay.with(&other.path().join(id2.file_name()), &moved, || {
        let e = v2.get(&id2).unwrap_err();
        assert!(is_tampered(&e, VaultFile::Record(id2)), "{e}");
    });

    // Index: ciphertext changes are caught by the AEAD even with valid checksums.
    let ipath = f.dir.path().join(INDEX_FILE);
    let igood = std::fs::read(&ipath).unwrap();
    let mut bad = igood.clone();
    let n = bad.len();
    bad[n - 40] ^= 0x01;
    fix_checksums(&mut bad);
    let e = f.overlay.with(&ipath, &bad, || open(&f).unwrap_err());
    assert!(is_tampered(&e, VaultFile::Index), "{e}");
    // Vault id in the header (part of the associated data).
    let mut bad = igood.clone();
    bad[22] ^= 0x01;
    fix_checksums(&mut bad);
    let e = f.overlay.with(&ipath, &bad, || open(&f).unwrap_err());
    assert!(is_tampered(&e, VaultFile::Index), "{e}");
    // The wrapped index key: it no longer authenticates under the KEK.
    let mut bad = igood.clone();
    let key_id_len = bad[54] as usize;
    let wrapped_at = 55 + key_id_len + 1 + 2;
    bad[wrapped_at + 30] ^= 0x01;
    fix_checksums(&mut bad);
    let e = f.overlay.with(&ipath, &bad, || open(&f).unwrap_err());
    assert!(matches!(e, VaultError::WrongKey), "{e}");
}

#[test]
fn truncated_and_empty_files_are_typed() {
    let f = fixture(raw_provider("k"));
    let ipath = f.dir.path().join(INDEX_FILE);
    let igood = std::fs::read(&ipath).unwrap();
    for cut in 0..igood.len() {
        let e = f.overlay.with(&ipath, &igood[..cut], || open(&f).unwrap_err());
        if cut == 0 {
            assert!(matches!(e, VaultError::Empty { file: VaultFile::Index }), "{e}");
        } else {
            assert!(matches!(e, VaultError::Truncated { file: VaultFile::Index, actual, .. } if actual == cut as u64), "cut {cut}: {e}");
        }
    }
    let v = open(&f).unwrap();
    let rpath = f.dir.path().join(f.a.0.file_name());
    let rgood = std::fs::read(&rpath).unwrap();
    let file = VaultFile::Record(f.a.0);
    for cut in (0..rgood.len()).step_by(97).chain([1, 21, 22, 93, 94, rgood.len() - 1]) {
        f.overlay.with(&rpath, &rgood[..cut], || {
            let e = v.get(&f.a.0).unwrap_err();
            if cut == 0 {
                assert!(matches!(e, VaultError::Empty { file: f2 } if f2 == file), "{e}");
            } else {
                assert!(matches!(e, VaultError::Truncated { file: f2, .. } if f2 == file), "cut {cut}: {e}");
            }
            assert_eq!(v.get(&f.b.0).unwrap(), f.b.1);
        });
    }
}

#[test]
fn future_versions_are_refused() {
    let f = fixture(raw_provider("k"));
    let ipath = f.dir.path().join(INDEX_FILE);
    let mut future = std::fs::read(&ipath).unwrap();
    future[8..10].copy_from_slice(&2u16.to_be_bytes());
    fix_checksums(&mut future);
    let e = f.overlay.with(&ipath, &future, || open(&f).unwrap_err());
    assert!(matches!(e, VaultError::UnsupportedVersion { file: VaultFile::Index, found: 2, supported: 1 }), "{e}");
    let e = with_disk_file(&ipath, &future, || Vault::inspect(f.dir.path()).unwrap_err());
    assert!(matches!(e, VaultError::UnsupportedVersion { .. }), "{e}");

    let v = open(&f).unwrap();
    let rpath = f.dir.path().join(f.a.0.file_name());
    let mut future = std::fs::read(&rpath).unwrap();
    future[8..10].copy_from_slice(&0x0100u16.to_be_bytes());
    fix_checksums(&mut future);
    f.overlay.with(&rpath, &future, || {
        let e = v.get(&f.a.0).unwrap_err();
        assert!(matches!(e, VaultError::UnsupportedVersion { file: VaultFile::Record(r), found: 256, supported: 1 } if r == f.a.0), "{e}");
    });
}
