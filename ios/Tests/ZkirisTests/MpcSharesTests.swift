// Private code submission through the Swift API, mirroring android/jvm-tests
// (MpcSharesJvmTest.kt): the mpc-shares tiny model (models/test-tiny-mpc) proven with the three
// MPC parties' public-key files and a submission binding. Expected values are computed here,
// independently of the bundle: the binding with a Swift Keccak-256, the key fingerprints with
// CryptoKit's SHA-256.
//
// What the JVM and Rust tests also check and this one cannot: opening each envelope with its
// party's secret key (and reconstructing the masked code from two shares). That is the MPC
// parties' job; the mobile bindings deliberately have no secret-key or envelope-opening API, and
// the JVM tests do it through a host-only test library (bindings/examples/mpc_test_party.rs)
// that is not built for iOS.

import CryptoKit
import Foundation
import XCTest
import Zkiris

final class MpcSharesTests: XCTestCase {
    static let repo = ZkirisTests.repo
    static let mpcDir = repo.appendingPathComponent("models/test-tiny-mpc")
    static let publicDir = repo.appendingPathComponent("models/test-tiny")
    static let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("zkiris-mpc-xctests-\(UUID().uuidString)")
    static var mpcModel: Model!
    static var publicModel: Model!
    static var prover: Prover!

    static func file(_ dir: URL, _ name: String) throws -> Data {
        try Data(contentsOf: dir.appendingPathComponent(name))
    }

    override class func setUp() {
        super.setUp()
        do {
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            mpcModel = try blocking { try await Model.load(onnx: Self.file(Self.mpcDir, "model.onnx"), manifest: Self.file(Self.mpcDir, "manifest.json"), trustedIssuers: [DevKeys.issuer(Self.mpcDir)]) }
            publicModel = try blocking { try await Model.load(onnx: Self.file(Self.publicDir, "model.onnx"), manifest: Self.file(Self.publicDir, "manifest.json"), trustedIssuers: [DevKeys.issuer(Self.publicDir)]) }
            precondition(mpcModel.submission() == .mpcShares && publicModel.submission() == .publicCode)
            prover = try Prover(config: ProverConfig(cacheDir: tmp.appendingPathComponent("cache").path))
            _ = try prover.prepare(model: mpcModel, srs: .development, listener: nil, cancel: nil)
            _ = try prover.prepare(model: publicModel, srs: .development, listener: nil, cancel: nil)
        } catch {
            fatalError("cannot load and prepare the test models: \(error)")
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
        super.tearDown()
    }

    /// The parties' public-key files, as an app gets them (party order 1, 2, 3).
    func partyKeys() throws -> [Data] {
        try (1...3).map { try Self.file(Self.mpcDir, "party\($0).key.pub") }
    }

    let binding = SubmissionBinding(chainId: 31337, registry: Data(repeating: 0x11, count: 20), account: Data(repeating: 0x22, count: 20))

    func enrolledVault() async throws -> (Vault, String) {
        let dir = Self.tmp.appendingPathComponent("vault-\(UUID().uuidString)")
        let vault = try await Vault.create(dir: dir.path, keyProvider: AESGCMKeyProvider(keyId: "k", key: SymmetricKey(size: .bits256)))
        let enrollment = try await DevKeys.device(Self.mpcDir).enroll(
            image: irisImageFromPng(png: Self.file(Self.mpcDir, "sample.png")),
            mask: irisMaskFromPng(png: Self.file(Self.mpcDir, "sample_mask.png")))
        return (vault, try await vault.enroll(enrollment: enrollment, trustedDevices: [DevKeys.deviceId(Self.mpcDir)]))
    }

    func testAnMpcSharesProofCarriesThreeEnvelopesAndNoCode() async throws {
        let (vault, id) = try await enrolledVault()
        let bundle = try await Self.prover.prove(
            vault: vault, recordId: id, model: Self.mpcModel, options: ProveOptions(binding: binding, partyKeys: partyKeys()))
        XCTAssertEqual(bundle.submission(), .mpcShares)
        XCTAssertTrue(bundle.irisCode().isEmpty && bundle.maskCode().isEmpty)
        XCTAssertNil(bundle.validBits())
        XCTAssertEqual(bundle.envelopes().count, 3)
        XCTAssertEqual(bundle.shareCommitments().count, 3)
        XCTAssertTrue(bundle.shareCommitments().allSatisfy { $0.count == 32 })
        XCTAssertEqual(bundle.publicInputs().count, 7)

        // keccak256(uint256 chainId ‖ registry ‖ account) mod r, computed here.
        let expected = bindingValue(binding)
        XCTAssertEqual(bundle.binding(), expected)
        XCTAssertEqual(try submissionBindingValue(binding: binding), expected)
        XCTAssertTrue(try bundle.isBound(to: binding))
        var other = binding
        other.account = Data(repeating: 0x23, count: 20)
        XCTAssertFalse(try bundle.isBound(to: other))

        let again = try ProofBundle.fromBytes(bytes: bundle.toBytes())
        let statement = try await Self.prover.verifier(model: Self.mpcModel).verify(bundle: again)
        XCTAssertEqual(statement.submission, .mpcShares)
        XCTAssertEqual(statement.binding, expected)
        XCTAssertEqual(statement.commitment, vault.list()[0].commitment)
        XCTAssertEqual(statement.shareCommitments, bundle.shareCommitments())
        XCTAssertTrue(statement.irisCode.isEmpty)
        XCTAssertNil(statement.validBits)

        // The public-code model on the same enrollment: the codes, no envelopes.
        let pub = try await Self.prover.prove(vault: vault, recordId: id, model: Self.publicModel, options: ProveOptions(binding: binding))
        XCTAssertEqual(pub.submission(), .publicCode)
        XCTAssertTrue(pub.envelopes().isEmpty && pub.shareCommitments().isEmpty)
        XCTAssertFalse(pub.irisCode().isEmpty)
        XCTAssertTrue(try pub.isBound(to: binding))
    }

    func testMissingUnexpectedAndInvalidPartyKeysAreTypedErrors() async throws {
        let (vault, id) = try await enrolledVault()
        let keys = try partyKeys()
        let secret = try Self.file(Self.mpcDir, "party1.key")
        func prove(_ model: Model, _ options: ProveOptions) async throws {
            _ = try await Self.prover.prove(vault: vault, recordId: id, model: model, options: options)
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding))
            XCTFail("proved an mpc-shares model without party keys")
        } catch let ZkirisError.MissingPartyKeys(modelId, given) {
            XCTAssertEqual(modelId, Self.mpcModel.id())
            XCTAssertEqual(given, 0)
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding, partyKeys: Array(keys.prefix(2))))
            XCTFail("proved with two party keys")
        } catch let ZkirisError.MissingPartyKeys(_, given) {
            XCTAssertEqual(given, 2)
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding, partyKeys: keys + [keys[0]]))
            XCTFail("proved with four party keys")
        } catch let ZkirisError.InvalidPartyKey(party, _) {
            XCTAssertEqual(party, 4)
        }
        do {
            try await prove(Self.publicModel, ProveOptions(binding: binding, partyKeys: keys))
            XCTFail("proved a public-code model with party keys")
        } catch let ZkirisError.UnexpectedPartyKeys(modelId) {
            XCTAssertEqual(modelId, Self.publicModel.id())
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding, partyKeys: [keys[0], Data("junk".utf8), keys[2]]))
            XCTFail("proved with a garbage party key")
        } catch let ZkirisError.InvalidPartyKey(party, _) {
            XCTAssertEqual(party, 2)
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding, partyKeys: [secret, keys[1], keys[2]]))
            XCTFail("proved with a secret-key file as a public key")
        } catch let ZkirisError.InvalidPartyKey(party, detail) {
            XCTAssertEqual(party, 1)
            XCTAssertTrue(detail.contains("secret key"), detail)
        }
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: binding, partyKeys: [keys[0], keys[1], keys[1]]))
            XCTFail("proved with a repeated party key")
        } catch let ZkirisError.InvalidPartyKey(party, _) {
            XCTAssertEqual(party, 3)
        }
        var short = binding
        short.registry = Data(count: 19)
        do {
            try await prove(Self.mpcModel, ProveOptions(binding: short, partyKeys: keys))
            XCTFail("proved with a 19-byte registry address")
        } catch ZkirisError.InvalidInput {}

        // A party key's fingerprint is the SHA-256 of its file; a secret-key file is refused.
        for key in keys {
            XCTAssertEqual(try partyPublicKeyFingerprint(publicKey: key), Data(SHA256.hash(data: key)))
        }
        XCTAssertThrowsError(try partyPublicKeyFingerprint(publicKey: secret)) { error in
            guard case let ZkirisError.InvalidPartyKey(party, _) = error else { return XCTFail("\(error)") }
            XCTAssertNil(party)
        }
    }

    func testTheSwiftKeccak256MatchesThePublishedVectors() {
        XCTAssertEqual(hex(Keccak256.digest(Data())), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        XCTAssertEqual(hex(Keccak256.digest(Data("abc".utf8))), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
    }

    func hex(_ d: Data) -> String { d.map { String(format: "%02x", $0) }.joined() }

    /// Solidity's `uint256(keccak256(abi.encodePacked(block.chainid, registry, msg.sender))) % r`.
    func bindingValue(_ b: SubmissionBinding) -> Data {
        var pre = Data(count: 24)
        withUnsafeBytes(of: b.chainId.bigEndian) { pre.append(contentsOf: $0) }
        pre.append(b.registry)
        pre.append(b.account)
        return modR(Keccak256.digest(pre))
    }

    /// The BN254 scalar field modulus r, big-endian 64-bit limbs.
    static let r: [UInt64] = [0x30644e72e131a029, 0xb85045b68181585d, 0x2833e84879b97091, 0x43e1f593f0000001]

    /// A 32-byte big-endian integer (< 2^256 < 6r) reduced modulo r by repeated subtraction.
    func modR(_ bytes: Data) -> Data {
        var x: [UInt64] = (0..<4).map { i in bytes[(8 * i)..<(8 * i + 8)].reduce(UInt64(0)) { ($0 << 8) | UInt64($1) } }
        func geq(_ a: [UInt64], _ b: [UInt64]) -> Bool {
            for i in 0..<4 where a[i] != b[i] { return a[i] > b[i] }
            return true
        }
        while geq(x, Self.r) {
            var borrow: UInt64 = 0
            for i in (0..<4).reversed() {
                let (d1, o1) = x[i].subtractingReportingOverflow(Self.r[i])
                let (d2, o2) = d1.subtractingReportingOverflow(borrow)
                x[i] = d2
                borrow = (o1 || o2) ? 1 : 0
            }
        }
        var out = Data()
        for limb in x { withUnsafeBytes(of: limb.bigEndian) { out.append(contentsOf: $0) } }
        return out
    }
}

/// Keccak-256 (the original Keccak padding, as Ethereum uses; not SHA3-256).
enum Keccak256 {
    static let rc: [UInt64] = [
        0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
        0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
        0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
        0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
        0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
        0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008,
    ]
    /// Rotation of lane (x, y), indexed x + 5y.
    static let rot: [UInt64] = [0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14]

    static func rotl(_ v: UInt64, _ n: UInt64) -> UInt64 { n == 0 ? v : (v << n) | (v >> (64 - n)) }

    static func permute(_ a: inout [UInt64]) {
        var c = [UInt64](repeating: 0, count: 5)
        var b = [UInt64](repeating: 0, count: 25)
        for round in 0..<24 {
            for x in 0..<5 { c[x] = a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] }
            for x in 0..<5 {
                let d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1)
                for y in 0..<5 { a[x + 5 * y] ^= d }
            }
            for x in 0..<5 { for y in 0..<5 { b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(a[x + 5 * y], rot[x + 5 * y]) } }
            for x in 0..<5 { for y in 0..<5 { a[x + 5 * y] = b[x + 5 * y] ^ (~b[(x + 1) % 5 + 5 * y] & b[(x + 2) % 5 + 5 * y]) } }
            a[0] ^= rc[round]
        }
    }

    static func digest(_ input: Data) -> Data {
        let rate = 136
        var padded = [UInt8](input)
        let total = (input.count / rate + 1) * rate
        padded += [UInt8](repeating: 0, count: total - input.count)
        padded[input.count] ^= 0x01
        padded[total - 1] ^= 0x80
        var state = [UInt64](repeating: 0, count: 25)
        for block in 0..<(total / rate) {
            for i in 0..<(rate / 8) {
                var lane: UInt64 = 0
                for j in 0..<8 { lane |= UInt64(padded[block * rate + 8 * i + j]) << (8 * UInt64(j)) }
                state[i] ^= lane
            }
            permute(&state)
        }
        return Data((0..<32).map { UInt8(truncatingIfNeeded: state[$0 / 8] >> (8 * UInt64($0 % 8))) })
    }
}
