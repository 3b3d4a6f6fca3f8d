// The web chat's calls to the Telegram stand-in: acting as the seller goes through the same
// control API the tests use (/_sandbox/telegram/...), reading through /_sandbox/webchat/...

export const WEBCHAT = "/_sandbox/webchat";
const TELEGRAM = "/_sandbox/telegram";

/** fetch + JSON, throwing an Error with the stand-in's own message when it refuses. */
export async function call(method, url, body) {
  const options = { method, headers: {} };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(url, options);
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = { error: text }; }
  if (!response.ok) throw new Error((data && data.error) || `${response.status} ${response.statusText}`);
  return data;
}

/** The seller's profile fields every message carries, so the bot sees the name and language chosen. */
function profile(seller) {
  return { first_name: seller.first_name, language_code: seller.language_code };
}

export function sendText(seller, text) {
  return call("POST", `${TELEGRAM}/users/${seller.id}/send`, { kind: "text", text, ...profile(seller) });
}

/** A photo or a document: ``file`` is { kind: "photo"|"document", base64, name, type }. */
export function sendFile(seller, file, caption) {
  const body = { kind: file.kind, ...profile(seller) };
  if (caption) body.caption = caption;
  if (file.kind === "photo") body.photo = { data_b64: file.base64 };
  else body.document = { data_b64: file.base64, file_name: file.name, mime_type: file.type || undefined };
  return call("POST", `${TELEGRAM}/users/${seller.id}/send`, body);
}

export function press(seller, messageId, callbackData) {
  return call("POST", `${TELEGRAM}/users/${seller.id}/press`, { message_id: messageId, callback_data: callbackData });
}

export function pay(seller, messageId) {
  return call("POST", `${TELEGRAM}/pay`, { user_id: seller.id, message_id: messageId });
}

export function fileUrl(fileId) {
  return `${WEBCHAT}/files/${encodeURIComponent(fileId)}`;
}

/** A Blob or File as base64, without the data: URL prefix. */
export function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
