// The piano roll: one canvas, notes falling toward a keyboard. Time runs down the screen:
// liveai's planned notes fall in from the top, sound as they cross the "now" line, and
// keep falling toward the keyboard as they fade. Arrays are bounded; drawing happens in
// requestAnimationFrame, only while something moves.
"use strict";

const FUTURE_S = 2.0;   // seconds of plan above the now line
const PAST_S = 4.0;     // seconds of what sounded below it
const MAX_NOTES = 2000; // notes kept (older go first)
const MAX_PLAN = 2000;
const BG = [7, 9, 13];
const YOU = [[255, 179, 71], [255, 138, 101], [255, 213, 79], [240, 98, 146]];  // a shade per player
const AI = [[79, 209, 197], [99, 179, 237], [104, 211, 145], [129, 230, 217]];  // a shade per channel
const PLAN = [127, 156, 245];
const BLACK = new Set([1, 3, 6, 8, 10]);

function rgb(c, a) { return a === undefined ? `rgb(${c[0]},${c[1]},${c[2]})` : `rgba(${c[0]},${c[1]},${c[2]},${a})`; }

class Roll {
  constructor(canvas, clock) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.clock = clock;       // () => the server's time now, in seconds
    this.notes = [];          // {who, s, p, c, v, on, off}
    this.open = new Map();    // who|s|c|p -> the sounding note
    this.plan = [];           // {p, c, v, on, off}
    this.players = new Map(); // player -> shade index
    this.seenLow = 128; this.seenHigh = -1;  // the outermost pitches drawn so far
    this.low = 36; this.high = 96;  // set by layout(): a fixed range for the width, wider only for a note outside it
    this.xs = null;           // {w, low, high, at}: x and width per pitch, worked out in layout()
    this.dirty = true;
    this.drawn = 0;           // frames drawn (for tests and the curious)
    new ResizeObserver(() => { this.dirty = true; }).observe(canvas);
  }

  shade(who, s, c) {
    if (who !== "player") return AI[c % AI.length];
    if (!this.players.has(s)) this.players.set(s, this.players.size % YOU.length);
    return YOU[this.players.get(s)];
  }

  widen(p) {
    this.seenLow = Math.min(this.seenLow, p);
    this.seenHigh = Math.max(this.seenHigh, p);
  }

  // The keys shown: C2-C7 on a wide roll, C3-C6 on a narrow one (keys a finger can tell apart);
  // a note outside them widens the range by whole octaves, and it stays wide while the page is open.
  range(w) {
    const [low, high] = w >= 700 ? [36, 96] : [48, 84];
    this.low = Math.max(0, Math.min(low, this.seenLow - (this.seenLow % 12)));
    this.high = Math.min(127, Math.max(high, this.seenHigh + 11 - (this.seenHigh % 12)));
  }

  note(item) {
    const key = `${item.who}|${item.s}|${item.c}|${item.p}`;
    const held = this.open.get(key);
    if (held) { held.off = item.t; this.open.delete(key); }
    if (item.v > 0) {
      const note = {who: item.who, s: item.s, p: item.p, c: item.c, v: item.v, on: item.t, off: null};
      this.notes.push(note);
      this.open.set(key, note);
      this.widen(item.p);
      if (this.notes.length > MAX_NOTES) {
        const gone = this.notes.splice(0, this.notes.length - MAX_NOTES);
        for (const n of gone) if (n.off === null) this.open.delete(`${n.who}|${n.s}|${n.c}|${n.p}`);
      }
    }
    this.dirty = true;
  }

  planned(item) {
    if (item.v > 0) {
      if (this.plan.length >= MAX_PLAN) this.plan.shift();
      this.plan.push({p: item.p, c: item.c, v: item.v, on: item.t, off: null});
      this.widen(item.p);
    } else {  // its end: the earliest planned start of that key before it without one
      let best = null;
      for (const n of this.plan) {
        if (n.p === item.p && n.c === item.c && n.off === null && n.on <= item.t && (!best || n.on < best.on)) best = n;
      }
      if (best) best.off = item.t;
    }
    this.dirty = true;
  }

  withdraw(item) {
    const i = this.plan.findIndex(n => n.p === item.p && n.c === item.c &&
      (item.v > 0 ? Math.abs(n.on - item.t) < 1e-3 : n.off !== null && Math.abs(n.off - item.t) < 1e-3));
    if (i >= 0) {
      if (item.v > 0) this.plan.splice(i, 1); else this.plan[i].off = null;
    }
    this.dirty = true;
    return i >= 0;
  }

  clear() {  // a reconnect: the hello brings the recent notes and the plan again
    this.notes = [];
    this.open.clear();
    this.plan = [];
    this.dirty = true;
  }

  silence(t) {  // a panic or stop: whatever is held ends now, the plan is gone
    for (const n of this.open.values()) n.off = t;
    this.open.clear();
    this.plan = [];
    this.dirty = true;
  }

  // Geometry: the keyboard at the bottom, the now line above it, x by pitch.
  layout() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    if (this.canvas.width !== Math.round(w * dpr) || this.canvas.height !== Math.round(h * dpr)) {
      this.canvas.width = Math.round(w * dpr);
      this.canvas.height = Math.round(h * dpr);
    }
    this.range(w);
    const keysH = Math.max(40, Math.min(110, h * 0.16));
    const rollH = h - keysH;
    const pps = rollH / (FUTURE_S + PAST_S);
    this.spans(w);
    return {dpr, w, h, keysH, top: rollH, nowY: FUTURE_S * pps, pps};
  }

  // x span of every pitch, once per width and range (not per note per frame: 2,000 notes at
  // 60 fps on a tablet): white keys share the width; a black key sits across a boundary.
  spans(w) {
    const xs = this.xs;
    if (xs && xs.w === w && xs.low === this.low && xs.high === this.high) return;
    let whites = 0;
    for (let q = this.low; q <= this.high; q++) if (!BLACK.has(q % 12)) whites++;
    const kw = w / whites, at = [];
    let before = 0;
    for (let q = 0; q < 128; q++) {
      at.push(BLACK.has(q % 12) ? [before * kw - kw * 0.3, kw * 0.6] : [before * kw, kw]);
      if (q >= this.low && !BLACK.has(q % 12)) before++;
    }
    this.xs = {w, low: this.low, high: this.high, at};
  }

  span(p, w) {
    this.spans(w);
    return this.xs.at[p];
  }

  y(t, g, now) { return g.nowY + (now - t) * g.pps; }

  busy(now) {
    const last = this.notes.length ? this.notes[this.notes.length - 1] : null;
    return this.open.size > 0 || this.plan.length > 0 ||
      (last && (last.off === null || last.off > now - PAST_S - 0.5));
  }

  draw() {
    const now = this.clock();
    if (!this.dirty && !this.busy(now)) return false;
    this.dirty = false;
    const g = this.layout(), c = this.ctx;
    c.setTransform(g.dpr, 0, 0, g.dpr, 0, 0);
    c.fillStyle = rgb(BG);
    c.fillRect(0, 0, g.w, g.h);
    // octave lines, so a pitch can be read by eye
    c.fillStyle = "rgba(255,255,255,0.045)";
    for (let p = this.low; p <= this.high; p++) if (p % 12 === 0) c.fillRect(this.span(p, g.w)[0], 0, 1, g.top);
    // the plan: outlined, falling in
    this.plan = this.plan.filter(n => n.on > now - 0.05 || (n.off !== null && n.off > now && n.on > now - PAST_S));
    c.lineWidth = 2;
    for (const n of this.plan) {
      if (n.on < now - 0.05) continue;
      const [x, wd] = this.span(n.p, g.w);
      const y0 = this.y(n.on, g, now), y1 = this.y(n.off === null ? n.on + 0.25 : n.off, g, now);
      c.strokeStyle = rgb(PLAN, 0.95);
      c.fillStyle = rgb(PLAN, 0.18);
      c.fillRect(x + 2, y1, wd - 4, Math.max(4, y0 - y1));
      c.strokeRect(x + 2, y1, wd - 4, Math.max(4, y0 - y1));
    }
    // what sounded: solid, fading as it falls
    for (const n of this.notes) {
      const end = n.off === null ? now : n.off;
      if (end < now - PAST_S) continue;
      const [x, wd] = this.span(n.p, g.w);
      const y0 = this.y(n.on, g, now), y1 = this.y(Math.min(end, now), g, now);
      const age = Math.max(0, now - end) / PAST_S;
      c.fillStyle = rgb(this.shade(n.who, n.s, n.c), 0.95 - 0.7 * age);
      // the player's on the left of the key, liveai's on the right: both show when they share a pitch
      const left = n.who === "player" ? x + 1 : x + wd * 0.4, right = n.who === "player" ? x + wd * 0.6 : x + wd - 1;
      c.fillRect(left, y1, right - left, Math.max(3, Math.min(y0, g.top) - y1));
    }
    // the now line
    c.fillStyle = "rgba(232,236,244,0.35)";
    c.fillRect(0, g.nowY, g.w, 1.5);
    this.keyboard(g, c);
    this.drawn++;
    return true;
  }

  keyboard(g, c) {
    const lit = new Map();
    for (const n of this.open.values()) lit.set(n.p, this.shade(n.who, n.s, n.c));
    c.fillStyle = "#1a1f2b";
    c.fillRect(0, g.top, g.w, g.keysH);
    for (let p = this.low; p <= this.high; p++) {
      if (BLACK.has(p % 12)) continue;
      const [x, wd] = this.span(p, g.w);
      c.fillStyle = lit.has(p) ? rgb(lit.get(p)) : "#d9dde6";
      c.fillRect(x + 1, g.top + 2, wd - 2, g.keysH - 3);
    }
    for (let p = this.low; p <= this.high; p++) {
      if (!BLACK.has(p % 12)) continue;
      const [x, wd] = this.span(p, g.w);
      c.fillStyle = lit.has(p) ? rgb(lit.get(p)) : "#10131a";
      c.fillRect(x, g.top + 2, wd, g.keysH * 0.6);
    }
  }

  // The colour drawn a little below the now line over `p`, on the player's side of the key
  // or liveai's (tests read it to see a note was drawn).
  probe(p, who, below) {
    const g = this.layout();
    const [x, wd] = this.span(p, g.w);
    const px = this.ctx.getImageData(Math.round((x + wd * (who === "player" ? 0.2 : 0.8)) * g.dpr), Math.round((g.nowY + (below || 4)) * g.dpr), 1, 1).data;
    return {rgba: Array.from(px), background: BG};
  }
}

window.Roll = Roll;
