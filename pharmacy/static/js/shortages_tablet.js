// The village doctor's shortage page: search as you type, register in one tap, keep working offline.
//
// A name typed instead of a product is first shown to the matching engine: the products it proposes are offered
// for one tap, and the text is kept as typed when none fits, when the tablet is offline or the answer is slow.
//
// Every registration gets a client id made here and goes into a queue kept in localStorage before anything is
// sent; it leaves the queue only when the server has answered for it. A resend carries the same client id, so the
// server records it once whatever happens to the network in between.
(function () {
  "use strict";

  var app = document.getElementById("shortage-app");
  if (!app) { return; }

  var MSG = JSON.parse(app.getAttribute("data-messages"));
  var USER = app.getAttribute("data-user-id");
  var FACILITY = app.getAttribute("data-facility-id");
  var TIME_ZONE = app.getAttribute("data-time-zone");  // the county's, not the tablet's own
  var QUEUE_KEY = "pharmacy.shortageQueue." + USER;
  var SENT_KEY = "pharmacy.shortageSent." + USER;
  var PRODUCTS_KEY = "pharmacy.products." + FACILITY;
  var PRODUCTS_MAX_AGE_MS = 12 * 3600 * 1000;
  var RETRY_MS = 15000;
  var PROPOSAL_WAIT_MS = 4000;

  var search = document.getElementById("product-search");
  var results = document.getElementById("search-results");
  var picked = document.getElementById("picked");
  var qty = document.getElementById("qty");
  var note = document.getElementById("note");
  var submit = document.getElementById("submit");
  var message = document.getElementById("form-message");
  var list = document.getElementById("my-registrations");
  var netStatus = document.getElementById("net-status");
  var queueCount = document.getElementById("queue-count");
  var proposal = document.getElementById("proposal");
  var proposalList = document.getElementById("proposal-list");
  var proposalKeep = document.getElementById("proposal-keep");

  var allowedTiers = (search.getAttribute("data-allowed-tiers") || "").split(",").filter(Boolean);
  var chosen = null;          // {id, name, form, strength, pack_unit, pack[, typed]} or {free_text}
  var proposedText = "";      // the typed name whose proposal is on screen
  var proposalSeq = 0;
  var serverItems = [];       // the last list the server gave us
  var flushing = false;
  var searchSeq = 0;
  var loginExpired = false;
  var lastSubmitAt = 0;       // a second tap of the same press must not read as "pick a product first"
  var DOUBLE_TAP_MS = 1500;
  var qtyUnit = document.getElementById("qty-unit");
  var DEFAULT_UNIT = qtyUnit.textContent;
  var DETAIL_URL = app.getAttribute("data-detail-url") || "";

  // ---- storage ------------------------------------------------------------------------------------------
  function load(key, fallback) {
    try { var raw = window.localStorage.getItem(key); return raw ? JSON.parse(raw) : fallback; }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { window.localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* storage full: keep going */ }
  }
  function queue() { return load(QUEUE_KEY, []); }
  function setQueue(items) { save(QUEUE_KEY, items); }

  function newClientId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) { return (b + 0x100).toString(16).slice(1); }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function format(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (_m, name) { return values[name]; });
  }

  // ---- products: server search, with the facility's list cached for offline use ---------------------------
  function normalise(item) {
    // Accepts the catalog's product rows and the compact rows of /api/v1/shortages/products (and a search API
    // that nests the product): one shape for the rest of the page.
    var p = item.product || item;
    var drug = p.drug || {};
    var packSize = p.pack_size, base = p.base_unit;
    return {
      id: p.id || p.product_id,
      name: p.generic_name || p.name || drug.generic_name || "",
      form: p.dosage_form || p.form || "",
      strength: p.strength || "",
      pack_unit: p.pack_unit || "",
      pack: p.pack || p.pack_label || (packSize ? packSize + (base || "") + "/" + (p.pack_unit || "") : ""),
      initials: p.pinyin_initials || p.initials || drug.pinyin_initials || "",
      code: p.code || "",
      tier: p.lowest_tier || "",
      edition: p.edition || "",
      is_other_edition: !!p.is_other_edition
    };
  }

  function cachedProducts() { return (load(PRODUCTS_KEY, null) || { items: [] }).items; }

  function refreshProductCache() {
    var cache = load(PRODUCTS_KEY, null);
    if (cache && Date.now() - cache.at < PRODUCTS_MAX_AGE_MS) { return; }
    fetchJson(app.getAttribute("data-products-url")).then(function (res) {
      if (res.ok && Array.isArray(res.body)) { save(PRODUCTS_KEY, { at: Date.now(), items: res.body.map(normalise) }); }
    }).catch(function () { /* offline: keep the old list */ });
  }

  function searchLocal(q) {
    var upper = q.toUpperCase();
    var scored = [];
    cachedProducts().forEach(function (p) {
      var score = -1;
      if (p.initials && p.initials.indexOf(upper) === 0) { score = 0; }
      else if (p.name.indexOf(q) === 0) { score = 1; }
      else if (p.initials && p.initials.indexOf(upper) > 0) { score = 2; }
      else if (p.name.indexOf(q) > 0) { score = 3; }
      else if (p.code && p.code.toUpperCase().indexOf(upper) === 0) { score = 4; }
      if (score >= 0) { scored.push([score, p]); }
    });
    scored.sort(function (a, b) { return a[0] - b[0] || a[1].name.localeCompare(b[1].name); });
    return scored.slice(0, 12).map(function (s) { return s[1]; });
  }

  function searchServer(q) {
    var url = search.getAttribute("data-search-url");
    var param = search.getAttribute("data-search-param") || "q";
    var extra = search.getAttribute("data-search-extra");
    var full = url + (url.indexOf("?") >= 0 ? "&" : "?") + encodeURIComponent(param) + "=" + encodeURIComponent(q) +
      (extra ? "&" + extra : "");
    return fetchJson(full).then(function (res) {
      if (!res.ok) { throw new Error("search failed: " + res.status); }
      var body = res.body;
      var items = Array.isArray(body) ? body : (body.items || body.results || []);
      return items.map(normalise).filter(function (p) {
        return p.id && (!p.tier || allowedTiers.length === 0 || allowedTiers.indexOf(p.tier) >= 0);
      });
    });
  }

  function runSearch() {
    var q = search.value.trim();
    var seq = ++searchSeq;
    if (!q) { hideResults(); return; }
    var offline = !navigator.onLine;
    var lookup = offline ? Promise.reject(new Error("offline")) : searchServer(q);
    lookup.then(function (items) {
      if (seq === searchSeq) { showResults(q, items, false); }
    }).catch(function () {
      if (seq === searchSeq) { showResults(q, searchLocal(q), true); }
    });
  }

  function hideResults() { results.hidden = true; results.innerHTML = ""; }

  function showResults(q, items, fromCache) {
    results.innerHTML = "";
    if (fromCache) { results.appendChild(hint(MSG.offline_results)); }
    if (!items.length) { results.appendChild(hint(MSG.no_results)); }
    items.forEach(function (p) {
      var li = document.createElement("li");
      li.setAttribute("role", "option");
      var button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.setAttribute("data-product-id", p.id);
      var name = document.createElement("strong");
      name.textContent = p.name;
      var detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = [p.form, p.strength, p.pack].filter(Boolean).join(" · ") + (p.initials ? " · " + p.initials : "");
      button.appendChild(name);
      button.appendChild(detail);
      if (p.is_other_edition) {
        // A product of another list edition, offered because this facility still holds it.
        var badge = document.createElement("span");
        badge.className = "badge badge-other-edition";
        badge.textContent = (search.getAttribute("data-other-edition-label") || "") + " " + p.edition;
        button.appendChild(badge);
      }
      button.addEventListener("click", function () { choose(p); });
      li.appendChild(button);
      results.appendChild(li);
    });
    var free = document.createElement("li");
    free.className = "free-text";
    var freeButton = document.createElement("button");
    freeButton.type = "button";
    freeButton.textContent = format(MSG.register_as_text, { text: q });
    freeButton.addEventListener("click", function () { proposeFor(q); });
    free.appendChild(freeButton);
    results.appendChild(free);
    results.hidden = false;
  }

  function hint(text) {
    var li = document.createElement("li");
    li.className = "hint";
    li.textContent = text;
    return li;
  }

  // ---- a typed name: the products it may mean, or the text as typed -----------------------------------------
  function proposeFor(text) {
    var seq = ++proposalSeq;
    var url = app.getAttribute("data-proposals-url");
    hideResults();
    if (!navigator.onLine || !url) { choose({ free_text: text }); return; }
    say(MSG.proposing, "");
    withTimeout(fetchJson(url + "?text=" + encodeURIComponent(text)), PROPOSAL_WAIT_MS).then(function (res) {
      if (seq !== proposalSeq) { return; }
      say("", "");
      var products = res.ok && res.body && Array.isArray(res.body.products) ? res.body.products.map(normalise) : [];
      if (products.length) { showProposal(text, res.body.status, products); } else { choose({ free_text: text }); }
    }).catch(function () {
      // Offline after all, or too slow: the text is registered as typed and the township matches it later.
      if (seq === proposalSeq) { say("", ""); choose({ free_text: text }); }
    });
  }

  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = window.setTimeout(function () { reject(new Error("timeout")); }, ms);
      promise.then(function (value) { window.clearTimeout(timer); resolve(value); },
        function (error) { window.clearTimeout(timer); reject(error); });
    });
  }

  function showProposal(text, status, products) {
    proposedText = text;
    document.getElementById("proposal-title").textContent = format(MSG.proposal_title, { text: text });
    proposalList.innerHTML = "";
    products.forEach(function (p, i) {
      var best = i === 0 && status === "auto_matched";
      var li = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.className = best ? "is-best" : "";
      button.setAttribute("data-product-id", p.id);
      var name = document.createElement("strong");
      name.textContent = p.name;
      var detail = document.createElement("span");
      detail.className = "detail";
      detail.textContent = [p.form, p.strength, p.pack].filter(Boolean).join(" · ");
      button.appendChild(name);
      button.appendChild(detail);
      if (best) { button.appendChild(document.createTextNode(" ")); button.appendChild(badge("badge badge-best", MSG.proposal_best)); }
      button.addEventListener("click", function () { p.typed = text; choose(p); });
      li.appendChild(button);
      proposalList.appendChild(li);
    });
    proposalKeep.textContent = MSG.proposal_keep;
    search.hidden = true;
    proposal.hidden = false;
    proposalList.querySelector("button").focus();
  }

  function hideProposal() {
    proposalSeq++;
    proposedText = "";
    proposal.hidden = true;
    proposalList.innerHTML = "";
  }

  function choose(product) {
    hideProposal();
    chosen = product;
    hideResults();
    search.value = "";
    document.getElementById("picked-name").textContent = product.free_text || product.name;
    document.getElementById("picked-detail").textContent = product.free_text ? MSG.free_text :
      [product.form, product.strength, product.pack].filter(Boolean).join(" · ");
    // A product counts in its own packs; a name typed as text has no known pack, so the unit says "packs".
    qtyUnit.textContent = product.free_text ? MSG.free_text_unit : (product.pack_unit || DEFAULT_UNIT);
    picked.hidden = false;
    search.hidden = true;
  }

  function clearChoice() {
    chosen = null;
    picked.hidden = true;
    search.hidden = false;
    search.focus();
  }

  // ---- sending ------------------------------------------------------------------------------------------
  function fetchJson(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ "Accept": "application/json" }, options.headers || {});
    return window.fetch(url, options).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        return { ok: response.ok, status: response.status, body: body };
      });
    });
  }

  function register() {
    var count = parseInt(qty.value, 10);
    if (!chosen && Date.now() - lastSubmitAt < DOUBLE_TAP_MS) { return; }  // the same press, tapped twice
    if (!chosen) { say(MSG.pick_product, "error"); return; }
    if (!(count >= 1 && count <= 10000) || String(count) !== qty.value.trim()) { say(MSG.bad_qty, "error"); return; }
    var payload = {
      client_id: newClientId(),
      product_id: chosen.id || null,
      free_text: chosen.free_text || chosen.typed || "",
      qty_packs: count,
      urgency: checked("urgency"),
      reason: checked("reason"),
      note: note.value.trim(),
      client_created_at: new Date().toISOString()
    };
    var items = queue();
    items.push({
      client_id: payload.client_id, payload: payload, state: "waiting", error: "",
      label: chosen.free_text || [chosen.name, chosen.form, chosen.strength].filter(Boolean).join(" "),
      pack_unit: chosen.free_text ? MSG.free_text_unit : (chosen.pack_unit || ""), queued_at: payload.client_created_at
    });
    setQueue(items);
    lastSubmitAt = Date.now();
    resetForm();
    render();
    say(navigator.onLine ? MSG.sent : MSG.saved_offline, navigator.onLine ? "ok" : "warn");
    flush();
  }

  function checked(name) {
    var input = app.querySelector("input[name=" + name + "]:checked");
    return input ? input.value : "";
  }

  function resetForm() {
    hideProposal();
    chosen = null;
    picked.hidden = true;
    search.hidden = false;
    search.value = "";
    qty.value = "1";
    qtyUnit.textContent = DEFAULT_UNIT;
    note.value = "";
    app.querySelector("input[name=urgency]").checked = true;
    app.querySelector("input[name=reason]").checked = true;
  }

  function say(text, kind) {
    message.textContent = text;
    message.className = "form-message " + (kind || "");
  }

  function flush() {
    if (flushing) { return Promise.resolve(); }
    var waiting = queue().filter(function (item) { return item.state === "waiting"; });
    if (!waiting.length) { return Promise.resolve(); }
    flushing = true;
    setNet(navigator.onLine);
    return waiting.reduce(function (chain, item) {
      return chain.then(function (keepGoing) { return keepGoing === false ? false : sendOne(item); });
    }, Promise.resolve(true)).then(function () {
      flushing = false;
      render();
      return refreshList();
    }, function () { flushing = false; render(); });
  }

  function sendOne(item) {
    return fetchJson(app.getAttribute("data-register-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(item.payload)
    }).then(function (res) {
      if (res.status === 200 || res.status === 201) {
        loginExpired = false;
        dequeue(item.client_id, null);
        remember(res.body);
        setNet(true);
        return true;
      }
      if (res.status === 401) { loginExpired = true; say(MSG.login_again, "error"); return false; }
      if (res.status >= 400 && res.status < 500) {
        var error = res.body && res.body.error ? res.body.error.message : String(res.status);
        // The server holds another registration under this id (409): keep this one, refused, to send as new.
        dequeue(item.client_id, error, res.body && res.body.error && res.body.error.code === "idempotency_key_reused");
        return true;
      }
      return false;  // the server failed: keep it queued and try later
    }, function () {
      setNet(false);
      return false;  // no network: keep it queued
    });
  }

  function dequeue(clientId, error, keyReused) {
    var items = queue();
    items.forEach(function (item) {
      if (item.client_id !== clientId || !error) { return; }
      item.state = "rejected";
      item.error = error;
      item.key_reused = !!keyReused;
    });
    setQueue(error ? items : items.filter(function (item) { return item.client_id !== clientId; }));
  }

  function sendAsNew(clientId) {
    var items = queue();
    items.forEach(function (item) {
      if (item.client_id !== clientId) { return; }
      item.client_id = item.payload.client_id = newClientId();
      item.state = "waiting";
      item.error = "";
      item.key_reused = false;
    });
    setQueue(items);
    render();
    flush();
  }

  function remember(shortage) {
    if (!shortage || !shortage.client_id) { return; }
    var sent = load(SENT_KEY, []).filter(function (s) { return s.client_id !== shortage.client_id; });
    sent.unshift(shortage);
    save(SENT_KEY, sent.slice(0, 30));
  }

  function refreshList() {
    if (!navigator.onLine) { return Promise.resolve(); }
    return fetchJson(app.getAttribute("data-list-url")).then(function (res) {
      if (res.ok && Array.isArray(res.body)) {
        serverItems = res.body;
        save(SENT_KEY, res.body.slice(0, 30));
        setNet(true);
        render();
      } else if (res.status === 401) {
        loginExpired = true;
        say(MSG.login_again, "error");
      }
    }).catch(function () { setNet(false); });
  }

  // ---- drawing ------------------------------------------------------------------------------------------
  function setNet(online) {
    var on = online && navigator.onLine;
    netStatus.textContent = on ? MSG.online : MSG.offline;
    netStatus.className = "net " + (on ? "net-online" : "net-offline");
  }

  function render() {
    var pending = queue();
    var known = {};
    var rows = [];
    pending.forEach(function (item) {
      known[item.client_id] = true;
      rows.push(entry(item.label, item.payload.qty_packs, item.pack_unit, item.payload.urgency, item.queued_at,
        item.state, null, item.error, item.client_id, null, item.key_reused));
    });
    var server = serverItems.length ? serverItems : load(SENT_KEY, []);
    server.forEach(function (s) {
      if (known[s.client_id]) { return; }
      known[s.client_id] = true;
      rows.push(entry(s.label, s.qty_packs, s.pack_unit || "", s.urgency, s.created_at, "received", s.status, "",
        s.client_id, s.id));
    });
    if (!rows.length) { return; }  // keep what the server drew
    list.innerHTML = "";
    rows.forEach(function (row) { list.appendChild(row); });
    var waitingCount = pending.filter(function (i) { return i.state === "waiting"; }).length;
    queueCount.hidden = waitingCount === 0;
    queueCount.textContent = format(MSG.queue_count, { n: waitingCount });
  }

  function entry(label, count, unit, urgency, at, state, status, error, clientId, serverId, canSendAsNew) {
    var li = document.createElement("li");
    li.className = "reg is-" + state;
    li.setAttribute("data-client-id", clientId);
    li.setAttribute("data-state", state);
    var main = document.createElement("div");
    main.className = "reg-main";
    var name = document.createElement("strong");
    name.textContent = label;
    if (serverId && DETAIL_URL) {  // once the server has it, the entry opens its registration and history
      var link = document.createElement("a");
      link.href = DETAIL_URL.replace(/0$/, String(serverId));
      link.appendChild(name);
      main.appendChild(link);
    } else {
      main.appendChild(name);
    }
    main.appendChild(document.createTextNode(" × " + count + unit + " "));
    main.appendChild(badge("badge urg-" + urgency, MSG.urgencies[urgency] || urgency));
    var meta = document.createElement("div");
    meta.className = "reg-meta";
    meta.appendChild(badge("state state-" + state, MSG[state]));
    if (status) { meta.appendChild(badge("badge status-" + status, MSG.statuses[status] || status)); }
    var when = document.createElement("span");
    when.className = "muted";
    when.textContent = shortTime(at);
    meta.appendChild(when);
    if (error) {
      var err = document.createElement("span");
      err.className = "error-text";
      err.textContent = error;
      meta.appendChild(err);
      if (canSendAsNew) {
        var again = document.createElement("button");
        again.type = "button";
        again.className = "btn btn-small send-as-new";
        again.textContent = MSG.send_as_new;
        again.addEventListener("click", function () { sendAsNew(clientId); });
        meta.appendChild(again);
      }
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "btn btn-small";
      remove.textContent = MSG.remove;
      remove.addEventListener("click", function () {
        setQueue(queue().filter(function (i) { return i.client_id !== clientId; }));
        render();
      });
      meta.appendChild(remove);
    }
    li.appendChild(main);
    li.appendChild(meta);
    return li;
  }

  function badge(className, text) {
    var span = document.createElement("span");
    span.className = className;
    span.textContent = text;
    return span;
  }

  // ---- times: the server writes UTC with a "Z"; the page shows the county's clock, as the server's pages do ----
  var clockFormat = countyClockFormat();

  function countyClockFormat() {
    // Only the digits are used, so the locale does not matter; h23 keeps midnight at 00, not 24.
    var options = { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    try { return new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: TIME_ZONE || undefined }, options)); }
    catch (e) { return new Intl.DateTimeFormat("en-GB", options); }  // a zone this browser does not know
  }

  function parseServerTime(iso) {
    // An answer kept from an older server may lack the offset; its times were UTC all the same. Without this,
    // `new Date` would read such a time as the tablet's local time (8 hours early in Shanghai).
    if (typeof iso !== "string" || !iso) { return new Date(NaN); }
    var hasOffset = /(Z|[+-]\d\d:?\d\d)$/i.test(iso);
    return new Date(hasOffset ? iso : iso.replace(" ", "T") + "Z");
  }

  function shortTime(iso) {
    var d = parseServerTime(iso);
    if (isNaN(d.getTime())) { return ""; }
    var parts = {};
    clockFormat.formatToParts(d).forEach(function (part) { parts[part.type] = part.value; });
    return parts.month + "-" + parts.day + " " + parts.hour + ":" + parts.minute;
  }

  // ---- wiring -------------------------------------------------------------------------------------------
  var debounce = null;
  search.addEventListener("input", function () {
    window.clearTimeout(debounce);
    debounce = window.setTimeout(runSearch, 150);
  });
  document.getElementById("picked-clear").addEventListener("click", clearChoice);
  proposalKeep.addEventListener("click", function () { choose({ free_text: proposedText }); });
  document.getElementById("qty-minus").addEventListener("click", function () {
    qty.value = String(Math.max(1, (parseInt(qty.value, 10) || 1) - 1));
  });
  document.getElementById("qty-plus").addEventListener("click", function () {
    qty.value = String(Math.min(10000, (parseInt(qty.value, 10) || 0) + 1));
  });
  app.querySelectorAll(".js-quick").forEach(function (button) {
    button.addEventListener("click", function () { choose(normalise(JSON.parse(button.getAttribute("data-product")))); });
  });
  submit.addEventListener("click", register);
  window.addEventListener("online", function () { setNet(true); flush(); refreshList(); });
  window.addEventListener("offline", function () { setNet(false); });
  window.setInterval(function () { if (!loginExpired || navigator.onLine) { flush(); } }, RETRY_MS);

  setNet(navigator.onLine);
  render();
  if (navigator.onLine) { refreshProductCache(); }
  flush().then(refreshList);
})();
