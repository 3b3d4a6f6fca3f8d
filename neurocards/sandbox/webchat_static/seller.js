// Who the person at the web chat is: a Telegram user (id, name, language of their app), taken
// from the address (?seller=ID&name=NAME&lang=en), else remembered in this browser, else chosen
// in a dialog listing the sellers the bot already knows.

import { call, WEBCHAT } from "./api.js";

const KEY = "neurocards.webchat.seller";
const $ = (id) => document.getElementById(id);

export function sellerLabel(seller) {
  return `${seller.first_name} · ${seller.language_code} · ${seller.id}`;
}

function remember(seller) {
  localStorage.setItem(KEY, JSON.stringify(seller));
  const url = new URL(location.href);
  url.searchParams.set("seller", seller.id);
  url.searchParams.set("name", seller.first_name);
  url.searchParams.set("lang", seller.language_code);
  history.replaceState(null, "", url);
  return seller;
}

function valid(seller) {
  return Boolean(seller && /^[0-9]{1,15}$/.test(String(seller.id)) && seller.first_name
                 && ["ru", "en"].includes(seller.language_code));
}

/** The seller named by the address or remembered here; null when there is none yet. */
export function currentSeller() {
  const params = new URLSearchParams(location.search);
  if (params.get("seller")) {
    const seller = { id: Number(params.get("seller")), first_name: params.get("name") || "Seller",
                     language_code: params.get("lang") === "en" ? "en" : "ru" };
    if (valid(seller)) return remember(seller);
  }
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) || "null");
    return valid(stored) ? remember(stored) : null;
  } catch {
    return null;
  }
}

function randomId() {
  return 100_000_000 + Math.floor(Math.random() * 899_999_999);
}

/** Ask who to be; resolves with the seller chosen (``current`` again when cancelled). */
export async function pickSeller(current, cancellable) {
  const dialog = $("seller-dialog");
  const form = $("seller-form");
  $("seller-id").value = randomId();
  $("seller-name").value = "Seller";
  $("seller-language").value = navigator.language?.startsWith("ru") ? "ru" : "en";
  $("seller-cancel").hidden = !cancellable;
  let finish;
  const chosen = new Promise((resolve) => { finish = resolve; });
  const known = $("known-sellers");
  known.replaceChildren();
  try {
    const { sellers } = await call("GET", `${WEBCHAT}/sellers`);
    const usable = sellers.filter((s) => s.first_name && s.language_code);
    if (usable.length) known.append(Object.assign(document.createElement("div"), { className: "known-title",
                                                                                    textContent: "Continue as" }));
    for (const seller of usable) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "known-seller";
      button.textContent = sellerLabel(seller);
      const { id, first_name, language_code } = seller;
      button.addEventListener("click", () => finish({ id, first_name, language_code }));
      known.append(button);
    }
  } catch { /* the list is a convenience */ }
  const onSubmit = (event) => {
    event.preventDefault();
    const seller = { id: Number($("seller-id").value), first_name: $("seller-name").value.trim(),
                     language_code: $("seller-language").value };
    if (valid(seller)) finish(seller);
  };
  const onCancel = (event) => {
    event.preventDefault();
    if (cancellable) finish(current);
  };
  form.addEventListener("submit", onSubmit);
  dialog.addEventListener("cancel", onCancel);
  $("seller-cancel").onclick = () => finish(current);
  dialog.showModal();
  const seller = await chosen;
  form.removeEventListener("submit", onSubmit);
  dialog.removeEventListener("cancel", onCancel);
  dialog.close();
  return remember(seller);
}
