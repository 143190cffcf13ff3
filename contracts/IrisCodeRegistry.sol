// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity ^0.8.19;

/// @title IrisCodeRegistry
/// @notice Accepts iris codes proven in zero knowledge (zkiris) and links them to the person's
///         enrollment commitment `C`.
///
/// A registration shows, for an issuer-approved model: (1) a zkiris proof that the iris code
/// and mask code were derived from the image committed in `C`, through that model, with the
/// model's quality and liveness thresholds met; (2) an enrollment device's signature on `C`.
/// The registry stores `codeHash = keccak256(code words ‖ mask words)` under `(C, model)`.
///
/// When the issuer publishes a newer model, the person re-proves from the same enrolled image
/// and calls `upgrade`: the commitment links the new code to the old registration, so no new
/// device signature (no new visit to an enrollment device) is needed.
///
/// @dev Public-input layout v1 (one instance column, 137 values):
///   [0] commitment C, [1] min_valid_bits, [2] liveness threshold τ,
///   [3..70) iris-code words, [70..137) mask-code words. Each code is the 2048-byte serialized
///   code cut into 31-byte big-endian chunks (the last chunk has 2 bytes).
///   The verifier is a snark-verifier contract: calldata = the inputs as 32-byte words ‖ proof;
///   it returns nothing on success and reverts otherwise.
///
/// Replay and duplicate protection:
///   - A proof is bound to its public inputs, so it cannot be reused for another commitment,
///     another code or other thresholds: changing any of them makes the verifier reject it.
///     Every public input must be canonical (below the BN254 scalar modulus; code words below
///     2^248, the last one below 2^16), because the verifier reduces inputs modulo the field
///     and `C` and `C + p` would otherwise be two different registry keys for one proof.
///   - `register` accepts a commitment only once (under any model); re-submitting the same
///     registration (or the same commitment with another proof) reverts `AlreadyRegistered`.
///     Later models go through `upgrade`.
///   - `upgrade` only moves a commitment to a model with a strictly higher version than its
///     current model, so an upgrade cannot be replayed or rolled back.
///   - Under each model, a code hash belongs to at most one commitment (`DuplicateCode`): one
///     enrolled image re-committed with another salt cannot register the same code twice. This
///     exact-match check does not replace fuzzy (Hamming-distance) uniqueness, done off chain.
///   - Submission is permissionless and not bound to `msg.sender`: anyone may submit (or front-run)
///     a registration, but the outcome is the same record, so nothing is gained.
///   - The proof is not bound to a chain or a registry instance: the same enrollment can be
///     registered on other deployments, which record the same fact.
contract IrisCodeRegistry {
    // ---------------------------------------------------------------- layout v1 and constants

    /// @notice Number of public inputs of every zkiris proof (layout v1).
    uint256 public constant NUM_PUBLIC_INPUTS = 137;
    uint256 internal constant IDX_COMMITMENT = 0;
    uint256 internal constant IDX_MIN_VALID_BITS = 1;
    uint256 internal constant IDX_LIVENESS_THRESHOLD = 2;
    uint256 internal constant IDX_CODE = 3;
    /// @dev Code and mask words: 2 × 67.
    uint256 internal constant NUM_CODE_WORDS = 134;
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
    /// @param minValidBits `publicInputs[1]` every proof for this model must carry.
    /// @param livenessThreshold `publicInputs[2]` every proof must carry (field element; 0 if none).
    struct Model {
        address verifier;
        uint64 version;
        bool active;
        uint32 minValidBits;
        uint256 livenessThreshold;
    }

    /// @notice The issuer: manages models, devices and the upgrade policy.
    address public owner;
    /// @notice Upgrade policy: keep the code of the previous model next to the new one (true),
    ///         or replace it (false).
    bool public keepOldCodeOnUpgrade;
    /// @notice Models by model id (the manifest's 32-byte model id).
    mapping(bytes32 => Model) public models;
    /// @notice Enrollment devices whose signatures on commitments are accepted.
    mapping(address => bool) public trustedDevices;
    /// @notice The model a commitment is currently registered under (zero: not registered).
    mapping(bytes32 => bytes32) public currentModelOf;
    /// @notice Code hash per (commitment, model); zero if none is stored.
    mapping(bytes32 => mapping(bytes32 => bytes32)) public codeHashOf;
    /// @notice The commitment that registered a code hash under a model (duplicate guard).
    ///         Kept when an upgrade replaces the code, so the code stays claimed.
    mapping(bytes32 => mapping(bytes32 => bytes32)) public commitmentOfCode;

    // ---------------------------------------------------------------- events

    /// @notice Ownership moved to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    /// @notice A model was added or changed.
    event ModelSet(
        bytes32 indexed modelId,
        address verifier,
        uint64 version,
        uint32 minValidBits,
        uint256 livenessThreshold,
        bool active
    );
    /// @notice A device was trusted or distrusted.
    event TrustedDeviceSet(address indexed device, bool trusted);
    /// @notice The upgrade policy changed.
    event UpgradePolicySet(bool keepOldCode);
    /// @notice A commitment registered its first code.
    event CodeRegistered(bytes32 indexed commitment, bytes32 indexed modelId, bytes32 codeHash, address indexed device);
    /// @notice A commitment moved to a newer model; `codeHash` is the new code.
    event CodeUpgraded(bytes32 indexed commitment, bytes32 indexed oldModel, bytes32 indexed newModel, bytes32 codeHash);

    // ---------------------------------------------------------------- errors

    /// @notice Only the owner may do this.
    error NotOwner(address caller);
    /// @notice The zero address is not allowed here.
    error ZeroAddress();
    /// @notice Model id zero is reserved (it means "not registered").
    error ZeroModelId();
    /// @notice The verifier address has no code.
    error VerifierHasNoCode(address verifier);
    /// @notice No model with this id.
    error UnknownModel(bytes32 modelId);
    /// @notice The model does not accept proofs now.
    error ModelInactive(bytes32 modelId);
    /// @notice `publicInputs` does not have `NUM_PUBLIC_INPUTS` values.
    error WrongPublicInputCount(uint256 got);
    /// @notice `publicInputs[index]` is not canonical (see the contract notes).
    error NonCanonicalPublicInput(uint256 index);
    /// @notice The proof's thresholds are not the model's.
    error ThresholdMismatch(uint256 minValidBits, uint256 livenessThreshold);
    /// @notice The verifier rejected the proof.
    error ProofRejected(bytes32 modelId);
    /// @notice The device signature is not 65 bytes r‖s‖v with v ∈ {27, 28} and low s, or recovers nothing.
    error MalformedSignature();
    /// @notice The signature recovers to a device that is not trusted.
    error UntrustedDevice(address recovered);
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

    /// @notice Hands the registry to `newOwner`.
    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Adds or changes a model. `verifier` must be a deployed contract.
    function setModel(
        bytes32 modelId,
        address verifier,
        uint64 version,
        uint32 minValidBits,
        uint256 livenessThreshold,
        bool active
    ) external onlyOwner {
        if (modelId == bytes32(0)) revert ZeroModelId();
        if (verifier.code.length == 0) revert VerifierHasNoCode(verifier);
        if (livenessThreshold >= SNARK_SCALAR_FIELD) revert NonCanonicalPublicInput(IDX_LIVENESS_THRESHOLD);
        models[modelId] = Model(verifier, version, active, minValidBits, livenessThreshold);
        emit ModelSet(modelId, verifier, version, minValidBits, livenessThreshold, active);
    }

    /// @notice Turns a model on or off.
    function setModelActive(bytes32 modelId, bool active) external onlyOwner {
        Model storage m = models[modelId];
        if (m.verifier == address(0)) revert UnknownModel(modelId);
        m.active = active;
        emit ModelSet(modelId, m.verifier, m.version, m.minValidBits, m.livenessThreshold, active);
    }

    /// @notice Trusts or distrusts an enrollment device (its Ethereum-style address).
    function setTrustedDevice(address device, bool trusted) external onlyOwner {
        if (device == address(0)) revert ZeroAddress();
        trustedDevices[device] = trusted;
        emit TrustedDeviceSet(device, trusted);
    }

    /// @notice Sets whether upgrades keep (true) or replace (false) the previous model's code.
    function setUpgradePolicy(bool keepOldCode) external onlyOwner {
        keepOldCodeOnUpgrade = keepOldCode;
        emit UpgradePolicySet(keepOldCode);
    }

    // ---------------------------------------------------------------- registration

    /// @notice Registers the first code of an enrollment commitment.
    /// @param modelId An active model.
    /// @param proof The zkiris proof (EVM transcript) for `publicInputs` under the model's key.
    /// @param publicInputs The 137 public inputs, layout v1; `publicInputs[0]` is the commitment.
    /// @param deviceSignature r‖s‖v (65 bytes) by a trusted device over
    ///        keccak256(abi.encodePacked("zkiris/enrollment/v1", bytes32(commitment))).
    /// @return codeHash keccak256 of the 134 code and mask words (publicInputs[3..137]).
    function register(
        bytes32 modelId,
        bytes calldata proof,
        uint256[] calldata publicInputs,
        bytes calldata deviceSignature
    ) external returns (bytes32 codeHash) {
        Model storage m = _activeModel(modelId);
        bytes32 commitment = _checkPublicInputs(m, publicInputs);
        bytes32 existing = currentModelOf[commitment];
        if (existing != bytes32(0)) revert AlreadyRegistered(commitment, existing);
        address device = _recoverDevice(commitment, deviceSignature);
        if (!trustedDevices[device]) revert UntrustedDevice(device);
        codeHash = _codeHash(publicInputs);
        _claimCode(modelId, codeHash, commitment);
        _verify(m.verifier, modelId, proof, publicInputs);
        codeHashOf[commitment][modelId] = codeHash;
        currentModelOf[commitment] = modelId;
        emit CodeRegistered(commitment, modelId, codeHash, device);
    }

    /// @notice Moves a registered commitment to a newer model with a proof under that model.
    ///         No device signature: the commitment (a public input of both proofs) links them.
    ///         The previous model may have been deactivated since; its registration still counts,
    ///         because the commitment itself was attested by a trusted device at registration.
    /// @param newModelId An active model with a higher version than the commitment's current one.
    /// @param proof The zkiris proof for `publicInputs` under the new model's key.
    /// @param publicInputs The 137 public inputs, layout v1.
    /// @return codeHash The new code hash.
    function upgrade(bytes32 newModelId, bytes calldata proof, uint256[] calldata publicInputs)
        external
        returns (bytes32 codeHash)
    {
        Model storage m = _activeModel(newModelId);
        bytes32 commitment = _checkPublicInputs(m, publicInputs);
        bytes32 oldModelId = currentModelOf[commitment];
        if (oldModelId == bytes32(0)) revert NotRegistered(commitment);
        if (m.version <= models[oldModelId].version) revert NotAnUpgrade(commitment, oldModelId, newModelId);
        codeHash = _codeHash(publicInputs);
        _claimCode(newModelId, codeHash, commitment);
        _verify(m.verifier, newModelId, proof, publicInputs);
        codeHashOf[commitment][newModelId] = codeHash;
        currentModelOf[commitment] = newModelId;
        if (!keepOldCodeOnUpgrade) delete codeHashOf[commitment][oldModelId];
        emit CodeUpgraded(commitment, oldModelId, newModelId, codeHash);
    }

    /// @notice Whether `commitment` has a code stored under `modelId`.
    function isRegistered(bytes32 commitment, bytes32 modelId) external view returns (bool) {
        return codeHashOf[commitment][modelId] != bytes32(0);
    }

    // ---------------------------------------------------------------- internals

    function _activeModel(bytes32 modelId) internal view returns (Model storage m) {
        m = models[modelId];
        if (m.verifier == address(0)) revert UnknownModel(modelId);
        if (!m.active) revert ModelInactive(modelId);
    }

    /// @dev Checks count, canonical encoding and the model's thresholds; returns the commitment.
    function _checkPublicInputs(Model storage m, uint256[] calldata publicInputs) internal view returns (bytes32) {
        if (publicInputs.length != NUM_PUBLIC_INPUTS) revert WrongPublicInputCount(publicInputs.length);
        uint256 commitment = publicInputs[IDX_COMMITMENT];
        if (commitment >= SNARK_SCALAR_FIELD) revert NonCanonicalPublicInput(IDX_COMMITMENT);
        uint256 minValid = publicInputs[IDX_MIN_VALID_BITS];
        uint256 tau = publicInputs[IDX_LIVENESS_THRESHOLD];
        if (minValid != m.minValidBits || tau != m.livenessThreshold) revert ThresholdMismatch(minValid, tau);
        // Code words: index 3 + 67k + 66 (the last word of each code) holds 2 bytes, the others 31.
        uint256 bad = type(uint256).max;
        assembly {
            let base := add(publicInputs.offset, mul(IDX_CODE, 0x20))
            for { let i := 0 } lt(i, NUM_CODE_WORDS) { i := add(i, 1) } {
                let w := calldataload(add(base, mul(i, 0x20)))
                let bits := 248
                if eq(mod(i, 67), 66) { bits := 16 }
                if shr(bits, w) {
                    bad := add(i, IDX_CODE)
                    break
                }
            }
        }
        if (bad != type(uint256).max) revert NonCanonicalPublicInput(bad);
        return bytes32(commitment);
    }

    /// @dev keccak256 of publicInputs[3..137] as 32-byte words.
    function _codeHash(uint256[] calldata publicInputs) internal pure returns (bytes32 h) {
        assembly {
            let ptr := mload(0x40)
            let len := mul(NUM_CODE_WORDS, 0x20)
            calldatacopy(ptr, add(publicInputs.offset, mul(IDX_CODE, 0x20)), len)
            h := keccak256(ptr, len)
        }
    }

    function _claimCode(bytes32 modelId, bytes32 codeHash, bytes32 commitment) internal {
        bytes32 holder = commitmentOfCode[modelId][codeHash];
        if (holder != bytes32(0) && holder != commitment) revert DuplicateCode(modelId, codeHash, holder);
        commitmentOfCode[modelId][codeHash] = commitment;
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
