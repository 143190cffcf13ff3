//! The on-disk cache container (SRS and proving keys): versioned, checksummed, atomic.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ZKIRISC\0"
//! 8       4     container version (1), little-endian
//! 12      4     kind (1 = SRS, 2 = proving key)
//! 16      32    sha256 of the zkiris code version string (invalidates caches across releases)
//! 48      8     body length, little-endian
//! 56      32    sha256(body)
//! 88      …     body
//! ```
//!
//! Files are written to a temporary file in the same directory, fsynced, renamed over the
//! target and the directory fsynced, so a crash leaves the old file or the new one. A file
//! whose header, version or checksum does not match is ignored (and rebuilt by the caller),
//! never trusted.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"ZKIRISC\0";
const VERSION: u32 = 1;

/// What a cache file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// KZG parameters.
    Srs = 1,
    /// A proving key.
    ProvingKey = 2,
}

/// The code version that cached artefacts depend on.
pub fn code_version() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(concat!(env!("CARGO_PKG_NAME"), "-", env!("CARGO_PKG_VERSION"), "-circuit-v1"));
    h.finalize().into()
}

/// Reads and validates a cache file.
pub fn read(path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    let bytes = fs::read(path)?;
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
    if bytes.len() < 88 || &bytes[..8] != MAGIC {
        return Err(bad("not a zkiris cache file"));
    }
    let u32_at = |o: usize| u32::from_le_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]);
    if u32_at(8) != VERSION || u32_at(12) != kind as u32 {
        return Err(bad("unsupported cache version or kind"));
    }
    if bytes[16..48] != code_version() {
        return Err(bad("written by another zkiris version"));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&bytes[48..56]);
    let len = u64::from_le_bytes(len8) as usize;
    if bytes.len() != 88 + len {
        return Err(bad("truncated"));
    }
    let body = &bytes[88..];
    if Sha256::digest(body)[..] != bytes[56..88] {
        return Err(bad("checksum mismatch"));
    }
    Ok(body.to_vec())
}

/// Writes a cache file atomically.
pub fn write(path: &Path, kind: Kind, body: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    // Unique per call, not just per process: two threads (two provers in one app, or
    // parallel tests) may write the same cache entry at once; each renames its own
    // complete file into place and the last rename wins.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{}.tmp-{}-{n}", path.file_name().and_then(|n| n.to_str()).unwrap_or("cache"), std::process::id()));
    let written = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(MAGIC)?;
        f.write_all(&VERSION.to_le_bytes())?;
        f.write_all(&(kind as u32).to_le_bytes())?;
        f.write_all(&code_version())?;
        f.write_all(&(body.len() as u64).to_le_bytes())?;
        f.write_all(&Sha256::digest(body))?;
        f.write_all(body)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        // Nothing half-written is left behind (a full disk must not fill it further).
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_writing_the_same_entry_all_succeed() {
        // Regression: the temporary name was per process, so a second thread's rename found
        // its file already moved (NotFound) when two provers filled the same cache at once.
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("same.bin");
        std::thread::scope(|s| {
            for t in 0..8u8 {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..20 {
                        write(p, Kind::Srs, &[t; 4096]).expect("concurrent write succeeds");
                    }
                });
            }
        });
        let body = read(&p, Kind::Srs).unwrap();
        assert!(body.len() == 4096 && body.iter().all(|b| *b == body[0]), "one writer's complete body");
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).filter(|e| e.file_name() != "same.bin").collect();
        assert!(leftovers.is_empty(), "no temporary files left: {leftovers:?}");
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        // The destination is a non-empty directory, so the final rename fails.
        let p = dir.path().join("taken");
        fs::create_dir_all(p.join("inner")).unwrap();
        assert!(write(&p, Kind::Srs, b"body").is_err());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("taken")]);
    }

    #[test]
    fn round_trip_and_corruption_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.bin");
        write(&p, Kind::ProvingKey, b"hello").unwrap();
        assert_eq!(read(&p, Kind::ProvingKey).unwrap(), b"hello");
        assert!(read(&p, Kind::Srs).is_err());
        let mut bytes = fs::read(&p).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        fs::write(&p, &bytes).unwrap();
        assert!(read(&p, Kind::ProvingKey).is_err());
        fs::write(&p, &bytes[..50]).unwrap();
        assert!(read(&p, Kind::ProvingKey).is_err());
    }
}
