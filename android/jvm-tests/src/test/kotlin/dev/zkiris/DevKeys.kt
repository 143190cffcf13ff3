package dev.zkiris

import dev.zkiris.ffi.EnrollmentDevice
import dev.zkiris.ffi.TrustedIssuer
import java.io.File

/**
 * The INSECURE development issuer and enrollment device, read from the test model's directory
 * (`INSECURE-dev-issuer.txt`, `INSECURE-dev-device.key`, written by
 * bindings/tests/test_model_files.rs). The bindings do not export them: a phone build never
 * has development keys.
 */
object DevKeys {
    /** The issuer that signed the test models. */
    fun issuer(modelDir: File): TrustedIssuer {
        val (keyId, publicKey) = File(modelDir, "INSECURE-dev-issuer.txt").readText().trim().split(" ")
        return TrustedIssuer(keyId, publicKey)
    }

    /** The development enrollment device (its secret key is public). Close it after use. */
    fun device(modelDir: File): EnrollmentDevice =
        EnrollmentDevice.fromSecretKey(File(modelDir, "INSECURE-dev-device.key").readText().trim().hexToBytes())

    /** The development device's id. */
    fun deviceId(modelDir: File): String = device(modelDir).use { it.deviceId() }

    private fun String.hexToBytes(): ByteArray = chunked(2).map { it.toInt(16).toByte() }.toByteArray()
}
