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
    /// Proving-key size in MiB.
    pub proving_key_mib: f64,
}

/// Advice columns of the statement: 9 shared + the commitment chip's (models with a liveness
/// rule add the CNN output column `u`).
pub const ADVICE_COLUMNS: usize = 9 + 2;

impl Estimate {
    /// Estimates from a plan.
    pub fn for_plan(plan: &StatementPlan) -> Self {
        let k = plan.min_k();
        let lookups = crate::circuit::range::RangeConfig::lookups(plan.shape.paired_limbs);
        let advice = ADVICE_COLUMNS + usize::from(plan.shape.cnn);
        let scale = (1u64 << k) as f64 / (1u64 << 17) as f64;
        // Calibrated at k = 17 on the reference machine (see README, "Performance").
        let prove_seconds = scale * (2.6 + 0.30 * advice as f64 + 0.85 * lookups as f64);
        let keygen_seconds = scale * 9.0;
        let peak_memory_mib = 120.0 + scale * (60.0 * advice as f64 + 150.0 * lookups as f64 + 150.0);
        let proving_key_mib = scale * 80.0;
        Self { k, rows: plan.rows, advice_columns: advice, lookups, prove_seconds, keygen_seconds, peak_memory_mib, proving_key_mib }
    }

    /// The same estimate on a device `factor` times slower than the reference machine.
    pub fn scaled(&self, factor: f64) -> Self {
        Self { prove_seconds: self.prove_seconds * factor, keygen_seconds: self.keygen_seconds * factor, ..self.clone() }
    }
}

/// Approximate proof size in bytes for a verifying key (used to map transcript writes to
/// progress): commitments are 64 bytes, evaluations 32.
pub fn proof_bytes(vk: &VerifyingKey<G1Affine>) -> usize {
    let cs = vk.cs();
    let commitments = cs.num_advice_columns() + 3 * cs.lookups().len() + cs.permutation().get_columns().len() / 3 + 1 + cs.degree() + 2;
    let evaluations = cs.advice_queries().len() + cs.fixed_queries().len() + cs.instance_queries().len() + 5 * cs.lookups().len() + 3 * (cs.permutation().get_columns().len() / 3 + 1) + cs.permutation().get_columns().len();
    64 * commitments + 32 * evaluations
}
