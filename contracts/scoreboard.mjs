// The tools scoreboard (issue 15): every tool's end-to-end test file, run once against a real
// `ankr devnet` and once against anvil 1.7.1 standing in for it (E2E_NODE=anvil: same chain id,
// mnemonic and one-second blocks), printed as a Markdown table of scenario → ankr → anvil.
// The side-by-side files (tracing, Hardhat) already run both nodes in one go and are run once.
//
//   cargo build --bin ankr && (cd contracts && npm run scoreboard)
import { spawn } from "node:child_process";
import path from "node:path";

const here = path.dirname(new URL(import.meta.url).pathname);
const python = process.env.PYTHON || path.join(here, "..", ".venv", "bin", "python");

/** Runs a command to its end; resolves with its standard output (a failing test is no error). */
function output(command, args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: here, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    child.stdout.on("data", (d) => (text += d));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
}

/** Each test of a node test file, by name → passed, from its TAP output. */
async function nodeTests(file, env) {
  const tap = await output(process.execPath, ["--test", "--test-reporter=tap", "--test-timeout=240000", file], env);
  const results = new Map();
  for (const match of tap.matchAll(/^ {4}(not ok|ok) \d+ - (.+?)(?: # .*)?$/gm)) results.set(match[2], match[1] === "ok");
  return results;
}

/** Each web3.py test, by name → passed, from pytest's summary lines. */
async function pythonTests(env) {
  const text = await output(python, ["-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider", "test-py"], env);
  const results = new Map();
  for (const match of text.matchAll(/^(PASSED|FAILED|ERROR) \S+::(\w+)/gm)) results.set(match[2].replace(/^test_/, "").replaceAll("_", " "), match[1] === "PASSED");
  return results;
}

const mark = (passed) => (passed === undefined ? "—" : passed ? "pass" : "**fail**");
const rows = [];
const totals = [];

const tools = [
  ["ethers 6", (env) => nodeTests("test/ethers.test.mjs", env)],
  ["ethers 6 (WebSocket)", (env) => nodeTests("test/websocket.test.mjs", env)],
  ["viem 2", (env) => nodeTests("test/viem.test.mjs", env)],
  ["cast 1.7.1", (env) => nodeTests("test/cast.test.mjs", env)],
  ["web3.py 7", (env) => pythonTests(env)],
];
for (const [tool, run] of tools) {
  const ankr = await run({ E2E_NODE: "ankr" });
  const anvil = await run({ E2E_NODE: "anvil" });
  const names = [...new Set([...ankr.keys(), ...anvil.keys()])];
  for (const name of names) rows.push(`| ${tool} | ${name} | ${mark(ankr.get(name))} | ${mark(anvil.get(name))} |`);
  const passed = (results) => [...results.values()].filter(Boolean).length;
  totals.push(`| ${tool} | ${passed(ankr)}/${names.length} | ${passed(anvil)}/${names.length} |`);
}

// Side by side in one file: Hardhat runs its project on each node; the tracing file checks each
// of ankr's answers against anvil's for the same transaction (anvil is the reference there).
const hardhat = await nodeTests("test/hardhat.test.mjs", {});
const onAnkr = [...hardhat].find(([name]) => name.endsWith("ankr devnet"));
const onAnvil = [...hardhat].find(([name]) => name.endsWith("anvil"));
rows.push(`| Hardhat 3 (hardhat-viem) | the sample project's five tests | ${mark(onAnkr?.[1])} | ${mark(onAnvil?.[1])} |`);
totals.push(`| Hardhat 3 (hardhat-viem) | ${onAnkr?.[1] ? 1 : 0}/1 | ${onAnvil?.[1] ? 1 : 0}/1 |`);
const tracing = await nodeTests("test/tracing.test.mjs", {});
for (const [name, passed] of tracing) rows.push(`| tracing, Otterscan, simulate | ${name} | ${mark(passed)} | reference |`);
totals.push(`| tracing, Otterscan, simulate (same answers as anvil) | ${[...tracing.values()].filter(Boolean).length}/${tracing.size} | reference |`);

console.log("| tool | scenario | ankr devnet | anvil 1.7.1 |\n|---|---|---|---|");
console.log(rows.join("\n"));
console.log("\n| tool | ankr devnet | anvil 1.7.1 |\n|---|---|---|");
console.log(totals.join("\n"));
