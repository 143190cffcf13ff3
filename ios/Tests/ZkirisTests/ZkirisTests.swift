// XCTests of the Swift package, mirroring android/jvm-tests (ZkirisJvmTest.kt and
// ReadmeExampleTest.kt) test for test; NOT RUN here (no Swift toolchain): real proofs of
// the tiny test model (models/test-tiny, loaded from its files as an app downloads it) through
// the Swift API. Run on a Mac after ios/scripts/build-xcframework.sh:
//   cd ios && xcodebuild test -scheme Zkiris -destination 'platform=iOS Simulator,name=iPhone 16'
// (or `swift test` with a macOS slice: WITH_MACOS=1 scripts/build-xcframework.sh).

import CryptoKit
import Darwin
import Foundation
import XCTest
import Zkiris

// The Swift example of bindings/README.md is the code between the markers below (compiled by
// this test target); scripts/test (bindings/check-readme-examples.sh) fails if the README's copy
// differs.

// README-BEGIN
func registerIris(vaultDir: String, keys: KeyProvider, model: Model, srs: SrsSource, cacheDir: String,
                  enrollment: Enrollment, trustedDevice: String, submitter: SubmissionBinding,
                  mpcPartyKeys: [Data]) async throws -> (calldata: Data, envelopes: [Data]) {
    let exists = FileManager.default.fileExists(atPath: vaultDir + "/vault.idx")
    let vault = try await exists ? Vault.open(dir: vaultDir, keyProvider: keys)
                                 : Vault.create(dir: vaultDir, keyProvider: keys)
    let recordId = try await vault.enroll(enrollment: enrollment, trustedDevices: [trustedDevice])
    let options = ProveOptions(binding: submitter,                  // chain id, registry, msg.sender
                               partyKeys: model.submission() == .mpcShares ? mpcPartyKeys : [])
    let prover = try Prover(config: ProverConfig(cacheDir: cacheDir))
    _ = try await prover.prepare(model: model, srs: srs)            // keygen once, then cached
    let (progress, proof) = prover.proveWithProgress(vault: vault, recordId: recordId, model: model, options: options)
    for await p in progress { print("\(p.phase): \(Int(p.fraction * 100))%") }
    let bundle = try await proof.value
    // IrisCodeRegistry.register, and (mpc-shares) envelope p for MPC party p.
    return (try bundle.registerCalldata(), bundle.envelopes())
}
// README-END

/// Runs an async call to completion from synchronous code (class-level test setup only).
func blocking<T>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    final class Box: @unchecked Sendable { var result: Result<T, Error>? }
    let box = Box()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// The INSECURE development issuer and enrollment device, read from the test model's directory
/// (the bindings do not export them: a phone build never has development keys).
enum DevKeys {
    static func issuer(_ dir: URL) throws -> TrustedIssuer {
        let parts = try String(contentsOf: dir.appendingPathComponent("INSECURE-dev-issuer.txt"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ").map(String.init)
        return TrustedIssuer(keyId: parts[0], publicKey: parts[1])
    }

    static func device(_ dir: URL) throws -> EnrollmentDevice {
        let hex = try String(contentsOf: dir.appendingPathComponent("INSECURE-dev-device.key"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        var bytes = Data()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return try EnrollmentDevice.fromSecretKey(secretKey: bytes)
    }

    static func deviceId(_ dir: URL) throws -> String { try device(dir).deviceId() }
}

final class ZkirisTests: XCTestCase {
    /// The repository root (this file is ios/Tests/ZkirisTests/ZkirisTests.swift).
    static let repo = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let modelDir = repo.appendingPathComponent("models/test-tiny")
    static let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("zkiris-xctests-\(UUID().uuidString)")
    static var model: Model!
    static var prover: Prover!

    static func file(_ name: String) throws -> Data {
        try Data(contentsOf: modelDir.appendingPathComponent(name))
    }

    override class func setUp() {
        super.setUp()
        do {
            try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
            model = try blocking { try await Model.load(onnx: Self.file("model.onnx"), manifest: Self.file("manifest.json"), trustedIssuers: [DevKeys.issuer(Self.modelDir)]) }
            prover = try Prover(config: ProverConfig(cacheDir: tmp.appendingPathComponent("cache").path))
            let prepared = try prover.prepare(model: model, srs: .development, listener: nil, cancel: nil)
            precondition(prepared.modelId == model.id() && prepared.insecureSrs)
        } catch {
            fatalError("cannot load and prepare the test model: \(error)")
        }
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(at: tmp)
        super.tearDown()
    }

    var model: Model { Self.model }
    var prover: Prover { Self.prover }
    var devDeviceId: String { (try? DevKeys.deviceId(Self.modelDir)) ?? "" }

    /// A new vault locked by a Swift KeyProvider (AES-GCM, as with a Keychain key).
    func newVault(_ keys: KeyProvider = AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256))) async throws -> (URL, Vault) {
        let dir = Self.tmp.appendingPathComponent("vault-\(UUID().uuidString)")
        return (dir, try await Vault.create(dir: dir.path, keyProvider: keys))
    }

    /// Enrolls the sample image (or `alter`ed) with the (insecure) development enrollment device.
    func enrollSample(_ vault: Vault, validMask: Bool = true, alter: (inout Data) -> Void = { _ in }) async throws -> String {
        var image = try irisImageFromPng(png: Self.file("sample.png"))
        alter(&image.pixels)
        var mask = try irisMaskFromPng(png: Self.file("sample_mask.png"))
        if !validMask { mask.pixels = Data(count: mask.pixels.count) }
        let enrollment = try await DevKeys.device(Self.modelDir).enroll(image: image, mask: mask)
        return try await vault.enroll(enrollment: enrollment, trustedDevices: [devDeviceId])
    }

    func popcount(_ data: Data) -> Int { data.reduce(0) { $0 + $1.nonzeroBitCount } }

    func testEnrollWithASwiftKeyProviderProveAndVerify() async throws {
        let (_, vault) = try await newVault()
        let id = try await enrollSample(vault)
        let listed = vault.list()
        XCTAssertEqual(listed.map(\.id), [id])
        XCTAssertEqual(listed[0].deviceId, devDeviceId)

        let bundle = try await prover.prove(vault: vault, recordId: id, model: model)
        let statement = try await prover.verifier(model: model).verify(bundle: bundle)
        XCTAssertEqual(statement.modelId, model.id())
        XCTAssertEqual(statement.commitment, listed[0].commitment)
        // The mask code's set bits, counted here, are the valid bits the proof states.
        XCTAssertFalse(statement.maskCode.isEmpty)
        XCTAssertEqual(popcount(statement.maskCode), Int(try XCTUnwrap(statement.validBits)))
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(statement.validBits), model.minValidBits())
        // A public-code proof: the codes, no envelopes; without a binding, bound to nothing.
        XCTAssertEqual(statement.submission, .publicCode)
        XCTAssertTrue(bundle.envelopes().isEmpty && statement.shareCommitments.isEmpty)
        XCTAssertEqual(statement.binding, Data(count: 32))

        // The code depends on the image and mask only: the same capture enrolled again (new
        // salt, another commitment) proves to the same code, a changed image to another one.
        let (_, other) = try await newVault()
        let again = try await enrollSample(other)
        let changed = try await enrollSample(other) { px in for i in stride(from: 0, to: px.count, by: 2) { px[i] = 15 - (px[i] & 0x0f) } }
        let b2 = try await prover.prove(vault: other, recordId: again, model: model)
        XCTAssertNotEqual(b2.commitment(), bundle.commitment())
        XCTAssertEqual(b2.irisCode(), statement.irisCode)
        XCTAssertEqual(b2.maskCode(), statement.maskCode)
        let b3 = try await prover.prove(vault: other, recordId: changed, model: model)
        XCTAssertNotEqual(b3.irisCode(), statement.irisCode)

        // Bytes round trip; EVM calldata = public inputs as words, then the proof.
        let roundTrip = try ProofBundle.fromBytes(bytes: bundle.toBytes())
        XCTAssertEqual(roundTrip.proof(), bundle.proof())
        let calldata = try roundTrip.verifierCalldata()
        XCTAssertEqual(calldata.count, 32 * roundTrip.publicInputs().count + roundTrip.proof().count)
        XCTAssertGreaterThan(try roundTrip.registerCalldata().count, calldata.count)
    }

    func testTheEstimateIsCalibratedByThisProversOwnProofs() async throws {
        let fresh = try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path))
        let cachedSource = try await fresh.prepare(model: model, srs: .development).keySource
        XCTAssertEqual(cachedSource, .cache)
        let before = try await fresh.estimate(for: model)
        XCTAssertFalse(before.calibrated)
        XCTAssertEqual(before.deviceFactor, 1.0)
        let (_, vault) = try await newVault()
        _ = try await fresh.prove(vault: vault, recordId: try await enrollSample(vault), model: model)
        let after = try await fresh.estimate(for: model)
        XCTAssertTrue(after.calibrated)
        XCTAssertNotEqual(after.deviceFactor, 1.0)
        XCTAssertEqual(after.proveSeconds / after.deviceFactor, before.proveSeconds, accuracy: 1e-9)
    }

    func testProgressArrivesInOrderThroughAnAsyncStream() async throws {
        let (_, vault) = try await newVault()
        let id = try await enrollSample(vault)
        let (stream, proof) = prover.proveWithProgress(vault: vault, recordId: id, model: model)
        var events: [Progress] = []
        for await p in stream { events.append(p) }
        _ = try await proof.value
        XCTAssertEqual(events.first?.phase, .witness)
        XCTAssertTrue(events.contains { $0.phase == .prove })
        XCTAssertTrue(zip(events, events.dropFirst()).allSatisfy { $1.fraction >= $0.fraction }, "\(events)")
        XCTAssertEqual(events.last?.fraction, 1.0)
    }

    func testCancellingTheTaskCancelsARunningProof() async throws {
        let (_, vault) = try await newVault()
        let id = try await enrollSample(vault)
        let (stream, proof) = prover.proveWithProgress(vault: vault, recordId: id, model: model)
        var fractions: [Double] = []
        for await p in stream {
            fractions.append(p.fraction)
            if p.phase == .prove { proof.cancel() }
        }
        do {
            _ = try await proof.value
            XCTFail("the proof was not cancelled")
        } catch ZkirisError.Cancelled {
            XCTAssertLessThan(fractions.max() ?? 1, 1.0, "the proof ran to completion")
        }
        // The Rust call has returned: the prover is free at once (else Busy).
        _ = try await prover.prove(vault: vault, recordId: id, model: model)

        // The token form: cancel from the listener, get the typed error.
        final class CancelOnProve: ProgressListener, @unchecked Sendable {
            let token: CancellationToken
            init(_ token: CancellationToken) { self.token = token }
            func onProgress(phase: Phase, fraction: Double) { if phase == .prove { token.cancel() } }
        }
        let token = CancellationToken()
        XCTAssertThrowsError(try prover.prove(vault: vault, recordId: id, model: model, listener: CancelOnProve(token), cancel: token)) { error in
            XCTAssertEqual(error as? ZkirisError, .Cancelled)
        }
        _ = try await prover.prove(vault: vault, recordId: id, model: model)
    }

    func testKeyGenerationReportsItsStepsAndCancellingItMidWayWritesNoKey() throws {
        // A fresh cache, so that prepare generates the keys.
        let cache = Self.tmp.appendingPathComponent("keygen-cancel-\(UUID().uuidString)")
        let fresh = try Prover(config: ProverConfig(cacheDir: cache.path))
        func keyFiles() -> [String] {
            ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).filter { $0.hasPrefix("pk-") || $0.hasPrefix("vk-") }
        }
        final class Keygen: ProgressListener, @unchecked Sendable {
            let token: CancellationToken?
            var seen: [Double] = []
            init(_ token: CancellationToken?) { self.token = token }
            func onProgress(phase: Phase, fraction: Double) {
                guard phase == .keygen else { return }
                seen.append(fraction)
                if fraction > 0.4 { token?.cancel() }   // the verifying key is done
            }
        }
        let token = CancellationToken()
        let cancelInside = Keygen(token)
        XCTAssertThrowsError(try fresh.prepare(model: model, srs: .development, listener: cancelInside, cancel: token)) { error in
            XCTAssertEqual(error as? ZkirisError, .Cancelled)
        }
        XCTAssertTrue(cancelInside.seen.contains { $0 > 0.4 && $0 < 1.0 }, "a step inside key generation: \(cancelInside.seen)")
        XCTAssertEqual(keyFiles(), [], "a cancelled key generation writes no key")

        // Uncancelled: KEYGEN steps in order from 0.4 to 1.0, then the keys are cached.
        let steps = Keygen(nil)
        let prepared = try fresh.prepare(model: model, srs: .development, listener: steps, cancel: nil)
        XCTAssertEqual(prepared.keySource, .generated)
        XCTAssertEqual(steps.seen.first, 0.4)
        XCTAssertEqual(steps.seen.last, 1.0)
        XCTAssertEqual(steps.seen, steps.seen.sorted())
        XCTAssertGreaterThanOrEqual(Set(steps.seen).count, 4)
        XCTAssertTrue(keyFiles().contains { $0.hasPrefix("pk-") })
    }

    func testCancellingTheTaskCancelsPrepareInsideKeyGeneration() async throws {
        let cache = Self.tmp.appendingPathComponent("prepare-cancel-\(UUID().uuidString)")
        let fresh = try Prover(config: ProverConfig(cacheDir: cache.path))
        let inKeygen = AsyncStream<Void>.makeStream()
        let task = Task { try await fresh.prepare(model: model, srs: .development) { p in if p.phase == .keygen && p.fraction > 0.4 { inKeygen.continuation.yield() } } }
        for await _ in inKeygen.stream { break }
        task.cancel()
        do {
            _ = try await task.value
            XCTFail("prepare was not cancelled")
        } catch ZkirisError.Cancelled {}
        let keys = ((try? FileManager.default.contentsOfDirectory(atPath: cache.path)) ?? []).filter { $0.hasPrefix("pk-") }
        XCTAssertEqual(keys, [], "a cancelled prepare writes no proving key")
        XCTAssertThrowsError(try fresh.verifier(model: model)) { error in
            guard case ZkirisError.NotPrepared = error else { return XCTFail("\(error)") }
        }
        let generatedSource = try await fresh.prepare(model: model, srs: .development).keySource
        XCTAssertEqual(generatedSource, .generated)
    }

    func testATamperedRecordIsATypedError() async throws {
        let (dir, vault) = try await newVault()
        let id = try await enrollSample(vault)
        let url = dir.appendingPathComponent("\(id).rec")
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 40] ^= 1
        try bytes.write(to: url)
        do {
            _ = try await prover.prove(vault: vault, recordId: id, model: model)
            XCTFail("a tampered record was used")
        } catch let ZkirisError.Tampered(detail) {
            XCTAssertTrue(detail.contains(id), detail)
        }
    }

    func testVaultCheckReadsEveryRecordAndReportsTheDamagedOnesById() async throws {
        let (dir, vault) = try await newVault()
        let good = try await enrollSample(vault)
        let bad = try await enrollSample(vault) { px in px[0] ^= 1 }
        let clean = try await vault.check()
        XCTAssertEqual(Set(clean.intact), [good, bad])
        XCTAssertTrue(clean.damaged.isEmpty)
        let url = dir.appendingPathComponent("\(bad).rec")
        try Data(contentsOf: url).prefix(100).write(to: url)   // truncated
        let report = try await vault.check()
        XCTAssertEqual(report.intact, [good])
        XCTAssertEqual(report.damaged.map(\.recordId), [bad])
        XCTAssertTrue(report.damaged[0].detail.contains("truncated"), report.damaged[0].detail)
        XCTAssertEqual(vault.list().count, 2)
    }

    func testAWrongKeyIsATypedError() async throws {
        let (dir, vault) = try await newVault(AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256)))
        _ = try await enrollSample(vault)
        do {
            _ = try await Vault.open(dir: dir.path, keyProvider: AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256)))
            XCTFail("opened with another key")
        } catch ZkirisError.WrongKey {}
        // Passphrase vaults too (the scrubbing [UInt8] overloads).
        let pdir = Self.tmp.appendingPathComponent("pvault-\(UUID().uuidString)").path
        var pass = Array("correct horse".utf8)
        _ = try await Vault.createWithPassphrase(dir: pdir, passphrase: &pass, kdf: kdfCostMinimum())
        var wrong = Array("wrong horse".utf8)
        do {
            _ = try await Vault.openWithPassphrase(dir: pdir, passphrase: &wrong)
            XCTFail("opened with the wrong passphrase")
        } catch ZkirisError.WrongKey {}
        var right = Array("correct horse".utf8)
        _ = try await Vault.openWithPassphrase(dir: pdir, passphrase: &right)
    }

    func testPassphrasesAreScrubbedAndWeakKdfCostsAreRefused() async throws {
        let pdir = Self.tmp.appendingPathComponent("pvault-\(UUID().uuidString)/v").path
        var weak = Array("correct horse".utf8)
        do {
            _ = try await Vault.createWithPassphrase(dir: pdir, passphrase: &weak, kdf: KdfCost(memoryKib: 8, passes: 1, lanes: 1))
            XCTFail("accepted an 8 KiB Argon2id cost")
        } catch let ZkirisError.KdfTooWeak(memoryKib, _, minMemoryKib, minPasses) {
            XCTAssertEqual(memoryKib, 8)
            XCTAssertEqual(minMemoryKib, 19456)
            XCTAssertEqual(minPasses, 2)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: pdir + "/vault.idx"))
        XCTAssertTrue(weak.allSatisfy { $0 == 0 })
        var pass = Array("correct horse ✓".utf8)
        let vault = try await Vault.createWithPassphrase(dir: pdir, passphrase: &pass, kdf: kdfCostMinimum())
        XCTAssertTrue(pass.allSatisfy { $0 == 0 })
        var next = Array("battery staple".utf8)
        try await vault.rotateToPassphrase(passphrase: &next, kdf: kdfCostMinimum())
        XCTAssertTrue(next.allSatisfy { $0 == 0 })
        var again = Array("battery staple".utf8)
        _ = try await Vault.openWithPassphrase(dir: pdir, passphrase: &again)
        XCTAssertTrue(again.allSatisfy { $0 == 0 })
        // The AES-GCM provider scrubs the data key it was handed.
        let dataKey = Data((1...32).map { UInt8($0) })
        let wrapped = try AESGCMKeyProvider(keyId: "k", key: SymmetricKey(size: .bits256)).wrap(dataKey: dataKey)
        XCTAssertTrue(dataKey.allSatisfy { $0 == 0 })
        XCTAssertEqual(wrapped.count, 2 + 12 + 32 + 16)
    }

    func testOtherFailuresAreTypedToo() async throws {
        do {
            _ = try await Model.load(onnx: Self.file("model.onnx"), manifest: Self.file("manifest.json"), trustedIssuers: [])
            XCTFail("loaded an untrusted model")
        } catch ZkirisError.UntrustedModel {}
        let (_, vault) = try await newVault()
        // An enrollment with no valid mask bits: a threshold failure before proving.
        let weak = try await enrollSample(vault, validMask: false)
        do {
            _ = try await prover.prove(vault: vault, recordId: weak, model: model)
            XCTFail("proved an enrollment without valid bits")
        } catch let ZkirisError.InsufficientValidBits(valid, required) {
            XCTAssertEqual(valid, 0)
            XCTAssertEqual(required, model.minValidBits())
        }
        // A memory budget below the estimate, and an unprepared model.
        let small = try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path, memoryBudgetMib: 1))
        do {
            _ = try await small.prepare(model: model, srs: .development)
            XCTFail("prepared beyond the memory budget")
        } catch ZkirisError.OutOfMemoryEstimate {}
        do {
            _ = try await small.prove(vault: vault, recordId: weak, model: model)
            XCTFail("proved with an unprepared model")
        } catch ZkirisError.NotPrepared {}
        do {
            _ = try await prover.prove(vault: vault, recordId: "not-a-record-id", model: model)
            XCTFail("accepted a malformed record id")
        } catch ZkirisError.InvalidInput {}
    }

    /// Swift callbacks cannot make Rust panic the way a throwing Kotlin listener does (their
    /// non-throwing methods cannot throw), but a throwing method can throw an error of the
    /// wrong type: it must come back typed, not crash.
    func testAForeignErrorOfTheWrongTypeComesBackTyped() async throws {
        struct NotAKeyProviderError: Error {}
        final class Broken: KeyProvider, @unchecked Sendable {
            func keyId() -> String { "broken" }
            func wrap(dataKey: Data) throws -> Data { throw NotAKeyProviderError() }
            func unwrap(wrapped: Data) throws -> Data { throw NotAKeyProviderError() }
        }
        let dir = Self.tmp.appendingPathComponent("broken-\(UUID().uuidString)").path
        do {
            _ = try await Vault.create(dir: dir, keyProvider: Broken())
            XCTFail("created a vault with a broken key provider")
        } catch let ZkirisError.KeyUnavailable(detail) {
            XCTAssertTrue(detail.contains("unexpected"), detail)
        }
    }

    func testAKeyProviderThatThrowsIsTypedAndAnInvalidatedKeyIsKeyInvalidated() async throws {
        final class Failing: KeyProvider, @unchecked Sendable {
            let inner = AESGCMKeyProvider(keyId: "k", key: SymmetricKey(size: .bits256))
            var failure: Error?
            func keyId() -> String { inner.keyId() }
            func wrap(dataKey: Data) throws -> Data { try inner.wrap(dataKey: dataKey) }
            func unwrap(wrapped: Data) throws -> Data {
                if let failure { throw failure }
                return try inner.unwrap(wrapped: wrapped)
            }
        }
        let keys = Failing()
        let (dir, vault) = try await newVault(keys)
        let id = try await enrollSample(vault)
        keys.failure = KeyProviderError.Unavailable(reason: "user cancelled authentication")
        do { _ = try await Vault.open(dir: dir.path, keyProvider: keys); XCTFail("opened") } catch ZkirisError.KeyUnavailable {}
        keys.failure = KeyProviderError.Invalidated(reason: "errSecItemNotFound")
        do {
            _ = try await Vault.open(dir: dir.path, keyProvider: keys)
            XCTFail("opened with an invalidated key")
        } catch let ZkirisError.KeyInvalidated(detail) {
            XCTAssertTrue(detail.contains("errSecItemNotFound"), detail)
        }
        keys.failure = nil
        let reopened = try await Vault.open(dir: dir.path, keyProvider: keys)
        keys.failure = KeyProviderError.Invalidated(reason: "key deleted")
        do { _ = try await prover.prove(vault: reopened, recordId: id, model: model); XCTFail("proved") } catch ZkirisError.KeyInvalidated {}
        keys.failure = nil
        _ = try await prover.prove(vault: reopened, recordId: id, model: model)
    }

    func testRotateMovesTheVaultToANewKeyAndDeleteShredsARecord() async throws {
        let oldKeys = AESGCMKeyProvider(keyId: "old-key", key: SymmetricKey(size: .bits256))
        let newKeys = AESGCMKeyProvider(keyId: "new-key", key: SymmetricKey(size: .bits256))
        let (dir, vault) = try await newVault(oldKeys)
        let a = try await enrollSample(vault)
        let b = try await enrollSample(vault) { px in px[1] ^= 1 }
        let generation = vault.generation()
        try await vault.rotate(newKeyProvider: newKeys)
        XCTAssertEqual(vault.keyId(), "new-key")
        XCTAssertGreaterThan(vault.generation(), generation)
        do { _ = try await Vault.open(dir: dir.path, keyProvider: oldKeys); XCTFail("the old key still opens") } catch ZkirisError.WrongKey {}
        let reopened = try await Vault.open(dir: dir.path, keyProvider: newKeys)
        XCTAssertEqual(Set(reopened.list().map(\.id)), [a, b])
        _ = try await prover.prove(vault: reopened, recordId: a, model: model)
        try await reopened.delete(recordId: a)
        XCTAssertEqual(reopened.list().map(\.id), [b])
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("\(a).rec").path))
        do { try await reopened.delete(recordId: a); XCTFail("deleted twice") } catch ZkirisError.NotFound {}
        do {
            _ = try await prover.prove(vault: reopened, recordId: a, model: model)
            XCTFail("proved a deleted record")
        } catch let ZkirisError.NotFound(recordId) {
            XCTAssertEqual(recordId, a)
        }
    }

    func testAFreshVerifierVerifiesAndAChangedProofOrModelIdIsRefused() async throws {
        let (_, vault) = try await newVault()
        let bundle = try await prover.prove(vault: vault, recordId: try await enrollSample(vault), model: model)
        let cached = try await Verifier.load(model: model, srs: .development, cacheDir: Self.tmp.appendingPathComponent("cache").path)
        let statement = try await cached.verify(bundle: bundle)
        let fromProver = try await prover.verifier(model: model).verify(bundle: bundle)
        XCTAssertEqual(statement, fromProver)
        let empty = Self.tmp.appendingPathComponent("verifier-cache-\(UUID().uuidString)").path
        let verifier = try await Verifier.load(model: model, srs: .development, cacheDir: empty)
        let fromEmptyCache = try await verifier.verify(bundle: bundle)
        XCTAssertEqual(fromEmptyCache, statement)
        let bytes = bundle.toBytes()
        let proof = bundle.proof()
        var flipped = bytes
        let at = try XCTUnwrap(bytes.range(of: proof)).lowerBound + proof.count / 2
        flipped[at] ^= 1
        do { _ = try await verifier.verify(bundle: try ProofBundle.fromBytes(bytes: flipped)); XCTFail("verified") } catch ZkirisError.InvalidProof {}
        var idBytes = Data()
        var index = model.id().startIndex
        while index < model.id().endIndex {
            let next = model.id().index(index, offsetBy: 2)
            idBytes.append(UInt8(model.id()[index..<next], radix: 16)!)
            index = next
        }
        var other = bytes
        other.replaceSubrange(try XCTUnwrap(bytes.range(of: idBytes)), with: Data(repeating: 0x42, count: 32))
        do {
            _ = try await verifier.verify(bundle: try ProofBundle.fromBytes(bytes: other))
            XCTFail("verified under another model id")
        } catch let ZkirisError.WrongModel(found, expected) {
            XCTAssertEqual(found, String(repeating: "42", count: 32))
            XCTAssertEqual(expected, model.id())
        }
    }

    func testOneOperationAtATimePerProverOnItsOwnThreads() async throws {
        XCTAssertThrowsError(try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path, threads: 0)))
        let single = try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path, threads: 1))
        _ = try await single.prepare(model: model, srs: .development)
        let (_, vault) = try await newVault()
        let id = try await enrollSample(vault)
        final class Gate: @unchecked Sendable {
            let proving = DispatchSemaphore(value: 0)
            let release = DispatchSemaphore(value: 0)
            var names: Set<String> = []
            var once = false
        }
        let gate = Gate()
        let first = Task {
            try await single.prove(vault: vault, recordId: id, model: model) { p in
                var name = [CChar](repeating: 0, count: 64)
                pthread_getname_np(pthread_self(), &name, name.count)
                gate.names.insert(String(cString: name))
                if p.phase == .prove && !gate.once { gate.once = true; gate.proving.signal(); gate.release.wait() }
            }
        }
        gate.proving.wait()
        do { _ = try await single.prove(vault: vault, recordId: id, model: model); XCTFail("ran two at once") } catch ZkirisError.Busy {}
        do { _ = try await single.prepare(model: model, srs: .development); XCTFail("ran two at once") } catch ZkirisError.Busy {}
        gate.release.signal()
        let proofIsEmpty = try await first.value.proof().isEmpty
        XCTAssertFalse(proofIsEmpty)
        XCTAssertEqual(gate.names, ["zkiris-prover-0"])
        _ = try await single.prove(vault: vault, recordId: id, model: model)
    }

    @MainActor
    func testVaultCallsRunOffTheCallingThread() async throws {
        // On the main actor: while Vault.createWithPassphrase derives its key (Argon2id, 64
        // MiB) the main thread must stay free.
        final class Ticks: @unchecked Sendable { var count = 0 }
        let ticks = Ticks()
        let ticker = Task { @MainActor in while !Task.isCancelled { ticks.count += 1; try? await Task.sleep(nanoseconds: 5_000_000) } }
        var pass = Array("pw".utf8)
        _ = try await Vault.createWithPassphrase(dir: Self.tmp.appendingPathComponent("offthread-\(UUID().uuidString)").path, passphrase: &pass)
        ticker.cancel()
        XCTAssertGreaterThanOrEqual(ticks.count, 3, "the main thread was blocked")
        let m = try await Model.load(onnx: Self.file("model.onnx"), manifest: Self.file("manifest.json"), trustedIssuers: [DevKeys.issuer(Self.modelDir)])
        let e = try await m.estimate()
        XCTAssertTrue(e.keygenPeakMemoryMib > 0 && e.peakMemoryMib > 0)
    }

    func testPrepareChecksTheLargerOfTheKeyGenerationAndProvingPeaks() async throws {
        let e = try await model.estimate()
        let required = UInt64(max(e.keygenPeakMemoryMib, e.peakMemoryMib).rounded(.up))
        let small = try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path, memoryBudgetMib: required - 1))
        do {
            _ = try await small.prepare(model: model, srs: .development)
            XCTFail("prepared beyond the budget")
        } catch let ZkirisError.OutOfMemoryEstimate(requiredMib, availableMib) {
            XCTAssertEqual(requiredMib, required)
            XCTAssertEqual(availableMib, required - 1)
        }
        let enough = try Prover(config: ProverConfig(cacheDir: Self.tmp.appendingPathComponent("cache").path, memoryBudgetMib: required))
        let enoughSource = try await enough.prepare(model: model, srs: .development).keySource
        XCTAssertEqual(enoughSource, .cache)
    }

    func testProofsDoNotGrowResidentMemory() async throws {
        let (_, vault) = try await newVault()
        let id = try await enrollSample(vault)
        // Warm up: worker threads, allocator zones.
        for _ in 0..<3 { _ = try await prover.prove(vault: vault, recordId: id, model: model) }
        var samples: [Double] = []
        for _ in 0..<12 {
            let bundle = try await prover.prove(vault: vault, recordId: id, model: model)
            XCTAssertFalse(bundle.proof().isEmpty)
            samples.append(Double(residentBytes()) / 1024)
        }
        // Least-squares slope of RSS (KiB) over the proof index.
        let n = Double(samples.count)
        let xMean = (n - 1) / 2
        let yMean = samples.reduce(0, +) / n
        let slope = samples.indices.map { (Double($0) - xMean) * (samples[$0] - yMean) }.reduce(0, +)
            / samples.indices.map { (Double($0) - xMean) * (Double($0) - xMean) }.reduce(0, +)
        print("resident memory over \(samples.count) proofs: \(samples) KiB, slope \(slope) KiB/proof")
        XCTAssertLessThan(slope, 1024, "resident memory grows \(slope) KiB per proof: \(samples)")
    }

    func testTheReadmeExampleRegistersAnEnrollment() async throws {
        let device = try DevKeys.device(Self.modelDir)
        let enrollment = try await device.enroll(
            image: irisImageFromPng(png: Self.file("sample.png")), mask: irisMaskFromPng(png: Self.file("sample_mask.png")))
        let dir = Self.tmp.appendingPathComponent("readme-\(UUID().uuidString)")
        let submitter = SubmissionBinding(chainId: 31337, registry: Data(repeating: 0x11, count: 20), account: Data(repeating: 0x22, count: 20))
        let mpcDir = Self.repo.appendingPathComponent("models/test-tiny-mpc")
        let partyKeys = try (1...3).map { try Data(contentsOf: mpcDir.appendingPathComponent("party\($0).key.pub")) }
        let keys = AESGCMKeyProvider(keyId: "app-key", key: SymmetricKey(size: .bits256))
        let vaultDir = dir.appendingPathComponent("vault").path
        let (calldata, envelopes) = try await registerIris(
            vaultDir: vaultDir, keys: keys,
            model: model, srs: .development, cacheDir: dir.appendingPathComponent("cache").path,
            enrollment: enrollment, trustedDevice: device.deviceId(), submitter: submitter, mpcPartyKeys: partyKeys)
        XCTAssertGreaterThan(calldata.count, 4 + 4 * 32 + 65)
        XCTAssertEqual(calldata.subdata(in: 4..<36).map { String(format: "%02x", $0) }.joined(), model.id())
        XCTAssertNotNil(calldata.range(of: enrollment.commitment), "the calldata carries the commitment")
        XCTAssertNotNil(calldata.range(of: enrollment.signature), "the calldata carries the device signature")
        XCTAssertNotNil(calldata.range(of: try submissionBindingValue(binding: submitter)), "the calldata carries the binding")
        XCTAssertTrue(envelopes.isEmpty)
        // The vault persists: a second run opens it and proves again (a fresh enrollment). (The
        // mpc-shares branch is MpcSharesTests', as on the JVM.)
        let again = try await device.enroll(
            image: irisImageFromPng(png: Self.file("sample.png")), mask: irisMaskFromPng(png: Self.file("sample_mask.png")))
        let (calldata2, envelopes2) = try await registerIris(
            vaultDir: vaultDir, keys: keys,
            model: model, srs: .development, cacheDir: dir.appendingPathComponent("cache").path,
            enrollment: again, trustedDevice: device.deviceId(), submitter: submitter, mpcPartyKeys: partyKeys)
        XCTAssertNotNil(calldata2.range(of: again.commitment))
        XCTAssertNil(calldata2.range(of: enrollment.commitment))
        XCTAssertNotNil(calldata2.range(of: try submissionBindingValue(binding: submitter)))
        XCTAssertTrue(envelopes2.isEmpty)
        let vault = try await Vault.open(dir: vaultDir, keyProvider: keys)
        XCTAssertEqual(Set(vault.list().map(\.commitment)), [enrollment.commitment, again.commitment])
        let intactCount = try await vault.check().intact.count
        XCTAssertEqual(intactCount, 2)
    }

    /// The resident size of this process (Mach task info).
    func residentBytes() -> UInt64 {
        var info = mach_task_basic_info()
        var count = mach_msg_type_number_t(MemoryLayout<mach_task_basic_info>.size / MemoryLayout<natural_t>.size)
        let result = withUnsafeMutablePointer(to: &info) {
            $0.withMemoryRebound(to: integer_t.self, capacity: Int(count)) {
                task_info(mach_task_self_, task_flavor_t(MACH_TASK_BASIC_INFO), $0, &count)
            }
        }
        precondition(result == KERN_SUCCESS, "task_info failed: \(result)")
        return info.resident_size
    }
}
