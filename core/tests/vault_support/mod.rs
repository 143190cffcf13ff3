//! Shared helpers for the vault integration tests: record builders, a fault-injecting file
//! system, and a plaintext scanner.
#![allow(dead_code)]

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use zkiris::attest::{dev_device_key, DeviceKey};
use zkiris::commitment::{Commitment, Salt};
use zkiris::image::{IrisImage, IrisMask};
use zkiris::vault::{EnrollmentRecord, Fs, KeyProvider, RawKeyProvider, StdFs, Vault, VaultOptions};

/// The world-v3 conformance image (128×1024, raw u8), read in place.
pub const CONFORMANCE_IMAGE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/world-v3/constants/iris/test_image.bin");
/// The world-v3 conformance mask (128×1024, {0,1}), read in place.
pub const CONFORMANCE_MASK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/conformance/world-v3/constants/mask/test_image.bin");

/// Rows and columns of every test record (the world-v3 shape).
pub const H: u32 = 128;
/// Columns.
pub const W: u32 = 1024;

/// The conformance image and mask.
pub fn conformance_pair() -> (IrisImage, IrisMask) {
    let img = std::fs::read(CONFORMANCE_IMAGE).expect("conformance image");
    let mask = std::fs::read(CONFORMANCE_MASK).expect("conformance mask");
    (IrisImage::new(H, W, img).unwrap(), IrisMask::new(H, W, mask).unwrap())
}

/// A deterministic pseudo-random image and mask (xorshift), distinct per seed.
pub fn synthetic_pair(seed: u64) -> (IrisImage, IrisMask) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let n = (H * W) as usize;
    let px: Vec<u8> = (0..n).map(|_| (next() >> 24) as u8).collect();
    let bits: Vec<u8> = (0..n).map(|_| u8::from(next() % 8 != 0)).collect();
    (IrisImage::new(H, W, px).unwrap(), IrisMask::new(H, W, bits).unwrap())
}

/// The commitment an honest enrollment device computes for (image, mask, salt).
pub fn commitment_for(image: &IrisImage, mask: &IrisMask, salt: &Salt) -> Commitment {
    zkiris::commitment::commit(image, mask, salt).expect("commit")
}

/// A record as the enrollment device `key` produces it: honest commitment, signed.
pub fn signed_record(image: IrisImage, mask: IrisMask, key: &DeviceKey) -> EnrollmentRecord {
    let salt = Salt::random();
    let c = commitment_for(&image, &mask, &salt);
    EnrollmentRecord::new(image, mask, salt, c, key.sign_commitment(&c.0), key.id()).unwrap().with_created_unix(1_700_000_000).with_metadata("eye", "left")
}

/// A synthetic record signed by the dev device, deterministic per seed (salt included) and
/// cached, since computing the commitment is the slow part.
pub fn record(seed: u64) -> EnrollmentRecord {
    static CACHE: Mutex<Vec<(u64, EnrollmentRecord)>> = Mutex::new(Vec::new());
    if let Some((_, r)) = CACHE.lock().unwrap().iter().find(|(s, _)| *s == seed) {
        return r.clone();
    }
    let (image, mask) = synthetic_pair(seed);
    let mut salt = [0u8; 32];
    salt[16..24].copy_from_slice(b"testsalt");
    salt[24..].copy_from_slice(&seed.to_be_bytes());
    let salt = Salt::from_bytes(salt).unwrap();
    let key = dev_device_key();
    let c = commitment_for(&image, &mask, &salt);
    let r = EnrollmentRecord::new(image, mask, salt, c, key.sign_commitment(&c.0), key.id())
        .unwrap()
        .with_created_unix(1_700_000_000 + seed)
        .with_metadata("eye", "left")
        .with_metadata("seed", seed.to_string());
    CACHE.lock().unwrap().push((seed, r.clone()));
    r
}

/// A fresh random raw KEK provider.
pub fn raw_provider(name: &str) -> Arc<dyn KeyProvider> {
    Arc::new(RawKeyProvider::generate(name).unwrap())
}

/// Opens with the real file system and checks nothing was left to clean.
pub fn reopen(dir: &Path, provider: Arc<dyn KeyProvider>) -> Vault {
    let (v, _report) = Vault::open(dir, provider, VaultOptions::default()).unwrap();
    v
}

/// How an injected fault behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The process dies just before mutating operation `k`: it and everything after fail.
    CrashBefore,
    /// Like `CrashBefore`, but if operation `k` writes a file, half of it reaches the disk
    /// (a torn write) before the process dies.
    CrashTorn,
    /// Only operation `k` fails (for example ENOSPC); the process carries on.
    FailOnce,
}

/// A file system that counts mutating operations and injects one fault.
pub struct FaultFs {
    inner: StdFs,
    ops: AtomicUsize,
    at: usize,
    fault: Fault,
    crashed: AtomicBool,
    fired: AtomicBool,
    log: Mutex<Vec<String>>,
}

impl FaultFs {
    /// Injects `fault` at mutating operation number `at` (0-based).
    pub fn new(at: usize, fault: Fault) -> Arc<Self> {
        Arc::new(Self {
            inner: StdFs,
            ops: AtomicUsize::new(0),
            at,
            fault,
            crashed: AtomicBool::new(false),
            fired: AtomicBool::new(false),
            log: Mutex::new(Vec::new()),
        })
    }

    /// Did the fault fire?
    pub fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }

    /// The mutating operations attempted, in order.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn dead() -> io::Error {
        io::Error::other("injected crash: process is dead")
    }

    /// Returns Ok(true) to perform the op, Ok(false) to perform a torn version, Err to fail.
    fn step(&self, what: String) -> io::Result<bool> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(Self::dead());
        }
        let n = self.ops.fetch_add(1, Ordering::SeqCst);
        self.log.lock().unwrap().push(what);
        if n != self.at {
            return Ok(true);
        }
        self.fired.store(true, Ordering::SeqCst);
        match self.fault {
            Fault::CrashBefore => {
                self.crashed.store(true, Ordering::SeqCst);
                Err(Self::dead())
            }
            Fault::CrashTorn => {
                self.crashed.store(true, Ordering::SeqCst);
                Ok(false)
            }
            Fault::FailOnce => Err(io::Error::other("injected I/O failure")),
        }
    }

    fn read_guard(&self) -> io::Result<()> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(Self::dead());
        }
        Ok(())
    }
}

fn name(p: &Path) -> String {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

impl Fs for FaultFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        self.read_guard()?;
        self.inner.read(path)
    }

    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if self.step(format!("write {}", name(path)))? {
            self.inner.write_new_synced(path, bytes)
        } else {
            // Torn: half the bytes reach the disk, then the process dies.
            self.inner.write_new_synced(path, &bytes[..bytes.len() / 2])?;
            Err(Self::dead())
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        if self.step(format!("rename {} -> {}", name(from), name(to)))? {
            self.inner.rename(from, to)
        } else {
            Err(Self::dead())
        }
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        if self.step(format!("remove {}", name(path)))? {
            self.inner.remove_file(path)
        } else {
            Err(Self::dead())
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        if self.step("sync dir".to_string())? {
            self.inner.sync_dir(dir)
        } else {
            Err(Self::dead())
        }
    }

    fn list_files(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.read_guard()?;
        self.inner.list_files(dir)
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.read_guard()?;
        self.inner.create_dir_all(dir)
    }
}

/// Length of the plaintext windows searched for.
const LEN: usize = 16;

/// Windows of 16 bytes of `data` that are distinctive enough that finding one in a file means
/// plaintext leaked (at least 4 distinct byte values, or for 0/1 data at least 4 of each).
pub fn distinctive_windows(data: &[u8]) -> HashSet<[u8; LEN]> {
    data.windows(LEN)
        .filter(|w| {
            let zeros = w.iter().filter(|&&b| b == 0).count();
            let ones = w.iter().filter(|&&b| b == 1).count();
            if zeros + ones == LEN {
                zeros >= 4 && ones >= 4
            } else {
                let mut seen = [false; 256];
                w.iter().for_each(|&b| seen[b as usize] = true);
                seen.iter().filter(|&&s| s).count() >= 4
            }
        })
        .map(|w| w.try_into().unwrap())
        .collect()
}

/// The windows of a record's image and mask, cached (tests reuse the same images many times).
fn record_windows(r: &EnrollmentRecord) -> Arc<HashSet<[u8; LEN]>> {
    use sha2::Digest;
    static CACHE: Mutex<Vec<([u8; 32], Arc<HashSet<[u8; LEN]>>)>> = Mutex::new(Vec::new());
    let mut h = sha2::Sha256::new();
    h.update(r.image().pixels());
    h.update(r.mask().bits());
    let key: [u8; 32] = h.finalize().into();
    let mut cache = CACHE.lock().unwrap();
    if let Some((_, w)) = cache.iter().find(|(k, _)| *k == key) {
        return w.clone();
    }
    let mut w = distinctive_windows(r.image().pixels());
    w.extend(distinctive_windows(r.mask().bits()));
    let w = Arc::new(w);
    cache.push((key, w.clone()));
    w
}

/// Every file under `dir` (recursively).
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Panics if any file under `dir` contains a 16-byte distinctive window of any record's image,
/// mask or salt.
pub fn assert_no_plaintext(dir: &Path, records: &[&EnrollmentRecord]) {
    let sets: Vec<Arc<HashSet<[u8; LEN]>>> = records.iter().map(|r| record_windows(r)).collect();
    let salts: Vec<[u8; LEN]> = records.iter().map(|r| r.salt().as_bytes()[16..].try_into().unwrap()).collect();
    assert!(sets.iter().all(|s| s.len() > 1000), "too few needles to be meaningful");
    for f in all_files(dir) {
        let bytes = std::fs::read(&f).unwrap();
        for w in bytes.windows(LEN) {
            let w: &[u8; LEN] = w.try_into().unwrap();
            if salts.contains(w) || sets.iter().any(|s| s.contains(w)) {
                panic!("plaintext {:02x?} found in {}", w, f.display());
            }
        }
    }
}

/// Recomputes a vault file's prefix check and SHA-256 trailer after an edit, as an attacker
/// who knows the format would (the AEAD tag still protects the content).
pub fn fix_checksums(bytes: &mut [u8]) {
    use sha2::Digest;
    let check = sha2::Sha256::digest(&bytes[..18]);
    bytes[18..22].copy_from_slice(&check[..4]);
    let end = bytes.len() - 32;
    let trailer = sha2::Sha256::digest(&bytes[..end]);
    bytes[end..].copy_from_slice(&trailer);
}

/// Sorted names of the files in `dir`.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// The real file system, except that reads of chosen files return chosen bytes. Tamper and
/// fuzz tests use it to present thousands of damaged files without rewriting the disk.
#[derive(Default)]
pub struct OverlayFs {
    inner: StdFs,
    files: Mutex<Vec<(PathBuf, Vec<u8>)>>,
}

impl OverlayFs {
    /// A new overlay with nothing replaced.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Makes reads of `path` return `bytes` until [`OverlayFs::clear`].
    pub fn set(&self, path: &Path, bytes: &[u8]) {
        let mut f = self.files.lock().unwrap();
        f.retain(|(p, _)| p != path);
        f.push((path.to_path_buf(), bytes.to_vec()));
    }

    /// Removes every replacement.
    pub fn clear(&self) {
        self.files.lock().unwrap().clear();
    }

    /// Runs `f` while reads of `path` return `bytes`.
    pub fn with<T>(&self, path: &Path, bytes: &[u8], f: impl FnOnce() -> T) -> T {
        self.set(path, bytes);
        let out = f();
        self.clear();
        out
    }
}

impl Fs for OverlayFs {
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        if let Some((_, b)) = self.files.lock().unwrap().iter().find(|(p, _)| p == path) {
            return Ok(b.clone());
        }
        self.inner.read(path)
    }
    fn write_new_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_new_synced(path, bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.inner.rename(from, to)
    }
    fn remove_file(&self, path: &Path) -> io::Result<()> {
        self.inner.remove_file(path)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.inner.sync_dir(dir)
    }
    fn list_files(&self, dir: &Path) -> io::Result<Vec<String>> {
        self.inner.list_files(dir)
    }
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.inner.create_dir_all(dir)
    }
}
