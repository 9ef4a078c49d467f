// Makes the server-rendered pages smoother; every page works without this script.
// Figures arrive already formatted by the server: no number formatting happens here.

const body = document.body;
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function setupMenu() {
  const toggle = document.getElementById("menu-toggle");
  const menu = document.getElementById("site-menu");
  if (!toggle || !menu) return;
  document.documentElement.classList.add("menu-collapsible");
  toggle.hidden = false;
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
  });
}

function renderHeader(balance) {
  const header = document.getElementById("header-net-assets");
  if (!header) return;
  if (!balance.show_in_header) {
    // Off means the amount is not in the header at all, not merely hidden.
    header.replaceChildren();
    header.hidden = true;
    return;
  }
  const amount = document.createElement("span");
  amount.className = "amount";
  amount.textContent = `¥ ${balance.net_assets.formatted}`;
  header.replaceChildren(document.createTextNode(`${header.dataset.label} `), amount);
  header.hidden = false;
}

function renderFigures(balance) {
  const set = (root, field, text) => {
    const element = root.querySelector(`[data-field="${field}"]`);
    if (element) element.textContent = text;
  };
  const widget = document.querySelector(".wallet-widget");
  if (!widget) return;
  set(widget, "net_assets", balance.net_assets.formatted);
  set(widget, "rates_as_of", balance.rates_as_of_formatted ?? "—");
  set(widget, "missing_rates", balance.missing_rates.map((code) => code.toUpperCase()).join(", "));
  widget.querySelector('[data-notice="incomplete"]').hidden = balance.complete;
  widget.querySelector('[data-notice="stale"]').hidden = !balance.stale;
  for (const row of balance.balances) {
    const tr = widget.querySelector(`tr[data-currency="${CSS.escape(row.currency)}"]`);
    if (!tr) continue;
    const f = row.formatted;
    set(tr, "available", f.available);
    set(tr, "in_use", f.in_use);
    set(tr, "available_jpy", f.available_jpy === null ? "—" : `¥ ${f.available_jpy}`);
    set(tr, "in_use_jpy", f.in_use_jpy === null ? "—" : `¥ ${f.in_use_jpy}`);
  }
  renderHeader(balance);
}

let lastBalance = null;
let lastEtag = null;

async function refresh() {
  const status = document.getElementById("refresh-status");
  try {
    // Most refreshes find nothing changed: the server answers our last ETag with a bodiless 304,
    // and the page (and its live region) stays as it is.
    const headers = { Accept: "application/json" };
    if (lastEtag !== null && lastBalance !== null) headers["If-None-Match"] = lastEtag;
    const response = await fetch(body.dataset.balanceUrl, { headers, credentials: "same-origin" });
    if (response.status === 304) {
      if (status) status.hidden = true;
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    lastBalance = await response.json();
    lastEtag = response.headers.get("ETag");
    renderFigures(lastBalance);
    if (status) status.hidden = true;
  } catch (error) {
    if (status) {
      status.textContent = status.dataset.failed;
      status.hidden = false;
    }
  }
}

function setupHeaderSwitch() {
  const form = document.getElementById("header-switch-form");
  const box = document.getElementById("show-in-header");
  if (!form || !box) return;
  form.classList.add("enhanced");  // the Save button is only needed without this script
  box.addEventListener("change", async () => {
    const wanted = box.checked;
    const status = document.getElementById("refresh-status");
    try {
      const response = await fetch(body.dataset.preferencesUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
        body: JSON.stringify({ show_in_header: wanted }),
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      if (lastBalance === null) await refresh();
      if (lastBalance !== null) {
        lastBalance.show_in_header = wanted;
        lastEtag = null;  // the server's document changed with the switch
        renderHeader(lastBalance);
      }
    } catch (error) {
      box.checked = !wanted;
      if (status) {
        status.textContent = box.dataset.error;
        status.hidden = false;
      }
    }
  });
}

function setupRefresh() {
  if (!body.dataset.balanceUrl) return;
  const seconds = Number(body.dataset.refreshSeconds) || 30;
  refresh();
  setInterval(() => {
    if (document.visibilityState === "visible") refresh();
  }, seconds * 1000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
  window.addEventListener("focus", refresh);
}

setupMenu();
setupHeaderSwitch();
setupRefresh();
