// Passkeys (WebAuthn): the browser's part of signing in with one and of adding one. Sections
// marked data-passkey stay hidden unless this browser can use passkeys; every message shown is
// one the server rendered into the page.

const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

const fromBase64url = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(text.length / 4) * 4, "=");
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0)).buffer;
};
const toBase64url = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function creationOptions(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    user: { ...json.user, id: fromBase64url(json.user.id) },
    excludeCredentials: (json.excludeCredentials ?? []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
}

function requestOptions(json) {
  return {
    ...json,
    challenge: fromBase64url(json.challenge),
    allowCredentials: (json.allowCredentials ?? []).map((c) => ({ ...c, id: fromBase64url(c.id) })),
  };
}

function credentialJSON(credential) {
  const response = credential.response;
  const fields = { clientDataJSON: toBase64url(response.clientDataJSON) };
  if (response.attestationObject) {
    fields.attestationObject = toBase64url(response.attestationObject);
    fields.transports = response.getTransports?.() ?? [];
  } else {
    fields.authenticatorData = toBase64url(response.authenticatorData);
    fields.signature = toBase64url(response.signature);
    if (response.userHandle) fields.userHandle = toBase64url(response.userHandle);
  }
  return { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: fields,
           clientExtensionResults: credential.getClientExtensionResults?.() ?? {} };
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
    body: body === undefined ? "{}" : JSON.stringify(body),
  });
  let data = {};
  try { data = await response.json(); } catch { /* an error page: the generic message stands */ }
  return { ok: response.ok, data };
}

function setup(section) {
  const button = section.querySelector("button");
  const error = section.querySelector("[data-passkey-error]");
  const nameInput = section.querySelector("input[name='name']");
  const show = (message) => { error.textContent = message; error.hidden = false; };
  // A change that needs the password again names the page that asks for it.
  const refused = (data) => data.redirect ? window.location.assign(data.redirect) : show(data.error ?? section.dataset.error);
  section.hidden = false;
  // Adding one: its name field sits in a form the script sends itself. Signing in: the section
  // sits inside the password form's card, whose own submit must still work.
  if (section.dataset.passkey === "register") {
    section.closest("form")?.addEventListener("submit", (event) => event.preventDefault());
  }
  button.addEventListener("click", async () => {
    error.hidden = true;
    button.disabled = true;
    try {
      const options = await post(section.dataset.optionsUrl);
      if (!options.ok) { refused(options.data); return; }
      const credential = section.dataset.passkey === "register"
        ? await navigator.credentials.create({ publicKey: creationOptions(options.data) })
        : await navigator.credentials.get({ publicKey: requestOptions(options.data) });
      const body = credentialJSON(credential);
      if (nameInput) body.name = nameInput.value;
      const result = await post(section.dataset.url, body);
      if (!result.ok) { refused(result.data); return; }
      window.location.assign(result.data.redirect);
    } catch {
      show(section.dataset.error);  // cancelled, timed out or refused by the authenticator
    } finally {
      button.disabled = false;
    }
  });
}

if (window.PublicKeyCredential) {
  document.querySelectorAll("[data-passkey]").forEach(setup);
}
