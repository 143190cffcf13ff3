// The idiomatic Swift layer over the generated bindings (module ZkirisFFI, re-exported):
// async/await, progress through an AsyncStream, Task cancellation that stops the Rust prover,
// and `Data` in and out. Every error thrown is a `ZkirisError` (one case per failure class).
//
// The generated types (Vault, Model, Prover, ProofBundle, Verifier, ProveOptions,
// SubmissionBinding, records and enums) are used directly; this file only adds what Swift code
// expects on top of them.

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
    /// - Throws: `ZkirisError`.
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
    ///   below threshold, too few valid bits, not prepared, out of memory estimate, missing,
    ///   unexpected or invalid party keys, ...). The options are checked before any proving work.
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
