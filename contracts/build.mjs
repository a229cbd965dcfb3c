// Compiles every contract in src/ with the pinned solc and writes one artifact per contract
// (ABI + creation and runtime bytecode) into crates/contracts/artifacts, which Rust embeds.
// `--check` compiles into memory and fails if any committed artifact differs.
import fs from "node:fs";
import path from "node:path";
import solc from "solc";

const here = path.dirname(new URL(import.meta.url).pathname);
const srcDir = path.join(here, "src");
const outDir = path.join(here, "..", "crates", "contracts", "artifacts");
const check = process.argv.includes("--check");

const sources = {};
for (const file of fs.readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[file] = { content: fs.readFileSync(path.join(srcDir, file), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    evmVersion: "prague",
    optimizer: { enabled: true, runs: 200 },
    metadata: { bytecodeHash: "none" },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

// One artifact per contract name: two sources declaring the same name would overwrite each other.
const seen = new Map();
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const name of Object.keys(contracts)) {
    if (seen.has(name)) {
      console.error(`contract ${name} is declared in both ${seen.get(name)} and ${file}: rename one`);
      process.exit(1);
    }
    seen.set(name, file);
  }
}

let stale = 0;
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: `solc ${solc.version()}`,
      abi: c.abi,
      bytecode: "0x" + c.evm.bytecode.object,
      deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    };
    const text = JSON.stringify(artifact, null, 2) + "\n";
    const target = path.join(outDir, `${name}.json`);
    if (check) {
      const committed = fs.existsSync(target) ? fs.readFileSync(target, "utf8") : "";
      if (committed !== text) {
        console.error(`artifact ${name}.json does not match its source: run 'npm run build' in contracts/`);
        stale++;
      }
    } else {
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(target, text);
      console.log(`wrote ${path.relative(process.cwd(), target)}`);
    }
  }
}
if (stale) process.exit(1);
if (check) console.log("artifacts reproduce from source");
