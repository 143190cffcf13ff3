// The idiomatic Swift layer over the generated bindings (module ZkirisFFI, re-exported):
// async/await, progress through an AsyncStream, Task cancellation that stops the Rust prover,
// and `Data` in and out. Every error thrown is a `ZkirisError` (one case per failure class).
//
// The generated types (Vault, Model, Prover, ProofBundle, Verifier, ProveOptions,
// SubmissionBinding, records and enums) are used directly; this file only adds what Swift code
// expects on top of them.
//
// What runs where: the generated vault, model and verifier calls that do real work
// (Vault.create/open/createWithPassphrase/openWithPassphrase, enroll, delete, rotate, check,
// Model.load, estimate, Verifier.load, verify) are already `async` (UniFFI async: the work runs
// on a Rust worker thread, never the calling thread or the main actor). Prover.prepare/prove
// block, so this file runs them on a global queue with progress and cancellation. A Prover
// runs one operation at a time: a second concurrent prepare/prove throws `ZkirisError.Busy`.

import Foundation
@_exported import ZkirisFFI

/// One progress event: the phase, and the fraction of the whole operation done (0 to 1,
/// non-decreasing).
public struct Progress: Sendable, Equatable {
    /// The phase.
    public let phase: Phase
    /// The fraction of the whole operation done.
    public let fraction: Double

    public init(phase: Phase, fraction: Double) {
        self.phase = phase
        self.fraction = fraction
    }
}

/// Forwards Rust progress to a Swift closure (called on the proving thread).
final class ClosureProgressListener: ProgressListener, @unchecked Sendable {
    private let body: @Sendable (Progress) -> Void

    init(_ body: @escaping @Sendable (Progress) -> Void) {
        self.body = body
    }

    func onProgress(phase: Phase, fraction: Double) {
        body(Progress(phase: phase, fraction: fraction))
    }
}

/// Runs a blocking zkiris call on a global queue and ties it to the current task: cancelling
/// the task cancels the call's `CancellationToken`, and the call throws
/// `ZkirisError.Cancelled` at its next checkpoint.
func runCancellable<T>(_ body: @escaping @Sendable (CancellationToken) throws -> T) async throws -> T {
    let token = CancellationToken()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            DispatchQueue.global(qos: .userInitiated).async {
                do {
                    continuation.resume(returning: try body(token))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    } onCancel: {
        token.cancel()
    }
}

extension Prover {
    /// Prepares `model` for proving: plans the circuit, obtains the SRS, and loads or
    /// generates the proving key (slow the first time for full-size models). Cancelling the
    /// task cancels the preparation.
    ///
    /// - Parameter progress: called on a background thread; must be quick.
    /// - Throws: `ZkirisError`: `.Busy` if this prover is already preparing or proving,
    ///   `.OutOfMemoryEstimate` (before allocating) if the larger of the key-generation and
    ///   proving peaks exceeds `os_proc_available_memory()`, `.Cancelled` when the task is
    ///   cancelled.
    public func prepare(
        model: Model,
        srs: SrsSource,
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> PreparedModel {
        try await runCancellable { token in
            try self.prepare(model: model, srs: srs, listener: progress.map(ClosureProgressListener.init), cancel: token)
        }
    }

    /// Proves the enrollment `recordId` in `vault` with the prepared `model`
    /// (`proveWithOptions`). Cancelling the task stops the Rust prover within about one proving
    /// phase and throws `ZkirisError.Cancelled`.
    ///
    /// `options` carries the `SubmissionBinding` (chain id, registry, the account that will
    /// submit the proof; without it no registry accepts the proof) and, for models whose
    /// `submission()` is `.mpcShares`, the three MPC parties' public-key files in party order
    /// (`partyKeys: [Data]`). An mpc-shares bundle never holds the iris code: `irisCode()` and
    /// `maskCode()` are empty, `validBits()` is `nil`, and `envelopes()` holds each party's
    /// share, encrypted to that party, with `shareCommitments()` `S_1...S_3`.
    ///
    /// - Parameter progress: called on a background thread with non-decreasing fractions.
    /// - Throws: `ZkirisError` for every failure class (tampered record, wrong key, liveness
    ///   below threshold, too few valid bits, not prepared, out of memory estimate, busy,
    ///   missing, unexpected or invalid party keys, ...). The options are checked before any
    ///   proving work.
    public func prove(
        vault: Vault,
        recordId: String,
        model: Model,
        options: ProveOptions = ProveOptions(),
        progress: (@Sendable (Progress) -> Void)? = nil
    ) async throws -> ProofBundle {
        try await runCancellable { token in
            try self.proveWithOptions(
                vault: vault, recordId: recordId, model: model, options: options,
                listener: progress.map(ClosureProgressListener.init), cancel: token)
        }
    }

    /// Starts a proof and returns its progress as an `AsyncStream` (finished when the proof
    /// ends; a consumer more than 64 events behind misses the oldest ones) and the proof as a
    /// `Task`. Cancelling the task, or the consumer of the stream, cancels the proof.
    ///
    /// ```swift
    /// let (progress, proof) = prover.proveWithProgress(vault: vault, recordId: id, model: model)
    /// for await p in progress { bar.progress = Float(p.fraction) }
    /// let bundle = try await proof.value
    /// ```
    public func proveWithProgress(
        vault: Vault,
        recordId: String,
        model: Model,
        options: ProveOptions = ProveOptions()
    ) -> (progress: AsyncStream<Progress>, proof: Task<ProofBundle, Error>) {
        let (stream, continuation) = AsyncStream<Progress>.makeStream(bufferingPolicy: .bufferingNewest(64))
        let task = Task {
            defer { continuation.finish() }
            return try await self.prove(vault: vault, recordId: recordId, model: model, options: options) { continuation.yield($0) }
        }
        continuation.onTermination = { termination in
            if case .cancelled = termination { task.cancel() }
        }
        return (stream, task)
    }

    /// `estimate(model:)` off the calling thread (it plans the circuit the first time).
    public func estimate(for model: Model) async throws -> ProvingEstimate {
        try await runCancellable { _ in try self.estimate(model: model) }
    }
}

extension Vault {
    /// Creates a vault in `dir` locked by `passphrase` (UTF-8 bytes; Argon2id at `kdf`, default
    /// `kdfCostMobile()`, at least `kdfCostMinimum()` or `ZkirisError.KdfTooWeak`).
    /// **Zeroes `passphrase`** (and the copy handed to Rust) before returning. A `String`
    /// cannot be scrubbed: collect the passphrase into a `[UInt8]`.
    public static func createWithPassphrase(dir: String, passphrase: inout [UInt8], kdf: KdfCost? = nil) async throws -> Vault {
        var data = Data(passphrase)
        defer { zero(&passphrase, &data) }
        return try await createWithPassphrase(dir: dir, passphrase: data, kdf: kdf)
    }

    /// Opens the passphrase-locked vault in `dir`. **Zeroes `passphrase`.**
    public static func openWithPassphrase(dir: String, passphrase: inout [UInt8]) async throws -> Vault {
        var data = Data(passphrase)
        defer { zero(&passphrase, &data) }
        return try await openWithPassphrase(dir: dir, passphrase: data)
    }

    /// Re-locks the vault with `passphrase` (cost `kdf`, as above). **Zeroes `passphrase`.**
    public func rotateToPassphrase(passphrase: inout [UInt8], kdf: KdfCost? = nil) async throws {
        var data = Data(passphrase)
        defer { zero(&passphrase, &data) }
        try await rotateToPassphrase(passphrase: data, kdf: kdf)
    }
}

func zero(_ bytes: inout [UInt8], _ data: inout Data) {
    for i in bytes.indices { bytes[i] = 0 }
    data.resetBytes(in: 0..<data.count)
}

extension ProofBundle {
    /// Whether this proof is bound to `binding`: its public binding (input 3) is
    /// `keccak256(chainId ‖ registry ‖ account) mod r` of `binding`, the value the registry
    /// recomputes from `msg.sender`. A proof made without a binding is bound to nothing.
    ///
    /// - Throws: `ZkirisError.InvalidInput` if an address in `binding` is not 20 bytes.
    public func isBound(to binding: SubmissionBinding) throws -> Bool {
        try self.binding() == submissionBindingValue(binding: binding)
    }
}
