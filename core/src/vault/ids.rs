//! Identifiers: the 128-bit ids of vaults, records and data keys.

use std::fmt;
use std::str::FromStr;

/// Length of vault, record and data-key ids.
pub const ID_LEN: usize = 16;

/// A vault's random 128-bit identifier (bound into every record's associated data).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VaultId(pub [u8; ID_LEN]);

impl fmt::Display for VaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for VaultId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VaultId({self})")
    }
}

/// A record's random 128-bit identifier, written as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub [u8; ID_LEN]);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

/// Error parsing a [`RecordId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record id must be 32 hex digits, got `{0}`")]
pub struct RecordIdParseError(pub String);

impl FromStr for RecordId {
    type Err = RecordIdParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = hex::decode(s.trim()).map_err(|_| RecordIdParseError(s.to_string()))?;
        let arr: [u8; ID_LEN] = raw.try_into().map_err(|_| RecordIdParseError(s.to_string()))?;
        Ok(RecordId(arr))
    }
}

impl RecordId {
    /// The record's file name in the vault directory: `<32 hex digits>.rec`.
    pub fn file_name(&self) -> String {
        format!("{self}.rec")
    }

    /// Parses a record file name back into an id.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let stem = name.strip_suffix(".rec")?;
        if stem.len() != 2 * ID_LEN || stem.bytes().any(|b| !matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        stem.parse().ok()
    }
}
