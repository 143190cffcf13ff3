//! Unit tests of the vault internals: parser fuzzing (proptest) over the frame, the index
//! header, the record header and the decrypted payload decoders. Behavioural tests are in
//! `core/tests/vault_*.rs`.

use proptest::prelude::*;

use super::format::{self, IndexHeader, Reader};
use super::record::{self, tests::sample_record, RecordBinding};
use super::*;

#[test]
fn vault_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Vault>();
    assert_send_sync::<Arc<dyn KeyProvider>>();
}

fn valid_index() -> Vec<u8> {
    let header = IndexHeader {
        vault_id: VaultId([1; 16]),
        generation: 3,
        created_unix: 1_700_000_000,
        key_id: "k".into(),
        kdf: Some(KdfParams { cost: KdfCost::MINIMUM, salt: [2; 16] }),
        wrapped_dek: vec![3; 73],
    };
    let rec = sample_record(1);
    let entries = vec![format::IndexEntry { summary: rec.summary(RecordId([4; 16])), dek_id: [5; 16], wrapped_dek: vec![6; 73] }];
    format::encode_index(&header, &entries, &[7; 32]).unwrap().to_vec()
}

fn valid_record() -> Vec<u8> {
    let b = RecordBinding { vault_id: VaultId([1; 16]), record_id: RecordId([4; 16]), dek_id: [5; 16] };
    record::encode_record_file(&sample_record(2), &b, &[8; 32]).unwrap().to_vec()
}

/// Decrypted payloads (what the AEAD hands the decoders).
fn valid_plaintexts() -> (Vec<u8>, Vec<u8>) {
    let idx = valid_index();
    let p = format::parse_index(&idx).unwrap();
    let mut entries = p.ciphertext.to_vec();
    keys::open_in_place(&[7; 32], &p.nonce, p.aad, &mut entries, &p.tag).unwrap();
    let rec = valid_record();
    let body = &rec[record::RECORD_AAD_LEN..rec.len() - 48];
    let tag: [u8; 16] = rec[rec.len() - 48..rec.len() - 32].try_into().unwrap();
    let nonce: [u8; 24] = rec[70..94].try_into().unwrap();
    let mut payload = body.to_vec();
    keys::open_in_place(&[8; 32], &nonce, &rec[..94], &mut payload, &tag).unwrap();
    (entries, payload)
}

#[test]
fn decoders_accept_their_own_output() {
    let (entries, payload) = valid_plaintexts();
    assert_eq!(format::decode_entries(&entries).unwrap().len(), 1);
    assert_eq!(EnrollmentRecord::decode_plaintext(&payload).unwrap(), sample_record(2));
}

/// Mutations a fuzzer applies to a valid input.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Overwrite(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..16)).prop_map(|(i, v)| Mutation::Overwrite(i, v)),
    ]
}

fn apply(mut v: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        if v.is_empty() {
            break;
        }
        let n = v.len();
        match m {
            Mutation::Flip(i, b) => v[i % n] ^= b,
            Mutation::Truncate(i) => v.truncate(i % n),
            Mutation::Insert(i, bytes) => {
                let at = i % n;
                v.splice(at..at, bytes.iter().copied());
            }
            Mutation::Overwrite(i, bytes) => {
                for (j, b) in bytes.iter().enumerate() {
                    if let Some(x) = v.get_mut((i + j) % n) {
                        *x = *b;
                    }
                }
            }
        }
    }
    v
}

/// Fixes a mutated file's frame so the fuzzer reaches the parsers behind the checksum.
fn refresh_frame(v: &mut [u8]) {
    use sha2::Digest;
    if v.len() >= format::MIN_FILE_LEN {
        let len = (v.len() as u64).to_be_bytes();
        v[10..18].copy_from_slice(&len);
        v[8..10].copy_from_slice(&1u16.to_be_bytes());
        let c = sha2::Sha256::digest(&v[..18]);
        v[18..22].copy_from_slice(&c[..4]);
        let end = v.len() - 32;
        let t = sha2::Sha256::digest(&v[..end]);
        v[end..].copy_from_slice(&t);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn index_parser_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = format::parse_index(&bytes);
        let _ = format::decode_entries(&bytes);
    }

    #[test]
    fn record_parser_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = record::parse_record_file(&bytes, VaultFile::Record(RecordId([0; 16])));
        let _ = EnrollmentRecord::decode_plaintext(&bytes);
        let _ = format::get_metadata(&mut Reader::new(&bytes));
    }

    #[test]
    fn mutated_index_is_rejected_without_panics(muts in proptest::collection::vec(mutation(), 1..4), fix in any::<bool>()) {
        let good = valid_index();
        let mut bad = apply(good.clone(), &muts);
        if fix { refresh_frame(&mut bad); }
        if bad != good {
            match format::parse_index(&bad) {
                // The frame can only pass if the checksums were refreshed; then the AEAD must fail.
                Ok(p) => {
                    prop_assert!(fix);
                    prop_assert!(format::decrypt_index(&p, &[7; 32]).is_err());
                }
                Err(e) => {
                    let typed = matches!(
                        e,
                        VaultError::Tampered { .. }
                            | VaultError::Truncated { .. }
                            | VaultError::Empty { .. }
                            | VaultError::UnsupportedVersion { .. }
                    );
                    prop_assert!(typed, "untyped error {}", e);
                }
            }
        }
    }

    #[test]
    fn mutated_record_is_rejected_without_panics(muts in proptest::collection::vec(mutation(), 1..4), fix in any::<bool>()) {
        let good = valid_record();
        let mut bad = apply(good.clone(), &muts);
        if fix { refresh_frame(&mut bad); }
        if bad != good {
            let id = RecordId([4; 16]);
            let expected = RecordBinding { vault_id: VaultId([1; 16]), record_id: id, dek_id: [5; 16] };
            let r = record::parse_record_file(&bad, VaultFile::Record(id))
                .and_then(|p| record::decrypt_record(&p, &expected, &[8; 32]));
            prop_assert!(r.is_err());
        }
    }

    /// The decoders behind the AEAD must also be total: fuzz them with mutated plaintexts.
    #[test]
    fn payload_decoders_never_panic(muts in proptest::collection::vec(mutation(), 1..4)) {
        let (entries, payload) = valid_plaintexts();
        let _ = format::decode_entries(&apply(entries, &muts));
        let _ = EnrollmentRecord::decode_plaintext(&apply(payload, &muts));
    }
}
