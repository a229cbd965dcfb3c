// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IStakedRootChain {
    function owner() external view returns (address);
    function ownerStake() external view returns (uint256);
}

/// @title ChildChainRegistry
/// @notice The main chain's list of Plasma child chains (DESIGN §5): each chain's name, operator,
/// RootChain contract and stake, and its latest boundary (child block number and root hash),
/// which the RootChain reports on every submitted block. Consensus reads `boundaries()` and
/// every main-chain header's `child_chains_root` commits to them ("each block of the main chain
/// contains the references to the boundary of child chains").
/// @dev A system contract: genesis writes slot 0 (`minStake`). Append new state only.
contract ChildChainRegistry {
    /// The most child chains: bounds the work every block's header commitment costs.
    uint256 public constant MAX_CHAINS = 1024;

    struct ChildChain {
        string name;
        address operator;
        address rootChain;
        uint256 stake;
        uint256 blknum;
        bytes32 root;
    }

    /// slot 0: the least stake (wei) a RootChain's operator must have posted to register it.
    uint256 public minStake;
    /// slot 1: child chains; id = index + 1.
    ChildChain[] internal chains;
    /// slot 2: a RootChain's id (0 = not registered).
    mapping(address => uint256) public idOf;

    event ChildChainRegistered(uint256 indexed id, string name, address operator, address rootChain, uint256 stake);
    event BoundaryRecorded(uint256 indexed id, uint256 blknum, bytes32 root);

    /// Registers `rootChain` under `name`; only its operator may, with at least `minStake` staked in it.
    function register(string calldata name, address rootChain) external returns (uint256 id) {
        require(chains.length < MAX_CHAINS, "registry full");
        require(bytes(name).length > 0 && bytes(name).length <= 64, "a name of 1 to 64 bytes");
        require(idOf[rootChain] == 0, "already registered");
        IStakedRootChain child = IStakedRootChain(rootChain);
        require(child.owner() == msg.sender, "only the chain's operator registers it");
        uint256 stake = child.ownerStake();
        require(stake >= minStake, "stake below the minimum");
        chains.push(ChildChain(name, msg.sender, rootChain, stake, 0, bytes32(0)));
        id = chains.length;
        idOf[rootChain] = id;
        emit ChildChainRegistered(id, name, msg.sender, rootChain, stake);
    }

    /// Called by a registered RootChain with its latest child block; ignored from anyone else.
    function recordBoundary(uint256 blknum, bytes32 root) external {
        uint256 id = idOf[msg.sender];
        if (id == 0) return;
        ChildChain storage reporting = chains[id - 1];
        reporting.blknum = blknum;
        reporting.root = root;
        emit BoundaryRecorded(id, blknum, root);
    }

    function count() external view returns (uint256) {
        return chains.length;
    }

    function chain(uint256 id) external view returns (ChildChain memory) {
        require(id >= 1 && id <= chains.length, "no such child chain");
        return chains[id - 1];
    }

    /// Every chain's RootChain and latest boundary, by id (index + 1): what headers commit to.
    function boundaries()
        external
        view
        returns (address[] memory rootChains, uint256[] memory blknums, bytes32[] memory roots)
    {
        uint256 n = chains.length;
        rootChains = new address[](n);
        blknums = new uint256[](n);
        roots = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            ChildChain storage c = chains[i];
            (rootChains[i], blknums[i], roots[i]) = (c.rootChain, c.blknum, c.root);
        }
    }
}
