//! End-to-end tests across the zkiris crates live in `tests/tests/`:
//!
//! - `upgrade_flow.rs`: the demo's story at full size — vault, world-v3 proof, registry in a
//!   local EVM, world-v3.1 upgrade under the same commitment, matching;
//! - `concurrency.rs`: two threads proving two vault records with one proving setup.
//!
//! `tests/conformance/` holds the vendored reference vectors the core tests read.
