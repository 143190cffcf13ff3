//! KZG structured reference strings (SRS).
//!
//! The SRS's sources, fingerprint and verifier-only form are documented on [`Srs`] (this
//! module is crate-private; `Srs` is re-exported from [`crate::prover`]).

use std::fs;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use halo2_proofs::halo2curves::bn256::{Bn256, G1Affine, G2Affine};
use halo2_proofs::halo2curves::group::GroupEncoding;
use halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_proofs::SerdeFormat;
use rand_chacha::rand_core::SeedableRng;
use sha2::{Digest, Sha256};

use super::cachefile;

/// Bytes of a compressed G1 point (`GroupEncoding`, halo2's `Processed` format).
const G1_BYTES: usize = 32;
/// Bytes of a compressed G2 point.
const G2_BYTES: usize = 64;

/// Errors obtaining an SRS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SrsError {
    /// The file could not be read.
    #[error("cannot read SRS file {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid KZG parameters (truncated, wrong format, points off the curve).
    #[error("SRS file {path} is malformed: {reason}; use a halo2 ParamsKZG file for BN254")]
    Malformed {
        /// Path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The SRS is too small for the circuit.
    #[error("SRS has 2^{have} points but the circuit needs 2^{need}; use a larger ceremony file")]
    TooSmall {
        /// k of the SRS.
        have: u32,
        /// k needed.
        need: u32,
    },
    /// The cache directory could not be written.
    #[error("cannot write the SRS cache {path}: {source}")]
    Cache {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Seed of the development SRS (public, hence insecure).
pub const DEV_SRS_SEED: &[u8; 32] = b"zkiris-DEV-SRS-INSECURE-public!!";

/// A KZG SRS for a given `k`.
///
/// Two sources:
/// * [`Srs::development`]: a deterministic SRS generated from a public seed. **It is insecure
///   — anyone can derive its toxic waste and forge proofs.** It exists for tests, the demo and
///   benchmarks, is generated on first use and cached on disk.
/// * [`Srs::load`]: KZG parameters derived from a trusted setup ceremony (a halo2 `ParamsKZG`
///   file, e.g. converted from the Perpetual Powers of Tau), validated point by point; a
///   malformed file is a typed error. A larger SRS is downsized to the circuit's `k`.
///
/// Every SRS has a [fingerprint](Srs::fingerprint) (sha256 of `k`, `g₀`, `g₁`, `[1]₂`, `[s]₂`),
/// which is part of every proving-key cache key.
///
/// A SHPLONK verifier uses four of the SRS's `2^(k+1) + 2` points: `g₀`, `[1]₂`, `[s]₂` and
/// `n = 2^k` (and `g₁` enters the fingerprint). [`Srs::development_for_verifier`] and
/// [`Srs::load_for_verifier`] read only those (a few hundred bytes instead of 16–64 MB), so a
/// verifier starts in a fraction of a second; the resulting parameters verify proofs and render
/// EVM verifiers but cannot commit or prove.
#[derive(Clone, Debug)]
pub struct Srs {
    params: Arc<ParamsKZG<Bn256>>,
    fingerprint: [u8; 32],
    insecure: bool,
}

/// Fingerprint of KZG parameters.
pub fn fingerprint_of(params: &ParamsKZG<Bn256>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"zkiris-srs-fingerprint-v1");
    h.update(params.k().to_le_bytes());
    let g: &[G1Affine] = params.get_g();
    h.update(g[0].to_bytes());
    h.update(g[1].to_bytes());
    let g2: G2Affine = params.g2();
    let s_g2: G2Affine = params.s_g2();
    h.update(g2.to_bytes());
    h.update(s_g2.to_bytes());
    h.finalize().into()
}

impl Srs {
    /// Wraps parameters.
    pub fn from_params(params: ParamsKZG<Bn256>, insecure: bool) -> Self {
        let fingerprint = fingerprint_of(&params);
        Self { params: Arc::new(params), fingerprint, insecure }
    }

    /// The deterministic, **insecure** development SRS of size `2^k`, cached under
    /// `cache_dir` (generated on first use).
    pub fn development(k: u32, cache_dir: &Path) -> Result<Self, SrsError> {
        let path = cache_dir.join(format!("dev-srs-INSECURE-k{k}.bin"));
        if let Ok(bytes) = cachefile::read(&path, cachefile::Kind::Srs) {
            if let Ok(p) = ParamsKZG::<Bn256>::read_custom(&mut &bytes[..], SerdeFormat::RawBytes) {
                if p.k() == k {
                    write_dev_verifier_record(&p, cache_dir);
                    return Ok(Self::from_params(p, true));
                }
            }
        }
        let params = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::from_seed(*DEV_SRS_SEED));
        let mut buf = Vec::new();
        params.write_custom(&mut buf, SerdeFormat::RawBytes).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })?;
        cachefile::write(&path, cachefile::Kind::Srs, &buf).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })?;
        write_dev_verifier_record(&params, cache_dir);
        Ok(Self::from_params(params, true))
    }

    /// The verifier's part of the development SRS of size `2^k` ([`Srs`]): read from
    /// a small checksummed record next to the full SRS, or, the first time, taken from the full
    /// SRS (generated if needed), which writes the record.
    pub fn development_for_verifier(k: u32, cache_dir: &Path) -> Result<Self, SrsError> {
        let path = dev_verifier_path(k, cache_dir);
        if let Ok(body) = cachefile::read(&path, cachefile::Kind::SrsVerifier) {
            if let Some(points) = VerifierPoints::from_record(&body).filter(|p| p.k == k) {
                return Ok(points.into_srs(true));
            }
        }
        let full = Self::development(k, cache_dir)?;
        Ok(VerifierPoints::of(&full.params).into_srs(true))
    }

    /// The verifier's part of a ceremony file (see [`Srs::load`]), downsized to `k`: reads the
    /// header, `g₀`, `g₁`, `[1]₂` and `[s]₂` at their offsets and checks that each is a valid
    /// point and that the file has exactly the length its header implies. A file that is not
    /// exactly that is read in full by [`Srs::load`], for its typed error.
    pub fn load_for_verifier(path: &Path, k: u32) -> Result<Self, SrsError> {
        match read_verifier_points(path) {
            Ok(Some(points)) if points.k >= k => Ok(VerifierPoints { k, ..points }.into_srs(false)),
            Ok(Some(points)) => Err(SrsError::TooSmall { have: points.k, need: k }),
            Ok(None) => Self::load(path, k).map(|full| VerifierPoints::of(&full.params).into_srs(false)),
            Err(source) => Err(SrsError::Io { path: path.display().to_string(), source }),
        }
    }

    /// Loads ceremony parameters (halo2 `ParamsKZG`, processed point format: every point is
    /// checked to be on the curve) and downsizes them to `k`.
    pub fn load(path: &Path, k: u32) -> Result<Self, SrsError> {
        let f = fs::File::open(path).map_err(|source| SrsError::Io { path: path.display().to_string(), source })?;
        let mut r = BufReader::new(f);
        let mut head = [0u8; 4];
        r.read_exact(&mut head).map_err(|e| SrsError::Malformed { path: path.display().to_string(), reason: e.to_string() })?;
        let file_k = u32::from_le_bytes(head);
        if file_k == 0 || file_k > 28 {
            return Err(SrsError::Malformed { path: path.display().to_string(), reason: format!("header says 2^{file_k} points") });
        }
        let mut all = head.to_vec();
        r.read_to_end(&mut all).map_err(|source| SrsError::Io { path: path.display().to_string(), source })?;
        // halo2curves panics on some malformed point encodings; that is a malformed file too.
        let mut params = std::panic::catch_unwind(|| ParamsKZG::<Bn256>::read_custom(&mut &all[..], SerdeFormat::Processed))
            .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "invalid point encoding")))
            .map_err(|e| SrsError::Malformed { path: path.display().to_string(), reason: e.to_string() })?;
        if params.k() < k {
            return Err(SrsError::TooSmall { have: params.k(), need: k });
        }
        if params.k() > k {
            params.downsize(k);
        }
        Ok(Self::from_params(params, false))
    }

    /// Writes parameters in halo2's processed format (what [`Srs::load`] reads).
    pub fn write_processed(&self, path: &Path) -> Result<(), SrsError> {
        let f = fs::File::create(path).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })?;
        let mut w = BufWriter::new(f);
        self.params
            .write_custom(&mut w, SerdeFormat::Processed)
            .and_then(|_| w.flush())
            .map_err(|source| SrsError::Cache { path: path.display().to_string(), source })
    }

    /// The parameters.
    pub fn params(&self) -> &Arc<ParamsKZG<Bn256>> {
        &self.params
    }

    /// `k` (the SRS has `2^k` points).
    pub fn k(&self) -> u32 {
        self.params.k()
    }

    /// The fingerprint.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Whether this is the insecure development SRS.
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }
}

/// The points of an SRS a verifier uses ([module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct VerifierPoints {
    k: u32,
    g0: G1Affine,
    g1: G1Affine,
    g2: G2Affine,
    s_g2: G2Affine,
}

impl VerifierPoints {
    fn of(params: &ParamsKZG<Bn256>) -> Self {
        let g = params.get_g();
        Self { k: params.k(), g0: g[0], g1: g[1], g2: params.g2(), s_g2: params.s_g2() }
    }

    /// Parameters holding only these points (`g = [g₀, g₁]`, no Lagrange basis): enough for
    /// SHPLONK verification and EVM verifier rendering, with the full SRS's fingerprint.
    fn into_srs(self, insecure: bool) -> Srs {
        // halo2's `from_parts` takes `&self` but only reads its arguments; the receiver is
        // a one-point parameter set decoded from these same points.
        let mut one = 0u32.to_le_bytes().to_vec();
        for p in [self.g0, self.g0] {
            one.extend_from_slice(p.to_bytes().as_ref());
        }
        for p in [self.g2, self.s_g2] {
            one.extend_from_slice(p.to_bytes().as_ref());
        }
        let receiver = ParamsKZG::<Bn256>::read_custom(&mut &one[..], SerdeFormat::Processed).expect("valid points re-encode");
        let tiny = receiver.from_parts(self.k, vec![self.g0, self.g1], Some(Vec::new()), self.g2, self.s_g2);
        Srs::from_params(tiny, insecure)
    }

    /// Record body: `k` (u32 LE) ‖ g₀ ‖ g₁ (compressed G1) ‖ `[1]₂` ‖ `[s]₂` (compressed G2).
    fn to_record(self) -> Vec<u8> {
        let mut b = self.k.to_le_bytes().to_vec();
        b.extend_from_slice(self.g0.to_bytes().as_ref());
        b.extend_from_slice(self.g1.to_bytes().as_ref());
        b.extend_from_slice(self.g2.to_bytes().as_ref());
        b.extend_from_slice(self.s_g2.to_bytes().as_ref());
        b
    }

    fn from_record(b: &[u8]) -> Option<Self> {
        if b.len() != 4 + 2 * G1_BYTES + 2 * G2_BYTES {
            return None;
        }
        let k = u32::from_le_bytes(b[..4].try_into().ok()?);
        let (g0, g1) = (g1_from(&b[4..4 + G1_BYTES])?, g1_from(&b[4 + G1_BYTES..4 + 2 * G1_BYTES])?);
        let o = 4 + 2 * G1_BYTES;
        let (g2, s_g2) = (g2_from(&b[o..o + G2_BYTES])?, g2_from(&b[o + G2_BYTES..])?);
        (1..=28).contains(&k).then_some(Self { k, g0, g1, g2, s_g2 })
    }
}

// halo2curves panics (an assertion in `Fq2::from_bytes`) on some malformed encodings instead of
// returning `None`; a panic must not escape (it may cross an FFI), so decoding is caught.
fn g1_from(b: &[u8]) -> Option<G1Affine> {
    let mut repr = <G1Affine as GroupEncoding>::Repr::default();
    repr.as_mut().copy_from_slice(b);
    std::panic::catch_unwind(|| Option::from(G1Affine::from_bytes(&repr))).ok().flatten()
}

fn g2_from(b: &[u8]) -> Option<G2Affine> {
    let mut repr = <G2Affine as GroupEncoding>::Repr::default();
    repr.as_mut().copy_from_slice(b);
    std::panic::catch_unwind(|| Option::from(G2Affine::from_bytes(&repr))).ok().flatten()
}

fn dev_verifier_path(k: u32, cache_dir: &Path) -> PathBuf {
    cache_dir.join(format!("dev-srs-INSECURE-k{k}-verifier.bin"))
}

/// Writes the verifier's record of a development SRS unless the record there already holds these
/// points; a corrupt or different record is replaced (errors ignored: it is an optimisation).
fn write_dev_verifier_record(params: &ParamsKZG<Bn256>, cache_dir: &Path) {
    let path = dev_verifier_path(params.k(), cache_dir);
    let points = VerifierPoints::of(params);
    let current = cachefile::read(&path, cachefile::Kind::SrsVerifier).ok().and_then(|b| VerifierPoints::from_record(&b));
    if current != Some(points) {
        let _ = cachefile::write(&path, cachefile::Kind::SrsVerifier, &points.to_record());
    }
}

/// Reads the verifier's points of a processed-format `ParamsKZG` file at their offsets:
/// `Ok(None)` if the header or the length is not that of such a file, or a point is invalid.
fn read_verifier_points(path: &Path) -> std::io::Result<Option<VerifierPoints>> {
    use std::io::{Seek, SeekFrom};
    let mut f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    let mut head = [0u8; 4 + 2 * G1_BYTES];
    if len < head.len() as u64 {
        return Ok(None);
    }
    f.read_exact(&mut head)?;
    let k = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    if k == 0 || k > 28 {
        return Ok(None);
    }
    let points_end = 4 + 2 * (1u64 << k) * G1_BYTES as u64;
    if len != points_end + 2 * G2_BYTES as u64 {
        return Ok(None);
    }
    let mut tail = [0u8; 2 * G2_BYTES];
    f.seek(SeekFrom::Start(points_end))?;
    f.read_exact(&mut tail)?;
    let points = (|| {
        Some(VerifierPoints {
            k,
            g0: g1_from(&head[4..4 + G1_BYTES])?,
            g1: g1_from(&head[4 + G1_BYTES..])?,
            g2: g2_from(&tail[..G2_BYTES])?,
            s_g2: g2_from(&tail[G2_BYTES..])?,
        })
    })();
    Ok(points)
}

/// The default cache directory: `$ZKIRIS_CACHE`, else `$XDG_CACHE_HOME/zkiris`, else
/// `~/.cache/zkiris`, else a directory under the system temp dir.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("ZKIRIS_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("zkiris");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache/zkiris");
    }
    std::env::temp_dir().join("zkiris-cache")
}
