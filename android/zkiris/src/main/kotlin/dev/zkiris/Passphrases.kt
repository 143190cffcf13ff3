// Passphrase-locked vaults with scrubbed secrets. The generated API takes the passphrase as a
// ByteArray (UTF-8) so that no immutable String holds it; these overloads take the CharArray a
// password field gives (EditText.text / TextField), encode it to UTF-8 in a buffer they scrub,
// and scrub the caller's CharArray too once the call returns (or fails).
package dev.zkiris

import dev.zkiris.ffi.KdfCost
import dev.zkiris.ffi.Vault
import java.nio.ByteBuffer
import java.nio.CharBuffer
import java.nio.charset.StandardCharsets

/**
 * Runs [block] with the UTF-8 bytes of [passphrase], then zeroes the bytes, every intermediate
 * buffer, and [passphrase] itself.
 */
internal inline fun <T> withUtf8(passphrase: CharArray, block: (ByteArray) -> T): T {
    val encoder = StandardCharsets.UTF_8.newEncoder()
    val buffer: ByteBuffer = encoder.encode(CharBuffer.wrap(passphrase))
    val bytes = ByteArray(buffer.remaining())
    buffer.get(bytes)
    try {
        return block(bytes)
    } finally {
        bytes.fill(0)
        if (buffer.hasArray()) buffer.array().fill(0)
        passphrase.fill('\u0000')
    }
}

/**
 * Creates a vault in [dir] locked by [passphrase] (Argon2id at [kdf], default
 * `kdfCostMobile()`; below `kdfCostMinimum()` it throws `ZkirisException.KdfTooWeak` and writes
 * nothing). Off the caller's thread. **Zeroes [passphrase]** before returning.
 */
suspend fun Vault.Companion.createWithPassphrase(dir: String, passphrase: CharArray, kdf: KdfCost? = null): Vault =
    withUtf8(passphrase) { createWithPassphrase(dir, it, kdf) }

/** Opens the passphrase-locked vault in [dir]. Off the caller's thread. **Zeroes [passphrase].** */
suspend fun Vault.Companion.openWithPassphrase(dir: String, passphrase: CharArray): Vault =
    withUtf8(passphrase) { openWithPassphrase(dir, it) }

/** Re-locks this vault with [passphrase] (cost [kdf], as above). **Zeroes [passphrase].** */
suspend fun Vault.rotateToPassphrase(passphrase: CharArray, kdf: KdfCost? = null) =
    withUtf8(passphrase) { rotateToPassphrase(it, kdf) }
