//! Where the quotient evaluation's work goes: halo2's evaluator calculations per gate of the
//! bundled statements (`cargo test -p zkiris --lib circuit::tests::calcs -- --ignored --nocapture`).
//! Custom-gate evaluation time follows the total (README, "mpc-shares mode").

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::plonk::{Circuit, ConstraintSystem};

use super::common::*;
use crate::circuit::chips::poseidon::cost::gate_calculations_by_gate;

#[test]
#[ignore = "prints a table"]
fn calculations_per_gate() {
    for m in ["world-v3", "world-v3-mpc"] {
        let plan = crate::circuit::StatementPlan::new(&bundled_model(m)).expect("plan");
        let mut cs = ConstraintSystem::<Fr>::default();
        let _ = crate::circuit::IrisCircuit::configure_with_params(&mut cs, plan.shape.clone());
        let gates = gate_calculations_by_gate(&cs);
        let total: usize = gates.iter().map(|g| g.2).sum();
        println!(
            "== {m}: {total} calculations; {} advice, {} fixed, {} selectors, {} lookups, {} equality columns, degree {}",
            cs.num_advice_columns(),
            cs.num_fixed_columns(),
            cs.num_selectors(),
            cs.lookups().len(),
            cs.permutation().get_columns().len(),
            cs.degree()
        );
        for (name, polys, calcs) in gates {
            println!("  {calcs:5} {polys:3} {name}");
        }
        assert!(total > 0);
    }
}
