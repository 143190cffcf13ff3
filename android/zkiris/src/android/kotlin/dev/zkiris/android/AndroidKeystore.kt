// Android-only helpers (compiled by the Gradle module only; the JVM tests exercise the same
// AesGcmKeyProvider with a software key).
package dev.zkiris.android

import android.os.Build
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import dev.zkiris.AesGcmKeyProvider
import dev.zkiris.ffi.KeyProvider
import dev.zkiris.ffi.KeyProviderException
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey

/** Vault keys held in the Android Keystore (hardware-backed where the device has it). */
object AndroidKeystore {
    private const val PROVIDER = "AndroidKeyStore"

    /**
     * Returns the AES-256 key under [alias], creating it on first use. With
     * [userAuthenticationSeconds] > 0 the key only works that many seconds after the user
     * authenticated (biometric or device credential); wrapping fails with
     * `KeyProviderException.Unavailable` otherwise, which zkiris reports as
     * `ZkirisException.KeyUnavailable` (retry after authenticating). Such a key is invalidated
     * by Android when a new biometric is enrolled or the screen lock is removed
     * (`KeyPermanentlyInvalidatedException`): [keyProvider] reports that as
     * `KeyProviderException.Invalidated`, and the vault as `ZkirisException.KeyInvalidated`:
     * the records locked by it are lost; delete the vault and the key ([deleteKey]) and
     * re-enroll.
     */
    fun getOrCreateKey(alias: String, userAuthenticationSeconds: Int = 0): SecretKey {
        val keyStore = KeyStore.getInstance(PROVIDER).apply { load(null) }
        (keyStore.getKey(alias, null) as? SecretKey)?.let { return it }
        val spec = KeyGenParameterSpec.Builder(alias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
            .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
            .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
            .setKeySize(256)
            .apply {
                if (userAuthenticationSeconds > 0) {
                    setUserAuthenticationRequired(true)
                    if (Build.VERSION.SDK_INT >= Build.VERSION_CODES.R) {
                        setUserAuthenticationParameters(
                            userAuthenticationSeconds,
                            KeyProperties.AUTH_BIOMETRIC_STRONG or KeyProperties.AUTH_DEVICE_CREDENTIAL,
                        )
                    } else {
                        @Suppress("DEPRECATION")
                        setUserAuthenticationValidityDurationSeconds(userAuthenticationSeconds)
                    }
                }
            }
            .build()
        return KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, PROVIDER).run {
            init(spec)
            generateKey()
        }
    }

    /**
     * A vault [KeyProvider] backed by the Keystore key [alias].
     *
     * Pass `createIfMissing = false` to open an existing vault: if the key is gone (Android
     * deletes auth-bound keys when the screen lock is removed; an app-data wipe of the keystore),
     * a fresh key could never unwrap the vault's data keys, so the provider throws
     * `KeyProviderException.Invalidated` and the vault reports `ZkirisException.KeyInvalidated`
     * (re-enroll) instead of a misleading `WrongKey`.
     */
    fun keyProvider(alias: String, userAuthenticationSeconds: Int = 0, createIfMissing: Boolean = true): KeyProvider {
        val existing = KeyStore.getInstance(PROVIDER).apply { load(null) }.getKey(alias, null) as? SecretKey
        if (existing == null && !createIfMissing) return MissingKey(alias)
        return AesGcmKeyProvider(alias, existing ?: getOrCreateKey(alias, userAuthenticationSeconds))
    }

    /** The provider for a key that no longer exists: every use is [KeyProviderException.Invalidated]. */
    private class MissingKey(private val alias: String) : KeyProvider {
        override fun keyId(): String = alias
        override fun wrap(dataKey: ByteArray): ByteArray {
            dataKey.fill(0)
            throw KeyProviderException.Invalidated("the Android Keystore key $alias no longer exists")
        }
        override fun unwrap(wrapped: ByteArray): ByteArray =
            throw KeyProviderException.Invalidated("the Android Keystore key $alias no longer exists")
    }

    /** Deletes the key [alias] (after `Vault.rotate` moved the vault to another key). */
    fun deleteKey(alias: String) {
        KeyStore.getInstance(PROVIDER).apply { load(null) }.deleteEntry(alias)
    }
}
