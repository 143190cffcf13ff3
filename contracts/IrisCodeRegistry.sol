// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title IrisCodeRegistry (v2)
/// @notice Accepts iris codes proven in zero knowledge (zkiris) and links them to the person's
///         enrollment commitment `C`.
///
/// A registration shows, for an issuer-approved model: (1) a zkiris proof that the iris code
/// and mask code were derived from the image committed in `C`, through that model, with the
/// model's quality and liveness thresholds met; (2) an enrollment device's signature on `C`.
///
/// Each model has a submission mode, fixed by its signed manifest and set by the issuer:
///   - public-code (0): the iris and mask codes are public inputs. The registry stores
///     `codeHash = keccak256(code words ‖ mask words)` under `(C, model)`.
///   - mpc-shares (1): the codes stay private. The proof shows that three secret shares of the
///     masked code (for the three MPC parties) were derived from them and makes public only a
///     Poseidon commitment `S_p` to each share. The registry stores
///     `shareHash = keccak256(S_1 ‖ S_2 ‖ S_3)` under `(C, model)` and emits `S_1, S_2, S_3`,
///     so each party can check the share it receives off chain. No code word ever reaches the
///     contract.
///
/// When the issuer publishes a newer model, the person re-proves from the same enrolled image
/// and calls `upgrade`: the commitment links the new record to the old registration, so no new
/// device signature (no new visit to an enrollment device) is needed. An upgrade may change
/// the submission mode (for example public-code to mpc-shares).
///
/// @dev Public-input layout v2 (one instance column; `zkiris::public` is the reference):
///   [0] commitment C, [1] min_valid_bits, [2] liveness threshold τ, [3] binding, then
///   public-code (138 values): [4..71) iris-code words, [71..138) mask-code words. Each code
///     is the 2048-byte serialized code cut into 31-byte big-endian chunks (the last has 2 bytes);
///   mpc-shares (7 values): [4] S_1, [5] S_2, [6] S_3.
///   binding = uint256(keccak256(abi.encodePacked(block.chainid, address(registry), submitter)))
///     mod r, r the BN254 scalar-field modulus (`bindingFor`). Zero means "unbound" and is refused.
///   The verifier is a snark-verifier contract: calldata = the inputs as 32-byte words ‖ proof;
///   it returns nothing on success and reverts otherwise.
///
/// Replay and duplicate protection:
///   - A proof is bound to its public inputs, so it cannot be reused for another commitment,
///     another code or share set, other thresholds or another binding: changing any of them
///     makes the verifier reject it. Every public input must be canonical (below r; code words
///     below 2^248, the last one of each code below 2^16), because the verifier reduces inputs
///     modulo r and `C` and `C + r` would otherwise be two different registry keys for one proof.
///   - Submitter, chain and deployment: `register` and `upgrade` require publicInputs[3] to equal
///     `bindingFor(msg.sender)`, which hashes `block.chainid`, this registry's address and
///     `msg.sender`. A proof copied from the mempool by another account, or replayed on another
///     chain or another registry deployment, reverts `BindingMismatch`; an unbound proof
///     (binding 0) reverts `UnboundProof`.
///   - `register` accepts a commitment only once (under any model); re-submitting the same
///     registration (or the same commitment with another proof) reverts `AlreadyRegistered`.
///     Later models go through `upgrade`.
///   - `upgrade` only moves a commitment to a model with a strictly higher version than its
///     current model, so an upgrade cannot be replayed or rolled back. `setModel` cannot lower
///     the version of (or change the mode of) a model that has registrations.
///   - Under each public-code model, a code hash belongs to at most one commitment
///     (`DuplicateCode`): one enrolled image re-committed with another salt cannot register the
///     same code twice. This exact-match check does not replace fuzzy (Hamming-distance)
///     uniqueness, done off chain (by the MPC parties in mpc-shares mode, whose shares are
///     freshly randomized and so have no exact-match guard here).
///   - Relayed batches (`registerBatch`): a relayer submits N first registrations with one
///     aggregated proof (`zkiris aggregate`). Each statement stays bound to its own account
///     (publicInputs[3] must equal `bindingFor(accounts[i])`), so a relayer can only submit what
///     each person proved for their own account; every check of `register` applies to each
///     statement, and one failing statement reverts the batch. The aggregation verifier is set
///     per (model, batch size) by the owner and is tied to the model verifier it was made for.
///     `upgradeBatch` does the same for N upgrades to a newer model (every check of `upgrade`
///     for each statement; no device signature, as for `upgrade`).
///   - Device revocation: the registry records which enrollment device signed each commitment.
///     `revokeDevice` blocks `register` and `upgrade` for every commitment that device signed
///     (`RevokedDevice`), and `isRegistered` turns false for them.
contract IrisCodeRegistry {
    // ---------------------------------------------------------------- layout v2 and constants

    /// @notice Version of the public-input layout this registry reads.
    uint256 public constant LAYOUT_VERSION = 2;
    /// @notice Submission mode: the codes are public inputs.
    uint8 public constant SUBMISSION_PUBLIC_CODE = 0;
    /// @notice Submission mode: only commitments to the three MPC shares are public.
    uint8 public constant SUBMISSION_MPC_SHARES = 1;
    /// @notice Number of public inputs of a public-code proof (4 + 2 × 67).
    uint256 public constant PUBLIC_CODE_INPUTS = 138;
    /// @notice Number of public inputs of an mpc-shares proof (4 + 3).
    uint256 public constant MPC_SHARES_INPUTS = 7;
    uint256 internal constant IDX_COMMITMENT = 0;
    uint256 internal constant IDX_MIN_VALID_BITS = 1;
    uint256 internal constant IDX_LIVENESS_THRESHOLD = 2;
    uint256 internal constant IDX_BINDING = 3;
    /// @dev First row after the header: code words, or S_1.
    uint256 internal constant IDX_BODY = 4;
    /// @dev Words per code (the last holds 2 bytes).
    uint256 internal constant CODE_WORDS = 67;
    /// @dev Code and mask words: 2 × 67.
    uint256 internal constant NUM_CODE_WORDS = 134;
    /// @dev S_1, S_2, S_3.
    uint256 internal constant NUM_SHARE_COMMITMENTS = 3;
    /// @notice Accumulator limbs before the statements in an aggregated proof's instances.
    uint256 public constant ACCUMULATOR_LIMBS = 12;
    /// @notice Largest batch `registerBatch` and `upgradeBatch` take.
    uint256 public constant MAX_BATCH = 64;
    /// @dev BN254 scalar-field modulus.
    uint256 internal constant SNARK_SCALAR_FIELD =
        0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001;
    /// @dev secp256k1 order / 2: signatures with a larger `s` are rejected (no malleability).
    uint256 internal constant SECP256K1_HALF_ORDER =
        0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;
    /// @notice Domain prefix of the enrollment message (20 bytes), see `zkiris::attest`.
    bytes20 public constant ENROLLMENT_DOMAIN = "zkiris/enrollment/v1";

    // ---------------------------------------------------------------- state

    /// @notice An issuer-approved model.
    /// @param verifier The snark-verifier contract for the model's verifying key (entry part).
    /// @param version Upgrades go to strictly higher versions only.
    /// @param active Whether `register` and `upgrade` accept proofs for this model.
    /// @param submission `SUBMISSION_PUBLIC_CODE` or `SUBMISSION_MPC_SHARES`.
    /// @param minValidBits `publicInputs[1]` every proof for this model must carry.
    /// @param registrations Registrations and upgrades into this model so far.
    /// @param livenessThreshold `publicInputs[2]` every proof must carry (field element; 0 if none).
    struct Model {
        address verifier;
        uint64 version;
        bool active;
        uint8 submission;
        uint32 minValidBits;
        uint64 registrations;
        uint256 livenessThreshold;
    }

    /// @notice An aggregation verifier for batches of one model.
    /// @param verifier The aggregation verifier contract (entry part).
    /// @param modelVerifier The model verifier it was set for: the aggregation circuit embeds the
    ///        model's verifying key, so a later `setModel` with another verifier disables it.
    struct Aggregation {
        address verifier;
        address modelVerifier;
    }

    /// @notice The issuer: manages models, devices and the upgrade policy.
    address public owner;
    /// @notice The account `transferOwnership` named; it becomes owner by `acceptOwnership`.
    address public pendingOwner;
    /// @notice Upgrade policy: keep the record of the previous model next to the new one (true),
    ///         or replace it (false).
    bool public keepOldCodeOnUpgrade;
    /// @notice Models by model id (the manifest's 32-byte model id).
    mapping(bytes32 => Model) public models;
    /// @notice Aggregation verifiers by model id and batch size.
    mapping(bytes32 => mapping(uint256 => Aggregation)) public aggregationOf;
    /// @notice Enrollment devices whose signatures on commitments are accepted.
    mapping(address => bool) public trustedDevices;
    /// @notice Revoked enrollment devices (permanent).
    mapping(address => bool) public revokedDevices;
    /// @notice The enrollment device that signed a registered commitment.
    mapping(bytes32 => address) public deviceOf;
    /// @notice The model a commitment is currently registered under (zero: not registered).
    mapping(bytes32 => bytes32) public currentModelOf;
    /// @notice Code hash per (commitment, public-code model); zero if none is stored.
    mapping(bytes32 => mapping(bytes32 => bytes32)) public codeHashOf;
    /// @notice Share-commitment hash keccak256(S_1 ‖ S_2 ‖ S_3) per (commitment, mpc-shares
    ///         model); zero if none is stored.
    mapping(bytes32 => mapping(bytes32 => bytes32)) public shareHashOf;
    /// @notice The commitment that registered a code hash under a model (duplicate guard).
    ///         Kept when an upgrade replaces the code, so the code stays claimed.
    mapping(bytes32 => mapping(bytes32 => bytes32)) public commitmentOfCode;

    // ---------------------------------------------------------------- events

    /// @notice `transferOwnership` named `newOwner` (zero: a pending transfer was cancelled).
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    /// @notice Ownership moved to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice A model was added or changed.
    event ModelSet(
        bytes32 indexed modelId,
        address verifier,
        uint64 version,
        uint8 submission,
        uint32 minValidBits,
        uint256 livenessThreshold,
        bool active
    );
    /// @notice An aggregation verifier was set (zero address: removed) for batches of `batchSize`.
    event AggregationVerifierSet(bytes32 indexed modelId, uint256 indexed batchSize, address verifier);
    /// @notice A relayed registration (`registerBatch`): `account` is the one the proof is bound to.
    event RegisteredFor(bytes32 indexed commitment, address indexed account, address indexed relayer);
    /// @notice A relayed upgrade (`upgradeBatch`): `account` is the one the proof is bound to.
    event UpgradedFor(bytes32 indexed commitment, address indexed account, address indexed relayer);
    /// @notice A device was trusted or distrusted.
    event TrustedDeviceSet(address indexed device, bool trusted);
    /// @notice A device was revoked: its commitments can no longer register or upgrade.
    event DeviceRevoked(address indexed device);
    /// @notice The upgrade policy changed.
    event UpgradePolicySet(bool keepOldCode);
    /// @notice A commitment registered its first code (public-code model).
    event CodeRegistered(bytes32 indexed commitment, bytes32 indexed modelId, bytes32 codeHash, address indexed device);
    /// @notice A commitment moved to a newer public-code model; `codeHash` is the new code.
    event CodeUpgraded(bytes32 indexed commitment, bytes32 indexed oldModel, bytes32 indexed newModel, bytes32 codeHash);
    /// @notice A commitment registered its first share set (mpc-shares model).
    event SharesRegistered(
        bytes32 indexed commitment,
        bytes32 indexed modelId,
        address indexed device,
        bytes32 shareHash,
        uint256 s1,
        uint256 s2,
        uint256 s3
    );
    /// @notice A commitment moved to a newer mpc-shares model with these share commitments.
    event SharesUpgraded(
        bytes32 indexed commitment,
        bytes32 indexed oldModel,
        bytes32 indexed newModel,
        bytes32 shareHash,
        uint256 s1,
        uint256 s2,
        uint256 s3
    );

    // ---------------------------------------------------------------- errors

    /// @notice Only the owner may do this.
    error NotOwner(address caller);
    /// @notice Only the pending owner may accept ownership.
    error NotPendingOwner(address caller);
    /// @notice The zero address is not allowed here.
    error ZeroAddress();
    /// @notice Model id zero is reserved (it means "not registered").
    error ZeroModelId();
    /// @notice The verifier address has no code.
    error VerifierHasNoCode(address verifier);
    /// @notice The submission mode is neither 0 (public-code) nor 1 (mpc-shares).
    error UnknownSubmissionMode(uint8 submission);
    /// @notice The model has registrations: its version cannot go down.
    error VersionLowered(bytes32 modelId, uint64 registeredVersion, uint64 newVersion);
    /// @notice The model has registrations: its submission mode cannot change.
    error SubmissionModeFixed(bytes32 modelId, uint8 submission);
    /// @notice No model with this id.
    error UnknownModel(bytes32 modelId);
    /// @notice The model does not accept proofs now.
    error ModelInactive(bytes32 modelId);
    /// @notice `publicInputs` does not have the `expected` number of values for the model's mode.
    error WrongPublicInputCount(uint256 expected, uint256 got);
    /// @notice `publicInputs[index]` is not canonical (see the contract notes).
    error NonCanonicalPublicInput(uint256 index);
    /// @notice The proof's thresholds are not the model's.
    error ThresholdMismatch(uint256 minValidBits, uint256 livenessThreshold);
    /// @notice The proof's binding (publicInputs[3]) is 0: it is not bound to a submitter.
    error UnboundProof();
    /// @notice The proof is bound to another submitter, chain or registry than this call's.
    error BindingMismatch(uint256 expected, uint256 got);
    /// @notice The verifier rejected the proof.
    error ProofRejected(bytes32 modelId);
    /// @notice A batch holds 1 to `MAX_BATCH` statements.
    error BadBatchSize(uint256 batchSize);
    /// @notice `deviceSignatures` must hold one 65-byte signature per statement.
    error WrongSignatureBytes(uint256 expected, uint256 got);
    /// @notice No aggregation verifier for this model and batch size (or it was made for the
    ///         model's previous verifier).
    error NoAggregationVerifier(bytes32 modelId, uint256 batchSize);
    /// @notice The device signature is not 65 bytes r‖s‖v with v ∈ {27, 28} and low s, or recovers nothing.
    error MalformedSignature();
    /// @notice The signature recovers to a device that is not trusted.
    error UntrustedDevice(address recovered);
    /// @notice The enrollment device (of the signature, or that signed the commitment) is revoked.
    error RevokedDevice(address device);
    /// @notice The commitment is already registered (under `modelId`).
    error AlreadyRegistered(bytes32 commitment, bytes32 modelId);
    /// @notice The code is already registered under the model by another commitment.
    error DuplicateCode(bytes32 modelId, bytes32 codeHash, bytes32 registeredBy);
    /// @notice The commitment has never been registered.
    error NotRegistered(bytes32 commitment);
    /// @notice The new model's version is not above the current model's.
    error NotAnUpgrade(bytes32 commitment, bytes32 currentModel, bytes32 newModel);

    // ---------------------------------------------------------------- administration

    /// @param keepOldCodeOnUpgrade_ The initial upgrade policy.
    constructor(bool keepOldCodeOnUpgrade_) {
        owner = msg.sender;
        keepOldCodeOnUpgrade = keepOldCodeOnUpgrade_;
        emit OwnershipTransferred(address(0), msg.sender);
        emit UpgradePolicySet(keepOldCodeOnUpgrade_);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Step 1 of 2: names `newOwner`, who must call `acceptOwnership`. The current
    ///         owner keeps every power until then. `address(0)` cancels a pending transfer.
    function transferOwnership(address newOwner) external onlyOwner {
        pendingOwner = newOwner;
        emit OwnershipTransferStarted(owner, newOwner);
    }

    /// @notice Step 2 of 2: the pending owner takes the registry.
    function acceptOwnership() external {
        if (msg.sender != pendingOwner) revert NotPendingOwner(msg.sender);
        emit OwnershipTransferred(owner, msg.sender);
        owner = msg.sender;
        pendingOwner = address(0);
    }

    /// @notice Adds or changes a model. `verifier` must be a deployed contract; `submission` is
    ///         the manifest's mode (0 public-code, 1 mpc-shares). Once a model has registrations
    ///         its version cannot go down and its mode cannot change.
    function setModel(
        bytes32 modelId,
        address verifier,
        uint64 version,
        uint8 submission,
        uint32 minValidBits,
        uint256 livenessThreshold,
        bool active
    ) external onlyOwner {
        if (modelId == bytes32(0)) revert ZeroModelId();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (submission > SUBMISSION_MPC_SHARES) revert UnknownSubmissionMode(submission);
        if (livenessThreshold >= SNARK_SCALAR_FIELD) revert NonCanonicalPublicInput(IDX_LIVENESS_THRESHOLD);
        Model storage m = models[modelId];
        if (m.registrations != 0) {
            if (version < m.version) revert VersionLowered(modelId, m.version, version);
            if (submission != m.submission) revert SubmissionModeFixed(modelId, m.submission);
        }
        m.verifier = verifier;
        m.version = version;
        m.active = active;
        m.submission = submission;
        m.minValidBits = minValidBits;
        m.livenessThreshold = livenessThreshold;
        emit ModelSet(modelId, verifier, version, submission, minValidBits, livenessThreshold, active);
    }

    /// @notice Turns a model on or off.
    function setModelActive(bytes32 modelId, bool active) external onlyOwner {
        Model storage m = models[modelId];
        if (m.verifier == address(0)) revert UnknownModel(modelId);
        m.active = active;
        emit ModelSet(modelId, m.verifier, m.version, m.submission, m.minValidBits, m.livenessThreshold, active);
    }

    /// @notice Sets the aggregation verifier for batches of `batchSize` proofs of a model
    ///         (`zkiris aggregate --verifier`); `address(0)` removes it. It stays tied to the
    ///         model's current verifier: a later `setModel` with another verifier disables it.
    function setAggregationVerifier(bytes32 modelId, uint256 batchSize, address verifier) external onlyOwner {
        Model storage m = models[modelId];
        if (m.verifier == address(0)) revert UnknownModel(modelId);
        if (batchSize == 0 || batchSize > MAX_BATCH) revert BadBatchSize(batchSize);
        if (verifier != address(0) && verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        aggregationOf[modelId][batchSize] = Aggregation(verifier, m.verifier);
        emit AggregationVerifierSet(modelId, batchSize, verifier);
    }

    /// @notice Trusts or distrusts an enrollment device (its Ethereum-style address). A revoked
    ///         device cannot be trusted again.
    function setTrustedDevice(address device, bool trusted) external onlyOwner {
        if (device == address(0)) revert ZeroAddress();
        if (trusted && revokedDevices[device]) revert RevokedDevice(device);
        trustedDevices[device] = trusted;
        emit TrustedDeviceSet(device, trusted);
    }

    /// @notice Revokes an enrollment device for good: it is no longer trusted, and every
    ///         commitment it signed can neither register nor upgrade (records already stored
    ///         stay, but `isRegistered` reports them as false).
    function revokeDevice(address device) external onlyOwner {
        if (device == address(0)) revert ZeroAddress();
        revokedDevices[device] = true;
        trustedDevices[device] = false;
        emit DeviceRevoked(device);
    }

    /// @notice Sets whether upgrades keep (true) or replace (false) the previous model's record.
    function setUpgradePolicy(bool keepOldCode) external onlyOwner {
        keepOldCodeOnUpgrade = keepOldCode;
        emit UpgradePolicySet(keepOldCode);
    }

    // ---------------------------------------------------------------- registration

    /// @notice Registers the first code (or share set) of an enrollment commitment.
    /// @param modelId An active model.
    /// @param proof The zkiris proof (EVM transcript) for `publicInputs` under the model's key.
    /// @param publicInputs Layout v2 for the model's mode (138 or 7 values); `publicInputs[0]`
    ///        is the commitment, `publicInputs[3]` must be `bindingFor(msg.sender)`.
    /// @param deviceSignature r‖s‖v (65 bytes) by a trusted device over
    ///        keccak256(abi.encodePacked("zkiris/enrollment/v1", bytes32(commitment))).
    /// @return recordHash public-code: keccak256 of the 134 code and mask words
    ///         (publicInputs[4..138]); mpc-shares: keccak256(S_1 ‖ S_2 ‖ S_3).
    function register(
        bytes32 modelId,
        bytes calldata proof,
        uint256[] calldata publicInputs,
        bytes calldata deviceSignature
    ) external returns (bytes32 recordHash) {
        Model storage m = _activeModel(modelId);
        recordHash = _register(m, modelId, publicInputs, deviceSignature, msg.sender);
        _verify(m.verifier, modelId, proof, publicInputs);
    }

    /// @notice Registers a batch of first registrations (relayers) with one aggregated proof.
    ///         Statement i is bound to `accounts[i]` (publicInputs[3] = `bindingFor(accounts[i])`)
    ///         and signed by a trusted device (`deviceSignatures[65i..65i+65]`); each gets every
    ///         check of `register`, and any failure reverts the whole batch.
    /// @param modelId An active model with an aggregation verifier for `accounts.length` proofs.
    /// @param proof The aggregation proof (`zkiris aggregate`, `.zka`).
    /// @param instances The aggregation verifier's public inputs: `ACCUMULATOR_LIMBS` accumulator
    ///        limbs, then each statement's layout-v2 inputs in order.
    /// @param accounts The account each statement is bound to.
    /// @param deviceSignatures The enrollment signatures, 65 bytes each, in statement order.
    /// @return registered The number of registrations (`accounts.length`).
    function registerBatch(
        bytes32 modelId,
        bytes calldata proof,
        uint256[] calldata instances,
        address[] calldata accounts,
        bytes calldata deviceSignatures
    ) external returns (uint256 registered) {
        Model storage m = _activeModel(modelId);
        uint256 n = accounts.length;
        if (deviceSignatures.length != 65 * n) revert WrongSignatureBytes(65 * n, deviceSignatures.length);
        address verifier = _aggregationVerifier(m, modelId, n);
        _registerEach(m, modelId, instances, accounts, deviceSignatures);
        _verify(verifier, modelId, proof, instances);
        return n;
    }

    /// @notice Moves a registered commitment to a newer model with a proof under that model.
    ///         No device signature: the commitment (a public input of both proofs) links them.
    ///         The previous model may have been deactivated since; its registration still counts,
    ///         because the commitment itself was attested by a trusted device at registration
    ///         (unless that device has been revoked since).
    /// @param newModelId An active model with a higher version than the commitment's current one.
    /// @param proof The zkiris proof for `publicInputs` under the new model's key.
    /// @param publicInputs Layout v2 for the new model's mode, bound to `msg.sender`.
    /// @return recordHash The new code hash or share-commitment hash.
    function upgrade(bytes32 newModelId, bytes calldata proof, uint256[] calldata publicInputs)
        external
        returns (bytes32 recordHash)
    {
        Model storage m = _activeModel(newModelId);
        recordHash = _upgrade(m, newModelId, publicInputs, msg.sender);
        _verify(m.verifier, newModelId, proof, publicInputs);
    }

    /// @notice Upgrades a batch of registered commitments to a newer model (relayers) with one
    ///         aggregated proof. Statement i is bound to `accounts[i]` (publicInputs[3] =
    ///         `bindingFor(accounts[i])`); each gets every check of `upgrade`, and any failure
    ///         reverts the whole batch.
    /// @param newModelId An active model with an aggregation verifier for `accounts.length`
    ///        proofs and a higher version than each commitment's current model.
    /// @param proof The aggregation proof (`zkiris aggregate`, `.zka`) of proofs under the new model.
    /// @param instances The aggregation verifier's public inputs: `ACCUMULATOR_LIMBS` accumulator
    ///        limbs, then each statement's layout-v2 inputs in order.
    /// @param accounts The account each statement is bound to.
    /// @return upgraded The number of upgrades (`accounts.length`).
    function upgradeBatch(
        bytes32 newModelId,
        bytes calldata proof,
        uint256[] calldata instances,
        address[] calldata accounts
    ) external returns (uint256 upgraded) {
        Model storage m = _activeModel(newModelId);
        uint256 n = accounts.length;
        address verifier = _aggregationVerifier(m, newModelId, n);
        _upgradeEach(m, newModelId, instances, accounts);
        _verify(verifier, newModelId, proof, instances);
        return n;
    }

    /// @notice Whether `commitment` has a record (code or share hash) stored under `modelId`
    ///         and the device that signed it is not revoked.
    function isRegistered(bytes32 commitment, bytes32 modelId) external view returns (bool) {
        if (revokedDevices[deviceOf[commitment]]) return false;
        return codeHashOf[commitment][modelId] != bytes32(0) || shareHashOf[commitment][modelId] != bytes32(0);
    }

    /// @notice Whether the enrollment device that signed `commitment` has been revoked.
    function isRevoked(bytes32 commitment) external view returns (bool) {
        address device = deviceOf[commitment];
        return device != address(0) && revokedDevices[device];
    }

    /// @notice The binding (publicInputs[3]) a proof submitted by `account` to this registry,
    ///         on this chain, must carry: keccak256(chainid ‖ this ‖ account) mod r.
    function bindingFor(address account) public view returns (uint256) {
        return uint256(keccak256(abi.encodePacked(block.chainid, address(this), account))) % SNARK_SCALAR_FIELD;
    }

    // ---------------------------------------------------------------- internals

    function _activeModel(bytes32 modelId) internal view returns (Model storage m) {
        m = models[modelId];
        if (m.verifier == address(0)) revert UnknownModel(modelId);
        if (!m.active) revert ModelInactive(modelId);
    }

    /// @dev A first registration of `publicInputs` bound to `account`, all but the proof check:
    ///      inputs, not yet registered, device trusted and not revoked, record claimed and stored,
    ///      event. The caller verifies the proof (one proof, or one aggregated proof for a batch).
    function _register(
        Model storage m,
        bytes32 modelId,
        uint256[] calldata publicInputs,
        bytes calldata deviceSignature,
        address account
    ) internal returns (bytes32 recordHash) {
        bytes32 commitment = _checkPublicInputs(m, publicInputs, account);
        bytes32 existing = currentModelOf[commitment];
        if (existing != bytes32(0)) revert AlreadyRegistered(commitment, existing);
        address device = _recoverDevice(commitment, deviceSignature);
        if (revokedDevices[device]) revert RevokedDevice(device);
        if (!trustedDevices[device]) revert UntrustedDevice(device);
        recordHash = _claimRecord(m, modelId, commitment, publicInputs);
        _storeRecord(m, modelId, commitment, recordHash);
        deviceOf[commitment] = device;
        if (m.submission == SUBMISSION_PUBLIC_CODE) {
            emit CodeRegistered(commitment, modelId, recordHash, device);
        } else {
            emit SharesRegistered(
                commitment,
                modelId,
                device,
                recordHash,
                publicInputs[IDX_BODY],
                publicInputs[IDX_BODY + 1],
                publicInputs[IDX_BODY + 2]
            );
        }
    }

    /// @dev The aggregation verifier for a batch of `n` statements, after checking the batch's size.
    function _aggregationVerifier(Model storage m, bytes32 modelId, uint256 n) internal view returns (address verifier) {
        if (n == 0 || n > MAX_BATCH) revert BadBatchSize(n);
        Aggregation storage agg = aggregationOf[modelId][n];
        verifier = agg.verifier;
        if (verifier == address(0) || agg.modelVerifier != m.verifier) revert NoAggregationVerifier(modelId, n);
    }

    /// @dev `_register` for each statement of an aggregated proof's instances (after the
    ///      accumulator limbs), bound to its account, with a `RegisteredFor` event.
    function _registerEach(
        Model storage m,
        bytes32 modelId,
        uint256[] calldata instances,
        address[] calldata accounts,
        bytes calldata deviceSignatures
    ) internal {
        uint256 per = _inputsPerStatement(m, instances.length, accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            uint256 at = ACCUMULATOR_LIMBS + i * per;
            _register(m, modelId, instances[at:at + per], deviceSignatures[65 * i:65 * i + 65], accounts[i]);
            emit RegisteredFor(bytes32(instances[at + IDX_COMMITMENT]), accounts[i], msg.sender);
        }
    }

    /// @dev `_upgrade` for each statement of an aggregated proof's instances (after the
    ///      accumulator limbs), bound to its account, with an `UpgradedFor` event.
    function _upgradeEach(Model storage m, bytes32 newModelId, uint256[] calldata instances, address[] calldata accounts) internal {
        uint256 per = _inputsPerStatement(m, instances.length, accounts.length);
        for (uint256 i = 0; i < accounts.length; i++) {
            uint256 at = ACCUMULATOR_LIMBS + i * per;
            _upgrade(m, newModelId, instances[at:at + per], accounts[i]);
            emit UpgradedFor(bytes32(instances[at + IDX_COMMITMENT]), accounts[i], msg.sender);
        }
    }

    /// @dev The public inputs per statement of an aggregated proof of `n` statements under `m`,
    ///      after checking that its `count` instances are the accumulator limbs and `n` statements.
    function _inputsPerStatement(Model storage m, uint256 count, uint256 n) internal view returns (uint256 per) {
        per = m.submission == SUBMISSION_PUBLIC_CODE ? PUBLIC_CODE_INPUTS : MPC_SHARES_INPUTS;
        uint256 expected = ACCUMULATOR_LIMBS + n * per;
        if (count != expected) revert WrongPublicInputCount(expected, count);
    }

    /// @dev An upgrade of the commitment of `publicInputs` (bound to `account`) to `newModelId`,
    ///      all but the proof check: inputs, registered, device not revoked, a higher version,
    ///      record claimed and stored, the old record kept or deleted by policy, event. The
    ///      caller verifies the proof (one proof, or one aggregated proof for a batch).
    function _upgrade(Model storage m, bytes32 newModelId, uint256[] calldata publicInputs, address account)
        internal
        returns (bytes32 recordHash)
    {
        bytes32 commitment = _checkPublicInputs(m, publicInputs, account);
        bytes32 oldModelId = currentModelOf[commitment];
        if (oldModelId == bytes32(0)) revert NotRegistered(commitment);
        address device = deviceOf[commitment];
        if (revokedDevices[device]) revert RevokedDevice(device);
        Model storage old = models[oldModelId];
        if (m.version <= old.version) revert NotAnUpgrade(commitment, oldModelId, newModelId);
        recordHash = _claimRecord(m, newModelId, commitment, publicInputs);
        _storeRecord(m, newModelId, commitment, recordHash);
        if (!keepOldCodeOnUpgrade) {
            if (old.submission == SUBMISSION_PUBLIC_CODE) delete codeHashOf[commitment][oldModelId];
            else delete shareHashOf[commitment][oldModelId];
        }
        if (m.submission == SUBMISSION_PUBLIC_CODE) {
            emit CodeUpgraded(commitment, oldModelId, newModelId, recordHash);
        } else {
            emit SharesUpgraded(
                commitment,
                oldModelId,
                newModelId,
                recordHash,
                publicInputs[IDX_BODY],
                publicInputs[IDX_BODY + 1],
                publicInputs[IDX_BODY + 2]
            );
        }
    }

    /// @dev Checks count (per mode), canonical encoding, the model's thresholds and the binding
    ///      to `account`; returns the commitment.
    function _checkPublicInputs(Model storage m, uint256[] calldata publicInputs, address account)
        internal
        view
        returns (bytes32)
    {
        bool publicCode = m.submission == SUBMISSION_PUBLIC_CODE;
        uint256 expected = publicCode ? PUBLIC_CODE_INPUTS : MPC_SHARES_INPUTS;
        if (publicInputs.length != expected) revert WrongPublicInputCount(expected, publicInputs.length);
        uint256 commitment = publicInputs[IDX_COMMITMENT];
        if (commitment >= SNARK_SCALAR_FIELD) revert NonCanonicalPublicInput(IDX_COMMITMENT);
        uint256 minValid = publicInputs[IDX_MIN_VALID_BITS];
        uint256 tau = publicInputs[IDX_LIVENESS_THRESHOLD];
        if (minValid != m.minValidBits || tau != m.livenessThreshold) revert ThresholdMismatch(minValid, tau);
        uint256 binding = publicInputs[IDX_BINDING];
        if (binding == 0) revert UnboundProof();
        uint256 bound = bindingFor(account);
        if (binding != bound) revert BindingMismatch(bound, binding);
        uint256 bad = type(uint256).max;
        if (publicCode) {
            // Code words: body index 67k + 66 (the last word of each code) holds 2 bytes, the others 31.
            assembly {
                let base := add(publicInputs.offset, mul(IDX_BODY, 0x20))
                for { let i := 0 } lt(i, NUM_CODE_WORDS) { i := add(i, 1) } {
                    let w := calldataload(add(base, mul(i, 0x20)))
                    let bits := 248
                    if eq(mod(i, CODE_WORDS), 66) { bits := 16 }
                    if shr(bits, w) {
                        bad := add(i, IDX_BODY)
                        break
                    }
                }
            }
        } else {
            for (uint256 i = IDX_BODY; i < IDX_BODY + NUM_SHARE_COMMITMENTS; i++) {
                if (publicInputs[i] >= SNARK_SCALAR_FIELD) {
                    bad = i;
                    break;
                }
            }
        }
        if (bad != type(uint256).max) revert NonCanonicalPublicInput(bad);
        return bytes32(commitment);
    }

    /// @dev The record hash of the body rows: public-code keccak256(publicInputs[4..138]),
    ///      mpc-shares keccak256(publicInputs[4..7]); claims a code hash for the commitment.
    function _claimRecord(Model storage m, bytes32 modelId, bytes32 commitment, uint256[] calldata publicInputs)
        internal
        returns (bytes32 h)
    {
        uint256 words = m.submission == SUBMISSION_PUBLIC_CODE ? NUM_CODE_WORDS : NUM_SHARE_COMMITMENTS;
        assembly {
            let ptr := mload(0x40)
            let len := mul(words, 0x20)
            calldatacopy(ptr, add(publicInputs.offset, mul(IDX_BODY, 0x20)), len)
            h := keccak256(ptr, len)
        }
        if (m.submission == SUBMISSION_PUBLIC_CODE) {
            bytes32 holder = commitmentOfCode[modelId][h];
            if (holder != bytes32(0) && holder != commitment) revert DuplicateCode(modelId, h, holder);
            commitmentOfCode[modelId][h] = commitment;
        }
    }

    /// @dev Stores the record, points the commitment at the model and counts the registration.
    function _storeRecord(Model storage m, bytes32 modelId, bytes32 commitment, bytes32 recordHash) internal {
        if (m.submission == SUBMISSION_PUBLIC_CODE) codeHashOf[commitment][modelId] = recordHash;
        else shareHashOf[commitment][modelId] = recordHash;
        currentModelOf[commitment] = modelId;
        m.registrations += 1;
    }

    /// @dev Calls the snark-verifier contract with publicInputs (32-byte words) ‖ proof.
    function _verify(address verifier, bytes32 modelId, bytes calldata proof, uint256[] calldata publicInputs)
        internal
        view
    {
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        bool ok;
        assembly {
            // Same bytes as abi.encodePacked(publicInputs, proof), without the unoptimized loop.
            let ptr := mload(0x40)
            let inputsLen := mul(publicInputs.length, 0x20)
            calldatacopy(ptr, publicInputs.offset, inputsLen)
            calldatacopy(add(ptr, inputsLen), proof.offset, proof.length)
            ok := staticcall(gas(), verifier, ptr, add(inputsLen, proof.length), 0, 0)
        }
        if (!ok) revert ProofRejected(modelId);
    }

    /// @dev ecrecover over the enrollment digest, rejecting malformed and high-s signatures.
    function _recoverDevice(bytes32 commitment, bytes calldata sig) internal pure returns (address device) {
        if (sig.length != 65) revert MalformedSignature();
        bytes32 r = bytes32(sig[0:32]);
        bytes32 s = bytes32(sig[32:64]);
        uint8 v = uint8(sig[64]);
        if ((v != 27 && v != 28) || uint256(s) > SECP256K1_HALF_ORDER) revert MalformedSignature();
        bytes32 digest = keccak256(abi.encodePacked(ENROLLMENT_DOMAIN, commitment));
        device = ecrecover(digest, v, r, s);
        if (device == address(0)) revert MalformedSignature();
    }
}
