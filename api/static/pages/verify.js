// The receipt check (issue 16), in the page: nothing the server says is taken on trust.
// From the receipt alone: the leaf input's hash is the stated leaf hash, the leaf holds
// a ballot.cast envelope for this ballot, signed by the key the receipt names. From the
// server, checked here: a checkpoint signed by the log key *the voter brings* (C2SP
// signed note, Ed25519), and an RFC 9162 inclusion path from the leaf to its root.
// With the witnesses' vkeys the voter brings, their C2SP cosignature/v1 lines too: as
// `appraisal receipt verify --witness` (domain/receipt.py, domain/cosignature.py) does.
import { canonicalize } from "./jcs.js";
import { b64urlDecode } from "./envelope.js";

const $ = (id) => document.getElementById(id);
const enc = new TextEncoder();
const LEAF_PREFIX = "appraisal-event/v1\n";
const COMMAND_PREFIX = "appraisal-command/v1\n";

const b64decode = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const b64encode = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)));
const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
};
const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

class Failed extends Error {}

async function ed25519Verify(publicKey, signature, message) {
  const key = await crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

// Step 1: what the receipt proves by itself.
async function checkReceipt(document) {
  const receipt = document.receipt || document;
  const { ledger_index: index, leaf_hash: stated, leaf, signer_public_key: signerKey } = receipt;
  if (!Number.isInteger(index) || index < 0 || typeof stated !== "string" || !leaf) {
    throw new Failed("这不是一份回执：缺少台账位置、叶哈希或叶内容。");
  }
  const leafInput = enc.encode(LEAF_PREFIX + canonicalize({ state: leaf.state, stream: leaf.stream, topic: leaf.topic, version: leaf.version }));
  const leafHash = await sha256(concat(new Uint8Array([0]), leafInput));
  if (b64encode(leafHash) !== stated) throw new Failed("回执的叶哈希与叶内容不符：回执被改动过。");
  let envelope;
  try {
    envelope = JSON.parse(new TextDecoder().decode(b64decode(leaf.state))).envelope;
  } catch (_) {
    throw new Failed("叶内容中没有签名的选票。");
  }
  const command = envelope.command;
  if (command.type !== "ballot.cast" || command.ballot_id !== leaf.stream) {
    throw new Failed("叶内容中的不是这张选票。");
  }
  const publicKey = b64urlDecode(signerKey || "");
  const keyId = Array.from((await sha256(publicKey)).slice(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
  if (keyId !== envelope.signer) throw new Failed("回执所列的公钥不是签名者的公钥。");
  const signed = await ed25519Verify(publicKey, b64urlDecode(envelope.signature), enc.encode(COMMAND_PREFIX + canonicalize(command)));
  if (!signed) throw new Failed("选票签名无效。");
  return { index, leafHash, command };
}

// Step 2: the checkpoint, signed by the log key the voter brings.
async function checkCheckpoint(note, logKey) {
  const split = note.lastIndexOf("\n\n");
  if (split < 0) throw new Failed("服务器给出的检查点格式不对。");
  const body = note.slice(0, split + 1);
  const [origin, sizeLine, rootLine] = body.split("\n");
  const keyHash = (await sha256(concat(enc.encode(origin + "\n"), new Uint8Array([1]), logKey))).slice(0, 4);
  let signed = false;
  for (const line of note.slice(split + 2).split("\n").filter(Boolean)) {
    const [, name, blob] = line.match(/^\u2014 (\S+) (\S+)$/) || [];
    if (name !== origin) continue;
    const raw = b64decode(blob);
    if (!equal(raw.slice(0, 4), keyHash)) continue;
    if (!(await ed25519Verify(logKey, raw.slice(4), enc.encode(body)))) {
      throw new Failed("检查点上的台账签名无效。");
    }
    signed = true;
  }
  if (!signed) throw new Failed("检查点不是由您给出的台账公钥签名的。");
  return { origin, size: Number(sizeLine), root: b64decode(rootLine), cosigners: note.slice(split + 2).split("\n").filter(Boolean).length - 1 };
}

// A witness's vkey (C2SP signed-note): name+hex(key ID)+base64(0x04 || Ed25519 key),
// its key ID checked against what its name and key imply.
async function parseWitness(text) {
  const [name, id] = text.split("+", 2);
  const encoded = text.slice((name || "").length + (id || "").length + 2); // base64 may hold "+"
  let material;
  try {
    material = b64decode(encoded || "");
  } catch (_) {
    material = new Uint8Array();
  }
  if (!name || !/^[0-9a-f]{8}$/.test(id || "") || material.length !== 33 || material[0] !== 4) {
    throw new Failed(`见证方公钥格式不对：${text}`);
  }
  const expected = (await sha256(concat(enc.encode(name + "\n"), material))).slice(0, 4);
  if (hex(expected) !== id) throw new Failed(`见证方公钥的编号与公钥不符：${text}`);
  return { name, keyHash: expected, publicKey: material.slice(1), text };
}

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

// The witnesses among `witnesses` whose cosignature/v1 line on the note verifies. As
// C2SP signed-note says, lines of unknown keys are ignored and a known key's line that
// fails rejects the whole checkpoint.
async function checkCosignatures(note, witnesses) {
  const split = note.lastIndexOf("\n\n");
  const body = note.slice(0, split + 1);
  const cosigned = new Set();
  for (const line of note.slice(split + 2).split("\n").filter(Boolean)) {
    const [, name, blob] = line.match(/^\u2014 (\S+) (\S+)$/) || [];
    let raw;
    try {
      raw = b64decode(blob || "");
    } catch (_) {
      continue; // not a line of any key the voter gave
    }
    const witness = witnesses.find((w) => w.name === name && equal(raw.slice(0, 4), w.keyHash));
    if (!witness) continue;
    if (raw.length !== 4 + 8 + 64) throw new Failed(`见证方 ${name} 的联署长度不对。`);
    const time = new DataView(raw.buffer, raw.byteOffset + 4, 8).getBigUint64(0);
    const message = enc.encode(`cosignature/v1\ntime ${time}\n` + body);
    if (time > 2n ** 63n - 1n || !(await ed25519Verify(witness.publicKey, raw.slice(12), message))) {
      throw new Failed(`见证方 ${name} 的联署无效：这个检查点不可信。`);
    }
    cosigned.add(witness.text);
  }
  return cosigned;
}

async function witnessesGiven() {
  const lines = $("witnesses").value.split("\n").map((l) => l.trim()).filter(Boolean);
  const witnesses = [];
  for (const line of lines) witnesses.push(await parseWitness(line));
  const typed = $("quorum").value.trim();
  const quorum = typed === "" ? witnesses.length : Number(typed);
  if (!Number.isInteger(quorum) || quorum < 0 || quorum > witnesses.length) {
    throw new Failed(`至少需要的见证方数应在 0 到 ${witnesses.length} 之间。`);
  }
  return { witnesses, quorum };
}

// Step 3: RFC 9162 §2.1.3.2, the leaf's path to the signed root.
async function rootFromInclusion(leafHash, index, size, proof) {
  let fn = index, sn = size - 1, r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw new Failed("包含证明过长。");
    if (fn & 1 || fn === sn) {
      r = await sha256(concat(new Uint8Array([1]), p, r));
      while (fn && !(fn & 1)) { fn >>= 1; sn >>= 1; }
    } else {
      r = await sha256(concat(new Uint8Array([1]), r, p));
    }
    fn >>= 1; sn >>= 1;
  }
  if (sn !== 0) throw new Failed("包含证明过短。");
  return r;
}

function report(kind, lines) {
  const box = $("result");
  box.className = "card " + kind;
  box.replaceChildren(...lines.map((t) => Object.assign(document.createElement("p"), { textContent: t })));
  box.hidden = false;
  box.dataset.outcome = kind;
}

// Only a leaf hash and index (the receipt's QR code): inclusion, but not the ballot itself.
function fromLink(params) {
  const index = Number(params.get("i"));
  const hash = params.get("h");
  if (!Number.isInteger(index) || index < 0 || !hash) return null;
  return { index, leafHash: b64urlDecode(hash), command: { ballot_id: params.get("b") }, linkOnly: true };
}

async function verify() {
  const params = new URLSearchParams(location.hash.slice(1));
  let given = null;
  if ($("receipt").value.trim() || !fromLink(params)) {
    try {
      given = JSON.parse($("receipt").value);
    } catch (_) {
      return report("error", ["回执不是有效的 JSON。请粘贴或选择投票后保存的回执文件。"]);
    }
  }
  let logKey;
  try {
    logKey = b64urlDecode($("logkey").value.trim());
    if (logKey.length !== 32) throw new Error();
  } catch (_) {
    return report("error", ["请填写台账公钥（base64url，由组织方公布，或写在核验链接的 #log= 中）。"]);
  }
  try {
    const receipt = given === null ? fromLink(params) : await checkReceipt(given);
    const { witnesses, quorum } = await witnessesGiven();
    const note = await (await fetch("/api/v1/ledger/checkpoint")).text();
    const head = await checkCheckpoint(note, logKey);
    const cosigned = await checkCosignatures(note, witnesses);
    if (cosigned.size < quorum) {
      throw new Failed(`检查点只有您给出的见证方中 ${cosigned.size} 个的联署，少于要求的 ${quorum} 个：这个检查点尚未得到足够的见证，或台账给您看的是另一个版本。`);
    }
    if (receipt.index >= head.size) throw new Failed("最新的检查点还不包含这张选票，请稍后再试。");
    const served = await (await fetch(`/api/v1/ledger/proofs/inclusion?index=${receipt.index}&tree_size=${head.size}`)).json();
    const root = await rootFromInclusion(receipt.leafHash, receipt.index, head.size, (served.proof || []).map(b64decode));
    if (!equal(root, head.root)) throw new Failed("包含证明对不上已签名的根：这张选票不在该台账中。");
    report("ok", [
      receipt.linkOnly
        ? "已证明：二维码中的叶哈希（选票 " + receipt.command.ballot_id + "）在台账中；未核验选票内容和签名——请用回执文件核验。"
        : "已证明：这张选票（编号 " + receipt.command.ballot_id + "）由回执中的凭证签名，",
      `是台账 ${head.origin} 的第 ${receipt.index} 条记录，包含在由您给出的台账公钥签名的、共 ${head.size} 条的树中。`,
      witnesses.length > 0
        ? `已证明：检查点由您给出的 ${witnesses.length} 个见证方中的 ${cosigned.size} 个联署（要求至少 ${quorum} 个），它们见过的是同一个台账。`
        : `未核验见证方：您没有填写见证方公钥（检查点上有 ${head.cosigners} 个附加签名）；本页只证明台账本身的签名。`,
      "未证明：选票是否有效或是否计入结果（请看结果公示）；也不证明台账公钥本身可信——请与组织方公开发布的公钥核对。",
    ]);
  } catch (error) {
    report("error", [error instanceof Failed ? error.message : `核验出错：${error.message}`, "未能证明这张选票在台账中。"]);
  }
}

function start() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("log")) $("logkey").value = params.get("log");
  if (params.getAll("w").length) $("witnesses").value = params.getAll("w").join("\n");
  if (params.get("q")) $("quorum").value = params.get("q");
  $("file").addEventListener("change", async () => {
    const [file] = $("file").files;
    if (file) $("receipt").value = await file.text();
  });
  $("verify").addEventListener("click", () => verify());
}

start();
