//! Store-to-load forwarding in the generated verifier.
//!
//! snark-verifier's EVM loader writes every intermediate value to memory and reads it back:
//! `mstore(0x2980, mulmod(mload(0x1a80), mload(0x1a80), f_q))`. Most of those values are read
//! exactly once (1,845 of world-v3's 3,044 words), so the store, the load and the memory word
//! are pure overhead: about 15 gas and 8 bytes of code each. [`inline_single_use`] replaces the
//! one `mload` of such a word by the expression that was stored, and drops the store.
//!
//! A word `X` is forwarded only when all of these hold, so the rewritten code computes exactly
//! what the generated code computes:
//!
//! - `X` is written once, by a top-level statement that is exactly `mstore(X, e)`, and read
//!   once, by an `mload(X)` in a later statement; no hash, precompile call or `mstore8` touches
//!   it.
//! - `e` is pure: literals, the field moduli `f_q`/`f_p` (declared before every statement, in
//!   every split part), and side-effect-free builtins (`mulmod`, `addmod`, `mload`,
//!   `calldataload`, …). Moving it later cannot change what it computes unless a word it reads
//!   changes in between, so:
//! - no word that `e` reads is written by the statements after the store, up to and including
//!   the statement with the load.
//! - the rewritten statement nests at most [`MAX_DEPTH`] calls deep. The legacy code generator
//!   keeps operands of every nesting level on the stack, and `f_q` must stay within reach of
//!   `DUP16`. Should solc still run out of stack, [`super::solc::Solc::compile_verifier`]
//!   compiles the verifier without forwarding ([`super::verifier::VerifierSource::without_forwarding`]).
//!
//! Calldata reads may move from one split part to a later one; the splitter shifts every
//! `calldataload` of a part by that part's memory image, so they still read the same bytes.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::error::VerifierError;
use super::yul::{calls, is_ident, literal, split_args};

/// Deepest call nesting a rewritten statement may have. Each level below the statement's own
/// call keeps up to two operands on the stack (for `mulmod(a, b, f_q)`: `f_q` and `b` while `a`
/// is computed), and the innermost call must still reach `f_q` with `DUP16`: 8 levels leave room
/// for a block's local variables; 12 fail to compile ("stack too deep") on world-v3.
pub const MAX_DEPTH: usize = 8;

/// Builtins without side effects whose result depends only on their arguments, memory and
/// calldata.
const PURE: &[&str] = &[
    "mulmod",
    "addmod",
    "mod",
    "add",
    "sub",
    "mul",
    "div",
    "mload",
    "calldataload",
    "lt",
    "gt",
    "eq",
    "iszero",
    "and",
    "or",
    "xor",
    "not",
    "shl",
    "shr",
    "byte",
];

/// Identifiers (other than builtins) an expression may use: declared before every statement.
const GLOBALS: &[&str] = &["f_q", "f_p"];

/// The result of [`inline_single_use`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Forwarding {
    /// The rewritten source.
    pub source: String,
    /// Stores removed (each with its one load).
    pub forwarded: usize,
}

/// Forwards single-use stored values into their loads (module documentation). `statements`
/// are the byte ranges in `source` of the runtime's top-level statements, in order.
#[cfg(test)]
pub fn inline_single_use(source: &str, statements: &[(usize, usize)]) -> Result<Forwarding, VerifierError> {
    inline_single_use_to_depth(source, statements, MAX_DEPTH)
}

/// [`inline_single_use`] with another nesting bound (tests use it to provoke "stack too deep").
pub fn inline_single_use_to_depth(source: &str, statements: &[(usize, usize)], max_depth: usize) -> Result<Forwarding, VerifierError> {
    let mut texts: Vec<String> = statements.iter().map(|&(s, e)| source[s..e].to_string()).collect();
    // Every memory write and read, per word, by statement.
    let mut writes: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut reads: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut ranged: HashSet<usize> = HashSet::new();
    for (i, t) in texts.iter().enumerate() {
        for call in calls(t)? {
            match call.name {
                "mstore" | "mstore8" => writes.entry(call.literal_arg(t, 0)?).or_default().push(i),
                "mload" => reads.entry(call.literal_arg(t, 0)?).or_default().push(i),
                "keccak256" | "staticcall" => {
                    let ranges: &[(usize, usize)] = if call.name == "keccak256" { &[(0, 1)] } else { &[(2, 3), (4, 5)] };
                    for &(a, l) in ranges {
                        let (off, len) = (call.literal_arg(t, a)?, call.literal_arg(t, l)?);
                        for w in (off / 32)..(off + len).div_ceil(32) {
                            ranged.insert(w * 32);
                        }
                        if call.name == "staticcall" && a == 4 {
                            for w in (off / 32)..(off + len).div_ceil(32) {
                                writes.entry(w * 32).or_default().push(i);
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // Candidate stores: `mstore(X, e)` statements whose word is written once and read once later.
    // (use statement, word) -> def statement; one statement may load several forwarded words.
    let mut defs: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (i, t) in texts.iter().enumerate() {
        let Some((x, _)) = whole_mstore(t) else { continue };
        let single = writes.get(&x).is_some_and(|w| w.len() == 1) && reads.get(&x).is_some_and(|r| r.len() == 1 && r[0] > i);
        if single && !ranged.contains(&x) {
            defs.insert((reads[&x][0], x), i);
        }
    }
    let mut forwarded = 0;
    let mut removed = vec![false; texts.len()];
    // Process uses in statement order, so a forwarded expression is itself final when it moves.
    for ((use_at, x), def_at) in defs {
        let Some((_, expr)) = whole_mstore(&texts[def_at]) else { continue };
        let expr = expr.to_string();
        if !is_pure(&expr)? {
            continue;
        }
        // Words the expression reads must not change between the store and the load.
        let inputs: Vec<usize> = calls(&expr)?.iter().filter(|c| c.name == "mload").map(|c| c.literal_arg(&expr, 0)).collect::<Result<_, _>>()?;
        let clobbered = inputs.iter().any(|w| writes.get(w).is_some_and(|ws| ws.iter().any(|&s| s > def_at && s <= use_at)));
        if clobbered {
            continue;
        }
        let pattern = format!("mload({})", literal_text(&texts[use_at], x)?);
        let Some(at) = texts[use_at].find(&pattern) else { continue };
        let mut rewritten = texts[use_at].clone();
        rewritten.replace_range(at..at + pattern.len(), &expr);
        if depth(&rewritten) > max_depth {
            continue;
        }
        texts[use_at] = rewritten;
        removed[def_at] = true;
        forwarded += 1;
    }
    let mut out = source.to_string();
    for (i, &(s, e)) in statements.iter().enumerate().rev() {
        let text = if removed[i] { "" } else { texts[i].as_str() };
        out.replace_range(s..e, text);
    }
    Ok(Forwarding { source: out, forwarded })
}

/// `Some((X, e))` if the statement is exactly `mstore(X, e)` with a literal `X`.
fn whole_mstore(statement: &str) -> Option<(usize, &str)> {
    let t = statement.trim();
    if !t.starts_with("mstore(") {
        return None;
    }
    let args = split_args(t, "mstore".len())?;
    if args.len() != 2 || args[1].1 + 1 != t.len() {
        return None;
    }
    Some((literal(&t[args[0].0..args[0].1])?, t[args[1].0..args[1].1].trim()))
}

/// Whether an expression only uses literals, [`GLOBALS`] and [`PURE`] builtins.
fn is_pure(expr: &str) -> Result<bool, VerifierError> {
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            // A literal (decimal or 0x…): skip it whole.
            i += bytes[i..].iter().take_while(|&&c| c.is_ascii_alphanumeric()).count();
        } else if is_ident(c) {
            let end = i + bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
            let name = &expr[i..end];
            let ok = if bytes.get(end) == Some(&b'(') { PURE.contains(&name) } else { GLOBALS.contains(&name) };
            if !ok {
                return Ok(false);
            }
            i = end;
        } else if matches!(c, b'(' | b')' | b',' | b' ' | b'\n' | b'\t' | b'\r') {
            i += 1;
        } else {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The deepest call nesting in a statement.
fn depth(text: &str) -> usize {
    let (mut d, mut max) = (0usize, 0usize);
    for c in text.bytes() {
        match c {
            b'(' => {
                d += 1;
                max = max.max(d);
            }
            b')' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// How the statement spells the address `x` inside `mload(…)` (hex or decimal).
fn literal_text(text: &str, x: usize) -> Result<String, VerifierError> {
    for call in calls(text)? {
        if call.name == "mload" {
            let (s, e) = call.args[0];
            if literal(&text[s..e]) == Some(x) {
                return Ok(text[s..e].trim().to_string());
            }
        }
    }
    Err(VerifierError::UnexpectedShape("a load disappeared while forwarding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lines: &[&str]) -> (Vec<String>, usize) {
        let src = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
        let mut spans = Vec::new();
        let mut at = 0;
        for l in lines {
            spans.push((at, at + l.len() + 1));
            at += l.len() + 1;
        }
        let f = inline_single_use(&src, &spans).unwrap();
        (f.source.lines().map(str::to_string).collect(), f.forwarded)
    }

    #[test]
    fn a_value_read_once_moves_into_its_load() {
        let (out, n) = run(&[
            "mstore(0x100, mulmod(mload(0xa0), mload(0xc0), f_q))",
            "mstore(0x120, addmod(mload(0x100), 1, f_q))",
            "mstore(0x140, mload(0x120))",
            "mstore(0x160, mload(0x140))",
            "mstore(0x180, mload(0x160))",
        ]);
        assert_eq!(n, 4);
        assert_eq!(out, ["mstore(0x180, addmod(mulmod(mload(0xa0), mload(0xc0), f_q), 1, f_q))"]);
    }

    #[test]
    fn two_values_loaded_by_one_statement_both_move() {
        let (out, n) = run(&[
            "mstore(0x100, mulmod(mload(0xa0), 2, f_q))",
            "mstore(0x120, addmod(mload(0xc0), 3, f_q))",
            "mstore(0x140, mulmod(mload(0x100), mload(0x120), f_q))",
        ]);
        assert_eq!(n, 2);
        assert_eq!(out, ["mstore(0x140, mulmod(mulmod(mload(0xa0), 2, f_q), addmod(mload(0xc0), 3, f_q), f_q))"]);
    }

    #[test]
    fn values_read_twice_stay() {
        let (out, n) = run(&["mstore(0x100, mulmod(mload(0xa0), 2, f_q))", "mstore(0x120, mload(0x100))", "mstore(0x140, mload(0x100))"]);
        assert_eq!(n, 0);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn a_clobbered_input_blocks_forwarding() {
        // 0x100 = f(0xa0); 0xa0 is overwritten before 0x100 is read: the value must stay stored.
        let (out, n) = run(&["mstore(0x100, mulmod(mload(0xa0), 2, f_q))", "mstore(0xa0, 5)", "mstore(0x120, mload(0x100))"]);
        assert_eq!(n, 0, "{out:?}");
        // The same through a precompile's output range.
        let (_, n) = run(&[
            "mstore(0x100, mulmod(mload(0xa0), 2, f_q))",
            "success := and(eq(staticcall(gas(), 0x7, 0x80, 0x60, 0x80, 0x40), 1), success)",
            "mstore(0x120, mload(0x100))",
        ]);
        assert_eq!(n, 0);
    }

    #[test]
    fn impure_or_local_expressions_stay() {
        for def in
            ["mstore(0x100, x)", "mstore(0x100, keccak256(0x80, 0x40))", "mstore(0x100, staticcall(gas(), 0x7, 0x0, 0x0, 0x0, 0x0))", "mstore(0x100, gas())"]
        {
            let (_, n) = run(&[def, "mstore(0x120, mload(0x100))"]);
            assert_eq!(n, 0, "{def}");
        }
    }

    #[test]
    fn words_in_ranges_stay() {
        let (_, n) = run(&["mstore(0x100, 1)", "mstore(0x200, keccak256(0x100, 0x20))", "mstore(0x120, mload(0x100))"]);
        assert_eq!(n, 0);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut lines = vec!["mstore(0x100, calldataload(0x0))".to_string()];
        for i in 1..20 {
            lines.push(format!("mstore({:#x}, addmod(mload({:#x}), 1, f_q))", 0x100 + 32 * i, 0x100 + 32 * (i - 1)));
        }
        lines.push(format!("mstore(0x2000, mload({:#x}))", 0x100 + 32 * 19));
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let (out, n) = run(&refs);
        assert!(n > 0);
        assert!(out.iter().all(|l| depth(l) <= MAX_DEPTH), "{out:#?}");
    }
}
