//! File operations the vault performs, behind a small injectable trait, and the atomic-write
//! protocol built on them.
//!
//! The vault touches the disk only through [`Fs`], so tests can inject faults (fail or "crash"
//! at any step) and check that every interrupted write leaves the last committed state.
//!
//! Atomic write of `dir/name`:
//! 1. create `dir/.tmp.<name>.<random>` exclusively, write all bytes, `fsync` it;
//! 2. rename it over `dir/name` (atomic on POSIX file systems);
//! 3. `fsync` the directory, so the rename itself is durable.
//!
//! A crash before step 2 leaves only a temporary file (removed when the vault is next
//! opened); after step 2 the new content is in place.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::error::VaultError;
use super::keys::fill_random;

/// Prefix of temporary files; anything named like this is garbage after a crash.
pub const TEMP_PREFIX: &str = ".tmp.";

/// The file operations the vault needs. Implementations must be thread-safe.
///
/// [`StdFs`] is the real implementation; tests wrap it to inject faults.
pub trait Fs: Send + Sync {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Creates `path` (which must not exist), writes `bytes` and flushes them to stable storage
    /// (`fsync`) before returning.
    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Atomically renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes a file.
    fn remove_file(&self, path: &Path) -> io::Result<()>;
    /// Flushes a directory's entries (creations, renames, removals) to stable storage.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// The names of the regular files in `dir` (names that are not UTF-8 are skipped).
    fn list_files(&self, dir: &Path) -> io::Result<Vec<String>>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
}

/// The real file system (`std::fs`).
#[derive(Debug, Default, Clone, Copy)]
pub struct StdFs;

impl Fs for StdFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        {
            fs::File::open(dir)?.sync_all()
        }
        #[cfg(not(unix))]
        {
            // Windows cannot open a directory for flushing; NTFS journals renames.
            let _ = dir;
            Ok(())
        }
    }

    fn list_files(&self, dir: &Path) -> io::Result<Vec<String>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                if let Ok(name) = entry.file_name().into_string() {
                    out.push(name);
                }
            }
        }
        out.sort();
        Ok(out)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }
}

/// Writes `bytes` to `dir/name` atomically and durably (see the module docs).
///
/// On failure the temporary file is removed if possible; `dir/name` holds either its old
/// content or the new one.
pub(crate) fn atomic_write(fs: &dyn Fs, dir: &Path, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
    let mut rnd = [0u8; 8];
    fill_random(&mut rnd)?;
    let tmp = dir.join(format!("{TEMP_PREFIX}{name}.{}", hex::encode(rnd)));
    let target = dir.join(name);
    if let Err(e) = fs.write_new_synced(&tmp, bytes) {
        let _ = fs.remove_file(&tmp);
        return Err(VaultError::io(tmp, e));
    }
    if let Err(e) = fs.rename(&tmp, &target) {
        let _ = fs.remove_file(&tmp);
        return Err(VaultError::io(target, e));
    }
    fs.sync_dir(dir).map_err(|e| VaultError::io(dir, e))
}

/// Removes `dir/name` and makes the removal durable. A file that is already gone is fine.
pub(crate) fn remove_durably(fs: &dyn Fs, dir: &Path, name: &str) -> Result<(), VaultError> {
    let path: PathBuf = dir.join(name);
    match fs.remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(VaultError::io(path, e)),
    }
    fs.sync_dir(dir).map_err(|e| VaultError::io(dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_and_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        atomic_write(&StdFs, dir.path(), "a", b"one").unwrap();
        atomic_write(&StdFs, dir.path(), "a", b"two").unwrap();
        assert_eq!(fs::read(dir.path().join("a")).unwrap(), b"two");
        assert_eq!(StdFs.list_files(dir.path()).unwrap(), vec!["a".to_string()]);
        remove_durably(&StdFs, dir.path(), "a").unwrap();
        remove_durably(&StdFs, dir.path(), "a").unwrap();
        assert!(StdFs.list_files(dir.path()).unwrap().is_empty());
    }
}
