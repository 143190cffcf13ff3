//! The Grain LFSR in self-shrinking mode, exactly as in the Poseidon reference script
//! `generate_parameters_grain.sage` (Grassi, Khovratovich, Rechberger, Roy, Schofnegger).
//!
//! The 80-bit register is seeded with
//! `field (2 bits) ‖ sbox (4) ‖ n (12) ‖ t (12) ‖ R_F (10) ‖ R_P (10) ‖ 1^30`
//! (each field most significant bit first), clocked 160 times and then used in self-shrinking
//! mode: bits are drawn in pairs `(a, b)` and `b` is output only when `a = 1`.

/// The Grain bit generator for one parameter set.
pub(crate) struct Grain {
    /// `bit i` of the register is bit `i` of this integer (bit 0 is the oldest).
    register: u128,
}

const MASK80: u128 = (1u128 << 80) - 1;

impl Grain {
    /// Seeds the register for a prime field (`field = 1`), the `x^α` S-box (`sbox = 0`), an
    /// `n`-bit field, width `t`, `r_f` full and `r_p` partial rounds; then discards 160 bits.
    pub(crate) fn new(n: u16, t: u16, r_f: u16, r_p: u16) -> Self {
        let mut bits: Vec<bool> = Vec::with_capacity(80);
        let mut push = |value: u16, len: usize| {
            for i in (0..len).rev() {
                bits.push((value >> i) & 1 == 1);
            }
        };
        push(1, 2); // GF(p)
        push(0, 4); // x^alpha
        push(n, 12);
        push(t, 12);
        push(r_f, 10);
        push(r_p, 10);
        push(0x3fff, 14);
        push(0xffff, 16);
        let register = bits.iter().enumerate().fold(0u128, |acc, (i, &b)| acc | (u128::from(b) << i));
        let mut grain = Self { register };
        for _ in 0..160 {
            grain.clock();
        }
        grain
    }

    /// Shifts the register once and returns the new bit.
    fn clock(&mut self) -> bool {
        let r = self.register;
        let new = ((r >> 62) ^ (r >> 51) ^ (r >> 38) ^ (r >> 23) ^ (r >> 13) ^ r) & 1;
        self.register = ((r >> 1) | (new << 79)) & MASK80;
        new == 1
    }

    /// The next output bit of the self-shrinking generator.
    pub(crate) fn next_bit(&mut self) -> bool {
        loop {
            let select = self.clock();
            let out = self.clock();
            if select {
                return out;
            }
        }
    }

    /// The next `n` output bits as an integer, first bit most significant, big-endian bytes
    /// (right-aligned in 32 bytes). `n ≤ 256`.
    pub(crate) fn next_bits_be(&mut self, n: usize) -> [u8; 32] {
        let mut out = [0u8; 32];
        for i in (0..n).rev() {
            if self.next_bit() {
                out[31 - i / 8] |= 1 << (i % 8);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_shrinking_matches_pairwise_definition() {
        // Drawing pairs by hand from a second generator gives the same output stream.
        let mut a = Grain::new(254, 3, 8, 57);
        let mut b = Grain::new(254, 3, 8, 57);
        let mut manual = Vec::new();
        while manual.len() < 200 {
            let s = b.clock();
            let o = b.clock();
            if s {
                manual.push(o);
            }
        }
        let auto: Vec<bool> = (0..200).map(|_| a.next_bit()).collect();
        assert_eq!(auto, manual);
        // The stream is not degenerate.
        let ones = auto.iter().filter(|&&x| x).count();
        assert!((60..140).contains(&ones), "{ones} ones in 200 bits");
    }

    #[test]
    fn bits_are_packed_big_endian() {
        let mut a = Grain::new(254, 5, 8, 60);
        let mut b = Grain::new(254, 5, 8, 60);
        let bytes = a.next_bits_be(254);
        assert!(bytes[0] < 0x40, "254 bits fit below 2^254");
        let bits: Vec<bool> = (0..254).map(|_| b.next_bit()).collect();
        for (i, bit) in bits.iter().enumerate() {
            let pos = 253 - i; // first bit is the most significant
            assert_eq!((bytes[31 - pos / 8] >> (pos % 8)) & 1 == 1, *bit, "bit {i}");
        }
    }
}
