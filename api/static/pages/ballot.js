// The ballot page: the slip's credential (URL fragment) → the meeting's public ballot
// definition → a ballot drawn for a phone → warnings before an invalid ballot → a signed
// ballot.cast → the receipt. The private key never leaves this page: it is read from the
// fragment (which browsers never send), removed from the address bar, and used only to sign.
import { b64urlDecode, credentialSigner } from "./envelope.js";

const $ = (id) => document.getElementById(id);
const FORM_FIELD = { grade_choice: "choice", dimension_scores: "scores", indicator_scores: "indicators" };

function say(text, kind = "error") {
  const box = $("status");
  box.textContent = text;
  box.className = "card " + kind;
  box.hidden = false;
}

function readSlip() {
  const params = new URLSearchParams(location.hash.slice(1));
  const slip = { version: params.get("v"), meeting: params.get("m"), group: params.get("g"), serial: params.get("s"), key: params.get("k") };
  if (slip.version !== "v1" || !slip.meeting || !slip.group || !slip.key) return null;
  history.replaceState(null, "", location.pathname); // the key leaves the address bar and history
  return slip;
}

async function problemText(response) {
  let problem = {};
  try { problem = await response.json(); } catch (_) { /* not JSON */ }
  const code = (problem.type || "").split("/").pop();
  return { code, detail: problem.detail || response.statusText, problem };
}

// --- drawing the ballot --------------------------------------------------------------

function rulesText(definition) {
  const lines = ["请为每位干部选择一项，或选择“弃权”。"];
  for (const cap of definition.validity.max_choice_share) {
    const label = choiceLabel(definition, cap.choice);
    lines.push(`“${label}”最多占本票未弃权人数的 ${percent(cap.share)}（全部评价时最多 ${cap.max_count_full_ballot} 人），超过则整张选票无效。`);
  }
  if (definition.group.form !== "grade_choice") lines.push(`分数为 0–${definition.scale} 的整数。`);
  return lines;
}

function percent(share) {
  const [n, d = "1"] = share.split("/");
  return `${(100 * Number(n)) / Number(d)}%`;
}

function choiceLabel(definition, code) {
  return (definition.choices.find((c) => c.code === code) || { label: code }).label;
}

function drawRow(definition, appraisee, marks) {
  const card = document.createElement("fieldset");
  card.className = "card";
  card.dataset.appraisee = appraisee.appraisee_id;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = appraisee.name;
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = `${appraisee.unit} · ${appraisee.position}`;
  card.append(who, meta);
  const options = document.createElement("div");
  options.className = "options";
  const press = (button) => {
    for (const b of options.querySelectorAll("button")) b.setAttribute("aria-pressed", String(b === button));
  };
  const option = (label, mark, extraClass = "") => {
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.className = extraClass;
    button.setAttribute("aria-pressed", "false");
    button.dataset.mark = mark;
    button.addEventListener("click", () => {
      marks.set(appraisee.appraisee_id, mark);
      press(button);
      $("warning").hidden = true;
    });
    options.append(button);
  };
  if (definition.group.form === "grade_choice") {
    for (const choice of definition.choices) option(choice.label, choice.code);
  } else {
    const items = definition.group.form === "dimension_scores" ? definition.dimensions : definition.indicators;
    for (const item of items) {
      const label = document.createElement("label");
      label.className = "score";
      label.textContent = item.label + (item.points ? `（${item.points} 分）` : "");
      const input = document.createElement("input");
      input.type = "number";
      input.inputMode = "numeric";
      input.min = "0";
      input.max = item.points || String(definition.scale);
      input.step = "1";
      input.dataset.code = item.code;
      input.addEventListener("input", () => { marks.set(appraisee.appraisee_id, "scores"); press(null); });
      label.append(input);
      card.append(label);
    }
  }
  option("弃权", "abstain", "abstain");
  card.append(options);
  return card;
}

// --- the ballot as the server expects it, and what would make it invalid -------------

function rows(definition, marks) {
  const field = FORM_FIELD[definition.group.form];
  return definition.appraisees.filter((a) => marks.has(a.appraisee_id)).map((a) => {
    const mark = marks.get(a.appraisee_id);
    if (mark === "abstain") return { appraisee_id: a.appraisee_id, abstain: true };
    if (field === "choice") return { appraisee_id: a.appraisee_id, choice: mark };
    const values = {};
    for (const input of document.querySelectorAll(`fieldset[data-appraisee="${a.appraisee_id}"] input`)) {
      if (input.value !== "") values[input.dataset.code] = Number(input.value);
    }
    return { appraisee_id: a.appraisee_id, [field]: values };
  });
}

// The same rules domain.ballots judges by, as the definition states them.
function problems(definition, marks, ballotRows) {
  const found = [];
  const missing = definition.appraisees.filter((a) => !marks.has(a.appraisee_id));
  if (missing.length) found.push(`还有 ${missing.length} 位未评价：${missing.map((a) => a.name).join("、")}。`);
  const marked = ballotRows.filter((r) => !r.abstain);
  for (const cap of definition.validity.max_choice_share) {
    const [n, d = "1"] = cap.share.split("/").map(BigInt);
    const allowed = (n * BigInt(marked.length)) / d; // floor, exactly as the server
    const count = BigInt(marked.filter((r) => r.choice === cap.choice).length);
    if (count > allowed) {
      found.push(`“${choiceLabel(definition, cap.choice)}”选了 ${count} 人，本票最多 ${allowed} 人（未弃权人数的 ${percent(cap.share)}）。超过则整张选票无效。`);
    }
  }
  for (const r of marked.filter((row) => row.choice === undefined)) {
    const values = r.scores || r.indicators;
    for (const input of document.querySelectorAll(`fieldset[data-appraisee="${r.appraisee_id}"] input`)) {
      const value = values[input.dataset.code];
      if (!Number.isInteger(value) || value < 0 || value > Number(input.max)) {
        const name = definition.appraisees.find((a) => a.appraisee_id === r.appraisee_id).name;
        found.push(`${name}：分数须为 0–${input.max} 的整数。`);
        break;
      }
    }
  }
  return found;
}

// --- casting -------------------------------------------------------------------------

async function cast(definition, signer, ballotRows) {
  $("submit").disabled = true;
  $("force").disabled = true;
  const command = {
    type: "ballot.cast",
    id: crypto.randomUUID(),
    // A credential ballot signs its meeting's opening, never the phone's clock (PRIVACY.md).
    issued_at: definition.opened_at,
    campaign_id: definition.campaign_id,
    meeting_id: definition.meeting_id,
    ballot_id: crypto.randomUUID(),
    group: definition.group.code,
    rows: ballotRows,
  };
  const envelope = await signer.seal(command);
  const response = await fetch("/api/v1/commands", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(envelope),
  });
  if (response.status !== 201) {
    const { code, detail, problem } = await problemText(response);
    $("submit").disabled = false;
    $("force").disabled = false;
    if (code === "wrong-state" && problem.ballot_id !== undefined) {
      $("ballot").hidden = true;
      return say("此凭证已经投过票，不能再次使用。每张凭证只能投一次。");
    }
    if (code === "wrong-state") return say("本次会议的投票已经结束，此凭证不能再使用。");
    if (code === "unknown-key" || code === "revoked-key") {
      return say("此凭证无效：未登记或已作废。请向工作人员询问。");
    }
    if (code === "wrong-role") return say("此凭证不属于本次会议的这一评议组别，不能投票。");
    return say(`选票未被接受：${detail}`);
  }
  showReceipt(await response.json());
}

async function showReceipt(answer) {
  $("ballot").hidden = true;
  $("warning").hidden = true;
  $("status").hidden = true;
  $("rules").hidden = true;
  const { receipt } = answer;
  $("receipt-ballot").textContent = answer.ballot_id;
  $("receipt-index").textContent = String(receipt.ledger_index);
  $("receipt-leaf").textContent = receipt.leaf_hash;
  const text = JSON.stringify(answer, null, 2);
  $("receipt-json").textContent = text;
  const file = new Blob([text], { type: "application/json" });
  $("receipt-download").href = URL.createObjectURL(file);
  $("receipt-download").download = `回执-${answer.ballot_id}.json`;
  $("receipt-qr").src = `/receipts/${answer.ballot_id}/qr.svg?min_position=${answer.position}`;
  $("receipt").hidden = false;
  const read = await fetch(`/api/v1/ballots/${answer.ballot_id}?min_position=${answer.position}`);
  if (read.ok) {
    const ballot = await read.json();
    $("receipt-status").textContent = ballot.status === "valid" ? "有效票" : `无效票（${ballot.reason}）`;
  }
  $("receipt").dataset.status = "shown";
}

// --- start ---------------------------------------------------------------------------

async function start() {
  if (!window.isSecureContext || !crypto.subtle) {
    return say("此页面需要安全连接（https 或本机地址）才能签名选票。");
  }
  const slip = readSlip();
  if (!slip) return say("没有读到投票凭证。请用手机扫描凭证上的二维码打开本页面。");
  let signer;
  try {
    signer = await credentialSigner(b64urlDecode(slip.key));
  } catch (_) {
    return say("凭证二维码已损坏，无法读取。请向工作人员询问。");
  }
  const response = await fetch(`/api/v1/meetings/${encodeURIComponent(slip.meeting)}/ballot?group=${encodeURIComponent(slip.group)}`);
  if (!response.ok) return say("找不到这次会议的选票。凭证可能不属于本系统。");
  const definition = await response.json();
  $("title").textContent = definition.campaign_title;
  $("subtitle").textContent = `${definition.group.label} · 凭证编号 ${slip.serial || "—"}`;
  if (!definition.open) return say("本次会议的投票已经结束。");
  $("rules").replaceChildren(...rulesText(definition).map((t) => Object.assign(document.createElement("p"), { textContent: t })));
  $("rules").hidden = false;
  const marks = new Map();
  $("rows").replaceChildren(...definition.appraisees.map((a) => drawRow(definition, a, marks)));
  $("ballot").hidden = false;
  $("ballot").addEventListener("submit", (event) => {
    event.preventDefault();
    const ballotRows = rows(definition, marks);
    const found = problems(definition, marks, ballotRows);
    if (found.length === 0) return cast(definition, signer, ballotRows);
    $("warning-text").textContent = "请注意：" + found.join(" ");
    $("force").hidden = ballotRows.length === 0;
    $("warning").hidden = false;
    $("warning").scrollIntoView();
  });
  $("fix").addEventListener("click", () => {
    $("warning").hidden = true;
    $("rows").scrollIntoView();
  });
  $("force").addEventListener("click", () => cast(definition, signer, rows(definition, marks)));
  $("status").hidden = true;
}

// Another slip opened in this tab changes only the fragment: start again from it.
window.addEventListener("hashchange", () => location.reload());
start().catch((error) => say(`页面出错：${error.message}`));
