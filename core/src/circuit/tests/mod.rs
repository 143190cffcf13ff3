//! MockProver tests of the whole statement: honest witnesses accepted, tampered ones rejected
//! with the exact failure. They live inside the crate because the witness is crate-private
//! (a tampered witness cannot be built through the public API).

#[path = "../../../tests/common/mod.rs"]
mod common;

mod calcs;
mod cnn;
mod conformance;
mod dense_batch;
mod embed;
mod linear;
mod mock;
mod plan;
mod shares;
mod tamper;

/// MockProver on the statement with `w`: the names of the gates, lookups and copy columns that
/// fail (`gate:…`, `lookup:…`, `copy:…`), empty when the witness is accepted.
pub fn mock_failures(plan: &std::sync::Arc<crate::circuit::StatementPlan>, w: crate::circuit::witness::Witness, k: u32) -> Vec<String> {
    use halo2_proofs::dev::{MockProver, VerifyFailure};
    let inst = w.instances.clone();
    let c = crate::circuit::IrisCircuit::with_witness(plan.clone(), std::sync::Arc::new(w));
    match MockProver::run(k, &c, vec![inst]).unwrap().verify() {
        Ok(()) => vec![],
        Err(e) => e
            .iter()
            .map(|f| match f {
                VerifyFailure::ConstraintNotSatisfied { constraint, .. } => format!("gate:{constraint}"),
                VerifyFailure::Lookup { name, .. } => format!("lookup:{name}"),
                VerifyFailure::Permutation { column, .. } => format!("copy:{column:?}"),
                VerifyFailure::InstanceCellNotAssigned { .. } => "instance-unassigned".into(),
                other => format!("{other:?}"),
            })
            .collect(),
    }
}

/// Asserts a tampered witness was rejected with a failure mentioning `expect`.
pub fn assert_rejected(what: &str, f: &[String], expect: &str) {
    assert!(!f.is_empty(), "{what}: tampered witness was accepted");
    assert!(f.iter().any(|s| s.contains(expect)), "{what}: expected a failure mentioning {expect:?}, got {:?}", &f[..f.len().min(6)]);
}
