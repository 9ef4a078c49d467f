// Makes the server-rendered pages smoother; every page works without this script.
// Figures arrive already formatted by the server: no number formatting happens here.

const body = document.body;
const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

const FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select, textarea, summary, [tabindex]:not([tabindex='-1'])";

// Closes what a control opened on Escape and on a click outside both; focus returns to the
// control unless the click put it on something else to use.
function closeOnEscapeAndOutside(control, area, isOpen, close) {
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && isOpen()) close({ returnFocus: true });
  });
  document.addEventListener("click", (event) => {
    if (isOpen() && !area.contains(event.target) && !control.contains(event.target)) {
      close({ returnFocus: !event.target.closest("a, button, input, select, textarea, summary") });
    }
  });
}

function setupMenu() {
  const toggle = document.getElementById("menu-toggle");
  const menu = document.getElementById("site-menu");
  if (!toggle || !menu) return;
  document.documentElement.classList.add("menu-collapsible");
  toggle.hidden = false;
  const isOpen = () => toggle.getAttribute("aria-expanded") === "true";
  const setOpen = (open, { returnFocus = false } = {}) => {
    toggle.setAttribute("aria-expanded", String(open));
    menu.classList.toggle("open", open);
    if (!open && returnFocus) toggle.focus();
  };
  toggle.addEventListener("click", () => setOpen(!isOpen()));
  // Only where the menu is collapsible (a phone): on a wide screen it is always shown.
  closeOnEscapeAndOutside(toggle, menu, () => isOpen() && getComputedStyle(toggle).display !== "none",
                          (options) => setOpen(false, options));
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
    // preventScroll: opening it never moves the page under the pointer.
    if (open) panel.focus({ preventScroll: true });
    else if (returnFocus) control.focus({ preventScroll: true });
  };
  // While it is open, Tab and Shift+Tab go round the panel's own controls and never leave it.
  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const stops = [...panel.querySelectorAll(FOCUSABLE)].filter((element) => element.offsetParent !== null);
    if (stops.length === 0) {
      event.preventDefault();
      return;
    }
    const first = stops[0];
    const last = stops[stops.length - 1];
    if (event.shiftKey && (document.activeElement === first || document.activeElement === panel)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  });
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
  closeOnEscapeAndOutside(control, panel, isOpen, (options) => setOpen(false, options));
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

const GAINS_FIELDS = ["average_price_jpy", "unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent"];

const yen = (text) => (text === null ? "—" : `¥ ${text}`);

// Each currency has a table row (from 64rem) and a compact row (below): both are kept up to date,
// in the server's order, hidden as the server says (the switches and the threshold are its).
function renderRows(root, balance) {
  for (const row of balance.balances) {
    for (const item of root.querySelectorAll(`[data-currency="${CSS.escape(row.currency)}"]`)) {
      const f = row.formatted;
      for (const column of ["available", "in_use", "total"]) {
        setText(item, column, f[column]);
        setText(item, `${column}_jpy`, yen(f[`${column}_jpy`]));
      }
      setText(item, "rate_jpy", yen(f.rate_jpy));
      setText(item, "share_percent", f.share_percent === null ? "—" : `${f.share_percent}%`);
      // The gains (wallet/gains_fields.py) come formatted whole: yen sign and sign included.
      for (const field of GAINS_FIELDS) setText(item, field, f[field] ?? "—");
      const rate = item.querySelector("[data-rate]");
      if (rate) rate.hidden = f.rate_jpy === null;
      const missing = item.querySelector('[data-mark="missing"]');
      if (missing) missing.hidden = f.rate_jpy !== null;
      const stale = item.querySelector('[data-mark="stale"]');
      if (stale) stale.hidden = !row.stale;
      item.toggleAttribute("data-zero", row.zero);
      item.hidden = row.hidden;
    }
  }
  for (const list of root.querySelectorAll(".balance-list, .balances:not(.compact) tbody")) {
    const wanted = balance.balances.map((row) => row.currency);
    const shown = [...list.children].map((item) => item.dataset.currency);
    if (wanted.join() === shown.join()) continue;
    for (const code of wanted) {
      const item = list.querySelector(`:scope > [data-currency="${CSS.escape(code)}"]`);
      if (item) list.append(item);
    }
  }
  const everyHidden = balance.balances.every((row) => row.hidden);
  const allZero = everyHidden && balance.hide_zero_balances && balance.balances.every((row) => row.zero);
  const allHidden = root.querySelector('[data-notice="all-hidden"]');
  if (allHidden) allHidden.hidden = !allZero;
  const allSmall = root.querySelector('[data-notice="all-small"]');
  if (allSmall) allSmall.hidden = !(everyHidden && !allZero);
}

function renderFigures(balance) {
  const widget = document.querySelector(".wallet-widget");
  if (widget) {
    setText(widget, "net_assets", balance.net_assets.formatted);
    setText(widget, "rates_as_of", balance.rates_as_of_formatted ?? "—");
    const gains = balance.net_assets.formatted_gains ?? {};
    for (const field of ["unrealized_jpy", "unrealized_percent", "change_24h_jpy", "change_24h_percent"]) {
      setText(widget, `net_${field}`, gains[field] ?? "—");
    }
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
    const balance = await response.json();
    // The stream came back while this answer was on its way: its figures are the newer ones.
    if (streaming) return;
    lastBalance = balance;
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

async function savePreferences(changes) {
  const response = await fetch(body.dataset.preferencesUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken, Accept: "application/json" },
    body: JSON.stringify(changes),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  // The server's document changed with the choice (which rows it hides, their order): fetch it whole.
  lastEtag = null;
  lastBalance = null;
  await refresh();
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
        if (name === "discreet") {
          await savePreferences({ [name]: wanted });
          // Hiding or showing amounts changes what the server put in the page itself: load it again.
          window.location.reload();
          return;
        }
        await savePreferences({ [name]: wanted });
        if (status) showStatus(status.dataset.saved, false);
      } catch (error) {
        box.checked = !wanted;
        if (status) showStatus(box.dataset.error, true);
      }
    });
  }
}

// The list's order and threshold: the order is saved as it changes, the threshold when the form
// is sent (Enter) or the field is left; the form still posts without the script.
function setupViewForm() {
  const form = document.querySelector("form[data-view-form]");
  if (!form) return;
  form.classList.add("enhanced");
  const order = form.querySelector('[data-view-field="balance_order"]');
  const threshold = form.querySelector('[data-view-field="small_balance_jpy"]');
  const status = document.getElementById("refresh-status");
  let saved = threshold.value;
  const save = async (changes) => {
    try {
      await savePreferences(changes);
      if (status) showStatus(status.dataset.saved, false);
      return true;
    } catch (error) {
      if (status) showStatus(status.dataset.failedSave, true);
      return false;
    }
  };
  order.addEventListener("change", () => save({ balance_order: order.value }));
  const saveThreshold = async () => {
    const digits = threshold.value.replaceAll(",", "").trim();
    if (digits === saved) return;
    if (!/^[0-9]{1,10}$/.test(digits)) {
      form.requestSubmit();  // the server explains what it accepts
      return;
    }
    if (await save({ small_balance_jpy: Number(digits) })) saved = digits;
  };
  threshold.addEventListener("change", saveThreshold);
  form.addEventListener("submit", (event) => {
    const digits = threshold.value.replaceAll(",", "").trim();
    if (/^[0-9]{1,10}$/.test(digits) && Number(digits) <= 1e9) {
      event.preventDefault();
      saveThreshold();
    }
  });
}

// The allocation chart from the stream's slices (the server's: labels, percentages, geometry):
// attributes and texts changed in place only where they differ, rows made again only when the
// slices themselves change (a currency grouped into "Other" or out of it).
function renderAllocation(slices) {
  const figure = document.querySelector(".chart-allocation");
  const bar = figure?.querySelector("svg.allocation-bar");
  const rows = figure?.querySelector(".allocation-table tbody");
  if (!bar || !rows || !Array.isArray(slices) || slices.length === 0) return;
  const title = bar.querySelector("title");
  const prefix = title.textContent.split(": ")[0];
  const text = `${prefix}: ${slices.map((s) => `${s.label} ${s.percent}%`).join(", ")}`;
  if (title.textContent !== text) title.textContent = text;
  const rects = [...bar.querySelectorAll("rect.slice")];
  const shape = (s) => `${s.colour}|${s.label}|${s.members}`;
  const sameSlices = rects.length === slices.length && rows.children.length === slices.length
    && [...rows.children].every((row, i) => row.dataset.slice === shape(slices[i]));
  if (!sameSlices) {
    for (const rect of rects) rect.remove();
    rows.replaceChildren();
    for (const s of slices) {
      const rect = document.createElementNS("http://www.w3.org/2000/svg", "rect");
      rect.setAttribute("class", `slice ${s.colour}`);
      rect.setAttribute("y", "0");
      rect.setAttribute("height", "10");
      bar.append(rect);
      const row = document.createElement("tr");
      const head = document.createElement("th");
      head.scope = "row";
      const swatch = document.createElement("span");
      swatch.className = `swatch ${s.colour}`;
      swatch.setAttribute("aria-hidden", "true");
      head.append(swatch, ` ${s.label}`);
      if (s.members) {
        const members = document.createElement("span");
        members.className = "members";
        members.textContent = `(${s.members})`;
        head.append(" ", members);
      }
      const cell = document.createElement("td");
      const percent = document.createElement("span");
      percent.className = "percent";
      cell.append(percent);
      row.append(head, cell);
      rows.append(row);
    }
  }
  const newRects = bar.querySelectorAll("rect.slice");
  slices.forEach((s, i) => {
    const rect = newRects[i];
    if (rect.getAttribute("x") !== String(s.x)) rect.setAttribute("x", s.x);
    if (rect.getAttribute("width") !== String(s.width)) rect.setAttribute("width", s.width);
    const row = rows.children[i];
    row.dataset.slice = shape(s);
    const percent = row.querySelector(".percent");
    if (percent.textContent !== `${s.percent}%`) percent.textContent = `${s.percent}%`;
  });
}

// Whether any holding's own amounts differ (a deposit, a fill): what a person wants to hear of.
// A rate tick moves every yen figure and is not announced. Hidden amounts (null) say nothing.
function holdingsChanged(before, after) {
  if (!before) return false;
  const amounts = new Map(before.balances.map((row) => [row.currency, `${row.available}|${row.in_use}`]));
  return after.balances.some((row) => row.available !== null && amounts.has(row.currency)
    && amounts.get(row.currency) !== `${row.available}|${row.in_use}`);
}

// The live wallet: figures pushed by the server (Server-Sent Events) as they change. While the
// stream delivers, the page does not poll; whenever it does not (not yet open, reconnecting,
// closed), the refresh every REFRESH_SECONDS runs as before.
let streaming = false;

function setupStream() {
  const url = body.dataset.streamUrl;
  if (!url || !window.EventSource) return false;
  const source = new EventSource(url);
  const header = document.getElementById("header-net-assets");
  source.addEventListener("figures", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!streaming && header) header.setAttribute("aria-live", "off");  // every tick would be read out
    streaming = true;
    const changed = holdingsChanged(lastBalance, data.balance);
    lastBalance = data.balance;
    lastEtag = `"${event.lastEventId}"`;
    renderFigures(data.balance);
    renderAllocation(data.allocation);
    const status = document.getElementById("refresh-status");
    if (changed && status) showStatus(status.dataset.balancesChanged, false);
    else if (failedLast) showStatus("", false);
    failedLast = false;
  });
  const fallBack = () => {
    streaming = false;
    if (header) header.setAttribute("aria-live", "polite");
  };
  source.addEventListener("end", () => {
    // The session ended: the stream will not come back; the refresh says what the server says.
    source.close();
    fallBack();
    refresh();
  });
  source.addEventListener("error", () => {
    const wasStreaming = streaming;
    fallBack();
    if (source.readyState === EventSource.CLOSED || wasStreaming) refresh();
  });
  return true;
}

function setupRefresh() {
  if (!body.dataset.balanceUrl) return;
  const seconds = Number(body.dataset.refreshSeconds) || 30;
  // With a stream, its first event brings the current figures; without, ask for them now.
  if (!setupStream()) refresh();
  setInterval(() => {
    if (!streaming && document.visibilityState === "visible") refresh();
  }, seconds * 1000);
  document.addEventListener("visibilitychange", () => {
    if (!streaming && document.visibilityState === "visible") refresh();
  });
  window.addEventListener("focus", () => {
    if (!streaming) refresh();
  });
}

// A "Copy" button beside text to copy (the authenticator's key, recovery codes): shown only where
// the clipboard can be written, and it says so in its status once done.
function setupCopy() {
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", async () => {
      const status = button.parentElement.querySelector(".copy-status");
      try {
        await navigator.clipboard.writeText(button.dataset.copy);
        if (status) status.textContent = button.dataset.copied;
      } catch (error) {
        if (status) status.textContent = "";
      }
    });
  }
}

// "Print" where the script runs (without it, the browser's own menu prints the page).
function setupPrint() {
  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
}

setupMenu();
setupPanel();
setupCopy();
setupPrint();
setupSwitches();
setupViewForm();
setupRefresh();
