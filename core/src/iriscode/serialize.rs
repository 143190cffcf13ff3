//! Packed and base64 forms of a code, in the two layouts of [`CodeLayout`].
//!
//! Both layouts are `np.packbits` of a C-order bool array (bit 0 of the flat array is the most
//! significant bit of byte 0), 16,384 bits → 2,048 bytes → 2,732 characters of standard,
//! padded base64. They differ only in the order of the flat array:
//!
//! | layout | array | flat index of (filter f, row r, col c, component x), plane p = 2f + x |
//! |---|---|---|
//! | [`CodeLayout::Openiris`] | open-iris "old format" `(16, 256, 2, 2)` = `np.stack(codes).transpose(1, 2, 0, 3)` | `((r * 256 + c) * 2 + f) * 2 + x` |
//! | [`CodeLayout::WorldV3`] | `[plane(4), row(16), col(256)]` | `p * 4096 + r * 256 + c` |
//!
//! `Openiris` reproduces `IrisTemplate.serialize()["iris_codes"]` (and `["mask_codes"]`) of
//! open-iris 1.11 character for character. Parsing is strict: only canonical padded base64 of
//! exactly 2,048 bytes is accepted (Python's `b64decode` is laxer).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::{BitPos, CodeBits, CodeLayout, IrisCode, IrisCodeError};

/// Bytes in a packed code (16,384 bits).
pub const PACKED_BYTES: usize = CodeBits::BITS / 8;
/// Characters in a base64 code (`4 * ceil(2048 / 3)`).
pub const BASE64_LEN: usize = PACKED_BYTES.div_ceil(3) * 4;

impl BitPos {
    /// Index of this bit in the flat (pre-packbits) array of `layout`.
    pub fn layout_index(self, layout: CodeLayout) -> usize {
        match layout {
            CodeLayout::Openiris => ((self.row() * CodeBits::COLS + self.col()) * CodeBits::FILTERS + self.filter()) * CodeBits::COMPONENTS + self.component(),
            CodeLayout::WorldV3 => self.plane_major_index(),
        }
    }
}

impl CodeBits {
    /// `np.packbits` of the bits in `layout` order (MSB first).
    pub fn to_packed(&self, layout: CodeLayout) -> [u8; PACKED_BYTES] {
        let mut out = [0u8; PACKED_BYTES];
        for pos in BitPos::all() {
            if self.get(pos) {
                let i = pos.layout_index(layout);
                out[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out
    }

    /// Inverse of [`to_packed`](Self::to_packed): `np.unpackbits` then reorder from `layout`.
    pub fn from_packed(bytes: &[u8], layout: CodeLayout) -> Result<Self, IrisCodeError> {
        if bytes.len() != PACKED_BYTES {
            return Err(IrisCodeError::ByteLength { expected: PACKED_BYTES, actual: bytes.len() });
        }
        Ok(Self::from_fn(|pos| {
            let i = pos.layout_index(layout);
            bytes[i / 8] & (0x80 >> (i % 8)) != 0
        }))
    }

    /// Base64 (standard alphabet, padded) of [`to_packed`](Self::to_packed): 2,732 characters.
    pub fn to_base64(&self, layout: CodeLayout) -> String {
        STANDARD.encode(self.to_packed(layout))
    }

    /// Parses [`to_base64`](Self::to_base64) output.
    ///
    /// # Errors
    /// [`IrisCodeError::EncodedLength`] unless `s` is 2,732 characters, [`IrisCodeError::Base64`]
    /// if it is not canonical padded base64, [`IrisCodeError::ByteLength`] if it does not decode
    /// to 2,048 bytes.
    pub fn from_base64(s: &str, layout: CodeLayout) -> Result<Self, IrisCodeError> {
        if s.len() != BASE64_LEN {
            return Err(IrisCodeError::EncodedLength { layout, expected: BASE64_LEN, actual: s.len() });
        }
        let bytes = STANDARD.decode(s).map_err(|source| IrisCodeError::Base64 { source })?;
        Self::from_packed(&bytes, layout)
    }
}

impl IrisCode {
    /// `(iris_codes, mask_codes)` as base64 strings in `layout`. For
    /// [`CodeLayout::Openiris`] this is open-iris `IrisTemplate.serialize()`.
    pub fn to_base64(&self, layout: CodeLayout) -> (String, String) {
        (self.code().to_base64(layout), self.mask().to_base64(layout))
    }

    /// Parses the two base64 strings of [`to_base64`](Self::to_base64).
    ///
    /// # Errors
    /// As [`CodeBits::from_base64`], wrapped in [`IrisCodeError::Field`] naming
    /// `iris_codes` or `mask_codes`.
    pub fn from_base64(iris_codes: &str, mask_codes: &str, layout: CodeLayout) -> Result<Self, IrisCodeError> {
        Ok(IrisCode::new(
            CodeBits::from_base64(iris_codes, layout).map_err(|e| e.in_field("iris_codes"))?,
            CodeBits::from_base64(mask_codes, layout).map_err(|e| e.in_field("mask_codes"))?,
        ))
    }
}

/// Bit position in a serialized code.
pub(crate) fn serial_index(layout: CodeLayout, planes: usize, rows: usize, cols: usize, plane: usize, i: usize, j: usize) -> usize {
    match layout {
        CodeLayout::WorldV3 => (plane * rows + i) * cols + j,
        CodeLayout::Openiris => {
            let filters = planes / 2;
            ((i * cols + j) * filters + plane / 2) * 2 + plane % 2
        }
    }
}

/// Serializes plane-major bits (`[plane][row][col]`) in `layout` order, packed MSB first
/// (`np.packbits`). For 4 × 16 × 256 codes this is exactly open-iris's / World's serialization.
pub(crate) fn serialize_bits(layout: CodeLayout, planes: usize, rows: usize, cols: usize, bits: &[u8]) -> Vec<u8> {
    let n = planes * rows * cols;
    let mut out = vec![0u8; n.div_ceil(8)];
    for p in 0..planes {
        for i in 0..rows {
            for j in 0..cols {
                if bits[(p * rows + i) * cols + j] != 0 {
                    let s = serial_index(layout, planes, rows, cols, p, i, j);
                    out[s / 8] |= 0x80 >> (s % 8);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(seed: u64) -> CodeBits {
        let mut x = seed;
        CodeBits::from_fn(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x & 1 == 1
        })
    }

    #[test]
    fn sizes() {
        assert_eq!(PACKED_BYTES, 2048);
        assert_eq!(BASE64_LEN, 2732);
        assert_eq!(CodeBits::ones().to_base64(CodeLayout::Openiris).len(), BASE64_LEN);
    }

    #[test]
    fn layout_indices_are_bijections() {
        for layout in [CodeLayout::Openiris, CodeLayout::WorldV3] {
            let mut seen = vec![false; CodeBits::BITS];
            for pos in BitPos::all() {
                assert!(!std::mem::replace(&mut seen[pos.layout_index(layout)], true));
            }
        }
    }

    #[test]
    fn single_bits_land_where_the_layout_says() {
        // Filter 1, row 2, col 3, imaginary: old format (2, 3, 1, 1) → ((2*256+3)*2+1)*2+1 = 2063.
        let pos = BitPos::from_filter(1, 2, 3, 1).unwrap();
        let mut c = CodeBits::zeros();
        c.set(pos, true);
        let oi = c.to_packed(CodeLayout::Openiris);
        assert_eq!(oi[2063 / 8], 0x80 >> (2063 % 8));
        assert_eq!(oi.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
        // World v3: plane 3 → 3*4096 + 2*256 + 3 = 12803.
        let w = c.to_packed(CodeLayout::WorldV3);
        assert_eq!(w[12803 / 8], 0x80 >> (12803 % 8));
        assert_eq!(w.iter().map(|b| b.count_ones()).sum::<u32>(), 1);
    }

    #[test]
    fn round_trips() {
        for seed in 1..4 {
            let c = pattern(seed);
            for layout in [CodeLayout::Openiris, CodeLayout::WorldV3] {
                assert_eq!(CodeBits::from_packed(&c.to_packed(layout), layout).unwrap(), c);
                assert_eq!(CodeBits::from_base64(&c.to_base64(layout), layout).unwrap(), c);
            }
            // The two layouts really differ.
            assert_ne!(c.to_packed(CodeLayout::Openiris), c.to_packed(CodeLayout::WorldV3));
        }
        let code = IrisCode::new(pattern(9), pattern(10));
        let (i, m) = code.to_base64(CodeLayout::WorldV3);
        assert_eq!(IrisCode::from_base64(&i, &m, CodeLayout::WorldV3).unwrap(), code);
    }

    #[test]
    fn parse_errors() {
        let good = pattern(5).to_base64(CodeLayout::Openiris);
        // Truncated.
        assert!(matches!(
            CodeBits::from_base64(&good[..BASE64_LEN - 4], CodeLayout::Openiris),
            Err(IrisCodeError::EncodedLength { expected: 2732, actual: 2728, .. })
        ));
        // Bad character.
        let mut bad = good.clone().into_bytes();
        bad[10] = b'!';
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(CodeBits::from_base64(&bad, CodeLayout::Openiris), Err(IrisCodeError::Base64 { source: base64::DecodeError::InvalidByte(10, b'!') })));
        // Right length, but "==" padding decodes to 2047 bytes.
        let short = STANDARD.encode([0u8; 2047]);
        assert_eq!(short.len(), BASE64_LEN);
        assert!(matches!(CodeBits::from_base64(&short, CodeLayout::WorldV3), Err(IrisCodeError::ByteLength { expected: 2048, actual: 2047 })));
        assert!(matches!(CodeBits::from_packed(&[0u8; 2049], CodeLayout::WorldV3), Err(IrisCodeError::ByteLength { expected: 2048, actual: 2049 })));
        // Field attribution.
        let e = IrisCode::from_base64(&good, &bad, CodeLayout::Openiris).unwrap_err();
        assert!(matches!(e, IrisCodeError::Field { field: "mask_codes", .. }));
        assert!(e.to_string().starts_with("mask_codes: "), "{e}");
    }
}
