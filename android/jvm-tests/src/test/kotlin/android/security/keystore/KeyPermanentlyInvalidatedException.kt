// TEST ONLY: a stand-in for Android's class of the same name (not on a desktop JVM), so the
// JVM tests can check that AesGcmKeyProvider recognises it by name.
package android.security.keystore

class KeyPermanentlyInvalidatedException(message: String) : java.security.InvalidKeyException(message)
