package dev.zkiris

import dev.zkiris.ffi.CancellationToken
import dev.zkiris.ffi.EnrollmentDevice
import dev.zkiris.ffi.KdfCost
import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.KeySource
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.Phase
import dev.zkiris.ffi.ProgressListener
import dev.zkiris.ffi.ProofBundle
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProverConfig
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Submission
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.ZkirisException
import dev.zkiris.ffi.developmentDeviceId
import dev.zkiris.ffi.developmentIssuer
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.flow.filterIsInstance
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.nio.file.Files
import java.nio.file.Path
import java.util.concurrent.CopyOnWriteArrayList
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertTrue

/**
 * Real proofs through the Kotlin API on the host JVM: the generated bindings and the
 * idiomatic layer (suspend, Flow) over the host build of libzkiris_ffi, loaded through JNA.
 * The model is the tiny test model in models/test-tiny, loaded from its files as an app
 * downloads it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ZkirisJvmTest {
    private val repo = File(System.getProperty("zkiris.repo") ?: "../..")
    private val modelDir = File(repo, "models/test-tiny")
    private val tmp: Path = Files.createTempDirectory("zkiris-jvm-tests")

    private lateinit var model: Model
    private lateinit var prover: Prover

    private fun modelFile(name: String) = File(modelDir, name).readBytes()

    private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

    @BeforeAll
    fun loadModelAndPrepare() = runBlocking {
        model = Model(modelFile("model.onnx"), modelFile("manifest.json"), listOf(developmentIssuer()))
        prover = Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString()))
        val prepared = prover.prepare(model, SrsSource.Development)
        assertEquals(model.id(), prepared.modelId)
        assertTrue(prepared.insecureSrs)
    }

    @AfterAll
    fun close() {
        prover.close()
        model.close()
        tmp.toFile().deleteRecursively()
    }

    /** A new vault locked by a Kotlin KeyProvider (AES-GCM, as with an Android Keystore key). */
    private fun newVault(keys: KeyProvider = AesGcmKeyProvider("test-key", aesKey())): Pair<Path, Vault> {
        val dir = Files.createTempDirectory(tmp, "vault")
        return dir to Vault.create(dir.toString(), keys)
    }

    /** Enrolls the sample image with the (insecure) development enrollment device. */
    private fun enrollSample(vault: Vault, validMask: Boolean = true): String {
        val image = irisImageFromPng(modelFile("sample.png"))
        var mask = irisMaskFromPng(modelFile("sample_mask.png"))
        if (!validMask) mask = mask.copy(pixels = ByteArray(mask.pixels.size))
        val enrollment = EnrollmentDevice.development().use { it.enroll(image, mask) }
        return vault.enroll(enrollment, listOf(developmentDeviceId()))
    }

    @Test
    fun `enroll with a Kotlin KeyProvider, prove, verify`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            val listed = vault.list()
            assertEquals(listOf(id), listed.map { it.id })
            assertEquals(developmentDeviceId(), listed[0].deviceId)

            prover.prove(vault, id, model).use { bundle ->
                val statement = prover.verifier(model).use { it.verify(bundle) }
                assertEquals(model.id(), statement.modelId)
                assertContentEquals(listed[0].commitment, statement.commitment)
                assertContentEquals(bundle.irisCode(), statement.irisCode)
                assertEquals(bundle.validBits(), statement.validBits)
                assertTrue(statement.validBits!! >= model.minValidBits())
                // A public-code proof: the codes, no envelopes; without a binding, bound to nothing.
                assertEquals(Submission.PUBLIC_CODE, statement.submission)
                assertTrue(bundle.envelopes().isEmpty() && statement.shareCommitments.isEmpty())
                assertContentEquals(ByteArray(32), statement.binding)

                // Bytes round trip; EVM calldata = public inputs as words, then the proof.
                ProofBundle.fromBytes(bundle.toBytes()).use { again ->
                    assertContentEquals(bundle.proof(), again.proof())
                    val calldata = again.verifierCalldata()
                    assertEquals(32 * again.publicInputs().size + again.proof().size, calldata.size)
                    assertTrue(again.registerCalldata().size > calldata.size)
                }
            }
            val estimate = prover.estimateFor(model)
            assertTrue(estimate.calibrated && estimate.proveSeconds > 0.0, "$estimate")
        }
    }

    @Test
    fun `progress arrives in order through a Flow`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            val events = prover.proveFlow(vault, id, model).toList()
            val progress = events.filterIsInstance<ProvingEvent.Progressed>().map { it.progress }
            val proved = events.last()
            assertTrue(proved is ProvingEvent.Proved, "the last event is the proof")
            (proved as ProvingEvent.Proved).bundle.close()
            assertTrue(progress.any { it.phase == Phase.PROVE }, "$progress")
            assertEquals(Phase.WITNESS, progress.first().phase)
            assertTrue(progress.zipWithNext().all { (a, b) -> b.fraction >= a.fraction }, "non-decreasing: $progress")
            assertEquals(1.0, progress.last().fraction)
            // The lambda form reports the same phases.
            val seen = CopyOnWriteArrayList<Progress>()
            prover.prove(vault, id, model) { seen.add(it) }.close()
            assertEquals(progress.map { it.phase }.distinct(), seen.map { it.phase }.distinct())
        }
    }

    @Test
    fun `cancelling the coroutine cancels a running proof`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            val proving = CompletableDeferred<Unit>()
            val fractions = CopyOnWriteArrayList<Double>()
            val job = launch {
                prover.prove(vault, id, model) {
                    fractions.add(it.fraction)
                    if (it.phase == Phase.PROVE) proving.complete(Unit)
                }.close()
            }
            withTimeout(60_000) { proving.await() }
            job.cancelAndJoin()
            assertTrue(job.isCancelled)
            // cancelAndJoin returns once the Rust call has returned: it stopped before the end.
            assertTrue(fractions.max() < 1.0, "the proof ran to completion: $fractions")

            // The token form: cancel from the listener, get the typed exception.
            val token = CancellationToken()
            val listener = object : ProgressListener {
                override fun onProgress(phase: Phase, fraction: Double) {
                    if (phase == Phase.PROVE) token.cancel()
                }
            }
            assertFailsWith<ZkirisException.Cancelled> { prover.prove(vault, id, model, listener, token) }
            // The prover still works after both cancellations.
            prover.prove(vault, id, model).close()
        }
    }

    @Test
    fun `key generation reports its steps and cancelling it mid-way writes no key`() = runBlocking {
        // A fresh cache, so that prepare generates the keys.
        val cache = tmp.resolve("keygen-cancel")
        Prover(ProverConfig(cacheDir = cache.toString())).use { fresh ->
            val keyFiles = { cache.toFile().listFiles().orEmpty().filter { it.name.startsWith("pk-") || it.name.startsWith("vk-") } }
            val token = CancellationToken()
            val seen = CopyOnWriteArrayList<Double>()
            val cancelInside = object : ProgressListener {
                override fun onProgress(phase: Phase, fraction: Double) {
                    if (phase == Phase.KEYGEN) {
                        seen.add(fraction)
                        if (fraction > 0.4) token.cancel()   // the verifying key is done
                    }
                }
            }
            assertFailsWith<ZkirisException.Cancelled> { fresh.prepare(model, SrsSource.Development, cancelInside, token) }
            assertTrue(seen.any { it > 0.4 && it < 1.0 }, "a step inside key generation: $seen")
            assertTrue(keyFiles().isEmpty(), "a cancelled key generation writes no key: ${keyFiles()}")

            // Uncancelled: KEYGEN steps in order from 0.4 to 1.0, then the keys are cached.
            val fractions = CopyOnWriteArrayList<Double>()
            val prepared = fresh.prepare(model, SrsSource.Development) { if (it.phase == Phase.KEYGEN) fractions.add(it.fraction) }
            assertEquals(KeySource.GENERATED, prepared.keySource)
            assertEquals(0.4, fractions.first())
            assertEquals(1.0, fractions.last())
            assertTrue(fractions.zipWithNext().all { (a, b) -> b >= a } && fractions.distinct().size >= 4, "$fractions")
            assertTrue(keyFiles().any { it.name.startsWith("pk-") })
        }
    }

    @Test
    fun `a tampered record is a typed exception`() = runBlocking {
        val (dir, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            val record = dir.resolve("$id.rec").toFile()
            val bytes = record.readBytes()
            bytes[bytes.size - 40] = (bytes[bytes.size - 40].toInt() xor 1).toByte()
            record.writeBytes(bytes)
            val e = assertThrows<ZkirisException.Tampered> { runBlocking { prover.prove(vault, id, model) } }
            assertTrue(e.detail.contains(id), e.detail)
        }
    }

    @Test
    fun `a wrong key is a typed exception`() {
        val (dir, vault) = newVault(AesGcmKeyProvider("test-key", aesKey()))
        vault.use { enrollSample(it) }
        // Same key id, different key: the AES-GCM tag fails, the vault reports WrongKey.
        assertThrows<ZkirisException.WrongKey> { Vault.open(dir.toString(), AesGcmKeyProvider("test-key", aesKey())) }
        // Passphrase vaults too.
        val pdir = Files.createTempDirectory(tmp, "pvault").toString()
        val cheap = KdfCost(memoryKib = 8u, passes = 1u, lanes = 1u)
        Vault.createWithPassphrase(pdir, "correct horse", cheap).close()
        assertThrows<ZkirisException.WrongKey> { Vault.openWithPassphrase(pdir, "wrong horse") }
        Vault.openWithPassphrase(pdir, "correct horse").close()
    }

    @Test
    fun `other failures are typed too`() = runBlocking {
        // Untrusted model files.
        assertThrows<ZkirisException.UntrustedModel> { Model(modelFile("model.onnx"), modelFile("manifest.json"), emptyList()) }
        val (_, vault) = newVault()
        vault.use {
            // An enrollment with no valid mask bits: a threshold failure before proving.
            val weak = enrollSample(vault, validMask = false)
            val e = assertThrows<ZkirisException.InsufficientValidBits> { runBlocking { prover.prove(vault, weak, model) } }
            assertEquals(0u, e.valid)
            assertEquals(model.minValidBits(), e.required)
            // A memory budget below the estimate.
            Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString(), memoryBudgetMib = 1uL)).use { small ->
                assertThrows<ZkirisException.OutOfMemoryEstimate> { runBlocking { small.prepare(model, SrsSource.Development) } }
                assertThrows<ZkirisException.NotPrepared> { runBlocking { small.prove(vault, weak, model) } }
            }
            assertThrows<ZkirisException.InvalidInput> { runBlocking { prover.prove(vault, "not-a-record-id", model) } }
        }
    }

    @Test
    fun `a panic in Rust does not cross the boundary`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            // A listener that throws makes the Rust side panic (UniFFI cannot return the
            // exception through a non-throwing callback); the guard turns it into Internal.
            val throwing = object : ProgressListener {
                override fun onProgress(phase: Phase, fraction: Double) = throw IllegalStateException("listener bug")
            }
            val e = assertThrows<ZkirisException.Internal> { prover.prove(vault, id, model, throwing, null) }
            assertTrue(e.detail.contains("panicked"), e.detail)
            // The idiomatic layer keeps a throwing lambda on the Kotlin side and rethrows it.
            val thrown = assertThrows<IllegalArgumentException> {
                runBlocking { prover.prove(vault, id, model) { if (it.phase == Phase.PROVE) throw IllegalArgumentException("ui bug") } }
            }
            assertEquals("ui bug", thrown.message)
            // The library keeps working.
            prover.prove(vault, id, model).close()
        }
    }

    @Test
    fun `ten proofs in a row do not grow resident memory`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            // Warm up: worker threads, allocator arenas, JIT.
            repeat(2) { prover.prove(vault, id, model).close() }
            System.gc()
            val before = residentKib()
            val samples = mutableListOf<Long>()
            repeat(10) {
                prover.prove(vault, id, model).use { bundle -> assertTrue(bundle.proof().isNotEmpty()) }
                samples.add(residentKib())
            }
            System.gc()
            val after = residentKib()
            println("resident memory over 10 proofs: before=$before KiB after=$after KiB samples=$samples")
            assertTrue(after <= before * 1.10, "resident memory grew from $before KiB to $after KiB (> 10%): $samples")
        }
    }

    /** VmRSS of this process (Linux). */
    private fun residentKib(): Long =
        File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()
}
