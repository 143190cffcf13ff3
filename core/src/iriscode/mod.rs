//! Iris codes: the 16,384 code bits and 16,384 mask bits an encoder derives from one eye, their
//! serialized forms, and the open-iris Hamming-distance matcher.
//!
//! Both reference encoders (open-iris 1.11.2 and World's v3) probe a 16 × 256 grid with two
//! complex Gabor filters and keep the signs of the real and imaginary responses, giving four
//! bit **planes** of 16 × 256 bits:
//!
//! | plane `p` | filter `p / 2` | component `p % 2` | world-v3 channel |
//! |---|---|---|---|
//! | 0 | 0 (21×41, λ=28) | real | A re |
//! | 1 | 0 | imaginary | A im |
//! | 2 | 1 (21×17, λ=8) | real | B re |
//! | 3 | 1 | imaginary | B im |
//!
//! In memory a [`CodeBits`] holds one such bit set in the *canonical* layout, open-iris's
//! per-filter "new format" `[filter(2)][row(16)][col(256)][component(2)]`, packed
//! least-significant-bit first into 256 `u64` words:
//!
//! ```text
//! canonical index k = ((filter * 16 + row) * 256 + col) * 2 + component
//! word k / 64, bit k % 64
//! ```
//!
//! One (filter, row) pair is one 512-bit run of 8 words, so the matcher's column rotation is a
//! 512-bit rotation, and the two phi halves it scores separately are words 0..4 (cols 0..128)
//! and words 4..8 (cols 128..256).
//!
//! | module | job |
//! |---|---|
//! | `serialize` | the two packed byte / base64 layouts ([`CodeLayout`]) |
//! | `matcher` | open-iris `HammingDistanceMatcher` / `SimpleHammingDistanceMatcher`, float for float |
//! | `template` | the JSON template the CLI reads and writes |

use std::fmt;

pub use crate::model::manifest::CodeLayout;

pub(crate) mod matcher;
pub(crate) mod serialize;
pub(crate) mod template;

pub use matcher::{HammingDistanceMatcher, MatchResult, MatcherParams, NormalisedTerms, ShiftScore, SimpleHammingDistanceMatcher};
pub use serialize::{BASE64_LEN, PACKED_BYTES};
pub use template::IrisTemplate;

/// Errors building, parsing or matching iris codes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IrisCodeError {
    /// A plane-major bit buffer does not hold exactly [`CodeBits::BITS`] entries.
    #[error("bit buffer holds {actual} entries but an iris code needs {expected} (4 planes x 16 rows x 256 cols)")]
    BitCount {
        /// [`CodeBits::BITS`].
        expected: usize,
        /// Entries supplied.
        actual: usize,
    },
    /// A bit buffer entry is neither 0 nor 1.
    #[error("bit value {value} at plane-major index {index} is not 0 or 1")]
    NonBinary {
        /// Plane-major index (`plane * 4096 + row * 256 + col`).
        index: usize,
        /// Offending value.
        value: u8,
    },
    /// A base64 code string has the wrong length.
    #[error("encoded code is {actual} characters long but a {layout:?} code is {expected} base64 characters (2048 bytes); check the string was not truncated or wrapped")]
    EncodedLength {
        /// Layout being decoded.
        layout: CodeLayout,
        /// [`BASE64_LEN`].
        expected: usize,
        /// Characters supplied.
        actual: usize,
    },
    /// A code string is not canonical standard-alphabet, padded base64.
    #[error("encoded code is not valid padded standard base64: {source}")]
    Base64 {
        /// Decoder error (names the offending byte and offset).
        #[source]
        source: base64::DecodeError,
    },
    /// A packed code does not have [`PACKED_BYTES`] bytes.
    #[error("packed code is {actual} bytes but must be {expected} (16384 bits, MSB first)")]
    ByteLength {
        /// [`PACKED_BYTES`].
        expected: usize,
        /// Bytes supplied.
        actual: usize,
    },
    /// An error located in one named field (`iris_codes`, `mask_codes`, ...).
    #[error("{field}: {source}")]
    Field {
        /// Field name.
        field: &'static str,
        /// The error in that field.
        #[source]
        source: Box<IrisCodeError>,
    },
    /// A matcher parameter is out of range.
    #[error("matcher parameter {name} = {value} is invalid: {reason}")]
    MatcherParam {
        /// Parameter name as open-iris spells it.
        name: &'static str,
        /// Value supplied.
        value: f64,
        /// What the value must be.
        reason: &'static str,
    },
    /// A template is not valid JSON for the template schema.
    #[error("iris template JSON is malformed: {source}")]
    TemplateJson {
        /// Parser error (with line and column).
        #[source]
        source: serde_json::Error,
    },
    /// A template's `valid_bits` disagrees with its mask.
    #[error("template says valid_bits = {declared} but its mask code has {actual} bits set; the template was altered or mis-assembled")]
    ValidBitsMismatch {
        /// `valid_bits` in the template.
        declared: u32,
        /// Popcount of the decoded mask.
        actual: u32,
    },
}

impl IrisCodeError {
    /// Wraps `self` as an error in the named field.
    pub(crate) fn in_field(self, field: &'static str) -> Self {
        IrisCodeError::Field { field, source: Box::new(self) }
    }
}

/// Position of one bit: (plane, row, col) with plane `p` = (filter `p / 2`, component `p % 2`).
///
/// Only valid positions can be constructed, so every accessor taking a `BitPos` is total.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitPos {
    plane: u8,
    row: u8,
    col: u8,
}

impl BitPos {
    /// The position `(plane, row, col)`, or `None` unless `plane < 4`, `row < 16`, `col < 256`.
    pub fn new(plane: usize, row: usize, col: usize) -> Option<Self> {
        if plane < CodeBits::PLANES && row < CodeBits::ROWS && col < CodeBits::COLS {
            // The bounds above make each value fit in a u8.
            Some(Self { plane: plane as u8, row: row as u8, col: col as u8 })
        } else {
            None
        }
    }

    /// The position of `(filter, row, col, component)` in open-iris terms, or `None` if out of range.
    pub fn from_filter(filter: usize, row: usize, col: usize, component: usize) -> Option<Self> {
        if filter < CodeBits::FILTERS && component < CodeBits::COMPONENTS {
            Self::new(filter * CodeBits::COMPONENTS + component, row, col)
        } else {
            None
        }
    }

    /// Plane, `0..4` (= `2 * filter + component`).
    pub fn plane(self) -> usize {
        usize::from(self.plane)
    }

    /// Filter, `0..2`.
    pub fn filter(self) -> usize {
        self.plane() / CodeBits::COMPONENTS
    }

    /// Component, `0` = real part, `1` = imaginary part.
    pub fn component(self) -> usize {
        self.plane() % CodeBits::COMPONENTS
    }

    /// Probe row (rho), `0..16`.
    pub fn row(self) -> usize {
        usize::from(self.row)
    }

    /// Probe column (phi), `0..256`.
    pub fn col(self) -> usize {
        usize::from(self.col)
    }

    /// Index in the canonical in-memory layout `[filter][row][col][component]`.
    pub fn canonical_index(self) -> usize {
        ((self.filter() * CodeBits::ROWS + self.row()) * CodeBits::COLS + self.col()) * CodeBits::COMPONENTS + self.component()
    }

    /// Index in the plane-major layout `[plane][row][col]` (= world-v3 `f*4096 + i*256 + j`).
    pub fn plane_major_index(self) -> usize {
        (self.plane() * CodeBits::ROWS + self.row()) * CodeBits::COLS + self.col()
    }

    /// The position at plane-major index `index`, or `None` if `index >= 16384`.
    pub fn from_plane_major_index(index: usize) -> Option<Self> {
        let col = index % CodeBits::COLS;
        let row = (index / CodeBits::COLS) % CodeBits::ROWS;
        let plane = index / (CodeBits::COLS * CodeBits::ROWS);
        Self::new(plane, row, col)
    }

    /// All 16,384 positions in plane-major order.
    pub fn all() -> impl Iterator<Item = BitPos> {
        (0..CodeBits::BITS).filter_map(Self::from_plane_major_index)
    }
}

/// One set of 16,384 code bits (either the iris code or the mask code), canonical layout.
///
/// See the [module docs](self) for the layout. Fixed size, no heap.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CodeBits {
    words: [u64; CodeBits::WORDS],
}

impl CodeBits {
    /// Gabor filters.
    pub const FILTERS: usize = 2;
    /// Components per filter (real, imaginary).
    pub const COMPONENTS: usize = 2;
    /// Bit planes (`FILTERS * COMPONENTS`).
    pub const PLANES: usize = Self::FILTERS * Self::COMPONENTS;
    /// Probe rows (rho).
    pub const ROWS: usize = 16;
    /// Probe columns (phi).
    pub const COLS: usize = 256;
    /// Bits in one code.
    pub const BITS: usize = Self::PLANES * Self::ROWS * Self::COLS;
    /// `u64` words of storage.
    pub const WORDS: usize = Self::BITS / 64;
    /// Words per (filter, row) run: 256 columns × 2 components = 512 bits.
    pub const WORDS_PER_ROW: usize = Self::COLS * Self::COMPONENTS / 64;

    /// All bits clear.
    pub const fn zeros() -> Self {
        Self { words: [0; Self::WORDS] }
    }

    /// All bits set.
    pub const fn ones() -> Self {
        Self { words: [u64::MAX; Self::WORDS] }
    }

    /// From the raw canonical words (bit `k` is word `k / 64`, bit `k % 64`).
    pub const fn from_words(words: [u64; Self::WORDS]) -> Self {
        Self { words }
    }

    /// The raw canonical words.
    pub const fn words(&self) -> &[u64; Self::WORDS] {
        &self.words
    }

    /// Builds the bits by asking `f` for every position.
    pub fn from_fn(mut f: impl FnMut(BitPos) -> bool) -> Self {
        let mut out = Self::zeros();
        for pos in BitPos::all() {
            out.set(pos, f(pos));
        }
        out
    }

    /// From plane-major bits `[plane(4)][row(16)][col(256)]`, as an encoder produces them
    /// (`bool`, or `u8` holding 0 or 1).
    pub fn from_plane_major<B: Copy + Into<u8>>(bits: &[B]) -> Result<Self, IrisCodeError> {
        if bits.len() != Self::BITS {
            return Err(IrisCodeError::BitCount { expected: Self::BITS, actual: bits.len() });
        }
        let mut out = Self::zeros();
        for (index, (&b, pos)) in bits.iter().zip(BitPos::all()).enumerate() {
            match b.into() {
                0 => {}
                1 => out.set(pos, true),
                value => return Err(IrisCodeError::NonBinary { index, value }),
            }
        }
        Ok(out)
    }

    /// The bits in plane-major order `[plane][row][col]`, one 0/1 byte each.
    pub fn to_plane_major(&self) -> Vec<u8> {
        BitPos::all().map(|pos| u8::from(self.get(pos))).collect()
    }

    /// The bit at `pos`.
    pub fn get(&self, pos: BitPos) -> bool {
        let k = pos.canonical_index();
        (self.words[k / 64] >> (k % 64)) & 1 == 1
    }

    /// Sets the bit at `pos` to `value`.
    pub fn set(&mut self, pos: BitPos, value: bool) {
        let k = pos.canonical_index();
        let m = 1u64 << (k % 64);
        if value {
            self.words[k / 64] |= m;
        } else {
            self.words[k / 64] &= !m;
        }
    }

    /// Number of set bits.
    pub fn count_ones(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    /// The 8 words of one (filter, row) run (bit `2 * col + component`); `filter < 2`, `row < 16`.
    pub(crate) fn row_words(&self, filter: usize, row: usize) -> [u64; Self::WORDS_PER_ROW] {
        let start = (filter * Self::ROWS + row) * Self::WORDS_PER_ROW;
        std::array::from_fn(|i| self.words[start + i])
    }
}

impl Default for CodeBits {
    fn default() -> Self {
        Self::zeros()
    }
}

impl fmt::Debug for CodeBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CodeBits").field("ones", &self.count_ones()).finish_non_exhaustive()
    }
}

/// An iris code: the code bits and the mask bits (1 = the code bit is valid).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct IrisCode {
    code: CodeBits,
    mask: CodeBits,
}

impl IrisCode {
    /// Bits in the iris code (and in the mask code).
    pub const BITS: usize = CodeBits::BITS;

    /// From its two bit sets.
    pub const fn new(code: CodeBits, mask: CodeBits) -> Self {
        Self { code, mask }
    }

    /// From plane-major code and mask bits `[plane(4)][row(16)][col(256)]` (what the encoder
    /// produces; `bool` or 0/1 `u8`).
    pub fn from_plane_major<B: Copy + Into<u8>>(code: &[B], mask: &[B]) -> Result<Self, IrisCodeError> {
        Ok(Self {
            code: CodeBits::from_plane_major(code).map_err(|e| e.in_field("iris_codes"))?,
            mask: CodeBits::from_plane_major(mask).map_err(|e| e.in_field("mask_codes"))?,
        })
    }

    /// The iris-code bits.
    pub const fn code(&self) -> &CodeBits {
        &self.code
    }

    /// The mask-code bits.
    pub const fn mask(&self) -> &CodeBits {
        &self.mask
    }

    /// The code bit at `pos`.
    pub fn code_bit(&self, pos: BitPos) -> bool {
        self.code.get(pos)
    }

    /// The mask bit at `pos`.
    pub fn mask_bit(&self, pos: BitPos) -> bool {
        self.mask.get(pos)
    }

    /// Number of valid bits: the popcount of the mask.
    pub fn valid_bits(&self) -> u32 {
        self.mask.count_ones()
    }

    /// Splits into `(code, mask)`.
    pub fn into_parts(self) -> (CodeBits, CodeBits) {
        (self.code, self.mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitpos_bounds_and_indices() {
        assert!(BitPos::new(4, 0, 0).is_none());
        assert!(BitPos::new(0, 16, 0).is_none());
        assert!(BitPos::new(0, 0, 256).is_none());
        assert!(BitPos::from_filter(2, 0, 0, 0).is_none());
        assert!(BitPos::from_filter(0, 0, 0, 2).is_none());
        assert!(BitPos::from_plane_major_index(CodeBits::BITS).is_none());
        let p = BitPos::new(3, 15, 255).unwrap();
        assert_eq!((p.filter(), p.component()), (1, 1));
        assert_eq!(p.canonical_index(), CodeBits::BITS - 1);
        assert_eq!(p.plane_major_index(), CodeBits::BITS - 1);
        let q = BitPos::from_filter(1, 2, 3, 0).unwrap();
        assert_eq!(q.plane(), 2);
        assert_eq!(q.canonical_index(), ((16 + 2) * 256 + 3) * 2);
        assert_eq!(q.plane_major_index(), 2 * 4096 + 2 * 256 + 3);
        // Both index maps are bijections onto 0..BITS.
        let mut seen_c = vec![false; CodeBits::BITS];
        for (i, pos) in BitPos::all().enumerate() {
            assert_eq!(pos.plane_major_index(), i);
            assert_eq!(BitPos::from_plane_major_index(i), Some(pos));
            assert!(!std::mem::replace(&mut seen_c[pos.canonical_index()], true));
        }
    }

    #[test]
    fn plane_major_round_trip_and_errors() {
        let bits: Vec<u8> = (0..CodeBits::BITS).map(|i| u8::from((i * 7919) % 13 < 5)).collect();
        let c = CodeBits::from_plane_major(&bits).unwrap();
        assert_eq!(c.to_plane_major(), bits);
        assert_eq!(c.count_ones() as usize, bits.iter().filter(|&&b| b == 1).count());
        let bools: Vec<bool> = bits.iter().map(|&b| b == 1).collect();
        assert_eq!(CodeBits::from_plane_major(&bools).unwrap(), c);

        assert!(matches!(CodeBits::from_plane_major(&bits[1..]), Err(IrisCodeError::BitCount { expected: 16384, actual: 16383 })));
        let mut bad = bits.clone();
        bad[77] = 2;
        assert!(matches!(CodeBits::from_plane_major(&bad), Err(IrisCodeError::NonBinary { index: 77, value: 2 })));
        let e = IrisCode::from_plane_major(&bits, &bad).unwrap_err();
        assert!(matches!(e, IrisCodeError::Field { field: "mask_codes", .. }), "{e}");
    }

    #[test]
    fn get_set_and_valid_bits() {
        let mut m = CodeBits::zeros();
        let p = BitPos::new(1, 4, 200).unwrap();
        m.set(p, true);
        assert!(m.get(p));
        assert_eq!(m.count_ones(), 1);
        m.set(p, false);
        assert_eq!(m, CodeBits::zeros());
        let code = IrisCode::new(CodeBits::zeros(), CodeBits::ones());
        assert_eq!(code.valid_bits(), 16384);
        assert!(!code.code_bit(p) && code.mask_bit(p));
        // Debug does not dump 2 KiB of words.
        assert!(format!("{code:?}").len() < 200);
    }
}
