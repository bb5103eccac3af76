"""The shareable page's inline CSS and JavaScript (no external resource of any kind).

The script reads the test from ``<script type="application/json" id="mr-test">``, decodes each stimulus (a
base64 ``data:`` URI, turned into bytes in the page: nothing is fetched) into an ``AudioBuffer`` and plays
it looping on one ``AudioContext`` clock; switching stops one source and starts the next at the same position.
Answers are kept in ``localStorage`` (a reload resumes) and offered as a JSON file through a Blob link.
"""

CSS = """
body { font-family: system-ui, sans-serif; max-width: 760px; margin: 24px auto; padding: 0 16px; color: #222; }
h1 { font-size: 1.35em; } .mr-muted { color: #666; font-size: 0.9em; }
button { font-size: 1em; padding: 5px 12px; margin: 2px; cursor: pointer; }
button.mr-on { background: #2a6fdb; color: #fff; } button:disabled { cursor: default; opacity: 0.5; }
.mr-row { display: flex; align-items: center; gap: 12px; margin: 8px 0; }
.mr-row input[type=range] { flex: 1; }
.mr-value { width: 2.5em; text-align: right; font-variant-numeric: tabular-nums; }
.mr-scale { display: flex; justify-content: space-between; margin-left: 130px; margin-right: 3.5em; }
.mr-scale span { font-size: 0.8em; color: #666; } #mr-status { margin-top: 12px; min-height: 1.4em; }
#mr-footer { margin-top: 24px; border-top: 1px solid #ddd; padding-top: 8px; }
"""

JS = r"""
(function () {
"use strict";
var T = JSON.parse(document.getElementById("mr-test").textContent);
var $ = function (id) { return document.getElementById(id); };
var S = {listener: null, answers: {}, started: null, shownAt: 0, index: 0};
var ctx = null, buffers = {}, P = {key: null, src: null, at: 0, offset: 0, dur: 0}, fallback = {};
var mk = function (tag, attrs, text) {
  var e = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
  if (text !== undefined) { e.textContent = text; }
  return e;
};
function now() { return new Date().toISOString().replace(/\.\d+Z$/, "+00:00"); }
function status(text) { $("mr-status").textContent = text; }
function bytes(uri) {
  var b = atob(uri.slice(uri.indexOf(",") + 1)), u = new Uint8Array(b.length);
  for (var i = 0; i < b.length; i++) { u[i] = b.charCodeAt(i); }
  return u.buffer;
}
function context() {
  var C = window.AudioContext || window.webkitAudioContext;
  if (!ctx && C) { ctx = new C(); }
  if (ctx && ctx.state === "suspended") { ctx.resume(); }
  return ctx;
}
function decode(file) {
  if (buffers[file]) { return Promise.resolve(buffers[file]); }
  return context().decodeAudioData(bytes(T.audio[file])).then(function (b) { buffers[file] = b; return b; });
}
function position() {
  if (P.src && ctx) { return (P.offset + ctx.currentTime - P.at) % P.dur; }
  if (P.key && fallback[P.key] && !fallback[P.key].paused) { return fallback[P.key].currentTime; }
  return P.offset;
}
function mark(key, engine) {
  document.body.dataset.playing = key || "";
  if (key) { document.body.dataset.engine = engine; document.body.dataset.offset = P.offset.toFixed(3); }
  document.querySelectorAll("button[data-key]").forEach(function (b) {
    b.classList.toggle("mr-on", b.dataset.key === key);
  });
}
function stop() {
  P.offset = position();
  if (P.src) { try { P.src.stop(); } catch (e) { /* already stopped */ } P.src = null; }
  Object.keys(fallback).forEach(function (k) { fallback[k].pause(); });
  mark(null);
}
function playElement(key, file, pos) {
  if (!fallback[key]) { fallback[key] = new Audio(T.audio[file]); fallback[key].loop = true; }
  var a = fallback[key];
  a.currentTime = pos; a.play();
  P = {key: key, src: null, at: 0, offset: pos, dur: a.duration || 0}; mark(key, "element");
}
function play(key, file) {
  var pos = position();
  stop();
  if (!context()) { playElement(key, file, pos); return; }
  decode(file).then(function (b) {
    var src = ctx.createBufferSource();
    src.buffer = b; src.loop = true; src.connect(ctx.destination);
    P = {key: key, src: src, at: ctx.currentTime, offset: pos % b.duration, dur: b.duration};
    src.start(0, P.offset);
    mark(key, "webaudio");
  }, function () { playElement(key, file, pos); });
}
function player(key, label, file) {
  var b = mk("button", {"data-key": key, "class": "mr-play"}, "\u25B6 " + label);
  b.addEventListener("click", function () { play(key, file); });
  return b;
}
function record(finished) {
  var order = T.trials.filter(function (t) { return S.answers[t.id]; });
  return {format: "melrecon-listening-results", version: 1, test: T.name, test_id: T.id, kind: T.kind,
          listener: S.listener, seed: T.seed, source: "page", started: S.started,
          updated: now(), finished: finished ? now() : null,
          answers: order.map(function (t) { return S.answers[t.id]; })};
}
function store() {
  var n = Object.keys(S.answers).length, done = n === T.trials.length, json = JSON.stringify(record(done), null, 1);
  try { localStorage.setItem("melrecon-listen-" + T.id + "-" + S.listener, json); } catch (e) { /* file: pages */ }
  var link = $("mr-download");
  if (link.href) { URL.revokeObjectURL(link.href); }
  link.href = URL.createObjectURL(new Blob([json], {type: "application/json"}));
  link.download = S.listener + ".json";
  link.textContent = "Download your answers (" + n + " of " + T.trials.length + " trials)";
  link.style.display = n ? "inline" : "none";
}
function answer(entry) {
  entry.seconds = Math.round((Date.now() - S.shownAt) / 10) / 100;
  entry.time = now();
  S.answers[entry.trial] = entry;
  store();
  show();
}
function mushra(t, box) {
  box.appendChild(player("ref", "reference", t.reference));
  var moved = {}, sliders = [], next = mk("button", {id: "mr-next", disabled: ""}, "next trial");
  var scale = mk("div", {"class": "mr-scale"});
  ["bad", "poor", "fair", "good", "excellent"].forEach(function (w) { scale.appendChild(mk("span", {}, w)); });
  box.appendChild(scale);
  t.stimuli.forEach(function (s, i) {
    var row = mk("div", {"class": "mr-row"}), value = mk("span", {"class": "mr-value"}, "0");
    var r = mk("input", {type: "range", min: "0", max: "100", step: "1", value: "0", "class": "mr-slider",
                         "data-index": String(i), "aria-label": "condition " + (i + 1)});
    r.addEventListener("input", function () {
      moved[i] = true; value.textContent = r.value;
      next.disabled = Object.keys(moved).length < t.stimuli.length;
    });
    sliders.push(r);
    row.appendChild(player(s.id, "condition " + (i + 1), s.file)); row.appendChild(r); row.appendChild(value);
    box.appendChild(row);
  });
  next.addEventListener("click", function () {
    var ratings = {};
    t.stimuli.forEach(function (s, i) { ratings[s.id] = Number(sliders[i].value); });
    answer({trial: t.id, order: t.stimuli.map(function (s) { return s.id; }), ratings: ratings});
  });
  box.appendChild(next);
  status("Listen to the reference and every condition, move every slider, then press \u201cnext trial\u201d.");
}
function abx(t, box) {
  var row = mk("div", {"class": "mr-row"});
  ["A", "B", "X"].forEach(function (k) { row.appendChild(player(k, k, t.files[k])); });
  box.appendChild(row);
  var choose = mk("div", {"class": "mr-row"});
  ["A", "B"].forEach(function (c) {
    var b = mk("button", {"class": "mr-choice", "data-choice": c}, "X is " + c);
    b.addEventListener("click", function () { answer({trial: t.id, choice: c}); });
    choose.appendChild(b);
  });
  box.appendChild(choose);
  status("Which one is X: A or B?");
}
function show() {
  stop(); P = {key: null, src: null, at: 0, offset: 0, dur: 0}; buffers = {}; fallback = {};
  var box = $("mr-trial"), todo = T.trials.filter(function (t) { return !S.answers[t.id]; });
  box.textContent = "";
  $("mr-progress").value = T.trials.length - todo.length;
  if (!todo.length) {
    $("mr-where").textContent = "All " + T.trials.length + " trials answered.";
    status("Done, thank you. Download your answers below and send the file back.");
    document.body.dataset.done = "1";
    return;
  }
  var t = todo[0];
  S.index = T.trials.indexOf(t);
  $("mr-where").textContent = "Trial " + (T.trials.length - todo.length + 1) + " of " + T.trials.length;
  (T.kind === "mushra" ? mushra : abx)(t, box);
  S.shownAt = Date.now();
}
function start() {
  var name = $("mr-listener").value.trim();
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name) || name.toLowerCase() === "test") {
    status("Enter a name of letters, digits, '.', '_' or '-' (not 'test')."); return;
  }
  context();
  S.listener = name; S.started = now();
  try {
    var saved = JSON.parse(localStorage.getItem("melrecon-listen-" + T.id + "-" + name) || "null");
    if (saved && saved.test_id === T.id) {
      S.started = saved.started;
      saved.answers.forEach(function (a) { S.answers[a.trial] = a; });
    }
  } catch (e) { /* no storage */ }
  $("mr-start").style.display = "none";
  $("mr-test-box").style.display = "block";
  store();
  show();
}
$("mr-begin").addEventListener("click", start);
$("mr-stop").addEventListener("click", stop);
$("mr-progress").max = T.trials.length;
})();
"""
