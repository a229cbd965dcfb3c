// `ankr bench load` in a short mode against a real devnet and anvil (the README's comparison),
// so that the load benchmark cannot rot: every scenario runs on both nodes and reports a ratio.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ankrCli, startAnvil, startDevnet } from "../lib/devnet.mjs";

describe("ankr bench load against ankr devnet and anvil", { timeout: 240_000 }, () => {
  let devnet, anvil;
  before(async () => {
    [devnet, anvil] = await Promise.all([startDevnet(), startAnvil()]);
  });
  after(async () => {
    await Promise.all([devnet?.stop(), anvil?.stop()]);
  });

  test("every scenario runs on both nodes and is reported with its ratio", async () => {
    const out = await ankrCli(["bench", "load", "--rpc", devnet.url, "--rpc", anvil.url,
      "--transfers", "60", "--erc20", "30", "--read-seconds", "0.5", "--clients", "4"]);
    for (const figure of ["transfers mined", "ERC-20 transfers mined", "eth_call balanceOf", "eth_blockNumber", "eth_getLogs"]) {
      const line = out.split("\n").find((l) => l.trim().startsWith(figure));
      assert.ok(line, `${figure} is reported:\n${out}`);
      const ratio = Number(line.trim().split(/\s+/).at(-1));
      assert.ok(ratio > 0 && Number.isFinite(ratio), `${figure} has a ratio: ${line}`);
    }
    assert.match(out, /inclusion latency\s+p50 [\d.]+ s p99 [\d.]+ s/);
  });
});

// A node whose full pool evicts a sender's tail (geth's rule for a sender beyond its guaranteed
// slots) leaves that sender's later transactions behind a gap: the bench must notice and send
// the dropped ones again, as a rebroadcasting wallet would, or the run never ends. A pool of
// 10 with two guaranteed slots each makes it happen: a sender holding fewer than two that sends
// into the full pool evicts the last of one holding more (9, 9 and 13 resends in three runs
// here, of 200, 200 and 150 transfers).
describe("ankr bench load against a node whose pool evicts", { timeout: 240_000 }, () => {
  let devnet;
  before(async () => {
    devnet = await startDevnet({ extraArgs: ["--txpool.globalslots", "10", "--txpool.accountslots", "2"] });
  });
  after(async () => {
    await devnet?.stop();
  });

  test("the dropped transactions are sent again and every one is mined", async () => {
    const out = await ankrCli(["bench", "load", "--rpc", devnet.url,
      "--transfers", "200", "--erc20", "10", "--read-seconds", "0.2", "--clients", "2"]);
    const again = [...out.matchAll(/(\d+) sent again/g)].map((m) => Number(m[1]));
    assert.ok(again.length > 0, `resends are reported:\n${out}`);
    assert.ok(again.reduce((a, b) => a + b, 0) > 0, `the pool evicted and the bench sent again:\n${out}`);
  });
});
