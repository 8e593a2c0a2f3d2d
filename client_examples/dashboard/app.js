// The dashboard: settings, live tables fed by onJobsMoved (every move in groups, ends with whole jobs) and
// onBatchUpdated, submit and CSV upload,
// the server's totals, a page per batch (#batch=<id>), the queue and live charts.

import { downloadUrl, healthUrl, realtimeUrl } from "./endpoints.js";
import { Api, ON_BATCH_UPDATED, ON_JOBS_MOVED } from "./graphql.js";
import { Board, inView as inViewOf, newestFirst } from "./board.js";
import { csvRows, submitRows } from "./csv_rows.js";
import { Timeline } from "./metrics.js";
import { Pager } from "./paging.js";
import { paintBatchSummary, paintCharts, paintQueue, paintTotals } from "./panels.js";
import { RealtimeClient } from "./realtime.js";
import { parseRoute } from "./route.js";
import { fetchServed, forget, loadSettings, save } from "./settings.js";
import { paintBatch, paintDetail, paintFilters, paintJobRow, paintUpload } from "./views.js";

const MAX_JOBS = 2000; // jobs held (events and loaded pages); the oldest go first
const MAX_BATCHES = 50;
const PAGE = 200; // jobs per listJobs page
const COUNTS_EVERY_MS = 15_000; // re-read jobCounts: the events keep it live in between
const UNKNOWN_READ_MS = 400; // jobs named by a move but not held: read once the burst has passed
const HEALTH_EVERY_MS = 1000;
const $ = (sel) => document.querySelector(sel);

const board = new Board();
const { jobs, batches, counts, dirty } = board;
const rows = new Map(); // jobId -> <tr>
const items = new Map(); // batchId -> <li>
const uploads = []; // newest first
let filter = "ALL";
let route = parseRoute(location.hash); // { batchId }: a batch's page, or null for the overview
const queueTimeline = new Timeline(2000, 150); // queue depth samples
let queue = null; // the last /healthz reading, or null where there is none (AppSync)
const pager = new Pager((view, nextToken) => api.listJobs({ ...view, nextToken, limit: PAGE }));
let api = null;
let realtime = null;
let detailId = null;
let flushTimer = 0;
let reorder = false; // a full sort of the job rows is due
const unknownReads = new Set(); // batchIds (or null: the newest jobs) whose jobs a move named unseen
let unknownTimer = 0;

// ---- incoming records --------------------------------------------------------------------------

function upsertJob(job, options) {
  board.upsertJob(job, options);
  schedule();
}

/** A JobsMoved update: held rows move now; rows we never saw are read, one listJobs per batch. */
function applyMoves(moved) {
  const unknown = board.applyMoves(moved);
  schedule();
  if (!unknown.length) return;
  unknownReads.add(moved.batchId ?? null);
  if (!unknownTimer) unknownTimer = setTimeout(readUnknown, UNKNOWN_READ_MS);
}

async function readUnknown() {
  unknownTimer = 0;
  const keys = [...unknownReads];
  unknownReads.clear();
  for (const batchId of keys) {
    try {
      const page = await api.listJobs({ batchId, limit: PAGE });
      page.items.forEach((job) => upsertJob(job)); // a read: the move already counted them
    } catch (err) {
      showError(err);
    }
  }
}

function upsertBatch(batch) {
  board.upsertBatch(batch);
  schedule();
}

function inView(job) {
  return inViewOf(job, { filter, batchId: route.batchId });
}

// Events come in bursts (a batch of 500 completes at once): paint at most every 50 ms.
function schedule() {
  if (!flushTimer) flushTimer = setTimeout(flush, 50);
}

function flush() {
  flushTimer = 0;
  if (dirty.fresh.size) placeNewRows();
  if (reorder) reorderJobs();
  if (dirty.batchOrder) reorderBatches();
  for (const id of dirty.jobs) {
    const job = jobs.get(id);
    if (job) paintJobRow(rowFor(id), job, inView(job));
  }
  for (const id of dirty.batches) {
    const batch = batches.get(id);
    if (batch) paintBatch(itemFor(id), batch);
    if (id === route.batchId) paintBatchSummary($("#batch-summary"), batch);
  }
  if (detailId && dirty.jobs.has(detailId) && jobs.has(detailId)) {
    paintDetail($("#detail-fields"), jobs.get(detailId));
    $("#detail-cancel").hidden = jobs.get(detailId).status !== "QUEUED";
    $("#detail-retry").hidden = jobs.get(detailId).status !== "FAILED";
  }
  if (dirty.uploads) paintUploads();
  board.clearDirty();
  reorder = false;
  paintCounts();
}

function rowFor(id) {
  let tr = rows.get(id);
  if (!tr) {
    tr = document.createElement("tr");
    rows.set(id, tr);
  }
  return tr;
}

function itemFor(id) {
  let li = items.get(id);
  if (!li) {
    li = document.createElement("li");
    li.className = "batch";
    items.set(id, li);
  }
  return li;
}

/**
 * New jobs are nearly always the newest: put them on top and leave the other rows where they are
 * (moving thousands of rows per paint is what made a busy page fall behind). Older ones, from a
 * page of listJobs, or too many held, take the full sort.
 */
function placeNewRows() {
  const tbody = $("#jobs tbody");
  const top = jobs.get(tbody.firstElementChild?.dataset.jobId ?? "")?.submittedAt ?? "";
  const fresh = [...dirty.fresh].sort((a, b) => newestFirst(jobs.get(a).submittedAt, jobs.get(b).submittedAt));
  if (jobs.size > MAX_JOBS + PAGE || fresh.some((id) => jobs.get(id).submittedAt < top)) reorder = true;
  else tbody.prepend(...fresh.map(rowFor));
}

/** Newest first, and forget what falls off the end so a long session stays light. */
function reorderJobs() {
  const { ids, dropped } = board.sortedJobs(MAX_JOBS);
  for (const id of dropped) {
    rows.get(id)?.remove();
    rows.delete(id);
  }
  $("#jobs tbody").append(...ids.map(rowFor));
}

function reorderBatches() {
  const { ids, dropped } = board.sortedBatches(MAX_BATCHES);
  for (const id of dropped) {
    items.get(id)?.remove();
    items.delete(id);
  }
  $("#batches").append(...ids.map(itemFor));
}

function paintCounts() {
  paintTotals($("#totals"), counts.counts, filter, pickFilter);
  paintFilters($("#filters"), counts.counts, filter, pickFilter);
  let shown = 0;
  for (const job of jobs.values()) if (inView(job)) shown += 1;
  const anyHeld = jobs.size > 0;
  $("#jobs-empty").hidden = shown > 0;
  const where = route.batchId ? " in this batch" : "";
  $("#jobs-empty").textContent = anyHeld || route.batchId ? `No ${filter === "ALL" ? "" : filter.toLowerCase() + " "}jobs${where}.` : "No jobs yet: submit a payload.";
  $("#batches-empty").hidden = batches.size > 0;
  const total = route.batchId ? batches.get(route.batchId)?.jobCount : counts.counts?.[filter];
  $("#jobs-shown").textContent = shown ? `${shown.toLocaleString("en-US")}${total != null ? ` of ${total.toLocaleString("en-US")}` : ""} shown` : "";
  $("#jobs-more").hidden = pager.done || shown === 0;
}

function pickFilter(status) {
  filter = status;
  showView();
}

/** Repaint the table for the current view and read its first page from the server. */
function showView() {
  for (const [id, job] of jobs) paintJobRow(rowFor(id), job, inView(job));
  const batchId = route.batchId;
  $("#batch-page").hidden = !batchId;
  $(".layout").classList.toggle("on-batch", Boolean(batchId));
  $("#jobs-title").textContent = batchId ? "Jobs of this batch" : "Jobs";
  if (batchId) {
    $("#batch-page-id").textContent = batchId;
    $("#batch-page-msg").textContent = "";
    const local = !api || Boolean(healthUrl(api.graphqlUrl)); // the batch file routes are asyncml serve's
    $("#batch-page .downloads").hidden = !local;
    $("#batch-files-cloud").hidden = local;
    paintBatchSummary($("#batch-summary"), batches.get(batchId));
    api?.getBatch(batchId).then((b) => (b ? upsertBatch(b) : ($("#batch-summary").textContent = `No batch ${batchId} on this server.`)), showError);
  }
  paintCounts();
  if (api) loadPage(pager.reset({ status: filter === "ALL" ? null : filter, batchId }));
}

async function loadPage(pending) {
  try {
    const items = await pending;
    items?.forEach((job) => upsertJob(job));
    paintCounts();
  } catch (err) {
    showError(err);
  }
}

async function readCounts() {
  if (!api) return;
  try {
    counts.reset(await api.jobCounts());
    paintCounts();
  } catch (err) {
    showError(err);
  }
}

async function readHealth() {
  const url = api && healthUrl(api.graphqlUrl);
  if (!url) return;
  try {
    const h = await (await fetch(url, { cache: "no-store" })).json();
    queue = { depth: h.queueDepth, sealInSeconds: h.sealInSeconds, batchSize: h.batchSize, batchWindowSeconds: h.batchWindowSeconds, readAtMs: Date.now() };
  } catch {
    queue = null; // served elsewhere, or the server is away: the QUEUED total stands in
  }
}

function tick() {
  const now = Date.now();
  paintQueue({ depth: $("#queue-depth"), seal: $("#queue-seal"), rule: $("#queue-rule") }, queue, counts.counts, now);
}

function paintChartsNow() {
  const now = Date.now();
  const depth = counts.counts?.QUEUED ?? queue?.depth;
  if (depth != null) queueTimeline.sample(now, depth);
  const recent = [...batches.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)).slice(-30);
  const svgs = { throughput: $("#chart-throughput"), latency: $("#chart-latency"), queue: $("#chart-queue"), batches: $("#chart-batches") };
  paintCharts(svgs, board.done, queueTimeline, recent.map((b) => b.jobCount), now);
}

// ---- connection ---------------------------------------------------------------------------------

function start(settings) {
  realtime?.close();
  api = new Api(settings);
  $("#realtime-url").textContent = realtimeUrl(settings.graphqlUrl);
  realtime = new RealtimeClient({ ...settings, onState: paintConnection });
  realtime.subscribe({
    query: ON_JOBS_MOVED,
    onData: (p) => p.data?.onJobsMoved && applyMoves(p.data.onJobsMoved),
    onError: (errors) => showError(`onJobsMoved refused: ${errors[0]?.message}`),
  });
  realtime.subscribe({
    query: ON_BATCH_UPDATED,
    onData: (p) => p.data?.onBatchUpdated && upsertBatch(p.data.onBatchUpdated),
    onError: (errors) => showError(`onBatchUpdated refused: ${errors[0]?.message}`),
  });
  realtime.connect();
}

/**
 * Subscribed first, then listed: anything that moved while we were away (or before the page opened)
 * comes from the lists, anything after from the events; merging keeps the furthest status.
 */
async function fillFromLists() {
  try {
    const batchList = await api.listBatches();
    batchList.forEach(upsertBatch);
  } catch (err) {
    showError(err);
  }
  readCounts();
  showView();
}

function paintConnection(state, detail) {
  const text = {
    connecting: "Connecting…",
    subscribing: "Subscribing…",
    live: "Live",
    retrying: `Disconnected (${detail.error}) · retrying in ${Math.ceil((detail.delayMs ?? 0) / 1000)} s`,
    closed: "Not connected",
  }[state];
  $("#conn").dataset.state = state;
  $("#conn-text").textContent = text;
  $("#reconnect").hidden = state !== "retrying";
  if (state === "live") fillFromLists();
}

function showError(err) {
  const msg = err?.message ?? String(err);
  $("#submit-msg").textContent = msg;
  $("#submit-msg").className = "msg error";
}

// ---- user actions -------------------------------------------------------------------------------

async function onSubmit(ev) {
  ev.preventDefault();
  const input = $("#payload");
  const msg = $("#submit-msg");
  try {
    const job = await api.submitJob(input.value);
    upsertJob(job, { live: true });
    msg.textContent = `Submitted job ${job.jobId.slice(0, 8)}`;
    msg.className = "msg ok";
    input.value = "";
  } catch (err) {
    showError(err);
  }
}

async function onUpload(ev) {
  ev.preventDefault();
  const file = $("#csv-file").files[0];
  if (!file) return;
  const rowsOfFile = csvRows(await file.text(), { skipHeader: $("#skip-header").checked });
  const upload = { name: file.name, total: rowsOfFile.length, accepted: 0, refused: [], statuses: new Map(), sending: true };
  uploads.unshift(upload);
  paintUploads();
  const submitChunk = async (payloads) => {
    const jobList = await api.submitJobs(payloads);
    for (const job of jobList) {
      board.uploadOf.set(job.jobId, upload);
      upload.statuses.set(job.jobId, job.status);
      upsertJob(job, { live: true });
    }
    return jobList;
  };
  const { accepted, refused } = await submitRows(rowsOfFile, submitChunk, {
    onProgress: (p) => {
      upload.accepted = p.accepted;
      paintUploads();
    },
  });
  Object.assign(upload, { accepted: accepted.length, refused, sending: false });
  readCounts();
  $("#upload-form").reset();
  paintUploads();
}

function paintUploads() {
  const box = $("#uploads");
  box.replaceChildren(
    ...uploads.slice(0, 5).map((u) => {
      const div = document.createElement("div");
      paintUpload(div, u);
      return div;
    }),
  );
}

function openDetail(jobId) {
  detailId = jobId;
  const job = jobs.get(jobId);
  paintDetail($("#detail-fields"), job);
  $("#detail-cancel").hidden = job.status !== "QUEUED";
  $("#detail-retry").hidden = job.status !== "FAILED";
  $("#detail-msg").textContent = "";
  $("#detail").showModal();
}

async function retryOpenJob() {
  try {
    const [job] = await api.retryJobs([detailId]);
    upsertJob(job);
    $("#detail-retry").hidden = true;
    $("#detail-msg").textContent = `Queued again: attempt ${job.attempt}`;
  } catch (err) {
    $("#detail-msg").textContent = err.message;
  }
}

async function cancelOpenJob() {
  try {
    upsertJob(await api.cancelJob(detailId), { live: true });
    $("#detail-cancel").hidden = true;
  } catch (err) {
    $("#detail-msg").textContent = err.message;
  }
}

async function onSearch(ev) {
  ev.preventDefault();
  const jobId = $("#job-search").value.trim();
  const msg = $("#search-msg");
  msg.textContent = "";
  msg.className = "msg";
  if (!jobId) return;
  try {
    const job = jobs.get(jobId) ?? (await api.getJob(jobId));
    if (!job) {
      msg.textContent = `No job ${jobId} on this server.`;
      msg.className = "msg error";
      return;
    }
    upsertJob(job);
    openDetail(jobId);
  } catch (err) {
    msg.textContent = err.message;
    msg.className = "msg error";
  }
}

async function onDownload(kind) {
  const msg = $("#batch-page-msg");
  msg.textContent = "";
  try {
    const { name, blob } = await api.download(downloadUrl(api.graphqlUrl, route.batchId, kind));
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  } catch (err) {
    msg.textContent = err.message;
    msg.className = "msg error";
  }
}

function toggleSettings(open = $("#settings").hidden) {
  $("#settings").hidden = !open;
  $("#settings-toggle").setAttribute("aria-expanded", String(open));
}

function fillSettingsForm(settings) {
  const form = $("#settings-form");
  form.graphqlUrl.value = settings?.graphqlUrl ?? "";
  form.apiKey.value = settings?.apiKey ?? "";
  if (settings?.graphqlUrl) $("#realtime-url").textContent = realtimeUrl(settings.graphqlUrl);
}

function bindUi() {
  $("#submit-form").addEventListener("submit", onSubmit);
  $("#upload-form").addEventListener("submit", onUpload);
  $("#settings-toggle").addEventListener("click", () => toggleSettings());
  $("#reconnect").addEventListener("click", () => realtime?.reconnectNow());
  window.addEventListener("online", () => realtime?.reconnectNow());
  $("#settings-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const settings = { graphqlUrl: form.graphqlUrl.value.trim(), apiKey: form.apiKey.value.trim(), source: "user" };
    save(settings);
    toggleSettings(false);
    start(settings);
  });
  $("#settings-form").graphqlUrl.addEventListener("input", (ev) => {
    try {
      $("#realtime-url").textContent = realtimeUrl(ev.target.value);
    } catch {
      $("#realtime-url").textContent = "—";
    }
  });
  $("#settings-reset").addEventListener("click", async () => {
    forget();
    const served = await fetchServed();
    if (!served) {
      $("#settings-note").textContent = "This page is not served by asyncml serve: enter the URL and key.";
      return;
    }
    // The server names its URL, never its key: keep the key typed in, if any.
    const settings = { ...served, apiKey: served.apiKey || $("#settings-form").apiKey.value.trim() };
    fillSettingsForm(settings);
    if (!settings.apiKey) return askForKey();
    save({ ...settings, source: "user" });
    toggleSettings(false);
    start(settings);
  });
  $("#jobs tbody").addEventListener("click", (ev) => {
    if (ev.target.closest("a")) return; // the batch link goes to the batch's page instead
    const tr = ev.target.closest("tr[data-job-id]");
    if (tr) openDetail(tr.dataset.jobId);
  });
  $("#jobs tbody").addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-job-id]");
    if (tr && ev.key === "Enter") openDetail(tr.dataset.jobId);
  });
  $("#detail").addEventListener("close", () => (detailId = null));
  $("#search-form").addEventListener("submit", onSearch);
  $("#jobs-more").addEventListener("click", () => loadPage(pager.more()));
  for (const b of document.querySelectorAll("[data-download]")) b.addEventListener("click", () => onDownload(b.dataset.download));
  for (const b of document.querySelectorAll("[data-jump]")) {
    b.addEventListener("click", () => document.getElementById(b.dataset.jump).scrollIntoView({ block: "start" }));
  }
  window.addEventListener("hashchange", () => {
    const next = parseRoute(location.hash);
    if (next.batchId === route.batchId) return;
    route = next;
    showView();
    window.scrollTo(0, 0);
  });
  $("#detail-cancel").addEventListener("click", cancelOpenJob);
  $("#detail-retry").addEventListener("click", retryOpenJob);
}

async function main() {
  bindUi();
  paintCounts();
  tick();
  setInterval(tick, 200);
  setInterval(readCounts, COUNTS_EVERY_MS);
  setInterval(readHealth, HEALTH_EVERY_MS);
  setInterval(paintChartsNow, 1000);
  paintChartsNow();
  const settings = await loadSettings();
  fillSettingsForm(settings);
  if (!settings?.graphqlUrl || !settings?.apiKey) {
    paintConnection("closed", {});
    if (settings?.graphqlUrl) askForKey();
    toggleSettings(true);
    return;
  }
  start(settings);
}

/** Served by asyncml but no key yet: say where the key is (the server never hands it out). */
function askForKey() {
  $("#settings-note").textContent =
    "Enter the API key. asyncml serve printed it in its terminal, with a dashboard link that fills it in " +
    "(open that link); it is also kept in .asyncml/api_key (or api_key in your --data-dir).";
  toggleSettings(true);
  $("#settings-form").apiKey.focus();
}

main();
