// The controls are the command table: read from liveai's OSCQuery tree (GET / as JSON),
// one control per command, shaped by its TYPE and RANGE, so a new command appears by
// itself. A control sends its command and then shows what liveai says: the state it
// echoes, from this page or anywhere else (OSC, MIDI, MQTT, another page). Only a slider
// under the player's pointer waits for the pointer to let go.
"use strict";

// Commands a page does not show as controls: notes and controllers are played (the
// keyboard, Web MIDI), the rest is an OSC client's plumbing.
const HIDDEN = new Set(["/liveai/note", "/liveai/cc", "/liveai/ping", "/liveai/status",
                        "/liveai/subscribe", "/liveai/unsubscribe"]);
// The state each argument shows, where it is not the command's own name.
const STATE_OF = {"/liveai/key": ["key", "scale"], "/liveai/register": ["low", "high"]};
// What each argument is called on the page, where "<command> <n>" would say nothing.
const LABELS = {"/liveai/key": ["key", "scale"], "/liveai/register": ["register low", "register high"],
                "/liveai/continue": ["continue (beats)"]};
// A starting value for a command that holds no state: a musical one, not the range's end.
const STARTS = {"/liveai/continue": [4]};
// A line under a control, where its name does not say what it does.
const HINTS = {"/liveai/morph/capture": "takes the last two bars you played",
               "/liveai/morph/load": "the first two bars of a MIDI file in morph.folder",
               "/liveai/continue": "duet: answer now with about this many beats"};
const PITCHES = new Set(["low", "high"]);  // state shown as note names
const FIRST = ["/liveai/mode", "/liveai/play", "/liveai/stop", "/liveai/panic", "/liveai/temperature",
               "/liveai/density", "/liveai/morph", "/liveai/tempo", "/liveai/key", "/liveai/register",
               "/liveai/morph/capture", "/liveai/morph/load", "/liveai/continue"];
const NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"];

function commands(tree) {  // every node with a TYPE, depth first
  const out = [];
  const walk = node => {
    if (!node || typeof node !== "object") return;
    if (typeof node.TYPE === "string" && node.FULL_PATH) out.push(node);
    for (const child of Object.values(node.CONTENTS || {})) walk(child);
  };
  walk(tree);
  const rank = path => { const i = FIRST.indexOf(path); return i < 0 ? FIRST.length : i; };
  return out.filter(n => !HIDDEN.has(n.FULL_PATH) && !n.FULL_PATH.startsWith("/liveai/out/"))
    .sort((a, b) => rank(a.FULL_PATH) - rank(b.FULL_PATH));
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child);
  return node;
}

function label(path) { return path.replace("/liveai/", "").replace(/\//g, " "); }
function spoken(v) { return String(v).replace(/_/g, " "); }  // "harmonic_minor" as people write it
function fmt(x) { return Number.isInteger(x) ? String(x) : x.toFixed(2); }
function noteName(p) { return `${NOTE_NAMES[p % 12]}${Math.floor(p / 12) - 1} (${p})`; }

class Controls {
  constructor(root, send, say) {
    this.root = root;
    this.send = send;      // (address, args) => void
    this.say = say || (() => {});  // (text) => void: a word to the player, e.g. a field left empty
    this.views = [];       // {path, names, set(values), held()} that follow the state
    this.state = {};
  }

  build(tree) {
    this.root.replaceChildren();
    this.views = [];
    let actions = null;  // buttons side by side: play, stop, panic
    for (const node of commands(tree)) {
      const control = this.control(node);
      if (node.TYPE !== "") { actions = null; this.root.append(control); continue; }
      if (!actions) this.root.append(actions = el("div", {class: "control actions wide"}));
      actions.append(...control.childNodes);
    }
    this.restore();
  }

  control(node) {
    const path = node.FULL_PATH, types = [...node.TYPE], ranges = node.RANGE || [];
    const doc = (node.DESCRIPTION || "").split(/(?<=\.)\s/)[0];
    const wrap = el("div", {class: "control", title: node.DESCRIPTION || path, "data-path": path});
    const name = label(path);
    const stateful = node.VALUE !== undefined || (node.ACCESS & 1) === 1;
    const first = ranges[0] || {};
    const hint = HINTS[path] ? el("p", {class: "hint"}, HINTS[path]) : "";
    if (types.length === 0) {  // an action: play, stop, panic
      wrap.append(el("button", {type: "button", class: path.endsWith("/panic") ? "danger" : "", "data-path": path,
        "aria-label": `${name}: ${doc}`, onclick: () => this.send(path, [])}, name));
      return wrap;
    }
    const rest = types.slice(1).map((t, i) => ({t, r: ranges[i + 1]}));
    if (Array.isArray(first.VALS) && first.VALS.length <= 8 && rest.every(({t, r}) => t === "s" && !r)) {
      // a choice among a few (a mode; a slot), after any free text it needs (a file name)
      const fields = rest.map(() => el("input", {type: "text", size: 14, placeholder: "file in morph.folder",
        "aria-label": `${name}: file in morph.folder`, spellcheck: "false"}));
      const click = v => {
        const text = fields.map(f => f.value.trim());
        if (text.some(s => s === "")) { this.say(`${name}: type a file name first`); fields[0].focus(); return; }
        this.send(path, [v, ...text]);
      };
      const box = el("div", {class: "segmented", role: "group", "aria-label": name});
      const buttons = first.VALS.map(v => el("button", {type: "button", "data-value": v, "aria-pressed": "false",
        onclick: () => click(v)}, stateful ? spoken(v) : `${rest.length ? "load" : name.split(" ").pop()} ${v}`));
      if (!stateful) buttons.forEach(b => b.removeAttribute("aria-pressed"));
      box.append(...fields, ...buttons);
      wrap.append(el("div", {class: "name"}, name), box, hint);
      if (stateful) {
        wrap.classList.add("wide");
        this.views.push({path, names: this.names(path, 1), held: () => false, set: ([v]) => {
          for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === String(v)));
        }});
      }
      return wrap;
    }
    // one input per argument that has a range or choices (later free arguments, e.g. a session, are left out)
    const names = this.names(path, types.length), labels = LABELS[path] || [];
    const start = STARTS[path] || (node.DEFAULT !== undefined ? [].concat(node.DEFAULT) : []);
    const inputs = [];
    types.forEach((t, i) => {
      const r = ranges[i] || {}, aria = labels[i] || (types.length === 1 ? name : `${name} ${i + 1}`);
      if (Array.isArray(r.VALS)) {
        inputs.push(el("select", {"aria-label": aria}, ...r.VALS.map(v => el("option", {value: v}, spoken(v)))));
      } else if (typeof r.MIN === "number" && typeof r.MAX === "number") {
        const step = t === "i" ? 1 : "any";  // a float lands where the state says, not on a grid
        const value = start[i] !== undefined ? start[i] : r.MIN;
        inputs.push(el("input", {type: "range", min: r.MIN, max: r.MAX, step, value, "aria-label": aria}));
      } else if (i === 0 || !stateful) {
        inputs.push(el("input", {type: t === "s" ? "text" : "number", "aria-label": aria, size: 10}));
      }
    });
    const values = () => inputs.map((input, i) => input.type === "text" ? input.value :
      (types[i] === "s" ? input.value : Number(input.value))).filter(v => v !== "");
    const ranged = inputs.filter(input => input.type === "range");
    const outputs = ranged.map(() => el("output", {}, ""));
    const show = () => ranged.forEach((input, i) => {
      const v = Number(input.value);
      outputs[i].textContent = PITCHES.has(names[inputs.indexOf(input)]) ? noteName(v) : fmt(v);
    });
    if (ranged.length > 1) {  // each slider its own name and value (register low, register high)
      wrap.classList.add("pair");
      ranged.forEach((input, i) => wrap.append(el("div", {class: "name"},
        el("span", {}, input.getAttribute("aria-label")), outputs[i]), input));
      const others = inputs.filter(input => input.type !== "range");
      if (others.length) wrap.append(el("div", {class: "row"}, ...others));
    } else {
      if (inputs.length > 1) wrap.classList.add("wide");  // menus side by side (key and scale)
      wrap.append(el("div", {class: "name"}, el("span", {}, labels[0] || name), ...outputs),
                  el("div", {class: "row"}, ...inputs));
    }
    if (names.length === 2 && names.every(n => PITCHES.has(n))) this.apart(inputs);
    let down = false;  // the pointer holds a slider: liveai's echoes wait until it lets go
    if (stateful) {
      let timer = null;
      const go = () => { timer = null; this.send(path, values()); };
      for (const input of inputs) {
        input.addEventListener("input", () => {
          show();
          if (input.type === "range") { if (!timer) timer = setTimeout(go, 40); }  // a drag: 25 sends a second at most
        });
        input.addEventListener("change", () => { if (timer) clearTimeout(timer); go(); });
        input.addEventListener("pointerdown", () => { down = true; });
      }
      const view = {path, names, held: () => down, set: vals => {
        vals.forEach((v, i) => { if (inputs[i] && v !== undefined && v !== null) inputs[i].value = v; });
        show();
      }};
      addEventListener("pointerup", () => { if (down) { down = false; this.restore([view]); } });
      addEventListener("pointercancel", () => { if (down) { down = false; this.restore([view]); } });
      this.views.push(view);
    } else {
      for (const input of inputs) input.addEventListener("input", show);
      wrap.lastChild.append(el("button", {type: "button", onclick: () => this.send(path, values())}, name));
    }
    if (hint) wrap.append(hint);
    show();
    return wrap;
  }

  // Two pitch sliders, low and high, that never cross: the one moved pushes against the other.
  apart([low, high]) {
    low.addEventListener("input", () => {
      if (Number(low.value) >= Number(high.value)) low.value = Math.min(Number(high.value) - 1, Number(low.max) - 1);
      if (Number(low.value) >= Number(high.value)) high.value = Number(low.value) + 1;
    }, {capture: true});
    high.addEventListener("input", () => {
      if (Number(high.value) <= Number(low.value)) high.value = Math.max(Number(low.value) + 1, Number(high.min) + 1);
      if (Number(high.value) <= Number(low.value)) low.value = Number(high.value) - 1;
    }, {capture: true});
  }

  names(path, n) {
    const own = STATE_OF[path] || [path.replace("/liveai/", "")];
    return own.slice(0, n);
  }

  // Show liveai's state again on `views` (all): after a refusal, a control shows what holds.
  restore(views) {
    for (const view of views || this.views) {
      if (!view.held()) view.set(view.names.map(n => this.state[n]));
    }
  }

  // Move every control whose state is among `changed`.
  follow(changed) {
    this.restore(this.views.filter(view => view.names.some(n => n in changed)));
  }

  update(name, value) {
    this.state[name] = value;
    this.follow({[name]: value});
  }
}

window.Controls = Controls;
