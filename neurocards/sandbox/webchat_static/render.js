// Drawing Telegram Message objects as chat bubbles: text with its entities, photos, the video,
// documents, invoices, payment notices and inline keyboards. A message drawn again (an edit, a
// new keyboard) keeps its row and its media element, so a playing video is not restarted.

import { fileUrl } from "./api.js";

const TAGS = {
  bold: "strong", italic: "em", underline: "u", strikethrough: "s", code: "code", pre: "pre",
  blockquote: "blockquote", expandable_blockquote: "blockquote", spoiler: "span",
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function entityNode(entity, source) {
  if (entity.type === "text_link") return el("a", { href: entity.url, target: "_blank", rel: "noopener" });
  if (entity.type === "url") return el("a", { href: source, target: "_blank", rel: "noopener" });
  if (entity.type === "bot_command") return el("span", { class: "command", "data-command": source });
  if (entity.type === "spoiler") {
    return el("span", { class: "spoiler", onclick: (event) => event.currentTarget.classList.add("shown") });
  }
  return el(TAGS[entity.type] || "span", { class: `entity-${entity.type}` });
}

/** Text with Telegram entities (offsets in UTF-16 units, as JavaScript strings count) as DOM. */
export function formatted(text, entities = []) {
  const sorted = [...(entities || [])].sort((a, b) => a.offset - b.offset || b.length - a.length);
  const build = (start, end, list) => {
    const fragment = document.createDocumentFragment();
    let position = start;
    for (let i = 0; i < list.length;) {
      const entity = list[i];
      const entityEnd = entity.offset + entity.length;
      let j = i + 1;
      while (j < list.length && list[j].offset < entityEnd) j++;
      const inner = list.slice(i + 1, j).filter((child) => child.offset + child.length <= entityEnd);
      if (entity.offset > position) fragment.append(text.slice(position, entity.offset));
      const node = entityNode(entity, text.slice(entity.offset, entityEnd));
      node.append(build(entity.offset, entityEnd, inner));
      fragment.append(node);
      position = Math.max(position, entityEnd);
      i = j;
    }
    if (position < end) fragment.append(text.slice(position, end));
    return fragment;
  };
  return build(0, text.length, sorted);
}

function sizeLabel(bytes) {
  if (!bytes && bytes !== 0) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function time(seconds) {
  return new Date(seconds * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/** The size of a photo to show in a bubble: the first one big enough, else the original. */
function shownPhoto(sizes) {
  return sizes.find((size) => Math.max(size.width, size.height) >= 640) || sizes[sizes.length - 1];
}

/** The file a message's media element shows, so that a redraw of the same file keeps the element. */
function mediaKey(message) {
  const item = message.photo ? shownPhoto(message.photo)
    : message.video || message.sticker || message.voice || message.document;
  return item ? item.file_id : null;
}

/** The media element of a message (null for none). */
function media(message, onLoad) {
  if (message.photo) {
    const sizes = message.photo;
    const shown = shownPhoto(sizes);
    const original = sizes[sizes.length - 1];
    const img = el("img", { class: "photo", src: fileUrl(shown.file_id), alt: "photo", width: shown.width,
                            height: shown.height, "data-testid": "photo", onload: onLoad });
    return el("a", { href: fileUrl(original.file_id), target: "_blank", class: "media-link" }, img);
  }
  if (message.video) {
    const video = message.video;
    const node = el("video", { class: "video", src: fileUrl(video.file_id), controls: true, playsinline: true,
                               preload: "auto", loop: true, "data-testid": "video", onloadedmetadata: onLoad });
    if (video.width && video.height) node.style.aspectRatio = `${video.width} / ${video.height}`;
    return node;
  }
  if (message.sticker) {
    const sticker = message.sticker;
    return el("img", { class: "sticker", src: fileUrl(sticker.file_id), alt: sticker.emoji || "sticker" });
  }
  if (message.voice) return el("audio", { controls: true, src: fileUrl(message.voice.file_id) });
  if (message.document) {
    const doc = message.document;
    const name = doc.file_name || "file";
    return el("a", { class: "document", href: fileUrl(doc.file_id), download: name, "data-testid": "document" },
      el("span", { class: "document-icon", text: "📄" }),
      el("span", { class: "document-text" },
        el("span", { class: "document-name", text: name }),
        el("span", { class: "document-size", text: `${sizeLabel(doc.file_size)} · ${doc.mime_type || ""}` })));
  }
  return null;
}

function invoiceCard(view, handlers) {
  const invoice = view.message.invoice;
  const currency = invoice.currency === "XTR" ? "Stars" : invoice.currency;
  const rows = view.message.reply_markup?.inline_keyboard || [];
  const payButton = rows[0]?.[0]?.pay ? rows[0][0].text : `Pay ⭐ ${invoice.total_amount}`;
  const button = el("button", { type: "button", class: "pay-button", "data-testid": "pay-button", disabled: view.paid,
                                text: view.paid ? "Paid ✓" : payButton,
                                onclick: (event) => handlers.pay(view.message.message_id, event.currentTarget) });
  return el("div", { class: "invoice", "data-testid": "invoice" },
    el("div", { class: "invoice-title", text: invoice.title }),
    el("div", { class: "invoice-description", text: invoice.description }),
    el("div", { class: "invoice-price", text: `⭐ ${invoice.total_amount} ${currency}` }),
    button);
}

function keyboard(view, handlers) {
  const rows = view.message.reply_markup?.inline_keyboard;
  if (!rows || !rows.length) return null;
  const skipPay = Boolean(view.message.invoice && rows[0]?.[0]?.pay);
  const board = el("div", { class: "keyboard" });
  rows.forEach((row, index) => {
    const buttons = row.filter((_, column) => !(skipPay && index === 0 && column === 0));
    if (!buttons.length) return;
    board.append(el("div", { class: "keyboard-row" }, ...buttons.map((button) => {
      if (button.url) {
        return el("a", { class: "keyboard-button", href: button.url, target: "_blank", rel: "noopener",
                         text: `${button.text} ↗` });
      }
      const press = (event) => handlers.press(view.message.message_id, button.callback_data, event.currentTarget);
      return el("button", { type: "button", class: "keyboard-button", "data-testid": "inline-button",
                            text: button.text, onclick: press });
    })));
  });
  return board;
}

function serviceNotice(message) {
  const payment = message.successful_payment || message.refunded_payment;
  const paid = Boolean(message.successful_payment);
  const text = paid ? `You paid ⭐ ${payment.total_amount}` : `⭐ ${payment.total_amount} refunded to you`;
  return el("div", { class: "service-notice", "data-testid": "service-notice", text });
}

/** Draw ``view`` (a ``msg`` event of the stream) into ``container``: a new row, a redraw, or a removal.
 * Returns "new", "edited", "same" or "removed". */
export function upsertMessage(container, view, handlers) {
  const message = view.message;
  const id = message.message_id;
  let row = container.querySelector(`.row[data-message-id="${id}"]`);
  if (view.deleted) {
    row?.remove();
    return row ? "removed" : "same";
  }
  const encoded = JSON.stringify(view);
  if (row && row.dataset.json === encoded) return "same";
  const fresh = !row;
  if (fresh) {
    row = el("div", { class: `row ${view.from_bot ? "from-bot" : "from-user"}`, "data-message-id": id });
    const later = [...container.querySelectorAll(".row")].find((other) => Number(other.dataset.messageId) > id);
    container.insertBefore(row, later || null);
  }
  row.dataset.json = encoded;
  if (message.successful_payment || message.refunded_payment) {
    row.className = "row service";
    row.replaceChildren(serviceNotice(message));
    return fresh ? "new" : "edited";
  }
  const key = mediaKey(message);
  const mediaNode = row._media && row._media.key === key ? row._media.node : media(message, handlers.onMediaLoad);
  row._media = { key, node: mediaNode };
  const text = message.text ?? message.caption ?? "";
  const entities = message.text !== undefined ? message.entities : message.caption_entities;
  const edits = fresh ? 0 : Number(row.querySelector(".bubble")?.dataset.edits || 0) + 1;
  const bubble = el("div", { class: `bubble${mediaNode ? " has-media" : ""}`, "data-testid": "message",
                             "data-edits": edits, "data-from": view.from_bot ? "bot" : "user" },
    mediaNode,
    message.invoice ? invoiceCard(view, handlers) : null,
    text ? el("div", { class: "text", "data-testid": "message-text" }, formatted(text, entities)) : null,
    el("div", { class: "meta" }, message.edit_date ? el("span", { class: "edited", text: "edited" }) : null,
       el("span", { text: time(message.edit_date || message.date) })));
  row.replaceChildren(bubble, keyboard(view, handlers) || "");
  if (!fresh) {
    bubble.classList.add("flash");
  }
  return fresh ? "new" : "edited";
}
