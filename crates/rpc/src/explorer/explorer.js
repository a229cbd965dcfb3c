// The ankr explorer: reads the node that serves it through its own JSON-RPC (same origin),
// live over a WebSocket subscription to new heads. Views are routed by the URL's fragment
// (#/block/12, #/tx/0x…, #/address/0x…, #/market, #/oracle, #/chains, #/search/…), so every
// view has an address a test or a person can open directly.

const view = document.getElementById("view");
const statusLine = document.getElementById("status");
const LOG_WINDOW = 9_999n; // the node scans at most 10,000 blocks per eth_getLogs
const ZERO = "0x0000000000000000000000000000000000000000";

// ---------- JSON-RPC ----------

let nextId = 1;
async function rpc(method, ...params) {
  const response = await fetch("/", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: nextId++, method, params }),
  });
  const answer = await response.json();
  if (answer.error) throw new Error(`${method}: ${answer.error.message}`);
  return answer.result;
}
const tryRpc = (method, ...params) => rpc(method, ...params).catch(() => null);

// ---------- formatting ----------

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const big = (hex) => BigInt(hex ?? 0);
const num = (hex) => Number(big(hex));
const short = (h) => (h && h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h ?? "");
const blockLink = (n) => `<a href="#/block/${n}">${n}</a>`;
const txLink = (h) => `<a class="hash" href="#/tx/${h}">${short(h)}</a>`;
let systemNames = new Map(); // lower-case address → system contract name
const addrLink = (a) => {
  if (!a) return "<span class=muted>—</span>";
  const name = systemNames.get(a.toLowerCase());
  return `<a class="hash" href="#/address/${a}">${name ? esc(name) : short(a)}</a>`;
};
function ankr(wei) {
  const value = big(wei);
  // Below a millionth of an ANKR (a work-market payment at 10 wei an instruction), in wei.
  if (value > 0n && value < 10n ** 12n) return `${value.toLocaleString("en")} wei`;
  const whole = value / 10n ** 18n;
  const fraction = (value % 10n ** 18n).toString().padStart(18, "0").replace(/0+$/, "").slice(0, 6);
  return `${whole.toLocaleString("en")}${fraction ? "." + fraction : ""} ANKR`;
}
const age = (timestamp) => {
  const seconds = Math.max(0, Math.round(Date.now() / 1000 - timestamp));
  if (timestamp === 0) return "genesis";
  if (seconds < 120) return `${seconds} s ago`;
  return seconds < 7200 ? `${Math.round(seconds / 60)} min ago` : `${Math.round(seconds / 3600)} h ago`;
};
const table = (head, rows, empty = "nothing yet") =>
  rows.length
    ? `<table><tr>${head.map((h) => `<th${h.startsWith("#") ? ' class="num"' : ""}>${esc(h.replace(/^#/, ""))}</th>`).join("")}</tr>${rows.join("")}</table>`
    : `<p class="note">${esc(empty)}</p>`;
const fields = (pairs) =>
  `<table class="fields">${pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join("")}</table>`;

// ---------- ABI decoding of ankr's own contracts (served by the node as /explorer/abis.json) ----------

let abis = { events: {}, functions: {} };

function word(data, index) {
  return data.slice(2 + index * 64, 2 + (index + 1) * 64);
}
function decodeValue(type, data, index) {
  const w = word(data, index);
  if (w.length < 64) return "?";
  if (type === "address") return "0x" + w.slice(24);
  if (type === "bool") return BigInt("0x" + w) !== 0n;
  if (/^uint\d*$/.test(type)) return BigInt("0x" + w);
  if (/^int\d*$/.test(type)) return BigInt.asIntN(256, BigInt("0x" + w));
  if (/^bytes\d+$/.test(type)) return "0x" + w.slice(0, 2 * Number(type.slice(5)));
  if (type.endsWith("[]")) {
    // A dynamic array (a relay's batch of deliveries): its length and element type.
    const offset = Number(BigInt("0x" + w)) * 2;
    const length = Number(BigInt("0x" + (data.slice(2 + offset, 2 + offset + 64) || "0")));
    return `${length} × ${type.slice(0, -2)}`;
  }
  if (type === "bytes" || type === "string") {
    const offset = Number(BigInt("0x" + w)) * 2;
    const length = Number(BigInt("0x" + data.slice(2 + offset, 2 + offset + 64)));
    const bytes = data.slice(2 + offset + 64, 2 + offset + 64 + length * 2);
    if (type === "bytes") return "0x" + bytes;
    return new TextDecoder().decode(Uint8Array.from(bytes.match(/../g) ?? [], (b) => parseInt(b, 16)));
  }
  return `(${type})`;
}
function decodeLog(log) {
  const event = abis.events[log.topics[0]];
  if (!event) return null;
  const args = {};
  let topic = 1;
  let slot = 0;
  for (const input of event.inputs) {
    if (input.indexed) args[input.name] = decodeValue(input.type, log.topics[topic++] ?? "0x", 0);
    else args[input.name] = decodeValue(input.type, log.data, slot++);
  }
  return { name: event.name, contract: event.contract, args };
}
function decodeCall(input) {
  const fn = input && input.length >= 10 ? abis.functions[input.slice(0, 10)] : null;
  if (!fn) return null;
  const data = "0x" + input.slice(10);
  const args = {};
  fn.inputs.forEach((p, i) => (args[p.name || `arg${i}`] = decodeValue(p.type, data, i)));
  return { name: fn.name, contract: fn.contract, args };
}
const showValue = (v) =>
  typeof v === "bigint" ? v.toLocaleString("en") : typeof v === "string" && /^0x[0-9a-f]{40}$/i.test(v) ? addrLink(v) : `<code>${esc(v)}</code>`;
/** The readable runs of a byte string (an oracle request's URL and path inside its ABI encoding). */
function printable(hex) {
  const text = String.fromCharCode(...(hex.slice(2).match(/../g) ?? []).map((b) => parseInt(b, 16)));
  return (text.match(/[\x20-\x7e]{4,}/g) ?? []).join(" · ") || hex;
}
const showArgs = (args) => Object.entries(args).map(([k, v]) => `${esc(k)}=${showValue(v)}`).join(", ");

/** Calls `signature` (e.g. "exits(uint256)") of one of ankr's contracts with uint arguments. */
async function callView(to, signature, args, tag = "latest") {
  const selector = Object.keys(abis.functions).find((s) => abis.functions[s].signature === signature);
  const data = selector + args.map((a) => BigInt(a).toString(16).padStart(64, "0")).join("");
  return tryRpc("eth_call", { to, data }, tag);
}

// ---------- live heads ----------

const heads = []; // recent heads, newest first: { number, hash, parentHash, timestamp }
const reorganisations = []; // what this page saw happen, newest first
let onHead = null;

function connect() {
  const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/`);
  socket.onopen = () => {
    socket.send(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["newHeads"] }));
    statusLine.textContent = "live";
    statusLine.className = "status live";
  };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    const head = data.params?.result;
    if (!head) return;
    const previous = heads[0];
    if (previous && head.parentHash !== previous.hash) {
      const dropped = heads.filter((h) => num(h.number) >= num(head.number));
      reorganisations.unshift({ at: num(head.number), dropped: dropped.length, hash: head.hash, seen: new Date() });
    }
    while (heads.length && num(heads[0].number) >= num(head.number)) heads.shift();
    heads.unshift(head);
    heads.length = Math.min(heads.length, 64);
    onHead?.(head);
  };
  socket.onclose = () => {
    statusLine.textContent = "reconnecting…";
    statusLine.className = "status";
    setTimeout(connect, 2000);
  };
}

// ---------- views ----------

async function sealOf(number) {
  return tryRpc("ankr_getBlockSeal", `0x${number.toString(16)}`);
}

function drawShare(seal) {
  const u = seal?.usefulWork;
  if (!u) return null;
  return Number((big(u.draw) * 1_000_000n) / big(u.threshold)) / 1_000_000;
}

function sealCell(seal) {
  if (!seal) return "?";
  if (seal.kind === "usefulWork") return `<span class="pill">PoUW</span> ${short(seal.usefulWork.platformId)}`;
  if (seal.kind === "operator") return `<span class="pill">operator</span> ${addrLink(seal.operator)}`;
  return `<span class="pill">dev</span>`;
}

function sparkline(values) {
  if (values.length < 2) return "<svg></svg>";
  const max = Math.max(...values) || 1;
  const min = Math.min(...values, 0);
  const points = values
    .map((v, i) => `${((i / (values.length - 1)) * 300).toFixed(1)},${(68 - ((v - min) / (max - min || 1)) * 64).toFixed(1)}`)
    .join(" ");
  return `<svg viewBox="0 0 300 70" preserveAspectRatio="none"><polyline points="${points}"/></svg>`;
}
const chart = (title, values, unit, id) =>
  `<div class="chart" id="${id}"><div class="title">${esc(title)}</div><div class="value">${values.length ? esc(values.at(-1).toLocaleString("en", { maximumFractionDigits: 2 })) + " " + esc(unit) : "—"}</div>${sparkline(values)}</div>`;

async function home() {
  const latest = num(await rpc("eth_blockNumber"));
  const count = Math.min(latest + 1, 40);
  const numbers = Array.from({ length: count }, (_, i) => latest - i);
  const [blocks, seals] = await Promise.all([
    Promise.all(numbers.map((n) => rpc("eth_getBlockByNumber", `0x${n.toString(16)}`, false))),
    Promise.all(numbers.map((n) => sealOf(n))),
  ]);
  const rows = blocks.map((b, i) => {
    const s = seals[i];
    return `<tr data-block="${num(b.number)}"><td>${blockLink(num(b.number))}</td><td>${age(num(b.timestamp))}</td><td>${sealCell(s)}</td>
      <td class="num">${s?.usefulWork ? num(s.usefulWork.instructions).toLocaleString("en") : "—"}</td>
      <td class="num">${b.transactions.length}</td><td class="num">${num(b.gasUsed).toLocaleString("en")}</td></tr>`;
  });
  const oldestFirst = [...blocks].reverse();
  const intervals = oldestFirst.slice(1).map((b, i) => num(b.timestamp) - num(oldestFirst[i].timestamp));
  const difficulty = [...seals].reverse().map((s) => Number(big(s?.difficulty)));
  const instructions = [...seals].reverse().map((s) => (s?.usefulWork ? num(s.usefulWork.instructions) : 0));
  const share = new Map();
  for (const s of seals) {
    const key = s?.usefulWork ? s.usefulWork.platformId : s?.kind ?? "?";
    share.set(key, (share.get(key) ?? 0) + 1);
  }
  const miners = [...share].sort((a, b) => b[1] - a[1]).map(([platform, n]) =>
    `<tr><td class="hash">${esc(platform)}</td><td class="num">${n}</td><td><span class="bar"><span style="width:${((n / seals.length) * 100).toFixed(0)}%"></span></span> ${((n / seals.length) * 100).toFixed(0)} %</td></tr>`);
  const status = await tryRpc("ankr_pouwStatus");
  const cap = status?.winCap;
  const defences = (status?.enclaves ?? []).map((e) => {
    const verdict = !e.live ? "not live: its blocks are refused" : cap == null ? "—" : e.wins < cap ? `<span class="ok">within the rate cap</span>` : `<span class="bad">at the cap: its next block waits</span>`;
    return `<tr data-platform="${e.platformId}"><td class="hash">${short(e.platformId)}</td><td>${addrLink(e.enclave)}</td><td class="num">${e.wins}</td><td class="num">${cap ?? "—"}</td><td class="num">${num(e.instructions).toLocaleString("en")}</td><td>${verdict}</td></tr>`;
  });
  const forks = ((await tryRpc("ankr_recentForks")) ?? []).reverse().map((f) =>
    f.kind === "sideBlock"
      ? `<tr data-fork="${f.hash}"><td>side block</td><td>${blockLink(f.number)}</td><td><a class="hash" href="#/block/${f.hash}">${short(f.hash)}</a></td><td>on ${short(f.from)}${f.heavier ? " — heavier: the node moved to it" : ""}</td><td>${new Date(f.seenAt * 1000).toLocaleTimeString()}</td></tr>`
      : `<tr data-fork="${f.hash}"><td>reorganisation</td><td>${blockLink(f.number)}</td><td><a class="hash" href="#/block/${f.hash}">${short(f.hash)}</a></td><td>left ${short(f.from)}, ${f.unwound} blocks unwound</td><td>${new Date(f.seenAt * 1000).toLocaleTimeString()}</td></tr>`);
  const reorgs = reorganisations.map((r) => `<tr><td>${blockLink(r.at)}</td><td class="num">${r.dropped}</td><td>${r.seen.toLocaleTimeString()}</td></tr>`);
  return `<h1>Main chain</h1>
    <div class="charts">${chart("block interval", intervals, "s", "chart-interval")}${chart("difficulty (instructions per block)", difficulty, "", "chart-difficulty")}${chart("instructions in the winning subtask", instructions, "", "chart-instructions")}</div>
    <h2>Latest blocks</h2>${table(["block", "age", "seal", "#instructions", "#txs", "#gas used"], rows)}
    <h2>Platforms' share of the last ${seals.length} blocks</h2>${table(["platform", "#blocks", "share"], miners)}
    <h2>Defences: each platform's wins over the last ${status?.window ?? "?"} blocks against the rate cap</h2>
    <p class="note">A platform may seal at most the cap's blocks in the window (what the fastest honest platform could win, DESIGN §4.5); enclaves here are simulated.</p>
    ${table(["platform", "enclave", "#wins", "#cap", "#instructions", "verdict"], defences, "no registered enclaves")}
    <h2>Forks this node saw</h2>${table(["kind", "block", "hash", "what", "seen at"], forks, "no forks since the node started")}
    <h2>Reorganisations seen by this page</h2>${table(["new head", "#blocks replaced", "seen at"], reorgs, "none since the page opened")}`;
  onHead = () => route();
}

async function block(id) {
  const tag = /^0x[0-9a-f]{64}$/i.test(id) ? id : `0x${Number(id).toString(16)}`;
  const b = tag.length === 66 ? await rpc("eth_getBlockByHash", tag, true) : await rpc("eth_getBlockByNumber", tag, true);
  if (!b) return notFound(`block ${id}`);
  const s = await tryRpc("ankr_getBlockSeal", b.hash);
  const u = s?.usefulWork;
  const sealFields = u
    ? [
        ["enclave", `${addrLink(u.enclave)} <span class="note">simulated enclave (software; no SGX on this machine)</span>`],
        ["platform", `<code>${u.platformId}</code>`],
        ["task", `<a href="#/search/${u.taskId}"><code>${u.taskId}</code></a>`],
        ["subtask", u.subtask],
        ["instructions (tickets)", num(u.instructions).toLocaleString("en")],
        ["draw / threshold", `<span id="draw-share">${drawShare(s).toFixed(6)}</span> <span class="note">below 1 wins: draw ${short(u.draw)} &lt; threshold ${short(u.threshold)}</span>`],
        ["difficulty", big(s.difficulty).toLocaleString("en")],
        ["result hash", `<code>${u.resultHash}</code>`],
      ]
    : [["kind", s?.kind ?? "?"], ...(s?.operator ? [["operator", addrLink(s.operator)]] : [])];
  const rows = b.transactions.map((t) => {
    const call = decodeCall(t.input);
    return `<tr><td>${txLink(t.hash)}</td><td>${addrLink(t.from)}</td><td>${t.to ? addrLink(t.to) : "<i>create</i>"}</td><td>${call ? esc(call.name) : t.input === "0x" ? "transfer" : `<code>${t.input.slice(0, 10)}</code>`}</td><td class="num">${ankr(t.value)}</td></tr>`;
  });
  return `<h1>Block ${num(b.number)}</h1>
    ${fields([
      ["hash", `<code id="block-hash">${b.hash}</code>`],
      ["parent", `<a class="hash" href="#/block/${b.parentHash}">${b.parentHash}</a>`],
      ["time", `${new Date(num(b.timestamp) * 1000).toISOString()} (${age(num(b.timestamp))})`],
      ["transactions", `<span id="tx-count">${b.transactions.length}</span>`],
      ["gas used / limit", `${num(b.gasUsed).toLocaleString("en")} / ${num(b.gasLimit).toLocaleString("en")}`],
      ["base fee", `${num(b.baseFeePerGas).toLocaleString("en")} wei`],
      ["child chains root", `<a href="#/chains/${num(b.number)}"><code>${b.childChainsRoot}</code></a>`],
    ])}
    <h2>Seal</h2>${fields(sealFields)}
    <h2>Transactions</h2>${table(["hash", "from", "to", "call", "#value"], rows, "no transactions")}`;
}

function traceTree(frame) {
  const call = decodeCall(frame.input);
  const label = `${esc(frame.type)} ${addrLink(frame.to)}${call ? ` ${esc(call.name)}(${showArgs(call.args)})` : ""}${big(frame.value) ? ` value ${ankr(frame.value)}` : ""}`;
  const error = frame.error ? ` <span class="bad">${esc(frame.error)}${frame.revertReason ? ": " + esc(frame.revertReason) : ""}</span>` : "";
  const children = (frame.calls ?? []).map(traceTree).join("");
  return `<li>${label} <span class="muted">gas ${num(frame.gasUsed).toLocaleString("en")}</span>${error}${children ? `<ul class="trace">${children}</ul>` : ""}</li>`;
}

async function transaction(hash) {
  const [t, r] = await Promise.all([rpc("eth_getTransactionByHash", hash), rpc("eth_getTransactionReceipt", hash)]);
  if (!t) return notFound(`transaction ${hash}`);
  const trace = r ? await tryRpc("debug_traceTransaction", hash, { tracer: "callTracer" }) : null;
  const call = decodeCall(t.input);
  const status = !r ? "pending" : r.status === "0x1" ? `<span class="ok">success</span>` : `<span class="bad">failed${trace?.revertReason ? ": " + esc(trace.revertReason) : trace?.error ? ": " + esc(trace.error) : ""}</span>`;
  const logs = (r?.logs ?? []).map((log) => {
    const decoded = decodeLog(log);
    return `<tr><td>${addrLink(log.address)}</td><td>${decoded ? `${esc(decoded.contract)}.${esc(decoded.name)}` : `<code>${short(log.topics[0])}</code>`}</td><td>${decoded ? showArgs(decoded.args) : `<code>${esc(log.data)}</code>`}</td></tr>`;
  });
  return `<h1>Transaction</h1>
    ${fields([
      ["hash", `<code>${t.hash}</code>`],
      ["status", `<span id="tx-status">${status}</span>`],
      ["block", t.blockNumber ? blockLink(num(t.blockNumber)) : "pending"],
      ["from", addrLink(t.from)],
      ["to", t.to ? addrLink(t.to) : `created ${addrLink(r?.contractAddress)}`],
      ["value", ankr(t.value)],
      ["call", call ? `${esc(call.contract)}.${esc(call.name)}(${showArgs(call.args)})` : `<code>${esc(t.input.slice(0, 138))}${t.input.length > 138 ? "…" : ""}</code>`],
      ["gas used / limit", `${r ? num(r.gasUsed).toLocaleString("en") : "—"} / ${num(t.gas).toLocaleString("en")}`],
      ["nonce", num(t.nonce)],
    ])}
    <h2>Logs</h2>${table(["emitted by", "event", "arguments"], logs, "no logs")}
    <h2>Call trace</h2>${trace ? `<ul class="trace">${traceTree(trace)}</ul>` : `<p class="note">no trace (state older than the node keeps, or pending)</p>`}`;
}

async function logsOf(address, topics = []) {
  const head = big(await rpc("eth_blockNumber"));
  const from = head > LOG_WINDOW ? head - LOG_WINDOW : 0n;
  return rpc("eth_getLogs", { address, topics, fromBlock: `0x${from.toString(16)}`, toBlock: "latest" });
}

async function address(a) {
  const [balance, nonce, code] = await Promise.all([rpc("eth_getBalance", a, "latest"), rpc("eth_getTransactionCount", a, "latest"), rpc("eth_getCode", a, "latest")]);
  const logs = code.length > 2 ? (await logsOf(a)).slice(-50).reverse() : [];
  const rows = logs.map((log) => {
    const d = decodeLog(log);
    return `<tr><td>${blockLink(num(log.blockNumber))}</td><td>${txLink(log.transactionHash)}</td><td>${d ? esc(d.name) : `<code>${short(log.topics[0])}</code>`}</td><td>${d ? showArgs(d.args) : ""}</td></tr>`;
  });
  const name = systemNames.get(a.toLowerCase());
  return `<h1>${name ? esc(name) : code.length > 2 ? "Contract" : "Account"} <code>${esc(a)}</code></h1>
    ${fields([["balance", `<span id="balance">${ankr(balance)}</span>`], ["nonce", num(nonce)], ["code", code.length > 2 ? `${(code.length - 2) / 2} bytes` : "none"]])}
    ${code.length > 2 ? `<h2>Latest events</h2>${table(["block", "transaction", "event", "arguments"], rows, "no events in the last 10,000 blocks")}` : ""}`;
}

const systemAddress = (name) => [...systemNames].find(([, n]) => n === name)?.[0];

async function market() {
  const at = systemAddress("WorkMarket");
  const logs = (await logsOf(at)).map((log) => ({ log, d: decodeLog(log) })).filter((x) => x.d);
  const tasks = new Map();
  for (const { log, d } of logs) {
    if (d.args.id === undefined) continue;
    const id = d.args.id.toString();
    const task = tasks.get(id) ?? { id, deliveries: [] };
    if (d.name === "TaskPosted") Object.assign(task, { posted: d.args, block: num(log.blockNumber) });
    if (d.name === "ResultDelivered") task.deliveries.push(d.args);
    if (d.name === "TaskRefunded") task.refund = d.args.amount;
    tasks.set(id, task);
  }
  const outcomes = ["success", "trap", "out of instructions", "invalid"];
  const rows = [...tasks.values()].reverse().map((t) => {
    const used = t.deliveries.reduce((sum, d) => sum + d.instructions, 0n);
    const paid = t.deliveries.reduce((sum, d) => sum + d.payment, 0n);
    const state = t.refund !== undefined ? "refunded" : t.deliveries.length ? "delivered" : "running";
    return `<tr data-task="${t.id}"><td>${t.id}</td><td>${t.block !== undefined ? blockLink(t.block) : "?"}</td><td>${t.posted ? addrLink(t.posted.provider) : "?"}</td><td>${state}</td>
      <td class="num">${used.toLocaleString("en")}${t.posted ? " / " + t.posted.maxInstructions.toLocaleString("en") : ""}</td>
      <td>${t.deliveries.map((d) => outcomes[Number(d.outcome)] ?? d.outcome).join(", ") || "—"}</td>
      <td class="num">${ankr("0x" + paid.toString(16))}</td><td class="num">${t.refund !== undefined ? ankr("0x" + t.refund.toString(16)) : "—"}</td></tr>`;
  });
  return `<h1>Work market</h1><p class="note">Tasks posted to ${addrLink(at)} in the last 10,000 blocks: miners run them inside enclaves and their instructions are the lottery's tickets.</p>
    ${table(["task", "posted in", "provider", "state", "#instructions used / max", "outcome", "#paid", "#refund"], rows, "no tasks posted")}`;
}

async function oracle() {
  const at = systemAddress("NativeOracle");
  const logs = (await logsOf(at)).map((log) => ({ log, d: decodeLog(log) })).filter((x) => x.d);
  const requests = new Map();
  for (const { log, d } of logs) {
    if (d.args.id === undefined) continue;
    const id = d.args.id.toString();
    const request = requests.get(id) ?? { id };
    if (d.name === "RequestInfo") Object.assign(request, { info: d.args, block: num(log.blockNumber), state: "waiting" });
    if (d.name === "Delivered") Object.assign(request, { state: Number(d.args.code) < 16 ? "delivered" : `failed (code ${d.args.code})`, deliveredIn: num(log.blockNumber) });
    if (d.name === "CancelRequested") request.state = "cancelling";
    if (d.name === "Cancelled") request.state = "cancelled";
    if (d.name === "Expired") request.state = "expired";
    requests.set(id, request);
  }
  const blocks = new Map();
  const timeOf = async (n) => {
    if (!blocks.has(n)) blocks.set(n, rpc("eth_getBlockByNumber", `0x${n.toString(16)}`, false).then((b) => num(b.timestamp)));
    return blocks.get(n);
  };
  const latencies = [];
  const rows = [];
  for (const r of [...requests.values()].reverse()) {
    const kind = r.info ? Number(r.info.kind) : 0;
    const isPrivate = (kind & 0x80) !== 0;
    const kindName = ["JSON", "XML", "document"][kind & 0x7f] ?? kind;
    let latency = "—";
    if (r.deliveredIn !== undefined && r.block !== undefined) {
      const seconds = (await timeOf(r.deliveredIn)) - (await timeOf(r.block));
      latencies.push(seconds);
      latency = `${seconds} s (${r.deliveredIn - r.block} blocks)`;
    }
    const params = r.info ? (isPrivate ? `<span class="pill">ciphertext</span> <code>${esc(short(r.info.params))}</code>` : `<code>${esc(printable(r.info.params))}</code>`) : "?";
    rows.push(`<tr data-request="${r.id}"><td>${r.id}</td><td>${r.block !== undefined ? blockLink(r.block) : "?"}</td><td>${r.info ? addrLink(r.info.requester) : "?"}</td><td>${kindName}${isPrivate ? " (private)" : ""}</td><td>${params}</td><td>${esc(r.state ?? "?")}</td><td class="num">${r.info ? ankr("0x" + r.info.fee.toString(16)) : "?"}</td><td class="num">${latency}</td></tr>`);
  }
  return `<h1>Oracle</h1><p class="note">Requests to ${addrLink(at)} in the last 10,000 blocks. A private request's parameters are sealed to an oracle enclave's key: only its ciphertext is public.</p>
    <div class="charts">${chart("delivery latency", latencies.reverse(), "s", "chart-oracle")}</div>
    ${table(["request", "asked in", "requester", "kind", "parameters", "state", "#fee", "#latency"], rows, "no requests")}`;
}

async function chains(at) {
  const tag = at === undefined ? "latest" : `0x${Number(at).toString(16)}`;
  const tree = await rpc("ankr_childChains", tag);
  const registry = systemAddress("ChildChainRegistry");
  const registered = registry ? (await logsOf(registry)).map(decodeLog).filter((d) => d?.name === "ChildChainRegistered") : [];
  const sections = [];
  for (const c of tree.chains) {
    const reg = registered.find((d) => d.args.id === BigInt(c.id));
    const logs = (await logsOf(c.rootChain)).map((log) => ({ log, d: decodeLog(log) })).filter((x) => x.d);
    const exits = logs.filter(({ d }) => /^Exit/.test(d.name));
    const frauds = logs.filter(({ d }) => ["BlockInvalid", "BlocksReverted", "AvailabilityChallenged", "Frozen"].includes(d.name));
    const deposits = logs.filter(({ d }) => d.name === "Deposit" || d.name === "Deposited");
    const stake = await tryRpc("eth_getBalance", c.rootChain, tag);
    const queue = c.kind === "plasma" ? await exitQueue(c.rootChain, logs) : "";
    const row = ({ log, d }) => `<tr><td>${blockLink(num(log.blockNumber))}</td><td>${esc(d.name)}</td><td>${showArgs(d.args)}</td></tr>`;
    sections.push(`<section data-chain="${c.id}"><h2>#${c.id} ${esc(reg?.args.name ?? "")} <span class="pill">${esc(c.kind ?? "?")}</span></h2>
      ${fields([
        ["contract on the main chain", addrLink(c.rootChain)],
        ["operator", reg ? addrLink(reg.args.operator) : "?"],
        ["held by the contract (stake, deposits, bonds)", stake ? ankr(stake) : "?"],
        ["latest boundary", `child block <span class="blknum">${c.blknum}</span>, root <code>${short(c.root)}</code>`],
        ["its proof", `leaf <code>${short(c.leaf)}</code> + ${c.proof.length} siblings against childChainsRoot <code>${short(tree.childChainsRoot)}</code> of block ${blockLink(tree.blockNumber)}`],
        ["deposits", deposits.length],
      ])}
      ${queue}
      <h3>Exit events</h3>${table(["block", "event", "arguments"], exits.slice(-20).reverse().map(row), "no exits")}
      <h3>Fraud proofs, challenges and reversals</h3>${table(["block", "event", "arguments"], frauds.slice(-20).reverse().map(row), "none")}</section>`);
  }
  return `<h1>Tree of child chains</h1><p class="note">Every child chain the main chain supervises, as block ${blockLink(tree.blockNumber)} commits to them (childChainsRoot <code>${tree.childChainsRoot}</code>). Messages between chains are not built yet.</p>
    ${sections.join("") || `<p class="note">no child chains registered</p>`}`;
}

/** A Plasma chain's exits by priority (UTXO position, the earliest settles first) with their state. */
async function exitQueue(rootChain, logs) {
  const exits = new Map();
  for (const { log, d } of logs) {
    if (d.name === "ExitStarted") {
      const position = d.args.plasmaBlockNum * 1_000_000_000n + d.args.txindex * 10_000n + d.args.oindex;
      exits.set(position, { position, owner: d.args.exitor, block: num(log.blockNumber), state: "in the queue" });
    }
    const id = d.args.exitId;
    if (id !== undefined && exits.has(id)) {
      if (d.name === "ExitChallenged") exits.get(id).state = "challenged: output shown spent, exit cancelled";
      if (d.name === "ExitDropped") exits.get(id).state = "dropped";
      if (d.name === "ExitShortfall") exits.get(id).state = `paid short by ${ankr("0x" + d.args.shortfall.toString(16))}`;
    }
    if (d.name === "ExitFinalized") {
      const position = d.args.plasmaBlockNum * 1_000_000_000n + d.args.txindex * 10_000n + d.args.oindex;
      if (exits.has(position)) exits.get(position).state = "paid";
    }
  }
  const next = await callView(rootChain, "nextExit()", []);
  const nextPosition = next ? BigInt("0x" + next.slice(2, 66)) : 0n;
  const rows = [];
  for (const e of [...exits.values()].sort((a, b) => (a.position < b.position ? -1 : 1))) {
    let matures = "—";
    if (e.state === "in the queue") {
      const record = await callView(rootChain, "exits(uint256)", [e.position]);
      if (record && record.length >= 2 + 64 * 4) matures = new Date(Number(BigInt("0x" + record.slice(66, 130))) * 1000).toISOString();
    }
    rows.push(`<tr data-exit="${e.position}"><td>${e.position}${e.position === nextPosition ? ' <span class="pill">next</span>' : ""}</td><td>${addrLink(e.owner)}</td><td>${blockLink(e.block)}</td><td>${esc(e.state)}</td><td>${matures}</td></tr>`);
  }
  return `<h3>Exit queue</h3>${table(["exit (priority: UTXO position)", "owner", "started in", "state", "pays from"], rows, "no exits")}`;
}

async function search(query) {
  const q = query.trim();
  // A search that names a block, transaction or address goes to that view's address.
  const go = (hash) => ({ redirect: hash });
  if (/^\d+$/.test(q)) return go(`#/block/${q}`);
  if (/^0x[0-9a-f]{40}$/i.test(q)) return go(`#/address/${q}`);
  if (/^0x[0-9a-f]{64}$/i.test(q)) {
    if (await tryRpc("eth_getTransactionByHash", q)) return go(`#/tx/${q}`);
    if (await tryRpc("eth_getBlockByHash", q, false)) return go(`#/block/${q}`);
  }
  // "task 7", "request 3", "exit 1000000000" (a bare number is a block) or a 32-byte id: the
  // events that name it first, in ankr's own contracts.
  let id = null;
  try {
    id = "0x" + BigInt(q.replace(/^(task|request|exit)\s+/i, "")).toString(16).padStart(64, "0");
  } catch {}
  const hits = [];
  if (id) {
    const tree = await tryRpc("ankr_childChains", "latest");
    const contracts = [systemAddress("WorkMarket"), systemAddress("NativeOracle"), ...(tree?.chains ?? []).map((c) => c.rootChain)].filter(Boolean);
    for (const contract of contracts) for (const log of await logsOf(contract, [null, id])) hits.push(log);
    // A Plasma exit is named by its UTXO position, which ExitStarted and ExitFinalized carry
    // unindexed: those are matched by reading the chains' exit events.
    if (/^exit\s/i.test(q)) {
      const position = BigInt(id);
      for (const chain of (tree?.chains ?? []).filter((c) => c.kind === "plasma")) {
        for (const log of await logsOf(chain.rootChain)) {
          const d = decodeLog(log);
          const at = d && d.args.plasmaBlockNum !== undefined ? d.args.plasmaBlockNum * 1_000_000_000n + d.args.txindex * 10_000n + d.args.oindex : null;
          if (at === position && (d.name === "ExitStarted" || d.name === "ExitFinalized")) hits.push(log);
        }
      }
      hits.sort((a, b) => num(a.blockNumber) - num(b.blockNumber));
    }
  }
  const rows = hits.map((log) => {
    const d = decodeLog(log);
    return `<tr><td>${blockLink(num(log.blockNumber))}</td><td>${addrLink(log.address)}</td><td>${d ? esc(d.name) : "?"}</td><td>${d ? showArgs(d.args) : ""}</td></tr>`;
  });
  return `<h1>Search: <code>${esc(q)}</code></h1>${table(["block", "contract", "event", "arguments"], rows, "nothing found: a block number or hash, a transaction hash, an address, or task N, request N, exit N")}`;
}

function notFound(what) {
  return `<h1>Not found</h1><p class="note">${esc(what)} is not known to this node.</p>`;
}

// ---------- routing ----------

// Views render while new heads arrive and the reader clicks on: a route that a later one has
// overtaken (the home page redrawn on a head while a search runs) must not draw over it.
let latestRoute = 0;

async function route() {
  const mine = ++latestRoute;
  onHead = null;
  const [, page, arg] = location.hash.split("/");
  let html;
  try {
    if (page === "block") html = await block(decodeURIComponent(arg));
    else if (page === "tx") html = await transaction(arg);
    else if (page === "address") html = await address(arg);
    else if (page === "market") html = await market();
    else if (page === "oracle") html = await oracle();
    else if (page === "chains") html = await chains(arg);
    else if (page === "search") html = await search(decodeURIComponent(arg ?? ""));
    else html = await home();
  } catch (error) {
    if (mine !== latestRoute) return;
    view.innerHTML = `<h1>Error</h1><p class="bad">${esc(error.message)}</p>`;
    document.body.dataset.view = "error";
    return;
  }
  if (mine !== latestRoute) return;
  if (html.redirect) {
    location.hash = html.redirect; // the new fragment's route draws its view
    return;
  }
  view.innerHTML = html;
  document.body.dataset.view = page || "home";
  if (!page) onHead = () => route(); // the home page follows the chain
}

document.getElementById("search").addEventListener("submit", (event) => {
  event.preventDefault();
  const q = new FormData(event.target).get("q");
  location.hash = `#/search/${encodeURIComponent(q)}`;
});
window.addEventListener("hashchange", route);

const [info, system, known] = await Promise.all([rpc("ankr_nodeInfo"), tryRpc("ankr_systemContracts"), fetch("abis.json").then((r) => r.json())]);
abis = known;
systemNames = new Map((system ?? []).map((c) => [c.address.toLowerCase(), c.name]));
document.getElementById("node").textContent = `${info.chainName} · chain id ${info.chainId} · ${info.clientVersion} · genesis ${info.genesisHash}`;
connect();
route();
