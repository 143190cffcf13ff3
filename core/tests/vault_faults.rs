//! Fault injection: a crash (or a failed operation) at every step of import, delete and
//! rotation leaves, after reopening, exactly the old state or the new one; no committed record
//! is lost and no plaintext reaches the disk.

mod vault_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use vault_support::*;
use zkiris::attest::dev_device_id;
use zkiris::vault::{EnrollmentRecord, KeyProvider, RecordId, Vault, VaultError, VaultOptions, INDEX_FILE, LOCK_FILE};

type State = BTreeMap<RecordId, EnrollmentRecord>;

/// A vault with two committed records; returns it closed.
fn setup(dir: &Path, provider: &Arc<dyn KeyProvider>) -> State {
    let v = Vault::create(dir, provider.clone(), VaultOptions::default()).unwrap();
    (1..=2)
        .map(|s| {
            let r = record(s);
            (v.import(r.clone(), &[dev_device_id()]).unwrap(), r)
        })
        .collect()
}

/// Reopens with the real file system and returns the state it holds, after checking that
/// every listed record decrypts and that no garbage or plaintext is left.
fn observe(dir: &Path, provider: Arc<dyn KeyProvider>, all: &[&EnrollmentRecord]) -> State {
    let (v, _report) = Vault::open(dir, provider, VaultOptions::default()).unwrap();
    let state: State = v.list().iter().map(|s| (s.id, v.get(&s.id).unwrap())).collect();
    // Recovery leaves only the index, the lock file and the listed records.
    let mut expected: Vec<String> = state.keys().map(RecordId::file_name).collect();
    expected.push(INDEX_FILE.into());
    expected.push(LOCK_FILE.into());
    expected.sort();
    assert_eq!(file_names(dir), expected);
    assert_no_plaintext(dir, all);
    state
}

/// Runs `op` with a fault at every mutating step until it completes without hitting the fault.
/// `check(k, fault, result, reopened_state)` asserts the outcome. Returns the number of steps.
fn for_every_step(
    fault: Fault,
    mut run: impl FnMut(&Path, Arc<FaultFs>) -> (Result<(), VaultError>, State, State, Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>),
) -> usize {
    for k in 0.. {
        let dir = tempfile::tempdir().unwrap();
        let fs = FaultFs::new(k, fault);
        let (result, old, new, old_key, new_key) = run(dir.path(), fs.clone());
        let all: Vec<&EnrollmentRecord> = old.values().chain(new.values()).collect();
        // With a new KEK (rotation), exactly one of the two keys opens the vault.
        let reopened = match new_key {
            None => observe(dir.path(), old_key, &all),
            Some(new_key) => match Vault::open(dir.path(), new_key.clone(), VaultOptions::default()) {
                Ok(_) => {
                    assert!(Vault::open(dir.path(), old_key, VaultOptions::default()).is_err());
                    observe(dir.path(), new_key, &all)
                }
                Err(_) => {
                    assert!(result.is_err(), "step {k}: rotation returned Ok but the new key does not open");
                    observe(dir.path(), old_key, &all)
                }
            },
        };
        assert!(reopened == old || reopened == new, "step {k} ({fault:?}, {:?}): a mixed state", fs.log());
        if result.is_ok() && fault != Fault::FailOnce {
            // Ok means committed and durable.
            assert!(reopened == new, "step {k}: Ok but the old state came back");
        }
        if !fs.fired() {
            assert!(result.is_ok(), "step {k}: failed without a fault: {result:?}");
            assert!(reopened == new);
            return k;
        }
    }
    unreachable!()
}

fn import_case(dir: &Path, fs: Arc<FaultFs>) -> (Result<(), VaultError>, State, State, Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>) {
    let p = raw_provider("k");
    let old = setup(dir, &p);
    let (v, _) = Vault::open(dir, p.clone(), VaultOptions::default().with_fs(fs)).unwrap();
    let r = record(3);
    let result = v.import(r.clone(), &[dev_device_id()]);
    let mut new = old.clone();
    // The new record's id is only known on success; find it on disk otherwise.
    let id = match &result {
        Ok(id) => Some(*id),
        Err(_) => {
            std::fs::read_dir(dir).unwrap().filter_map(|e| RecordId::from_file_name(&e.unwrap().file_name().to_string_lossy())).find(|id| !old.contains_key(id))
        }
    };
    if let Some(id) = id {
        new.insert(id, r);
    }
    (result.map(|_| ()), old, new, p, None)
}

fn delete_case(dir: &Path, fs: Arc<FaultFs>) -> (Result<(), VaultError>, State, State, Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>) {
    let p = raw_provider("k");
    let old = setup(dir, &p);
    let (v, _) = Vault::open(dir, p.clone(), VaultOptions::default().with_fs(fs)).unwrap();
    let victim = *old.keys().next().unwrap();
    let result = v.delete(&victim);
    let mut new = old.clone();
    new.remove(&victim);
    (result, old, new, p, None)
}

fn rotate_case(dir: &Path, fs: Arc<FaultFs>) -> (Result<(), VaultError>, State, State, Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>) {
    let p = raw_provider("old");
    let old = setup(dir, &p);
    let (v, _) = Vault::open(dir, p.clone(), VaultOptions::default().with_fs(fs)).unwrap();
    let new_key = raw_provider("new");
    let result = v.rotate_kek(new_key.clone());
    (result, old.clone(), old, p, Some(new_key))
}

#[test]
fn import_survives_a_crash_at_every_step() {
    for fault in [Fault::CrashBefore, Fault::CrashTorn, Fault::FailOnce] {
        let steps = for_every_step(fault, import_case);
        // write record, rename, sync dir, write index, rename, sync dir.
        assert_eq!(steps, 6, "{fault:?}");
    }
}

#[test]
fn delete_survives_a_crash_at_every_step() {
    for fault in [Fault::CrashBefore, Fault::CrashTorn, Fault::FailOnce] {
        let steps = for_every_step(fault, delete_case);
        // write index, rename, sync dir, remove record, sync dir.
        assert_eq!(steps, 5, "{fault:?}");
    }
}

#[test]
fn rotation_survives_a_crash_at_every_step() {
    for fault in [Fault::CrashBefore, Fault::CrashTorn, Fault::FailOnce] {
        let steps = for_every_step(fault, rotate_case);
        // write index, rename, sync dir.
        assert_eq!(steps, 3, "{fault:?}");
    }
}

/// After a failed (not crashed) operation the same handle keeps working and stays consistent
/// with the disk.
#[test]
fn handle_stays_usable_after_a_failed_step() {
    for k in 0..6 {
        let dir = tempfile::tempdir().unwrap();
        let p = raw_provider("k");
        let old = setup(dir.path(), &p);
        let fs = FaultFs::new(k, Fault::FailOnce);
        let (v, _) = Vault::open(dir.path(), p.clone(), VaultOptions::default().with_fs(fs)).unwrap();
        let _ = v.import(record(3), &[dev_device_id()]);
        let r4 = record(4);
        let id4 = v.import(r4.clone(), &[dev_device_id()]).unwrap();
        let seen: Vec<RecordId> = v.list().iter().map(|s| s.id).collect();
        drop(v);
        let (v, _) = Vault::open(dir.path(), p, VaultOptions::default()).unwrap();
        let reopened: Vec<RecordId> = v.list().iter().map(|s| s.id).collect();
        assert_eq!(seen, reopened, "step {k}");
        assert_eq!(v.get(&id4).unwrap(), r4);
        for (id, r) in &old {
            assert_eq!(&v.get(id).unwrap(), r, "step {k}: committed record lost");
        }
    }
}

/// Leftovers of a crash are cleaned up and reported on open.
#[test]
fn open_reports_what_it_cleaned() {
    let dir = tempfile::tempdir().unwrap();
    let p = raw_provider("k");
    let old = setup(dir.path(), &p);
    // Crash after the record file is in place but before the index commit (step 3 = write index).
    let fs = FaultFs::new(3, Fault::CrashTorn);
    let (v, _) = Vault::open(dir.path(), p.clone(), VaultOptions::default().with_fs(fs.clone())).unwrap();
    assert!(v.import(record(3), &[dev_device_id()]).is_err());
    drop(v);
    let names = file_names(dir.path());
    assert!(names.iter().any(|n| n.starts_with(".tmp.vault.idx.")), "{names:?}");
    let (v, report) = Vault::open(dir.path(), p, VaultOptions::default()).unwrap();
    assert_eq!(report.temp_files_removed.len(), 1);
    assert_eq!(report.orphan_records_removed.len(), 1);
    assert!(report.missing_records.is_empty());
    assert!(!report.is_clean());
    assert_eq!(v.list().len(), old.len());
}
