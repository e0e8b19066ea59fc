// The disclosure officer's review page. Talks only to this origin's JSON API with the token
// kept in sessionStorage; writes every value with textContent (never innerHTML), so nothing
// from a request or the register can become markup or script.
"use strict";

(function () {
  const TOKEN_KEY = "ftigate.officer-token";
  const batchId = document.body.dataset.batchId || "";
  const $ = (id) => document.getElementById(id);
  let me = null;
  let queue = null;

  function token() {
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function say(text) {
    $("status").textContent = text;
  }

  function alertText(text) {
    const el = $("alert");
    el.textContent = text || "";
    el.hidden = !text;
  }

  async function api(method, path, body) {
    const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
    const init = { method, headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    if (!res.ok) {
      const err = (data && data.error) || { code: "HTTP_" + res.status, message: res.statusText };
      const e = new Error(err.message);
      e.status = res.status;
      e.code = err.code;
      throw e;
    }
    return data;
  }

  function showLogin(message) {
    $("login").hidden = false;
    $("main").hidden = true;
    $("who").hidden = true;
    $("logout").hidden = true;
    alertText(message || "");
    $("token").focus();
  }

  async function login(ev) {
    ev.preventDefault();
    const value = $("token").value.trim();
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("token").value = "";
    await start();
  }

  function logout() {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
    queue = null;
    say("Logged out.");
    showLogin("");
  }

  async function start() {
    if (!token()) {
      showLogin("");
      return;
    }
    try {
      me = await api("GET", "/v1/me");
    } catch (e) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(e.status === 401 ? "That token is not valid or its account is disabled." : e.message);
      return;
    }
    if (me.role !== "officer") {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin("Only a disclosure officer may review; this token is for the " + me.role + " role.");
      return;
    }
    alertText("");
    $("login").hidden = true;
    $("main").hidden = false;
    $("who").hidden = false;
    $("who").textContent = "Officer " + me.name;
    $("logout").hidden = false;
    if (batchId) {
      await loadQueue();
    } else {
      await loadBatches();
    }
  }

  async function loadBatches() {
    $("batches").hidden = false;
    const list = $("batch-list");
    list.replaceChildren();
    const batches = await api("GET", "/v1/review/batches");
    if (!batches.length) {
      const li = document.createElement("li");
      li.textContent = "No batch is awaiting review or release.";
      list.append(li);
    }
    for (const b of batches) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/review/" + encodeURIComponent(b.batch_id);
      a.textContent = b.batch_id;
      const info = document.createElement("span");
      info.textContent = " — " + b.counts.pending + " pending, " + b.counts.approved +
        " approved, " + b.counts.withheld + " withheld" +
        (b.signed_off_by.length ? "; signed off by " + b.signed_off_by.join(", ") : "");
      li.append(a, info);
      list.append(li);
    }
    say(batches.length + " batch(es) listed.");
  }

  function fmt(p) {
    return p === null || p === undefined ? "—" : Number(p).toFixed(4);
  }

  function addressOf(a) {
    if (!a) return "";
    return [a.street, a.unit, a.city, a.state, a.zip].filter(Boolean).join(", ");
  }

  // Accents and case are not differences an officer needs flagged (María = MARIA).
  function plain(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toUpperCase();
  }

  function row(tbody, label, left, right) {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.scope = "row";
    th.textContent = label;
    const l = document.createElement("td");
    l.textContent = left || "";
    const r = document.createElement("td");
    r.textContent = right || "";
    if (left && right && plain(left) !== plain(right)) {
      tr.className = "differs";
    }
    tr.append(th, l, r);
    tbody.append(tr);
  }

  function renderItem(item) {
    const node = $("item-template").content.firstElementChild.cloneNode(true);
    node.id = "item-" + item.request_id;
    node.dataset.requestId = item.request_id;
    node.dataset.state = item.state;
    node.querySelector(".item-title").textContent = "Request " + item.request_id + " (line " + item.line + ")";
    node.querySelector(".item-state").textContent = item.state === "pending"
      ? "Pending"
      : (item.state === "approved" ? "Approved" : "Withheld") + (item.acted_by ? " by " + item.acted_by : "");
    const q = item.request;
    const c = item.candidate || {};
    const tbody = node.querySelector(".rows");
    row(tbody, "Name", [q.first_name, q.middle_name, q.last_name].filter(Boolean).join(" "),
      [c.first_name, c.middle_name, c.last_name, c.suffix].filter(Boolean).join(" "));
    row(tbody, "Date of birth", q.dob, c.dob);
    row(tbody, "Address", addressOf(q), addressOf(c.last_known_address));
    row(tbody, "TIN", q.tin_masked, c.tin_masked ? c.tin_masked + " (" + c.tin_type + ")" : "");
    row(tbody, "Statute / case", [q.statute, q.case_number].filter(Boolean).join(" · "), "");
    row(tbody, "Reason given", q.reason, "");
    node.querySelector(".p").textContent = fmt(item.probability);
    node.querySelector(".runner").textContent = fmt(item.runner_up_probability);
    node.querySelector(".reason").textContent = item.reason || "—";
    node.querySelector(".clean").textContent = item.clean ? "yes" : "no: " + item.not_clean_because.join("; ");
    const rules = node.querySelector(".rules");
    for (const r of item.rules) {
      const li = document.createElement("li");
      li.textContent = r;
      rules.append(li);
    }
    const approve = node.querySelector(".approve");
    const withhold = node.querySelector(".withhold");
    approve.setAttribute("aria-label", "Approve request " + item.request_id);
    withhold.setAttribute("aria-label", "Withhold request " + item.request_id);
    const open = item.state === "pending" && queue.may_review;
    approve.disabled = !open;
    withhold.disabled = !open;
    approve.addEventListener("click", () => act({ approve: [item.request_id] }, "Approved " + item.request_id));
    withhold.addEventListener("click", () => act({ withhold: [item.request_id] }, "Withheld " + item.request_id));
    return node;
  }

  async function loadQueue() {
    $("queue").hidden = false;
    try {
      queue = await api("GET", "/v1/review/batches/" + encodeURIComponent(batchId));
    } catch (e) {
      alertText(e.message);
      return;
    }
    $("batch-id").textContent = queue.batch_id;
    $("batch-status").textContent = queue.status;
    $("agreement").textContent = queue.agreement_id || "—";
    $("policy").textContent = fmt(queue.threshold) + " / " + fmt(queue.margin);
    $("count-pending").textContent = String(queue.counts.pending);
    $("count-approved").textContent = String(queue.counts.approved);
    $("count-withheld").textContent = String(queue.counts.withheld);
    $("reviewers").textContent = queue.reviewers.length ? queue.reviewers.join(", ") : "nobody yet";
    const items = $("items");
    items.replaceChildren(...queue.items.map(renderItem));
    const clean = queue.items.filter((i) => i.state === "pending" && i.clean);
    const pending = queue.items.filter((i) => i.state === "pending");
    $("approve-clean").disabled = !queue.may_review || clean.length === 0;
    $("approve-clean").textContent = "Approve all clean (" + clean.length + ")";
    $("withhold-all").disabled = !queue.may_review || pending.length === 0;
    $("withhold-all").textContent = "Withhold all pending (" + pending.length + ")";
    $("release").disabled = !queue.may_release;
    $("release-why").textContent = queue.may_release
      ? "You did not review this batch, so you may release it."
      : queue.release_blocked_because || "";
  }

  async function act(body, done) {
    alertText("");
    try {
      const r = await api("POST", "/v1/review/batches/" + encodeURIComponent(batchId), body);
      say(done + ". " + r.pending + " pending" + (r.signed_off ? "; you signed off the batch." : "."));
    } catch (e) {
      alertText(e.message);
    }
    await loadQueue();
  }

  async function approveClean() {
    const ids = queue.items.filter((i) => i.state === "pending" && i.clean).map((i) => i.request_id);
    if (ids.length) await act({ approve: ids }, "Approved " + ids.length + " clean item(s)");
  }

  async function withholdAll() {
    await act({ withhold_all: true }, "Withheld every pending item");
  }

  async function release() {
    alertText("");
    $("release").disabled = true;
    try {
      const r = await api("POST", "/v1/review/batches/" + encodeURIComponent(batchId) + "/release");
      say("Released " + r.leaf_count + " decisions as ledger leaves " + r.first_leaf + "–" +
        (r.first_leaf + r.leaf_count - 1) + ".");
    } catch (e) {
      alertText(e.message);
    }
    await loadQueue();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", login);
    $("logout").addEventListener("click", logout);
    $("approve-clean").addEventListener("click", approveClean);
    $("withhold-all").addEventListener("click", withholdAll);
    $("release").addEventListener("click", release);
    start();
  });
})();
