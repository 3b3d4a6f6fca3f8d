// The operator panel: the stand-ins' faults as switches, and the jobs as they move through
// their states (read from the project's database by the sandbox), so one can watch a failure
// become a refund and a plain message in the chat beside it.

import { call, WEBCHAT } from "./api.js";

const $ = (id) => document.getElementById(id);
const SERVICES = { telegram: "Telegram", kie: "KIE.AI", openai: "OpenAI" };
const STAGES = ["created", "enhancing", "generating", "downloading", "delivering", "done"];
const STAGE_NAMES = { created: "queued", enhancing: "script", generating: "filming", downloading: "fetching",
                      delivering: "sending", done: "done", failed: "failed" };
const FAULTS_EVERY_MS = 2000;
const JOBS_EVERY_MS = 1000;
const seenStatus = new Map();

function every(ms, task) {
  const tick = async () => {
    if (!document.hidden) {
      try { await task(); } catch { /* shown by the task; try again at the next tick */ }
    }
    setTimeout(tick, ms);
  };
  tick();
}

function showError(text) {
  $("faults-error").hidden = !text;
  $("faults-error").textContent = text || "";
}

function drawFaults(view) {
  const box = $("faults");
  for (const preset of view.presets) {
    let row = box.querySelector(`[data-preset="${preset.key}"]`);
    if (!row) {
      let group = box.querySelector(`[data-service="${preset.service}"]`);
      if (!group) {
        group = document.createElement("div");
        group.className = "fault-group";
        group.dataset.service = preset.service;
        group.innerHTML = `<h3></h3>`;
        group.querySelector("h3").textContent = SERVICES[preset.service];
        box.append(group);
      }
      row = document.createElement("label");
      row.className = "fault";
      row.dataset.preset = preset.key;
      row.innerHTML = `<input type="checkbox" role="switch"><span class="switch" aria-hidden="true"></span>
        <span class="fault-text"><span class="fault-label"></span><span class="fault-hint"></span></span>`;
      row.querySelector("input").dataset.testid = `fault-${preset.key}`;
      row.querySelector(".fault-label").textContent = preset.label;
      row.querySelector(".fault-hint").textContent = preset.hint;
      row.querySelector("input").addEventListener("change", (event) => flip(preset.key, event.target));
      group.append(row);
    }
    const checkbox = row.querySelector("input");
    if (!checkbox.dataset.busy) checkbox.checked = preset.on;
    checkbox.disabled = !preset.available;
    row.classList.toggle("on", preset.on);
    row.title = preset.available ? "" : `The ${SERVICES[preset.service]} stand-in is not connected to this page`;
  }
  box.dataset.loaded = "true";
}

async function flip(key, checkbox) {
  checkbox.dataset.busy = "true";
  try {
    drawFaults(await call("POST", `${WEBCHAT}/faults`, { preset: key, on: checkbox.checked }));
    showError("");
  } catch (error) {
    checkbox.checked = !checkbox.checked;
    showError(error.message);
  } finally {
    delete checkbox.dataset.busy;
    checkbox.closest(".fault").dataset.confirmed = String(checkbox.checked);
  }
}

function ago(iso) {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

function stepper(job) {
  const box = document.createElement("div");
  box.className = "steps";
  const reached = STAGES.filter((stage) => job.stages[stage]);
  for (const stage of STAGES) {
    const step = document.createElement("span");
    const current = job.status === stage;
    step.className = `step${job.stages[stage] ? " reached" : ""}${current && stage !== "done" ? " current" : ""}`;
    const at = job.stages[stage] ? ` · ${new Date(job.stages[stage]).toLocaleTimeString()}` : "";
    step.title = `${STAGE_NAMES[stage]}${at}`;
    box.append(step);
  }
  if (job.status === "failed") box.classList.add("failed");
  box.dataset.reached = reached.length;
  return box;
}

function drawJob(job) {
  const row = document.createElement("div");
  row.className = `job status-${job.status}`;
  row.dataset.testid = "job";
  row.dataset.status = job.status;
  row.dataset.jobId = job.id;
  const head = document.createElement("div");
  head.className = "job-head";
  head.innerHTML = `<code class="job-id"></code><span class="job-info"></span><span class="pill"></span>`;
  head.querySelector(".job-id").textContent = job.id.slice(0, 8);
  head.querySelector(".job-info").textContent = job.product_info || "—";
  head.querySelector(".pill").textContent = STAGE_NAMES[job.status] || job.status;
  const foot = document.createElement("div");
  foot.className = "job-foot";
  const notes = [`seller ${job.user_id}`, ago(job.updated_at)];
  if (job.error_class) notes.push(job.error_class);
  foot.textContent = notes.join(" · ");
  if (job.refunded) {
    const refund = document.createElement("span");
    refund.className = "refund";
    refund.dataset.testid = "refunded";
    refund.textContent = "↩ credit back";
    foot.append(" ", refund);
  }
  row.append(head, stepper(job), foot);
  if (seenStatus.has(job.id) && seenStatus.get(job.id) !== job.status) row.classList.add("flash");
  seenStatus.set(job.id, job.status);
  return row;
}

async function refreshJobs(getSeller) {
  const seller = getSeller();
  const mineOnly = $("mine-only").checked;
  const query = mineOnly && seller ? `?user_id=${seller.id}` : "";
  const feed = await call("GET", `${WEBCHAT}/jobs${query}`);
  const box = $("jobs");
  if (!feed.enabled) {
    box.innerHTML = `<p class="muted">Job states show when the sandbox runs with the project's settings
      (<code>make run</code> or <code>neurocards sandbox</code>).</p>`;
    return;
  }
  $("balance").textContent = mineOnly && feed.balance !== null ? `Balance: ${feed.balance} cr.` : "";
  if (feed.error) {
    box.innerHTML = `<p class="muted"></p>`;
    box.firstChild.textContent = `Cannot read the jobs: ${feed.error}`;
    return;
  }
  if (!feed.jobs.length) {
    box.innerHTML = `<p class="muted">No jobs yet: send a photo with a caption.</p>`;
    return;
  }
  box.replaceChildren(...feed.jobs.map(drawJob));
}

/** Start refreshing the panel; ``getSeller`` says whose jobs "this seller" means. */
export function startPanel(getSeller) {
  every(FAULTS_EVERY_MS, async () => {
    try { drawFaults(await call("GET", `${WEBCHAT}/faults`)); } catch (error) { showError(error.message); throw error; }
  });
  every(JOBS_EVERY_MS, () => refreshJobs(getSeller));
  $("mine-only").addEventListener("change", () => refreshJobs(getSeller));
  $("clear-faults").addEventListener("click", async () => {
    try {
      drawFaults(await call("DELETE", `${WEBCHAT}/faults`));
      showError("");
    } catch (error) {
      showError(error.message);
    }
  });
}
