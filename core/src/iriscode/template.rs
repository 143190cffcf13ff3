//! The JSON iris template the CLI reads and writes.
//!
//! ```json
//! {
//!   "model_id": "<64 hex chars: the model that derived the code>",
//!   "code_layout": "openiris" | "world-v3",
//!   "iris_codes": "<2732 base64 chars>",
//!   "mask_codes": "<2732 base64 chars>",
//!   "valid_bits": 11904
//! }
//! ```
//!
//! `iris_codes` / `mask_codes` are [`CodeBits::to_base64`] in `code_layout`; with
//! `"openiris"` they are exactly open-iris `IrisTemplate.serialize()`'s strings. `valid_bits`
//! is the popcount of the mask and is checked when the template is decoded. Unknown fields are
//! rejected.

use serde::{Deserialize, Serialize};

use super::{CodeBits, CodeLayout, IrisCode, IrisCodeError};

/// A serialized iris code with the model that produced it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IrisTemplate {
    /// Id of the model that derived the code (`sha256(onnx || canonical_json(rules))`), hex in JSON.
    #[serde(with = "hex_id")]
    pub model_id: [u8; 32],
    /// Layout of `iris_codes` and `mask_codes`.
    pub code_layout: CodeLayout,
    /// Base64 of the packed iris code.
    pub iris_codes: String,
    /// Base64 of the packed mask code.
    pub mask_codes: String,
    /// Number of set mask bits.
    pub valid_bits: u32,
}

impl IrisTemplate {
    /// Serializes `code`, derived by model `model_id`, in `layout`.
    pub fn new(model_id: [u8; 32], code: &IrisCode, layout: CodeLayout) -> Self {
        let (iris_codes, mask_codes) = code.to_base64(layout);
        Self { model_id, code_layout: layout, iris_codes, mask_codes, valid_bits: code.valid_bits() }
    }

    /// Decodes the code and checks `valid_bits`.
    ///
    /// # Errors
    /// [`IrisCodeError::Field`] if a code string does not parse, and
    /// [`IrisCodeError::ValidBitsMismatch`] if `valid_bits` is not the mask's popcount.
    pub fn decode(&self) -> Result<IrisCode, IrisCodeError> {
        let code = IrisCode::new(
            CodeBits::from_base64(&self.iris_codes, self.code_layout).map_err(|e| e.in_field("iris_codes"))?,
            CodeBits::from_base64(&self.mask_codes, self.code_layout).map_err(|e| e.in_field("mask_codes"))?,
        );
        let actual = code.valid_bits();
        if actual != self.valid_bits {
            return Err(IrisCodeError::ValidBitsMismatch { declared: self.valid_bits, actual });
        }
        Ok(code)
    }

    /// Parses template JSON (the shape only; call [`decode`](Self::decode) for the bits).
    ///
    /// # Errors
    /// [`IrisCodeError::TemplateJson`] on malformed JSON, a missing or unknown field, a
    /// `model_id` that is not 64 hex characters, or an unknown `code_layout`.
    pub fn from_json(json: &str) -> Result<Self, IrisCodeError> {
        serde_json::from_str(json).map_err(|source| IrisCodeError::TemplateJson { source })
    }

    /// Pretty-printed template JSON.
    pub fn to_json(&self) -> String {
        // Only strings, an integer and a unit enum: serde_json cannot fail on them, but keep
        // the fallback total rather than panicking.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// `[u8; 32]` as a 64-character hex string.
mod hex_id {
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(id: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(id))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(|e| D::Error::custom(format!("model_id must be 64 hex characters (32 bytes): {e}")))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> IrisCode {
        IrisCode::new(CodeBits::from_fn(|p| (p.row() * 7 + p.col() * 3 + p.plane()) % 5 < 2), CodeBits::from_fn(|p| p.col() % 9 != 0))
    }

    #[test]
    fn json_round_trip_both_layouts() {
        let c = code();
        for layout in [CodeLayout::Openiris, CodeLayout::WorldV3] {
            let t = IrisTemplate::new([0xab; 32], &c, layout);
            assert_eq!(t.valid_bits, c.valid_bits());
            let json = t.to_json();
            assert!(json.contains(&"ab".repeat(32)), "{json}");
            let back = IrisTemplate::from_json(&json).unwrap();
            assert_eq!(back, t);
            assert_eq!(back.decode().unwrap(), c);
        }
        let v: serde_json::Value = serde_json::from_str(&IrisTemplate::new([1; 32], &c, CodeLayout::WorldV3).to_json()).unwrap();
        assert_eq!(v["code_layout"], "world-v3");
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys.len(), 5);
    }

    #[test]
    fn rejects_bad_templates() {
        let c = code();
        let t = IrisTemplate::new([7; 32], &c, CodeLayout::Openiris);

        let mut wrong_count = t.clone();
        wrong_count.valid_bits += 1;
        assert!(matches!(
            wrong_count.decode(),
            Err(IrisCodeError::ValidBitsMismatch { declared, actual }) if declared == actual + 1
        ));

        // Decoding with the other layout scrambles bits but keeps the popcount; the
        // code must differ, which is why the layout is part of the template.
        let mut other = t.clone();
        other.code_layout = CodeLayout::WorldV3;
        assert_ne!(other.decode().unwrap(), c);

        let mut bad_b64 = t.clone();
        bad_b64.iris_codes.pop();
        assert!(matches!(bad_b64.decode(), Err(IrisCodeError::Field { field: "iris_codes", .. })));

        let json = t.to_json();
        let short_id = json.replace(&"07".repeat(32), &"07".repeat(31));
        assert!(matches!(IrisTemplate::from_json(&short_id), Err(IrisCodeError::TemplateJson { .. })));
        let bad_layout = json.replace("\"openiris\"", "\"open-iris\"");
        assert!(matches!(IrisTemplate::from_json(&bad_layout), Err(IrisCodeError::TemplateJson { .. })));
        let extra = json.replacen('{', "{\"extra\": 1,", 1);
        assert!(matches!(IrisTemplate::from_json(&extra), Err(IrisCodeError::TemplateJson { .. })));
        assert!(IrisTemplate::from_json(&json).is_ok());
    }
}
