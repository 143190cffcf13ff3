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
import dev.zkiris.ffi.KeyProviderException
import dev.zkiris.ffi.Verifier
import dev.zkiris.ffi.kdfCostMinimum
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.async
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.asCoroutineDispatcher
import kotlinx.coroutines.delay
import kotlinx.coroutines.isActive
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
import java.util.concurrent.Executors
import java.util.concurrent.atomic.AtomicInteger
import kotlin.coroutines.cancellation.CancellationException
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertIs
import kotlin.test.assertNotEquals
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
        model = Model.load(modelFile("model.onnx"), modelFile("manifest.json"), listOf(DevKeys.issuer(modelDir)))
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

    private val devDeviceId: String by lazy { DevKeys.deviceId(modelDir) }

    /** A new vault locked by a Kotlin KeyProvider (AES-GCM, as with an Android Keystore key). */
    private suspend fun newVault(keys: KeyProvider = AesGcmKeyProvider("test-key", aesKey())): Pair<Path, Vault> {
        val dir = Files.createTempDirectory(tmp, "vault")
        return dir to Vault.create(dir.toString(), keys)
    }

    /** Enrolls the sample image (or [alter]ed) with the (insecure) development enrollment device. */
    private suspend fun enrollSample(vault: Vault, validMask: Boolean = true, alter: (ByteArray) -> Unit = {}): String {
        val image = irisImageFromPng(modelFile("sample.png"))
        alter(image.pixels)
        var mask = irisMaskFromPng(modelFile("sample_mask.png"))
        if (!validMask) mask = mask.copy(pixels = ByteArray(mask.pixels.size))
        val enrollment = DevKeys.device(modelDir).use { it.enroll(image, mask) }
        return vault.enroll(enrollment, listOf(devDeviceId))
    }

    /** Set bits of [bytes]. */
    private fun popcount(bytes: ByteArray): Int = bytes.sumOf { Integer.bitCount(it.toInt() and 0xff) }

    @Test
    fun `enroll with a Kotlin KeyProvider, prove, verify`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            val listed = vault.list()
            assertEquals(listOf(id), listed.map { it.id })
            assertEquals(devDeviceId, listed[0].deviceId)

            prover.prove(vault, id, model).use { bundle ->
                val statement = prover.verifier(model).use { it.verify(bundle) }
                assertEquals(model.id(), statement.modelId)
                assertContentEquals(listed[0].commitment, statement.commitment)
                // The mask code's set bits, counted here, are the valid bits the proof states.
                assertTrue(statement.maskCode.isNotEmpty())
                assertEquals(popcount(statement.maskCode), statement.validBits!!.toInt())
                assertTrue(statement.validBits!! >= model.minValidBits())
                // A public-code proof: the codes, no envelopes; without a binding, bound to nothing.
                assertEquals(Submission.PUBLIC_CODE, statement.submission)
                assertTrue(bundle.envelopes().isEmpty() && statement.shareCommitments.isEmpty())
                assertContentEquals(ByteArray(32), statement.binding)

                // The code is a function of the image and mask only: a second enrollment of the
                // same capture (new salt, so another commitment) proves to the same code, and a
                // changed image to another one.
                val (_, other) = newVault()
                other.use {
                    val again = enrollSample(other)
                    val changed = enrollSample(other) { px -> for (i in px.indices step 2) px[i] = (15 - (px[i].toInt() and 0x0f)).toByte() }  // 4-bit pixels
                    prover.prove(other, again, model).use { b2 ->
                        assertFalse(b2.commitment().contentEquals(bundle.commitment()))
                        assertContentEquals(statement.irisCode, b2.irisCode())
                        assertContentEquals(statement.maskCode, b2.maskCode())
                    }
                    prover.prove(other, changed, model).use { b3 ->
                        assertFalse(b3.irisCode().contentEquals(statement.irisCode), "another image, another code")
                    }
                }

                // Bytes round trip; EVM calldata = public inputs as words, then the proof.
                ProofBundle.fromBytes(bundle.toBytes()).use { again ->
                    assertContentEquals(bundle.proof(), again.proof())
                    val calldata = again.verifierCalldata()
                    assertEquals(32 * again.publicInputs().size + again.proof().size, calldata.size)
                    assertTrue(again.registerCalldata().size > calldata.size)
                }
            }
        }
    }

    @Test
    fun `the estimate is calibrated by this prover's own proofs`() = runBlocking {
        // A fresh prover on the warm cache: the key is loaded, not generated, so nothing was
        // measured yet.
        Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString())).use { fresh ->
            assertEquals(KeySource.CACHE, fresh.prepare(model, SrsSource.Development).keySource)
            val before = fresh.estimateFor(model)
            assertFalse(before.calibrated, "$before")
            assertEquals(1.0, before.deviceFactor)
            val (_, vault) = newVault()
            vault.use {
                fresh.prove(vault, enrollSample(vault), model).close()
                val after = fresh.estimateFor(model)
                assertTrue(after.calibrated, "$after")
                assertNotEquals(1.0, after.deviceFactor)
                assertEquals(after.proveSeconds / after.deviceFactor, before.proveSeconds, 1e-9)
            }
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
            // cancelAndJoin returns once the Rust call has returned: it stopped before the end,
            // and the prover is free at once (a call still running in Rust would make the next
            // one fail with Busy).
            assertTrue(fractions.max() < 1.0, "the proof ran to completion: $fractions")
            assertFalse(fractions.isEmpty())
            prover.prove(vault, id, model).close()

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
    fun `Vault check reads every record and reports the damaged ones by id`() = runBlocking {
        val (dir, vault) = newVault()
        vault.use {
            val good = enrollSample(vault)
            val bad = enrollSample(vault) { px -> px[0] = (px[0].toInt() xor 1).toByte() }
            val clean = vault.check()
            assertEquals(setOf(good, bad), clean.intact.toSet())
            assertTrue(clean.damaged.isEmpty())
            val record = dir.resolve("$bad.rec").toFile()
            record.writeBytes(record.readBytes().copyOf(100))   // truncated
            val report = vault.check()
            assertEquals(listOf(good), report.intact)
            assertEquals(listOf(bad), report.damaged.map { it.recordId })
            assertTrue(report.damaged[0].detail.contains("truncated"), report.damaged[0].detail)
            // list() reads only the index: it still shows both.
            assertEquals(2, vault.list().size)
            assertThrows<ZkirisException.Tampered> { runBlocking { prover.prove(vault, bad, model) } }
            prover.prove(vault, good, model).close()
        }
    }

    @Test
    fun `a wrong key is a typed exception`() = runBlocking {
        val (dir, vault) = newVault(AesGcmKeyProvider("test-key", aesKey()))
        vault.use { enrollSample(it) }
        // Same key id, different key: the AES-GCM tag fails, the vault reports WrongKey.
        assertFailsWith<ZkirisException.WrongKey> { Vault.open(dir.toString(), AesGcmKeyProvider("test-key", aesKey())) }
        // Passphrase vaults too (the CharArray overloads).
        val pdir = Files.createTempDirectory(tmp, "pvault").toString()
        Vault.createWithPassphrase(pdir, "correct horse".toCharArray(), kdfCostMinimum()).close()
        assertFailsWith<ZkirisException.WrongKey> { Vault.openWithPassphrase(pdir, "wrong horse".toCharArray()) }
        Vault.openWithPassphrase(pdir, "correct horse".toCharArray()).close()
    }

    @Test
    fun `passphrases are scrubbed and weak KDF costs are refused`() = runBlocking {
        val pdir = Files.createTempDirectory(tmp, "pvault").resolve("v").toString()
        // Below OWASP's floor: typed, with the floor, and nothing written.
        val weak = "correct horse".toCharArray()
        val e = assertFailsWith<ZkirisException.KdfTooWeak> { Vault.createWithPassphrase(pdir, weak, KdfCost(memoryKib = 8u, passes = 1u, lanes = 1u)) }
        assertEquals(19456u, e.minMemoryKib)
        assertEquals(2u, e.minPasses)
        assertEquals(8u, e.memoryKib)
        assertFalse(File(pdir, "vault.idx").exists())
        assertTrue(weak.all { it == '\u0000' }, "the passphrase is scrubbed on failure too")
        assertFailsWith<ZkirisException.KdfTooWeak> { Vault.createWithPassphrase(pdir, "x".toCharArray(), KdfCost(memoryKib = 65536u, passes = 1u, lanes = 1u)) }

        // Every CharArray overload zeroes the caller's array once the call returns.
        val pass = "correct horse ✓".toCharArray()
        Vault.createWithPassphrase(pdir, pass, kdfCostMinimum()).use { vault ->
            assertTrue(pass.all { it == '\u0000' }, String(pass))
            val next = "battery staple".toCharArray()
            vault.rotateToPassphrase(next, kdfCostMinimum())
            assertTrue(next.all { it == '\u0000' })
        }
        val again = "battery staple".toCharArray()
        Vault.openWithPassphrase(pdir, again).close()
        assertTrue(again.all { it == '\u0000' })
        // The AES-GCM provider scrubs the data key it was handed.
        val dataKey = ByteArray(32) { (it + 1).toByte() }
        val wrapped = AesGcmKeyProvider("k", aesKey()).wrap(dataKey)
        assertTrue(dataKey.all { it == 0.toByte() } && wrapped.size == 2 + 12 + 32 + 16)
    }

    @Test
    fun `other failures are typed too`() = runBlocking {
        // Untrusted model files.
        assertFailsWith<ZkirisException.UntrustedModel> { Model.load(modelFile("model.onnx"), modelFile("manifest.json"), emptyList()) }
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
    fun `proofs do not grow resident memory (regression slope under 1 MB per proof)`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            val id = enrollSample(vault)
            // Warm up: worker threads, allocator arenas, JIT.
            repeat(3) { prover.prove(vault, id, model).close() }
            System.gc()
            val samples = mutableListOf<Long>()
            repeat(12) {
                prover.prove(vault, id, model).use { bundle -> assertTrue(bundle.proof().isNotEmpty()) }
                System.gc()
                samples.add(residentKib())
            }
            // Least-squares slope of RSS over the proof index: the steady growth per proof,
            // insensitive to one noisy sample.
            val n = samples.size
            val xMean = (n - 1) / 2.0
            val yMean = samples.average()
            val slope = samples.indices.sumOf { (it - xMean) * (samples[it] - yMean) } / samples.indices.sumOf { (it - xMean) * (it - xMean) }
            println("resident memory over $n proofs: samples=$samples KiB, slope=${"%.1f".format(slope)} KiB/proof")
            assertTrue(slope < 1024.0, "resident memory grows ${"%.0f".format(slope)} KiB per proof (>= 1 MB): $samples")
            assertTrue(samples.last() - samples.first() < 16 * 1024, "grew ${samples.last() - samples.first()} KiB over $n proofs: $samples")
        }
    }

    @Test
    fun `a fresh Verifier verifies, and a changed proof or model id is refused`() = runBlocking {
        val (_, vault) = newVault()
        vault.use {
            prover.prove(vault, enrollSample(vault), model).use { bundle ->
                // Verifier.load reads the shape and verifying key from the cache prepare wrote.
                val statement = Verifier.load(model, SrsSource.Development, tmp.resolve("cache").toString()).use { it.verify(bundle) }
                assertEquals(prover.verifier(model).use { it.verify(bundle) }, statement)
                // ... and derives them in an empty cache directory (a verifier-only device).
                val empty = Files.createTempDirectory(tmp, "verifier-cache").toString()
                Verifier.load(model, SrsSource.Development, empty).use { verifier ->
                    assertEquals(statement, verifier.verify(bundle))
                    val bytes = bundle.toBytes()
                    // One flipped byte in the middle of the proof: InvalidProof.
                    val proof = bundle.proof()
                    val at = indexOf(bytes, proof) + proof.size / 2
                    val flipped = bytes.copyOf().also { it[at] = (it[at].toInt() xor 0x01).toByte() }
                    ProofBundle.fromBytes(flipped).use { bad -> assertFailsWith<ZkirisException.InvalidProof> { verifier.verify(bad) } }
                    // Another model id: WrongModel, naming both.
                    val id = model.id().chunked(2).map { it.toInt(16).toByte() }.toByteArray()
                    val other = bytes.copyOf().also { b -> val k = indexOf(b, id); for (x in 0 until 32) b[k + x] = 0x42 }
                    ProofBundle.fromBytes(other).use { bad ->
                        val e = assertFailsWith<ZkirisException.WrongModel> { verifier.verify(bad) }
                        assertEquals("42".repeat(32), e.found)
                        assertEquals(model.id(), e.expected)
                    }
                    assertFailsWith<ZkirisException.MalformedBundle> { ProofBundle.fromBytes(bytes.copyOf(bytes.size / 2)) }
                }
            }
        }
    }

    @Test
    fun `rotate moves the vault to a new key and delete shreds a record`() = runBlocking {
        val oldKeys = AesGcmKeyProvider("old-key", aesKey())
        val (dir, vault) = newVault(oldKeys)
        val newKeys = AesGcmKeyProvider("new-key", aesKey())
        val (a, b) = vault.use {
            val a = enrollSample(vault)
            val b = enrollSample(vault) { px -> px[1] = (px[1].toInt() xor 1).toByte() }
            val generation = vault.generation()
            vault.rotate(newKeys)
            assertEquals("new-key", vault.keyId())
            assertTrue(vault.generation() > generation)
            // Rotating to the same key id is refused, and changes nothing.
            assertFailsWith<ZkirisException.WrongKey> { vault.rotate(AesGcmKeyProvider("new-key", aesKey())) }
            assertEquals("new-key", vault.keyId())
            a to b
        }
        assertFailsWith<ZkirisException.WrongKey> { Vault.open(dir.toString(), oldKeys) }
        Vault.open(dir.toString(), newKeys).use { reopened ->
            assertEquals(setOf(a, b), reopened.list().map { it.id }.toSet())
            prover.prove(reopened, a, model).close()
            reopened.delete(a)
            assertEquals(listOf(b), reopened.list().map { it.id })
            assertFalse(dir.resolve("$a.rec").toFile().exists(), "the record file is gone")
            assertFailsWith<ZkirisException.NotFound> { reopened.delete(a) }
            val e = assertFailsWith<ZkirisException.NotFound> { prover.prove(reopened, a, model) }
            assertEquals(a, e.recordId)
            assertEquals(listOf(b), reopened.check().intact)
        }
        Vault.open(dir.toString(), newKeys).use { assertEquals(listOf(b), it.list().map { r -> r.id }) }
    }

    /** A provider over [inner] whose unwrap throws [failure] once armed. */
    private class Failing(private val inner: AesGcmKeyProvider, var failure: Throwable? = null) : KeyProvider {
        override fun keyId() = inner.keyId()
        override fun wrap(dataKey: ByteArray) = inner.wrap(dataKey)
        override fun unwrap(wrapped: ByteArray): ByteArray = failure?.let { throw it } ?: inner.unwrap(wrapped)
    }

    @Test
    fun `a key provider that throws is a typed exception, and an invalidated key is KeyInvalidated`() = runBlocking {
        val keys = Failing(AesGcmKeyProvider("k", aesKey()))
        val (dir, vault) = newVault(keys)
        val id = vault.use { enrollSample(it) }
        // Locked keystore / authentication cancelled: retryable.
        keys.failure = KeyProviderException.Unavailable("user cancelled authentication")
        val unavailable = assertFailsWith<ZkirisException.KeyUnavailable> { Vault.open(dir.toString(), keys) }
        assertTrue(unavailable.detail.contains("user cancelled"), unavailable.detail)
        // Gone for good (new biometric enrollment): KeyInvalidated, not KeyUnavailable.
        keys.failure = KeyProviderException.Invalidated("KeyPermanentlyInvalidatedException")
        val gone = assertFailsWith<ZkirisException.KeyInvalidated> { Vault.open(dir.toString(), keys) }
        assertTrue(gone.detail.contains("KeyPermanentlyInvalidatedException") && gone.message!!.contains("re-enroll"), gone.message)
        // A provider throwing something else: KeyUnavailable naming it, no crash.
        keys.failure = IllegalStateException("provider bug")
        assertFailsWith<ZkirisException.KeyUnavailable> { Vault.open(dir.toString(), keys) }
        // The same key, working again, opens the untouched vault; failing while proving too.
        keys.failure = null
        Vault.open(dir.toString(), keys).use { reopened ->
            keys.failure = KeyProviderException.Invalidated("key deleted")
            assertFailsWith<ZkirisException.KeyInvalidated> { prover.prove(reopened, id, model) }
            assertFailsWith<ZkirisException.KeyInvalidated> { reopened.check() }
            keys.failure = null
            prover.prove(reopened, id, model).close()
        }
        // AesGcmKeyProvider classifies Android's KeyPermanentlyInvalidatedException (anywhere in
        // the cause chain) as Invalidated and other keystore failures as Unavailable.
        val invalidated = android.security.keystore.KeyPermanentlyInvalidatedException("new fingerprint")
        assertIs<KeyProviderException.Invalidated>(keystoreFailure("unwrap", invalidated))
        assertIs<KeyProviderException.Invalidated>(keystoreFailure("wrap", java.security.GeneralSecurityException("wrapped", invalidated)))
        assertIs<KeyProviderException.Unavailable>(keystoreFailure("unwrap", java.security.InvalidKeyException("locked")))
    }

    @Test
    fun `cancelling the coroutine cancels prepare inside key generation`() = runBlocking {
        val cache = tmp.resolve("prepare-cancel")
        Prover(ProverConfig(cacheDir = cache.toString())).use { fresh ->
            val inKeygen = CompletableDeferred<Unit>()
            val fractions = CopyOnWriteArrayList<Double>()
            val job = launch {
                fresh.prepare(model, SrsSource.Development) {
                    fractions.add(it.fraction)
                    if (it.phase == Phase.KEYGEN && it.fraction > 0.4) inKeygen.complete(Unit)
                }
            }
            withTimeout(120_000) { inKeygen.await() }
            job.cancelAndJoin()
            assertTrue(fractions.max() < 1.0, "prepare ran to completion: $fractions")
            val keys = cache.toFile().listFiles().orEmpty().filter { it.name.startsWith("pk-") }
            assertTrue(keys.isEmpty(), "a cancelled prepare writes no proving key: $keys")
            // Not busy, not prepared: the next prepare generates the key.
            assertFailsWith<ZkirisException.NotPrepared> { fresh.verifier(model) }
            assertEquals(KeySource.GENERATED, fresh.prepare(model, SrsSource.Development).keySource)
        }
    }

    @Test
    fun `one operation at a time per prover, on its own threads`() = runBlocking {
        assertFailsWith<ZkirisException.InvalidInput> { Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString(), threads = 0u)) }
        Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString(), threads = 1u)).use { single ->
            single.prepare(model, SrsSource.Development)
            val (_, vault) = newVault()
            vault.use {
                val id = enrollSample(vault)
                val proving = CompletableDeferred<Unit>()
                val release = CompletableDeferred<Unit>()
                val threads = CopyOnWriteArrayList<String>()
                val first = async {
                    single.prove(vault, id, model) {
                        // The native thread's name (JNA gives attached threads Java names of its own).
                        threads.add(File("/proc/thread-self/comm").readText().trim())
                        if (it.phase == Phase.PROVE && proving.complete(Unit)) runBlocking { release.await() }
                    }
                }
                withTimeout(60_000) { proving.await() }
                // While the first proof runs, a second proof and a prepare are refused at once.
                assertFailsWith<ZkirisException.Busy> { single.prove(vault, id, model) }
                assertFailsWith<ZkirisException.Busy> { single.prepare(model, SrsSource.Development) }
                release.complete(Unit)
                first.await().use { assertTrue(it.proof().isNotEmpty()) }
                // ProverConfig.threads = 1: the work ran on the prover's one worker thread.
                assertEquals(setOf("zkiris-prover-0"), threads.toSet())
                // Free again.
                single.prove(vault, id, model).close()
            }
        }
    }

    @Test
    fun `vault calls run off the calling thread`() {
        // One thread, like Android's main thread: while Vault.openWithPassphrase derives its
        // key (Argon2id, 64 MiB) the thread must stay free to run other coroutines.
        val main = Executors.newSingleThreadExecutor { Thread(it, "fake-main") }
        try {
            runBlocking(main.asCoroutineDispatcher()) {
                val dir = Files.createTempDirectory(tmp, "offthread").resolve("v").toString()
                val seen = CopyOnWriteArrayList<String>()
                val keys = object : KeyProvider {
                    val inner = AesGcmKeyProvider("k", aesKey())
                    override fun keyId() = inner.keyId()
                    override fun wrap(dataKey: ByteArray) = inner.wrap(dataKey).also { seen.add(Thread.currentThread().name) }
                    override fun unwrap(wrapped: ByteArray) = inner.unwrap(wrapped).also { seen.add(Thread.currentThread().name) }
                }
                Vault.create(dir, keys).use { v -> enrollSample(v); v.check() }
                Vault.open(dir, keys).close()
                assertTrue(seen.isNotEmpty() && seen.none { it == "fake-main" }, "key provider called on $seen")
                val ticks = AtomicInteger()
                val ticker = launch { while (isActive) { ticks.incrementAndGet(); delay(5) } }
                val pdir = Files.createTempDirectory(tmp, "offthread-p").resolve("v").toString()
                val t0 = System.nanoTime()
                Vault.createWithPassphrase(pdir, "pw".toCharArray()).close()   // default cost: 64 MiB, 3 passes
                val ms = (System.nanoTime() - t0) / 1_000_000
                ticker.cancel()
                assertTrue(ticks.get() >= 3, "the calling thread was blocked: ${ticks.get()} ticks in $ms ms")
                // Model.load, Model.estimate and Verifier.load are suspend too.
                Model.load(modelFile("model.onnx"), modelFile("manifest.json"), listOf(DevKeys.issuer(modelDir))).use { m ->
                    assertEquals(model.id(), m.id())
                    val e = m.estimate()
                    assertTrue(e.keygenPeakMemoryMib > 0 && e.peakMemoryMib > 0, "$e")
                }
            }
        } finally {
            main.shutdown()
        }
    }

    @Test
    fun `prepare checks the larger of the key generation and proving peaks`() = runBlocking {
        val e = model.estimate()
        val required = kotlin.math.ceil(maxOf(e.keygenPeakMemoryMib, e.peakMemoryMib)).toULong()
        Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString(), memoryBudgetMib = required - 1uL)).use { small ->
            val oom = assertFailsWith<ZkirisException.OutOfMemoryEstimate> { small.prepare(model, SrsSource.Development) }
            assertEquals(required, oom.requiredMib)
            assertEquals(required - 1uL, oom.availableMib)
        }
        Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString(), memoryBudgetMib = required)).use { enough ->
            assertEquals(KeySource.CACHE, enough.prepare(model, SrsSource.Development).keySource)
        }
    }

    private fun indexOf(haystack: ByteArray, needle: ByteArray): Int =
        (0..haystack.size - needle.size).first { i -> needle.indices.all { haystack[i + it] == needle[it] } }

    /** VmRSS of this process (Linux). */
    private fun residentKib(): Long =
        File("/proc/self/status").readLines().first { it.startsWith("VmRSS:") }.split(Regex("\\s+"))[1].toLong()
}
