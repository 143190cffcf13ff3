//! The open-iris 1.11 Hamming-distance matchers, reproduced float for float.
//!
//! For each shift `s` in the order `0, −1, +1, −2, +2, …, −R, +R` (R = `rotation_shift`), the
//! probe's code and mask are rolled by `s` phi columns (`np.roll(probe, s, axis=1)` on the
//! `(16, 256, 2)` per-filter arrays: rolled column `c` is probe column `c − s mod 256`), for both
//! filters. Then
//!
//! ```text
//! common   = rolled_probe_mask & gallery_mask
//! nonmatch = (rolled_probe_code ^ gallery_code) & common
//! ```
//!
//! are counted per phi half: half 0 = cols 128..256, half 1 = cols 0..128, summed over rows and
//! filters. With `separate_half_matching` both half counts are doubled (open-iris multiplies each
//! half sum by 2) and every count below is the doubled one. A shift whose total common count is 0
//! is skipped. Otherwise its distance is
//!
//! ```text
//! nhd(ib, mb) = max(0, mean − (mean − ib / mb) · (gradient · mb + 0.5))          (normalized_HD)
//! normalise = false:           ib_total / mb_total
//! normalise, no half split:    nhd(ib_total, mb_total)
//! normalise, half split:       ( nhd(ib_total, mb_total)
//!                              + (n0 · mb0 + n1 · mb1) / mb_total ) / 2               (np.mean of 2)
//!     n0 = mb0 > 0 ? nhd(ib0, mb0) : mean
//!     n1 = mb0 > 0 ? nhd(ib1, mb1) : mean      (sic: open-iris guards half 1 with mb0)
//! ```
//!
//! evaluated in IEEE double in exactly that operation order. When `mb1 = 0 < mb0`, `ib1 / mb1` is
//! `0 / 0 = NaN` in numpy and Python's `max(0, NaN)` is 0; this code gives the same 0.
//! The best distance starts at 1 with shift 0 and a shift replaces it only if strictly smaller, so
//! ties keep the earliest shift and a pair whose every shift is skipped scores 1 at shift 0.
//!
//! The same matcher applies to world-v3 codes: [`CodeBits`] holds both in the same layout.

use super::{CodeBits, IrisCode, IrisCodeError};

/// Matcher parameters, named as open-iris names them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatcherParams {
    /// Largest rotation tried, in phi columns (1 column = 1.40625°).
    pub rotation_shift: u8,
    /// Use the normalised distance `normalized_HD` instead of the raw fraction.
    pub normalise: bool,
    /// `norm_mean`: the impostor mean the normalisation pulls towards, in `[0, 1]`.
    pub norm_mean: f64,
    /// `norm_gradient`: slope of the linear normalisation term per common mask bit.
    pub norm_gradient: f64,
    /// Score the two phi halves separately (only affects the normalised distance).
    pub separate_half_matching: bool,
}

impl MatcherParams {
    /// open-iris `HammingDistanceMatcher()` defaults.
    pub const OPENIRIS_DEFAULT: Self = Self { rotation_shift: 15, normalise: true, norm_mean: 0.45, norm_gradient: 0.00005, separate_half_matching: true };

    /// open-iris `SimpleHammingDistanceMatcher()` defaults (raw Hamming distance).
    pub const OPENIRIS_SIMPLE_DEFAULT: Self =
        Self { rotation_shift: 15, normalise: false, norm_mean: 0.45, norm_gradient: 0.00005, separate_half_matching: false };

    fn validate(&self) -> Result<(), IrisCodeError> {
        if !(0.0..=1.0).contains(&self.norm_mean) {
            return Err(IrisCodeError::MatcherParam { name: "norm_mean", value: self.norm_mean, reason: "must be a number in [0, 1]" });
        }
        if !self.norm_gradient.is_finite() {
            return Err(IrisCodeError::MatcherParam { name: "norm_gradient", value: self.norm_gradient, reason: "must be a finite number" });
        }
        Ok(())
    }
}

impl Default for MatcherParams {
    fn default() -> Self {
        Self::OPENIRIS_DEFAULT
    }
}

/// Terms of the normalised distance at one shift.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NormalisedTerms {
    /// `normalized_HD` of the total counts (doubled counts under half matching).
    pub total: f64,
    /// `[n0, n1]`, the per-half normalised distances, under half matching.
    pub halves: Option<[f64; 2]>,
}

/// Counts and distance at one shift.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShiftScore {
    /// Columns the probe was rolled by.
    pub shift: i32,
    /// Disagreeing bits under the common mask, per half `[cols 128..256, cols 0..128]`, not doubled.
    pub nonmatch_bits: [u32; 2],
    /// Common mask bits, per half `[cols 128..256, cols 0..128]`, not doubled.
    pub common_mask_bits: [u32; 2],
    /// The normalised terms, when normalising and the common mask is not empty.
    pub normalised: Option<NormalisedTerms>,
    /// The distance at this shift, or `None` when the common mask is empty (shift skipped).
    pub distance: Option<f64>,
}

impl ShiftScore {
    /// Disagreeing bits under the common mask, whole code.
    pub fn nonmatch_total(&self) -> u32 {
        self.nonmatch_bits[0] + self.nonmatch_bits[1]
    }

    /// Common mask bits, whole code.
    pub fn common_mask_total(&self) -> u32 {
        self.common_mask_bits[0] + self.common_mask_bits[1]
    }

    /// The raw Hamming distance `nonmatch / common`, or `None` when the common mask is empty.
    pub fn raw_hd(&self) -> Option<f64> {
        let mb = self.common_mask_total();
        (mb > 0).then(|| f64::from(self.nonmatch_total()) / f64::from(mb))
    }
}

/// The outcome of matching a probe against a gallery code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MatchResult {
    /// The smallest distance over all shifts (1 if no shift had a common mask bit).
    pub distance: f64,
    /// The shift that gave it (the earliest in the search order on ties).
    pub shift: i32,
    /// Disagreeing bits under the common mask at that shift (not doubled).
    pub nonmatch_bits: u32,
    /// Common mask bits at that shift (not doubled).
    pub common_mask_bits: u32,
}

/// open-iris `HammingDistanceMatcher` (no weights table).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HammingDistanceMatcher {
    params: MatcherParams,
}

impl Default for HammingDistanceMatcher {
    /// The open-iris defaults, [`MatcherParams::OPENIRIS_DEFAULT`].
    fn default() -> Self {
        Self { params: MatcherParams::OPENIRIS_DEFAULT }
    }
}

impl HammingDistanceMatcher {
    /// A matcher with `params`.
    ///
    /// # Errors
    /// [`IrisCodeError::MatcherParam`] if `norm_mean` is not in `[0, 1]` or `norm_gradient` is
    /// not finite (open-iris rejects the former too).
    pub fn new(params: MatcherParams) -> Result<Self, IrisCodeError> {
        params.validate()?;
        Ok(Self { params })
    }

    /// The parameters.
    pub fn params(&self) -> &MatcherParams {
        &self.params
    }

    /// The shifts tried, in order: `0, −1, +1, …, −R, +R`.
    pub fn shifts(&self) -> impl Iterator<Item = i32> {
        let r = i32::from(self.params.rotation_shift);
        std::iter::once(0).chain((1..=r).flat_map(|x| [-x, x]))
    }

    /// Counts and distance with the probe rolled by `shift` columns (any value; taken mod 256).
    pub fn score_shift(&self, probe: &IrisCode, gallery: &IrisCode, shift: i32) -> ShiftScore {
        let (nonmatch_bits, common_mask_bits) = count_bits(probe, gallery, shift);
        let (normalised, distance) = self.distance(nonmatch_bits, common_mask_bits);
        ShiftScore { shift, nonmatch_bits, common_mask_bits, normalised, distance }
    }

    /// Every shift's score, in search order (the per-shift trace of [`run`](Self::run)).
    pub fn trace(&self, probe: &IrisCode, gallery: &IrisCode) -> Vec<ShiftScore> {
        self.shifts().map(|s| self.score_shift(probe, gallery, s)).collect()
    }

    /// Matches `probe` against `gallery`: the minimum distance over the shifts.
    ///
    /// Not symmetric in general: the probe is the code that is rolled.
    pub fn run(&self, probe: &IrisCode, gallery: &IrisCode) -> MatchResult {
        let first = self.score_shift(probe, gallery, 0);
        let mut best = MatchResult { distance: 1.0, shift: 0, nonmatch_bits: first.nonmatch_total(), common_mask_bits: first.common_mask_total() };
        for score in std::iter::once(first).chain(self.shifts().skip(1).map(|s| self.score_shift(probe, gallery, s))) {
            if let Some(d) = score.distance {
                if d < best.distance {
                    best = MatchResult { distance: d, shift: score.shift, nonmatch_bits: score.nonmatch_total(), common_mask_bits: score.common_mask_total() };
                }
            }
        }
        best
    }

    /// Distance from per-half counts, as `hamming_distance` in open-iris `matcher/utils.py`.
    fn distance(&self, nonmatch: [u32; 2], common: [u32; 2]) -> (Option<NormalisedTerms>, Option<f64>) {
        let p = &self.params;
        let scale = if p.separate_half_matching { 2.0 } else { 1.0 };
        // Counts are < 2^15, so every value below is an exact integer in f64.
        let ib = [f64::from(nonmatch[0]) * scale, f64::from(nonmatch[1]) * scale];
        let mb = [f64::from(common[0]) * scale, f64::from(common[1]) * scale];
        let ib_total = ib[0] + ib[1];
        let mb_total = mb[0] + mb[1];
        if mb_total == 0.0 {
            return (None, None);
        }
        if !p.normalise {
            return (None, Some(ib_total / mb_total));
        }
        let total = normalized_hd(ib_total, mb_total, p.norm_mean, p.norm_gradient);
        if !p.separate_half_matching {
            return (Some(NormalisedTerms { total, halves: None }), Some(total));
        }
        let n0 = if mb[0] > 0.0 { normalized_hd(ib[0], mb[0], p.norm_mean, p.norm_gradient) } else { p.norm_mean };
        // open-iris checks totalmaskbitcount[0] here too.
        let n1 = if mb[0] > 0.0 { normalized_hd(ib[1], mb[1], p.norm_mean, p.norm_gradient) } else { p.norm_mean };
        let weighted = (n0 * mb[0] + n1 * mb[1]) / mb_total;
        let distance = (total + weighted) / 2.0;
        (Some(NormalisedTerms { total, halves: Some([n0, n1]) }), Some(distance))
    }
}

/// open-iris `SimpleHammingDistanceMatcher`: no half split, raw distance unless `normalise`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimpleHammingDistanceMatcher {
    inner: HammingDistanceMatcher,
}

impl Default for SimpleHammingDistanceMatcher {
    /// The open-iris defaults, [`MatcherParams::OPENIRIS_SIMPLE_DEFAULT`].
    fn default() -> Self {
        Self { inner: HammingDistanceMatcher { params: MatcherParams::OPENIRIS_SIMPLE_DEFAULT } }
    }
}

impl SimpleHammingDistanceMatcher {
    /// A matcher with open-iris's `SimpleHammingDistanceMatcher` parameters.
    ///
    /// # Errors
    /// As [`HammingDistanceMatcher::new`].
    pub fn new(rotation_shift: u8, normalise: bool, norm_mean: f64, norm_gradient: f64) -> Result<Self, IrisCodeError> {
        let inner = HammingDistanceMatcher::new(MatcherParams { rotation_shift, normalise, norm_mean, norm_gradient, separate_half_matching: false })?;
        Ok(Self { inner })
    }

    /// The parameters (`separate_half_matching` is always false).
    pub fn params(&self) -> &MatcherParams {
        self.inner.params()
    }

    /// Counts and distance at one shift, see [`HammingDistanceMatcher::score_shift`].
    pub fn score_shift(&self, probe: &IrisCode, gallery: &IrisCode, shift: i32) -> ShiftScore {
        self.inner.score_shift(probe, gallery, shift)
    }

    /// Matches `probe` against `gallery`, see [`HammingDistanceMatcher::run`].
    pub fn run(&self, probe: &IrisCode, gallery: &IrisCode) -> MatchResult {
        self.inner.run(probe, gallery)
    }
}

/// open-iris `normalized_HD`, same operation order; `max(0, NaN)` is 0 as in Python.
fn normalized_hd(ib: f64, mb: f64, mean: f64, gradient: f64) -> f64 {
    let v = mean - (mean - ib / mb) * (gradient * mb + 0.5);
    if v > 0.0 {
        v
    } else {
        0.0
    }
}

/// Rotates a 512-bit little-endian word run towards higher bit indices by `n < 512` bits:
/// output bit `b` = input bit `b − n mod 512`.
fn rotate_row(w: &[u64; CodeBits::WORDS_PER_ROW], n: usize) -> [u64; CodeBits::WORDS_PER_ROW] {
    const W: usize = CodeBits::WORDS_PER_ROW;
    let (q, t) = (n / 64 % W, n % 64);
    std::array::from_fn(|i| {
        let hi = w[(i + W - q) % W];
        if t == 0 {
            hi
        } else {
            (hi << t) | (w[(i + 2 * W - q - 1) % W] >> (64 - t))
        }
    })
}

/// Per-half `(nonmatch, common)` counts with the probe rolled by `shift` columns.
fn count_bits(probe: &IrisCode, gallery: &IrisCode, shift: i32) -> ([u32; 2], [u32; 2]) {
    // One column is two bits (re, im); the roll is mod 256 columns = 512 bits.
    let bits_per_row = (CodeBits::COLS * CodeBits::COMPONENTS) as i64;
    let n = (2 * i64::from(shift)).rem_euclid(bits_per_row) as usize;
    let half_words = CodeBits::WORDS_PER_ROW / 2;
    let mut nonmatch = [0u32; 2];
    let mut common = [0u32; 2];
    for filter in 0..CodeBits::FILTERS {
        for row in 0..CodeBits::ROWS {
            let pc = rotate_row(&probe.code().row_words(filter, row), n);
            let pm = rotate_row(&probe.mask().row_words(filter, row), n);
            let gc = gallery.code().row_words(filter, row);
            let gm = gallery.mask().row_words(filter, row);
            for w in 0..CodeBits::WORDS_PER_ROW {
                // Words 0..4 hold cols 0..128 (half 1), words 4..8 cols 128..256 (half 0).
                let half = usize::from(w < half_words);
                let m = pm[w] & gm[w];
                common[half] += m.count_ones();
                nonmatch[half] += ((pc[w] ^ gc[w]) & m).count_ones();
            }
        }
    }
    (nonmatch, common)
}

#[cfg(test)]
mod tests {
    use super::super::BitPos;
    use super::*;

    fn pattern(seed: u64) -> CodeBits {
        let mut x = seed;
        CodeBits::from_fn(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            !x.is_multiple_of(5)
        })
    }

    /// `np.roll(code, shift, axis=1)` on each (16, 256, 2) filter array, bit by bit.
    fn roll_naive(c: &CodeBits, shift: i32) -> CodeBits {
        CodeBits::from_fn(|pos| {
            let src = (pos.col() as i64 - i64::from(shift)).rem_euclid(256) as usize;
            c.get(BitPos::new(pos.plane(), pos.row(), src).unwrap())
        })
    }

    #[test]
    fn rotation_matches_np_roll() {
        let c = pattern(3);
        for shift in [0, 1, -1, 15, -15, 31, 32, -32, 100, 255, 256, -257, i32::MAX, i32::MIN] {
            let n = (2 * i64::from(shift)).rem_euclid(512) as usize;
            let rolled = roll_naive(&c, shift);
            for f in 0..2 {
                for r in 0..16 {
                    assert_eq!(rotate_row(&c.row_words(f, r), n), rolled.row_words(f, r), "shift {shift}");
                }
            }
        }
    }

    #[test]
    fn counts_match_naive_per_half() {
        let probe = IrisCode::new(pattern(11), pattern(12));
        let gallery = IrisCode::new(pattern(13), pattern(14));
        for shift in [-15, -2, 0, 7] {
            let rc = roll_naive(probe.code(), shift);
            let rm = roll_naive(probe.mask(), shift);
            let (mut ib, mut mb) = ([0u32; 2], [0u32; 2]);
            for pos in BitPos::all() {
                let half = usize::from(pos.col() < 128);
                if rm.get(pos) && gallery.mask_bit(pos) {
                    mb[half] += 1;
                    ib[half] += u32::from(rc.get(pos) != gallery.code_bit(pos));
                }
            }
            assert_eq!(count_bits(&probe, &gallery, shift), (ib, mb), "shift {shift}");
        }
    }

    #[test]
    fn shift_order() {
        let m = HammingDistanceMatcher::default();
        let s: Vec<i32> = m.shifts().collect();
        assert_eq!(s.len(), 31);
        assert_eq!(&s[..5], &[0, -1, 1, -2, 2]);
        assert_eq!(&s[29..], &[-15, 15]);
        let none = HammingDistanceMatcher::new(MatcherParams { rotation_shift: 0, ..MatcherParams::default() }).unwrap();
        assert_eq!(none.shifts().collect::<Vec<_>>(), vec![0]);
    }

    #[test]
    fn params_validated() {
        for bad in [-0.1, 1.5, f64::NAN] {
            let e = HammingDistanceMatcher::new(MatcherParams { norm_mean: bad, ..MatcherParams::default() });
            assert!(matches!(e, Err(IrisCodeError::MatcherParam { name: "norm_mean", .. })));
        }
        let e = SimpleHammingDistanceMatcher::new(15, true, 0.45, f64::INFINITY);
        assert!(matches!(e, Err(IrisCodeError::MatcherParam { name: "norm_gradient", .. })));
    }

    #[test]
    fn empty_common_mask_scores_one_at_shift_zero() {
        let a = IrisCode::new(pattern(1), CodeBits::zeros());
        let b = IrisCode::new(pattern(2), CodeBits::ones());
        for m in [HammingDistanceMatcher::default(), HammingDistanceMatcher::new(MatcherParams::OPENIRIS_SIMPLE_DEFAULT).unwrap()] {
            let r = m.run(&a, &b);
            assert_eq!(r, MatchResult { distance: 1.0, shift: 0, nonmatch_bits: 0, common_mask_bits: 0 });
            assert!(m.trace(&a, &b).iter().all(|s| s.distance.is_none() && s.normalised.is_none()));
            assert_eq!(m.run(&b, &a).distance, 1.0);
        }
    }

    #[test]
    fn identical_codes() {
        // A checkerboard mask: 4096 bits per half, 8192 once doubled, below the 10^4 at which
        // the normalisation term 5e-5·mb + 0.5 reaches 1 and clamps an exact match to 0.
        let a = IrisCode::new(pattern(5), CodeBits::from_fn(|p| (p.row() + p.col()) % 2 == 0));
        let raw = SimpleHammingDistanceMatcher::default().run(&a, &a);
        assert_eq!((raw.distance, raw.shift, raw.nonmatch_bits), (0.0, 0, 0));
        assert_eq!(raw.common_mask_bits, a.valid_bits());
        // Under the default normalisation an exact match scores > 0 when masks are sparse: the
        // terms are max(0, 0.45 − 0.45·(5e-5·mb + 0.5)) with mb the doubled count.
        let d = HammingDistanceMatcher::default().run(&a, &a);
        assert_eq!(d.shift, 0);
        let s = HammingDistanceMatcher::default().score_shift(&a, &a, 0);
        let mb = [2.0 * f64::from(s.common_mask_bits[0]), 2.0 * f64::from(s.common_mask_bits[1])];
        let h = |m: f64| (0.45 - 0.45 * (5e-5 * m + 0.5)).max(0.0);
        let want = (h(mb[0] + mb[1]) + (h(mb[0]) * mb[0] + h(mb[1]) * mb[1]) / (mb[0] + mb[1])) / 2.0;
        assert_eq!(d.distance, want);
        assert!(d.distance > 0.0);
    }

    #[test]
    fn half_one_guard_quirk() {
        // Probe mask only in cols 0..128 (half 1): mb0 = 0, so both half terms are norm_mean
        // even though half 1 has common bits.
        let mask = CodeBits::from_fn(|p| p.col() < 128);
        let a = IrisCode::new(CodeBits::zeros(), mask.clone());
        let b = IrisCode::new(CodeBits::zeros(), mask);
        let m = HammingDistanceMatcher::new(MatcherParams { rotation_shift: 0, ..MatcherParams::default() }).unwrap();
        let s = m.score_shift(&a, &b, 0);
        assert_eq!(s.common_mask_bits, [0, 8192]);
        let t = s.normalised.unwrap();
        assert_eq!(t.halves, Some([0.45, 0.45]));
        assert_eq!(s.distance, Some((t.total + 0.45) / 2.0));
        // Mask only in cols 128..256: mb1 = 0 < mb0 gives NaN in numpy, max(0, NaN) = 0.
        let mask = CodeBits::from_fn(|p| p.col() >= 128);
        let a = IrisCode::new(CodeBits::zeros(), mask);
        let s = m.score_shift(&a, &a, 0);
        assert_eq!(s.common_mask_bits, [8192, 0]);
        assert_eq!(s.normalised.unwrap().halves.unwrap()[1], 0.0);
        assert!(s.distance.unwrap().is_finite());
    }

    #[test]
    fn all_bits_differ_keeps_initial_one() {
        let a = IrisCode::new(CodeBits::zeros(), CodeBits::ones());
        let b = IrisCode::new(CodeBits::ones(), CodeBits::ones());
        let r = SimpleHammingDistanceMatcher::default().run(&a, &b);
        // Raw HD is exactly 1 at every shift, never strictly below the initial 1.
        assert_eq!((r.distance, r.shift), (1.0, 0));
    }
}
