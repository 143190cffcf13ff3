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
            throw KeyProviderException.Unavailable("AES-GCM wrap failed: $e")
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
            throw KeyProviderException.Unavailable("AES-GCM unwrap failed: $e")
        }
    }

    private companion object {
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val FORMAT: Byte = 1
        const val TAG_BYTES = 16
    }
}
