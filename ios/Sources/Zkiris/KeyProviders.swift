// Key providers for the vault: AES-GCM under a CryptoKit key (the same wrapped format as the
// Kotlin AesGcmKeyProvider), and a Secure Enclave key (ECIES, P-256).

import CryptoKit
import Foundation
import Security
import ZkirisFFI

/// Overwrites the bytes of a buffer the bindings handed over (a data key) with zeros before it
/// is released. `Data` is a value type: this writes through its storage on purpose, as
/// `memset_s` (which the compiler may not elide).
func scrub(_ data: Data) {
    data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
        guard let base = raw.baseAddress, raw.count > 0 else { return }
        _ = memset_s(UnsafeMutableRawPointer(mutating: base), raw.count, 0, raw.count)
    }
}

/// A `KeyProvider` that wraps the vault's data keys with AES-GCM under a CryptoKit
/// `SymmetricKey` (for example one kept in the Keychain).
///
/// Wrapped format (identical to the Kotlin `AesGcmKeyProvider`): `0x01 ‖ nonce length (12) ‖
/// nonce ‖ ciphertext ‖ 16-byte tag`, with associated data
/// `"zkiris/vault/wrap/aes-gcm/v1" ‖ keyId`.
public final class AESGCMKeyProvider: KeyProvider, @unchecked Sendable {
    private let id: String
    private let key: SymmetricKey
    private let aad: Data

    /// - Parameters:
    ///   - keyId: a stable, non-secret name for the key.
    ///   - key: a 256-bit key.
    public init(keyId: String, key: SymmetricKey) {
        self.id = keyId
        self.key = key
        self.aad = Data("zkiris/vault/wrap/aes-gcm/v1".utf8) + Data(keyId.utf8)
    }

    public func keyId() -> String { id }

    /// Seals `dataKey`, then scrubs its bytes (the bindings hand over a buffer of its own).
    public func wrap(dataKey: Data) throws -> Data {
        defer { scrub(dataKey) }
        do {
            let box = try AES.GCM.seal(dataKey, using: key, nonce: AES.GCM.Nonce(), authenticating: aad)
            let nonce = Data(box.nonce)
            return Data([1, UInt8(nonce.count)]) + nonce + box.ciphertext + box.tag
        } catch {
            throw KeyProviderError.Unavailable(reason: "AES-GCM wrap failed: \(error)")
        }
    }

    public func unwrap(wrapped: Data) throws -> Data {
        let bytes = [UInt8](wrapped)
        guard bytes.count >= 2, bytes[0] == 1 else { throw KeyProviderError.WrongKey }
        let nonceLength = Int(bytes[1])
        guard nonceLength > 0, bytes.count >= 2 + nonceLength + 16 else { throw KeyProviderError.WrongKey }
        let nonce = Data(bytes[2..<(2 + nonceLength)])
        let ciphertext = Data(bytes[(2 + nonceLength)..<(bytes.count - 16)])
        let tag = Data(bytes[(bytes.count - 16)...])
        do {
            let box = try AES.GCM.SealedBox(nonce: AES.GCM.Nonce(data: nonce), ciphertext: ciphertext, tag: tag)
            return try AES.GCM.open(box, using: key, authenticating: aad)
        } catch {
            // CryptoKitError.authenticationFailure (another key, or altered bytes), or a
            // malformed nonce: either way these bytes were not wrapped by this key.
            throw KeyProviderError.WrongKey
        }
    }
}

/// A `KeyProvider` backed by a P-256 key in the Secure Enclave: data keys are wrapped with
/// ECIES (`eciesEncryptionCofactorVariableIVX963SHA256AESGCM`) to its public key and can only
/// be unwrapped by the enclave. Needs a device with a Secure Enclave (not the simulator).
public final class SecureEnclaveKeyProvider: KeyProvider, @unchecked Sendable {
    private static let algorithm = SecKeyAlgorithm.eciesEncryptionCofactorVariableIVX963SHA256AESGCM
    private let tag: String
    /// The key pair; `nil` when the Keychain item is gone (deleted, or erased with the device's
    /// passcode): every call then throws `KeyProviderError.Invalidated`.
    private let keys: (privateKey: SecKey, publicKey: SecKey)?

    /// Loads the enclave key stored under `tag`, creating it if missing and `createIfMissing`.
    ///
    /// Pass `createIfMissing: false` to open an existing vault: if the key is gone, a new
    /// key could never unwrap the vault's data keys, so wrap/unwrap throw
    /// `KeyProviderError.Invalidated` and the vault reports `ZkirisError.KeyInvalidated`
    /// (delete the vault and re-enroll) instead of a misleading `WrongKey`.
    ///
    /// - Parameter accessControl: who may use the key; default: this device only, while
    ///   unlocked. Add `.userPresence` to require Face ID / Touch ID / passcode per use (a
    ///   cancelled prompt is reported as `ZkirisError.KeyUnavailable`). With
    ///   `.biometryCurrentSet`, enrolling a new finger or face deletes the key's usability:
    ///   also `KeyInvalidated`.
    public init(tag: String, accessControl: SecAccessControlCreateFlags = [.privateKeyUsage], createIfMissing: Bool = true) throws {
        self.tag = tag
        let tagData = Data(tag.utf8)
        let query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: tagData,
            kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
            kSecReturnRef as String: true,
        ]
        var item: CFTypeRef?
        let privateKey: SecKey
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecSuccess, let found = item {
            privateKey = found as! SecKey // swiftlint:disable:this force_cast (kSecReturnRef of a key is a SecKey)
        } else if status == errSecItemNotFound && !createIfMissing {
            keys = nil
            return
        } else {
            var error: Unmanaged<CFError>?
            guard let access = SecAccessControlCreateWithFlags(nil, kSecAttrAccessibleWhenUnlockedThisDeviceOnly, accessControl, &error) else {
                throw KeyProviderError.Unavailable(reason: "access control: \(String(describing: error?.takeRetainedValue()))")
            }
            let attributes: [String: Any] = [
                kSecAttrKeyType as String: kSecAttrKeyTypeECSECPrimeRandom,
                kSecAttrKeySizeInBits as String: 256,
                kSecAttrTokenID as String: kSecAttrTokenIDSecureEnclave,
                kSecPrivateKeyAttrs as String: [
                    kSecAttrIsPermanent as String: true,
                    kSecAttrApplicationTag as String: tagData,
                    kSecAttrAccessControl as String: access,
                ],
            ]
            guard let created = SecKeyCreateRandomKey(attributes as CFDictionary, &error) else {
                throw KeyProviderError.Unavailable(reason: "cannot create the Secure Enclave key: \(String(describing: error?.takeRetainedValue()))")
            }
            privateKey = created
        }
        guard let pub = SecKeyCopyPublicKey(privateKey) else {
            throw KeyProviderError.Unavailable(reason: "the Secure Enclave key has no public key")
        }
        keys = (privateKey, pub)
    }

    public func keyId() -> String { tag }

    private func present() throws -> (privateKey: SecKey, publicKey: SecKey) {
        guard let keys else {
            throw KeyProviderError.Invalidated(reason: "the Secure Enclave key \(tag) no longer exists (errSecItemNotFound)")
        }
        return keys
    }

    /// Wraps `dataKey` to the enclave key, then scrubs it.
    public func wrap(dataKey: Data) throws -> Data {
        defer { scrub(dataKey) }
        let (_, publicKey) = try present()
        var error: Unmanaged<CFError>?
        guard let out = SecKeyCreateEncryptedData(publicKey, Self.algorithm, dataKey as CFData, &error) else {
            throw KeyProviderError.Unavailable(reason: "ECIES wrap failed: \(String(describing: error?.takeRetainedValue()))")
        }
        return out as Data
    }

    public func unwrap(wrapped: Data) throws -> Data {
        let (privateKey, _) = try present()
        var error: Unmanaged<CFError>?
        guard let out = SecKeyCreateDecryptedData(privateKey, Self.algorithm, wrapped as CFData, &error) else {
            let cfError = error?.takeRetainedValue()
            let code = cfError.map { CFErrorGetCode($0) } ?? 0
            // The key was deleted or invalidated (biometry set changed) since it was loaded.
            if code == Int(errSecItemNotFound) || code == Int(errSecInvalidKeyRef) {
                throw KeyProviderError.Invalidated(reason: "Secure Enclave: \(String(describing: cfError))")
            }
            // errSecUserCanceled / errSecAuthFailed / errSecInteractionNotAllowed: the key is
            // there but may not be used now. Anything else: these bytes do not decrypt.
            if code == Int(errSecUserCanceled) || code == Int(errSecAuthFailed) || code == Int(errSecInteractionNotAllowed) {
                throw KeyProviderError.Unavailable(reason: "Secure Enclave: \(String(describing: cfError))")
            }
            throw KeyProviderError.WrongKey
        }
        return out as Data
    }

    /// Deletes the enclave key `tag` (after `Vault.rotate` moved the vault to another key).
    public static func deleteKey(tag: String) {
        let query: [String: Any] = [
            kSecClass as String: kSecClassKey,
            kSecAttrApplicationTag as String: Data(tag.utf8),
        ]
        SecItemDelete(query as CFDictionary)
    }
}
