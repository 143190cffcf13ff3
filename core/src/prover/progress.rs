//! Progress reporting and cancellation for long operations (keygen, proving).
//!
//! halo2's prover is one long call. zkiris observes it through the proof transcript: every
//! commitment and evaluation the prover writes passes through [`TranscriptSink`], which reports
//! progress and, when the [`CancellationToken`] is set, fails the write so the prover stops at
//! its next transcript write (at most one proving phase later, ~1–2 s for the full-size
//! circuits here) and returns [`super::ProveError::Cancelled`].

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A phase of a long operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Loading or generating the SRS.
    Srs,
    /// Analysing the model and planning the circuit.
    Plan,
    /// Generating (or loading) the proving key.
    Keygen,
    /// Computing the witness natively.
    Witness,
    /// The halo2 prover.
    Prove,
    /// Verifying.
    Verify,
}

impl Phase {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Srs => "srs",
            Phase::Plan => "plan",
            Phase::Keygen => "keygen",
            Phase::Witness => "witness",
            Phase::Prove => "prove",
            Phase::Verify => "verify",
        }
    }
}

/// Receives progress: the phase and the fraction of the whole operation done (0..=1).
pub trait ProgressListener: Send + Sync {
    /// Called from the proving thread; must return quickly.
    fn on_progress(&self, phase: Phase, fraction: f64);
}

/// A listener that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoProgress;

impl ProgressListener for NoProgress {
    fn on_progress(&self, _: Phase, _: f64) {}
}

impl<F: Fn(Phase, f64) + Send + Sync> ProgressListener for F {
    fn on_progress(&self, phase: Phase, fraction: f64) {
        self(phase, fraction)
    }
}

/// A cancellation flag shared between the caller and a running operation.
#[derive(Clone, Debug, Default)]
pub struct CancellationToken(Arc<AtomicBool>);

impl CancellationToken {
    /// A fresh, unset token.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests cancellation.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether cancellation was requested.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Message of the I/O error a cancelled transcript write returns.
pub const CANCELLED: &str = "zkiris: proving cancelled";

/// The proof byte sink: forwards bytes, reports progress, honours cancellation.
///
/// halo2-axiom treats a failed transcript write while committing the witness columns as a
/// bug (it panics), so the sink only starts failing writes once those commitments are written
/// (`safe_after` bytes); from then on halo2 propagates the error and stops.
pub struct TranscriptSink<'a> {
    buf: Vec<u8>,
    safe_after: usize,
    expected: usize,
    from: f64,
    to: f64,
    listener: &'a dyn ProgressListener,
    cancel: &'a CancellationToken,
}

impl<'a> TranscriptSink<'a> {
    /// A sink expecting about `expected` proof bytes; progress maps to `from..to`.
    pub fn new(expected: usize, safe_after: usize, from: f64, to: f64, listener: &'a dyn ProgressListener, cancel: &'a CancellationToken) -> Self {
        Self { buf: Vec::with_capacity(expected), safe_after, expected: expected.max(1), from, to, listener, cancel }
    }

    /// The bytes written.
    pub fn into_inner(self) -> Vec<u8> {
        self.buf
    }
}

impl Write for TranscriptSink<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len() >= self.safe_after && self.cancel.is_cancelled() {
            // Not `Interrupted`: `write_all` retries those forever.
            return Err(io::Error::other(CANCELLED));
        }
        self.buf.extend_from_slice(data);
        let f = (self.buf.len() as f64 / self.expected as f64).min(1.0);
        self.listener.on_progress(Phase::Prove, self.from + (self.to - self.from) * f);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
