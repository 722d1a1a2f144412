// The stage page: one websocket (/view/socket) brings notes, the plan, state and health;
// commands go back on it as {"address", "args"}. Beyond loopback the page carries the
// token it was opened with (?token=...) into every fetch and its websocket.
"use strict";

const NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];
const KEYS = "awsedftgyhujk";  // a computer keyboard's row: C to the next C
const RECENT = 8;              // lines the live region keeps (it reads out only what is added)
// the counters of messages dropped, one per place (the health shows their sum)
const DROPPED = ["osc_timetagged_dropped", "midi_in_dropped", "midi_out_dropped", "mqtt_outbox_dropped"];

const token = new URLSearchParams(location.search).get("token");
const withToken = path => token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
const $ = id => document.getElementById(id);
const pitchName = p => `${NAMES[p % 12]}${Math.floor(p / 12) - 1}`;

const stage = {
  offset: null,          // server clock - local clock, in seconds
  state: {},
  setup: {},
  recent: [],            // the live region's notes, newest last
  seen: {},              // pitch -> {received, drawn} (epoch ms): how long a note took to show
  planLog: [],           // {p, t, now}: plan items as they came, with the server's time then (bounded)
  withdrawLog: [],       // {p, t, now, removed}: notes taken back, and whether the roll held them
  errors: [],            // error frames (bounded)
  learnLog: [],          // the /liveai/out/learn reports shown (bounded)
  replies: [],
  socket: null,
  heard: -Infinity,      // the server time of the latest note announced
};
window.stage = stage;

function localS() { return performance.now() / 1000; }
// The server's time now: its clock as a frame left, plus what passed here since; the
// smallest delay seen wins (a late frame must not pull the roll back).
stage.clock = () => stage.offset === null ? 0 : localS() + stage.offset;

const roll = new Roll($("roll"), stage.clock);
const controls = new Controls($("control-list"), send, say);
stage.roll = roll;
stage.controls = controls;

function send(address, args) {
  const ws = stage.socket;
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({address, args}));
}

// A line for the live region: appended, so a screen reader reads the new line alone.
function speak(text, className) {
  const line = Object.assign(document.createElement("span"), {textContent: text, className: className || ""});
  const live = $("live");
  if (live.dataset.empty) { live.replaceChildren(); delete live.dataset.empty; }
  live.append(line);
  while (live.children.length > RECENT) live.firstElementChild.remove();
}

// A word to the player where they look: a line by the controls (a refusal, a field left empty).
let toastTimer = null;
function say(text) {
  const toast = $("toast");
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { toast.hidden = true; toast.textContent = ""; }, 6000);
  speak(text, "refused");
}
stage.send = send;

// -- what comes in ---------------------------------------------------------------------------
let fresh = [];  // notes come in a frame's burst: one line for the burst

function handle(item) {
  switch (item.k) {
    case "now": {
      const offset = item.t - localS();
      if (stage.offset === null || offset > stage.offset) stage.offset = offset;
      break;
    }
    case "hello": {  // on each (re)connect: the recent notes and the plan, from scratch
      stage.setup = item.setup;
      roll.clear();
      const heard = stage.heard;  // what was announced before a reconnect is drawn, not said again
      for (const [name, value] of Object.entries(item.state)) setState(name, value);
      for (const note of item.notes) if (note.t > heard) handle(note); else roll.note(note);
      for (const p of item.plan) roll.planned(p);
      showSetup(item.setup);
      if (item.learn) showLearn(item.learn, false);
      break;
    }
    case "learn":
      showLearn(item.args, true);
      break;
    case "note": {
      roll.note(item);
      if (item.v > 0) {
        stage.heard = Math.max(stage.heard, item.t);
        const text = `${item.who === "player" ? "you" : "liveai"} ${pitchName(item.p)} (${item.p})`;
        stage.recent.push(text);
        if (stage.recent.length > RECENT) stage.recent.shift();
        stage.seen[`${item.who} ${item.p}`] = {received: Date.now(), drawn: null, t: item.t};
        if (!fresh.length) queueMicrotask(() => { speak(fresh.join(", ")); fresh = []; });  // without waiting for a paint
        fresh.push(text);
      }
      break;
    }
    case "plan":
      roll.planned(item);
      if (stage.planLog.length < 500) stage.planLog.push({p: item.p, v: item.v, t: item.t, now: stage.clock()});
      break;
    case "withdraw": {
      const removed = roll.withdraw(item);
      if (stage.withdrawLog.length < 500) stage.withdrawLog.push({p: item.p, v: item.v, t: item.t, now: stage.clock(), removed});
      break;
    }
    case "state":
      setState(item.name, item.value);
      break;
    case "health":
      showHealth(item);
      break;
    case "error":
      stage.errors.push(item);
      if (stage.errors.length > 50) stage.errors.shift();
      console.warn(`liveai refused: ${item.code} ${item.message}`);
      say(`refused: ${item.message}`);
      controls.restore();  // the controls show what holds, not what was refused
      break;
    case "reply":
      stage.replies.push(item);
      if (stage.replies.length > 50) stage.replies.shift();
      break;
  }
}

function setState(name, value) {
  const before = stage.state[name];
  stage.state[name] = value;
  controls.update(name, value);
  if (name === "mode") $("mode-text").textContent = `mode: ${value}`;
  if (name === "panicked") {
    $("panicked").hidden = !value;
    $("panicked").textContent = value ? "panicked" : "";  // not in the page's text while hidden
    if (value && !before) roll.silence(stage.clock());
  }
  if (name === "playing" && !value && before) roll.silence(stage.clock());
}

function showSetup(setup) {
  const play = setup.audio ? (setup.audio_play === "all" ? "on (liveai's synth plays your notes with its own)"
    : "off (liveai's synth plays its own notes only)") : "off (liveai's synth is off)";
  $("audio-play").textContent = `Hear my notes too: ${play}. It is audio.play, read at start: ` +
    `"liveai serve --audio all" turns it on.`;
}

// -- learning -----------------------------------------------------------------------------------
// The latest /liveai/out/learn by the learn buttons: its stage, then its name value pairs
// (step, eta, figures) or its one line (a name, an error, a warning).
const SHOWN = {eta_s: "eta", validation_bits: "validation bits/event", before_heldout_bits: "held-out bits/event before",
               after_heldout_bits: "after"};
function learnText([stage, ...rest]) {
  const words = [];
  for (let i = 0; i < rest.length; i++) {
    const key = rest[i], value = rest[i + 1];
    if (typeof key === "string" && typeof value === "number" && (key in SHOWN || !key.includes("_"))) {
      const name = SHOWN[key] || key;
      words.push(key === "eta_s" ? `${name} ${Math.floor(value / 60)}:${String(Math.round(value % 60)).padStart(2, "0")}`
        : `${name} ${Number.isInteger(value) ? value : value.toFixed(2)}`);
      i++;
    } else if (typeof key === "string" && typeof value !== "number") {
      words.push(key);
    } else if (typeof value === "number") i++;  // a figure the page leaves to the card
  }
  return `learn: ${stage}${words.length ? ` — ${words.join(", ")}` : ""}`;
}

function showLearn(args, spoken) {
  stage.learn = args;
  if (stage.learnLog.length < 200) stage.learnLog.push(args);
  const line = $("learning"), text = learnText(args);
  line.textContent = text;
  line.hidden = false;
  line.className = `learning${args[0] === "error" || args[0] === "warning" ? " bad" : ""}`;
  // the live region hears each new stage (not every step: a screen reader would never stop)
  if (spoken && (args[0] !== stage.learnSpoken || args[0] === "warning")) speak(text, args[0] === "error" ? "refused" : "");
  if (spoken) stage.learnSpoken = args[0];
}

// -- health ------------------------------------------------------------------------------------
function showHealth(h) {
  stage.health = h;
  const bars = $("histogram"), counts = h.latency_histogram || [], edges = h.latency_edges_ms || [];
  const most = Math.max(1, ...counts);
  if (bars.children.length !== counts.length) bars.replaceChildren(...counts.map(() => document.createElement("div")));
  counts.forEach((n, i) => {
    const bar = bars.children[i];
    bar.style.height = `${n ? Math.max(4, 100 * n / most) : 0}%`;
    bar.className = edges[i] >= 13 ? "slow" : "";
    bar.title = `${n} answers ${i + 1 < edges.length ? `${edges[i]}-${edges[i + 1]}` : `over ${edges[i]}`} ms`;
  });
  $("histogram-axis").replaceChildren(...[0, Math.floor(edges.length / 2), edges.length - 1]
    .filter(i => i < edges.length).map(i => Object.assign(document.createElement("span"), {textContent: `${edges[i]} ms`})));
  const models = Object.entries(h.models || {}).map(([m, d]) => `${m} on ${d}`).join(", ") || (stage.setup.model || "none");
  const dropped = DROPPED.reduce((sum, key) => sum + (h[key] || 0), 0);
  const figures = [
    ["latency p50 / p99", `${(h.latency_p50_ms || 0).toFixed(1)} / ${(h.latency_p99_ms || 0).toFixed(1)} ms`, false],
    ["deadline misses", h.deadline_misses, h.deadline_misses > 0],
    ["audio underruns", h.audio === undefined || h.audio === "off" ? "audio off" : h.audio_underruns, h.audio_underruns > 0],
    ["messages dropped", dropped, dropped > 0],
    ["refused since start", h.errors, h.errors > 0],
    ["pages dropped", h.web_clients_dropped, h.web_clients_dropped > 0],
    ["sessions", h.sessions, false],
    ["model", models, false],
  ];
  $("figures").replaceChildren(...figures.map(([name, value, bad]) => {
    const pair = document.createElement("div");  // a dl's group: the pairs flow in columns
    pair.append(Object.assign(document.createElement("dt"), {textContent: name}),
      Object.assign(document.createElement("dd"), {textContent: String(value), className: bad ? "bad" : ""}));
    return pair;
  }));
  const refusals = (h.refusals || []).slice(0, 8);
  $("refusals").replaceChildren(...(refusals.length ? refusals.map(r => {
    const li = document.createElement("li");
    li.append(Object.assign(document.createElement("b"), {textContent: r.code}), ` ${r.message} (${r.source}, ${r.ago_s} s ago)`);
    return li;
  }) : [Object.assign(document.createElement("li"), {className: "note", textContent: "none"})]));
  $("health-text").textContent = `health: latency p99 ${(h.latency_p99_ms || 0).toFixed(1)} ms, ` +
    `${h.deadline_misses} deadline misses, ${h.audio && h.audio !== "off" ? `${h.audio_underruns} audio underruns` : "audio off"}, ` +
    `${dropped} messages dropped, ${h.errors} refused since start, ${h.sessions} sessions, model ${models}` +
    (h.panicked ? ", panicked" : "");
}

// -- the connection ------------------------------------------------------------------------------
let retry = 500;

function connect() {
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${withToken("/view/socket")}`);
  stage.socket = ws;
  ws.onopen = () => { retry = 500; $("link").textContent = "live"; $("link").className = "link up"; reachable(true); };
  ws.onmessage = event => { for (const item of JSON.parse(event.data)) handle(item); };
  ws.onclose = () => {
    $("link").textContent = "reconnecting…"; $("link").className = "link";
    reachable(false);
    stage.offset = null;
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 5000);
  };
}

// While the socket is down nothing the page sends arrives: say so, and take the controls away.
function reachable(up) {
  const banner = $("offline");
  banner.hidden = up;
  banner.textContent = up ? "" : "liveai is not reachable — reconnecting…";
  $("control-set").disabled = !up;
}

async function loadControls() {
  try {
    const answer = await fetch(withToken("/"), {headers: {Accept: "application/json"}});
    if (!answer.ok) throw new Error(`${answer.status} ${answer.statusText}`);
    controls.build(await answer.json());
    stage.controlsReady = true;
  } catch (exc) {
    $("control-list").replaceChildren(Object.assign(document.createElement("p"),
      {className: "note", textContent: `The controls come from OSCQuery at / and could not be read (${exc.message}).`}));
    setTimeout(loadControls, 3000);
  }
}

// -- drawing ----------------------------------------------------------------------------------------
function frame() {
  if (roll.draw()) {
    const at = Date.now();
    for (const seen of Object.values(stage.seen)) if (seen.drawn === null) seen.drawn = at;
  }
  requestAnimationFrame(frame);
}

// -- playing from the browser ----------------------------------------------------------------------
let octave = 4;
const down = new Map();  // key -> the pitch it sounded: let go as it sounded, whatever changed since

function press(event) {
  if (!$("keys-on").checked || event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest && event.target.closest("input[type=text], input[type=number], select")) return;
  const k = event.key.toLowerCase();
  if (k === "z" || k === "x") {
    octave = Math.max(0, Math.min(8, octave + (k === "x" ? 1 : -1)));
    $("octave").textContent = `C${octave}`;
    return;
  }
  const i = KEYS.indexOf(k);
  if (i < 0 || down.has(k)) return;
  const pitch = 12 * (octave + 1) + i;
  down.set(k, pitch);
  send("/liveai/note", [pitch, 96, 1]);
}

function release(k) {  // always: a modifier or the "on" box changed while held must not leave it ringing
  if (!down.has(k)) return;
  send("/liveai/note", [down.get(k), 0, 1]);
  down.delete(k);
}

const releaseAll = () => { for (const k of [...down.keys()]) release(k); };

async function useMidi() {
  if (!navigator.requestMIDIAccess) { $("midi-state").textContent = "this browser has no Web MIDI"; return; }
  try {
    const access = await navigator.requestMIDIAccess();
    const listen = () => {
      const names = [];
      for (const input of access.inputs.values()) {
        names.push(input.name);
        input.onmidimessage = ({data}) => {
          const [status, a, b] = data, kind = status & 0xf0, channel = (status & 0x0f) + 1;
          if (kind === 0x90 || kind === 0x80) send("/liveai/note", [a, kind === 0x90 ? b : 0, channel]);
          else if (kind === 0xb0) send("/liveai/cc", [a, b, channel]);
        };
      }
      $("midi-state").textContent = names.length ? `playing from ${names.join(", ")}` : "no MIDI input plugged in";
    };
    access.onstatechange = listen;
    listen();
  } catch (exc) {
    $("midi-state").textContent = `MIDI refused: ${exc.message}`;
  }
}

addEventListener("keydown", event => { if (!event.repeat) press(event); });
addEventListener("keyup", event => release(event.key.toLowerCase()));
addEventListener("blur", releaseAll);  // the key-up goes to another window
document.addEventListener("visibilitychange", () => { if (document.hidden) releaseAll(); });
$("midi").addEventListener("click", useMidi);

connect();
loadControls();
requestAnimationFrame(frame);
