// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IBoundaryRegistry {
    function recordBoundary(uint256 blknum, bytes32 root) external;
}

/// @title EvmChildChain
/// @notice The main chain's manager of one EVM child chain (DESIGN §8): it holds the operator's
/// stake and the hash of every child block, checks them with the EXECUTE precompile, and
/// reports the latest one to the ChildChainRegistry as the chain's boundary, so that every
/// main-chain header's `child_chains_root` covers EVM child chains as it covers Plasma ones.
/// Two validity modes, fixed at deployment:
/// - EVERY_BLOCK: each block is submitted with its witness and executed by EXECUTE before it
///   is accepted; a wrong block is refused at submission and every accepted block is final.
/// - OPTIMISTIC: the operator commits block hashes (many per transaction); a block is final
///   `challengeWindow` main blocks after its commitment. Until then anyone who finds it wrong
///   proves so in one transaction (EXECUTE on the block and its witness): the block and every
///   later one are reverted, half the operator's stake goes to the prover and half is forfeited.
/// @dev Attacker's view. Only the operator writes blocks, and only in order, so nobody can
/// front-run or fill them. A proof names the block it reverts by hash, so a proof replayed
/// after the reversal (or against a re-committed block) finds another hash and is refused; a
/// proof of an honest block is refused by EXECUTE's own answer and costs its sender the gas;
/// a proof racing the finalization loses at the window's last block. A copied proof pays the
/// first to land (the prover is msg.sender); an operator copying a proof of its own wrong block
/// still forfeits half its stake. The operator's stake comes back `exitDelay` blocks
/// after it retires the chain; nothing else is held here.
contract EvmChildChain {
    /// The ChildChainRegistry system contract (its genesis address on every ankr main chain).
    address public constant CHILD_CHAIN_REGISTRY = 0x00000000000000000000000000000000000a0004;
    /// The EXECUTE precompile (`ankr_execution::stateless::precompile`).
    address public constant EXECUTE = 0x00000000000000000000000000000000000A0200;
    uint8 public constant EVERY_BLOCK = 0;
    uint8 public constant OPTIMISTIC = 1;
    /// The most hashes one commitment may carry.
    uint256 public constant MAX_BATCH = 256;

    /// Who signs the child chain's blocks (its spec's `operator`) and commits them here.
    address public immutable owner;
    /// The child chain's own chain id and per-transaction gas cap, as EXECUTE runs its blocks.
    uint256 public immutable childChainId;
    uint256 public immutable maxTxGas;
    /// EVERY_BLOCK or OPTIMISTIC.
    uint8 public immutable mode;
    /// OPTIMISTIC: main-chain blocks a commitment stays open to proofs.
    uint256 public immutable challengeWindow;
    /// Blocks between retiring the chain and taking the stake back.
    uint256 public immutable exitDelay;
    /// The stake the operator must hold for the chain to take blocks.
    uint256 public immutable requiredStake;

    /// The operator's stake (wei).
    uint256 public stake;
    /// The highest child block standing, and its hash.
    uint256 public latestNumber;
    bytes32 public latestHash;
    /// Every committed child block's hash by number (0 = the child genesis); only entries up
    /// to `latestNumber` stand (a reversal leaves dead ones above it until recommitted).
    mapping(uint256 => bytes32) public blockHash;
    /// The main-chain block that committed each standing child block.
    mapping(uint256 => uint256) public committedAt;
    /// The main-chain block at which the operator retired the chain (0 = live).
    uint256 public retiredAt;
    /// Stake forfeited by proven wrong blocks: held here for good, withdrawable by nobody.
    uint256 public forfeited;

    event BlockCommitted(uint256 indexed number, bytes32 blockHash);
    event BlocksReverted(uint256 indexed fromNumber, uint256 toNumber, bytes32 wrongHash, address prover, uint256 reward);
    event Retired(uint256 atBlock, uint256 stakeReturnableAt);
    event StakeWithdrawn(address to, uint256 amount);

    constructor(
        uint256 childChainId_,
        bytes32 genesisHash,
        uint256 maxTxGas_,
        uint8 mode_,
        uint256 challengeWindow_,
        uint256 exitDelay_
    ) payable {
        require(childChainId_ != 0, "a child chain id is not zero");
        require(genesisHash != 0, "the child genesis hash is not zero");
        require(mode_ == EVERY_BLOCK || mode_ == OPTIMISTIC, "mode is EVERY_BLOCK (0) or OPTIMISTIC (1)");
        require(mode_ == EVERY_BLOCK || challengeWindow_ > 0, "an optimistic chain needs a challenge window");
        owner = msg.sender;
        childChainId = childChainId_;
        maxTxGas = maxTxGas_;
        mode = mode_;
        challengeWindow = challengeWindow_;
        exitDelay = exitDelay_;
        requiredStake = msg.value;
        stake = msg.value;
        blockHash[0] = genesisHash;
        latestHash = genesisHash;
    }

    /// What kind of child chain this contract manages (RootChain answers "plasma").
    function kind() external pure returns (string memory) {
        return "evm";
    }

    modifier operating() {
        require(msg.sender == owner, "only the operator commits blocks");
        require(retiredAt == 0, "the chain is retired");
        require(stake >= requiredStake, "the operator's stake is below what the chain requires");
        _;
    }

    /// EVERY_BLOCK: submits the next child block with its witness; EXECUTE must find it valid.
    function submitBlock(bytes calldata block_, bytes[] calldata state, bytes[] calldata codes, bytes[] calldata headers)
        external
        operating
    {
        require(mode == EVERY_BLOCK, "an optimistic chain takes commitments, not blocks");
        (bytes32 hash, bytes32 parent, uint256 number, bool valid) = _execute(_input(block_, state, codes, headers));
        require(number == latestNumber + 1, "a block must follow the latest");
        require(parent == latestHash, "a block must extend the latest");
        require(valid, "EXECUTE: the block's header does not match its execution");
        _record(number, hash);
        _reportBoundary(number, hash);
    }

    /// OPTIMISTIC: commits child blocks `first`, `first + 1`, … by hash.
    function commitBlocks(uint256 first, bytes32[] calldata hashes) external operating {
        require(mode == OPTIMISTIC, "an every-block chain takes blocks with witnesses");
        require(hashes.length > 0 && hashes.length <= MAX_BATCH, "1 to MAX_BATCH hashes");
        require(first == latestNumber + 1, "a commitment must follow the latest block");
        for (uint256 i = 0; i < hashes.length; i++) {
            require(hashes[i] != 0, "a block hash is not zero");
            _record(first + i, hashes[i]);
        }
        _reportBoundary(latestNumber, latestHash);
    }

    /// OPTIMISTIC: proves committed block `number` wrong with the block and its witness. The
    /// block and every later one are reverted; the stake goes to the prover.
    function proveInvalid(
        uint256 number,
        bytes calldata block_,
        bytes[] calldata state,
        bytes[] calldata codes,
        bytes[] calldata headers
    ) external {
        require(mode == OPTIMISTIC, "an every-block chain has no wrong blocks to prove");
        require(number >= 1 && number <= latestNumber, "no such committed block");
        require(!isFinal(number), "the block is final");
        require(_wrong(number, _input(block_, state, codes, headers)), "the block is valid");
        _revertFrom(number);
    }

    /// Whether the block and witness show committed block `number` wrong: its execution does
    /// not match its header, or it is not where the commitments put it (another number or
    /// another parent).
    function _wrong(uint256 number, bytes memory input) internal view returns (bool) {
        (bytes32 hash, bytes32 parent, uint256 claimed, bool valid) = _execute(input);
        require(hash == blockHash[number], "the proof is not of the committed block");
        return !valid || claimed != number || parent != blockHash[number - 1];
    }

    /// Reverts block `number` and every later one; pays the stake to the prover. O(1): the
    /// entries above `latestNumber` are dead (every reader checks it) and are overwritten by
    /// the next commitments, so no flood of commitments can make a proof too costly to send.
    function _revertFrom(uint256 number) internal {
        bytes32 wrong = blockHash[number];
        uint256 last = latestNumber;
        latestNumber = number - 1;
        latestHash = blockHash[number - 1];
        // Half the stake pays the prover; half is forfeited for good, so that an operator who
        // front-runs a proof of its own wrong block with a copy still loses it.
        uint256 reward = stake / 2;
        forfeited += stake - reward;
        stake = 0;
        emit BlocksReverted(number, last, wrong, msg.sender, reward);
        _reportBoundary(latestNumber, latestHash);
        (bool sent,) = msg.sender.call{value: reward}("");
        require(sent, "paying the prover failed");
    }

    /// Whether child block `number` stands and can no longer be reverted.
    function isFinal(uint256 number) public view returns (bool) {
        if (number == 0) return true;
        if (number > latestNumber) return false;
        if (mode == EVERY_BLOCK) return true;
        return block.number >= committedAt[number] + challengeWindow;
    }

    /// The operator tops its stake back up (after a proof took it) to go on.
    function addStake() external payable {
        require(msg.sender == owner, "only the operator stakes");
        stake += msg.value;
    }

    /// The operator stops the chain; its stake can be taken back after `exitDelay` blocks.
    function retire() external {
        require(msg.sender == owner, "only the operator retires the chain");
        require(retiredAt == 0, "already retired");
        retiredAt = block.number;
        emit Retired(block.number, block.number + exitDelay);
    }

    /// Pays the stake back to the operator once the exit delay has passed (and, on an
    /// optimistic chain, every committed block is final, so no proof can still claim it).
    function withdrawStake() external {
        require(msg.sender == owner, "only the operator withdraws the stake");
        require(retiredAt != 0 && block.number >= retiredAt + exitDelay, "the stake is held until exitDelay blocks after retiring");
        require(isFinal(latestNumber), "the last blocks are still open to proofs");
        uint256 amount = stake;
        require(amount > 0, "nothing to withdraw");
        stake = 0;
        (bool sent,) = owner.call{value: amount}("");
        require(sent, "transfer failed");
        emit StakeWithdrawn(owner, amount);
    }

    /// EXECUTE's input for a block of this chain (no block reward on child chains).
    function _input(bytes calldata block_, bytes[] calldata state, bytes[] calldata codes, bytes[] calldata headers)
        internal
        view
        returns (bytes memory)
    {
        return abi.encode(childChainId, maxTxGas, uint256(0), block_, state, codes, headers);
    }

    function _execute(bytes memory input)
        internal
        view
        returns (bytes32 hash, bytes32 parent, uint256 number, bool valid)
    {
        (bool ok, bytes memory out) = EXECUTE.staticcall(input);
        require(ok && out.length == 224, "EXECUTE refused the input: malformed, or the witness is incomplete");
        (hash, parent, number, valid) = abi.decode(out, (bytes32, bytes32, uint256, bool));
    }

    function _record(uint256 number, bytes32 hash) internal {
        latestNumber = number;
        latestHash = hash;
        blockHash[number] = hash;
        committedAt[number] = block.number;
        emit BlockCommitted(number, hash);
    }

    function _reportBoundary(uint256 number, bytes32 hash) internal {
        if (CHILD_CHAIN_REGISTRY.code.length != 0) {
            try IBoundaryRegistry(CHILD_CHAIN_REGISTRY).recordBoundary(number, hash) {} catch {}
        }
    }
}
