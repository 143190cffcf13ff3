package dev.zkiris

import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.KeyProviderException
import java.security.GeneralSecurityException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec

/**
 * A [KeyProvider] that wraps the vault's data keys with AES-GCM under a JCA [SecretKey].
 *
 * On Android pass a key from the Android Keystore (see `AndroidKeystore.keyProvider` in this
 * library): the key never leaves secure hardware, and the Keystore picks the IV itself, as it
 * requires. On a JVM any AES key works.
 *
 * Wrapped format: `0x01 ‖ IV length (1 byte) ‖ IV ‖ AES-GCM(data key) ‖ 16-byte tag`, with
 * associated data `"zkiris/vault/wrap/aes-gcm/v1" ‖ keyId`, so a wrapped key only unwraps
 * under the same key *and* key id.
 *
 * @param keyId a stable, non-secret name for the key (for example its Keystore alias).
 */
class AesGcmKeyProvider(private val keyId: String, private val key: SecretKey) : KeyProvider {
    private val aad = "zkiris/vault/wrap/aes-gcm/v1".toByteArray() + keyId.toByteArray()

    override fun keyId(): String = keyId

    /** Seals [dataKey] and then scrubs it (the array is ours: the bindings hand over a copy). */
    override fun wrap(dataKey: ByteArray): ByteArray {
        try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key)
            cipher.updateAAD(aad)
            val iv = cipher.iv
            val sealed = cipher.doFinal(dataKey)
            return byteArrayOf(FORMAT, iv.size.toByte()) + iv + sealed
        } catch (e: GeneralSecurityException) {
            // Locked keystore, user authentication required, invalidated key, ...
            throw keystoreFailure("wrap", e)
        } finally {
            dataKey.fill(0)
        }
    }

    override fun unwrap(wrapped: ByteArray): ByteArray {
        if (wrapped.size < 2 || wrapped[0] != FORMAT) throw KeyProviderException.WrongKey()
        val ivLength = wrapped[1].toInt() and 0xff
        val body = 2 + ivLength
        if (ivLength == 0 || wrapped.size < body + TAG_BYTES) throw KeyProviderException.WrongKey()
        try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key, GCMParameterSpec(TAG_BYTES * 8, wrapped, 2, ivLength))
            cipher.updateAAD(aad)
            return cipher.doFinal(wrapped, body, wrapped.size - body)
        } catch (e: AEADBadTagException) {
            throw KeyProviderException.WrongKey()
        } catch (e: GeneralSecurityException) {
            throw keystoreFailure("unwrap", e)
        }
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val FORMAT: Byte = 1
        const val TAG_BYTES = 16
    }
}

/**
 * Classifies a keystore failure: a key the platform invalidated for good (Android's
 * `android.security.keystore.KeyPermanentlyInvalidatedException`: a new fingerprint or face was
 * enrolled, or the screen lock removed, for a key bound to user authentication) is
 * [KeyProviderException.Invalidated], which the vault reports as
 * `ZkirisException.KeyInvalidated` (re-enroll); anything else (locked, authentication needed) is
 * the retryable [KeyProviderException.Unavailable]. Matched by class name (anywhere in the cause
 * chain) so that this file compiles without the Android SDK.
 */
internal fun keystoreFailure(operation: String, e: Throwable): KeyProviderException {
    val invalidated = generateSequence(e) { it.cause }.any { it.javaClass.name == KEY_PERMANENTLY_INVALIDATED }
    return if (invalidated) {
        KeyProviderException.Invalidated("AES-GCM $operation: the key was permanently invalidated ($e)")
    } else {
        KeyProviderException.Unavailable("AES-GCM $operation failed: $e")
    }
}

private const val KEY_PERMANENTLY_INVALIDATED = "android.security.keystore.KeyPermanentlyInvalidatedException"
