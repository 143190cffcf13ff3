// XCTests of the Swift package, mirroring android/jvm-tests (ZkirisJvmTest.kt): real proofs of
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
    let vault = try exists ? Vault.open(dir: vaultDir, keyProvider: keys)
                           : Vault.create(dir: vaultDir, keyProvider: keys)
    let recordId = try vault.enroll(enrollment: enrollment, trustedDevices: [trustedDevice])
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
            model = try Model(onnx: file("model.onnx"), manifest: file("manifest.json"), trustedIssuers: [developmentIssuer()])
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

    /// A new vault locked by a Swift KeyProvider (AES-GCM, as with a Keychain key).
    func newVault(_ keys: KeyProvider = AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256))) throws -> (URL, Vault) {
        let dir = Self.tmp.appendingPathComponent("vault-\(UUID().uuidString)")
        return (dir, try Vault.create(dir: dir.path, keyProvider: keys))
    }

    /// Enrolls the sample image with the (insecure) development enrollment device.
    func enrollSample(_ vault: Vault, validMask: Bool = true) throws -> String {
        let image = try irisImageFromPng(png: Self.file("sample.png"))
        var mask = try irisMaskFromPng(png: Self.file("sample_mask.png"))
        if !validMask { mask.pixels = Data(count: mask.pixels.count) }
        let enrollment = try EnrollmentDevice.development().enroll(image: image, mask: mask)
        return try vault.enroll(enrollment: enrollment, trustedDevices: [developmentDeviceId()])
    }

    func testEnrollWithASwiftKeyProviderProveAndVerify() async throws {
        let (_, vault) = try newVault()
        let id = try enrollSample(vault)
        let listed = vault.list()
        XCTAssertEqual(listed.map(\.id), [id])
        XCTAssertEqual(listed[0].deviceId, developmentDeviceId())

        let bundle = try await prover.prove(vault: vault, recordId: id, model: model)
        let statement = try prover.verifier(model: model).verify(bundle: bundle)
        XCTAssertEqual(statement.modelId, model.id())
        XCTAssertEqual(statement.commitment, listed[0].commitment)
        XCTAssertEqual(statement.irisCode, bundle.irisCode())
        XCTAssertEqual(statement.validBits, bundle.validBits())
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(statement.validBits), model.minValidBits())
        // A public-code proof: the codes, no envelopes; without a binding, bound to nothing.
        XCTAssertEqual(statement.submission, .publicCode)
        XCTAssertTrue(bundle.envelopes().isEmpty && statement.shareCommitments.isEmpty)
        XCTAssertEqual(statement.binding, Data(count: 32))

        // Bytes round trip; EVM calldata = public inputs as words, then the proof.
        let again = try ProofBundle.fromBytes(bytes: bundle.toBytes())
        XCTAssertEqual(again.proof(), bundle.proof())
        let calldata = try again.verifierCalldata()
        XCTAssertEqual(calldata.count, 32 * again.publicInputs().count + again.proof().count)
        XCTAssertGreaterThan(try again.registerCalldata().count, calldata.count)

        let estimate = try await prover.estimate(for: model)
        XCTAssertTrue(estimate.calibrated && estimate.proveSeconds > 0)
    }

    func testProgressArrivesInOrderThroughAnAsyncStream() async throws {
        let (_, vault) = try newVault()
        let id = try enrollSample(vault)
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
        let (_, vault) = try newVault()
        let id = try enrollSample(vault)
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
        // The prover still works after both cancellations.
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

    func testATamperedRecordIsATypedError() async throws {
        let (dir, vault) = try newVault()
        let id = try enrollSample(vault)
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

    func testAWrongKeyIsATypedError() throws {
        let (dir, vault) = try newVault(AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256)))
        _ = try enrollSample(vault)
        // Same key id, different key: the AES-GCM tag fails, the vault reports WrongKey.
        XCTAssertThrowsError(try Vault.open(dir: dir.path, keyProvider: AESGCMKeyProvider(keyId: "test-key", key: SymmetricKey(size: .bits256)))) { error in
            guard case ZkirisError.WrongKey = error else { return XCTFail("\(error)") }
        }
        // Passphrase vaults too.
        let pdir = Self.tmp.appendingPathComponent("pvault-\(UUID().uuidString)").path
        let cheap = KdfCost(memoryKib: 8, passes: 1, lanes: 1)
        _ = try Vault.createWithPassphrase(dir: pdir, passphrase: "correct horse", kdf: cheap)
        XCTAssertThrowsError(try Vault.openWithPassphrase(dir: pdir, passphrase: "wrong horse")) { error in
            guard case ZkirisError.WrongKey = error else { return XCTFail("\(error)") }
        }
        _ = try Vault.openWithPassphrase(dir: pdir, passphrase: "correct horse")
    }

    func testOtherFailuresAreTypedToo() async throws {
        XCTAssertThrowsError(try Model(onnx: Self.file("model.onnx"), manifest: Self.file("manifest.json"), trustedIssuers: [])) { error in
            guard case ZkirisError.UntrustedModel = error else { return XCTFail("\(error)") }
        }
        let (_, vault) = try newVault()
        // An enrollment with no valid mask bits: a threshold failure before proving.
        let weak = try enrollSample(vault, validMask: false)
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
    func testAForeignErrorOfTheWrongTypeComesBackTyped() throws {
        struct NotAKeyProviderError: Error {}
        final class Broken: KeyProvider, @unchecked Sendable {
            func keyId() -> String { "broken" }
            func wrap(dataKey: Data) throws -> Data { throw NotAKeyProviderError() }
            func unwrap(wrapped: Data) throws -> Data { throw NotAKeyProviderError() }
        }
        let dir = Self.tmp.appendingPathComponent("broken-\(UUID().uuidString)").path
        XCTAssertThrowsError(try Vault.create(dir: dir, keyProvider: Broken())) { error in
            guard case let ZkirisError.KeyUnavailable(detail) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(detail.contains("unexpected"), detail)
        }
    }

    func testTenProofsInARowDoNotGrowResidentMemory() async throws {
        let (_, vault) = try newVault()
        let id = try enrollSample(vault)
        // Warm up: worker threads, allocator zones.
        for _ in 0..<2 { _ = try await prover.prove(vault: vault, recordId: id, model: model) }
        let before = residentBytes()
        var samples: [UInt64] = []
        for _ in 0..<10 {
            let bundle = try await prover.prove(vault: vault, recordId: id, model: model)
            XCTAssertFalse(bundle.proof().isEmpty)
            samples.append(residentBytes())
        }
        let after = residentBytes()
        print("resident memory over 10 proofs: before=\(before) after=\(after) samples=\(samples)")
        XCTAssertLessThanOrEqual(Double(after), Double(before) * 1.10, "resident memory grew by more than 10%: \(samples)")
    }

    func testTheReadmeExampleRegistersAnEnrollment() async throws {
        let enrollment = try EnrollmentDevice.development().enroll(
            image: irisImageFromPng(png: Self.file("sample.png")), mask: irisMaskFromPng(png: Self.file("sample_mask.png")))
        let dir = Self.tmp.appendingPathComponent("readme-\(UUID().uuidString)")
        let submitter = SubmissionBinding(chainId: 31337, registry: Data(repeating: 0x11, count: 20), account: Data(repeating: 0x22, count: 20))
        let mpcDir = Self.repo.appendingPathComponent("models/test-tiny-mpc")
        let partyKeys = try (1...3).map { try Data(contentsOf: mpcDir.appendingPathComponent("party\($0).key.pub")) }
        let keys = AESGCMKeyProvider(keyId: "app-key", key: SymmetricKey(size: .bits256))
        let (calldata, envelopes) = try await registerIris(
            vaultDir: dir.appendingPathComponent("vault").path, keys: keys,
            model: model, srs: .development, cacheDir: dir.appendingPathComponent("cache").path,
            enrollment: enrollment, trustedDevice: developmentDeviceId(), submitter: submitter, mpcPartyKeys: partyKeys)
        XCTAssertGreaterThan(calldata.count, 4 + 4 * 32 + 65)
        XCTAssertNotNil(calldata.range(of: try submissionBindingValue(binding: submitter)), "the calldata carries the binding")
        XCTAssertTrue(envelopes.isEmpty)
        // The vault persists: a second run opens it and proves again (a fresh enrollment). (The
        // mpc-shares branch is MpcSharesTests', as on the JVM.)
        let again = try EnrollmentDevice.development().enroll(
            image: irisImageFromPng(png: Self.file("sample.png")), mask: irisMaskFromPng(png: Self.file("sample_mask.png")))
        let (calldata2, envelopes2) = try await registerIris(
            vaultDir: dir.appendingPathComponent("vault").path, keys: keys,
            model: model, srs: .development, cacheDir: dir.appendingPathComponent("cache").path,
            enrollment: again, trustedDevice: developmentDeviceId(), submitter: submitter, mpcPartyKeys: partyKeys)
        XCTAssertNotNil(calldata2.range(of: try submissionBindingValue(binding: submitter)))
        XCTAssertTrue(envelopes2.isEmpty)
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
