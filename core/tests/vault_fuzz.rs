//! Fuzzing the vault's readers through the public API: whatever bytes sit in the index or a
//! record file, opening and reading return a typed error (never a panic, never data).

mod vault_support;

use std::sync::Arc;

use proptest::prelude::*;
use vault_support::*;
use zkiris::attest::dev_device_id;
use zkiris::vault::{KeyProvider, RecordId, Vault, VaultError, VaultOptions, INDEX_FILE};

struct Fixture {
    dir: tempfile::TempDir,
    overlay: Arc<OverlayFs>,
    provider: Arc<dyn KeyProvider>,
    id: RecordId,
    index: Vec<u8>,
    record: Vec<u8>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let provider = raw_provider("k");
    let v = Vault::create(dir.path(), provider.clone(), VaultOptions::default()).unwrap();
    let id = v.import(record(1), &[dev_device_id()]).unwrap();
    let index = std::fs::read(dir.path().join(INDEX_FILE)).unwrap();
    let record = std::fs::read(dir.path().join(id.file_name())).unwrap();
    Fixture { dir, overlay: OverlayFs::new(), provider, id, index, record }
}

fn typed(e: &VaultError) -> bool {
    matches!(
        e,
        VaultError::Tampered { .. }
            | VaultError::Truncated { .. }
            | VaultError::Empty { .. }
            | VaultError::UnsupportedVersion { .. }
            | VaultError::WrongKey
            | VaultError::KeyIdMismatch { .. }
    )
}

fn mutate(mut v: Vec<u8>, edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let n = v.len();
    for &(i, x) in edits {
        v[i % n] ^= x;
    }
    if let Some(c) = cut {
        v.truncate(c % (n + 1));
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn any_index_bytes_give_a_typed_error(
        edits in proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        cut in proptest::option::of(any::<usize>()),
        random in proptest::collection::vec(any::<u8>(), 0..300),
        use_random in any::<bool>(),
        fix in any::<bool>(),
    ) {
        thread_local!(static F: Fixture = fixture());
        F.with(|f| {
            let mut bytes = if use_random { random.clone() } else { mutate(f.index.clone(), &edits, cut) };
            if fix && bytes.len() >= 54 {
                let len = (bytes.len() as u64).to_be_bytes();
                bytes[10..18].copy_from_slice(&len);
                fix_checksums(&mut bytes);
            }
            let path = f.dir.path().join(INDEX_FILE);
            let opts = VaultOptions::default().with_fs(f.overlay.clone());
            let r = f.overlay.with(&path, &bytes, || Vault::open(f.dir.path(), f.provider.clone(), opts));
            match r {
                Ok((v, _)) => prop_assert_eq!(&bytes, &f.index, "modified index opened: {:?}", v),
                Err(e) => prop_assert!(typed(&e), "untyped error {}", e),
            }
            Ok(())
        })?;
    }

    #[test]
    fn any_record_bytes_give_a_typed_error(
        edits in proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4),
        cut in proptest::option::of(any::<usize>()),
        fix in any::<bool>(),
    ) {
        thread_local!(static F: (Fixture, Vault) = {
            let f = fixture();
            let opts = VaultOptions::default().with_fs(f.overlay.clone());
            let v = Vault::open(f.dir.path(), f.provider.clone(), opts).unwrap().0;
            (f, v)
        });
        F.with(|(f, v)| {
            let mut bytes = mutate(f.record.clone(), &edits, cut);
            if fix && bytes.len() >= 54 {
                let len = (bytes.len() as u64).to_be_bytes();
                bytes[10..18].copy_from_slice(&len);
                fix_checksums(&mut bytes);
            }
            let path = f.dir.path().join(f.id.file_name());
            let r = f.overlay.with(&path, &bytes, || v.get(&f.id));
            match r {
                Ok(_) => prop_assert_eq!(&bytes, &f.record, "modified record decrypted"),
                Err(e) => prop_assert!(typed(&e), "untyped error {}", e),
            }
            Ok(())
        })?;
    }
}
