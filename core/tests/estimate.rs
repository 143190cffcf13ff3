//! The cost estimate a phone checks before proving stays close to what the bundled models
//! measured on the reference machine (`prover::estimate::REFERENCE_MEASUREMENTS`, README
//! "Performance"): the memory estimate is never below the measured peak (a phone must not start
//! a proof it cannot finish) and not so far above it that it refuses proofs that fit.

mod common;

use zkiris::circuit::StatementPlan;
use zkiris::prover::Estimate;
use zkiris::prover::{KEYGEN_MEASUREMENTS, REFERENCE_MEASUREMENTS};

#[test]
fn estimates_track_the_reference_measurements() {
    for &(name, prove_s, peak_mib, pk_mib) in REFERENCE_MEASUREMENTS {
        let model = common::bundled_model(name);
        let e = Estimate::for_plan(&StatementPlan::new(&model).unwrap());
        println!(
            "{name}: estimate {:.1} s, {:.0} MiB, pk {:.0} MiB; measured {prove_s} s, {peak_mib} MiB, pk {pk_mib} MiB",
            e.prove_seconds, e.peak_memory_mib, e.proving_key_mib
        );
        assert!((e.prove_seconds / prove_s - 1.0).abs() < 0.15, "{name}: time {e:?}");
        assert!(e.peak_memory_mib >= peak_mib && e.peak_memory_mib <= 1.25 * peak_mib, "{name}: memory {e:?}");
        assert!((e.proving_key_mib / pk_mib - 1.0).abs() < 0.15, "{name}: proving key {e:?}");
    }
    // world-v3 fits the 1 GiB budget the README promises.
    let e = Estimate::for_plan(&StatementPlan::new(&common::bundled_model("world-v3")).unwrap());
    assert!(e.peak_memory_mib < 1024.0, "{e:?}");
}

/// `prepare` checks the key-generation peak before generating a key: the estimate must cover the
/// measured peak, without refusing far more than needed.
#[test]
fn keygen_estimates_cover_the_measured_peaks() {
    for &(name, peak_mib) in KEYGEN_MEASUREMENTS {
        let e = Estimate::for_plan(&StatementPlan::new(&common::bundled_model(name)).unwrap());
        println!("{name}: keygen estimate {:.0} MiB, measured {peak_mib} MiB", e.keygen_peak_memory_mib);
        assert!(e.keygen_peak_memory_mib >= peak_mib && e.keygen_peak_memory_mib <= 1.25 * peak_mib, "{name}: keygen memory {e:?}");
    }
}
