// The dashboard: settings, live tables fed by onJobUpdated / onBatchUpdated, submit and CSV upload.

import { realtimeUrl } from "./endpoints.js";
import { Api, ON_BATCH_UPDATED, ON_JOB_UPDATED } from "./graphql.js";
import { csvRows, submitRows } from "./csv_rows.js";
import { RealtimeClient } from "./realtime.js";
import { fetchServed, forget, loadSettings, save } from "./settings.js";
import { mergeBatch, mergeJob } from "./state.js";
import { paintBatch, paintDetail, paintFilters, paintJobRow, paintUpload } from "./views.js";

const MAX_JOBS = 2000; // rows kept in the table; the oldest go first
const MAX_BATCHES = 50;
const $ = (sel) => document.querySelector(sel);

const jobs = new Map(); // jobId -> job
const batches = new Map(); // batchId -> batch
const rows = new Map(); // jobId -> <tr>
const items = new Map(); // batchId -> <li>
const uploads = []; // newest first
const uploadOf = new Map(); // jobId -> upload it came from
const dirty = { jobs: new Set(), batches: new Set(), order: false, uploads: false };
let filter = "ALL";
let api = null;
let realtime = null;
let detailId = null;
let flushTimer = 0;

// ---- incoming records --------------------------------------------------------------------------

function upsertJob(job) {
  const merged = mergeJob(jobs.get(job.jobId), job);
  if (!jobs.has(job.jobId)) dirty.order = true;
  jobs.set(job.jobId, merged);
  dirty.jobs.add(job.jobId);
  const upload = uploadOf.get(job.jobId);
  if (upload) {
    upload.statuses.set(job.jobId, merged.status);
    dirty.uploads = true;
  }
  schedule();
}

function upsertBatch(batch) {
  if (!batches.has(batch.batchId)) dirty.order = true;
  batches.set(batch.batchId, mergeBatch(batches.get(batch.batchId), batch));
  dirty.batches.add(batch.batchId);
  schedule();
}

// Events come in bursts (a batch of 500 completes at once): paint at most every 50 ms.
function schedule() {
  if (!flushTimer) flushTimer = setTimeout(flush, 50);
}

function flush() {
  flushTimer = 0;
  if (dirty.order) reorder();
  for (const id of dirty.jobs) {
    const job = jobs.get(id);
    if (job) paintJobRow(rowFor(id), job, filter);
  }
  for (const id of dirty.batches) {
    const batch = batches.get(id);
    if (batch) paintBatch(itemFor(id), batch);
  }
  if (detailId && dirty.jobs.has(detailId) && jobs.has(detailId)) {
    paintDetail($("#detail-fields"), jobs.get(detailId));
    $("#detail-cancel").hidden = jobs.get(detailId).status !== "QUEUED";
    $("#detail-retry").hidden = jobs.get(detailId).status !== "FAILED";
  }
  if (dirty.uploads) paintUploads();
  dirty.jobs.clear();
  dirty.batches.clear();
  dirty.order = dirty.uploads = false;
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

/** Newest first, and forget what falls off the end so a long session stays light. */
function reorder() {
  const newestFirst = (a, b) => (a < b ? 1 : a > b ? -1 : 0);
  const jobIds = [...jobs.keys()].sort((a, b) => newestFirst(jobs.get(a).submittedAt, jobs.get(b).submittedAt));
  for (const id of jobIds.splice(MAX_JOBS)) {
    jobs.delete(id);
    rows.get(id)?.remove();
    rows.delete(id);
  }
  $("#jobs tbody").append(...jobIds.map(rowFor));
  const batchIds = [...batches.keys()].sort((a, b) => newestFirst(batches.get(a).createdAt, batches.get(b).createdAt));
  for (const id of batchIds.splice(MAX_BATCHES)) {
    batches.delete(id);
    items.get(id)?.remove();
    items.delete(id);
  }
  $("#batches").append(...batchIds.map(itemFor));
}

function paintCounts() {
  const counts = { ALL: jobs.size };
  for (const job of jobs.values()) counts[job.status] = (counts[job.status] ?? 0) + 1;
  paintFilters($("#filters"), counts, filter, pickFilter);
  const shown = filter === "ALL" ? jobs.size : (counts[filter] ?? 0);
  $("#jobs-empty").hidden = shown > 0;
  $("#jobs-empty").textContent = jobs.size ? `No ${filter.toLowerCase()} jobs.` : "No jobs yet: submit a payload.";
  $("#batches-empty").hidden = batches.size > 0;
}

function pickFilter(status) {
  filter = status;
  for (const [id, job] of jobs) paintJobRow(rowFor(id), job, filter);
  paintCounts();
  // The table holds the newest jobs; ask the server for older ones of this status too.
  if (api && status !== "ALL") api.listJobs({ status }).then((list) => list.forEach(upsertJob), showError);
}

// ---- connection ---------------------------------------------------------------------------------

function start(settings) {
  realtime?.close();
  api = new Api(settings);
  $("#realtime-url").textContent = realtimeUrl(settings.graphqlUrl);
  realtime = new RealtimeClient({ ...settings, onState: paintConnection });
  realtime.subscribe({
    query: ON_JOB_UPDATED,
    onData: (p) => p.data?.onJobUpdated && upsertJob(p.data.onJobUpdated),
    onError: (errors) => showError(`onJobUpdated refused: ${errors[0]?.message}`),
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
    const [jobList, batchList] = await Promise.all([
      api.listJobs({ status: filter === "ALL" ? null : filter }),
      api.listBatches(),
    ]);
    jobList.forEach(upsertJob);
    batchList.forEach(upsertBatch);
  } catch (err) {
    showError(err);
  }
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
    upsertJob(job);
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
      uploadOf.set(job.jobId, upload);
      upload.statuses.set(job.jobId, job.status);
      upsertJob(job);
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
    upsertJob(await api.cancelJob(detailId));
    $("#detail-cancel").hidden = true;
  } catch (err) {
    $("#detail-msg").textContent = err.message;
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
    const tr = ev.target.closest("tr[data-job-id]");
    if (tr) openDetail(tr.dataset.jobId);
  });
  $("#jobs tbody").addEventListener("keydown", (ev) => {
    const tr = ev.target.closest("tr[data-job-id]");
    if (tr && ev.key === "Enter") openDetail(tr.dataset.jobId);
  });
  $("#detail").addEventListener("close", () => (detailId = null));
  $("#detail-cancel").addEventListener("click", cancelOpenJob);
  $("#detail-retry").addEventListener("click", retryOpenJob);
}

async function main() {
  bindUi();
  paintCounts();
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
