// Painting of the server-wide figures: totals per status, the queue and its countdown, a batch's page.

import { barChart, lineChart } from "./charts.js";
import { fromFirstData, trailingMean } from "./metrics.js";
import { badge } from "./views.js";
import { JOB_STATUSES, clockTime } from "./state.js";

const fmt = new Intl.NumberFormat("en-US");

/** One tile per status with the server's count; a tile is also the status filter. */
export function paintTotals(box, counts, filter, onPick) {
  if (!box.firstChild) {
    for (const status of ["ALL", ...JOB_STATUSES]) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "tile";
      b.dataset.status = status;
      b.innerHTML = '<span class="n"></span><span class="label"></span>';
      b.querySelector(".label").textContent = status === "ALL" ? "all jobs" : status.toLowerCase();
      b.addEventListener("click", () => onPick(status));
      box.append(b);
    }
  }
  for (const b of box.children) {
    b.setAttribute("aria-pressed", String(b.dataset.status === filter));
    b.querySelector(".n").textContent = counts ? fmt.format(counts[b.dataset.status] ?? 0) : "…";
  }
}

/**
 * "12 waiting · next batch seals in 0.8 s". The QUEUED total (live by the events) is the depth; the
 * countdown comes from /healthz, read each second, where there is one.
 */
export function paintQueue(els, queue, counts, nowMs) {
  const depth = counts?.QUEUED ?? queue?.depth;
  els.depth.textContent = depth == null ? "…" : `${fmt.format(depth)} waiting`;
  if (!queue) {
    els.seal.textContent = "";
    els.rule.textContent = "sealed by the stream's batch size and window";
    return;
  }
  const left = queue.sealInSeconds == null ? null : Math.max(0, queue.sealInSeconds - (nowMs - queue.readAtMs) / 1000);
  const pending = depth !== 0 && left != null;
  els.seal.textContent = !pending ? "no batch pending" : left > 0 ? `next batch seals in ${left.toFixed(1)} s` : "sealing now";
  els.seal.dataset.pending = String(pending);
  els.rule.textContent = `batches of up to ${fmt.format(queue.batchSize)} jobs, or after ${queue.batchWindowSeconds} s`;
}

/** The head of a batch's page: status, bar, counts as they move, times, and its error. */
export function paintBatchSummary(box, batch) {
  box.replaceChildren();
  if (!batch) {
    box.textContent = "Loading…";
    return;
  }
  const total = batch.jobCount || 0;
  const done = batch.completedCount + batch.failedCount;
  const head = document.createElement("div");
  head.className = "batch-head";
  const fraction = document.createElement("span");
  fraction.className = "fraction";
  fraction.textContent = `${done}/${total}`;
  head.append(badge(batch.status), fraction);
  const bar = document.createElement("div");
  bar.className = "bar big";
  for (const [cls, n] of [["ok", batch.completedCount], ["bad", batch.failedCount]]) {
    const s = document.createElement("span");
    s.className = cls;
    s.style.width = total ? `${(100 * n) / total}%` : "0%";
    bar.append(s);
  }
  const counts = document.createElement("div");
  counts.className = "counts";
  counts.textContent = `${batch.completedCount} completed · ${batch.failedCount} failed · ${total - done} to go · ${total} total`;
  const times = document.createElement("div");
  times.className = "counts";
  times.textContent = `created ${clockTime(batch.createdAt)} · updated ${clockTime(batch.updatedAt)} · ${batch.transformJobName ?? "no transform job yet"}`;
  box.append(head, bar, counts, times);
  if (batch.error) {
    const p = document.createElement("p");
    p.className = "error";
    p.textContent = batch.error;
    box.append(p);
  }
}

/** The four charts from the timelines and the recent batches. */
export function paintCharts(svgs, done, queue, batchSizes, nowMs) {
  const d = fromFirstData(done.series(nowMs));
  lineChart(svgs.throughput, [{ values: trailingMean(d.map((b) => b.rate), 5), cls: "k-rate" }], "jobs/s");
  lineChart(svgs.latency, [
    { values: d.map((b) => (b.p50 == null ? null : b.p50 / 1000)), cls: "k-p50" },
    { values: d.map((b) => (b.p95 == null ? null : b.p95 / 1000)), cls: "k-p95" },
  ], "s");
  lineChart(svgs.queue, [{ values: fromFirstData(queue.series(nowMs)).map((b) => b.last), cls: "k-queue" }], "jobs");
  barChart(svgs.batches, batchSizes, "jobs");
}
