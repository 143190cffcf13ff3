package dev.zkiris

import dev.zkiris.ffi.Enrollment
import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.ProveOptions
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProverConfig
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Submission
import dev.zkiris.ffi.SubmissionBinding
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.Phase
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
import dev.zkiris.ffi.submissionBindingValue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator
import kotlin.test.assertEquals
import kotlin.test.assertTrue

// The Kotlin example of bindings/README.md is the code between the markers below, compiled and
// run here; scripts/test (bindings/check-readme-examples.sh) fails if the README's copy differs.

// README-BEGIN
suspend fun registerIris(
    vaultDir: String, keys: KeyProvider, model: Model, srs: SrsSource, cacheDir: String,
    enrollment: Enrollment, trustedDevice: String, submitter: SubmissionBinding,
    mpcPartyKeys: List<ByteArray>, onProgress: (Progress) -> Unit,
): Pair<ByteArray, List<ByteArray>> {
    val exists = File(vaultDir, "vault.idx").exists()
    val vault = if (exists) Vault.open(vaultDir, keys) else Vault.create(vaultDir, keys)
    return vault.use {
        val recordId = vault.enroll(enrollment, listOf(trustedDevice))  // checks the Orb's signature
        val options = ProveOptions(
            binding = submitter,                                         // chain id, registry, msg.sender
            partyKeys = if (model.submission() == Submission.MPC_SHARES) mpcPartyKeys else emptyList(),
        )
        Prover(ProverConfig(cacheDir = cacheDir)).use { prover ->
            prover.prepare(model, srs, onProgress = onProgress)          // keygen once, then cached
            prover.prove(vault, recordId, model, options, onProgress = onProgress).use { bundle ->
                // IrisCodeRegistry.register, and (mpc-shares) envelope p for MPC party p.
                bundle.registerCalldata() to bundle.envelopes()
            }
        }
    }
}
// README-END

class ReadmeExampleTest {
    @Test
    fun `the README example registers an enrollment`() = runBlocking {
        val repo = File(System.getProperty("zkiris.repo") ?: "../..")
        val dir = File(repo, "models/test-tiny")
        val file = { name: String -> File(dir, name).readBytes() }
        val tmp = Files.createTempDirectory("zkiris-readme")
        try {
            val keys = AesGcmKeyProvider("app-key", KeyGenerator.getInstance("AES").apply { init(256) }.generateKey())
            val submitter = SubmissionBinding(chainId = 31337uL, registry = ByteArray(20) { 0x11 }, account = ByteArray(20) { 0x22 })
            // Used only for mpc-shares models (this one is public-code).
            val partyKeys = (1..3).map { File(repo, "models/test-tiny-mpc/party$it.key.pub").readBytes() }
            val enroll = suspend {
                DevKeys.device(dir).use { it.enroll(irisImageFromPng(file("sample.png")), irisMaskFromPng(file("sample_mask.png"))) }
            }
            val enrollment = enroll()
            val seen = mutableListOf<Progress>()
            val vaultDir = tmp.resolve("vault").toString()
            val model = Model.load(file("model.onnx"), file("manifest.json"), listOf(DevKeys.issuer(dir)))
            val modelId = model.id()
            val (calldata, envelopes) = model.use {
                registerIris(
                    vaultDir, keys, model, SrsSource.Development, tmp.resolve("cache").toString(),
                    enrollment, DevKeys.deviceId(dir), submitter, partyKeys, onProgress = { synchronized(seen) { seen.add(it) } },
                )
            }
            // register(bytes32 modelId, bytes proof, uint256[] publicInputs, bytes signature):
            // the selector, then the model id as the first head word; the commitment (public
            // input 0), the binding and the device's signature are in the dynamic parts.
            assertTrue(calldata.size > 4 + 4 * 32 + 65, "calldata of ${calldata.size} bytes")
            assertEquals(modelId, calldata.copyOfRange(4, 36).joinToString("") { "%02x".format(it) })
            assertTrue(contains(calldata, enrollment.commitment), "the calldata carries the enrollment's commitment")
            assertTrue(contains(calldata, enrollment.signature), "the calldata carries the device signature")
            assertTrue(contains(calldata, submissionBindingValue(submitter)), "the calldata carries the binding")
            assertTrue(envelopes.isEmpty(), "a public-code model has no envelopes")
            // Both operations reported: key generation (first run, empty cache) and the proof.
            assertTrue(seen.any { it.phase == Phase.KEYGEN } && seen.any { it.phase == Phase.PROVE }, "phases: ${seen.map { it.phase }.distinct()}")
            assertTrue(seen.filter { it.phase == Phase.PROVE }.maxOf { it.fraction } == 1.0, "the proof reached 1.0")
            // The vault persists: a second run opens it and proves again (a fresh enrollment).
            // (The mpc-shares branch, three envelopes and no code, is MpcSharesJvmTest's: an
            // mpc-shares keygen and proof take minutes with the dev-profile library.)
            val again = enroll()
            val (calldata2, envelopes2) = Model.load(file("model.onnx"), file("manifest.json"), listOf(DevKeys.issuer(dir))).use { m ->
                registerIris(
                    vaultDir, keys, m, SrsSource.Development, tmp.resolve("cache").toString(),
                    again, DevKeys.deviceId(dir), submitter, partyKeys, onProgress = {},
                )
            }
            assertTrue(contains(calldata2, again.commitment) && !contains(calldata2, enrollment.commitment))
            assertTrue(contains(calldata2, submissionBindingValue(submitter)), "the calldata carries the binding")
            assertTrue(envelopes2.isEmpty())
            // Both enrollments are in the one vault, intact.
            Vault.open(vaultDir, keys).use { vault ->
                assertEquals(setOf(enrollment.commitment.toList(), again.commitment.toList()), vault.list().map { it.commitment.toList() }.toSet())
                assertEquals(2, vault.check().intact.size)
            }
        } finally {
            tmp.toFile().deleteRecursively()
        }
    }

    private fun contains(haystack: ByteArray, needle: ByteArray): Boolean =
        (0..haystack.size - needle.size).any { i -> needle.indices.all { haystack[i + it] == needle[it] } }
}
