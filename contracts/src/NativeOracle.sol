// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Signatures} from "./Signatures.sol";

interface IOracleRegistry {
    function isLiveOracle(address enclave) external view returns (bool);
}

/// @title NativeOracle
/// @notice The Native Oracle System's contract (DESIGN §6; the whitepaper's "Native Data Feed"):
/// Town Crier's request → relay → enclave → deliver → callback, with its flaws fixed. A contract
/// pays a fee within [Gmin + callbackGas, Gmax] at the fixed gas price P; an enclave registered
/// as an oracle in `EnclaveRegistry` fetches the data over HTTPS and signs (chain id, this
/// contract, id, params hash, code, keccak(data), relay); only that relay can deliver it, so a
/// copied delivery cannot take the fee of the relay that did the work (audit M-3). The callback
/// gets exactly `callbackGas`; whatever it does, the delivery stands. A cancellation takes
/// effect `CANCEL_GRACE_BLOCKS` after it is asked for, and a delivery in between is paid: a
/// requester who reads the answer in the pool cannot cancel in front of it (audit M-3). Every
/// payout is pulled with `withdraw()`. Enclaves are SIMULATED today (DESIGN §2).
/// @dev A system contract: genesis writes slots 0-5 (ankr-contracts' `native_oracle_genesis`).
/// Append new state after slot 9 only.
contract NativeOracle {
    bytes32 public constant DATAGRAM_DOMAIN = keccak256("ankr.oracle.datagram.v2");
    IOracleRegistry public constant REGISTRY = IOracleRegistry(0x00000000000000000000000000000000000a0001);
    /// Largest `params` of a request (an encrypted one included).
    uint256 public constant MAX_PARAMS_BYTES = 4096;
    /// Largest `data` of a delivery (kind 2 delivers whole documents up to this size).
    uint256 public constant MAX_DATA_BYTES = 32768;
    /// Gas kept back for this contract's own work after the callback returns.
    uint256 public constant DELIVERY_OVERHEAD_GAS = 20000;
    /// Codes at or above this are the oracle's fault: the requester gets the whole fee back.
    uint16 public constant FIRST_FAULT_CODE = 16;
    uint8 public constant KINDS = 3;
    /// Set on a kind: the params are sealed to an oracle enclave's encryption key (HPKE).
    uint8 public constant PRIVATE = 0x80;
    bytes32 public constant ENCRYPTION_KEY_DOMAIN = keccak256("ankr.oracle.encryption-key.v1");
    /// Blocks between asking to cancel and the cancellation taking effect: long enough for a
    /// delivery already in the pool (resent with a higher fee if stuck) to be mined.
    uint64 public constant CANCEL_GRACE_BLOCKS = 20;

    enum State {
        None,
        Pending,
        Delivered,
        Cancelled,
        Expired
    }

    struct Request {
        address requester;
        uint8 kind;
        State state;
        bytes4 callbackSelector;
        uint32 callbackGas;
        uint64 deadline;
        uint128 fee;
        /// The block from which a cancellation asked for takes effect (0: none asked).
        uint64 cancelFrom;
        bytes32 paramsHash;
    }

    /// slot 0: P, the fixed gas price fees are counted in (wei).
    uint256 public gasPrice;
    /// slot 1: Gmin, gas the oracle's delivery costs besides the callback.
    uint256 public minGas;
    /// slot 2: Gcancel, gas a cancellation keeps (Gcancel ≤ Gmin).
    uint256 public cancelGas;
    /// slot 3: Gmax, the most gas a request may pay for.
    uint256 public maxGas;
    /// slot 4: blocks after which an undelivered request may be expired.
    uint256 public timeoutBlocks;
    /// slot 5: receives the cancellation fees.
    address public feeCollector;
    /// slot 6: the last id handed out (ids start at 1).
    uint64 public lastId;
    /// slot 7: requests by id.
    mapping(uint64 => Request) public requests;
    /// slot 8: what each account may withdraw.
    mapping(address => uint256) public balanceOf;
    /// slot 9: the X25519 key each oracle enclave takes private requests under.
    mapping(address => bytes32) public encryptionKeyOf;

    event RequestInfo(
        uint64 indexed id,
        address indexed requester,
        uint8 kind,
        bytes params,
        bytes32 paramsHash,
        uint32 callbackGas,
        uint64 deadline,
        uint256 fee
    );
    event Delivered(uint64 indexed id, uint16 code, address relay);
    event CallbackFailed(uint64 indexed id);
    /// A `deliverBatch` entry for a request that was no longer pending.
    event DeliverySkipped(uint64 indexed id);
    event CancelRequested(uint64 indexed id, uint64 effectiveFrom);
    event Cancelled(uint64 indexed id, uint256 refund);
    event Expired(uint64 indexed id, uint256 refund);
    event Withdrawn(address indexed account, uint256 amount);
    event EncryptionKeyPublished(address indexed enclave, bytes32 key);

    /// The hash a delivery must quote: binds the kind and the parameters to the requester
    /// (so that a private request's ciphertext replayed by another account does not match).
    function paramsHashOf(uint8 kind, bytes calldata params, address requester) public pure returns (bytes32) {
        return keccak256(abi.encode(kind, keccak256(params), requester));
    }

    /// What the enclave signs for a datagram that `relay` will deliver.
    function datagramDigest(uint64 id, bytes32 paramsHash, uint16 code, bytes calldata data, address relay)
        public
        view
        returns (bytes32)
    {
        return keccak256(
            abi.encode(DATAGRAM_DOMAIN, block.chainid, address(this), id, paramsHash, code, keccak256(data), relay)
        );
    }

    /// Asks for data of `kind` (0 JSON, 1 XML, 2 whole document; | PRIVATE for sealed params);
    /// `callbackSelector` on the
    /// caller gets (id, code, data) with exactly `callbackGas`. The fee is msg.value: at least
    /// (Gmin + callbackGas)·P, at most Gmax·P; what is above the first is credited back.
    function request(uint8 kind, bytes calldata params, bytes4 callbackSelector, uint32 callbackGas)
        external
        payable
        returns (uint64 id)
    {
        require(minGas >= cancelGas, "NativeOracle: misconfigured (Gmin < Gcancel)");
        require(kind & ~PRIVATE < KINDS, "NativeOracle: unknown request kind");
        require(params.length <= MAX_PARAMS_BYTES, "NativeOracle: params too large");
        uint256 needed = (minGas + callbackGas) * gasPrice;
        require(msg.value >= needed, "NativeOracle: fee below (Gmin + callbackGas) * P");
        require(msg.value <= maxGas * gasPrice, "NativeOracle: fee above Gmax * P");
        id = ++lastId;
        bytes32 paramsHash = paramsHashOf(kind, params, msg.sender);
        uint64 deadline = uint64(block.number + timeoutBlocks);
        requests[id] = Request({
            requester: msg.sender,
            kind: kind,
            state: State.Pending,
            callbackSelector: callbackSelector,
            callbackGas: callbackGas,
            deadline: deadline,
            fee: uint128(needed),
            cancelFrom: 0,
            paramsHash: paramsHash
        });
        if (msg.value > needed) balanceOf[msg.sender] += msg.value - needed;
        emit RequestInfo(id, msg.sender, kind, params, paramsHash, callbackGas, deadline, needed);
    }

    /// One datagram of a `deliverBatch`: `deliver`'s arguments.
    struct Delivery {
        uint64 id;
        bytes32 paramsHash;
        uint16 code;
        bytes data;
        bytes enclaveSig;
    }

    /// Each request's state, so that a relay learns which of many requests still wait in one
    /// call rather than one per request.
    function statesOf(uint64[] calldata ids) external view returns (State[] memory states) {
        states = new State[](ids.length);
        for (uint256 i = 0; i < ids.length; i++) {
            states[i] = requests[ids[i]].state;
        }
    }

    /// Delivers a datagram a live oracle enclave signed for the caller; pays the caller (or, for
    /// an oracle fault, refunds the requester), then calls back. The state changes before the
    /// call.
    function deliver(uint64 id, bytes32 paramsHash, uint16 code, bytes calldata data, bytes calldata enclaveSig)
        external
    {
        require(requests[id].state == State.Pending, "NativeOracle: request is not pending");
        _deliver(id, paramsHash, code, data, enclaveSig, address(0));
    }

    /// `deliver` for many datagrams in one transaction, as a busy relay sends them: one
    /// transaction's intrinsic cost and one registry lookup per enclave instead of one per
    /// datagram. A request that is no longer pending (delivered by an earlier transaction of the
    /// same relay, cancelled, expired) is skipped with `DeliverySkipped`, so that one stale
    /// entry does not throw away the others; any other failed check reverts the whole batch,
    /// as it would `deliver`. Each callback still gets exactly its `callbackGas`.
    function deliverBatch(Delivery[] calldata deliveries) external {
        address live;
        for (uint256 i = 0; i < deliveries.length; i++) {
            Delivery calldata d = deliveries[i];
            if (requests[d.id].state != State.Pending) {
                emit DeliverySkipped(d.id);
                continue;
            }
            live = _deliver(d.id, d.paramsHash, d.code, d.data, d.enclaveSig, live);
        }
    }

    /// Checks and settles one pending request's datagram and calls back. `knownLive` is an
    /// enclave already found live in this transaction (its liveness cannot change within one);
    /// returns the signer, found live.
    function _deliver(
        uint64 id,
        bytes32 paramsHash,
        uint16 code,
        bytes calldata data,
        bytes calldata enclaveSig,
        address knownLive
    ) private returns (address signer) {
        Request storage r = requests[id];
        require(paramsHash == r.paramsHash, "NativeOracle: params hash mismatch");
        require(data.length <= MAX_DATA_BYTES, "NativeOracle: data too large");
        signer = Signatures.recover(datagramDigest(id, paramsHash, code, data, msg.sender), enclaveSig);
        require(
            signer != address(0) && (signer == knownLive || REGISTRY.isLiveOracle(signer)),
            "NativeOracle: not signed by a live oracle enclave for this relay"
        );
        r.state = State.Delivered;
        address payee = code >= FIRST_FAULT_CODE ? r.requester : msg.sender;
        balanceOf[payee] += r.fee;
        emit Delivered(id, code, msg.sender);
        // EIP-150 passes at most 63/64 of what is left: make sure that is the whole callbackGas,
        // so that a relay cannot starve the callback by sending too little gas.
        require(
            gasleft() >= uint256(r.callbackGas) * 64 / 63 + DELIVERY_OVERHEAD_GAS,
            "NativeOracle: not enough gas for the callback"
        );
        // A plain call, returning nothing to this frame: Solidity's `.call` copies the
        // callee's returndata into memory, and a callback returning ~368 KB made that copy
        // cost the relay more than the delivery's gas (audit M-4).
        bytes memory payload = abi.encodeWithSelector(r.callbackSelector, id, code, data);
        address target = r.requester;
        uint256 callbackGas = r.callbackGas;
        bool ok;
        assembly ("memory-safe") {
            ok := call(callbackGas, target, 0, add(payload, 0x20), mload(payload), 0, 0)
        }
        if (!ok) emit CallbackFailed(id);
    }

    /// The requester gives up on a pending request, in two calls: the first asks, the second
    /// (from `CANCEL_GRACE_BLOCKS` later, if nobody delivered meanwhile) cancels, and the fee
    /// minus Gcancel·P comes back.
    function cancel(uint64 id) external {
        Request storage r = requests[id];
        require(r.requester == msg.sender, "NativeOracle: not the requester");
        require(r.state == State.Pending, "NativeOracle: request is not pending");
        if (r.cancelFrom == 0) {
            uint64 from = uint64(block.number) + CANCEL_GRACE_BLOCKS;
            r.cancelFrom = from;
            emit CancelRequested(id, from);
            return;
        }
        require(block.number >= r.cancelFrom, "NativeOracle: cancellation not yet in effect");
        r.state = State.Cancelled;
        uint256 kept = cancelGas * gasPrice;
        uint256 refund = r.fee - kept;
        balanceOf[msg.sender] += refund;
        balanceOf[feeCollector] += kept;
        emit Cancelled(id, refund);
    }

    /// Anyone may expire a request nobody delivered by its deadline: the whole fee comes back.
    function expire(uint64 id) external {
        Request storage r = requests[id];
        require(r.state == State.Pending, "NativeOracle: request is not pending");
        require(block.number > r.deadline, "NativeOracle: deadline not reached");
        r.state = State.Expired;
        balanceOf[r.requester] += r.fee;
        emit Expired(id, r.fee);
    }

    /// What an enclave signs to publish its encryption key.
    function encryptionKeyDigest(address enclave, bytes32 key) public view returns (bytes32) {
        return keccak256(abi.encode(ENCRYPTION_KEY_DOMAIN, block.chainid, address(this), enclave, key));
    }

    /// Publishes the key a live oracle enclave takes private requests under (signed by it, so
    /// that nobody can make requesters seal their parameters to someone else).
    function publishEncryptionKey(address enclave, bytes32 key, bytes calldata enclaveSig) external {
        require(REGISTRY.isLiveOracle(enclave), "NativeOracle: not a live oracle enclave");
        require(
            Signatures.recover(encryptionKeyDigest(enclave, key), enclaveSig) == enclave,
            "NativeOracle: key not signed by the enclave"
        );
        encryptionKeyOf[enclave] = key;
        emit EncryptionKeyPublished(enclave, key);
    }

    /// Pays out everything credited to the caller.
    function withdraw() external {
        uint256 amount = balanceOf[msg.sender];
        require(amount > 0, "NativeOracle: nothing to withdraw");
        balanceOf[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "NativeOracle: transfer failed");
        emit Withdrawn(msg.sender, amount);
    }
}
