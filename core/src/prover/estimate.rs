//! Cost estimates before proving: rows, k, columns, time and peak memory for this device.
//!
//! The model is linear in `2^k` and in the number of committed polynomials, with constants
//! measured on the reference machine (2 vCPU AMD EPYC, halo2-axiom with `asm`, see the README's
//! performance table). Phones are slower; [`Estimate::scaled`] applies a device factor.

use halo2_proofs::halo2curves::bn256::G1Affine;
use halo2_proofs::plonk::VerifyingKey;
use serde::Serialize;

use crate::circuit::StatementPlan;

/// Expected cost of proving one enrollment for a model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// Circuit size exponent.
    pub k: u32,
    /// Rows used by the layout.
    pub rows: usize,
    /// Advice columns.
    pub advice_columns: usize,
    /// Lookup arguments.
    pub lookups: usize,
    /// Expected proving time in seconds on the reference machine.
    pub prove_seconds: f64,
    /// Expected keygen time in seconds (first use only; the key is cached).
    pub keygen_seconds: f64,
    /// Expected peak resident memory while proving, in MiB.
    pub peak_memory_mib: f64,
    /// Expected peak resident memory while generating the keys (first use only), in MiB.
    pub keygen_peak_memory_mib: f64,
    /// Proving-key size in MiB.
    pub proving_key_mib: f64,
}

/// Share of the selectors that keygen's selector compression leaves as fixed columns of their
/// own (measured: world-v3 23 → 9, world-v3-live 32 → 12, openiris-1.11 24 → 10, cnn_embed
/// 33 → 13).
const SELECTOR_COLUMNS_PER_SELECTOR: f64 = 0.4;

/// Measured on the reference machine, quiet, 2026-11-26 (README "Performance"), as
/// `(model, prove seconds, peak RSS MiB, proving key MiB)`; [`Estimate::for_plan`] is fitted
/// to these and a test keeps it close to them. openiris-1.11 at k = 18: quiet, 2026-12-06
/// (`zkiris bench --model openiris-1.11 --runs 3`, median time, highest peak of the
/// 2026-12-05 and 2026-12-06 runs).
pub const REFERENCE_MEASUREMENTS: &[(&str, f64, f64, f64)] =
    &[("world-v3", 17.0, 857.0, 276.0), ("world-v3-live", 35.4, 1883.0, 713.0), ("openiris-1.11", 31.7, 1627.0, 585.0)];

/// Peak RSS of key generation from an empty cache (dev SRS generated too), `zkiris bench` on a
/// 2 vCPU host, 2026-12-05, as `(model, keygen peak MiB)`; the keygen estimate is fitted to these
/// and a test keeps it at or above them.
pub const KEYGEN_MEASUREMENTS: &[(&str, f64)] = &[("world-v3", 612.6), ("world-v3-live", 1195.9)];

impl Estimate {
    /// Estimates from a plan: linear in `2^k` and in the columns of its constraint system
    /// (advice, fixed after selector compression, lookups), with constants fitted to
    /// [`REFERENCE_MEASUREMENTS`]. The memory estimate carries a 10 % margin: it is what a
    /// phone checks against its memory budget before proving.
    pub fn for_plan(plan: &StatementPlan) -> Self {
        let k = plan.min_k();
        let mut cs = halo2_proofs::plonk::ConstraintSystem::<halo2_proofs::halo2curves::bn256::Fr>::default();
        let _ = <crate::circuit::IrisCircuit as halo2_proofs::plonk::Circuit<_>>::configure_with_params(&mut cs, plan.shape.clone());
        let (advice, lookups) = (cs.num_advice_columns(), cs.lookups().len());
        let fixed = cs.num_fixed_columns() as f64 + SELECTOR_COLUMNS_PER_SELECTOR * cs.num_selectors() as f64;
        let scale = (1u64 << k) as f64 / (1u64 << 17) as f64;
        let prove_seconds = scale * (6.7 + 0.6 * advice as f64 + 0.1 * fixed + 0.85 * lookups as f64);
        let keygen_seconds = scale * 9.0;
        let peak_memory_mib = 1.1 * (100.0 + scale * (47.0 + 30.0 * advice as f64 + 11.5 * fixed + 75.0 * lookups as f64));
        let proving_key_mib = scale * (113.0 + 8.1 * fixed);
        // Key generation holds the proving key being built plus the assembly it is built from
        // (fixed and permutation columns in evaluation form) and the SRS. Fitted to
        // KEYGEN_MEASUREMENTS (keys of 276 and 713 MiB); same 10 % margin.
        let keygen_peak_memory_mib = 1.1 * (245.0 + 1.33 * proving_key_mib);
        Self { k, rows: plan.rows, advice_columns: advice, lookups, prove_seconds, keygen_seconds, peak_memory_mib, keygen_peak_memory_mib, proving_key_mib }
    }

    /// The same estimate on a device `factor` times slower than the reference machine.
    pub fn scaled(&self, factor: f64) -> Self {
        Self { prove_seconds: self.prove_seconds * factor, keygen_seconds: self.keygen_seconds * factor, ..self.clone() }
    }
}

/// Approximate proof size in bytes for a verifying key (used to map transcript writes to
/// progress): commitments are `point_bytes` (64 uncompressed in the Keccak transcript, 32
/// compressed in the Poseidon one), evaluations 32.
pub fn proof_bytes(vk: &VerifyingKey<G1Affine>, point_bytes: usize) -> usize {
    let cs = vk.cs();
    let commitments = cs.num_advice_columns() + 3 * cs.lookups().len() + cs.permutation().get_columns().len() / 3 + 1 + cs.degree() + 2;
    let evaluations = cs.advice_queries().len()
        + cs.fixed_queries().len()
        + cs.instance_queries().len()
        + 5 * cs.lookups().len()
        + 3 * (cs.permutation().get_columns().len() / 3 + 1)
        + cs.permutation().get_columns().len();
    point_bytes * commitments + 32 * evaluations
}
