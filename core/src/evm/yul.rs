//! Just enough Yul scanning for the rewrites of the generated verifier ([`super::inline`],
//! [`super::memory`]): find builtin calls and their argument spans, read number literals.
//!
//! The generated code is plain: calls of builtins and two functions, literals, a few names. No
//! strings or comments appear inside statements, so parentheses and commas can be matched
//! without a full parser.

use super::error::VerifierError;

/// A call `name(…)` found in a text: its name and the byte spans of its top-level arguments.
pub(crate) struct Call<'a> {
    /// The called name.
    pub name: &'a str,
    /// Argument spans (untrimmed) in the scanned text.
    pub args: Vec<(usize, usize)>,
}

impl Call<'_> {
    /// Argument `i` of the call as a number literal.
    pub fn literal_arg(&self, text: &str, i: usize) -> Result<usize, VerifierError> {
        let &(s, e) = self.args.get(i).ok_or(VerifierError::UnexpectedShape("a memory builtin has too few arguments"))?;
        literal(&text[s..e]).ok_or(VerifierError::UnexpectedShape("a memory address or length is not a literal"))
    }

    /// The span of argument `i` without surrounding whitespace.
    pub fn trimmed_arg(&self, text: &str, i: usize) -> Option<(usize, usize)> {
        let &(s, e) = self.args.get(i)?;
        let lead = text[s..e].len() - text[s..e].trim_start().len();
        Some((s + lead, s + lead + text[s..e].trim().len()))
    }
}

/// Every call `name(…)` in `text`, nested ones included, in the order they start.
pub(crate) fn calls(text: &str) -> Result<Vec<Call<'_>>, VerifierError> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !is_ident(bytes[i]) || (i > 0 && is_ident(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let end = i + bytes[i..].iter().take_while(|&&c| is_ident(c)).count();
        if bytes.get(end) == Some(&b'(') {
            let args = split_args(text, end).ok_or(VerifierError::UnexpectedShape("unbalanced call in the runtime"))?;
            out.push(Call { name: &text[i..end], args });
        }
        i = end;
    }
    Ok(out)
}

/// Whether `c` can be part of a Yul identifier or number.
pub(crate) fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// The byte ranges of the top-level arguments of the call whose `(` is at `open`.
pub(crate) fn split_args(text: &str, open: usize) -> Option<Vec<(usize, usize)>> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut args = Vec::new();
    let mut start = open + 1;
    for (j, &c) in bytes.iter().enumerate().skip(open) {
        match c {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    args.push((start, j));
                    return Some(args);
                }
            }
            b',' if depth == 1 => {
                args.push((start, j));
                start = j + 1;
            }
            _ => {}
        }
    }
    None
}

/// A Yul number literal (hex or decimal) that fits a `usize`.
pub(crate) fn literal(s: &str) -> Option<usize> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x") {
        usize::from_str_radix(h, 16).ok()
    } else if !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_and_arguments() {
        let t = "mstore(0x40, mulmod(mload(64), x, f_q))";
        let c = calls(t).unwrap();
        assert_eq!(c.iter().map(|c| c.name).collect::<Vec<_>>(), ["mstore", "mulmod", "mload"]);
        assert_eq!(c[0].literal_arg(t, 0).unwrap(), 0x40);
        assert_eq!(c[2].literal_arg(t, 0).unwrap(), 64);
        assert!(c[1].literal_arg(t, 1).is_err());
        assert_eq!(c[1].trimmed_arg(t, 2).map(|(s, e)| &t[s..e]), Some("f_q"));
        assert!(calls("mstore(0x40, 1").is_err());
        assert_eq!(literal("0x"), None);
        assert_eq!(literal(" 12 "), Some(12));
    }
}
