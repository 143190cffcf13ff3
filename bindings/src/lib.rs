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
//! Off the caller's thread: the vault's, model's and verifier's slow calls are UniFFI `async`
//! functions (Kotlin `suspend`, Swift `async`) that run their work on a thread of their own
//! (no runtime); `Prover.prepare`/`prove` block their thread, and the Kotlin and Swift layers
//! run them on a background dispatcher / detached task with progress and cancellation. The
//! development (INSECURE) issuer and device keys are not part of these bindings. No panic
//! crosses the boundary: every fallible export runs inside a `catch_unwind` guard and reports
//! a panic as [`ZkirisError::Internal`].
#![warn(missing_docs)]

mod blocking;
mod bundle;
mod error;
mod model;
mod prover;
mod srs;
mod submission;
mod vault;

pub use bundle::{ProofBundle, VerifiedStatement, Verifier};
pub use error::{KeyProviderError, ZkirisError};
pub use model::{Model, ProvingEstimate, TrustedIssuer};
pub use prover::{CancellationToken, KeySource, Phase, PreparedModel, ProgressListener, Prover, ProverConfig};
pub use srs::SrsSource;
pub use submission::{party_public_key_fingerprint, submission_binding_value, ProveOptions, Submission, SubmissionBinding};
pub use vault::{
    iris_image_from_png, iris_mask_from_png, kdf_cost_minimum, kdf_cost_mobile, DamagedRecord, Enrollment, EnrollmentDevice, IrisImageData, KdfCost,
    KeyProvider, RecordSummary, RecoveryReport, Vault, VaultCheckReport,
};

uniffi::setup_scaffolding!();
