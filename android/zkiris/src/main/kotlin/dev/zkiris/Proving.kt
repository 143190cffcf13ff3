// The idiomatic Kotlin layer over the generated bindings (package dev.zkiris.ffi):
// suspend functions, progress as a lambda or a Flow, and coroutine cancellation that stops the
// Rust prover. Everything else (Vault, Model, ProofBundle, Verifier, ProveOptions,
// SubmissionBinding, the sealed ZkirisException hierarchy) is used directly from
// dev.zkiris.ffi; the objects are AutoCloseable: release them with `use { }` or `close()`.
//
// What runs where: the generated vault, model and verifier calls that do real work
// (Vault.create/open/createWithPassphrase/openWithPassphrase, enroll, delete, rotate, check,
// Model.load, Model.estimate, Verifier.load, verify) are already `suspend` (UniFFI async: the
// work runs on a Rust worker thread and never blocks the calling thread, Main included).
// Prover.prepare/prove block, so this file runs them on Dispatchers.IO with progress and
// cancellation. A Prover runs one operation at a time: a second concurrent prepare/prove
// throws ZkirisException.Busy at once (queue them, e.g. behind a kotlinx Mutex).
//
// This file compiles for Android (Gradle module android/zkiris) and for the JVM
// (android/jvm-tests, Maven), so it uses no Android APIs.
package dev.zkiris

import dev.zkiris.ffi.CancellationToken
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.Phase
import dev.zkiris.ffi.PreparedModel
import dev.zkiris.ffi.ProgressListener
import dev.zkiris.ffi.ProofBundle
import dev.zkiris.ffi.ProveOptions
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProvingEstimate
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Submission
import dev.zkiris.ffi.SubmissionBinding
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.ZkirisException
import dev.zkiris.ffi.submissionBindingValue
import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.awaitCancellation
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.currentCoroutineContext
import kotlinx.coroutines.ensureActive
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.channelFlow
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/** One progress event: the phase, and the fraction of the whole operation done (0 to 1). */
data class Progress(val phase: Phase, val fraction: Double)

/** What [proveFlow] emits: progress events, then the proof. */
sealed interface ProvingEvent {
    /** Proving advanced. */
    data class Progressed(val progress: Progress) : ProvingEvent

    /** The proof is done (the last event). The collector owns [bundle]: close it when done. */
    data class Proved(val bundle: ProofBundle) : ProvingEvent
}

/**
 * Forwards Rust progress to a Kotlin lambda. A lambda that throws must not unwind into Rust
 * (it would abort the call as an internal error), so the first throwable is kept, the
 * operation is cancelled, and [runCancellable] rethrows it to the caller.
 */
private class LambdaListener(
    private val onProgress: (Progress) -> Unit,
    private val token: CancellationToken,
) : ProgressListener {
    @Volatile
    var failure: Throwable? = null

    override fun onProgress(phase: Phase, fraction: Double) {
        if (failure != null) return
        try {
            onProgress(Progress(phase, fraction))
        } catch (t: Throwable) {
            failure = t
            token.cancel()
        }
    }
}

/**
 * Runs a blocking zkiris call on [dispatcher] and ties it to the calling coroutine: when the
 * coroutine is cancelled, the call's [CancellationToken] is cancelled, the call stops at its
 * next checkpoint, and a [kotlinx.coroutines.CancellationException] is thrown as usual.
 */
private suspend fun <T> runCancellable(
    dispatcher: CoroutineDispatcher,
    onProgress: (Progress) -> Unit,
    block: (ProgressListener, CancellationToken) -> T,
): T = CancellationToken().use { token ->
    val listener = LambdaListener(onProgress, token)
    coroutineScope {
        val watcher = launch {
            try {
                awaitCancellation()
            } finally {
                token.cancel()
            }
        }
        try {
            withContext(dispatcher) { block(listener, token) }
        } catch (e: ZkirisException.Cancelled) {
            listener.failure?.let { throw it }
            currentCoroutineContext().ensureActive()
            throw e
        } finally {
            watcher.cancel()
        }
    }
}

/**
 * Prepares [model] for proving ([Prover.prepare]): plans the circuit, obtains the SRS and
 * loads or generates the proving key (slow the first time for full-size models). Runs on
 * [dispatcher]; cancelling the coroutine cancels the preparation.
 *
 * @param onProgress called on a background thread; must be quick.
 * @throws ZkirisException on failure: `Busy` if this prover is already preparing or proving,
 *   `OutOfMemoryEstimate` (before allocating) if the larger of the key-generation and proving
 *   peaks exceeds the memory available, `Cancelled` only through the token (coroutine
 *   cancellation throws CancellationException).
 */
suspend fun Prover.prepare(
    model: Model,
    srs: SrsSource,
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
    onProgress: (Progress) -> Unit = {},
): PreparedModel = runCancellable(dispatcher, onProgress) { listener, token ->
    prepare(model, srs, listener, token)
}

/**
 * Proves the enrollment [recordId] in [vault] with the prepared [model]
 * ([Prover.proveWithOptions]) and returns the proof bundle (close it when done). Runs on
 * [dispatcher]; cancelling the coroutine stops the Rust prover within about one proving phase.
 *
 * [options] carries the [SubmissionBinding] (chain id, registry, the account that will submit
 * the proof; without it no registry accepts the proof) and, for models whose
 * [Model.submission] is [Submission.MPC_SHARES], the three MPC parties' public-key files in
 * party order (`partyKeys: List<ByteArray>`). An mpc-shares bundle never holds the iris code:
 * [ProofBundle.irisCode] and [ProofBundle.maskCode] are empty, [ProofBundle.validBits] is
 * null, and [ProofBundle.envelopes] holds each party's share, encrypted to that party, with
 * [ProofBundle.shareCommitments] `S_1..S_3`.
 *
 * @param onProgress called on a background thread with non-decreasing fractions; must be quick.
 * @throws ZkirisException for every failure class (tampered record, wrong key, liveness below
 *   threshold, too few valid bits, not prepared, out of memory estimate, busy (another
 *   prepare/prove of this prover is running), missing, unexpected or invalid party keys, ...).
 *   The options are checked before any proving work.
 */
suspend fun Prover.prove(
    vault: Vault,
    recordId: String,
    model: Model,
    options: ProveOptions = ProveOptions(),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
    onProgress: (Progress) -> Unit = {},
): ProofBundle = runCancellable(dispatcher, onProgress) { listener, token ->
    proveWithOptions(vault, recordId, model, options, listener, token)
}

/**
 * [prove] as a cold [Flow]: collecting it starts a proof, emits [ProvingEvent.Progressed]
 * events and finally [ProvingEvent.Proved]. A collector more than 64 events behind misses
 * progress events (never the proof). Cancelling the collection cancels the proof.
 */
fun Prover.proveFlow(
    vault: Vault,
    recordId: String,
    model: Model,
    options: ProveOptions = ProveOptions(),
    dispatcher: CoroutineDispatcher = Dispatchers.IO,
): Flow<ProvingEvent> = channelFlow {
    val bundle = this@proveFlow.prove(
        vault = vault,
        recordId = recordId,
        model = model,
        options = options,
        dispatcher = dispatcher,
        onProgress = { trySend(ProvingEvent.Progressed(it)) },
    )
    send(ProvingEvent.Proved(bundle))
}

/**
 * Whether this proof is bound to [binding]: its public binding (input 3) is
 * `keccak256(chainId ‖ registry ‖ account) mod r` of [binding], the value the registry
 * recomputes from `msg.sender`. A proof made without a binding is bound to nothing.
 *
 * @throws ZkirisException.InvalidInput if an address in [binding] is not 20 bytes.
 */
fun ProofBundle.isBoundTo(binding: SubmissionBinding): Boolean =
    binding().contentEquals(submissionBindingValue(binding))

/** [Prover.estimate] off the calling thread (it plans the circuit the first time). */
suspend fun Prover.estimateFor(model: Model, dispatcher: CoroutineDispatcher = Dispatchers.IO): ProvingEstimate =
    withContext(dispatcher) { estimate(model) }
