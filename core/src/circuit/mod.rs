//! halo2 chips for the zkiris circuit.

pub mod poseidon;
