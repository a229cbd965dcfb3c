// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {PlasmaTransaction} from "./PlasmaTransaction.sol";
import {Signatures} from "./Signatures.sol";

interface IChildChainRegistry {
    function recordBoundary(uint256 blknum, bytes32 root) external;
}

/// @title RootChain
/// @notice One Plasma child chain's contract on the main chain (DESIGN §5; the whitepaper's
/// "Plasma" section, functions named as it names them): the operator submits block roots,
/// anyone deposits ANKR, and every owner can take their coins back through a bonded, challengeable
/// exit that finalizes in priority order. Beyond Plasma MVP, anyone can prove a submitted block
/// invalid: half the operator's stake goes to the prover (half covers exits) and the block and every later one are rolled
/// back (the chain then takes no more blocks or deposits; its users exit).
/// @dev Lessons of the public implementations: child blocks are 1000, 2000, … with at most 999
/// deposit blocks between them; an exit's priority is floored to the oldest block younger than
/// `challengePeriod` (the 7-day rule); an output whose input has exited or is exiting cannot
/// exit; the exit queue really deletes; finalize stops before it runs out of gas; high-s
/// signatures are refused; every payout is pulled with `withdraw()`.
contract RootChain {
    using PlasmaTransaction for PlasmaTransaction.Tx;

    uint256 public constant CHILD_BLOCK_INTERVAL = 1000;
    /// Where a registered chain reports its boundary (main-chain headers commit to it).
    address public constant CHILD_CHAIN_REGISTRY = 0x00000000000000000000000000000000000a0004;
    /// Gas `finalizeExit` keeps for one exit besides the heap's levels.
    uint256 public constant FINALIZE_EXIT_GAS = 70000;
    /// Gas `finalizeExit` keeps per level of the exit heap.
    uint256 public constant FINALIZE_LEVEL_GAS = 15000;
    /// The output index of a transaction's fee output: (block, txindex, 2) holds its fee and
    /// belongs to the operator, who spends it on the child chain or exits it like any output
    /// (audit L-4: fees were collected nowhere and stayed locked here).
    uint256 public constant FEE_OINDEX = 2;
    /// The low 96 bits of a queue entry: the exit's UTXO position.
    uint256 internal constant UTXO_POS_MASK = (1 << 96) - 1;

    enum Fraud {
        None,
        Overspend,
        BadSignature,
        DoubleSpend,
        Malformed
    }

    struct Block {
        bytes32 root;
        uint256 timestamp;
    }

    struct Exit {
        address owner;
        uint64 exitableAt;
        uint256 amount;
        uint256 bond;
    }

    /// Output states: an output is exiting from `startExit` until finalized or challenged.
    uint8 internal constant EXITING = 1;
    uint8 internal constant EXITED = 2;

    address public immutable owner;
    /// Every exit stays open at least this long, and an exit's block is floored to the oldest
    /// block younger than this (seconds; Plasma MVP's one week).
    uint256 public immutable challengePeriod;
    /// An exit pays no earlier than this after its output's block (Plasma MVP's two weeks).
    uint256 public immutable maturityPeriod;
    /// Wei an exit must post; half goes to whoever proves the exit's output spent.
    uint256 public immutable exitBond;

    uint256 public ownerStake;
    uint256 public currentChildBlock = CHILD_BLOCK_INTERVAL;
    /// The next deposit's offset after the last child block (1 … 999).
    uint256 public currentDepositBlock = 1;
    /// 0 while the chain is sound; else the first child block proven invalid: it and every
    /// later child block count as removed.
    uint256 public rolledBackFrom;

    mapping(uint256 => Block) public blocks;
    /// blknum << 64 | timestamp of every block in order (numbers and times both increase):
    /// what the priority floor searches.
    uint256[] internal history;

    mapping(uint256 => Exit) public exits;
    mapping(uint256 => uint8) public outputState;
    /// The exit queue: a binary min-heap of priority << 160 | exitableAt << 96 | utxoPos (equal
    /// priorities settle by maturity), with each exit's place.
    uint256[] internal queue;
    mapping(uint256 => uint256) internal queueSlot;

    mapping(address => uint256) public withdrawals;
    /// What `withdrawals` hold in all, and the bonds of the exits in the queue: with
    /// `ownerStake`, what the contract's balance must keep; the rest pays exits' amounts.
    uint256 public owedTotal;
    uint256 public bondsHeld;

    event BlockSubmitted(bytes32 root, uint256 blknum, uint256 timestamp);
    event Deposit(address indexed depositor, uint256 amount, uint256 blknum);
    event ExitStarted(address indexed exitor, uint256 plasmaBlockNum, uint256 txindex, uint256 oindex);
    event ExitChallenged(uint256 indexed exitId, address challenger);
    event ExitFinalized(address indexed exitor, uint256 plasmaBlockNum, uint256 txindex, uint256 oindex);
    event ExitDropped(uint256 indexed exitId);
    event BlockInvalid(uint256 indexed blknum, Fraud fraud, address prover, uint256 reward);
    event Withdrawal(address indexed to, uint256 amount);
    /// An exit was paid `shortfall` less than its amount: the contract held no more beyond what
    /// better-priority exits, bonds and the stake had claimed (only after unproven fraud).
    event ExitShortfall(uint256 indexed exitId, uint256 shortfall);

    constructor(uint256 challengePeriod_, uint256 maturityPeriod_, uint256 exitBond_) payable {
        require(challengePeriod_ <= maturityPeriod_, "challenge period exceeds maturity");
        owner = msg.sender;
        ownerStake = msg.value;
        challengePeriod = challengePeriod_;
        maturityPeriod = maturityPeriod_;
        exitBond = exitBond_;
    }

    modifier live() {
        require(rolledBackFrom == 0, "chain rolled back: exits only");
        _;
    }

    /// What kind of child chain this contract manages (EvmChildChain answers "evm").
    function kind() external pure returns (string memory) {
        return "plasma";
    }

    // ---------------------------------------------------------------- blocks and deposits

    /// The operator's next child block: root hash = keccak(Merkle root ‖ previous child block's
    /// root hash).
    function submitBlock(bytes32 root) external live {
        require(msg.sender == owner, "only the operator submits blocks");
        require(root != 0, "a block root is not zero");
        uint256 blknum = currentChildBlock;
        // A root chains the previous child block's root, so it never equals it: an equal one is
        // a resubmission (a retry whose first attempt was mined after all), not a new block.
        require(blknum == CHILD_BLOCK_INTERVAL || root != blocks[blknum - CHILD_BLOCK_INTERVAL].root, "root already submitted");
        _addBlock(blknum, root);
        currentChildBlock = blknum + CHILD_BLOCK_INTERVAL;
        currentDepositBlock = 1;
        emit BlockSubmitted(root, blknum, block.timestamp);
        _reportBoundary(blknum, root);
    }

    /// Tells the registry the latest standing child block (nothing if there is no registry).
    function _reportBoundary(uint256 blknum, bytes32 root) internal {
        if (CHILD_CHAIN_REGISTRY.code.length == 0) return;
        try IChildChainRegistry(CHILD_CHAIN_REGISTRY).recordBoundary(blknum, root) {} catch {}
    }

    /// Puts msg.value on the child chain as a one-transaction block to the sender, hashed as
    /// the child chain hashes it and chained to the last child block.
    function deposit() external payable live {
        _deposit();
    }

    /// A deposit that lands only while `childBlock` is the next child block (audit M-2): an
    /// operator who sees it pending cannot put blocks of its own in front of it — if it does,
    /// the deposit reverts and the funds stay with the depositor. `ankr plasma deposit` uses it.
    function depositBefore(uint256 childBlock) external payable live {
        require(currentChildBlock == childBlock, "the child chain moved past the expected block");
        _deposit();
    }

    function _deposit() internal {
        require(msg.value > 0, "nothing to deposit");
        require(currentDepositBlock < CHILD_BLOCK_INTERVAL, "999 deposits since the last child block");
        uint256 blknum = currentChildBlock - CHILD_BLOCK_INTERVAL + currentDepositBlock;
        bytes32 leaf = keccak256(PlasmaTransaction.encodeDeposit(msg.sender, msg.value));
        bytes32 root = keccak256(abi.encodePacked(PlasmaTransaction.singleLeafRoot(leaf), _previousRoot(blknum)));
        _addBlock(blknum, root);
        currentDepositBlock += 1;
        emit Deposit(msg.sender, msg.value, blknum);
    }

    function _addBlock(uint256 blknum, bytes32 root) internal {
        blocks[blknum] = Block(root, block.timestamp);
        history.push((blknum << 64) | block.timestamp);
    }

    /// The root hash a block's root chains over: the last child block before it.
    function _previousRoot(uint256 blknum) internal view returns (bytes32) {
        uint256 previous = blknum % CHILD_BLOCK_INTERVAL == 0
            ? blknum - CHILD_BLOCK_INTERVAL
            : blknum - blknum % CHILD_BLOCK_INTERVAL;
        return blocks[previous].root;
    }

    /// The domain this child chain's transactions are signed in (`ankr_plasma::TxDomain`).
    function txDomain() public view returns (bytes32) {
        return PlasmaTransaction.domain(block.chainid, address(this));
    }

    /// Whether `blknum` is a block that stands (submitted and not rolled back).
    function isLive(uint256 blknum) public view returns (bool) {
        if (blocks[blknum].root == 0) return false;
        return rolledBackFrom == 0 || blknum % CHILD_BLOCK_INTERVAL != 0 || blknum < rolledBackFrom;
    }

    /// The root hash of the standing block that holds `txBytes` at `txindex` (an empty
    /// `txBytes` shows an unfilled, zero leaf); reverts otherwise.
    function _included(uint256 blknum, uint256 txindex, bytes memory txBytes, bytes memory proof)
        internal
        view
        returns (bytes32 root)
    {
        require(isLive(blknum), "no such block");
        bytes32 leaf = txBytes.length == 0 ? bytes32(0) : keccak256(txBytes);
        (bool ok, bytes32 merkleRoot) = PlasmaTransaction.merkleRoot(leaf, txindex, proof);
        require(ok, "proof is 16 hashes, index below 65536");
        root = blocks[blknum].root;
        require(keccak256(abi.encodePacked(merkleRoot, _previousRoot(blknum))) == root, "not in the block");
    }

    function _decode(bytes memory txBytes) internal pure returns (PlasmaTransaction.Tx memory t) {
        bool ok;
        (ok, t) = PlasmaTransaction.decode(txBytes);
        require(ok, "malformed transaction");
    }

    // ---------------------------------------------------------------- exits

    /// Starts the exit of output `oindex` of the transaction at (`plasmaBlockNum`, `txindex`),
    /// by its owner, with `exitBond`. `confirmSig` holds one 65-byte confirm signature per used
    /// input, by that input's owner, over (tx hash, block root); empty for a deposit.
    function startExit(
        uint256 plasmaBlockNum,
        uint256 txindex,
        uint256 oindex,
        bytes calldata txBytes,
        bytes calldata proof,
        bytes calldata confirmSig
    ) external payable {
        require(msg.value == exitBond, "post exactly the exit bond");
        require(oindex <= FEE_OINDEX, "a transaction has two outputs and a fee output");
        bytes32 root = _included(plasmaBlockNum, txindex, txBytes, proof);
        PlasmaTransaction.Tx memory t = _decode(txBytes);
        (address outputOwner, uint256 amount) = _output(t, oindex);
        require(outputOwner == msg.sender, "only the output's owner exits it");
        require(amount > 0, "nothing to exit");
        require(
            plasmaBlockNum % CHILD_BLOCK_INTERVAL != 0 || !(t.inputEmpty(0) && t.inputEmpty(1)),
            "only a deposit block holds a transaction without inputs"
        );
        _checkConfirmations(t, keccak256(txBytes), root, confirmSig);
        _enqueue(plasmaBlockNum, txindex, oindex, amount);
    }

    /// Output `oindex` of `t`: its owner and amount (the fee output is the operator's fee).
    function _output(PlasmaTransaction.Tx memory t, uint256 oindex) internal view returns (address, uint256) {
        if (oindex == FEE_OINDEX) return (owner, t.fee);
        return (t.owner[oindex], t.denom[oindex]);
    }

    /// Records an exit of `amount` by the caller and queues it by its floored priority.
    function _enqueue(uint256 blknum, uint256 txindex, uint256 oindex, uint256 amount) internal {
        uint256 utxoPos = PlasmaTransaction.position(blknum, txindex, oindex);
        require(outputState[utxoPos] == 0, "output is exiting or exited");
        uint256 floor = _priorityFloor();
        // An output older than the floor counts from the floor's first position: behind every
        // block that stood before it, ahead of every block and deposit still to come.
        uint256 priority = blknum >= floor
            ? PlasmaTransaction.position(blknum, txindex, oindex)
            : PlasmaTransaction.position(floor, 0, 0);
        uint256 exitableAt = blocks[blknum].timestamp + maturityPeriod;
        if (exitableAt < block.timestamp + challengePeriod) exitableAt = block.timestamp + challengePeriod;
        exits[utxoPos] = Exit(msg.sender, uint64(exitableAt), amount, msg.value);
        bondsHeld += msg.value;
        outputState[utxoPos] = EXITING;
        _push((priority << 160) | (exitableAt << 96) | utxoPos);
        emit ExitStarted(msg.sender, blknum, txindex, oindex);
    }

    /// Each used input: not exiting or exited, and confirmed by its owner (the signer of the
    /// input) over (tx hash, block root).
    function _checkConfirmations(PlasmaTransaction.Tx memory t, bytes32 txHash, bytes32 root, bytes calldata confirmSig)
        internal
        view
    {
        uint256 used = 0;
        bytes32 digest = PlasmaTransaction.confirmationHash(txHash, root);
        for (uint256 k = 0; k < 2; k++) {
            if (t.inputEmpty(k)) continue;
            require(outputState[t.inputPosition(k)] == 0, "an input of this output is exiting or exited");
            require(confirmSig.length >= 65 * (used + 1), "a confirm signature per input");
            address signer = t.inputSigner(k, txDomain());
            require(signer != address(0), "input signature invalid");
            require(
                Signatures.recover(digest, confirmSig[65 * used:65 * (used + 1)]) == signer, "confirm signature is not by the input's owner"
            );
            used++;
        }
        require(confirmSig.length == 65 * used, "one confirm signature per input");
    }

    /// The oldest block an exit's priority may count from: the oldest block younger than
    /// `challengePeriod`, or on a chain idle that long its last block (audit L-1: the next
    /// child block's number lies above the deposits still to come, which then sorted ahead of
    /// the exit and held it back a maturity period each).
    function _priorityFloor() internal view returns (uint256) {
        if (block.timestamp < challengePeriod) return 0;
        uint256 cutoff = block.timestamp - challengePeriod;
        uint256 low = 0;
        uint256 high = history.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (uint64(history[mid]) > cutoff) high = mid;
            else low = mid + 1;
        }
        return (low == history.length ? history[history.length - 1] : history[low]) >> 64;
    }

    /// Cancels exit `exitId` (its UTXO position) by showing the output spent: the spending
    /// transaction at (`plasmaBlockNum`, `txindex`) whose input `oindex` is the exiting output,
    /// and the exiter's confirm signature over it. Half the exit's bond goes to the challenger.
    function challengeExit(
        uint256 exitId,
        uint256 plasmaBlockNum,
        uint256 txindex,
        uint256 oindex,
        bytes calldata txBytes,
        bytes calldata proof,
        bytes calldata confirmSig
    ) external payable {
        require(outputState[exitId] == EXITING, "no such exit");
        require(oindex < 2, "a transaction has two inputs");
        bytes32 root = _included(plasmaBlockNum, txindex, txBytes, proof);
        PlasmaTransaction.Tx memory t = _decode(txBytes);
        require(!t.inputEmpty(oindex) && t.inputPosition(oindex) == exitId, "does not spend the exiting output");
        bytes32 digest = PlasmaTransaction.confirmationHash(keccak256(txBytes), root);
        require(Signatures.recover(digest, confirmSig) == exits[exitId].owner, "confirm signature is not by the exiter");
        _cancelExit(exitId);
    }

    /// Deletes a challenged exit from the queue; half its bond (and anything the challenger
    /// sent) goes to the challenger, and the other half stays to cover exits (audit L-2: a
    /// cheater who challenges its own exit in front of an honest challenger still loses it).
    function _cancelExit(uint256 exitId) internal {
        uint256 bond = exits[exitId].bond;
        _remove(queueSlot[exitId] - 1);
        delete exits[exitId];
        outputState[exitId] = 0;
        bondsHeld -= bond;
        _credit(msg.sender, bond / 2 + msg.value);
        emit ExitChallenged(exitId, msg.sender);
    }

    /// Credits `amount` to `who`'s withdrawals.
    function _credit(address who, uint256 amount) internal {
        withdrawals[who] += amount;
        owedTotal += amount;
    }

    /// Pays every matured exit in priority order until one is not yet matured or the gas left
    /// would not cover another; anyone may call it. Returns how many exits it settled. Each
    /// exit is paid from what the balance holds beyond earlier credits, queued bonds and the
    /// stake, so after a shortfall better-priority exits are paid in full first and no credit
    /// exceeds the balance (audit M-1: a worse exit withdrawing first used to take a better
    /// one's funds).
    /// A call with too little gas for even one matured exit reverts, so that a gas estimate
    /// (`eth_estimateGas` searches for the least gas that does not revert) settles at least
    /// one (audit item 15: it used to settle none).
    function finalizeExit() external returns (uint256 settled) {
        while (queue.length > 0) {
            uint256 utxoPos = queue[0] & UTXO_POS_MASK;
            Exit memory e = exits[utxoPos];
            if (e.exitableAt > block.timestamp) break;
            uint256 levels = _log2(queue.length) + 1;
            if (gasleft() < FINALIZE_EXIT_GAS + FINALIZE_LEVEL_GAS * levels) {
                require(settled > 0, "not enough gas to settle the next matured exit");
                break;
            }
            _remove(0);
            delete exits[utxoPos];
            uint256 blknum = utxoPos / 1e9;
            uint256 txindex = (utxoPos % 1e9) / 1e4;
            uint256 held = owedTotal + ownerStake + bondsHeld;
            uint256 free = address(this).balance > held ? address(this).balance - held : 0;
            bondsHeld -= e.bond;
            if (!isLive(blknum)) {
                // Its block was rolled back: the output never existed; the bond goes back.
                outputState[utxoPos] = 0;
                _credit(e.owner, e.bond);
                emit ExitDropped(utxoPos);
            } else {
                outputState[utxoPos] = EXITED;
                uint256 amount = e.amount;
                if (amount > free) {
                    emit ExitShortfall(utxoPos, amount - free);
                    amount = free;
                }
                _credit(e.owner, amount + e.bond);
                emit ExitFinalized(e.owner, blknum, txindex, utxoPos % 1e4);
            }
            settled++;
        }
    }

    /// Sends the caller everything owed to them: exits, bonds, the stake of a proven-invalid
    /// operator.
    function withdraw() external {
        uint256 amount = withdrawals[msg.sender];
        require(amount > 0, "nothing to withdraw");
        withdrawals[msg.sender] = 0;
        owedTotal -= amount;
        (bool sent,) = msg.sender.call{value: amount}("");
        require(sent, "transfer failed");
        emit Withdrawal(msg.sender, amount);
    }

    /// Exits waiting in the queue.
    function exitQueueLength() external view returns (uint256) {
        return queue.length;
    }

    /// The exit the queue would settle next (0 if none) and its priority.
    function nextExit() external view returns (uint256 utxoPos, uint256 priority) {
        if (queue.length == 0) return (0, 0);
        return (queue[0] & UTXO_POS_MASK, queue[0] >> 160);
    }

    // ---------------------------------------------------------------- fraud proofs

    /// Proves that a transaction's outputs + fee differ from its inputs: `inputTxs[k]` and
    /// `inputProofs[k]` show what input k spends (an empty transaction proves an unfilled leaf,
    /// worth nothing; an input naming no standing earlier block, or a leaf beyond the tree, is
    /// worth nothing).
    function proveOverspend(
        uint256 blknum,
        uint256 txindex,
        bytes calldata txBytes,
        bytes calldata proof,
        bytes[2] calldata inputTxs,
        bytes[2] calldata inputProofs
    ) external {
        _requireChildBlock(blknum);
        _included(blknum, txindex, txBytes, proof);
        PlasmaTransaction.Tx memory t = _decode(txBytes);
        require(!_balanced(t, _spentValues(t, blknum, inputTxs, inputProofs)), "outputs and fee equal the inputs");
        _convict(blknum, Fraud.Overspend);
    }

    function _spentValues(
        PlasmaTransaction.Tx memory t,
        uint256 blknum,
        bytes[2] calldata inputTxs,
        bytes[2] calldata inputProofs
    ) internal view returns (uint256[2] memory spent) {
        for (uint256 k = 0; k < 2; k++) {
            if (!t.inputEmpty(k)) spent[k] = _spentValue(t, k, blknum, inputTxs[k], inputProofs[k]);
        }
    }

    /// outputs + fee = inputs, with sums carried into a second word so that none can wrap.
    function _balanced(PlasmaTransaction.Tx memory t, uint256[2] memory spent) internal pure returns (bool) {
        (uint256 inCarry, uint256 inputs) = _add(spent[0], spent[1]);
        (uint256 outCarry, uint256 outputs) = _add(t.denom[0], t.denom[1]);
        (uint256 feeCarry, uint256 total) = _add(outputs, t.fee);
        return inCarry == outCarry + feeCarry && inputs == total;
    }

    function _spentValue(PlasmaTransaction.Tx memory t, uint256 k, uint256 blknum, bytes calldata inputTx, bytes calldata inputProof)
        internal
        view
        returns (uint256)
    {
        uint256 from = t.blknum[k];
        // An input naming a leaf the 16-deep tree cannot hold (txindex ≥ 65,536) spends
        // nothing: without this a minted output behind such an input had no fraud proof.
        if (from >= blknum || !isLive(from) || t.oindex[k] > FEE_OINDEX || t.txindex[k] >= 65536) return 0;
        _included(from, t.txindex[k], inputTx, inputProof);
        if (inputTx.length == 0) return 0;
        (, uint256 amount) = _output(_decode(inputTx), t.oindex[k]);
        return amount;
    }

    /// Proves that input `k` of a transaction is not signed by the owner of the output it
    /// spends, shown by `inputTx` in its block.
    function proveBadSignature(
        uint256 blknum,
        uint256 txindex,
        bytes calldata txBytes,
        bytes calldata proof,
        uint256 k,
        bytes calldata inputTx,
        bytes calldata inputProof
    ) external {
        _requireChildBlock(blknum);
        _included(blknum, txindex, txBytes, proof);
        PlasmaTransaction.Tx memory t = _decode(txBytes);
        require(k < 2 && !t.inputEmpty(k) && t.oindex[k] <= FEE_OINDEX, "no such input");
        _included(t.blknum[k], t.txindex[k], inputTx, inputProof);
        (address spentOwner,) = _output(_decode(inputTx), t.oindex[k]);
        require(t.inputSigner(k, txDomain()) != spentOwner, "the signature is the owner's");
        _convict(blknum, Fraud.BadSignature);
    }

    /// One input of a transaction in a block, with the transaction's inclusion proof.
    struct Spend {
        uint256 blknum;
        uint256 txindex;
        bytes txBytes;
        bytes proof;
        /// Which input (0 or 1) spends the output.
        uint256 input;
    }

    /// Proves that one output is spent twice, by `later` and by `earlier` (ordered by block,
    /// transaction index, input). `later`'s block is invalid.
    function proveDoubleSpend(Spend calldata later, Spend calldata earlier) external {
        require(later.input < 2 && earlier.input < 2, "a transaction has two inputs");
        require(
            later.blknum > earlier.blknum || (later.blknum == earlier.blknum && later.txindex > earlier.txindex)
                || (later.blknum == earlier.blknum && later.txindex == earlier.txindex && later.input > earlier.input),
            "name the later spend first"
        );
        _requireChildBlock(later.blknum);
        uint256 spentByLater = _spentPosition(later);
        require(spentByLater == _spentPosition(earlier), "the inputs spend different outputs");
        _convict(later.blknum, Fraud.DoubleSpend);
    }

    function _spentPosition(Spend calldata spend) internal view returns (uint256) {
        _included(spend.blknum, spend.txindex, spend.txBytes, spend.proof);
        PlasmaTransaction.Tx memory t = _decode(spend.txBytes);
        require(!t.inputEmpty(spend.input), "an empty input spends nothing");
        return t.inputPosition(spend.input);
    }

    /// Proves that a leaf of a child block is not a transaction at all.
    function proveMalformed(uint256 blknum, uint256 txindex, bytes calldata txBytes, bytes calldata proof) external {
        _requireChildBlock(blknum);
        require(txBytes.length > 0, "an unfilled leaf is not a transaction");
        _included(blknum, txindex, txBytes, proof);
        (bool ok,) = PlasmaTransaction.decode(txBytes);
        require(!ok, "the transaction decodes");
        _convict(blknum, Fraud.Malformed);
    }

    function _requireChildBlock(uint256 blknum) internal pure {
        require(blknum % CHILD_BLOCK_INTERVAL == 0, "deposit blocks are made by this contract");
    }

    /// Rolls back `blknum` and every later child block and pays half the operator's stake to
    /// the prover; the other half stays to pay exits (audit L-2: an operator that proves its own
    /// fraud in front of an honest prover still loses half its stake, and the users it cheated
    /// are covered first).
    function _convict(uint256 blknum, Fraud fraud) internal {
        if (rolledBackFrom == 0 || blknum < rolledBackFrom) {
            rolledBackFrom = blknum;
            uint256 standing = blknum - CHILD_BLOCK_INTERVAL;
            _reportBoundary(standing, blocks[standing].root);
        }
        uint256 reward = ownerStake / 2;
        ownerStake = 0;
        _credit(msg.sender, reward);
        emit BlockInvalid(blknum, fraud, msg.sender, reward);
    }

    function _add(uint256 a, uint256 b) internal pure returns (uint256 carry, uint256 sum) {
        unchecked {
            sum = a + b;
        }
        carry = sum < a ? 1 : 0;
    }

    // ---------------------------------------------------------------- the exit queue

    function _push(uint256 key) internal {
        queue.push(key);
        _up(queue.length - 1, key);
    }

    /// Deletes the entry at `index`: the last entry takes its place and moves up or down.
    function _remove(uint256 index) internal {
        uint256 removed = queue[index];
        delete queueSlot[removed & UTXO_POS_MASK];
        uint256 last = queue[queue.length - 1];
        queue.pop();
        if (index == queue.length) return;
        if (last < removed) _up(index, last);
        else _down(index, last);
    }

    function _up(uint256 index, uint256 key) internal {
        while (index > 0) {
            uint256 parentIndex = (index - 1) / 2;
            uint256 parentKey = queue[parentIndex];
            if (parentKey <= key) break;
            _place(index, parentKey);
            index = parentIndex;
        }
        _place(index, key);
    }

    function _down(uint256 index, uint256 key) internal {
        uint256 length = queue.length;
        while (true) {
            uint256 child = 2 * index + 1;
            if (child >= length) break;
            uint256 childKey = queue[child];
            if (child + 1 < length && queue[child + 1] < childKey) {
                child += 1;
                childKey = queue[child];
            }
            if (key <= childKey) break;
            _place(index, childKey);
            index = child;
        }
        _place(index, key);
    }

    function _place(uint256 index, uint256 key) internal {
        queue[index] = key;
        queueSlot[key & UTXO_POS_MASK] = index + 1;
    }

    function _log2(uint256 x) internal pure returns (uint256 n) {
        while (x > 1) {
            x >>= 1;
            n++;
        }
    }
}
