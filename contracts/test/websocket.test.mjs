// eth_subscribe over WebSocket with unmodified ethers.js v6: new heads and contract events
// arrive as pushes, on the same port as HTTP.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ethers } from "ethers";
import { DEV_KEYS, artifact, startDevnet } from "../lib/devnet.mjs";

describe("eth_subscribe over WebSocket", { timeout: 60_000 }, () => {
  let devnet, ws, http, wallet;

  before(async () => {
    devnet = await startDevnet();
    ws = new ethers.WebSocketProvider(devnet.url.replace("http", "ws"));
    http = new ethers.JsonRpcProvider(devnet.url, undefined, { pollingInterval: 100, cacheTimeout: -1 });
    wallet = new ethers.Wallet(DEV_KEYS[0], http);
  });
  after(async () => {
    // ethers sends eth_unsubscribe without awaiting it when a `once` listener has fired;
    // destroying the provider with that request in flight rejects it unhandled. A round trip
    // queued behind it (after a turn of the event loop, so that it is queued) lets it finish first.
    await new Promise((r) => setTimeout(r, 0));
    await ws?.send("eth_chainId", []);
    await ws?.destroy();
    http?.destroy();
    await devnet?.stop();
  });

  test("newHeads: every sealed block is pushed", async () => {
    const numbers = [];
    await new Promise((resolve) => {
      ws.on("block", (n) => {
        numbers.push(n);
        if (numbers.length === 3) resolve();
      });
    });
    await ws.removeAllListeners("block");
    assert.deepEqual(numbers, [numbers[0], numbers[0] + 1, numbers[0] + 2]);
  });

  test("ids are hex strings, as geth's; pending transactions are pushed", async () => {
    const id = await ws.send("eth_subscribe", ["newHeads"]);
    assert.match(id, /^0x[0-9a-f]{32}$/);
    assert.equal(await ws.send("eth_unsubscribe", [id]), true);
    // The devnet's own services send transactions too: wait for ours among them.
    const seen = [];
    let wanted = null;
    let found;
    const heard = new Promise((resolve) => (found = resolve));
    ws.on("pending", (hash) => {
      seen.push(hash);
      if (hash === wanted) found();
    });
    await new Promise((r) => setTimeout(r, 200)); // let the subscription reach the node
    const sent = await wallet.sendTransaction({ to: ethers.Wallet.createRandom().address, value: 1n });
    wanted = sent.hash;
    if (!seen.includes(wanted)) await heard;
    await ws.removeAllListeners("pending");
    await sent.wait();
  });

  test("logs: a contract event is pushed to its subscriber", async () => {
    const { abi, bytecode } = artifact("Greeter");
    const deployed = await (await new ethers.ContractFactory(abi, bytecode, wallet).deploy("hi")).waitForDeployment();
    const watched = new ethers.Contract(await deployed.getAddress(), abi, ws);
    const heard = new Promise((resolve) => watched.once("GreetingChanged", (by, greeting) => resolve([by, greeting])));
    await new Promise((r) => setTimeout(r, 200)); // let the subscription reach the node
    await (await deployed.setGreeting("pushed")).wait();
    assert.deepEqual(await heard, [wallet.address, "pushed"]);
  });
});
