// Hardhat 3's sample test, written as a dapp developer writes it (hardhat-viem, node:test).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { network } from "hardhat";

const { viem } = await network.getOrCreate();

// hardhat-viem polls a development node it recognises (Hardhat's, anvil) every 50 ms; any other
// node gets viem's default, 4 s, so each awaited transaction costs about 4 s. A chain sealing a
// block every second or two wants a shorter interval: the clients below poll every 250 ms.
// HARDHAT_POLLING=viem-default leaves viem's default, to measure what the setting saves.
const polling = process.env.HARDHAT_POLLING === "viem-default" ? {} : { pollingInterval: 250 };
const publicClient = await viem.getPublicClient(polling);
const [wallet] = await viem.getWalletClients(polling);
const client = { public: publicClient, wallet };

async function send(write) {
  const hash = await write;
  return publicClient.waitForTransactionReceipt({ hash });
}

describe("Counter", async () => {
  const counter = await viem.deployContract("Counter", [], { client });

  it("starts at zero", async () => {
    assert.equal(await counter.read.x(), 0n);
  });

  it("counts one with inc", async () => {
    const before = await counter.read.x();
    const receipt = await send(counter.write.inc());
    assert.equal(receipt.status, "success");
    assert.equal(await counter.read.x(), before + 1n);
  });

  it("emits Increment with the amount of incBy", async () => {
    const receipt = await send(counter.write.incBy([5n]));
    const events = await counter.getEvents.Increment({}, { blockHash: receipt.blockHash });
    assert.equal(events.length, 1);
    assert.equal(events[0].args.by, 5n);
  });

  it("refuses incBy(0) with the contract's reason", async () => {
    await assert.rejects(counter.write.incBy([0n]), /incBy: increment should be positive/);
  });

  it("sums every Increment event to x", async () => {
    const events = await counter.getEvents.Increment({}, { fromBlock: 0n });
    const sum = events.reduce((total, event) => total + event.args.by, 0n);
    assert.equal(sum, await counter.read.x());
  });
});
