// Tracing, simulation and Otterscan against anvil, same transactions: a Greeter deployed and
// called (one call succeeds, one reverts) and a Multicall3 paying onwards, on a real
// `ankr devnet` and on Foundry's anvil by the same key; then every tracer asked of both —
// geth's struct logger, callTracer, prestateTracer (diffMode), 4byteTracer, debug_traceCall,
// debug_traceBlockBy*, parity's trace_*, Otterscan's ots_*, eth_simulateV1 and
// eth_fillTransaction — and the answers compared after naming contracts by role. Where anvil
// and geth differ, the test says so and ankr answers as geth.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import { DEV_KEYS, artifact, rpc, startAnvil, startDevnet } from "../lib/devnet.mjs";

const PAYEE = "0x000000000000000000000000000000000000dEaD";

/** Deploys a Greeter and sends two calls to it (the second reverts); returns their hashes. */
async function scenario(url) {
  const provider = new ethers.JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 100 });
  const wallet = new ethers.NonceManager(new ethers.Wallet(DEV_KEYS[0], provider));
  const greeter = artifact("Greeter");
  const factory = new ethers.ContractFactory(greeter.abi, greeter.bytecode, wallet);
  // Fixed gas limits: the struct logger's `gas` column starts from the limit.
  const contract = await factory.deploy("hello", { gasLimit: 1_000_000 });
  const deployed = await contract.deploymentTransaction().wait();
  const set = await (await contract.setGreeting("hola", { gasLimit: 200_000 })).wait();
  const failing = await contract.setGreeting("", { gasLimit: 200_000 });
  // Polled by hand: ethers' wait throws on a revert, and its waitForTransaction waits for a
  // new block, which an idle anvil never makes.
  let failed;
  while (!(failed = await provider.getTransactionReceipt(failing.hash))) await new Promise((r) => setTimeout(r, 100));
  assert.equal(failed.status, 0, "the empty greeting reverts");
  // A Multicall3 of our own (anvil has none at the canonical address) pays 5 wei onwards:
  // an internal transfer.
  const multicall = artifact("Multicall3");
  const batcher = await new ethers.ContractFactory(multicall.abi, multicall.bytecode, wallet).deploy({ gasLimit: 2_000_000 });
  await batcher.deploymentTransaction().wait();
  const paid = await (
    await batcher.aggregate3Value([{ target: PAYEE, allowFailure: false, value: 5, callData: "0x" }], { value: 5, gasLimit: 200_000 })
  ).wait();
  return { provider, address: await contract.getAddress(), from: wallet.signer.address, deployed, set, failed, paid, batcher: await batcher.getAddress() };
}

/** `value` with the contract's address (any case) replaced by "0x<greeter>", recursively. */
function byRole(value, address) {
  const json = JSON.stringify(value).replaceAll(new RegExp(address.slice(2), "gi"), "<greeter>");
  return JSON.parse(json);
}

describe("tracing, simulation and Otterscan: ankr devnet against anvil, same transactions", { timeout: 180_000 }, () => {
  let devnet, anvil, ours, theirs;

  before(async () => {
    [devnet, anvil] = await Promise.all([startDevnet(), startAnvil()]);
    [ours, theirs] = await Promise.all([scenario(devnet.url), scenario(anvil.url)]);
  });
  after(async () => {
    await Promise.all([devnet?.stop(), anvil?.stop()]);
  });

  const both = async (method, params) =>
    Promise.all([
      rpc(devnet.url, method, params(ours)).then((r) => byRole(r, ours.address)),
      rpc(anvil.url, method, params(theirs)).then((r) => byRole(r, theirs.address)),
    ]);

  test("callTracer: the same call frames, gas, output and revert reason", async () => {
    for (const tx of ["set", "failed", "deployed"]) {
      const [a, b] = await both("debug_traceTransaction", (s) => [s[tx].hash, { tracer: "callTracer" }]);
      // The top frame's `gas` is the transaction's gas limit in geth's callTracer (and ours);
      // anvil gives what is left after intrinsic gas. Everything else is the same.
      const limit = await ours.provider.getTransaction(ours[tx].hash).then((t) => t.gasLimit);
      assert.equal(BigInt(a.gas), limit, `${tx}: geth's top-frame gas`);
      assert.deepEqual({ ...a, gas: undefined }, { ...b, gas: undefined }, `${tx}: ${JSON.stringify(a)}`);
    }
    const [failed] = await both("debug_traceTransaction", (s) => [s.failed.hash, { tracer: "callTracer" }]);
    assert.equal(failed.revertReason, "Greeter: empty greeting");
  });

  test("the struct logger: the same opcodes, gas and stack, step by step", async () => {
    const opts = { enableMemory: false, disableStorage: false, disableStack: false };
    const [a, b] = await both("debug_traceTransaction", (s) => [s.set.hash, opts]);
    assert.equal(a.failed, false);
    assert.equal(a.gas, b.gas);
    assert.equal(a.returnValue.replace(/^0x/, ""), b.returnValue.replace(/^0x/, ""));
    const steps = (t) => t.structLogs.map(({ pc, op, gas, gasCost, depth, stack }) => ({ pc, op, gas, gasCost, depth, stack }));
    assert.ok(a.structLogs.length > 100, `${a.structLogs.length} steps`);
    assert.deepEqual(steps(a), steps(b));
  });

  test("prestateTracer in diffMode: the same accounts and slots change", async () => {
    const [a, b] = await both("debug_traceTransaction", (s) => [
      s.set.hash,
      { tracer: "prestateTracer", tracerConfig: { diffMode: true } },
    ]);
    // Balances pay fees at each chain's own prices to its own coinbase: compare the greeter's
    // storage and the sender's nonce, which the transaction alone decides.
    assert.deepEqual(a.pre["0x<greeter>"].storage, b.pre["0x<greeter>"].storage);
    assert.deepEqual(a.post["0x<greeter>"].storage, b.post["0x<greeter>"].storage);
    const sender = ours.from.toLowerCase();
    assert.equal(a.pre[sender].nonce + 1, a.post[sender].nonce);
    const [plain] = await both("debug_traceTransaction", (s) => [s.set.hash, { tracer: "prestateTracer" }]);
    assert.ok(plain["0x<greeter>"].code.length > 2, "prestate carries the greeter's code");
  });

  test("4byteTracer and debug_traceCall answer alike", async () => {
    const [a, b] = await both("debug_traceTransaction", (s) => [s.set.hash, { tracer: "4byteTracer" }]);
    assert.deepEqual(a, b);
    assert.equal(Object.keys(a).length, 1);
    const greeting = new ethers.Interface(artifact("Greeter").abi).encodeFunctionData("greeting");
    const [c, d] = await both("debug_traceCall", (s) => [
      { from: s.from, to: s.address, data: greeting, gas: "0x30000" },
      "latest",
      { tracer: "callTracer" },
    ]);
    assert.equal(c.gas, "0x30000", "geth's top-frame gas: the call's gas limit");
    assert.deepEqual({ ...c, gas: undefined }, { ...d, gas: undefined });
    assert.ok(c.output.length > 130, "the greeting comes back");
  });

  test("debug_traceBlockByNumber and ByHash trace every transaction of the block", async () => {
    const number = ethers.toQuantity(ours.set.blockNumber);
    const byNumber = await rpc(devnet.url, "debug_traceBlockByNumber", [number, { tracer: "callTracer" }]);
    const byHash = await rpc(devnet.url, "debug_traceBlockByHash", [ours.set.blockHash, { tracer: "callTracer" }]);
    assert.deepEqual(byNumber, byHash);
    const block = await ours.provider.getBlock(ours.set.blockNumber);
    assert.deepEqual(byNumber.map((t) => t.txHash), block.transactions);
    assert.ok(byNumber.some((t) => t.txHash === ours.set.hash));
  });

  test("parity's trace_transaction, trace_block, replayBlockTransactions and trace_filter", async () => {
    const strip = (traces) => traces.map(({ action, result, error, subtraces, traceAddress, type }) => ({ action, result, error, subtraces, traceAddress, type }));
    for (const tx of ["set", "failed", "deployed"]) {
      const [a, b] = await both("trace_transaction", (s) => [s[tx].hash]);
      assert.deepEqual(strip(a), strip(b), tx);
    }
    const [failed] = await both("trace_transaction", (s) => [s.failed.hash]);
    assert.equal(failed[0].error, "Reverted");

    const block = await rpc(devnet.url, "trace_block", [ethers.toQuantity(ours.set.blockNumber)]);
    assert.ok(block.some((t) => t.transactionHash === ours.set.hash));
    const [replayed] = await both("trace_replayBlockTransactions", (s) => [ethers.toQuantity(s.set.blockNumber), ["trace", "stateDiff"]]);
    const mine = replayed.find((r) => r.transactionHash === ours.set.hash);
    assert.ok(mine.stateDiff["0x<greeter>"].storage, "the greeter's slot changes");
    assert.equal(mine.trace[0].action.to, "0x<greeter>");

    // toAddress matches a call's callee and a creation's new contract (parity's rule).
    const [ourFilter, theirFilter] = await both("trace_filter", (s) => [
      { fromBlock: ethers.toQuantity(s.deployed.blockNumber), toBlock: ethers.toQuantity(s.failed.blockNumber), toAddress: [s.address] },
    ]);
    assert.deepEqual(
      ourFilter.map((t) => t.transactionHash).sort(),
      [ours.deployed.hash, ours.set.hash, ours.failed.hash].sort(),
    );
    assert.deepEqual(strip(ourFilter).map((t) => t.type), strip(theirFilter).map((t) => t.type));
  });

  test("Otterscan's API answers as anvil's does", async () => {
    const [level] = await both("ots_getApiLevel", () => []);
    assert.equal(level, 8);
    const [code, noCode] = await Promise.all([
      rpc(devnet.url, "ots_hasCode", [ours.address, "latest"]),
      rpc(devnet.url, "ots_hasCode", [PAYEE, "latest"]),
    ]);
    assert.deepEqual([code, noCode], [true, false]);
    for (const [method, params] of [
      ["ots_getTransactionError", (s) => [s.failed.hash]],
      ["ots_getTransactionError", (s) => [s.set.hash]],
      ["ots_traceTransaction", (s) => [s.paid.hash]],
      ["ots_getContractCreator", (s) => [s.address]],
      ["ots_getTransactionBySenderAndNonce", (s) => [s.from, 1]],
    ]) {
      const [a, b] = await both(method, params);
      const role = (v) => JSON.stringify(v).replaceAll(new RegExp((method === "ots_getTransactionBySenderAndNonce" || method === "ots_getContractCreator") ? "0x[0-9a-f]{64}" : "^$", "g"), "<hash>");
      assert.deepEqual(JSON.parse(role(byRole(a, ours.batcher))), JSON.parse(role(byRole(b, theirs.batcher))), `${method}: ${JSON.stringify(a)}`);
    }
    // Internal operations exclude the transaction's own transfer, as Erigon's (Otterscan's
    // reference) and reth's do; anvil lists it too.
    const [operations, theirOperations] = await both("ots_getInternalOperations", (s) => [s.paid.hash]);
    const payee = PAYEE.toLowerCase();
    assert.deepEqual(operations, [{ type: 0, from: ours.batcher.toLowerCase(), to: payee, value: "0x5" }]);
    assert.deepEqual(
      theirOperations.filter((o) => o.from !== theirs.from.toLowerCase()),
      [{ type: 0, from: theirs.batcher.toLowerCase(), to: payee, value: "0x5" }],
    );
    assert.equal(await rpc(devnet.url, "ots_getTransactionBySenderAndNonce", [ours.from, 1]), ours.set.hash);
    assert.deepEqual(await rpc(devnet.url, "ots_getContractCreator", [ours.address]), { hash: ours.deployed.hash, creator: ours.from.toLowerCase() });

    // Blocks: details and a page of transactions, with Otterscan's shapes.
    const number = ours.set.blockNumber;
    const details = await rpc(devnet.url, "ots_getBlockDetails", [number]);
    assert.equal(details.block.transactionCount, (await ours.provider.getBlock(number)).transactions.length);
    assert.equal(details.block.transactions, undefined);
    assert.ok(BigInt(details.totalFees) > 0n && "blockReward" in details.issuance);
    assert.deepEqual(await rpc(devnet.url, "ots_getBlockDetailsByHash", [ours.set.blockHash]), details);
    const page = await rpc(devnet.url, "ots_getBlockTransactions", [number, 0, 25]);
    const mine = page.fullblock.transactions.findIndex((t) => t.hash === ours.set.hash);
    assert.equal(page.fullblock.transactions[mine].input, "0xa4136862", "input cut to its selector");
    assert.equal(page.receipts[mine].logs, null);
    assert.equal(page.receipts[mine].status, "0x1");

    // Searches: the sender's transactions, newest first, on both chains.
    const [before, theirsBefore] = await both("ots_searchTransactionsBefore", (s) => [s.from, 0, 25]);
    assert.deepEqual(before.txs.map((t) => t.nonce), theirsBefore.txs.map((t) => t.nonce));
    assert.deepEqual(before.txs.map((t) => t.hash).slice(-3).reverse(), [ours.deployed.hash, ours.set.hash, ours.failed.hash]);
    assert.equal(before.firstPage, true);
    assert.equal(before.lastPage, true);
    const after = await rpc(devnet.url, "ots_searchTransactionsAfter", [ours.from, 0, 25]);
    assert.deepEqual(after.txs.map((t) => t.hash), before.txs.map((t) => t.hash));
  });

  test("eth_simulateV1: blocks of calls carry state, report reverts and logs as anvil's", async () => {
    const greeter = new ethers.Interface(artifact("Greeter").abi);
    const stranger = "0x00000000000000000000000000000000000a11ce";
    const payload = (s) => [
      {
        blockStateCalls: [
          {
            stateOverrides: { [stranger]: { balance: "0xde0b6b3a7640000" } },
            calls: [
              { from: stranger, to: s.address, data: greeter.encodeFunctionData("setGreeting", ["simulated"]) },
              { from: stranger, to: s.address, data: greeter.encodeFunctionData("setGreeting", [""]) },
            ],
          },
          { calls: [{ from: stranger, to: s.address, data: greeter.encodeFunctionData("greeting") }] },
        ],
      },
      "latest",
    ];
    const [a, b] = await both("eth_simulateV1", payload);
    assert.equal(a.length, 2);
    const calls = (blocks) =>
      blocks.map((block) => block.calls.map(({ status, returnData, gasUsed, logs, error }) => ({ status, returnData, gasUsed, logs: logs.length, error: !!error })));
    assert.deepEqual(calls(a), calls(b));
    assert.equal(a[0].calls[0].status, "0x1");
    // The spec's and geth's code for a revert is 3 (anvil 1.7.1 answers -3200).
    assert.equal(a[0].calls[1].error.code, 3, "a revert is the call's result");
    assert.equal(greeter.decodeFunctionResult("greeting", a[1].calls[0].returnData)[0], "simulated", "state carries on");
    assert.equal(Number(a[1].number), Number(a[0].number) + 1);
    assert.equal(a[1].parentHash, a[0].hash);
    // Nothing was kept.
    assert.equal(await rpc(devnet.url, "eth_call", [{ to: ours.address, data: greeter.encodeFunctionData("greeting") }, "latest"]).then((r) => greeter.decodeFunctionResult("greeting", r)[0]), "hola");
    await assert.rejects(rpc(devnet.url, "eth_simulateV1", [{ blockStateCalls: [], traceTransfers: true }, "latest"]), /traceTransfers/);
  });

  test("eth_fillTransaction completes a transaction a wallet then signs and sends", async () => {
    const [filled, theirs_] = await both("eth_fillTransaction", (s) => [{ from: s.from, to: PAYEE, value: "0x1" }]);
    assert.equal(filled.tx.gas, "0x5208");
    assert.equal(filled.tx.type, "0x2");
    assert.equal(BigInt(filled.tx.nonce), BigInt(await ours.provider.getTransactionCount(ours.from, "pending")));
    assert.deepEqual([theirs_.tx.gas, theirs_.tx.type, theirs_.tx.to], [filled.tx.gas, filled.tx.type, filled.tx.to]);
    assert.ok(filled.raw.startsWith("0x02"), "an EIP-1559 envelope");
    const wallet = new ethers.Wallet(DEV_KEYS[0], ours.provider);
    const { tx } = filled;
    const sent = await wallet.sendTransaction({
      type: 2, to: tx.to, value: tx.value, nonce: Number(tx.nonce), gasLimit: tx.gas, chainId: tx.chainId,
      maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas, data: tx.input,
    });
    assert.equal((await sent.wait()).status, 1);
    await assert.rejects(rpc(devnet.url, "eth_fillTransaction", [{ to: PAYEE }]), /from is required/);
  });

  test("/metrics: a mining devnet's useful work, head and peers in Prometheus text", async () => {
    const response = await fetch(`${devnet.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const value = (name) => Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))?.[1]);
    assert.ok(value("ankr_head_number") >= Number(await rpc(devnet.url, "eth_blockNumber")) - 1);
    assert.ok(value("ankr_pouw_instructions_total") > 0, "useful work ran");
    assert.ok(value("ankr_pouw_wins_total") >= 1, "and won blocks");
    assert.ok(value("ankr_pouw_busy_seconds_total") > 0);
    assert.equal(value("ankr_peers"), 0, "one node, no peers");
    assert.equal(value("ankr_syncing"), 0);
  });

  test("refusals name their rule", async () => {
    await assert.rejects(rpc(devnet.url, "debug_traceTransaction", [ours.set.hash, { tracer: "noSuchTracer" }]), /tracer/i);
    await assert.rejects(rpc(devnet.url, "debug_traceTransaction", [ethers.ZeroHash]), /not found/);
    await assert.rejects(rpc(devnet.url, "trace_filter", [{ fromBlock: "0x5", toBlock: "0x1" }]), /after toBlock/);
  });
});
