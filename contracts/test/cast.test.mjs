// Unmodified Foundry `cast` (the npm package's binary) against a real `ankr devnet`: reads,
// a signed send and its receipt, a call with a revert reason, storage proofs, block tags, and
// the pool through geth's txpool namespace.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { DEV_KEYS, artifact, startDevnet } from "../lib/devnet.mjs";

const run = promisify(execFile);
const here = path.dirname(new URL(import.meta.url).pathname);
const castBin = path.join(here, "..", "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast");

describe("cast against ankr devnet", { timeout: 60_000 }, () => {
  let devnet;
  // --rpc-url right after the subcommand: `send --create` takes everything after its code.
  const argv = ([command, ...rest]) => [command, "--rpc-url", devnet.url, ...rest];
  const cast = async (...args) => (await run(castBin, argv(args))).stdout.trim();
  const castFails = async (...args) => {
    try {
      await run(castBin, argv(args));
    } catch (e) {
      return e.stderr;
    }
    assert.fail(`cast ${args.join(" ")} succeeded`);
  };

  before(async () => {
    devnet = await startDevnet();
  });
  after(async () => {
    await devnet?.stop();
  });

  test("chain id, blocks and tags", async () => {
    assert.equal(await cast("chain-id"), "42424");
    // finalized = head − 64 and safe = head − 6 (the head may move between the calls).
    const before = Number(await cast("block-number"));
    const finalized = Number(await cast("block", "finalized", "--field", "number"));
    const safe = Number(await cast("block", "safe", "--field", "number"));
    const after = Number(await cast("block-number"));
    assert.ok(Math.max(0, before - 64) <= finalized && finalized <= Math.max(0, after - 64));
    assert.ok(Math.max(0, before - 6) <= safe && safe <= Math.max(0, after - 6));
    assert.equal(await cast("rpc", "eth_blobBaseFee"), "null");
  });

  test("send, receipt, raw transaction and the pool", async () => {
    const to = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
    const before = BigInt(await cast("balance", to));
    const out = await cast("send", "--private-key", DEV_KEYS[0], to, "--value", "1234", "--json");
    const receipt = JSON.parse(out);
    assert.equal(receipt.status, "0x1");
    assert.equal(BigInt(await cast("balance", to)), before + 1234n);
    const raw = await cast("tx", receipt.transactionHash, "--raw");
    assert.match(raw, /^0x02/);
    const status = JSON.parse(await cast("rpc", "txpool_status"));
    assert.ok("pending" in status && "queued" in status);
  });

  test("a call's revert reason, storage and its proof", async () => {
    const { bytecode } = artifact("Greeter");
    const deployed = JSON.parse(
      await cast("send", "--private-key", DEV_KEYS[0], "--create", bytecode, "constructor(string)", "hi", "--json"),
    );
    const greeter = deployed.contractAddress;
    assert.equal(await cast("call", greeter, "greeting()(string)"), '"hi"');
    const error = await castFails("call", greeter, "setGreeting(string)", "");
    assert.match(error, /execution reverted: Greeter: empty greeting/);
    const proof = JSON.parse(await cast("proof", greeter, "0"));
    assert.equal(proof.address.toLowerCase(), greeter.toLowerCase());
    assert.ok(proof.accountProof.length > 0);
    assert.equal(BigInt(proof.storageProof[0].value), BigInt(await cast("storage", greeter, "0")));
  });
});
