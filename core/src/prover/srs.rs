//! KZG structured reference strings (SRS).
//!
//! Two sources:
//! * [`Srs::development`]: a deterministic SRS generated from a public seed. **It is insecure
//!   — anyone can derive its toxic waste and forge proofs.** It exists for tests, the demo and
//!   benchmarks, is generated on first use and cached on disk.
//! * [`Srs::load`]: KZG parameters derived from a trusted setup ceremony (a halo2 `ParamsKZG`
//!   file, e.g. converted from the Perpetual Powers of Tau), validated point by point; a
//!   malformed file is a typed error. A larger SRS is downsized to the circuit's `k`.
//!
//! Every SRS has a [fingerprint](Srs::fingerprint) (sha256 of `k`, `g₀`, `g₁`, `[1]₂`, `[s]₂`),
//! which is part of every proving-key cache key.

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
                    return Ok(Self::from_params(p, true));
                }
            }
        }
        let params = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::from_seed(*DEV_SRS_SEED));
        let mut buf = Vec::new();
        params.write_custom(&mut buf, SerdeFormat::RawBytes).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })?;
        cachefile::write(&path, cachefile::Kind::Srs, &buf).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })?;
        Ok(Self::from_params(params, true))
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
        let mut params = ParamsKZG::<Bn256>::read_custom(&mut &all[..], SerdeFormat::Processed)
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
        self.params.write_custom(&mut w, SerdeFormat::Processed).and_then(|_| w.flush()).map_err(|source| SrsError::Cache { path: path.display().to_string(), source })
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

/// Writes a copy of `params` (for tests of [`Srs::load`]).
pub fn write_params(params: &ParamsKZG<Bn256>, w: &mut impl Write) -> std::io::Result<()> {
    params.write_custom(w, SerdeFormat::Processed)
}
