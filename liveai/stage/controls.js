// The controls are the command table: read from liveai's OSCQuery tree (GET / as JSON),
// one control per command, shaped by its TYPE and RANGE, so a new command appears by
// itself. A control sends its command; a state change from anywhere (OSC, MIDI, MQTT,
// another page) moves it.
"use strict";

// Commands a page does not show as controls: notes and controllers are played (the
// keyboard, Web MIDI), the rest is an OSC client's plumbing.
const HIDDEN = new Set(["/liveai/note", "/liveai/cc", "/liveai/ping", "/liveai/status",
                        "/liveai/subscribe", "/liveai/unsubscribe"]);
// The state each argument shows, where it is not the command's own name.
const STATE_OF = {"/liveai/key": ["key", "scale"], "/liveai/register": ["low", "high"]};
const FIRST = ["/liveai/mode", "/liveai/play", "/liveai/stop", "/liveai/panic", "/liveai/temperature",
               "/liveai/density", "/liveai/morph", "/liveai/morph/capture", "/liveai/key", "/liveai/tempo"];
const QUIET_MS = 400;  // after a local change, the echo of older values does not move a control back

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

class Controls {
  constructor(root, send) {
    this.root = root;
    this.send = send;      // (address, args) => void
    this.views = [];       // {path, names, set(values)} that follow the state
    this.touched = {};     // path -> when the player last moved it here
    this.state = {};
  }

  build(tree) {
    this.root.replaceChildren();
    this.views = [];
    let actions = null;  // buttons side by side: play, stop, panic
    for (const node of commands(tree)) {
      const control = this.control(node);
      if (node.TYPE !== "") { actions = null; this.root.append(control); continue; }
      if (!actions) this.root.append(actions = el("div", {class: "control actions"}));
      actions.append(...control.childNodes);
    }
    this.follow(this.state);
  }

  control(node) {
    const path = node.FULL_PATH, types = [...node.TYPE], ranges = node.RANGE || [];
    const doc = (node.DESCRIPTION || "").split(/(?<=\.)\s/)[0];
    const wrap = el("div", {class: "control", title: node.DESCRIPTION || path, "data-path": path});
    const name = label(path);
    const stateful = node.VALUE !== undefined || (node.ACCESS & 1) === 1;
    const first = ranges[0] || {};
    if (types.length === 0) {  // an action: play, stop, panic
      wrap.append(el("button", {type: "button", class: path.endsWith("/panic") ? "danger" : "", "data-path": path,
        "aria-label": `${name}: ${doc}`, onclick: () => this.send(path, [])}, name));
      return wrap;
    }
    if (Array.isArray(first.VALS) && first.VALS.length <= 8 && (types.length === 1 || !(ranges[1] || {}).VALS)) {
      // a choice among a few: buttons (a mode; a slot to capture into)
      const box = el("div", {class: "segmented", role: stateful ? "radiogroup" : "group", "aria-label": name});
      const buttons = first.VALS.map(v => el("button", {type: "button", "data-value": v, "aria-pressed": "false",
        onclick: () => { this.touch(path); this.send(path, [v]); }}, stateful ? String(v) : `${name} ${v}`));
      box.append(...buttons);
      wrap.append(el("div", {class: "name"}, name), box);
      if (stateful) this.views.push({path, names: this.names(path, 1), set: ([v]) => {
        for (const b of buttons) b.setAttribute("aria-pressed", String(b.dataset.value === String(v)));
      }});
      return wrap;
    }
    // one input per argument that has a range or choices (later free arguments, e.g. a session, are left out)
    const inputs = [];
    types.forEach((t, i) => {
      const r = ranges[i] || {};
      if (Array.isArray(r.VALS)) {
        inputs.push(el("select", {"aria-label": `${name} ${i + 1}`}, ...r.VALS.map(v => el("option", {value: v}, String(v)))));
      } else if (typeof r.MIN === "number" && typeof r.MAX === "number") {
        const step = t === "i" ? 1 : "any";  // a float lands where the state says, not on a grid
        inputs.push(el("input", {type: "range", min: r.MIN, max: r.MAX, step, value: r.MIN, "aria-label": name}));
      } else if (i === 0 || !stateful) {
        inputs.push(el("input", {type: t === "s" ? "text" : "number", "aria-label": `${name} ${i + 1}`, size: 10}));
      }
    });
    const shown = el("output", {}, "");
    const values = () => inputs.map((input, i) => input.type === "text" ? input.value :
      (types[i] === "s" ? input.value : Number(input.value))).filter(v => v !== "");
    const show = () => { shown.textContent = inputs.length === 1 && inputs[0].type === "range" ? fmt(Number(inputs[0].value)) : ""; };
    wrap.append(el("div", {class: "name"}, el("span", {}, name), shown));
    const row = el("div", {class: "row"}, ...inputs);
    if (stateful) {
      let timer = null;
      const go = () => { timer = null; this.send(path, values()); };
      for (const input of inputs) {
        input.addEventListener("input", () => {
          this.touch(path); show();
          if (input.type === "range") { if (!timer) timer = setTimeout(go, 40); }  // a drag: 25 sends a second at most
        });
        input.addEventListener("change", () => { this.touch(path); if (timer) clearTimeout(timer); go(); });
      }
      this.views.push({path, names: this.names(path, inputs.length), set: vals => {
        vals.forEach((v, i) => { if (inputs[i] && v !== undefined && v !== null) inputs[i].value = v; });
        show();
      }});
    } else {
      row.append(el("button", {type: "button", onclick: () => this.send(path, values())}, name));
    }
    wrap.append(row);
    show();
    return wrap;
  }

  names(path, n) {
    const own = STATE_OF[path] || [path.replace("/liveai/", "")];
    return own.slice(0, n);
  }

  touch(path) { this.touched[path] = performance.now(); }

  // Move every control whose state is among `changed` (all when omitted).
  follow(changed) {
    const now = performance.now();
    for (const view of this.views) {
      if (!view.names.some(n => n in changed)) continue;
      if (now - (this.touched[view.path] || -1e9) < QUIET_MS) continue;
      view.set(view.names.map(n => this.state[n]));
    }
  }

  update(name, value) {
    this.state[name] = value;
    this.follow({[name]: value});
  }
}

function fmt(x) { return Number.isInteger(x) ? String(x) : x.toFixed(2); }

window.Controls = Controls;
