//! The on-disk cache container (SRS, proving and verifying keys): versioned, checksummed, atomic.
//!
//! ```text
//! offset  size  field
//! 0       8     magic "ZKIRISC\0"
//! 8       4     container version (1), little-endian
//! 12      4     kind (1 = SRS, 2 = proving key, 3 = verifying key, 4 = circuit shape, 5 = verifier SRS points)
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
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

const MAGIC: &[u8; 8] = b"ZKIRISC\0";
const VERSION: u32 = 1;
const HEADER: usize = 88;

/// What a cache file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// KZG parameters.
    Srs = 1,
    /// A proving key.
    ProvingKey = 2,
    /// A verifying key.
    VerifyingKey = 3,
    /// A circuit's size and shape ([`super::keys::cached_shape`]).
    CircuitShape = 4,
    /// The verifier's points of the development SRS ([`super::srs::Srs::development_for_verifier`]).
    SrsVerifier = 5,
}

/// The code version that cached artefacts depend on.
pub fn code_version() -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(concat!(env!("CARGO_PKG_NAME"), "-", env!("CARGO_PKG_VERSION"), "-circuit-v1"));
    h.finalize().into()
}

/// Reads and validates a cache file.
pub fn read(path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    read_with(path, kind, |r| {
        let mut body = Vec::new();
        r.read_to_end(&mut body)?;
        Ok(body)
    })
}

/// Reads a cache file without holding its body in memory: the checksum is verified in a first
/// pass over the open file, then `parse` reads the body from a buffered stream (a proving key
/// is then in memory once, not twice). The body handed to `parse` is always one whose checksum
/// matched, so a corrupt file is never parsed. Writers only ever rename complete files over the
/// path, so the open file cannot change between the two passes.
pub fn read_with<T>(path: &Path, kind: Kind, parse: impl FnOnce(&mut dyn Read) -> io::Result<T>) -> io::Result<T> {
    let bad = |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {why}", path.display()));
    let mut f = fs::File::open(path)?;
    let mut head = [0u8; HEADER];
    if f.read_exact(&mut head).is_err() || &head[..8] != MAGIC {
        return Err(bad("not a zkiris cache file"));
    }
    let u32_at = |o: usize| u32::from_le_bytes([head[o], head[o + 1], head[o + 2], head[o + 3]]);
    if u32_at(8) != VERSION || u32_at(12) != kind as u32 {
        return Err(bad("unsupported cache version or kind"));
    }
    if head[16..48] != code_version() {
        return Err(bad("written by another zkiris version"));
    }
    let mut len8 = [0u8; 8];
    len8.copy_from_slice(&head[48..56]);
    let len = u64::from_le_bytes(len8);
    if f.metadata()?.len() != HEADER as u64 + len {
        return Err(bad("truncated"));
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut body = (&mut f).take(len);
    loop {
        let n = body.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    if h.finalize()[..] != head[56..88] {
        return Err(bad("checksum mismatch"));
    }
    drop(buf);
    f.seek(SeekFrom::Start(HEADER as u64))?;
    let mut r = io::BufReader::with_capacity(1 << 20, (&mut f).take(len));
    let value = parse(&mut r)?;
    if r.fill_buf()?.is_empty() {
        Ok(value)
    } else {
        Err(bad("bytes left after the body was parsed"))
    }
}

/// Writes a cache file atomically.
pub fn write(path: &Path, kind: Kind, body: &[u8]) -> io::Result<()> {
    write_with(path, kind, |w| w.write_all(body))
}

/// Writes a cache file atomically, with the body streamed by `emit` (never held in memory as a
/// whole): a temporary file in the same directory gets a header with a zero checksum, the body,
/// then the real length and checksum; it is fsynced and renamed over `path`. On any error,
/// including a panic in `emit`, the temporary file is removed and `path` is untouched.
pub fn write_with(path: &Path, kind: Kind, emit: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
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
        let mut head = [0u8; HEADER];
        head[..8].copy_from_slice(MAGIC);
        head[8..12].copy_from_slice(&VERSION.to_le_bytes());
        head[12..16].copy_from_slice(&(kind as u32).to_le_bytes());
        head[16..48].copy_from_slice(&code_version());
        f.write_all(&head)?;
        let mut w = HashingWriter { inner: io::BufWriter::with_capacity(1 << 20, f), hash: Sha256::new(), len: 0 };
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| emit(&mut w))) {
            Ok(r) => r?,
            Err(_) => return Err(io::Error::other("serializing the cache body failed")),
        }
        let HashingWriter { inner, hash, len } = w;
        let mut f = inner.into_inner().map_err(|e| e.into_error())?;
        let digest = hash.finalize();
        f.seek(SeekFrom::Start(48))?;
        f.write_all(&len.to_le_bytes())?;
        f.write_all(&digest)?;
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

/// Counts and hashes what passes through.
struct HashingWriter<W: Write> {
    inner: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
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
    fn streamed_bodies_round_trip_and_are_checked_before_parsing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.bin");
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        write_with(&p, Kind::ProvingKey, |w| body.chunks(4097).try_for_each(|c| w.write_all(c))).unwrap();
        assert_eq!(read(&p, Kind::ProvingKey).unwrap(), body);
        // A parser that stops early is an error (trailing bytes), not a silent success.
        assert!(read_with(&p, Kind::ProvingKey, |r| r.read_exact(&mut [0u8; 10])).is_err());
        // One flipped body byte: the parser is never called.
        let mut bytes = fs::read(&p).unwrap();
        bytes[HEADER + 1_000_000] ^= 0x40;
        fs::write(&p, &bytes).unwrap();
        let mut called = false;
        assert!(read_with(&p, Kind::ProvingKey, |_| {
            called = true;
            Ok(())
        })
        .is_err());
        assert!(!called, "a corrupt body reached the parser");
    }

    #[test]
    fn a_panicking_serializer_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.bin");
        write(&p, Kind::ProvingKey, b"old").unwrap();
        let r = write_with(&p, Kind::ProvingKey, |w| {
            w.write_all(b"partial")?;
            panic!("disk full inside a serializer that unwraps")
        });
        assert!(r.is_err());
        assert_eq!(read(&p, Kind::ProvingKey).unwrap(), b"old", "the old entry is untouched");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("k.bin")]);
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
