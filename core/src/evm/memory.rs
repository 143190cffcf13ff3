//! Memory compaction of the generated verifier.
//!
//! snark-verifier's EVM loader gives every intermediate value of the verifier its own memory
//! word and never reuses one, so the world-v3 verifier touches about 97 KB of memory. EVM memory
//! is priced quadratically (`3·w + w²/512` gas for `w` words), and a split verifier hands its
//! whole memory image from part to part ([`super::verifier`]), so each later part pays for that
//! expansion again. Most of those words are dead long before the end: a value is written, read
//! by the next few statements, and never touched again.
//!
//! [`compact`] reallocates the memory of the straight-line runtime code the way a register
//! allocator would:
//!
//! 1. Every memory access of the runtime is found — `mload`, `mstore`, `mstore8`, `keccak256`
//!    and the input and output ranges of `staticcall` — and each must have a literal address
//!    (the generated code has no loops or computed addresses). Any other memory-touching
//!    builtin, a computed address or an unaligned range makes [`compact`] refuse the code.
//! 2. Words read or written together by one range (a transcript hash, a precompile's input or
//!    output) are merged into a *block* that moves as a unit, so every range stays contiguous.
//! 3. A block is placed when the first top-level statement that touches it runs, and each of
//!    its words stays taken until the last statement that touches that word. A block whose
//!    first touch reads it (it relies on fresh memory being zero) is placed before everything
//!    else, in memory nothing has used.
//! 4. Blocks are placed first-fit at the lowest address whose words are all free, from `0x80`
//!    up; a word is free for a block whose first statement comes after the word's last one.
//!    Words below `0x80` (Solidity's scratch space and free-memory pointer) never move.
//!
//! Each statement therefore reads exactly the values it read before, at other addresses: the
//! compacted verifier computes what the generated one computes. The EVM tests run both on the
//! same valid and tampered proofs.

use std::collections::BTreeMap;

use super::error::VerifierError;
use super::yul;

/// The result of [`compact`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compaction {
    /// The rewritten Solidity source.
    pub source: String,
    /// Bytes of memory the runtime touched before (highest address + 1, rounded to words).
    pub memory_before: usize,
    /// Bytes of memory it touches after compaction.
    pub memory_after: usize,
}

/// First word that may move (`0x80`: words below it are Solidity's reserved slots).
const FIRST_MOVABLE_WORD: usize = 4;

/// Builtins that touch memory in ways this pass does not model: code using them is refused.
const UNMODELLED: &[&str] = &[
    "mcopy",
    "msize",
    "calldatacopy",
    "codecopy",
    "extcodecopy",
    "returndatacopy",
    "log0",
    "log1",
    "log2",
    "log3",
    "log4",
    "call",
    "callcode",
    "delegatecall",
    "create",
    "create2",
    "return",
    "revert",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Reads the range.
    Read,
    /// Overwrites every byte of the range.
    Write,
    /// Writes part of a word (`mstore8`): its other bytes keep their old value.
    Partial,
}

/// One address literal in the source and the byte range it starts.
#[derive(Clone, Debug)]
struct Access {
    /// Byte span of the address literal in the source.
    literal: (usize, usize),
    /// Address.
    offset: usize,
    /// Length in bytes.
    len: usize,
    kind: Kind,
    /// Index of the top-level statement.
    statement: usize,
}

/// Compacts the memory of a rendered verifier (module documentation).
///
/// `statements` are the byte ranges in `source` of the runtime's top-level statements, in
/// order, as the splitter finds them; code outside them (the prelude, the final success check)
/// is left alone.
pub fn compact(source: &str, statements: &[(usize, usize)]) -> Result<Compaction, VerifierError> {
    let mut accesses = Vec::new();
    for (idx, &(start, end)) in statements.iter().enumerate() {
        scan_statement(source, start, end, idx, &mut accesses)?;
    }
    // Words and blocks.
    let word_ranges: Vec<(usize, usize)> = accesses
        .iter()
        .filter(|a| a.len > 0)
        .map(|a| {
            if a.offset % 32 != 0 {
                return Err(VerifierError::UnexpectedShape("a memory access is not word-aligned"));
            }
            Ok((a.offset / 32, (a.offset + a.len).div_ceil(32)))
        })
        .collect::<Result<_, _>>()?;
    let memory_before = 32 * word_ranges.iter().map(|r| r.1).max().unwrap_or(0);
    let blocks = merge_blocks(&word_ranges)?;
    // Liveness per block, from the first and last statement touching it.
    let mut first: Vec<Option<usize>> = vec![None; blocks.len()];
    let mut needs_zero = vec![false; blocks.len()];
    // First statement touching each word, and whether that statement reads it.
    let mut word_first: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
    for (a, &(lo, hi)) in accesses.iter().filter(|a| a.len > 0).zip(&word_ranges) {
        let b = block_of(&blocks, lo);
        first[b] = Some(first[b].map_or(a.statement, |f| f.min(a.statement)));
        for w in lo..hi {
            let reads = a.kind != Kind::Write;
            let e = word_first.entry(w).or_insert((a.statement, reads));
            if e.0 == a.statement {
                e.1 |= reads;
            }
        }
    }
    for (&w, &(_, reads)) in &word_first {
        if reads {
            needs_zero[block_of(&blocks, w)] = true;
        }
    }
    // Linear-scan allocation, first fit from the bottom, one memory word at a time: a word of a
    // block is taken from the block's first statement until the last statement that touches
    // that word (a long-lived word does not keep its dead neighbours).
    let mut word_last: BTreeMap<usize, usize> = BTreeMap::new();
    for (a, &(lo, hi)) in accesses.iter().filter(|a| a.len > 0).zip(&word_ranges) {
        for w in lo..hi {
            let e = word_last.entry(w).or_insert(a.statement);
            *e = (*e).max(a.statement);
        }
    }
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    let start_of = |b: usize| if needs_zero[b] { 0 } else { first[b].unwrap_or(0) };
    order.sort_by_key(|&b| (start_of(b), blocks[b].0));
    let mut base = vec![0usize; blocks.len()];
    // Per memory word from FIRST_MOVABLE_WORD: the last statement of its current occupant, or
    // `None` if nothing has used it yet (still zero).
    let mut busy: Vec<Option<usize>> = Vec::new();
    for &b in &order {
        let (lo, hi) = blocks[b];
        if hi <= FIRST_MOVABLE_WORD {
            base[b] = lo; // pinned
            continue;
        }
        let s = start_of(b);
        let free = |slot: Option<&Option<usize>>| match slot {
            None | Some(None) => true,
            Some(Some(end)) => *end < s && !needs_zero[b],
        };
        let size = hi - lo;
        let mut at = 0;
        while !(at..at + size).all(|i| free(busy.get(i))) {
            at += 1;
        }
        if busy.len() < at + size {
            busy.resize(at + size, None);
        }
        for (i, w) in (lo..hi).enumerate() {
            busy[at + i] = Some(word_last.get(&w).copied().unwrap_or(s).max(s));
        }
        base[b] = FIRST_MOVABLE_WORD + at;
    }
    let top = FIRST_MOVABLE_WORD + busy.len();
    // Rewrite the address literals, from the end so earlier spans stay valid.
    let mut out = source.to_string();
    let mut edits: Vec<(usize, usize, String)> = accesses
        .iter()
        .filter(|a| a.len > 0)
        .map(|a| {
            let w = a.offset / 32;
            let b = block_of(&blocks, w);
            let new = 32 * (base[b] + (w - blocks[b].0));
            (a.literal.0, a.literal.1, format!("{new:#x}"))
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    for (s, e, text) in edits {
        out.replace_range(s..e, &text);
    }
    let pinned_top = blocks.iter().filter(|b| b.1 <= FIRST_MOVABLE_WORD).map(|b| b.1).max().unwrap_or(0);
    Ok(Compaction { source: out, memory_before, memory_after: 32 * top.max(pinned_top) })
}

/// Merges word ranges into blocks: overlapping multi-word ranges become one contiguous block,
/// every other word is a block of its own. Returned sorted by first word, disjoint.
fn merge_blocks(ranges: &[(usize, usize)]) -> Result<Vec<(usize, usize)>, VerifierError> {
    let mut spans: Vec<(usize, usize)> = ranges.to_vec();
    spans.sort_unstable();
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    for (lo, hi) in spans {
        match blocks.last_mut() {
            Some(last) if lo < last.1 => last.1 = last.1.max(hi),
            _ => blocks.push((lo, hi)),
        }
    }
    if blocks.iter().any(|&(lo, hi)| lo < FIRST_MOVABLE_WORD && hi > FIRST_MOVABLE_WORD) {
        return Err(VerifierError::UnexpectedShape("a memory range crosses 0x80"));
    }
    Ok(blocks)
}

/// The block holding word `w` (blocks sorted and disjoint; `w` is in one by construction).
fn block_of(blocks: &[(usize, usize)], w: usize) -> usize {
    blocks.partition_point(|b| b.1 <= w)
}

/// Finds every memory access in `source[start..end]` (statement `idx`).
fn scan_statement(source: &str, start: usize, end: usize, idx: usize, out: &mut Vec<Access>) -> Result<(), VerifierError> {
    let text = &source[start..end];
    for call in yul::calls(text)? {
        let specs: &[(usize, Option<usize>, Kind)] = match call.name {
            "mload" => &[(0, None, Kind::Read)],
            "mstore" => &[(0, None, Kind::Write)],
            "mstore8" => &[(0, None, Kind::Partial)],
            "keccak256" => &[(0, Some(1), Kind::Read)],
            "staticcall" => &[(2, Some(3), Kind::Read), (4, Some(5), Kind::Write)],
            n if UNMODELLED.contains(&n) => return Err(VerifierError::UnexpectedShape("the runtime uses a memory builtin the compaction does not model")),
            _ => continue,
        };
        for &(at, len_at, kind) in specs {
            let offset = call.literal_arg(text, at)?;
            let len = match len_at {
                None if kind == Kind::Partial => 1,
                None => 32,
                Some(l) => call.literal_arg(text, l)?,
            };
            let (s, e) = call.trimmed_arg(text, at).ok_or(VerifierError::UnexpectedShape("a memory builtin has too few arguments"))?;
            out.push(Access { literal: (start + s, start + e), offset, len, kind, statement: idx });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compacts a runtime given as one statement per line.
    fn run(lines: &[&str]) -> Compaction {
        let src = lines.join("\n");
        let mut spans = Vec::new();
        let mut at = 0;
        for l in lines {
            spans.push((at, at + l.len()));
            at += l.len() + 1;
        }
        compact(&src, &spans).unwrap()
    }

    #[test]
    fn dead_words_are_reused() {
        let c = run(&[
            "mstore(0x1000, 1)",
            "mstore(0x2000, mload(0x1000))", // 0x1000 dies here
            "mstore(0x3000, mload(0x2000))", // may reuse 0x1000's word
            "mstore(0x3020, mload(0x3000))",
        ]);
        assert_eq!(
            c.source.lines().collect::<Vec<_>>(),
            ["mstore(0x80, 1)", "mstore(0xa0, mload(0x80))", "mstore(0x80, mload(0xa0))", "mstore(0xa0, mload(0x80))"]
        );
        assert_eq!((c.memory_before, c.memory_after), (0x3040, 0xc0));
    }

    #[test]
    fn a_word_used_within_one_statement_never_shares_it() {
        // The write and the read are in one statement: the two words must stay apart.
        let c = run(&["mstore(0x1000, 7)", "mstore(0x2000, mload(0x1000))", "mload(0x2000)"]);
        let lines: Vec<&str> = c.source.lines().collect();
        assert_eq!(lines[1], "mstore(0xa0, mload(0x80))");
    }

    #[test]
    fn ranges_stay_contiguous_and_ordered() {
        let c = run(&[
            "mstore(0x5000, 9)",
            "mstore(0x1000, 1)",
            "mstore(0x1020, 2)",
            "success := and(eq(staticcall(gas(), 0x7, 0x1000, 0x60, 0x1000, 0x40), 1), success)",
            "mstore(0x1040, mload(0x5000))",
            "mstore(0x9000, keccak256(0x1000, 0x60))",
        ]);
        let lines: Vec<&str> = c.source.lines().collect();
        // The three words of [0x1000, 0x1060) move together, in order. The precompile reads
        // 0x1040 before anything writes it (fresh memory is zero), so the block is live from the
        // start and is placed first.
        assert_eq!(lines[1], "mstore(0x80, 1)");
        assert_eq!(lines[2], "mstore(0xa0, 2)");
        assert!(lines[3].contains("staticcall(gas(), 0x7, 0x80, 0x60, 0x80, 0x40)"), "{}", lines[3]);
        assert_eq!(lines[0], "mstore(0xe0, 9)");
        assert_eq!(lines[4], "mstore(0xc0, mload(0xe0))");
        // 0x5000 is dead after statement 4: the hash's output takes its word.
        assert_eq!(lines[5], "mstore(0xe0, keccak256(0x80, 0x60))");
    }

    #[test]
    fn words_read_before_written_get_fresh_zero_memory() {
        let c = run(&[
            "mstore(0x1000, 5)",
            "mstore(0x2000, mload(0x1000))", // 0x1000 dead after this
            "mstore8(0x3000, 1)",            // partial write: the rest of the word must be zero
            "mstore(0x4000, keccak256(0x3000, 33))",
        ]);
        let lines: Vec<&str> = c.source.lines().collect();
        // 0x3000 and its neighbour are live from the start, so they do not take 0x1000's word.
        assert_ne!(lines[2], "mstore8(0x80, 1)");
        let at = lines[2].trim_start_matches("mstore8(").split(',').next().unwrap();
        assert!(lines[3].contains(&format!("keccak256({at}, 33)")));
    }

    #[test]
    fn words_below_0x80_stay() {
        let c = run(&["mstore(0x0, 1)", "mstore(0x20, mload(0x0))", "mstore(0x1000, mload(0x20))"]);
        assert_eq!(c.source.lines().collect::<Vec<_>>(), ["mstore(0x0, 1)", "mstore(0x20, mload(0x0))", "mstore(0x80, mload(0x20))"]);
    }

    #[test]
    fn decimal_literals_are_read() {
        let c = run(&["mstore(4096, 1)", "mstore(69920, mload(4096))"]);
        assert_eq!(c.source.lines().collect::<Vec<_>>(), ["mstore(0x80, 1)", "mstore(0xa0, mload(0x80))"]);
    }

    #[test]
    fn unmodelled_code_is_refused() {
        for bad in ["mstore(add(0x20, 0x20), 1)", "mstore(0x1010, 1)", "calldatacopy(0x100, 0, 32)", "mstore(0x40, msize())", "let x := mload(y)"] {
            let r = compact(bad, &[(0, bad.len())]);
            assert!(matches!(r, Err(VerifierError::UnexpectedShape(_))), "{bad}: {r:?}");
        }
        let crossing = "mstore(0x1000, keccak256(0x60, 0x40))";
        assert!(compact(crossing, &[(0, crossing.len())]).is_err());
    }
}
