//! What the vault lists about a record: the public [`RecordSummary`].

use std::collections::BTreeMap;

use super::ids::RecordId;
use crate::attest::DeviceId;
use crate::commitment::Commitment;

/// What the vault lists about a record: no biometric secrets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordSummary {
    /// The record id.
    pub id: RecordId,
    /// The enrollment commitment `C` (public: it is registered on chain).
    pub commitment: Commitment,
    /// The enrollment device that signed `C`.
    pub device: DeviceId,
    /// When the enrollment was created, in seconds since the Unix epoch.
    pub created_unix: u64,
    /// Image rows.
    pub height: u32,
    /// Image columns.
    pub width: u32,
    /// Free-form metadata.
    pub metadata: BTreeMap<String, String>,
}
