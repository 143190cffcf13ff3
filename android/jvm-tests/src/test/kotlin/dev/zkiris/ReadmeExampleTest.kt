package dev.zkiris

import dev.zkiris.ffi.Enrollment
import dev.zkiris.ffi.EnrollmentDevice
import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.ProveOptions
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProverConfig
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Submission
import dev.zkiris.ffi.SubmissionBinding
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.developmentDeviceId
import dev.zkiris.ffi.developmentIssuer
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
import dev.zkiris.ffi.submissionBindingValue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Test
import java.io.File
import java.nio.file.Files
import javax.crypto.KeyGenerator
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
        val file = { name: String -> File(repo, "models/test-tiny/$name").readBytes() }
        val tmp = Files.createTempDirectory("zkiris-readme")
        try {
            val keys = AesGcmKeyProvider("app-key", KeyGenerator.getInstance("AES").apply { init(256) }.generateKey())
            val submitter = SubmissionBinding(chainId = 31337uL, registry = ByteArray(20) { 0x11 }, account = ByteArray(20) { 0x22 })
            // Used only for mpc-shares models (this one is public-code).
            val partyKeys = (1..3).map { File(repo, "models/test-tiny-mpc/party$it.key.pub").readBytes() }
            val enrollment = EnrollmentDevice.development().use {
                it.enroll(irisImageFromPng(file("sample.png")), irisMaskFromPng(file("sample_mask.png")))
            }
            val seen = mutableListOf<Progress>()
            val (calldata, envelopes) = Model(file("model.onnx"), file("manifest.json"), listOf(developmentIssuer())).use { model ->
                registerIris(
                    tmp.resolve("vault").toString(), keys, model, SrsSource.Development, tmp.resolve("cache").toString(),
                    enrollment, developmentDeviceId(), submitter, partyKeys, onProgress = { synchronized(seen) { seen.add(it) } },
                )
            }
            // register(bytes32 modelId, bytes proof, uint256[] publicInputs, bytes signature):
            // 4-byte selector, 4 head words, then the dynamic parts, the binding among the inputs.
            assertTrue(calldata.size > 4 + 4 * 32 + 65, "calldata of ${calldata.size} bytes")
            assertTrue(contains(calldata, submissionBindingValue(submitter)), "the calldata carries the binding")
            assertTrue(envelopes.isEmpty(), "a public-code model has no envelopes")
            assertTrue(seen.any { it.fraction == 1.0 }, "progress reached 1.0: $seen")
            // The vault persists: a second run opens it and proves again (a fresh enrollment).
            // (The mpc-shares branch, three envelopes and no code, is MpcSharesJvmTest's: an
            // mpc-shares keygen and proof take minutes with the dev-profile library.)
            val again = EnrollmentDevice.development().use {
                it.enroll(irisImageFromPng(file("sample.png")), irisMaskFromPng(file("sample_mask.png")))
            }
            val (calldata2, envelopes2) = Model(file("model.onnx"), file("manifest.json"), listOf(developmentIssuer())).use { model ->
                registerIris(
                    tmp.resolve("vault").toString(), keys, model, SrsSource.Development, tmp.resolve("cache").toString(),
                    again, developmentDeviceId(), submitter, partyKeys, onProgress = {},
                )
            }
            assertTrue(contains(calldata2, submissionBindingValue(submitter)), "the calldata carries the binding")
            assertTrue(envelopes2.isEmpty())
        } finally {
            tmp.toFile().deleteRecursively()
        }
    }

    private fun contains(haystack: ByteArray, needle: ByteArray): Boolean =
        (0..haystack.size - needle.size).any { i -> needle.indices.all { haystack[i + it] == needle[it] } }
}
