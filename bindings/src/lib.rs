//! # zkiris-ffi
//!
//! The UniFFI surface of zkiris for mobile apps: Kotlin (Android and JVM, through JNA) and
//! Swift (iOS, through an XCFramework). The generated bindings are committed under
//! `android/zkiris/src/main/kotlin/dev/zkiris/ffi/` and `ios/Sources/ZkirisFFI/`; regenerate
//! them with `bindings/generate.sh` (see `bindings/README.md`).
//!
//! | item | job |
//! |---|---|
//! | [`Vault`], [`KeyProvider`], [`Enrollment`] | the encrypted enrollment vault; the app's keystore wraps its data keys |
//! | [`EnrollmentDevice`] | commit and sign like an enrollment device (tests, demos, enrollment stations) |
//! | [`Model`], [`TrustedIssuer`] | issuer-signed models from downloaded bytes |
//! | [`Prover`], [`ProgressListener`], [`CancellationToken`] | prepare (keygen), prove, estimate |
//! | [`ProofBundle`], [`Verifier`] | the proof file, EVM calldata, native verification |
//! | [`Submission`], [`ProveOptions`], [`SubmissionBinding`] | public-code or MPC-share submission, the submitter binding, the MPC parties' public keys |
//! | [`ZkirisError`] | one error type, a variant per failure class |
//!
//! Every call blocks its thread (no runtime, no threads of our own besides the prover's
//! worker pool); the Kotlin and Swift layers make them `suspend` / `async`. No panic crosses
//! the boundary: every fallible export runs inside a `catch_unwind` guard and reports a panic
//! as [`ZkirisError::Internal`].
#![warn(missing_docs)]

mod bundle;
mod error;
mod model;
mod prover;
mod submission;
mod vault;

pub use bundle::{ProofBundle, VerifiedStatement, Verifier};
pub use error::{KeyProviderError, ZkirisError};
pub use model::{development_issuer, Model, ProvingEstimate, TrustedIssuer};
pub use prover::{CancellationToken, KeySource, Phase, PreparedModel, ProgressListener, Prover, ProverConfig, SrsSource};
pub use submission::{party_public_key_fingerprint, submission_binding_value, ProveOptions, Submission, SubmissionBinding};
pub use vault::{
    development_device_id, iris_image_from_png, iris_mask_from_png, kdf_cost_mobile, Enrollment, EnrollmentDevice, IrisImageData, KdfCost, KeyProvider,
    RecordSummary, RecoveryReport, Vault,
};

uniffi::setup_scaffolding!();
