// The web chat: who the seller is, the live stream of the chat, and the composer (text, a photo
// with a caption, a document, the bot's command menu, sample product photos).

import * as api from "./api.js";
import { upsertMessage } from "./render.js";
import { startPanel } from "./panel.js";
import { pickSeller, currentSeller, sellerLabel } from "./seller.js";

const $ = (id) => document.getElementById(id);
const messages = $("messages");
const input = $("input");
const ACTIONS = { typing: "typing…", upload_video: "sending a video…", record_video: "recording a video…",
                  upload_photo: "sending a photo…", upload_document: "sending a file…" };
let seller = null;
let stream = null;
let staged = null;  // { kind, base64, name, type, preview }
let actionTimer = null;
let followUntil = 0;  // keep the newest message in view while its media loads
let info = { bot: { first_name: "Neurocards" }, samples: [] };

function nearBottom() {
  return messages.scrollHeight - messages.scrollTop - messages.clientHeight < 160;
}

function scrollDown(force) {
  if (force || nearBottom()) messages.scrollTop = messages.scrollHeight;
}

function toast(text, { alert = false, error = false } = {}) {
  const box = document.createElement("div");
  box.className = `toast${alert ? " alert" : ""}${error ? " error" : ""}`;
  box.dataset.testid = alert ? "alert" : "toast";
  box.textContent = text;
  if (alert) {
    const ok = document.createElement("button");
    ok.type = "button";
    ok.textContent = "OK";
    ok.addEventListener("click", () => box.remove());
    box.append(ok);
  } else {
    setTimeout(() => box.classList.add("leaving"), 2600);
    setTimeout(() => box.remove(), 3000);
  }
  $("toasts").append(box);
}

function showError(error) {
  toast(error.message, { error: true });
}

function setStatus(text) {
  $("bot-status").textContent = text;
}

const handlers = {
  onMediaLoad: () => scrollDown(Date.now() < followUntil),
  async press(messageId, data, button) {
    button.classList.add("pending");
    setTimeout(() => button.classList.remove("pending"), 1500);
    await api.press(seller, messageId, data).catch(showError);
  },
  async pay(messageId, button) {
    button.disabled = true;
    button.textContent = "Paying…";
    let outcome = "error";
    try {
      const result = await api.pay(seller, messageId);
      outcome = result.outcome;
      if (outcome === "paid") toast("Payment done ⭐");
      else if (outcome === "refused") toast(`The bot refused: ${result.error_message}`, { error: true });
      else toast("The bot did not confirm the payment in time; nothing was charged.", { error: true });
    } catch (error) {
      toast(error.message, { error: true });
    }
    if (outcome === "paid" || !button.isConnected) return;  // the stream redraws the invoice as paid
    button.disabled = false;
    button.textContent = "Pay";
  },
};

function connect() {
  stream?.close();
  messages.querySelectorAll(".row").forEach((row) => row.remove());
  $("empty-chat").hidden = false;
  setStatus("connecting…");
  stream = new EventSource(`${api.WEBCHAT}/chats/${seller.id}/stream`);
  stream.addEventListener("ready", (event) => {
    info.bot = JSON.parse(event.data).bot;
    $("bot-name").textContent = info.bot.first_name;
    setStatus("bot");
    document.body.dataset.connected = "true";
  });
  stream.addEventListener("msg", (event) => {
    const view = JSON.parse(event.data);
    const follow = nearBottom() || !view.from_bot;  // measured before the message adds its height
    const outcome = upsertMessage(messages, view, handlers);
    if (outcome === "new") {
      $("empty-chat").hidden = true;
      if (view.from_bot) setStatus("bot");
    }
    if (follow && outcome !== "same") {
      followUntil = Date.now() + 1500;  // and while its photo or video loads
      scrollDown(true);
    }
  });
  stream.addEventListener("reset", () => {  // the stand-in was reset: the chat is empty again
    messages.querySelectorAll(".row").forEach((row) => row.remove());
    $("empty-chat").hidden = false;
  });
  stream.addEventListener("toast", (event) => {
    const data = JSON.parse(event.data);
    toast(data.text, { alert: data.show_alert });
  });
  stream.addEventListener("action", (event) => {
    setStatus(ACTIONS[JSON.parse(event.data).action] || "typing…");
    clearTimeout(actionTimer);
    actionTimer = setTimeout(() => setStatus("bot"), 5000);  // as long as Telegram shows one
  });
  stream.onerror = () => { setStatus("reconnecting…"); document.body.dataset.connected = "false"; };
}

function useSeller(chosen) {
  seller = chosen;
  $("seller-button").textContent = sellerLabel(seller);
  document.body.dataset.seller = seller.id;
  connect();
}

// -- the composer ------------------------------------------------------------------------

function stage(file) {
  staged = file;
  $("staged").hidden = !file;
  if (!file) return;
  const preview = $("staged-preview");
  preview.replaceChildren();
  if (file.kind === "photo") {
    const img = document.createElement("img");
    img.src = file.preview;
    img.alt = file.name;
    preview.append(img);
  } else {
    preview.textContent = "📄";
  }
  $("staged-name").textContent = file.kind === "photo" ? `Photo · ${file.name}` : `File · ${file.name}`;
  input.placeholder = "Add a caption…";
  input.focus();
}

async function stageBlob(blob, kind, name, caption) {
  const base64 = await api.toBase64(blob);
  if (caption && !input.value.trim()) input.value = caption;
  stage({ kind, base64, name, type: blob.type, preview: kind === "photo" ? URL.createObjectURL(blob) : null });
}

async function send(event) {
  event?.preventDefault();
  const text = input.value.trim();
  if (!staged && !text) return;
  const button = $("send-button");
  button.disabled = true;
  try {
    if (staged) await api.sendFile(seller, staged, text);
    else await api.sendText(seller, text);
    input.value = "";
    input.placeholder = "Message";
    stage(null);
    autosize();
  } catch (error) {
    toast(error.message, { error: true });
  } finally {
    button.disabled = false;
  }
}

function autosize() {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 140)}px`;
}

function togglePopup(id, show) {
  for (const other of ["commands", "attach-menu"]) if (other !== id) $(other).hidden = true;
  $(id).hidden = show === undefined ? !$(id).hidden : !show;
}

async function openCommands() {
  if (!$("commands").hidden) return togglePopup("commands", false);
  const query = new URLSearchParams({ chat_id: seller.id, language: seller.language_code });
  const { commands } = await api.call("GET", `${api.WEBCHAT}/commands?${query}`);
  const list = $("commands");
  list.replaceChildren();
  if (!commands.length) list.textContent = "The bot has not set a command menu yet.";
  for (const command of commands) {
    const item = document.createElement("button");
    item.type = "button";
    item.className = "command-item";
    item.dataset.testid = "command";
    item.innerHTML = "<b></b><span></span>";
    item.querySelector("b").textContent = `/${command.command}`;
    item.querySelector("span").textContent = command.description;
    item.addEventListener("click", () => {
      togglePopup("commands", false);
      api.sendText(seller, `/${command.command}`).catch(showError);
    });
    list.append(item);
  }
  togglePopup("commands", true);
}

function drawSamples() {
  const box = $("samples");
  box.replaceChildren();
  for (const sample of info.samples) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "sample";
    button.dataset.testid = "sample";
    button.dataset.sample = sample.name;
    button.title = sample.caption;
    button.innerHTML = `<img alt=""><span></span>`;
    button.querySelector("img").src = sample.url;
    button.querySelector("span").textContent = sample.label;
    button.addEventListener("click", async () => {
      togglePopup("attach-menu", false);
      const blob = await (await fetch(sample.url)).blob();
      await stageBlob(blob, "photo", sample.name, sample.caption);
    });
    box.append(button);
  }
}

function wireComposer() {
  $("composer").addEventListener("submit", send);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
  });
  input.addEventListener("input", autosize);
  $("menu-button").addEventListener("click", () => openCommands().catch(showError));
  $("attach-button").addEventListener("click", () => togglePopup("attach-menu"));
  $("staged-remove").addEventListener("click", () => { stage(null); input.placeholder = "Message"; });
  $("attach-menu").addEventListener("click", (event) => {
    const action = event.target.closest("[data-action]")?.dataset.action;
    if (action) { togglePopup("attach-menu", false); $(`${action}-file`).click(); }
  });
  for (const kind of ["photo", "document"]) {
    $(`${kind}-file`).addEventListener("change", async (event) => {
      const file = event.target.files[0];
      event.target.value = "";
      if (file) await stageBlob(file, kind, file.name);
    });
  }
  messages.addEventListener("click", (event) => {
    const command = event.target.closest(".command")?.dataset.command;
    if (command) api.sendText(seller, command).catch(showError);
  });
  messages.addEventListener("dragover", (event) => event.preventDefault());
  messages.addEventListener("drop", async (event) => {
    event.preventDefault();
    const file = event.dataTransfer.files[0];
    if (file) await stageBlob(file, file.type.startsWith("image/") ? "photo" : "document", file.name);
  });
  $("seller-button").addEventListener("click", async () => useSeller(await pickSeller(seller, true)));
  $("panel-button").addEventListener("click", () => document.getElementById("app").classList.toggle("panel-open"));
  $("panel-close").addEventListener("click", () => document.getElementById("app").classList.remove("panel-open"));
}

async function main() {
  wireComposer();
  info = await api.call("GET", `${api.WEBCHAT}/info`);
  $("bot-name").textContent = info.bot.first_name;
  drawSamples();
  useSeller(currentSeller() || await pickSeller(null, false));
  startPanel(() => seller);
}

main().catch((error) => toast(`The web chat could not start: ${error.message}`, { alert: true, error: true }));
