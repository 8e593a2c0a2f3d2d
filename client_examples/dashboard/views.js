// DOM painting: each function updates elements in place from a record, so live events cost little.

import { batchHref } from "./route.js";
import { JOB_STATUSES, clockTime, failureReason, outcome, shortBatchId, shortId, timeToComplete } from "./state.js";

const el = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text; // textContent: payloads and results are never HTML
  return node;
};

export function badge(status) {
  const b = el("span", "badge", status);
  b.dataset.status = status;
  return b;
}

/** One job row; created once, repainted on every update. On a phone the row is laid out as a card. */
export function paintJobRow(tr, job, visible) {
  if (!tr.firstChild) {
    tr.tabIndex = 0;
    const batchLink = el("a", "batch-link");
    const batchCell = el("td", "mono col-batch");
    batchCell.append(batchLink);
    tr.append(el("td", "mono id"), el("td", "status"), batchCell, el("td", "col-submitted"), el("td", "num ttc"), el("td", "outcome"));
  }
  const [id, status, batch, submitted, ttc, out] = tr.children;
  tr.dataset.jobId = job.jobId;
  tr.dataset.status = job.status;
  tr.hidden = !visible;
  id.textContent = shortId(job.jobId);
  id.title = job.jobId;
  if (status.textContent !== job.status) status.replaceChildren(badge(job.status));
  const link = batch.firstChild;
  link.textContent = job.batchId ? shortBatchId(job.batchId) : "—";
  link.title = job.batchId ? `batch ${job.batchId}` : "";
  if (job.batchId) link.href = batchHref(job.batchId);
  else link.removeAttribute("href");
  submitted.textContent = clockTime(job.submittedAt);
  ttc.textContent = timeToComplete(job);
  out.textContent = outcome(job);
  out.title = job.error ?? outcome(job);
  out.classList.toggle("error", Boolean(job.error));
}

export function paintFilters(container, counts, filter, onPick) {
  if (!container.firstChild) {
    for (const status of ["ALL", ...JOB_STATUSES]) {
      const b = el("button", "chip");
      b.type = "button";
      b.dataset.status = status;
      b.addEventListener("click", () => onPick(status));
      b.append(el("span", "label", status === "ALL" ? "All" : status.toLowerCase()), el("span", "count"));
      container.append(b);
    }
  }
  for (const b of container.children) {
    const s = b.dataset.status;
    b.setAttribute("aria-pressed", String(s === filter));
    b.querySelector(".count").textContent = counts ? (counts[s] ?? 0).toLocaleString("en-US") : "…";
  }
}

/** One batch: status, a two-colour progress bar, and completed / failed / total. */
export function paintBatch(li, batch) {
  if (!li.firstChild) {
    const head = el("div", "batch-head");
    head.append(el("a", "mono id"), el("span", "status"), el("span", "fraction"));
    const bar = el("div", "bar");
    bar.append(el("span", "ok"), el("span", "bad"));
    li.append(head, bar, el("div", "counts"), el("p", "error"));
  }
  const total = batch.jobCount || 0;
  const done = batch.completedCount + batch.failedCount;
  li.dataset.batchId = batch.batchId;
  li.dataset.status = batch.status;
  const id = li.querySelector(".id");
  id.textContent = shortBatchId(batch.batchId);
  id.href = batchHref(batch.batchId);
  id.title = `${batch.batchId} · created ${clockTime(batch.createdAt)}`;
  const status = li.querySelector(".status");
  if (status.textContent !== batch.status) status.replaceChildren(badge(batch.status));
  li.querySelector(".fraction").textContent = `${done}/${total}`;
  const pct = (n) => (total ? `${(100 * n) / total}%` : "0%");
  li.querySelector(".bar .ok").style.width = pct(batch.completedCount);
  li.querySelector(".bar .bad").style.width = pct(batch.failedCount);
  li.querySelector(".counts").textContent =
    `${batch.completedCount} completed · ${batch.failedCount} failed · ${total} total`;
  li.querySelector(".error").textContent = batch.error ?? "";
}

/** An uploaded file: how its rows went in, how its jobs are doing, and every refused row with why. */
export function paintUpload(box, upload) {
  box.replaceChildren();
  box.className = "upload";
  const counts = { COMPLETED: 0, FAILED: 0 };
  for (const s of upload.statuses.values()) counts[s] = (counts[s] ?? 0) + 1;
  const sent = upload.accepted;
  const head = el("div", "batch-head");
  head.append(el("strong", "name", upload.name), el("span", "fraction", `${counts.COMPLETED + counts.FAILED}/${sent}`));
  const bar = el("div", "bar");
  const ok = el("span", "ok");
  const bad = el("span", "bad");
  ok.style.width = sent ? `${(100 * counts.COMPLETED) / sent}%` : "0%";
  bad.style.width = sent ? `${(100 * counts.FAILED) / sent}%` : "0%";
  bar.append(ok, bad);
  const phase = upload.sending ? `sending… ${sent + upload.refused.length} of ${upload.total} rows` : `${upload.total} rows`;
  const summary = el(
    "div",
    "counts",
    `${phase} · ${sent} accepted · ${upload.refused.length} refused · ${counts.COMPLETED} completed · ${counts.FAILED} failed`,
  );
  box.append(head, bar, summary);
  if (upload.refused.length) {
    const table = el("table", "refused");
    const caption = el("caption", "", "Refused rows (not submitted)");
    const thead = el("thead");
    const hr = el("tr");
    hr.append(el("th", "num", "Line"), el("th", "", "Row"), el("th", "", "Why"));
    thead.append(hr);
    const tbody = el("tbody");
    for (const r of upload.refused.slice(0, 100)) {
      const tr = el("tr");
      tr.append(el("td", "num", String(r.line)), el("td", "mono", r.payload), el("td", "error", r.error));
      tbody.append(tr);
    }
    table.append(caption, thead, tbody);
    box.append(table);
    if (upload.refused.length > 100) box.append(el("p", "hint", `and ${upload.refused.length - 100} more`));
  }
}

export function paintDetail(dl, job) {
  const fields = [
    ["Job ID", job.jobId, "mono"],
    ["Status", badge(job.status)],
    ["Payload", job.payload, "mono pre"],
    ["Result", job.result ?? "—", "mono pre"],
    ["Error", job.error ? failureReason(job.error).reason : "—", job.error ? "error pre" : ""],
    ["Where", failureReason(job.error).where || "—", "mono"],
    ["Batch", job.batchId ?? "—", "mono"],
    ["Transform job", job.transformJobName ?? "—", "mono"],
    ["Submitted", job.submittedAt ? new Date(job.submittedAt).toLocaleString() : "—"],
    ["Updated", job.updatedAt ? new Date(job.updatedAt).toLocaleString() : "—"],
    ["Completed", job.completedAt ? new Date(job.completedAt).toLocaleString() : "—"],
    ["Time to complete", timeToComplete(job) || "—"],
    ["Metadata", job.metadata ?? "—", "mono pre"],
  ];
  dl.replaceChildren();
  for (const [name, value, cls] of fields) {
    const dd = el("dd", cls);
    if (value instanceof Node) dd.append(value);
    else dd.textContent = value;
    dl.append(el("dt", "", name), dd);
  }
}
