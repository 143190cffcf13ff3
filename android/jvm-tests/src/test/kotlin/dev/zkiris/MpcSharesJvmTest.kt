package dev.zkiris

import com.sun.jna.Library
import com.sun.jna.Native
import dev.zkiris.ffi.EnrollmentDevice
import dev.zkiris.ffi.Model
import dev.zkiris.ffi.ProofBundle
import dev.zkiris.ffi.ProveOptions
import dev.zkiris.ffi.Prover
import dev.zkiris.ffi.ProverConfig
import dev.zkiris.ffi.SrsSource
import dev.zkiris.ffi.Submission
import dev.zkiris.ffi.SubmissionBinding
import dev.zkiris.ffi.Vault
import dev.zkiris.ffi.ZkirisException
import dev.zkiris.ffi.irisImageFromPng
import dev.zkiris.ffi.irisMaskFromPng
import dev.zkiris.ffi.partyPublicKeyFingerprint
import dev.zkiris.ffi.submissionBindingValue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterAll
import org.junit.jupiter.api.BeforeAll
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.TestInstance
import org.junit.jupiter.api.assertThrows
import java.io.File
import java.math.BigInteger
import java.nio.file.Files
import java.nio.file.Path
import java.security.MessageDigest
import javax.crypto.KeyGenerator
import kotlin.test.assertContentEquals
import kotlin.test.assertEquals
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue

/**
 * The MPC parties' side, test only: `libmpc_test_party.so` (bindings/examples/mpc_test_party.rs,
 * built by `cargo build -p zkiris-ffi --example mpc_test_party`), which opens an envelope with
 * a party's secret key and combines two shares exactly as a party server does, with the core's
 * code. The mobile bindings have no secret-key or envelope-opening API on purpose.
 *
 * Both return the bytes written to `out`, or a negative status: -4 another party's envelope,
 * -5 decryption failed (wrong key, statement or S_p), -6 the share does not match S_p.
 */
@Suppress("FunctionName")
interface MpcTestParty : Library {
    fun zkiris_test_party_open(
        party: Byte, secretKey: ByteArray, secretKeyLen: Long, envelope: ByteArray, envelopeLen: Long,
        modelId: ByteArray, commitment: ByteArray, binding: ByteArray, shareCommitment: ByteArray,
        out: ByteArray, outCap: Long,
    ): Long

    fun zkiris_test_party_combine(
        first: ByteArray, firstLen: Long, second: ByteArray, secondLen: Long, out: ByteArray, outCap: Long,
    ): Long

    companion object {
        const val WRONG_PARTY = -4L
        const val DECRYPTION = -5L
        val lib: MpcTestParty by lazy { Native.load("mpc_test_party", MpcTestParty::class.java) }
    }
}

/**
 * Private code submission through the Kotlin API on the host JVM: an mpc-shares model
 * (models/test-tiny-mpc, the tiny network with `"submission": "mpc-shares"`), proven with the
 * three MPC parties' public-key files and a submission binding. Every expected value is
 * computed here independently of the bundle: the binding with a Kotlin Keccak-256, the key
 * fingerprints with the JDK's SHA-256, the shares' S_p by the parties' own check, and the
 * reconstructed code from a public-code proof of the same enrollment.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MpcSharesJvmTest {
    private val repo = File(System.getProperty("zkiris.repo") ?: "../..")
    private val mpcDir = File(repo, "models/test-tiny-mpc")
    private val publicDir = File(repo, "models/test-tiny")
    private val tmp: Path = Files.createTempDirectory("zkiris-jvm-mpc-tests")

    private lateinit var mpcModel: Model
    private lateinit var publicModel: Model
    private lateinit var prover: Prover

    /** The parties' public-key files, as an app gets them (party order 1, 2, 3). */
    private val partyKeys: List<ByteArray> = (1..3).map { File(mpcDir, "party$it.key.pub").readBytes() }

    /** The parties' secret-key files (INSECURE test keys): only the parties' side uses them. */
    private val partySecrets: List<ByteArray> = (1..3).map { File(mpcDir, "party$it.key").readBytes() }

    private val binding = SubmissionBinding(
        chainId = 31337uL,
        registry = ByteArray(20) { 0x11 },
        account = ByteArray(20) { 0x22 },
    )

    private fun file(dir: File, name: String) = File(dir, name).readBytes()

    @BeforeAll
    fun prepare() = runBlocking {
        mpcModel = Model.load(file(mpcDir, "model.onnx"), file(mpcDir, "manifest.json"), listOf(DevKeys.issuer(mpcDir)))
        publicModel = Model.load(file(publicDir, "model.onnx"), file(publicDir, "manifest.json"), listOf(DevKeys.issuer(publicDir)))
        assertEquals(Submission.MPC_SHARES, mpcModel.submission())
        assertEquals(Submission.PUBLIC_CODE, publicModel.submission())
        prover = Prover(ProverConfig(cacheDir = tmp.resolve("cache").toString()))
        prover.prepare(mpcModel, SrsSource.Development)
        prover.prepare(publicModel, SrsSource.Development)
        Unit
    }

    @AfterAll
    fun close() {
        prover.close()
        mpcModel.close()
        publicModel.close()
        tmp.toFile().deleteRecursively()
    }

    private suspend fun enrolledVault(): Pair<Vault, String> {
        val key = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()
        val vault = Vault.create(Files.createTempDirectory(tmp, "vault").toString(), AesGcmKeyProvider("k", key))
        val enrollment = DevKeys.device(mpcDir).use {
            it.enroll(irisImageFromPng(file(mpcDir, "sample.png")), irisMaskFromPng(file(mpcDir, "sample_mask.png")))
        }
        return vault to vault.enroll(enrollment, listOf(DevKeys.deviceId(mpcDir)))
    }

    /** Party [party] (1-based) opens [envelope]; returns share.json, or the negative status. */
    private fun open(
        party: Int, secret: ByteArray, envelope: ByteArray, modelId: ByteArray,
        commitment: ByteArray, binding: ByteArray, sP: ByteArray,
    ): Pair<Long, String?> {
        val out = ByteArray(1 shl 16)
        val n = MpcTestParty.lib.zkiris_test_party_open(
            party.toByte(), secret, secret.size.toLong(), envelope, envelope.size.toLong(),
            modelId, commitment, binding, sP, out, out.size.toLong(),
        )
        return n to (if (n >= 0) String(out, 0, n.toInt(), Charsets.UTF_8) else null)
    }

    @Test
    fun `an mpc-shares proof carries three envelopes and no code, and each party opens its share`() = runBlocking {
        val (vault, id) = enrolledVault()
        vault.use {
            val bundle = prover.prove(vault, id, mpcModel, ProveOptions(binding = binding, partyKeys = partyKeys))
            val statement = bundle.use { b ->
                // The code never leaves the phone in the clear.
                assertEquals(Submission.MPC_SHARES, b.submission())
                assertEquals(0, b.irisCode().size)
                assertEquals(0, b.maskCode().size)
                assertNull(b.validBits())
                assertEquals(3, b.envelopes().size)
                assertEquals(3, b.shareCommitments().size)
                assertTrue(b.shareCommitments().all { it.size == 32 })
                // C, min_valid_bits, τ, binding, S_1, S_2, S_3.
                assertEquals(7, b.publicInputs().size)

                // The binding, recomputed here: keccak256(uint256 chainId ‖ registry ‖ account) mod r.
                val expected = bindingValue(binding)
                assertContentEquals(expected, b.binding())
                assertContentEquals(expected, submissionBindingValue(binding))
                assertTrue(b.isBoundTo(binding))
                assertFalse(b.isBoundTo(binding.copy(account = ByteArray(20) { 0x23 })))
                assertFalse(b.isBoundTo(binding.copy(chainId = 1uL)))

                // Verified after a byte round trip; the statement reports S_p and the binding.
                val s = ProofBundle.fromBytes(b.toBytes()).use { again -> prover.verifier(mpcModel).use { it.verify(again) } }
                assertEquals(Submission.MPC_SHARES, s.submission)
                assertContentEquals(expected, s.binding)
                assertContentEquals(vault.list()[0].commitment, s.commitment)
                assertEquals(mpcModel.id(), s.modelId)
                assertEquals(0, s.irisCode.size)
                assertNull(s.validBits)
                assertEquals(3, s.shareCommitments.size)
                for (p in 0..2) assertContentEquals(b.shareCommitments()[p], s.shareCommitments[p])
                Triple(s, b.envelopes(), b.shareCommitments())
            }
            val (s, envelopes, _) = statement
            val modelId = hex(s.modelId)

            // Each party opens its own envelope with its secret key against the verified
            // statement and S_p; the party recomputes S_p over the decrypted share and refuses a
            // mismatch, so success means the share is the one the proof commits to.
            val shares = (0..2).map { p ->
                val (n, json) = open(p + 1, partySecrets[p], envelopes[p], modelId, s.commitment, s.binding, s.shareCommitments[p])
                assertTrue(n > 0, "party ${p + 1} could not open its envelope: status $n")
                assertTrue(json!!.contains("\"party\":${p + 1},"), json)
                // Another party's key, another party's S_p, or an unbound statement do not open it.
                val q = (p + 1) % 3
                assertEquals(MpcTestParty.DECRYPTION, open(p + 1, partySecrets[q], envelopes[p], modelId, s.commitment, s.binding, s.shareCommitments[p]).first)
                assertEquals(MpcTestParty.DECRYPTION, open(p + 1, partySecrets[p], envelopes[p], modelId, s.commitment, s.binding, s.shareCommitments[q]).first)
                assertEquals(MpcTestParty.DECRYPTION, open(p + 1, partySecrets[p], envelopes[p], modelId, s.commitment, ByteArray(32), s.shareCommitments[p]).first)
                assertEquals(MpcTestParty.WRONG_PARTY, open(q + 1, partySecrets[q], envelopes[p], modelId, s.commitment, s.binding, s.shareCommitments[q]).first)
                json.toByteArray(Charsets.UTF_8)
            }

            // Any two shares reconstruct the masked code of the code a public-code proof of the
            // same enrollment reveals (the same network): the mask, and the code bits under it.
            val (code, mask) = prover.prove(vault, id, publicModel, ProveOptions(binding = binding)).use { pub ->
                assertEquals(Submission.PUBLIC_CODE, pub.submission())
                assertTrue(pub.envelopes().isEmpty() && pub.shareCommitments().isEmpty())
                assertTrue(pub.isBoundTo(binding))
                pub.irisCode() to pub.maskCode()
            }
            val maskedCode = ByteArray(code.size) { (code[it].toInt() and mask[it].toInt()).toByte() }
            assertFalse(maskedCode.contentEquals(code), "the sample's mask hides some set code bits")
            for ((a, b) in listOf(0 to 1, 0 to 2, 1 to 2)) {
                val out = ByteArray(1 shl 16)
                val n = MpcTestParty.lib.zkiris_test_party_combine(
                    shares[a], shares[a].size.toLong(), shares[b], shares[b].size.toLong(), out, out.size.toLong(),
                )
                assertEquals(2L * code.size, n, "parties ${a + 1} and ${b + 1}: status $n")
                assertContentEquals(maskedCode, out.copyOfRange(0, code.size), "code of parties ${a + 1} and ${b + 1}")
                assertContentEquals(mask, out.copyOfRange(code.size, 2 * code.size), "mask of parties ${a + 1} and ${b + 1}")
            }
        }
    }

    @Test
    fun `an aggregatable proof verifies natively and is refused for the single-proof verifier contract`() = runBlocking {
        val (vault, id) = enrolledVault()
        vault.use {
            prover.prove(vault, id, publicModel, ProveOptions(binding = binding, aggregatable = true)).use { b ->
                assertTrue(b.aggregatable())
                assertTrue(b.isBoundTo(binding))
                // Format version 3 (Poseidon transcript); read back, it is still aggregatable.
                val bytes = b.toBytes()
                assertEquals(3, (bytes[8].toInt() and 0xff) or ((bytes[9].toInt() and 0xff) shl 8))
                val s = ProofBundle.fromBytes(bytes).use { again ->
                    assertTrue(again.aggregatable())
                    prover.verifier(publicModel).use { it.verify(again) }
                }
                assertContentEquals(b.binding(), s.binding)
                // The model's verifier contract and `register` cannot check a Poseidon-transcript
                // proof: a typed error instead of calldata that would revert.
                assertThrows<ZkirisException.InvalidInput> { b.verifierCalldata() }
                assertThrows<ZkirisException.InvalidInput> { b.upgradeCalldata() }
            }
            // The default is the EVM transcript, which the verifier contract checks.
            prover.prove(vault, id, publicModel, ProveOptions(binding = binding)).use { b ->
                assertFalse(b.aggregatable())
                assertTrue(b.verifierCalldata().isNotEmpty())
            }
        }
    }

    @Test
    fun `missing, unexpected and invalid party keys are typed exceptions`() = runBlocking {
        val (vault, id) = enrolledVault()
        vault.use {
            // Missing: no options at all, or two keys.
            val none = assertThrows<ZkirisException.MissingPartyKeys> { runBlocking { prover.prove(vault, id, mpcModel) } }
            assertEquals(mpcModel.id(), none.modelId)
            assertEquals(0u, none.given)
            val two = assertThrows<ZkirisException.MissingPartyKeys> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding, partyKeys.take(2))) }
            }
            assertEquals(2u, two.given)
            // Extra: a fourth key, or keys for a public-code model.
            val four = assertThrows<ZkirisException.InvalidPartyKey> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding, partyKeys + listOf(partyKeys[0]))) }
            }
            assertEquals(4.toUByte(), four.party)
            val unexpected = assertThrows<ZkirisException.UnexpectedPartyKeys> {
                runBlocking { prover.prove(vault, id, publicModel, ProveOptions(binding, partyKeys)) }
            }
            assertEquals(publicModel.id(), unexpected.modelId)
            // Garbage, a secret-key file where a public key belongs, a repeated key.
            val garbage = assertThrows<ZkirisException.InvalidPartyKey> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding, listOf(partyKeys[0], "junk".toByteArray(), partyKeys[2]))) }
            }
            assertEquals(2.toUByte(), garbage.party)
            val secret = assertThrows<ZkirisException.InvalidPartyKey> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding, listOf(partySecrets[0], partyKeys[1], partyKeys[2]))) }
            }
            assertEquals(1.toUByte(), secret.party)
            assertTrue(secret.detail.contains("secret key"), secret.detail)
            val repeated = assertThrows<ZkirisException.InvalidPartyKey> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding, listOf(partyKeys[0], partyKeys[1], partyKeys[1]))) }
            }
            assertEquals(3.toUByte(), repeated.party)
            // An address that is not 20 bytes.
            assertThrows<ZkirisException.InvalidInput> {
                runBlocking { prover.prove(vault, id, mpcModel, ProveOptions(binding.copy(registry = ByteArray(19)), partyKeys)) }
            }
        }
        // The fingerprint of a party key is the SHA-256 of its file; garbage is refused.
        for (pk in partyKeys) {
            assertContentEquals(MessageDigest.getInstance("SHA-256").digest(pk), partyPublicKeyFingerprint(pk))
        }
        val e = assertThrows<ZkirisException.InvalidPartyKey> { partyPublicKeyFingerprint(partySecrets[0]) }
        assertNull(e.party)
    }

    private fun hex(s: String): ByteArray = ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

    /** The binding public input, computed independently of zkiris: Solidity's
     *  `uint256(keccak256(abi.encodePacked(block.chainid, registry, msg.sender))) % r`. */
    private fun bindingValue(b: SubmissionBinding): ByteArray {
        val pre = ByteArray(32 - 8) + java.nio.ByteBuffer.allocate(8).putLong(b.chainId.toLong()).array() + b.registry + b.account
        val reduced = BigInteger(1, Keccak256.digest(pre)).mod(BN254_R).toByteArray()
        // BigInteger's bytes: drop a sign byte, left-pad to 32.
        val trimmed = if (reduced.size > 32) reduced.copyOfRange(reduced.size - 32, reduced.size) else reduced
        return ByteArray(32 - trimmed.size) + trimmed
    }

    @Test
    fun `the Kotlin Keccak-256 matches the published vectors`() {
        assertEquals("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470", Keccak256.digest(ByteArray(0)).toHexString())
        assertEquals("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45", Keccak256.digest("abc".toByteArray()).toHexString())
    }

    private fun ByteArray.toHexString() = joinToString("") { "%02x".format(it) }

    private companion object {
        /** The BN254 scalar field modulus. */
        val BN254_R = BigInteger("21888242871839275222246405745257275088548364400416034343698204186575808495617")
    }
}

/** Keccak-256 (the original Keccak padding, as Ethereum uses; not SHA3-256). */
object Keccak256 {
    private val RC = longArrayOf(
        0x0000000000000001L, 0x0000000000008082L, -0x7fffffffffff7f76L, -0x7fffffff7fff8000L,
        0x000000000000808BL, 0x0000000080000001L, -0x7fffffff7fff7f7fL, -0x7fffffffffff7ff7L,
        0x000000000000008AL, 0x0000000000000088L, 0x0000000080008009L, 0x000000008000000AL,
        0x000000008000808BL, -0x7fffffffffffff75L, -0x7fffffffffff7f77L, -0x7fffffffffff7ffdL,
        -0x7fffffffffff7ffeL, -0x7fffffffffffff80L, 0x000000000000800AL, -0x7fffffff7ffffff6L,
        -0x7fffffff7fff7f7fL, -0x7fffffffffff7f80L, 0x0000000080000001L, -0x7fffffff7fff7ff8L,
    )

    /** Rotation of lane (x, y), indexed x + 5y. */
    private val ROT = intArrayOf(0, 1, 62, 28, 27, 36, 44, 6, 55, 20, 3, 10, 43, 25, 39, 41, 45, 15, 21, 8, 18, 2, 61, 56, 14)

    private fun permute(a: LongArray) {
        val c = LongArray(5)
        val b = LongArray(25)
        for (round in 0 until 24) {
            for (x in 0 until 5) c[x] = a[x] xor a[x + 5] xor a[x + 10] xor a[x + 15] xor a[x + 20]
            for (x in 0 until 5) {
                val d = c[(x + 4) % 5] xor java.lang.Long.rotateLeft(c[(x + 1) % 5], 1)
                for (y in 0 until 5) a[x + 5 * y] = a[x + 5 * y] xor d
            }
            for (x in 0 until 5) for (y in 0 until 5) {
                b[y + 5 * ((2 * x + 3 * y) % 5)] = java.lang.Long.rotateLeft(a[x + 5 * y], ROT[x + 5 * y])
            }
            for (x in 0 until 5) for (y in 0 until 5) {
                a[x + 5 * y] = b[x + 5 * y] xor (b[(x + 1) % 5 + 5 * y].inv() and b[(x + 2) % 5 + 5 * y])
            }
            a[0] = a[0] xor RC[round]
        }
    }

    fun digest(input: ByteArray): ByteArray {
        val rate = 136
        val padded = input.copyOf((input.size / rate + 1) * rate)
        padded[input.size] = (padded[input.size].toInt() xor 0x01).toByte()
        padded[padded.size - 1] = (padded[padded.size - 1].toInt() xor 0x80).toByte()
        val state = LongArray(25)
        for (block in 0 until padded.size / rate) {
            for (i in 0 until rate / 8) {
                var lane = 0L
                for (j in 0 until 8) lane = lane or ((padded[block * rate + 8 * i + j].toLong() and 0xff) shl (8 * j))
                state[i] = state[i] xor lane
            }
            permute(state)
        }
        return ByteArray(32) { (state[it / 8] ushr (8 * (it % 8))).toByte() }
    }
}
