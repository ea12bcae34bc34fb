/* The officer's desk, inside Telegram. Plain JavaScript, no build step, nothing fetched from elsewhere:
 * Telegram's own telegram-web-app.js is not loaded, so the few things we need from the client are done
 * here — reading initData (window.Telegram.WebApp.initData when a host page provides it, else the
 * #tgWebAppData=… fragment Telegram opens the page with) and posting web_app_* events to close the app.
 * Every text comes from the message catalogue (GET strings); every request carries initData. */
(function () {
  "use strict";

  var hash = new URLSearchParams(window.location.hash.slice(1));
  var tg = window.Telegram && window.Telegram.WebApp;
  var INIT = (tg && tg.initData) || hash.get("tgWebAppData") || "";
  var S = {};
  var lang = "zh";
  var data = null;
  var current = null;
  var filters = { q: "", policy: "", state: "", light: "" };
  var LIGHTS = ["red", "yellow", "green", "grey", "none"];

  function $(id) { return document.getElementById(id); }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function s(key, params) {
    var text = S[key] !== undefined ? S[key] : key;
    return text.replace(/\{(\w+)\}/g, function (m, name) {
      return params && params[name] !== undefined && params[name] !== null ? String(params[name]) : m;
    });
  }

  /* The client side of Telegram's Mini App protocol, as telegram-web-app.js speaks it. */
  function postEvent(type, payload) {
    var body = payload || {};
    try {
      if (window.TelegramWebviewProxy && window.TelegramWebviewProxy.postEvent) {
        window.TelegramWebviewProxy.postEvent(type, JSON.stringify(body));
        return true;
      }
      if (window.external && "notify" in window.external) {
        window.external.notify(JSON.stringify({ eventType: type, eventData: body }));
        return true;
      }
      if (window.parent && window.parent !== window) {
        window.parent.postMessage(JSON.stringify({ eventType: type, eventData: body }), "*");
        return true;
      }
    } catch (e) { /* not inside Telegram: nothing to tell */ }
    return false;
  }

  function closeApp() {
    if (tg && typeof tg.close === "function") { tg.close(); return; }
    postEvent("web_app_close", {});
  }

  function applyTheme() {
    var raw = hash.get("tgWebAppThemeParams");
    if (!raw) { return; }
    var map = { bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
      button_color: "--button", button_text_color: "--button-text", secondary_bg_color: "--secondary-bg" };
    try {
      var theme = JSON.parse(raw);
      Object.keys(map).forEach(function (k) {
        if (typeof theme[k] === "string" && /^#[0-9a-fA-F]{3,8}$/.test(theme[k])) {
          document.documentElement.style.setProperty(map[k], theme[k]);
        }
      });
    } catch (e) { /* a theme we cannot read: keep ours */ }
  }

  function guessLanguage() {
    try {
      var user = JSON.parse(new URLSearchParams(INIT).get("user") || "{}");
      if (user.language_code) { return user.language_code; }
    } catch (e) { /* unsigned guess only; the server decides */ }
    return navigator.language || "zh";
  }

  function loadStrings(code) {
    return fetch("strings?lang=" + encodeURIComponent(code)).then(function (r) { return r.json(); })
      .then(function (body) { S = body.strings; lang = body.lang; document.documentElement.lang = lang === "en" ? "en" : "zh-CN"; });
  }

  function api(path, method) {
    return fetch("api/" + path, { method: method || "GET", headers: { Authorization: "tma " + INIT } })
      .then(function (r) {
        if (r.status === 401) { throw new Error("unauthorized"); }
        if (r.status === 404) { throw new Error("not_found"); }
        if (!r.ok) { throw new Error("failed"); }
        return r;
      });
  }

  function say(key, error) {
    var box = $("message");
    box.textContent = s(key);
    box.className = error ? "error" : "";
    box.hidden = false;
  }

  function quiet() { $("message").hidden = true; }

  function failure(err) {
    var key = err && err.message === "unauthorized" ? "desk.err.unauthorized"
      : err && err.message === "not_found" ? "desk.err.not_found" : "desk.err.failed";
    say(key, true);
  }

  /* -- the table ---------------------------------------------------------------------------------- */
  function daysText(row) {
    if (row.days_left === null || row.days_left === undefined) { return ""; }
    if (row.days_left < 0) { return s("desk.overdue_by", { n: -row.days_left, unit: row.days_unit }); }
    if (row.days_left === 0) { return s("desk.due_today"); }
    return s("desk.left", { n: row.days_left, unit: row.days_unit });
  }

  function dot(light) {
    var d = el("span", "dot " + light);
    d.title = s("desk.light." + light);
    d.setAttribute("aria-label", s("desk.light." + light));
    return d;
  }

  function matches(row) {
    if (filters.policy && row.policy !== filters.policy) { return false; }
    if (filters.state && row.policy + ":" + row.state !== filters.state) { return false; }
    if (filters.light && row.light !== filters.light) { return false; }
    if (filters.q) {
      var hay = [row.number, row.applicant, row.project, row.unit].join(" ").toLowerCase();
      if (hay.indexOf(filters.q.toLowerCase()) < 0) { return false; }
    }
    return true;
  }

  function fillSelect(select, allKey, options) {
    var keep = select.value;
    select.textContent = "";
    var all = el("option", null, s(allKey));
    all.value = "";
    select.appendChild(all);
    options.forEach(function (o) {
      var opt = el("option", null, o.label);
      opt.value = o.key;
      select.appendChild(opt);
    });
    select.value = keep;
  }

  function renderLights() {
    var box = $("lights");
    box.textContent = "";
    LIGHTS.forEach(function (light) {
      var n = data.cases.filter(function (r) { return r.light === light; }).length;
      if (!n && light === "none") { return; }
      var b = el("button", filters.light === light ? "on" : "");
      b.type = "button";
      b.dataset.light = light;
      b.appendChild(dot(light));
      b.appendChild(el("span", null, s("desk.light." + light) + " " + n));
      b.addEventListener("click", function () {
        filters.light = filters.light === light ? "" : light;
        $("f-light").value = filters.light;
        renderTable();
      });
      box.appendChild(b);
    });
  }

  function renderTable() {
    renderLights();
    var body = document.querySelector("#table tbody");
    body.textContent = "";
    var shown = data.cases.filter(matches);
    shown.forEach(function (row) {
      var tr = el("tr", "case");
      tr.dataset.caseId = row.id;
      tr.dataset.number = row.number;
      tr.dataset.light = row.light;
      var c0 = el("td", "c-light");
      c0.appendChild(dot(row.light));
      var c1 = el("td");
      c1.appendChild(el("span", "num", row.number));
      if (row.own) { c1.appendChild(el("span", "own", s("desk.own"))); }
      c1.appendChild(el("span", "sub", row.applicant));
      c1.appendChild(el("span", "sub", row.policy_name));
      var c2 = el("td", null, row.state_label);
      var c3 = el("td");
      if (row.due) {
        c3.appendChild(el("span", row.light === "red" ? "late" : null, row.due + (row.provisional ? s("desk.provisional") : "")));
        c3.appendChild(el("span", "sub" + (row.light === "red" ? " late" : ""), daysText(row)));
        c3.appendChild(el("span", "sub", row.clock));
      } else {
        c3.appendChild(el("span", "sub", row.note));
      }
      [c0, c1, c2, c3].forEach(function (c) { tr.appendChild(c); });
      tr.addEventListener("click", function () { openCase(row.id); });
      body.appendChild(tr);
    });
    $("count").textContent = s("desk.count", { shown: shown.length, total: data.cases.length, today: data.today });
  }

  function showList() {
    current = null;
    $("detail").hidden = true;
    $("list").hidden = false;
    $("back").hidden = true;
    $("title").textContent = s("desk.title");
    quiet();
  }

  function loadList() {
    return api("cases").then(function (r) { return r.json(); }).then(function (body) {
      data = body;
      var next = body.lang !== lang ? loadStrings(body.lang) : Promise.resolve();
      return next.then(function () {
        setTexts();
        fillSelect($("f-policy"), "desk.filter.all_policies",
          body.policies.map(function (p) { return { key: p.key, label: p.name }; }));
        fillSelect($("f-state"), "desk.filter.all_states", body.states);
        fillSelect($("f-light"), "desk.filter.all_lights",
          LIGHTS.map(function (l) { return { key: l, label: s("desk.light." + l) }; }));
        showList();
        $("register").hidden = false;
        if (!body.cases.length) { say("desk.empty"); }
        renderTable();
        document.body.dataset.ready = "list";
      });
    });
  }

  /* -- one case ----------------------------------------------------------------------------------- */
  function openCase(id) {
    quiet();
    document.body.dataset.ready = "loading";
    api("cases/" + id).then(function (r) { return r.json(); }).then(function (page) {
      current = page;
      renderCase(page);
      window.scrollTo(0, 0);
      return api("cases/" + id + "/timeline.png").then(function (r) { return r.blob(); }).then(function (blob) {
        var img = $("d-timeline-img");
        img.onload = function () { document.body.dataset.ready = "case"; };
        img.src = URL.createObjectURL(blob);
      });
    }).catch(function (err) { failure(err); document.body.dataset.ready = "error"; });
  }

  function renderCase(page) {
    var c = page.case;
    $("list").hidden = true;
    $("detail").hidden = false;
    $("back").hidden = false;
    $("title").textContent = c.number;
    var head = $("d-head");
    head.textContent = "";
    var top = el("p");
    top.appendChild(dot(c.light));
    top.appendChild(el("span", "num", " " + c.number));
    head.appendChild(top);
    head.appendChild(el("p", null, c.policy_name + " · " + c.state_label));
    head.appendChild(el("p", "sub", s("desk.roles", { roles: page.roles.join(", ") })));
    if (c.due) {
      head.appendChild(el("p", c.light === "red" ? "late" : null,
        s("desk.next_due", { clock: c.clock, due: c.due, left: daysText(c), clause: c.clause })));
    }

    var actions = $("d-actions");
    actions.textContent = "";
    actions.appendChild(el("strong", null, s(page.actions.length ? "desk.actions" : "desk.no_actions")));
    if (page.actions.length) {
      var ul = el("ul");
      page.actions.forEach(function (a) { ul.appendChild(el("li", null, a.label + (a.clause ? " (" + a.clause + ")" : ""))); });
      actions.appendChild(ul);
    }
    var open = el("button", null, s("desk.open_in_chat"));
    open.type = "button";
    open.id = "open-chat";
    open.addEventListener("click", function () {
      open.disabled = true;
      api("cases/" + c.id + "/open", "POST").then(function () {
        say("desk.sent_to_chat");
        document.body.dataset.sent = "case";
        closeApp();
      }).catch(failure).then(function () { open.disabled = false; });
    });
    actions.appendChild(open);

    var clocks = $("d-clocks");
    clocks.textContent = "";
    page.clocks.forEach(function (k) {
      var li = el("li");
      li.appendChild(dot(k.light));
      var text = el("div");
      text.appendChild(el("span", null, k.label + " (" + k.clause + ")"));
      var detail = k.status_label;
      if (k.due) { detail += " · " + s("desk.clock.due", { due: k.due + (k.provisional ? s("desk.provisional") : "") }); }
      if (k.status === "running" && k.days_left !== null) { detail += " · " + daysText(k); }
      if (k.stopped) { detail += " · " + s(k.met === false ? "desk.clock.ended_late" : "desk.clock.ended", { date: k.stopped }); }
      text.appendChild(el("span", "sub", detail));
      li.appendChild(text);
      clocks.appendChild(li);
    });
    if (!page.clocks.length) { clocks.appendChild(el("li", "sub", s("desk.none"))); }

    $("d-file").textContent = page.text;

    var docs = $("d-docs");
    docs.textContent = "";
    page.documents.forEach(function (d) {
      var li = el("li");
      li.appendChild(el("span", null, d.label + ": " + d.name));
      var b = el("button", "secondary", s("desk.send_file"));
      b.type = "button";
      b.addEventListener("click", function () {
        b.disabled = true;
        api("files/" + d.ref + "/send", "POST").then(function () { say("desk.file_sent"); })
          .catch(failure).then(function () { b.disabled = false; });
      });
      li.appendChild(b);
      docs.appendChild(li);
    });
    if (!page.documents.length) { docs.appendChild(el("li", "sub", s("desk.none"))); }

    var log = $("d-log");
    log.textContent = "";
    page.log.forEach(function (line) { log.appendChild(el("li", null, line)); });
    $("d-timeline-img").removeAttribute("src");
    $("d-timeline-img").alt = s("desk.timeline");
  }

  /* -- the page ------------------------------------------------------------------------------------- */
  function setTexts() {
    document.title = s("desk.title");
    $("title").textContent = s("desk.title");
    $("back").textContent = s("desk.back");
    $("register").textContent = s("desk.register");
    $("search").placeholder = s("desk.search");
    $("h-case").textContent = s("desk.col.case");
    $("h-state").textContent = s("desk.col.state");
    $("h-due").textContent = s("desk.col.due");
    $("d-clocks-h").textContent = s("desk.clocks");
    $("d-timeline-h").textContent = s("desk.timeline");
    $("d-file-h").textContent = s("desk.case_file");
    $("d-docs-h").textContent = s("desk.documents");
    $("d-log-h").textContent = s("desk.log");
  }

  function wire() {
    $("back").addEventListener("click", function () { showList(); renderTable(); });
    $("search").addEventListener("input", function (e) { filters.q = e.target.value.trim(); renderTable(); });
    $("f-policy").addEventListener("change", function (e) { filters.policy = e.target.value; renderTable(); });
    $("f-state").addEventListener("change", function (e) { filters.state = e.target.value; renderTable(); });
    $("f-light").addEventListener("change", function (e) { filters.light = e.target.value; renderTable(); });
    $("register").addEventListener("click", function () {
      var b = $("register");
      b.disabled = true;
      api("register", "POST").then(function (r) { return r.json(); }).then(function (body) {
        say(body.ok ? "desk.register_sent" : "desk.empty");
        document.body.dataset.sent = "register";
      }).catch(failure).then(function () { b.disabled = false; });
    });
  }

  function start() {
    applyTheme();
    wire();
    postEvent("web_app_ready", {});
    postEvent("web_app_expand", {});
    loadStrings(guessLanguage()).then(function () {
      setTexts();
      if (!INIT) { say("desk.err.no_init", true); document.body.dataset.ready = "error"; return null; }
      return loadList();
    }).catch(function (err) { failure(err); document.body.dataset.ready = "error"; });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
