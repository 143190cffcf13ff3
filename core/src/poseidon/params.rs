//! Poseidon parameters over BN254 `Fr`, generated in code with the reference Grain LFSR.

use std::sync::OnceLock;

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::{Field, PrimeField};

use super::grain::Grain;
use super::PoseidonError;

/// The BN254 scalar-field modulus, big-endian.
pub const FIELD_MODULUS_BE: [u8; 32] = [
    0x30, 0x64, 0x4e, 0x72, 0xe1, 0x31, 0xa0, 0x29, 0xb8, 0x50, 0x45, 0xb6, 0x81, 0x81, 0x58, 0x5d, 0x28, 0x33, 0xe8, 0x48, 0x79, 0xb9, 0x70, 0x91, 0x43, 0xe1,
    0xf5, 0x93, 0xf0, 0x00, 0x00, 0x01,
];

/// Bits of the BN254 scalar-field modulus (`n` in the reference script).
pub const FIELD_BITS: u16 = 254;
/// The S-box exponent `α` (`x ↦ x^5`).
pub const ALPHA: u64 = 5;
/// Full rounds `R_F` (half before, half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;
/// The smallest supported width.
pub const MIN_WIDTH: usize = 2;
/// The largest supported width.
pub const MAX_WIDTH: usize = 17;

/// Partial rounds `R_P` for widths `2..=17`, as in circomlib (`poseidon_constants`).
const PARTIAL_ROUNDS: [usize; MAX_WIDTH - MIN_WIDTH + 1] = [56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68];

/// The partial rounds `R_P` for a width, or `None` if the width is unsupported.
pub const fn partial_rounds(width: usize) -> Option<usize> {
    if width < MIN_WIDTH || width > MAX_WIDTH {
        return None;
    }
    Some(PARTIAL_ROUNDS[width - MIN_WIDTH])
}

/// The constants of one Poseidon instance: width `t`, `R_F = 8`, `R_P` from circomlib,
/// `(R_F + R_P)·t` round constants and a `t × t` Cauchy MDS matrix.
#[derive(Clone, Debug)]
pub struct PoseidonParams {
    width: usize,
    partial_rounds: usize,
    /// `round_constants[r][i]` is added to state element `i` before the S-boxes of round `r`.
    round_constants: Vec<Vec<Fr>>,
    /// `mds[i][j]`: the new `state[i]` is `Σ_j mds[i][j]·state[j]`.
    mds: Vec<Vec<Fr>>,
}

static CACHE: [OnceLock<PoseidonParams>; MAX_WIDTH - MIN_WIDTH + 1] = [const { OnceLock::new() }; MAX_WIDTH - MIN_WIDTH + 1];

/// A 254-bit big-endian integer as a field element, reduced modulo `p` (exact: `2^254 < 2p`).
fn reduce(be: &[u8; 32]) -> Fr {
    be.iter().fold(Fr::ZERO, |acc, byte| (0..8).rev().fold(acc, |acc, i| acc.double() + Fr::from(u64::from((byte >> i) & 1))))
}

impl PoseidonParams {
    /// The parameters for `width` (2 ≤ width ≤ 17), generated on first use and cached.
    pub fn get(width: usize) -> Result<&'static Self, PoseidonError> {
        let r_p = partial_rounds(width).ok_or(PoseidonError::UnsupportedWidth { width })?;
        Ok(CACHE[width - MIN_WIDTH].get_or_init(|| Self::generate(width, r_p)))
    }

    /// Runs the reference generator: round constants first (254-bit draws, rejected when
    /// `≥ p`), then the MDS matrix `M[i][j] = 1/(x_i + y_j)` from `2t` further draws (reduced
    /// mod `p`, redrawn if not pairwise distinct or if some `x_i + y_j = 0`).
    ///
    /// The reference script also re-draws the matrix when its subspace-trail checks
    /// (algorithms 1–3) fail; for a random Cauchy matrix over a 254-bit field that happens
    /// with negligible probability, and the published vectors for t = 3 and t = 5 (tests)
    /// confirm the first draw is the one used.
    fn generate(width: usize, partial_rounds: usize) -> Self {
        // Widths and round counts are small constants (checked by `get`), so the casts are exact.
        let mut grain = Grain::new(FIELD_BITS, width as u16, FULL_ROUNDS as u16, partial_rounds as u16);
        let rounds = FULL_ROUNDS + partial_rounds;
        let mut round_constants = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let mut row = Vec::with_capacity(width);
            for _ in 0..width {
                let c = loop {
                    let be = grain.next_bits_be(FIELD_BITS as usize);
                    if be.as_slice() < FIELD_MODULUS_BE.as_slice() {
                        break reduce(&be);
                    }
                };
                row.push(c);
            }
            round_constants.push(row);
        }
        let mds = loop {
            let draws: Vec<Fr> = (0..2 * width).map(|_| reduce(&grain.next_bits_be(FIELD_BITS as usize))).collect();
            let distinct = draws.iter().enumerate().all(|(i, a)| draws[..i].iter().all(|b| b != a));
            if !distinct {
                continue;
            }
            let (xs, ys) = draws.split_at(width);
            let inverses: Option<Vec<Vec<Fr>>> = xs.iter().map(|x| ys.iter().map(|y| Option::from((*x + y).invert())).collect()).collect();
            if let Some(m) = inverses {
                break m;
            }
        };
        Self { width, partial_rounds, round_constants, mds }
    }

    /// The state width `t`.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The sponge rate `t − 1` (one capacity element).
    pub fn rate(&self) -> usize {
        self.width - 1
    }

    /// Full rounds `R_F` (always 8).
    pub fn full_rounds(&self) -> usize {
        FULL_ROUNDS
    }

    /// Partial rounds `R_P`.
    pub fn partial_rounds(&self) -> usize {
        self.partial_rounds
    }

    /// Total rounds `R_F + R_P`.
    pub fn rounds(&self) -> usize {
        FULL_ROUNDS + self.partial_rounds
    }

    /// Whether round `r` (0-based) is a full round.
    pub fn is_full_round(&self, r: usize) -> bool {
        r < FULL_ROUNDS / 2 || r >= FULL_ROUNDS / 2 + self.partial_rounds
    }

    /// Round constants, `[round][element]`.
    pub fn round_constants(&self) -> &[Vec<Fr>] {
        &self.round_constants
    }

    /// The MDS matrix, `[row][column]`.
    pub fn mds(&self) -> &[Vec<Fr>] {
        &self.mds
    }

    /// Applies the permutation in place: for each round, add the round constants, apply `x^5`
    /// to every element (full rounds) or to element 0 (partial rounds), multiply by the MDS.
    pub fn permute(&self, state: &mut [Fr]) -> Result<(), PoseidonError> {
        if state.len() != self.width {
            return Err(PoseidonError::StateLength { width: self.width, len: state.len() });
        }
        let mut mixed = vec![Fr::ZERO; self.width];
        for (r, constants) in self.round_constants.iter().enumerate() {
            for (s, c) in state.iter_mut().zip(constants) {
                *s += c;
            }
            if self.is_full_round(r) {
                state.iter_mut().for_each(|s| *s = pow5(*s));
            } else {
                state[0] = pow5(state[0]);
            }
            for (out, row) in mixed.iter_mut().zip(&self.mds) {
                *out = row.iter().zip(state.iter()).fold(Fr::ZERO, |acc, (m, s)| acc + *m * s);
            }
            state.copy_from_slice(&mixed);
        }
        Ok(())
    }
}

/// `x^5`.
pub fn pow5(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// `Fr` from 32 big-endian bytes, if canonical.
pub(crate) fn fr_from_be(bytes: &[u8; 32]) -> Option<Fr> {
    let mut le = *bytes;
    le.reverse();
    Option::from(Fr::from_repr(le))
}

/// 32 big-endian bytes of a field element.
pub(crate) fn fr_to_be(x: &Fr) -> [u8; 32] {
    let mut be = x.to_repr();
    be.reverse();
    be
}
