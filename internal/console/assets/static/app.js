// Conveyor's console: every action is an AWS API call, sent through /console/api as the
// signed-in user (so it is authorized and recorded as the AWS CLI's calls are).
"use strict";

const csrf = document.querySelector('meta[name="conveyor-csrf"]').content;
const page = document.getElementById("page");
const regionInput = document.getElementById("region");
regionInput.value = localStorage.getItem("conveyor-region") || regionInput.value;
regionInput.addEventListener("change", () => { localStorage.setItem("conveyor-region", regionInput.value.trim()); route(); });

const CLOUDTRAIL = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";

// call sends one API call and returns its answer, or throws an Error with AWS's code.
async function call(target, body) {
  const json10 = target.startsWith("AmazonSQS") || target.startsWith("ConveyorQueues");
  const r = await fetch("api", {
    method: "POST",
    headers: {
      "X-Amz-Target": target,
      "Content-Type": json10 ? "application/x-amz-json-1.0" : "application/x-amz-json-1.1",
      "X-Conveyor-Csrf": csrf,
      "X-Conveyor-Region": regionInput.value.trim(),
    },
    body: JSON.stringify(body || {}),
  });
  const text = await r.text();
  let data = {};
  try { data = text ? JSON.parse(text) : {}; } catch { data = { message: text }; }
  if (r.status === 401) { location.href = "login"; }
  if (!r.ok) {
    const e = new Error(data.message || data.Message || text || ("HTTP " + r.status));
    e.code = (data.__type || "").split("#").pop();
    throw e;
  }
  return data;
}

// h builds an element: h("td", {class: "x"}, "text", child…). Text is never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function show(...nodes) {
  page.replaceChildren(...nodes);
}

function pretty(s) {
  try { return JSON.stringify(typeof s === "string" ? JSON.parse(s) : s, null, 2); } catch { return String(s); }
}

function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

function download(name, type, text) {
  const a = h("a", { href: URL.createObjectURL(new Blob([text], { type })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
}

// ---- Event history (CloudTrail's LookupEvents) ----

const lookupKeys = ["EventName", "Username", "ResourceType", "ResourceName", "EventSource", "EventId", "ReadOnly", "AccessKeyId"];

function historyPage() {
  const key = h("select", { id: "h-key" }, lookupKeys.map(k => h("option", { value: k }, k)));
  const value = h("input", { id: "h-value", placeholder: "value" });
  const start = h("input", { id: "h-start", type: "datetime-local" });
  const end = h("input", { id: "h-end", type: "datetime-local" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const tbody = h("tbody");
  const more = h("button", { class: "secondary", type: "button", hidden: true }, "Load more");
  let token = null, loading = false, request = {}, seen = [];

  function query() {
    const q = { MaxResults: 50 };
    if (value.value.trim()) q.LookupAttributes = [{ AttributeKey: key.value, AttributeValue: value.value.trim() }];
    if (start.value) q.StartTime = new Date(start.value).getTime() / 1000;
    if (end.value) q.EndTime = new Date(end.value).getTime() / 1000;
    return q;
  }
  async function load(first) {
    if (loading) return;
    loading = true;
    status.textContent = "Loading…";
    try {
      if (first) { request = query(); token = null; seen = []; tbody.replaceChildren(); }
      const out = await call(CLOUDTRAIL + "LookupEvents", token ? { ...request, NextToken: token } : request);
      for (const e of out.Events || []) { seen.push(e); tbody.append(...historyRows(e)); }
      token = out.NextToken || null;
      more.hidden = !token;
      status.textContent = seen.length ? `${seen.length} events${token ? ", more below" : ""}` : "No events.";
    } catch (e) {
      status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    } finally {
      loading = false;
    }
  }
  async function all() {
    const out = [];
    let t = null;
    do {
      const r = await call(CLOUDTRAIL + "LookupEvents", t ? { ...request, NextToken: t } : request);
      out.push(...(r.Events || []));
      t = r.NextToken;
    } while (t && out.length < 100000);
    return out;
  }
  async function downloadJSON() {
    const events = await all();
    download("event-history.json", "application/json", JSON.stringify({ Records: events.map(e => JSON.parse(e.CloudTrailEvent)) }, null, 2));
  }
  async function downloadCSV() {
    const events = await all();
    const cell = v => '"' + String(v ?? "").replaceAll('"', '""') + '"';
    const lines = [["Event time", "User name", "Event name", "Resource type", "Resource name", "Event source", "Read-only", "Event ID"].map(cell).join(",")];
    for (const e of events) {
      const r = (e.Resources || [])[0] || {};
      lines.push([new Date(e.EventTime * 1000).toISOString(), e.Username, e.EventName, r.ResourceType, r.ResourceName, e.EventSource, e.ReadOnly, e.EventId].map(cell).join(","));
    }
    download("event-history.csv", "text/csv", lines.join("\n") + "\n");
  }
  more.addEventListener("click", () => load(false));
  const form = h("form", { class: "filters", onsubmit: ev => { ev.preventDefault(); load(true); } },
    h("label", {}, "Lookup attribute", key), h("label", {}, "Value", value),
    h("label", {}, "From", start), h("label", {}, "To", end),
    h("button", { type: "submit" }, "Apply"),
    h("button", { type: "button", class: "secondary", onclick: downloadJSON }, "Download JSON"),
    h("button", { type: "button", class: "secondary", onclick: downloadCSV }, "Download CSV"));
  const table = h("div", { class: "table-wrap" }, h("table", { id: "history" },
    h("thead", {}, h("tr", {}, ["Event time", "User name", "Event name", "Resource type", "Resource name", "Event source", "Read-only"].map(c => h("th", { scope: "col" }, c)))),
    tbody));
  show(h("h1", {}, "Event history"), form, status, table, h("p", {}, more));
  new IntersectionObserver(entries => { if (entries.some(e => e.isIntersecting) && token) load(false); }).observe(more);
  load(true);
}

function historyRows(e) {
  const r = (e.Resources || [])[0] || {};
  const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 7 }, h("pre", {}, pretty(e.CloudTrailEvent))));
  const toggle = () => { detail.hidden = !detail.hidden; row.setAttribute("aria-expanded", String(!detail.hidden)); };
  const row = h("tr", { class: "row", tabindex: 0, "aria-expanded": "false", onclick: toggle, onkeydown: ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); toggle(); } } },
    h("td", {}, new Date(e.EventTime * 1000).toISOString().replace("T", " ").replace(".000Z", " UTC")),
    h("td", {}, e.Username || ""), h("td", {}, e.EventName), h("td", {}, r.ResourceType || ""),
    h("td", {}, r.ResourceName || ""), h("td", {}, e.EventSource), h("td", {}, e.ReadOnly));
  return [row, detail];
}

// ---- Sandbox: test a pattern against sample events, and say why not ----

const samples = {
  "EC2 instance state change": {
    version: "0", id: "7bf73129-1428-4cd3-a780-95db273d1602", "detail-type": "EC2 Instance State-change Notification",
    source: "aws.ec2", account: "123456789012", time: "2026-11-26T13:51:06Z", region: "us-east-1",
    resources: ["arn:aws:ec2:us-east-1:123456789012:instance/i-0abcd1234ef567890"],
    detail: { "instance-id": "i-0abcd1234ef567890", state: "pending" },
  },
  "S3 CreateBucket via CloudTrail": {
    version: "0", id: "2d8ea7b1-5a4c-4d3e-9a55-0b5b3b2a1c11", "detail-type": "AWS API Call via CloudTrail", source: "aws.s3",
    account: "123456789012", time: "2026-11-26T14:02:11Z", region: "us-east-1", resources: [],
    detail: {
      eventVersion: "1.09", userIdentity: { type: "IAMUser", userName: "alice", accountId: "123456789012" },
      eventTime: "2026-11-26T14:02:11Z", eventSource: "s3.amazonaws.com", eventName: "CreateBucket", awsRegion: "us-east-1",
      sourceIPAddress: "203.0.113.7", requestParameters: { bucketName: "reports-2026", Host: "reports-2026.s3.amazonaws.com" },
      responseElements: null, eventType: "AwsApiCall", readOnly: false, managementEvent: true,
    },
  },
  "Scheduled event": {
    version: "0", id: "89d1a02d-5ec7-412e-82f5-13505f849b41", "detail-type": "Scheduled Event", source: "aws.events",
    account: "123456789012", time: "2026-11-26T15:00:00Z", region: "us-east-1",
    resources: ["arn:aws:events:us-east-1:123456789012:rule/hourly"], detail: {},
  },
  "SQS-Lambda integration disabled": {
    version: "0", id: "e3c7b0a5-0f0e-4c9e-8d8f-4bfae1bd1a5c", "detail-type": "AWS API Call via CloudTrail", source: "aws.lambda",
    account: "123456789012", time: "2026-11-26T16:20:41Z", region: "us-east-1", resources: [],
    detail: {
      eventVersion: "1.09", userIdentity: { type: "IAMUser", userName: "bob", accountId: "123456789012" },
      eventTime: "2026-11-26T16:20:41Z", eventSource: "lambda.amazonaws.com", eventName: "UpdateEventSourceMapping20150331",
      awsRegion: "us-east-1", requestParameters: { uUID: "a1b2c3d4-5678-90ab-cdef-11111EXAMPLE", enabled: false },
      responseElements: { state: "Disabling", functionArn: "arn:aws:lambda:us-east-1:123456789012:function:process" },
      eventType: "AwsApiCall", readOnly: false, managementEvent: true,
    },
  },
};

function sandboxPage() {
  const pat = h("textarea", { id: "s-pattern", rows: 12, spellcheck: "false", "aria-describedby": "s-status" },
    JSON.stringify({ source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], detail: { state: ["stopped", "terminated"] } }, null, 2));
  const pick = h("select", { id: "s-sample" }, Object.keys(samples).map(k => h("option", { value: k }, k)),
    h("option", { value: "recent" }, "The latest call in Event history"));
  const ev = h("textarea", { id: "s-event", rows: 18, spellcheck: "false" }, JSON.stringify(samples["EC2 instance state change"], null, 2));
  const status = h("div", { id: "s-status", role: "status", "aria-live": "polite", class: "status" });
  const why = h("div", { id: "s-why" });
  async function explain() {
    why.replaceChildren();
    try {
      const out = await call("ConveyorEvents.ExplainEventPattern", { EventPattern: pat.value, Event: ev.value });
      status.replaceChildren(out.Result ? h("span", { class: "match" }, "Match") : h("span", { class: "nomatch" }, "No match"));
      if (!out.Result) why.append(whyNot(out.Alternatives));
    } catch (e) {
      status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    }
  }
  const later = debounce(explain, 250);
  pat.addEventListener("input", later);
  ev.addEventListener("input", later);
  pick.addEventListener("change", async () => {
    if (pick.value !== "recent") { ev.value = JSON.stringify(samples[pick.value], null, 2); explain(); return; }
    try {
      const out = await call(CLOUDTRAIL + "LookupEvents", { MaxResults: 1 });
      const rec = JSON.parse(out.Events[0].CloudTrailEvent);
      const service = rec.eventSource.split(".")[0];
      ev.value = JSON.stringify({ version: "0", id: rec.eventID, "detail-type": "AWS API Call via CloudTrail", source: "aws." + service,
        account: rec.recipientAccountId, time: rec.eventTime, region: rec.awsRegion, resources: [], detail: rec }, null, 2);
      explain();
    } catch (e) {
      status.replaceChildren(h("span", { class: "error" }, "No recent call: " + e.message));
    }
  });
  show(h("h1", {}, "Sandbox"),
    h("p", {}, "Test an event pattern against an event. For an event that does not match, each field of the pattern that failed is shown with its condition and the event's value there."),
    h("div", { class: "grid2" },
      h("div", {}, h("h2", {}, h("label", { for: "s-pattern" }, "Event pattern")), pat),
      h("div", {}, h("h2", {}, h("label", { for: "s-event" }, "Event")), h("label", {}, "Sample ", pick), ev)),
    status, why);
  explain();
}

function whyNot(alternatives) {
  const wrap = h("div", {});
  alternatives.forEach((a, i) => {
    if (alternatives.length > 1) wrap.append(h("h2", {}, `$or alternative ${i + 1} of ${alternatives.length}: `, a.Matched ? "matches" : "does not match"));
    const rows = a.Fields.filter(f => !f.Matched).map(f => h("tr", {},
      h("td", {}, h("code", {}, f.Path)), h("td", {}, h("code", {}, JSON.stringify(f.Condition))),
      h("td", {}, f.Missing ? h("em", {}, "missing") : f.Values.map(v => h("code", {}, JSON.stringify(v))).flatMap((c, j) => j ? [", ", c] : [c]))));
    if (rows.length) {
      wrap.append(h("div", { class: "table-wrap" }, h("table", { class: "why" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, "Pattern wants"), h("th", { scope: "col" }, "Event has"))),
        h("tbody", {}, rows))));
    }
    if (a.Note) wrap.append(h("p", {}, a.Note));
  });
  return wrap;
}

// ---- Buses and rules ----

async function rulesPage() {
  show(h("h1", {}, "Buses and rules"), h("p", { class: "status" }, "Loading…"));
  try {
    const buses = (await call("AWSEvents.ListEventBuses", {})).EventBuses || [];
    const sections = [h("h1", {}, "Buses and rules")];
    for (const b of buses) {
      const rules = (await call("AWSEvents.ListRules", { EventBusName: b.Name })).Rules || [];
      const rows = [];
      for (const r of rules) {
        const targets = (await call("AWSEvents.ListTargetsByRule", { Rule: r.Name, EventBusName: b.Name })).Targets || [];
        rows.push(ruleRow(b.Name, r, targets));
      }
      sections.push(h("section", { "aria-label": "Bus " + b.Name }, h("h2", {}, "Bus ", h("code", {}, b.Name), ` · ${rules.length} rules`),
        rules.length ? h("div", { class: "table-wrap" }, h("table", { class: "rules" },
          h("thead", {}, h("tr", {}, ["Rule", "State", "Pattern or schedule", "Targets", ""].map(c => h("th", { scope: "col" }, c)))),
          h("tbody", {}, rows))) : h("p", { class: "status" }, "No rules.")));
    }
    show(...sections);
  } catch (e) {
    show(h("h1", {}, "Buses and rules"), h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
}

function ruleRow(bus, r, targets) {
  const enabled = r.State === "ENABLED";
  const act = async (fn) => { try { await fn(); } catch (e) { alert(`${e.code || "Error"}: ${e.message}`); } rulesPage(); };
  return h("tr", { "data-rule": r.Name },
    h("td", {}, r.Name, r.Description ? h("div", { class: "status" }, r.Description) : null),
    h("td", {}, h("span", { class: "badge " + (enabled ? "on" : "off") }, r.State)),
    h("td", {}, r.EventPattern ? h("pre", {}, pretty(r.EventPattern)) : h("code", {}, r.ScheduleExpression || "")),
    h("td", {}, targets.length ? h("ul", {}, targets.map(t => h("li", {}, h("code", {}, t.Id), " → ", t.Arn))) : "none"),
    h("td", {}, h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary", onclick: () => act(() => call(enabled ? "AWSEvents.DisableRule" : "AWSEvents.EnableRule", { Name: r.Name, EventBusName: bus })) },
        enabled ? "Disable" : "Enable"),
      h("button", { type: "button", class: "danger", onclick: () => {
        const typed = prompt(`Delete rule ${r.Name}${targets.length ? ` and its ${targets.length} targets` : ""}? Type the rule's name to confirm.`);
        if (typed !== r.Name) return;
        act(async () => {
          if (targets.length) await call("AWSEvents.RemoveTargets", { Rule: r.Name, EventBusName: bus, Ids: targets.map(t => t.Id) });
          await call("AWSEvents.DeleteRule", { Name: r.Name, EventBusName: bus });
        });
      } }, "Delete"))));
}

// ---- Live tail: events arriving on a bus, the rules they matched, how deliveries ended ----

let tailSource = null;

async function tailPage() {
  const bus = h("select", { id: "t-bus" });
  const filter = h("textarea", { id: "t-filter", rows: 3, spellcheck: "false", placeholder: '{"source": ["aws.ec2"]}' });
  const toggle = h("button", { type: "button", id: "t-toggle" }, "Pause");
  const status = h("p", { id: "t-status", class: "status", role: "status", "aria-live": "polite" });
  const tbody = h("tbody");
  const rows = new Map(); // event id → the cell listing its targets' outcomes
  let paused = false;
  try {
    for (const b of (await call("AWSEvents.ListEventBuses", {})).EventBuses || []) bus.append(h("option", { value: b.Name }, b.Name));
  } catch (e) {
    status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
  function addEvent(item) {
    const ev = item.event;
    const outcomes = h("td", { class: "outcomes" });
    const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 6 }, h("pre", {}, pretty(ev))));
    const row = h("tr", { class: "row", tabindex: 0, "data-event": ev.id, onclick: () => { detail.hidden = !detail.hidden; } },
      h("td", {}, ev.time || ""), h("td", {}, ev.source || ""), h("td", {}, ev["detail-type"] || ""), h("td", {}, h("code", {}, ev.id || "")),
      h("td", { class: "matched" }, (item.rules || []).length ? item.rules.map(r => h("span", { class: "badge on" }, r)).flatMap((c, i) => i ? [" ", c] : [c]) : h("span", { class: "status" }, "no rule")),
      outcomes);
    rows.set(ev.id, outcomes);
    tbody.prepend(row, detail);
    while (tbody.children.length > 1000) { tbody.lastChild.remove(); }
  }
  function addOutcome(o) {
    const cell = rows.get(o.event_id);
    if (!cell) return;
    const key = o.rule + "/" + o.target_id;
    let line = [...cell.children].find(c => c.dataset.key === key);
    if (!line) { line = h("div", { "data-key": key }); cell.append(line); }
    line.className = "outcome " + o.result;
    line.textContent = `${o.rule} → ${o.target_id}: ${o.result}${o.attempt > 1 ? ` (attempt ${o.attempt})` : ""}${o.error_code ? " " + o.error_code : ""}`;
    if (o.error) line.title = o.error;
  }
  function start() {
    if (tailSource) tailSource.close();
    const q = new URLSearchParams({ bus: bus.value || "default", region: regionInput.value.trim() });
    if (filter.value.trim()) q.set("pattern", filter.value.trim());
    tailSource = new EventSource("tail?" + q);
    status.textContent = "Connecting…";
    tailSource.onopen = () => { status.textContent = `Watching bus ${bus.value || "default"}.`; };
    tailSource.onerror = () => { status.replaceChildren(h("span", { class: "error" }, "The tail stopped (a bad filter, or the connection was lost); retrying…")); };
    tailSource.addEventListener("item", m => {
      if (paused) return;
      const item = JSON.parse(m.data);
      if (item.event) addEvent(item);
      if (item.outcome) addOutcome(item.outcome);
    });
  }
  toggle.addEventListener("click", () => { paused = !paused; toggle.textContent = paused ? "Resume" : "Pause"; });
  show(h("h1", {}, "Live tail"),
    h("form", { class: "filters", onsubmit: ev => { ev.preventDefault(); start(); } },
      h("label", {}, "Bus", bus), h("label", { style: null }, "Filter by a pattern (optional)", filter),
      h("button", { type: "submit" }, "Watch"), toggle),
    status,
    h("div", { class: "table-wrap" }, h("table", { id: "tail" },
      h("thead", {}, h("tr", {}, ["Time", "Source", "Detail type", "Event ID", "Rules matched", "Deliveries"].map(c => h("th", { scope: "col" }, c)))),
      tbody)));
  start();
}

// ---- Routing ----

const routes = { "#/history": historyPage, "#/sandbox": sandboxPage, "#/rules": rulesPage, "#/tail": tailPage };

function route() {
  if (tailSource && location.hash !== "#/tail") { tailSource.close(); tailSource = null; }
  const hash = routes[location.hash] ? location.hash : "#/history";
  for (const a of document.querySelectorAll(".top nav a")) {
    if (a.getAttribute("href") === hash) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  routes[hash]();
  page.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
