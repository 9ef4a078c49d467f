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

// The header's "Net Assets" link becomes the control of the compact wallet over the page:
// it opens and closes the panel, as do Escape and a click outside, and focus comes back to it.
function setupPanel() {
  const control = document.getElementById("wallet-control");
  const panel = control && document.getElementById(control.dataset.panel);
  if (!panel) return;
  control.setAttribute("role", "button");
  control.setAttribute("aria-expanded", "false");
  control.setAttribute("aria-controls", panel.id);
  panel.tabIndex = -1;
  const isOpen = () => !panel.hidden;
  const setOpen = (open, { returnFocus = false } = {}) => {
    panel.hidden = !open;
    control.setAttribute("aria-expanded", String(open));
    if (open) panel.focus();
    else if (returnFocus) control.focus();
  };
  control.addEventListener("click", (event) => {
    event.preventDefault();
    setOpen(!isOpen(), { returnFocus: true });
  });
  control.addEventListener("keydown", (event) => {
    if (event.key === " ") {  // a link answers Enter only; a button answers Space too
      event.preventDefault();
      setOpen(!isOpen(), { returnFocus: true });
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) setOpen(false, { returnFocus: true });
  });
  document.addEventListener("click", (event) => {
    if (isOpen() && !panel.contains(event.target) && !control.contains(event.target)) {
      // Focus stays where the click put it when that is something else to use.
      setOpen(false, { returnFocus: !event.target.closest("a, button, input, select, textarea") });
    }
  });
}

function renderHeader(balance) {
  const amount = document.getElementById("header-net-assets");
  if (!amount) return;
  if (!balance.show_in_header) {
    // Off means the amount is not in the header at all, not merely hidden.
    amount.replaceChildren();
    amount.hidden = true;
    return;
  }
  const text = `¥ ${balance.net_assets.formatted}`;
  // A live region: touched only when the figure changed, so only a change is announced.
  if (amount.textContent !== text) amount.textContent = text;
  amount.hidden = false;
}

function setText(root, field, text) {
  const element = root.querySelector(`[data-field="${field}"]`);
  if (element && element.textContent !== text) element.textContent = text;
}

const yen = (text) => (text === null ? "—" : `¥ ${text}`);

function renderRows(root, balance) {
  for (const row of balance.balances) {
    const tr = root.querySelector(`tr[data-currency="${CSS.escape(row.currency)}"]`);
    if (!tr) continue;
    const f = row.formatted;
    for (const column of ["available", "in_use", "total"]) {
      setText(tr, column, f[column]);
      setText(tr, `${column}_jpy`, yen(f[`${column}_jpy`]));
    }
    setText(tr, "rate_jpy", yen(f.rate_jpy));
    setText(tr, "share_percent", f.share_percent === null ? "—" : `${f.share_percent}%`);
    const rate = tr.querySelector("[data-rate]");
    if (rate) rate.hidden = f.rate_jpy === null;
    const missing = tr.querySelector('[data-mark="missing"]');
    if (missing) missing.hidden = f.rate_jpy !== null;
    const stale = tr.querySelector('[data-mark="stale"]');
    if (stale) stale.hidden = !row.stale;
    tr.toggleAttribute("data-zero", row.zero);
    tr.hidden = balance.hide_zero_balances && row.zero;
  }
  const allHidden = root.querySelector('[data-notice="all-hidden"]');
  if (allHidden) allHidden.hidden = !(balance.hide_zero_balances && balance.balances.every((row) => row.zero));
}

function renderFigures(balance) {
  const widget = document.querySelector(".wallet-widget");
  if (widget) {
    setText(widget, "net_assets", balance.net_assets.formatted);
    setText(widget, "rates_as_of", balance.rates_as_of_formatted ?? "—");
    setText(widget, "missing_rates", balance.missing_rates.map((code) => code.toUpperCase()).join(", "));
    widget.querySelector('[data-notice="incomplete"]').hidden = balance.complete;
    widget.querySelector('[data-notice="stale"]').hidden = !balance.stale;
    renderRows(widget, balance);
  }
  renderHeader(balance);
}

function showStatus(text, failed) {
  const status = document.getElementById("refresh-status");
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("failed", failed);
}

let lastBalance = null;
let lastEtag = null;
let failedLast = false;

async function refresh() {
  try {
    // Most refreshes find nothing changed: the server answers the last ETag with a bodiless 304,
    // and the page (and its live region) stays as it is.
    const headers = { Accept: "application/json" };
    if (lastEtag !== null && lastBalance !== null) headers["If-None-Match"] = lastEtag;
    const response = await fetch(body.dataset.balanceUrl, { headers, credentials: "same-origin" });
    if (response.status === 304) {
      if (failedLast) showStatus("", false);
      failedLast = false;
      return;
    }
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    lastBalance = await response.json();
    lastEtag = response.headers.get("ETag");
    renderFigures(lastBalance);
    if (failedLast) showStatus("", false);
    failedLast = false;
  } catch (error) {
    const status = document.getElementById("refresh-status");
    if (status) showStatus(status.dataset.failed, true);
    failedLast = true;
  }
}

function setupSwitches() {
  for (const form of document.querySelectorAll("form.switch-form[data-preference]")) {
    const box = form.querySelector('input[role="switch"]');
    if (!box) continue;
    const name = form.dataset.preference;
    form.classList.add("enhanced");  // the Save button is only needed without this script
    box.addEventListener("change", async () => {
      const wanted = box.checked;
      const status = document.getElementById("refresh-status");
      try {
        const response = await fetch(body.dataset.preferencesUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
          body: JSON.stringify({ [name]: wanted }),
        });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        // Hiding or showing amounts changes what the server put in the page itself: load it again.
        if (name === "discreet") {
          window.location.reload();
          return;
        }
        if (lastBalance === null) await refresh();
        if (lastBalance !== null) {
          lastBalance[name] = wanted;
          lastEtag = null;  // the server's document changed with the switch
          renderFigures(lastBalance);
        }
        if (status) showStatus(status.dataset.saved, false);
      } catch (error) {
        box.checked = !wanted;
        if (status) showStatus(box.dataset.error, true);
      }
    });
  }
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
setupPanel();
setupSwitches();
setupRefresh();
