package dev.zkiris

import dev.zkiris.ffi.Enrollment
import dev.zkiris.ffi.EnrollmentDevice
import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProverConfig
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.developmentDeviceId
import dev.zkiris.ffi.developmentIssuer
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
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
    enrollment: Enrollment, trustedDevice: String, onProgress: (Progress) -> Unit,
): ByteArray {
    val exists = File(vaultDir, "vault.idx").exists()
    val vault = if (exists) Vault.open(vaultDir, keys) else Vault.create(vaultDir, keys)
    return vault.use {
        val recordId = vault.enroll(enrollment, listOf(trustedDevice))  // checks the Orb's signature
        Prover(ProverConfig(cacheDir = cacheDir)).use { prover ->
            prover.prepare(model, srs, onProgress = onProgress)          // keygen once, then cached
            prover.prove(vault, recordId, model, onProgress = onProgress).use { bundle ->
                bundle.registerCalldata()                                // IrisCodeRegistry.register
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
            val enrollment = EnrollmentDevice.development().use {
                it.enroll(irisImageFromPng(file("sample.png")), irisMaskFromPng(file("sample_mask.png")))
            }
            val seen = mutableListOf<Progress>()
            val calldata = Model(file("model.onnx"), file("manifest.json"), listOf(developmentIssuer())).use { model ->
                registerIris(
                    tmp.resolve("vault").toString(), keys, model, SrsSource.Development, tmp.resolve("cache").toString(),
                    enrollment, developmentDeviceId(), onProgress = { synchronized(seen) { seen.add(it) } },
                )
            }
            // register(bytes32 modelId, bytes proof, uint256[] publicInputs, bytes signature):
            // 4-byte selector, 4 head words, then the dynamic parts.
            assertTrue(calldata.size > 4 + 4 * 32 + 65, "calldata of ${calldata.size} bytes")
            assertTrue(seen.any { it.fraction == 1.0 }, "progress reached 1.0: $seen")
            // The vault persists: a second run opens it and proves again (a fresh enrollment).
            val again = EnrollmentDevice.development().use {
                it.enroll(irisImageFromPng(file("sample.png")), irisMaskFromPng(file("sample_mask.png")))
            }
            Model(file("model.onnx"), file("manifest.json"), listOf(developmentIssuer())).use { model ->
                registerIris(
                    tmp.resolve("vault").toString(), keys, model, SrsSource.Development, tmp.resolve("cache").toString(),
                    again, developmentDeviceId(), onProgress = {},
                )
            }
            Unit
        } finally {
            tmp.toFile().deleteRecursively()
        }
    }
}
