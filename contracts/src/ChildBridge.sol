// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title ChildBridge
/// @notice The bridge's end on an EVM child chain (DESIGN §8), in its genesis at 0x…0a0300
/// with the chain's whole pre-minted ANKR (EIP-8079: the gas token is unlocked, never minted).
/// - Anchors: before each block's transactions the node writes the block's anchor here by a
///   system call (EIP-4788's form: 32 bytes of calldata from the system address). The anchor is
///   the rolling hash of the deposits made to the chain's manager on the main chain, which the
///   manager checks (EXECUTE returns it), so an anchor the main chain never gave makes its
///   block provably wrong.
/// - Deposits: `credit` pays out the next deposits in order; their rolling hash must reach an
///   anchored one, so nobody (the operator included) can credit a deposit never made, credit
///   one twice, or change its recipient or amount.
/// - Withdrawals: `withdraw` takes ANKR back into the bridge and records (recipient, amount)
///   under a new id; the manager pays it on the main chain once it reads the record with
///   STORAGE_PROOF from a final child header.
/// @dev Attacker's view. `credit` is open to all and its contents are fixed by the anchor, so
/// front-running it only pays the gas for the depositors. A recipient that refuses ANKR (a
/// reverting contract) cannot block later deposits: its credit waits in `owed` for `collect`.
/// Payments forward no gas beyond the stipend, so a recipient cannot make a credit run out of
/// gas. The storage layout is read by the manager: `withdrawals` is slot 4.
contract ChildBridge {
    address public constant SYSTEM_ADDRESS = 0xffffFFFfFFffffffffffffffFfFFFfffFFFfFFfE;

    /// Every anchor a block has written (deposit hashes of the manager).
    mapping(bytes32 => bool) public anchored;
    /// The latest anchor written.
    bytes32 public latestAnchor;
    /// Rolling hash of the deposits credited so far, and how many.
    bytes32 public creditedHash;
    uint256 public creditedCount;
    /// Withdrawal id => keccak256(abi.encode(recipient on the main chain, amount)).
    mapping(uint256 => bytes32) public withdrawals;
    uint256 public withdrawalCount;
    /// Credits whose recipient refused the payment, waiting for `collect`.
    mapping(address => uint256) public owed;

    struct Deposit {
        address to;
        uint256 amount;
    }

    event Anchored(bytes32 anchor);
    event Credited(uint256 indexed index, address indexed to, uint256 amount);
    event WithdrawalStarted(uint256 indexed id, address indexed from, address to, uint256 amount);

    /// The anchor system call: the raw 32-byte anchor, from the system address only.
    fallback() external {
        require(msg.sender == SYSTEM_ADDRESS, "only the node writes anchors");
        require(msg.data.length == 32, "an anchor is 32 bytes");
        bytes32 anchor = bytes32(msg.data);
        if (anchor != 0 && !anchored[anchor]) {
            anchored[anchor] = true;
            latestAnchor = anchor;
            emit Anchored(anchor);
        }
    }

    /// Credits the next deposits, in the order the manager took them.
    function credit(Deposit[] calldata deposits) external {
        require(deposits.length > 0, "no deposits");
        bytes32 hash = creditedHash;
        for (uint256 i = 0; i < deposits.length; i++) {
            hash = keccak256(abi.encode(hash, deposits[i].to, deposits[i].amount));
        }
        require(anchored[hash], "these deposits do not reach an anchored deposit hash");
        uint256 index = creditedCount;
        creditedHash = hash;
        creditedCount = index + deposits.length;
        for (uint256 i = 0; i < deposits.length; i++) {
            index++;
            Deposit calldata deposit = deposits[i];
            emit Credited(index, deposit.to, deposit.amount);
            (bool paid,) = deposit.to.call{value: deposit.amount, gas: 0}("");
            if (!paid) owed[deposit.to] += deposit.amount;
        }
    }

    /// Pays a credit its recipient refused when it was made.
    function collect() external {
        uint256 amount = owed[msg.sender];
        require(amount > 0, "nothing owed");
        owed[msg.sender] = 0;
        (bool paid,) = msg.sender.call{value: amount}("");
        require(paid, "payment refused");
    }

    /// Sends the value back to the main chain, to `to`, once the block is final there.
    function withdraw(address to) external payable returns (uint256 id) {
        require(msg.value > 0, "nothing to withdraw");
        require(to != address(0), "a recipient is needed");
        id = ++withdrawalCount;
        withdrawals[id] = keccak256(abi.encode(to, msg.value));
        emit WithdrawalStarted(id, msg.sender, to, msg.value);
    }
}
