// The explorer served by the node (`/explorer`), in a real browser: Debian's chromium, driven
// headless by puppeteer-core, against a live devnet with its child chains, oracle demonstration
// and a work-market task. Each view must show the numbers JSON-RPC gives for the same thing;
// a screenshot of each is kept in target/explorer-screenshots/ as the test's artefact.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";
import { DEV_ADDRESSES, DEV_KEYS, ankrCli, rpc, startDevnet } from "../lib/devnet.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const root = path.join(here, "..", "..");
const screenshots = path.join(root, "target", "explorer-screenshots");
const chromium = process.env.CHROMIUM || "/usr/bin/chromium";

async function until(what, check, seconds = 90) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe("the explorer in headless chromium", { timeout: 300_000 }, () => {
  let devnet, browser, page, taskId, exitUtxo;
  const call = (method, ...params) => rpc(devnet.url, method, params);

  /** Opens `#/route`, waits until the view has rendered, keeps a screenshot; returns its text. */
  async function open(route, name) {
    // A new fragment is no new document: forget the last view so that the wait sees this one.
    await page.evaluate(() => document.body && delete document.body.dataset.view).catch(() => {});
    await page.goto(`${devnet.url}/explorer/#/${route}`);
    // The home page may still redraw once on a head that came before the new fragment did.
    const expected = route.split("/")[0] || "home";
    await page.waitForFunction((expected) => [expected, "error"].includes(document.body.dataset.view), { timeout: 60_000 }, expected);
    await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: true });
    return page.$eval("#view", (v) => v.innerText);
  }

  before(async () => {
    assert.ok(fs.existsSync(chromium), `no browser at ${chromium}: apt-get install chromium (or set CHROMIUM)`);
    fs.mkdirSync(screenshots, { recursive: true });
    devnet = await startDevnet({ childChains: true });
    // A task on the work market: SHA-256 over 16 KiB, as a provider would post it.
    const input = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ankr-explorer-")), "input");
    fs.writeFileSync(input, Buffer.concat([Buffer.from([16, 0, 0, 0]), Buffer.from("abc")]));
    const posted = await ankrCli(["work", "submit", "--rpc", devnet.url, "--key", DEV_KEYS[2].slice(2),
      "--module", path.join(root, "workloads", "wasm", "sha256.wasm"), "--input", input, "--price", "10", "--max-instructions", "100000000"]);
    taskId = posted.match(/task (\d+) posted/)[1];
    // An exit on the "payments" Plasma chain: a deposit, then its exit, as a user starts one.
    const operator = await until("the payments chain's operator", async () =>
      devnet.output().match(/plasma: child chain "payments" .* operator JSON-RPC (http:\/\/127\.0\.0\.1:\d+)/)?.[1], 180);
    const plasma = (...args) => ankrCli(["plasma", "--rpc", devnet.url, "--operator", operator, "--key", DEV_KEYS[1].slice(2), ...args]);
    const deposited = await plasma("deposit", "2");
    exitUtxo = deposited.match(/output (\d+:\d+:\d+)/)[1];
    await plasma("exit", exitUtxo);
    browser = await puppeteer.launch({ executablePath: chromium, args: ["--no-sandbox", "--headless=new"] });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    page.on("pageerror", (error) => assert.fail(`the page threw: ${error.message}`));
  });
  after(async () => {
    await browser?.close();
    await devnet?.stop();
  });

  test("blocks: the latest blocks with their PoUW seals, live", async () => {
    await open("", "home");
    const first = Number(await page.$eval("tr[data-block]", (row) => row.dataset.block));
    const head = Number(await call("eth_blockNumber"));
    assert.ok(first <= head && first >= head - 3, `the newest row ${first} is the head ${head}`);
    const seal = await call("ankr_getBlockSeal", `0x${first.toString(16)}`);
    const cells = await page.$eval(`tr[data-block="${first}"]`, (row) => [...row.cells].map((c) => c.innerText));
    assert.equal(cells[3], Number(seal.usefulWork.instructions).toLocaleString("en"));
    // The defences' verdict per platform: wins in the window against the rate cap.
    const status = await call("ankr_pouwStatus");
    const platform = await page.$eval(`tr[data-platform="${status.enclaves[0].platformId}"]`, (r) => [...r.cells].map((c) => c.innerText));
    assert.ok(status.winCap > 0);
    assert.ok(Number(platform[2]) >= 1 && Number(platform[3]) >= Number(platform[2]) - 1);
    assert.match(platform[5], /rate cap|at the cap/);
    // Live: a new head re-renders the list without a reload.
    await page.waitForFunction((n) => Number(document.querySelector("tr[data-block]")?.dataset.block) > n, { timeout: 60_000 }, first);
    assert.match(await page.$eval("#status", (s) => s.textContent), /live/);
  });

  test("a block: its seal's enclave, platform, task, draw against threshold and difficulty", async () => {
    const number = Math.max(1, Number(await call("eth_blockNumber")) - 1);
    const text = await open(`block/${number}`, "block");
    const block = await call("eth_getBlockByNumber", `0x${number.toString(16)}`, false);
    const seal = await call("ankr_getBlockSeal", block.hash);
    assert.equal(await page.$eval("#block-hash", (e) => e.textContent), block.hash);
    assert.equal(Number(await page.$eval("#tx-count", (e) => e.textContent)), block.transactions.length);
    assert.ok(text.includes(seal.usefulWork.platformId) && text.includes(seal.usefulWork.taskId));
    assert.match(text, /simulated enclave/);
    const share = Number(await page.$eval("#draw-share", (e) => e.textContent));
    assert.ok(share >= 0 && share < 1, `a winning draw is below its threshold: ${share}`);
    assert.ok(text.includes(BigInt(seal.difficulty).toLocaleString("en")));
  });

  test("a transaction: status, decoded call and logs, and its call trace", async () => {
    // The oracle demonstration's relay delivers through NativeOracle: a known ABI.
    const abis = await (await fetch(`${devnet.url}/explorer/abis.json`)).json();
    const delivered = Object.keys(abis.events).find((topic) => abis.events[topic].signature === "Delivered(uint64,uint16,address)");
    const logs = await until("an oracle delivery", async () => {
      const found = await call("eth_getLogs", { address: "0x00000000000000000000000000000000000a0003", fromBlock: "0x0", topics: [delivered] });
      return found.length > 0 && found;
    }, 240);
    const delivery = logs.at(-1);
    const receipt = await call("eth_getTransactionReceipt", delivery.transactionHash);
    const text = await open(`tx/${delivery.transactionHash}`, "transaction");
    assert.match(await page.$eval("#tx-status", (e) => e.textContent), receipt.status === "0x1" ? /success/ : /failed/);
    assert.match(text, /NativeOracle\.\w+\(/, "the call is decoded with NativeOracle's ABI");
    assert.match(text, /Call trace/);
    assert.ok((await page.$$("ul.trace li")).length >= 1);
  });

  test("an account: its balance as eth_getBalance says", async () => {
    const address = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"; // dev account 9: nobody spends it
    await open(`address/${address}`, "address");
    const balance = BigInt(await call("eth_getBalance", address, "latest"));
    assert.equal(await page.$eval("#balance", (e) => e.textContent), `${(balance / 10n ** 18n).toLocaleString("en")} ANKR`);
  });

  test("the work market: the posted task, then its delivery and payment", async () => {
    await until("the task's delivery", async () => {
      const text = await open("market", "market");
      return text.includes("delivered") && text;
    });
    const row = await page.$eval(`tr[data-task="${taskId}"]`, (r) => [...r.cells].map((c) => c.innerText));
    assert.equal(row[3], "delivered");
    assert.equal(row[5], "success");
    // Paid instructions × price: 10 wei an instruction is far below a millionth of an ANKR.
    const paid = row[6].endsWith(" wei") ? BigInt(row[6].replace(/ wei$/, "").replaceAll(",", "")) : null;
    const used = BigInt(row[4].split(" / ")[0].replaceAll(",", ""));
    assert.equal(paid, used * 10n, `paid ${row[6]} for ${row[4]} instructions at 10 wei`);
  });

  test("the oracle: requests, their state, fee and delivery latency", async () => {
    // The devnet's PriceConsumer asks at block 1; its relay answers a few blocks later.
    const text = await until("a delivered oracle request", async () => {
      const shown = await open("oracle", "oracle");
      return /\tdelivered\t/.test(shown) && shown;
    });
    assert.ok((await page.$$("tr[data-request]")).length >= 1);
    assert.match(text, /https:\/\/127\.0\.0\.1:\d+\/ankr-usd\.json/, "a public request's URL is shown");
    assert.match(text, /\d+ s \(\d+ blocks\)/, "a delivered request shows its latency");
  });

  test("the tree of child chains: every chain, its kind, operator, stake and boundary with its proof", async () => {
    // The devnet registers its two Plasma and three EVM child chains as it starts.
    const tree = await until("five registered child chains", async () => {
      const now = await call("ankr_childChains", "latest");
      return now.chains.length === 5 && now;
    });
    const text = await open(`chains/${tree.blockNumber}`, "chains");
    const sections = await page.$$eval("section[data-chain]", (s) => s.map((e) => e.dataset.chain));
    assert.deepEqual(sections.map(Number), tree.chains.map((c) => c.id));
    const kinds = new Set(tree.chains.map((c) => c.kind));
    assert.ok(kinds.has("evm") && kinds.has("plasma"), `both kinds on the devnet: ${[...kinds]}`);
    for (const name of ["payments", "games", "e-commerce", "real-estate", "prediction-market"]) assert.ok(text.includes(name), name);
    assert.match(text, /\+ 16 siblings against childChainsRoot/);
    // The exit started before: in the payments chain's queue, first to settle, with its maturity.
    const [blknum, txindex, oindex] = exitUtxo.split(":").map(BigInt);
    const position = (blknum * 1_000_000_000n + txindex * 10_000n + oindex).toString();
    const exit = await page.$eval(`tr[data-exit="${position}"]`, (r) => [...r.cells].map((c) => c.innerText));
    assert.match(exit[0], /next/);
    assert.equal(exit[1].toLowerCase(), DEV_ADDRESSES[1].slice(0, 8).toLowerCase() + "…" + DEV_ADDRESSES[1].slice(-6).toLowerCase());
    assert.equal(exit[3], "in the queue");
    assert.match(exit[4], /^\d{4}-\d\d-\d\dT/);
  });

  test("search finds blocks, transactions, addresses and a task by its id", async () => {
    const search = async (q) => {
      await page.goto(`${devnet.url}/explorer/#/`);
      await page.waitForFunction(() => document.body.dataset.view === "home", { timeout: 60_000 });
      await page.$eval("#search input", (input) => (input.value = ""));
      await page.type("#search input", q);
      await page.click("#search button");
      // The home page redraws itself on every new head until the search's route overtakes it;
      // every search ends in a view of its own.
      await page.waitForFunction(() => document.body.dataset.view !== "home", { timeout: 60_000 });
      return page.evaluate(() => [document.body.dataset.view, document.getElementById("view").innerText]);
    };
    assert.equal((await search("1"))[0], "block");
    const [log] = await call("eth_getLogs", { address: "0x00000000000000000000000000000000000a0003", fromBlock: "0x0" });
    assert.equal((await search(log.transactionHash))[0], "tx");
    assert.equal((await search("0xa0Ee7A142d267C1f36714E4a8F75612F20a79720"))[0], "address");
    // A bare number is a block; a task, request or exit id is asked for by name.
    const [viewName, text] = await search(`task ${taskId}`);
    assert.equal(viewName, "search");
    assert.match(text, /TaskPosted/);
    await page.screenshot({ path: path.join(screenshots, "search-task.png"), fullPage: true });
    // An exit by its UTXO position (blknum × 10^9 + txindex × 10^4 + oindex), as the queue shows it.
    const [blknum, txindex, oindex] = exitUtxo.split(":").map(BigInt);
    const [exitView, exitText] = await search(`exit ${blknum * 1_000_000_000n + txindex * 10_000n + oindex}`);
    assert.equal(exitView, "search");
    assert.match(exitText, /ExitStarted/);
  });
});
