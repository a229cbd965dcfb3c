// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Signatures} from "./Signatures.sol";

/// @dev The part of EnclaveRegistry the market needs.
interface IEnclaveRegistry {
    function isLive(address enclave, uint256 blockNumber)
        external
        view
        returns (bool live, bytes32 platformId, uint256 expiresAt);
}

/// @title WorkMarket
/// @notice Where useful work is bought (DESIGN §4.1, §4.7). A provider posts a task: the hashes
/// of a wasm module and its input (blobs that nodes store and serve by hash), a price per
/// instruction, a maximum number of instructions and an escrow covering both. A miner whose
/// enclave ran the task delivers the enclave-signed result: result hash, instructions
/// executed, outcome code. The miner is owed instructions × price, the provider the rest; after
/// the deadline an undelivered task's escrow is refundable. Every payout is pulled with
/// `withdraw` ("everyone gets paid, the lottery winner gets extra": block rewards come on top).
/// Enclaves are SIMULATED today (DESIGN §2): signatures are real, the hardware is not.
contract WorkMarket {
    bytes32 public constant RESULT_DOMAIN = keccak256("ankr.pouw.result.v1");
    /// The EnclaveRegistry's fixed address in every ankr chain spec.
    IEnclaveRegistry public constant REGISTRY = IEnclaveRegistry(0x00000000000000000000000000000000000a0001);

    enum State {
        None,
        Open,
        Delivered,
        Refunded
    }

    struct Task {
        address provider;
        State state;
        uint8 outcome;
        uint64 maxInstructions;
        uint64 deadline;
        uint64 instructions;
        uint128 pricePerInstruction;
        uint256 escrow;
        bytes32 moduleHash;
        bytes32 inputHash;
        bytes32 resultHash;
        address miner;
    }

    uint256 public taskCount;
    mapping(uint256 => Task) public tasks;
    /// Pull payments: what each address may withdraw.
    mapping(address => uint256) public owed;

    event TaskPosted(
        uint256 indexed id,
        address indexed provider,
        bytes32 moduleHash,
        bytes32 inputHash,
        uint256 pricePerInstruction,
        uint256 maxInstructions,
        uint256 deadline,
        uint256 escrow
    );
    event ResultDelivered(
        uint256 indexed id,
        address indexed miner,
        address enclave,
        bytes32 resultHash,
        uint256 instructions,
        uint8 outcome,
        uint256 payment
    );
    event TaskRefunded(uint256 indexed id, uint256 amount);
    event Withdrawn(address indexed to, uint256 amount);

    /// Posts a task; the escrow (msg.value) must cover maxInstructions × pricePerInstruction.
    /// Ids start at 1. The task can be delivered until block `block.number + deadlineBlocks`.
    function post(
        bytes32 moduleHash,
        bytes32 inputHash,
        uint128 pricePerInstruction,
        uint64 maxInstructions,
        uint64 deadlineBlocks
    ) external payable returns (uint256 id) {
        require(pricePerInstruction > 0 && maxInstructions > 0, "WorkMarket: zero price or budget");
        require(deadlineBlocks > 0 && deadlineBlocks <= 1_000_000, "WorkMarket: deadline out of range");
        require(
            msg.value >= uint256(pricePerInstruction) * maxInstructions,
            "WorkMarket: escrow must cover maxInstructions x pricePerInstruction"
        );
        id = ++taskCount;
        uint64 deadline = uint64(block.number) + deadlineBlocks;
        tasks[id] = Task({
            provider: msg.sender,
            state: State.Open,
            outcome: 0,
            maxInstructions: maxInstructions,
            deadline: deadline,
            instructions: 0,
            pricePerInstruction: pricePerInstruction,
            escrow: msg.value,
            moduleHash: moduleHash,
            inputHash: inputHash,
            resultHash: bytes32(0),
            miner: address(0)
        });
        emit TaskPosted(id, msg.sender, moduleHash, inputHash, pricePerInstruction, maxInstructions, deadline, msg.value);
    }

    /// The digest a live enclave signs for a result; it names the miner to pay, so a copied
    /// delivery pays no one else.
    function resultDigest(
        uint256 id,
        address miner,
        bytes32 resultHash,
        uint64 instructions,
        uint8 outcome
    ) public view returns (bytes32) {
        Task storage t = tasks[id];
        return keccak256(
            abi.encode(
                RESULT_DOMAIN,
                block.chainid,
                address(this),
                id,
                t.moduleHash,
                t.inputHash,
                miner,
                resultHash,
                instructions,
                outcome
            )
        );
    }

    /// Delivers the attested result of task `id`; the sender is paid instructions × price.
    function deliver(
        uint256 id,
        bytes32 resultHash,
        uint64 instructions,
        uint8 outcome,
        address enclave,
        bytes calldata enclaveSig
    ) external {
        Task storage t = tasks[id];
        require(t.state == State.Open, "WorkMarket: task is not open");
        require(block.number <= t.deadline, "WorkMarket: deadline passed");
        require(instructions <= t.maxInstructions, "WorkMarket: more instructions than the budget");
        require(
            Signatures.recover(resultDigest(id, msg.sender, resultHash, instructions, outcome), enclaveSig) == enclave,
            "WorkMarket: result not signed by the enclave"
        );
        (bool live,,) = REGISTRY.isLive(enclave, block.number);
        require(live, "WorkMarket: enclave is not live in EnclaveRegistry");
        uint256 payment = uint256(instructions) * t.pricePerInstruction;
        t.state = State.Delivered;
        t.resultHash = resultHash;
        t.instructions = instructions;
        t.outcome = outcome;
        t.miner = msg.sender;
        owed[msg.sender] += payment;
        owed[t.provider] += t.escrow - payment;
        emit ResultDelivered(id, msg.sender, enclave, resultHash, instructions, outcome, payment);
    }

    /// After the deadline, returns an undelivered task's escrow to its provider (anyone may call).
    function refund(uint256 id) external {
        Task storage t = tasks[id];
        require(t.state == State.Open, "WorkMarket: task is not open");
        require(block.number > t.deadline, "WorkMarket: deadline not reached");
        t.state = State.Refunded;
        owed[t.provider] += t.escrow;
        emit TaskRefunded(id, t.escrow);
    }

    /// Pays out everything owed to the sender.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        require(amount > 0, "WorkMarket: nothing owed");
        owed[msg.sender] = 0;
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "WorkMarket: transfer failed");
        emit Withdrawn(msg.sender, amount);
    }
}
