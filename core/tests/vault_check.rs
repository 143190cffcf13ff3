//! `Vault::check`: every record is read, authenticated and decrypted; damaged ones are reported
//! by id without stopping the check or changing anything, intact ones stay readable.

mod vault_support;

use std::sync::Arc;

use vault_support::*;
use zkiris::attest::dev_device_id;
use zkiris::vault::{KeyError, KeyProvider, RecordId, Vault, VaultError, VaultFile, VaultOptions};

#[test]
fn check_reports_damaged_records_by_id_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let provider = raw_provider("k");
    let v = Vault::create(dir.path(), provider.clone(), VaultOptions::default()).unwrap();
    let ids: Vec<RecordId> = (1..=4).map(|s| v.import(record(s), &[dev_device_id()]).unwrap()).collect();

    let clean = v.check().unwrap();
    assert!(clean.is_clean());
    let mut intact = clean.intact.clone();
    intact.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(intact, all);

    // Damage three records three ways: a flipped ciphertext byte, a truncated file, a missing file.
    let path = |id: &RecordId| dir.path().join(id.file_name());
    let mut bytes = std::fs::read(path(&ids[0])).unwrap();
    let n = bytes.len();
    bytes[n - 40] ^= 1;
    std::fs::write(path(&ids[0]), &bytes).unwrap();
    let bytes = std::fs::read(path(&ids[1])).unwrap();
    std::fs::write(path(&ids[1]), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::remove_file(path(&ids[2])).unwrap();
    let index_before = std::fs::read(dir.path().join(zkiris::vault::INDEX_FILE)).unwrap();

    let report = v.check().unwrap();
    assert!(!report.is_clean());
    assert_eq!(report.intact, vec![ids[3]]);
    let mut damaged: Vec<RecordId> = report.damaged.iter().map(|(id, _)| *id).collect();
    damaged.sort();
    let mut expected = ids[..3].to_vec();
    expected.sort();
    assert_eq!(damaged, expected);
    for (id, e) in &report.damaged {
        match e {
            VaultError::Tampered { file, .. } | VaultError::Truncated { file, .. } => assert_eq!(*file, VaultFile::Record(*id), "{e}"),
            other => panic!("record {id}: unexpected {other}"),
        }
        assert!(e.to_string().contains(&id.to_string()), "{e}");
    }
    // Nothing changed: same index, the intact record still reads, the damaged ones still listed.
    assert_eq!(std::fs::read(dir.path().join(zkiris::vault::INDEX_FILE)).unwrap(), index_before);
    assert_eq!(v.get(&ids[3]).unwrap().commitment(), record(4).commitment());
    assert_eq!(v.list().len(), 4);
    // The same from a fresh handle.
    let (again, _) = Vault::open(dir.path(), provider, VaultOptions::default()).unwrap();
    assert_eq!(again.check().unwrap().damaged.len(), 3);
}

/// A provider that works for `open` and then becomes unavailable.
struct FlakyProvider {
    inner: Arc<dyn KeyProvider>,
    fail: std::sync::atomic::AtomicBool,
}

impl KeyProvider for FlakyProvider {
    fn key_id(&self) -> String {
        self.inner.key_id()
    }
    fn wrap(&self, dek: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.inner.wrap(dek)
    }
    fn unwrap(&self, wrapped: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(KeyError::Unavailable("keystore locked".into()));
        }
        self.inner.unwrap(wrapped)
    }
}

#[test]
fn an_unavailable_key_stops_the_check_instead_of_blaming_the_records() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(FlakyProvider { inner: raw_provider("k"), fail: false.into() });
    let v = Vault::create(dir.path(), provider.clone(), VaultOptions::default()).unwrap();
    v.import(record(1), &[dev_device_id()]).unwrap();
    provider.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    match v.check() {
        Err(VaultError::KeyProvider(KeyError::Unavailable(_))) => {}
        other => panic!("expected the provider's error, got {other:?}"),
    }
}
