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

// lambda calls the Lambda API (REST-JSON) with a method and a path.
async function lambda(method, path, body) {
  const { text } = await lambdaRaw(method, path, body ? JSON.stringify(body) : "");
  return text ? JSON.parse(text) : {};
}

// lambdaRaw makes a Lambda call with a raw body (extra: more headers, such as X-Amz-Log-Type)
// and returns the response and its text, or throws an Error with Lambda's code.
async function lambdaRaw(method, path, body, extra) {
  const r = await fetch("api", {
    method: "POST",
    headers: { "X-Conveyor-Lambda-Method": method, "X-Conveyor-Lambda-Path": path, "Content-Type": "application/json",
      "X-Conveyor-Csrf": csrf, "X-Conveyor-Region": regionInput.value.trim(), ...extra },
    body,
  });
  const text = await r.text();
  if (r.status === 401) { location.href = "login"; }
  if (!r.ok) {
    let data = {};
    try { data = text ? JSON.parse(text) : {}; } catch { data = { message: text }; }
    throw Object.assign(new Error(data.message || data.Message || text), { code: (r.headers.get("X-Amzn-ErrorType") || "").split(":")[0] });
  }
  return { response: r, text };
}

// lambdaAll lists every item of key from a Lambda List operation at path, page by page (Marker).
async function lambdaAll(path, key) {
  const out = [];
  let marker = "";
  do {
    const r = await lambda("GET", path + (marker ? (path.includes("?") ? "&" : "?") + "Marker=" + encodeURIComponent(marker) : ""));
    out.push(...(r[key] || []));
    marker = r.NextMarker || "";
  } while (marker);
  return out;
}

// callAll calls a List operation page by page (NextToken) and returns every item of key.
async function callAll(target, body, key) {
  const out = [];
  let token;
  do {
    const r = await call(target, token ? { ...body, NextToken: token } : body);
    out.push(...(r[key] || []));
    token = r.NextToken;
  } while (token);
  return out;
}

// mapLimit runs fn over items, at most n at once, and returns the results in order.
async function mapLimit(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i], i); } };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
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

// toggler makes a row open and close its detail row, by click or by Enter or Space.
function toggler(detail) {
  return {
    tabindex: 0, "aria-expanded": "false",
    onclick: ev => { detail.hidden = !detail.hidden; ev.currentTarget.setAttribute("aria-expanded", String(!detail.hidden)); },
    onkeydown: ev => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); ev.currentTarget.click(); } },
  };
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
  const row = h("tr", { class: "row", ...toggler(detail) },
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
  const handed = localStorage.getItem("conveyor-sandbox-pattern");
  localStorage.removeItem("conveyor-sandbox-pattern");
  const pat = h("textarea", { id: "s-pattern", rows: 12, spellcheck: "false", "aria-describedby": "s-status" },
    handed || JSON.stringify({ source: ["aws.ec2"], "detail-type": ["EC2 Instance State-change Notification"], detail: { state: ["stopped", "terminated"] } }, null, 2));
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
  const recent = [];
  call("ConveyorEvents.ListRecentEvents", { EventBusName: "default", MaxResults: 20 }).then(out => {
    if (!out.Events.length) return;
    const group = h("optgroup", { label: "Recent on the default bus" });
    out.Events.forEach((text, i) => {
      const e = JSON.parse(text);
      recent.push(e);
      group.append(h("option", { value: "bus:" + i }, `${e.time} ${e.source} · ${e["detail-type"]}`));
    });
    pick.append(group);
  }).catch(() => {});
  pick.addEventListener("change", async () => {
    if (pick.value.startsWith("bus:")) { ev.value = JSON.stringify(recent[Number(pick.value.slice(4))], null, 2); explain(); return; }
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

// ---- Create or edit a rule ----

const operators = {
  "equals": v => parseScalar(v),
  "prefix": v => ({ prefix: v }),
  "suffix": v => ({ suffix: v }),
  "equals-ignore-case": v => ({ "equals-ignore-case": v }),
  "wildcard": v => ({ wildcard: v }),
  "anything-but": v => ({ "anything-but": parseScalar(v) }),
  "anything-but prefix": v => ({ "anything-but": { prefix: v } }),
  "numeric": v => ({ numeric: v.trim().split(/\s+/).map((x, i) => i % 2 ? Number(x) : x) }),
  "exists": v => ({ exists: v.trim() !== "false" }),
  "cidr": v => ({ cidr: v }),
};

// parseScalar reads a value typed in the builder: JSON numbers, true, false and null as
// themselves, anything else as a string.
function parseScalar(v) {
  const t = v.trim();
  if (/^(-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null)$/.test(t)) return JSON.parse(t);
  return v;
}

function hashParams() {
  return new URLSearchParams(location.hash.split("?")[1] || "");
}

async function ruleEditorPage() {
  const params = hashParams();
  const editing = params.get("name");
  const bus = h("select", { id: "r-bus", disabled: !!editing });
  const name = h("input", { id: "r-name", required: true, value: editing || "", readonly: !!editing, pattern: "[\\.\\-_A-Za-z0-9]+", maxlength: 64 });
  const description = h("input", { id: "r-description", maxlength: 512 });
  const enabled = h("input", { id: "r-enabled", type: "checkbox", checked: true });
  const kindPattern = h("input", { type: "radio", name: "kind", id: "r-kind-pattern", checked: true });
  const kindSchedule = h("input", { type: "radio", name: "kind", id: "r-kind-schedule" });
  const source = h("input", { id: "b-source", placeholder: "aws.ec2, my.app" });
  const detailType = h("input", { id: "b-detail-type", placeholder: "EC2 Instance State-change Notification" });
  const fieldRows = h("tbody");
  const orFields = h("input", { type: "checkbox", id: "b-or" });
  const json = h("textarea", { id: "r-pattern", rows: 10, spellcheck: "false" });
  const patternStatus = h("p", { id: "r-pattern-status", class: "status", role: "status", "aria-live": "polite" });
  const scheduleExpr = h("input", { id: "r-schedule", placeholder: "rate(5 minutes) or cron(0 12 * * ? *)", size: 34 });
  const scheduleStatus = h("div", { id: "r-schedule-status", class: "status", role: "status", "aria-live": "polite" });
  const targetRows = h("div", { id: "r-targets" });
  const status = h("p", { id: "r-status", role: "status", "aria-live": "polite" });
  let existingTargets = [];

  function addField(path = "", op = "equals", value = "") {
    const p = h("input", { class: "f-path", value: path, placeholder: "state", "aria-label": "Field under detail" });
    const o = h("select", { class: "f-op", "aria-label": "Operator" }, Object.keys(operators).map(k => h("option", { value: k, selected: k === op }, k)));
    const v = h("input", { class: "f-value", value, placeholder: "stopped, terminated", "aria-label": "Values, separated by commas" });
    const row = h("tr", {}, h("td", {}, "detail.", p), h("td", {}, o), h("td", {}, v),
      h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => { row.remove(); build(); } }, "Remove")));
    for (const el of [p, o, v]) el.addEventListener("input", build);
    fieldRows.append(row);
  }
  function values(text, op) {
    if (op === "numeric" || op === "exists") return [operators[op](text)];
    return text.split(",").map(x => x.trim()).filter(x => x !== "").map(operators[op]);
  }
  // build writes the builder's pattern into the JSON box.
  function build() {
    const p = {};
    const list = t => t.split(",").map(x => x.trim()).filter(Boolean);
    if (list(source.value).length) p.source = list(source.value);
    if (list(detailType.value).length) p["detail-type"] = list(detailType.value);
    const fields = [];
    for (const row of fieldRows.children) {
      const path = row.querySelector(".f-path").value.trim();
      const op = row.querySelector(".f-op").value;
      const vs = values(row.querySelector(".f-value").value, op);
      if (!path || !vs.length) continue;
      const f = {};
      let at = f;
      const parts = path.split(".");
      parts.forEach((k, i) => { at[k] = i === parts.length - 1 ? vs : (at[k] || {}); at = at[k]; });
      fields.push(f);
    }
    if (fields.length) {
      if (orFields.checked && fields.length > 1) p.detail = { $or: fields };
      else p.detail = Object.assign({}, ...fields.map(f => f));
    }
    json.value = JSON.stringify(p, null, 2);
    checkPattern();
  }
  const checkPattern = debounce(async () => {
    if (!json.value.trim()) { patternStatus.textContent = ""; return; }
    try {
      await call("ConveyorEvents.ExplainEventPattern", { EventPattern: json.value, Event: "{}" });
      patternStatus.replaceChildren(h("span", { class: "match" }, "Valid pattern"));
    } catch (e) {
      patternStatus.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    }
  }, 250);
  const checkSchedule = debounce(async () => {
    if (!scheduleExpr.value.trim()) { scheduleStatus.textContent = ""; return; }
    try {
      const out = await call("ConveyorEvents.DescribeSchedule", { ScheduleExpression: scheduleExpr.value.trim() });
      scheduleStatus.replaceChildren("Next firings: ", h("ol", { id: "r-next" }, out.NextFiringTimes.map(t => h("li", {}, new Date(t * 1000).toISOString().replace("T", " ").replace(".000Z", " UTC")))));
    } catch (e) {
      scheduleStatus.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    }
  }, 250);
  for (const el of [source, detailType, orFields]) el.addEventListener("input", build);
  json.addEventListener("input", checkPattern);
  scheduleExpr.addEventListener("input", checkSchedule);

  function addTarget(t = {}) {
    const id = h("input", { class: "t-id", value: t.Id || "", required: true, size: 14, "aria-label": "Target id" });
    const arn = h("input", { class: "t-arn", value: t.Arn || "", required: true, size: 54, list: "known-arns", "aria-label": "Target ARN" });
    const mode = h("select", { class: "t-mode", "aria-label": "What the target receives" },
      [["event", "The matched event"], ["input", "Constant JSON (Input)"], ["path", "Part of the event (InputPath)"], ["transformer", "Input transformer"]]
        .map(([v, l]) => h("option", { value: v }, l)));
    const input = h("textarea", { class: "t-input", rows: 2, spellcheck: "false", placeholder: '{"hello": "world"}', "aria-label": "Input" });
    const path = h("input", { class: "t-path", placeholder: "$.detail", "aria-label": "InputPath" });
    const paths = h("textarea", { class: "t-paths", rows: 2, spellcheck: "false", placeholder: '{"state": "$.detail.state"}', "aria-label": "InputPathsMap" });
    const template = h("textarea", { class: "t-template", rows: 2, spellcheck: "false", placeholder: '"The instance is <state>"', "aria-label": "InputTemplate" });
    const retries = h("input", { class: "t-retries", type: "number", min: 0, max: 185, placeholder: "185", size: 5, "aria-label": "MaximumRetryAttempts" });
    const age = h("input", { class: "t-age", type: "number", min: 60, max: 86400, placeholder: "86400", size: 7, "aria-label": "MaximumEventAgeInSeconds" });
    const dlq = h("input", { class: "t-dlq", size: 40, list: "known-arns", placeholder: "arn:aws:sqs:…", "aria-label": "Dead-letter queue ARN" });
    if (t.Input !== undefined) { mode.value = "input"; input.value = t.Input; }
    if (t.InputPath !== undefined) { mode.value = "path"; path.value = t.InputPath; }
    if (t.InputTransformer) { mode.value = "transformer"; paths.value = JSON.stringify(t.InputTransformer.InputPathsMap || {}); template.value = t.InputTransformer.InputTemplate; }
    if (t.RetryPolicy) { retries.value = t.RetryPolicy.MaximumRetryAttempts ?? ""; age.value = t.RetryPolicy.MaximumEventAgeInSeconds ?? ""; }
    if (t.DeadLetterConfig) dlq.value = t.DeadLetterConfig.Arn || "";
    const showMode = () => {
      input.parentElement.hidden = mode.value !== "input";
      path.parentElement.hidden = mode.value !== "path";
      paths.parentElement.hidden = template.parentElement.hidden = mode.value !== "transformer";
    };
    mode.addEventListener("change", showMode);
    const box = h("fieldset", { class: "target" }, h("legend", {}, "Target"),
      h("div", { class: "filters" },
        h("label", {}, "Id", id), h("label", {}, "ARN", arn), h("label", {}, "Receives", mode),
        h("label", {}, "Input", input), h("label", {}, "InputPath", path), h("label", {}, "InputPathsMap", paths), h("label", {}, "InputTemplate", template),
        h("label", {}, "Maximum retries", retries), h("label", {}, "Maximum event age (s)", age), h("label", {}, "Dead-letter queue", dlq),
        h("button", { type: "button", class: "secondary", onclick: () => box.remove() }, "Remove target")));
    box.target = () => {
      const out = { Id: id.value.trim(), Arn: arn.value.trim() };
      if (mode.value === "input") out.Input = input.value;
      if (mode.value === "path") out.InputPath = path.value.trim();
      if (mode.value === "transformer") {
        out.InputTransformer = { InputTemplate: template.value };
        if (paths.value.trim()) out.InputTransformer.InputPathsMap = JSON.parse(paths.value);
      }
      if (retries.value !== "" || age.value !== "") {
        out.RetryPolicy = {};
        if (retries.value !== "") out.RetryPolicy.MaximumRetryAttempts = Number(retries.value);
        if (age.value !== "") out.RetryPolicy.MaximumEventAgeInSeconds = Number(age.value);
      }
      if (dlq.value.trim()) out.DeadLetterConfig = { Arn: dlq.value.trim() };
      return out;
    };
    targetRows.append(box);
    showMode();
  }

  const showKind = () => {
    document.getElementById("r-pattern-box").hidden = !kindPattern.checked;
    document.getElementById("r-schedule-box").hidden = !kindSchedule.checked;
  };
  kindPattern.addEventListener("change", showKind);
  kindSchedule.addEventListener("change", showKind);

  async function save(ev) {
    ev.preventDefault();
    status.replaceChildren("Saving…");
    try {
      const rule = { Name: name.value.trim(), EventBusName: bus.value, State: enabled.checked ? "ENABLED" : "DISABLED" };
      if (description.value) rule.Description = description.value;
      if (kindPattern.checked) {
        try { rule.EventPattern = JSON.stringify(JSON.parse(json.value)); } catch { rule.EventPattern = json.value; } // compact, as the CLI sends it
      } else rule.ScheduleExpression = scheduleExpr.value.trim();
      await call("AWSEvents.PutRule", rule);
      const targets = [...targetRows.children].map(b => b.target());
      const gone = existingTargets.filter(t => !targets.some(n => n.Id === t.Id)).map(t => t.Id);
      if (gone.length) await call("AWSEvents.RemoveTargets", { Rule: rule.Name, EventBusName: bus.value, Ids: gone });
      if (targets.length) {
        const out = await call("AWSEvents.PutTargets", { Rule: rule.Name, EventBusName: bus.value, Targets: targets });
        if (out.FailedEntryCount) {
          const f = out.FailedEntries[0];
          throw Object.assign(new Error(`target ${f.TargetId}: ${f.ErrorMessage}`), { code: f.ErrorCode });
        }
      }
      location.hash = "#/rules";
    } catch (e) {
      status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    }
  }

  const known = h("datalist", { id: "known-arns" });
  if (!editing) { // an example to start from, at once (the lists below take a moment)
    addField("state", "equals", "stopped, terminated");
    source.value = "aws.ec2";
    detailType.value = "EC2 Instance State-change Notification";
  }
  show(h("h1", {}, editing ? `Edit rule ${editing}` : "Create rule"),
    h("form", { id: "rule-form", onsubmit: save },
      h("div", { class: "filters" }, h("label", {}, "Name", name), h("label", {}, "Event bus", bus), h("label", {}, "Description", description),
        h("label", { class: "inline" }, enabled, " Enabled")),
      h("h2", {}, "Rule type"),
      h("p", {}, h("label", { class: "inline" }, kindPattern, " Event pattern"), " ", h("label", { class: "inline" }, kindSchedule, " Schedule")),
      h("section", { id: "r-pattern-box" },
        h("h2", {}, "Event pattern"),
        h("div", { class: "filters" }, h("label", {}, "Source", source), h("label", {}, "Detail type", detailType)),
        h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, h("tr", {}, ["Field", "Operator", "Values", ""].map(c => h("th", { scope: "col" }, c)))), fieldRows)),
        h("p", { class: "actions" }, h("button", { type: "button", class: "secondary", onclick: () => addField() }, "Add a detail field"),
          h("label", { class: "inline" }, orFields, " any of the detail fields ($or) rather than all")),
        h("label", { for: "r-pattern" }, "As JSON (the builder writes it; you may edit it)"), json, patternStatus,
        h("p", {}, h("a", { href: "#/sandbox", onclick: () => localStorage.setItem("conveyor-sandbox-pattern", json.value) }, "Test this pattern in the sandbox"))),
      h("section", { id: "r-schedule-box", hidden: true }, h("h2", {}, "Schedule"), h("label", {}, "Expression ", scheduleExpr), scheduleStatus),
      h("h2", {}, "Targets"), targetRows,
      h("p", {}, h("button", { type: "button", class: "secondary", id: "r-add-target", onclick: () => addTarget() }, "Add a target")),
      h("p", { class: "actions" }, h("button", { type: "submit", id: "r-save" }, editing ? "Save" : "Create rule"), h("a", { href: "#/rules" }, "Cancel")),
      status, known));
  if (!editing) build();
  try {
    const buses = await callAll("AWSEvents.ListEventBuses", {}, "EventBuses");
    for (const b of buses) bus.append(h("option", { value: b.Name, selected: b.Name === (params.get("bus") || "default") }, b.Name));
    for (const u of await callAll("AmazonSQS.ListQueues", {}, "QueueUrls")) {
      // A queue's ARN, from its URL (http://host/account/name), as SQS forms it.
      const [account, name] = new URL(u).pathname.split("/").slice(1);
      known.append(h("option", { value: `arn:aws:sqs:${regionInput.value.trim()}:${account}:${name}` }));
    }
    for (const d of await callAll("AWSEvents.ListApiDestinations", {}, "ApiDestinations")) known.append(h("option", { value: d.ApiDestinationArn }));
    for (const b of buses) known.append(h("option", { value: b.Arn }));
    for (const f of await lambdaAll("/2015-03-31/functions", "Functions")) known.append(h("option", { value: f.FunctionArn }));
  } catch (e) {
    status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
  if (editing) {
    const r = await call("AWSEvents.DescribeRule", { Name: editing, EventBusName: bus.value });
    description.value = r.Description || "";
    enabled.checked = r.State === "ENABLED";
    if (r.ScheduleExpression) { kindSchedule.checked = true; scheduleExpr.value = r.ScheduleExpression; checkSchedule(); }
    else { json.value = pretty(r.EventPattern); checkPattern(); }
    existingTargets = await callAll("AWSEvents.ListTargetsByRule", { Rule: editing, EventBusName: bus.value }, "Targets");
    existingTargets.forEach(addTarget);
  }
  showKind();
}

// ---- Buses and rules ----

async function rulesPage() {
  show(h("h1", {}, "Buses and rules"), h("p", { class: "status" }, "Loading…"));
  try {
    const buses = await callAll("AWSEvents.ListEventBuses", {}, "EventBuses");
    const sections = [h("h1", {}, "Buses and rules"), h("p", {}, h("a", { href: "#/rules/new", class: "button", id: "create-rule" }, "Create rule"))];
    for (const b of buses) {
      const rules = await callAll("AWSEvents.ListRules", { EventBusName: b.Name }, "Rules");
      const metrics = {};
      for (const m of (await call("ConveyorEvents.GetRuleMetrics", { EventBusName: b.Name })).Rules || []) metrics[m.Name] = m.Metrics;
      const rows = await mapLimit(rules, 8, async r => {
        const targets = await callAll("AWSEvents.ListTargetsByRule", { Rule: r.Name, EventBusName: b.Name }, "Targets");
        return ruleRow(b.Name, r, targets, metrics[r.Name] || {});
      });
      sections.push(h("section", { "aria-label": "Bus " + b.Name }, h("h2", {}, "Bus ", h("code", {}, b.Name), ` · ${rules.length} rules`),
        rules.length ? h("div", { class: "table-wrap" }, h("table", { class: "rules" },
          h("thead", {}, h("tr", {}, ["Rule", "State", "Pattern or schedule", "Targets", "Last hour", ""].map(c => h("th", { scope: "col" }, c)))),
          h("tbody", {}, rows))) : h("p", { class: "status" }, "No rules.")));
    }
    show(...sections);
  } catch (e) {
    show(h("h1", {}, "Buses and rules"), h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
}

// sparkline draws a series of per-minute counts as a small line.
function sparkline(values, label) {
  const ns = "http://www.w3.org/2000/svg";
  const w = 120, hgt = 22, max = Math.max(1, ...values);
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${hgt}`);
  svg.setAttribute("width", w);
  svg.setAttribute("height", hgt);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "spark");
  const line = document.createElementNS(ns, "polyline");
  line.setAttribute("points", values.map((v, i) => `${(i * w / Math.max(1, values.length - 1)).toFixed(1)},${(hgt - 1 - v * (hgt - 2) / max).toFixed(1)}`).join(" "));
  svg.append(line);
  return svg;
}

function counters(m) {
  const names = [["Matched", "matched"], ["Invoked", "invoked"], ["Failed", "failed"], ["DeadLettered", "dead-lettered"]];
  return h("div", { class: "counters" }, names.map(([k, label]) => {
    const sr = m[k] || { Total: 0, PerMinute: new Array(60).fill(0) };
    return h("div", { class: "counter", "data-counter": k },
      h("span", { class: "count" }, `${label} ${sr.Total}`), sparkline(sr.PerMinute, `${label}: ${sr.PerMinute.reduce((a, b) => a + b, 0)} in the last hour`));
  }));
}

function ruleRow(bus, r, targets, metrics) {
  const enabled = r.State === "ENABLED";
  const act = async (fn) => { try { await fn(); } catch (e) { alert(`${e.code || "Error"}: ${e.message}`); } rulesPage(); };
  return h("tr", { "data-rule": r.Name },
    h("td", {}, r.Name, r.Description ? h("div", { class: "status" }, r.Description) : null),
    h("td", {}, h("span", { class: "badge " + (enabled ? "on" : "off") }, r.State)),
    h("td", {}, r.EventPattern ? h("pre", {}, pretty(r.EventPattern)) : h("code", {}, r.ScheduleExpression || "")),
    h("td", {}, targets.length ? h("ul", {}, targets.map(t => h("li", {}, h("code", {}, t.Id), " → ", t.Arn))) : "none"),
    h("td", {}, counters(metrics || {})),
    h("td", {}, h("div", { class: "actions" },
      h("button", { type: "button", class: "secondary toggle", onclick: () => act(() => call(enabled ? "AWSEvents.DisableRule" : "AWSEvents.EnableRule", { Name: r.Name, EventBusName: bus })) },
        enabled ? "Disable" : "Enable"),
      h("a", { href: `#/rules/edit?bus=${encodeURIComponent(bus)}&name=${encodeURIComponent(r.Name)}`, class: "button secondary" }, "Edit"),
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
    for (const b of await callAll("AWSEvents.ListEventBuses", {}, "EventBuses")) bus.append(h("option", { value: b.Name }, b.Name));
  } catch (e) {
    status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
  function addEvent(item) {
    const ev = item.event;
    const outcomes = h("td", { class: "outcomes" });
    const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 6 }, h("pre", {}, pretty(ev))));
    const row = h("tr", { class: "row", "data-event": ev.id, ...toggler(detail) },
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

// ---- Queues and dead letters ----

async function queuesPage(message) {
  show(h("h1", {}, "Queues"), h("p", { class: "status" }, "Loading…"));
  const status = h("p", { id: "q-status", role: "status", "aria-live": "polite" }, typeof message === "string" ? message : "");
  const browse = h("section", { id: "q-browse" });
  try {
    const urls = await callAll("AmazonSQS.ListQueues", {}, "QueueUrls");
    const attrs = await mapLimit(urls, 4, async url => (await call("AmazonSQS.GetQueueAttributes", { QueueUrl: url, AttributeNames: ["All"] })).Attributes || {});
    // The queues each queue is the dead-letter queue of (their RedrivePolicy names it).
    const sourcesOf = {};
    for (const a of attrs) {
      if (!a.RedrivePolicy) continue;
      const dlq = JSON.parse(a.RedrivePolicy).deadLetterTargetArn;
      (sourcesOf[dlq] ||= []).push(a.QueueArn.split(":").pop());
    }
    const rows = [];
    for (const [i, url] of urls.entries()) {
      const a = attrs[i];
      const sources = sourcesOf[a.QueueArn] || [];
      const first = await call("ConveyorQueues.PeekMessages", { QueueUrl: url, MaxMessages: 1 });
      const oldest = first.Messages.length ? Date.now() - Number(first.Messages[0].Attributes.SentTimestamp) : null;
      const name = url.split("/").pop();
      const act = async (what, fn) => {
        status.textContent = what + "…";
        try { queuesPage(await fn()); } catch (e) { status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`)); }
      };
      rows.push(h("tr", { "data-queue": name },
        h("td", {}, name, a.RedrivePolicy ? h("div", { class: "status" }, "dead letters go to ", JSON.parse(a.RedrivePolicy).deadLetterTargetArn.split(":").pop()) : null),
        h("td", { class: "depth" }, a.ApproximateNumberOfMessages), h("td", {}, a.ApproximateNumberOfMessagesNotVisible), h("td", {}, a.ApproximateNumberOfMessagesDelayed),
        h("td", {}, oldest === null ? "–" : ago(oldest)),
        h("td", {}, h("div", { class: "actions" },
          h("button", { type: "button", class: "secondary browse", onclick: () => browseQueue(url, browse) }, "Browse"),
          h("button", { type: "button", class: "secondary redrive", onclick: () => act("Redriving", async () => {
            const out = await call("ConveyorQueues.RedriveDeadLetters", { QueueUrl: url });
            return `${name}: ${out.Redriven} dead letters sent back to their targets` + ((out.Skipped || []).length ? `, ${out.Skipped.length} skipped (${out.Skipped[0].Reason})` : "") + ".";
          }) }, "Redrive"),
          // SQS's dead-letter queue redrive: a queue's own dead letters back to it.
          sources.length ? h("button", { type: "button", class: "secondary move-back", onclick: () => act("Moving", async () => {
            await call("AmazonSQS.StartMessageMoveTask", { SourceArn: a.QueueArn });
            let task;
            do {
              await new Promise(r => setTimeout(r, 300));
              task = (await call("AmazonSQS.ListMessageMoveTasks", { SourceArn: a.QueueArn })).Results[0];
              // A Conveyor that restarted forgets its tasks.
              if (!task) throw Object.assign(new Error("the task is no longer known (Conveyor restarted?); what it did not move is still in the queue"), { code: "Unknown" });
            } while (task.Status === "RUNNING" || task.Status === "CANCELLING");
            return `${name}: ${task.ApproximateNumberOfMessagesMoved} messages moved back to ${sources.join(", ")} (${task.Status.toLowerCase()}` +
              (task.FailureReason ? `: ${task.FailureReason}` : "") + ").";
          }) }, `Move back to ${sources.join(", ")}`) : null,
          h("button", { type: "button", class: "danger purge", onclick: () => {
            if (prompt(`Purge every message of ${name}? Type the queue's name to confirm.`) !== name) return;
            act("Purging", async () => { await call("AmazonSQS.PurgeQueue", { QueueUrl: url }); return `${name} purged.`; });
          } }, "Purge")))));
    }
    show(h("h1", {}, "Queues"), status,
      urls.length ? h("div", { class: "table-wrap" }, h("table", { id: "queues" },
        h("thead", {}, h("tr", {}, ["Queue", "Waiting", "In flight", "Delayed", "Oldest message", ""].map(c => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows))) : h("p", { class: "status" }, "No queues."), browse);
  } catch (e) {
    show(h("h1", {}, "Queues"), h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
}

function ago(ms) {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} days`;
}

// browseQueue lists a queue's messages without receiving them; dead letters show the
// attributes EventBridge gave them (ERROR_CODE, ERROR_MESSAGE, RULE_ARN, TARGET_ARN…).
async function browseQueue(url, into) {
  const tbody = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "More");
  let token = null;
  async function load() {
    const out = await call("ConveyorQueues.PeekMessages", token ? { QueueUrl: url, MaxMessages: 50, NextToken: token } : { QueueUrl: url, MaxMessages: 50 });
    for (const m of out.Messages) {
      const attrs = Object.entries(m.MessageAttributes || {}).map(([k, v]) => h("div", {}, h("code", {}, k), " ", v.StringValue ?? v.BinaryValue ?? ""));
      const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 4 }, h("pre", {}, pretty(m.Body))));
      const row = h("tr", { class: "row", ...toggler(detail) },
        h("td", {}, h("code", {}, m.MessageId)), h("td", {}, m.State, m.Attributes.ApproximateReceiveCount !== "0" ? ` (received ${m.Attributes.ApproximateReceiveCount}×)` : ""),
        h("td", { class: "message-attributes" }, attrs), h("td", {}, new Date(Number(m.Attributes.SentTimestamp)).toISOString()));
      tbody.append(row, detail);
    }
    token = out.NextToken || null;
    more.hidden = !token;
  }
  more.addEventListener("click", load);
  into.replaceChildren(h("h2", {}, "Messages of ", h("code", {}, url.split("/").pop()), " (shown, not received)"),
    h("div", { class: "table-wrap" }, h("table", { id: "messages" },
      h("thead", {}, h("tr", {}, ["Message id", "State", "Attributes", "Sent"].map(c => h("th", { scope: "col" }, c)))), tbody)), h("p", {}, more));
  try { await load(); } catch (e) { into.append(h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`)); }
}

// ---- Archives and replays ----

async function archivesPage() {
  show(h("h1", {}, "Archives and replays"), h("p", { class: "status" }, "Loading…"));
  const status = h("p", { id: "a-status", role: "status", "aria-live": "polite" });
  try {
    const buses = await callAll("AWSEvents.ListEventBuses", {}, "EventBuses");
    const archives = await callAll("AWSEvents.ListArchives", {}, "Archives");
    const replays = await callAll("AWSEvents.ListReplays", {}, "Replays");
    const busSel = h("select", { id: "a-bus" }, buses.map(b => h("option", { value: b.Arn }, b.Name)));
    const aname = h("input", { id: "a-name", required: true, pattern: "[\\.\\-_A-Za-z0-9]+", maxlength: 48 });
    const apattern = h("input", { id: "a-pattern", size: 30, placeholder: '{"source": ["shop"]} (optional)' });
    const retention = h("input", { id: "a-retention", type: "number", min: 0, placeholder: "0 = for ever", size: 8 });
    const create = h("form", { class: "filters", id: "a-create", onsubmit: async ev => {
      ev.preventDefault();
      try {
        const req = { ArchiveName: aname.value.trim(), EventSourceArn: busSel.value };
        if (apattern.value.trim()) req.EventPattern = apattern.value.trim();
        if (retention.value !== "") req.RetentionDays = Number(retention.value);
        await call("AWSEvents.CreateArchive", req);
        archivesPage();
      } catch (e) { status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`)); }
    } }, h("label", {}, "Archive name", aname), h("label", {}, "Bus", busSel), h("label", {}, "Event pattern", apattern),
      h("label", {}, "Retention (days)", retention), h("button", { type: "submit" }, "Create archive"));
    const archiveRows = archives.map(a => {
      const from = h("input", { type: "datetime-local", class: "r-from", "aria-label": "Replay events from" });
      const to = h("input", { type: "datetime-local", class: "r-to", "aria-label": "Replay events until" });
      const rname = h("input", { class: "r-name", placeholder: "replay name", size: 14, "aria-label": "Replay name" });
      const start = async () => {
        try {
          const arn = (await call("AWSEvents.DescribeArchive", { ArchiveName: a.ArchiveName })).ArchiveArn;
          await call("AWSEvents.StartReplay", { ReplayName: rname.value.trim(), EventSourceArn: arn,
            EventStartTime: from.value ? new Date(from.value).getTime() / 1000 : 0,
            EventEndTime: to.value ? new Date(to.value).getTime() / 1000 : Date.now() / 1000,
            Destination: { Arn: a.EventSourceArn } });
          archivesPage();
        } catch (e) { status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`)); }
      };
      return h("tr", { "data-archive": a.ArchiveName },
        h("td", {}, a.ArchiveName), h("td", {}, a.EventSourceArn.split("/").pop()), h("td", {}, a.State),
        h("td", {}, a.EventCount ?? 0), h("td", {}, a.RetentionDays ? `${a.RetentionDays} days` : "for ever"),
        h("td", {}, h("div", { class: "actions" }, rname, from, to, h("button", { type: "button", class: "secondary replay", onclick: start }, "Replay"))));
    });
    const replayRows = replays.map(r => h("tr", { "data-replay": r.ReplayName },
      h("td", {}, r.ReplayName), h("td", {}, r.EventSourceArn.split("/").pop()), h("td", { class: "state" }, r.State),
      h("td", {}, progress(r)), h("td", {}, r.StateReason || "")));
    show(h("h1", {}, "Archives and replays"), status, h("h2", {}, "New archive"), create,
      h("h2", {}, "Archives"), archives.length ? h("div", { class: "table-wrap" }, h("table", { id: "archives" },
        h("thead", {}, h("tr", {}, ["Archive", "Bus", "State", "Events", "Retention", "Replay (from, to)"].map(c => h("th", { scope: "col" }, c)))),
        h("tbody", {}, archiveRows))) : h("p", { class: "status" }, "No archives."),
      h("h2", {}, "Replays"), replays.length ? h("div", { class: "table-wrap" }, h("table", { id: "replays" },
        h("thead", {}, h("tr", {}, ["Replay", "Archive", "State", "Progress", "Reason"].map(c => h("th", { scope: "col" }, c)))),
        h("tbody", {}, replayRows))) : h("p", { class: "status" }, "No replays."));
    if (replays.some(r => r.State === "STARTING" || r.State === "RUNNING")) {
      setTimeout(() => { if (location.hash === "#/archives") archivesPage(); }, 1000);
    }
  } catch (e) {
    show(h("h1", {}, "Archives and replays"), h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
}

// progress says how far a replay has come through its time window.
function progress(r) {
  if (r.State === "COMPLETED") return "100%";
  if (!r.EventLastReplayedTime || !r.EventEndTime || r.EventEndTime <= r.EventStartTime) return "";
  const p = (r.EventLastReplayedTime - r.EventStartTime) / (r.EventEndTime - r.EventStartTime);
  return Math.max(0, Math.min(100, Math.round(p * 100))) + "%";
}

// ---- Functions ----

// functionsPage lists the functions with their settings and triggers: a function is tested
// with a payload of the user's (its answer and its log shown), its queue triggers enabled
// or disabled, and it is deleted.
async function functionsPage(message) {
  show(h("h1", {}, "Functions"), h("p", { class: "status" }, "Loading…"));
  const status = h("p", { id: "f-status", role: "status", "aria-live": "polite" }, typeof message === "string" ? message : "");
  const fail = e => status.replaceChildren(h("span", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  try {
    const fns = await lambdaAll("/2015-03-31/functions", "Functions");
    const mappings = await lambdaAll("/2015-03-31/event-source-mappings", "EventSourceMappings");
    const rows = fns.map(f => {
      const name = f.FunctionName;
      const triggers = mappings.filter(m => m.FunctionArn === f.FunctionArn);
      const detail = h("tr", { class: "detail", hidden: true }, h("td", { colspan: 6 }, functionDetail(f, triggers, fail)));
      return [h("tr", { class: "row", "data-function": name, ...toggler(detail) },
        h("td", {}, name, f.Description ? h("div", { class: "status" }, f.Description) : null),
        h("td", {}, f.Runtime || ""), h("td", {}, h("code", {}, f.Handler || "")),
        h("td", {}, `${f.MemorySize} MB, ${f.Timeout} s`),
        h("td", {}, triggers.length ? triggers.map(m => h("div", {}, m.EventSourceArn.split(":").pop(), " ",
          h("span", { class: "badge " + (m.State === "Enabled" ? "on" : "off") }, m.State))) : "–"),
        h("td", {}, f.LastModified ? new Date(f.LastModified).toLocaleString() : "")), detail];
    });
    show(h("h1", {}, "Functions"), status,
      fns.length ? h("div", { class: "table-wrap" }, h("table", { id: "functions" },
        h("thead", {}, h("tr", {}, ["Function", "Runtime", "Handler", "Memory, timeout", "Queue triggers", "Last modified"].map(c => h("th", { scope: "col" }, c)))),
        h("tbody", {}, rows.flat()))) : h("p", { class: "status" }, "No functions. Create one with the AWS CLI: aws lambda create-function …"));
  } catch (e) {
    show(h("h1", {}, "Functions"), h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
  }
}

// functionDetail is a function's row opened: its environment, a test invocation, its triggers
// and its deletion.
function functionDetail(f, triggers, fail) {
  const name = f.FunctionName;
  const path = "/2015-03-31/functions/" + encodeURIComponent(name);
  const payload = h("textarea", { class: "fn-payload", rows: 5, "aria-label": `Test event for ${name}` }, "{}");
  const outcome = h("div", { class: "fn-result", role: "status", "aria-live": "polite" });
  const test = async ev => {
    ev.preventDefault();
    outcome.replaceChildren(h("p", { class: "status" }, "Invoking…"));
    try {
      const { response, text } = await lambdaRaw("POST", path + "/invocations", payload.value, { "X-Amz-Log-Type": "Tail" });
      const failed = response.headers.get("X-Amz-Function-Error");
      const log = response.headers.get("X-Amz-Log-Result");
      outcome.replaceChildren(
        h("p", { class: "fn-outcome " + (failed ? "nomatch" : "match") }, failed ? `Failed (${failed})` : "Succeeded"),
        h("h3", {}, "Response"), h("pre", { class: "fn-response" }, pretty(text)),
        ...(log ? [h("h3", {}, "Log (its last 4 KB)"), h("pre", { class: "fn-log" }, new TextDecoder().decode(Uint8Array.from(atob(log), c => c.charCodeAt(0))))] : []));
    } catch (e) {
      outcome.replaceChildren(h("p", { class: "error" }, `${e.code || "Error"}: ${e.message}`));
    }
  };
  const env = Object.entries(f.Environment?.Variables || {});
  const toggle = m => async () => {
    try {
      await lambda("PUT", "/2015-03-31/event-source-mappings/" + encodeURIComponent(m.UUID), { Enabled: m.State !== "Enabled" });
      functionsPage(`${m.State === "Enabled" ? "Disabled" : "Enabled"} the trigger from ${m.EventSourceArn.split(":").pop()}.`);
    } catch (e) { fail(e); }
  };
  const remove = async () => {
    if (prompt(`Delete function ${name}${triggers.length ? ` (its ${triggers.length} queue triggers are kept, as Lambda keeps them)` : ""}? Type the function's name to confirm.`) !== name) return;
    try {
      await lambda("DELETE", path);
      functionsPage(`${name} deleted.`);
    } catch (e) { fail(e); }
  };
  return h("div", { class: "grid2" },
    h("div", {},
      h("p", {}, h("code", {}, f.FunctionArn)),
      env.length ? h("p", {}, "Environment: ", env.map(([k, v]) => h("div", {}, h("code", {}, k), " = ", v))) : null,
      triggers.length ? h("div", {}, h("h3", {}, "Queue triggers"), triggers.map(m => h("div", { class: "actions", "data-trigger": m.UUID },
        m.EventSourceArn.split(":").pop(), ` (batches of ${m.BatchSize})`, h("span", { class: "badge " + (m.State === "Enabled" ? "on" : "off") }, m.State),
        h("button", { type: "button", class: "secondary fn-trigger", onclick: toggle(m) }, m.State === "Enabled" ? "Disable" : "Enable")))) : null,
      h("p", {}, h("button", { type: "button", class: "danger fn-delete", onclick: remove }, "Delete function"))),
    h("form", { class: "fn-test", onsubmit: test },
      h("h3", {}, "Test"), payload, h("p", {}, h("button", { type: "submit", class: "fn-invoke" }, "Invoke")), outcome));
}

// ---- Routing ----

const routes = { "#/history": historyPage, "#/sandbox": sandboxPage, "#/rules": rulesPage, "#/tail": tailPage,
  "#/rules/new": ruleEditorPage, "#/rules/edit": ruleEditorPage, "#/queues": queuesPage, "#/archives": archivesPage,
  "#/functions": functionsPage };

function route() {
  if (tailSource && location.hash !== "#/tail") { tailSource.close(); tailSource = null; }
  const path = location.hash.split("?")[0];
  const hash = routes[path] ? path : "#/history";
  for (const a of document.querySelectorAll(".top nav a")) {
    if (hash.startsWith(a.getAttribute("href"))) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  }
  routes[hash]();
  page.focus({ preventScroll: true });
}

window.addEventListener("hashchange", route);
route();
