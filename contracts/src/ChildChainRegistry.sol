// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

interface IStakedRootChain {
    function owner() external view returns (address);
}

/// @title ChildChainRegistry
/// @notice The main chain's list of Plasma child chains (DESIGN §5): each chain's name, operator,
/// RootChain contract and stake, and its latest boundary (child block number and root hash),
/// which the RootChain reports on every submitted block. Consensus reads `boundaries()` and
/// every main-chain header's `child_chains_root` commits to them ("each block of the main chain
/// contains the references to the boundary of child chains").
/// Registering costs a bond the registry itself holds (at least `minStake`): a contract that
/// merely *reports* an owner and a stake cannot fill the registry for free (audit M-6). When
/// all `MAX_CHAINS` slots are taken, a registration with a larger bond takes the slot of the
/// smallest one, whose bond goes back to its operator: a full registry is an auction, never a
/// dead end. Operators may retire their chain and take the bond back.
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
    /// slot 3: bonds returned to operators (evicted or retired chains), pulled with `withdraw`.
    mapping(address => uint256) public withdrawals;

    event ChildChainRegistered(uint256 indexed id, string name, address operator, address rootChain, uint256 stake);
    event ChildChainRemoved(uint256 indexed id, address rootChain, uint256 bond);
    event BoundaryRecorded(uint256 indexed id, uint256 blknum, bytes32 root);

    /// Registers `rootChain` under `name` with a bond (msg.value, at least `minStake`) that
    /// this registry holds; only the chain's operator may. When the registry is full, the bond
    /// must exceed the smallest registered one, whose slot it takes.
    function register(string calldata name, address rootChain) external payable returns (uint256 id) {
        require(bytes(name).length > 0 && bytes(name).length <= 64, "a name of 1 to 64 bytes");
        require(idOf[rootChain] == 0, "already registered");
        require(msg.value >= minStake, "bond below the minimum stake");
        require(IStakedRootChain(rootChain).owner() == msg.sender, "only the chain's operator registers it");
        ChildChain memory entry = ChildChain(name, msg.sender, rootChain, msg.value, 0, bytes32(0));
        if (chains.length < MAX_CHAINS) {
            chains.push(entry);
            id = chains.length;
        } else {
            id = _smallestBond();
            require(msg.value > chains[id - 1].stake, "registry full: bond more than the smallest registered");
            _remove(id);
            chains[id - 1] = entry;
        }
        idOf[rootChain] = id;
        emit ChildChainRegistered(id, name, msg.sender, rootChain, msg.value);
    }

    /// The operator of `rootChain` leaves the registry; its bond can be withdrawn. The slot
    /// stays (empty, boundary zero) for the next registration when the registry is full.
    function retire(address rootChain) external {
        uint256 id = idOf[rootChain];
        require(id != 0, "not registered");
        require(chains[id - 1].operator == msg.sender, "only the chain's operator retires it");
        _remove(id);
        chains[id - 1] = ChildChain("", address(0), address(0), 0, 0, bytes32(0));
    }

    /// Pays out returned bonds.
    function withdraw() external {
        uint256 amount = withdrawals[msg.sender];
        require(amount > 0, "nothing to withdraw");
        withdrawals[msg.sender] = 0;
        (bool sent,) = msg.sender.call{value: amount}("");
        require(sent, "transfer failed");
    }

    /// Credits slot `id`'s bond back to its operator and forgets its RootChain.
    function _remove(uint256 id) internal {
        ChildChain storage old = chains[id - 1];
        withdrawals[old.operator] += old.stake;
        idOf[old.rootChain] = 0;
        emit ChildChainRemoved(id, old.rootChain, old.stake);
    }

    /// The id of the slot with the smallest bond (a retired slot has none).
    function _smallestBond() internal view returns (uint256 id) {
        uint256 least = type(uint256).max;
        for (uint256 i = 0; i < chains.length; i++) {
            if (chains[i].stake < least) {
                least = chains[i].stake;
                id = i + 1;
            }
        }
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
