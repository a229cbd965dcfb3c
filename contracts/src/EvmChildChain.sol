// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IBoundaryRegistry {
    function recordBoundary(uint256 blknum, bytes32 root) external;
}

/// @title EvmChildChain
/// @notice The main chain's manager of one EVM child chain (DESIGN §8): it holds the operator's
/// stake and the hash of every child block the operator commits, and reports each commitment to
/// the ChildChainRegistry as the chain's boundary, so that every main-chain header's
/// `child_chains_root` covers EVM child chains as it covers Plasma ones. A block hash commits to
/// all of its ancestors, so the operator may commit every block or only the last of a batch.
/// @dev The operator is the only writer, so nobody can front-run or fill its commitments; a
/// commitment must move the chain forward, so a replayed or reordered one is refused. The
/// stake is held for the fraud proofs of the validity modes (DESIGN §8) and comes back to the
/// operator `exitDelay` blocks after it retires the chain; nothing else can be locked here.
contract EvmChildChain {
    /// The ChildChainRegistry system contract (its genesis address on every ankr main chain).
    address public constant CHILD_CHAIN_REGISTRY = 0x00000000000000000000000000000000000a0004;

    /// Who signs the child chain's blocks (its spec's `operator`) and commits them here.
    address public immutable owner;
    /// The child chain's own chain id, so that tools and watchers find its spec.
    uint256 public immutable childChainId;
    /// Blocks between retiring the chain and taking the stake back.
    uint256 public immutable exitDelay;

    /// The operator's stake (wei).
    uint256 public stake;
    /// The highest child block committed, and its hash.
    uint256 public latestNumber;
    bytes32 public latestHash;
    /// Every committed child block's hash, by number (0 for blocks inside a batch).
    mapping(uint256 => bytes32) public blockHash;
    /// The main-chain block at which the operator retired the chain (0 = live).
    uint256 public retiredAt;

    event BlockCommitted(uint256 indexed number, bytes32 blockHash);
    event Retired(uint256 atBlock, uint256 stakeReturnableAt);
    event StakeWithdrawn(address to, uint256 amount);

    constructor(uint256 childChainId_, uint256 exitDelay_) payable {
        require(childChainId_ != 0, "a child chain id is not zero");
        owner = msg.sender;
        childChainId = childChainId_;
        exitDelay = exitDelay_;
        stake = msg.value;
    }

    /// What kind of child chain this contract manages (RootChain answers "plasma").
    function kind() external pure returns (string memory) {
        return "evm";
    }

    /// Commits child block `number` with hash `hash` (and so every block before it).
    function commitBlock(uint256 number, bytes32 hash) external {
        require(msg.sender == owner, "only the operator commits blocks");
        require(retiredAt == 0, "the chain is retired");
        require(hash != 0, "a block hash is not zero");
        require(number > latestNumber, "a commitment must move the chain forward");
        latestNumber = number;
        latestHash = hash;
        blockHash[number] = hash;
        emit BlockCommitted(number, hash);
        if (CHILD_CHAIN_REGISTRY.code.length != 0) {
            try IBoundaryRegistry(CHILD_CHAIN_REGISTRY).recordBoundary(number, hash) {} catch {}
        }
    }

    /// The operator stops the chain; its stake can be taken back after `exitDelay` blocks.
    function retire() external {
        require(msg.sender == owner, "only the operator retires the chain");
        require(retiredAt == 0, "already retired");
        retiredAt = block.number;
        emit Retired(block.number, block.number + exitDelay);
    }

    /// Pays the stake back to the operator once the exit delay has passed.
    function withdrawStake() external {
        require(msg.sender == owner, "only the operator withdraws the stake");
        require(retiredAt != 0 && block.number >= retiredAt + exitDelay, "the stake is held until exitDelay blocks after retiring");
        uint256 amount = stake;
        require(amount > 0, "nothing to withdraw");
        stake = 0;
        (bool sent,) = owner.call{value: amount}("");
        require(sent, "transfer failed");
        emit StakeWithdrawn(owner, amount);
    }
}
