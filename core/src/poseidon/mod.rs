//! Native Poseidon over the BN254 scalar field (`x^5` S-box, `R_F = 8`, circomlib's `R_P`).
//!
//! The constants are generated in code by the reference Grain LFSR
//! ([`PoseidonParams::get`]); for width 3 and 5 they reproduce circomlib's Poseidon
//! (see [`circom_hash`] and its tests). The in-circuit twin is
//! the Poseidon chip (`circuit/chips/poseidon.rs`); both compute [`sponge_hash`], the sponge used by the
//! enrollment commitment ([`crate::commitment::commit`]).
//!
//! | item | what |
//! |---|---|
//! | [`PoseidonParams`] | round constants, MDS matrix and the permutation for a width `t ∈ 2..=17` |
//! | [`circom_hash`] | circomlib's `Poseidon(n)`: state `[0, x_1..x_n]`, permute, output `state[0]` |
//! | [`sponge_hash`] | the zkiris sponge: rate `t−1`, capacity 1 initialised to the input length |

mod grain;
mod params;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::Field;

pub(crate) use params::{fr_from_be, fr_to_be};
pub use params::{partial_rounds, pow5, PoseidonParams, ALPHA, FIELD_BITS, FIELD_MODULUS_BE, FULL_ROUNDS, MAX_WIDTH, MIN_WIDTH};

/// Errors from the native Poseidon functions.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PoseidonError {
    /// The width is outside `2..=17` (the widths with circomlib round numbers).
    #[error("Poseidon width {width} is not supported; use a width from 2 to 17")]
    UnsupportedWidth {
        /// Requested width.
        width: usize,
    },
    /// A state slice of the wrong length was passed to the permutation.
    #[error("a width-{width} Poseidon state needs {width} elements, got {len}")]
    StateLength {
        /// The permutation's width.
        width: usize,
        /// Elements supplied.
        len: usize,
    },
}

/// circomlib's `Poseidon(n)` for `n = inputs.len()` (1 ≤ n ≤ 16): width `t = n + 1`,
/// state `[0, inputs…]`, one permutation, output `state[0]`.
pub fn circom_hash(inputs: &[Fr]) -> Result<Fr, PoseidonError> {
    let params = PoseidonParams::get(inputs.len() + 1)?;
    let mut state = Vec::with_capacity(inputs.len() + 1);
    state.push(Fr::ZERO);
    state.extend_from_slice(inputs);
    params.permute(&mut state)?;
    Ok(state[0])
}

/// The zkiris Poseidon sponge of width `t` (rate `t − 1`, capacity 1).
///
/// 1. `state = [len, 0, …, 0]` where `len = inputs.len()` (domain separation by length);
/// 2. the inputs are cut into blocks of `t − 1` elements, the last block zero-padded (an empty
///    input is one all-zero block); each block is **added** into `state[1..t]` and the state
///    is permuted;
/// 3. the output is `state[1]`.
pub fn sponge_hash(width: usize, inputs: &[Fr]) -> Result<Fr, PoseidonError> {
    let params = PoseidonParams::get(width)?;
    let rate = params.rate();
    let mut state = vec![Fr::ZERO; width];
    state[0] = Fr::from(inputs.len() as u64);
    let blocks = inputs.len().div_ceil(rate).max(1);
    for b in 0..blocks {
        let chunk = inputs.get(b * rate..inputs.len().min((b + 1) * rate)).unwrap_or(&[]);
        for (s, x) in state[1..].iter_mut().zip(chunk) {
            *s += x;
        }
        params.permute(&mut state)?;
    }
    Ok(state[1])
}

/// Number of permutations [`sponge_hash`] runs for `len` inputs at `width` (`width ≥ 2`).
pub fn sponge_permutations(width: usize, len: usize) -> usize {
    len.div_ceil(width.saturating_sub(1).max(1)).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(x: &Fr) -> String {
        format!("0x{}", ::hex::encode(fr_to_be(x)))
    }

    #[test]
    fn circomlib_width_3() {
        let h = circom_hash(&[Fr::from(1), Fr::from(2)]).unwrap();
        assert_eq!(hex(&h), "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a");
    }

    #[test]
    fn circomlib_width_5() {
        let h = circom_hash(&[Fr::from(1), Fr::from(2), Fr::from(3), Fr::from(4)]).unwrap();
        assert_eq!(hex(&h), "0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465");
    }

    #[test]
    fn widths_and_errors() {
        assert_eq!(partial_rounds(3), Some(57));
        assert_eq!(partial_rounds(9), Some(63));
        assert_eq!(partial_rounds(17), Some(68));
        assert_eq!(partial_rounds(1), None);
        assert_eq!(partial_rounds(18), None);
        assert_eq!(PoseidonParams::get(18).unwrap_err(), PoseidonError::UnsupportedWidth { width: 18 });
        assert_eq!(circom_hash(&[]).unwrap_err(), PoseidonError::UnsupportedWidth { width: 1 });
        let p = PoseidonParams::get(9).unwrap();
        assert_eq!((p.width(), p.rate(), p.rounds()), (9, 8, 71));
        assert_eq!(p.round_constants().len(), 71);
        assert!(p.round_constants().iter().all(|r| r.len() == 9));
        let mut short = vec![Fr::ZERO; 8];
        assert_eq!(p.permute(&mut short).unwrap_err(), PoseidonError::StateLength { width: 9, len: 8 });
        // Cached: the same allocation is returned.
        assert!(std::ptr::eq(p, PoseidonParams::get(9).unwrap()));
    }

    #[test]
    fn sponge_structure() {
        // One block: the sponge equals a direct permutation of [len, x1, x2].
        let p = PoseidonParams::get(3).unwrap();
        let mut s = [Fr::from(2), Fr::from(7), Fr::from(9)];
        p.permute(&mut s).unwrap();
        assert_eq!(sponge_hash(3, &[Fr::from(7), Fr::from(9)]).unwrap(), s[1]);
        // Length separation: zero padding is not the same as an explicit zero.
        let a = sponge_hash(5, &[Fr::from(1)]).unwrap();
        let b = sponge_hash(5, &[Fr::from(1), Fr::ZERO]).unwrap();
        assert_ne!(a, b);
        // Two blocks: the second block is added to the permuted state.
        let x: Vec<Fr> = (1..=5).map(Fr::from).collect();
        let mut s = [Fr::from(5), x[0], x[1], x[2], x[3]];
        let p5 = PoseidonParams::get(5).unwrap();
        p5.permute(&mut s).unwrap();
        s[1] += x[4];
        p5.permute(&mut s).unwrap();
        assert_eq!(sponge_hash(5, &x).unwrap(), s[1]);
        // Empty input: one all-zero block.
        let mut z = [Fr::ZERO; 3];
        p.permute(&mut z).unwrap();
        assert_eq!(sponge_hash(3, &[]).unwrap(), z[1]);
        assert_eq!(sponge_permutations(9, 5205), 651);
        assert_eq!(sponge_permutations(3, 0), 1);
    }
}
