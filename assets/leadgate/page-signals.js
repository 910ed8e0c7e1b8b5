import { guarded } from "./guard.js";

// People read in the upper third of the window, not at its centre.
const READING_LINE = 0.3;
const TICK_MS = 1000;
const HEARTBEAT_MS = 10000;
const LIFE_SIGNS = ["scroll", "keydown", "pointerdown", "pointermove", "touchstart", "wheel"];

// Attention, not visibility: active reading time goes to one section at a time, the one at
// the reader's focus (crossing the reading line, else the visible one nearest to it), and
// only while the page is visible and focused and the reader has shown life (scroll, key,
// pointer, touch) within the gate's idle cut-off. The time is reported as it accrues: a
// section_view with the milliseconds since the last report when a section reaches the
// gate's minimum dwell, then heartbeats, and a last one when the page is hidden; leadgate
// adds them up per section and decides what counts as read.
export const watchSections = (context, track, beforeHide) => {
  const elements = document.querySelectorAll("[data-leadgate-section]");
  if (!elements.length) return;
  const unsent = {}; // "section[ file]" -> active ms not reported yet
  const total = {}; // "section[ file]" -> active ms on this page
  let current = ""; // the section at the reader's focus, as of the last tick
  let lastTick = Date.now();
  let lastLife = lastTick;
  let lastReport = lastTick;
  // A frame cannot know whether its page has the focus; life inside it says enough.
  let present = self != top || document.hasFocus();
  let attentive = false;

  const focused = () => {
    const line = innerHeight * READING_LINE;
    let best = "";
    let bestDistance = 1 / 0;
    [].forEach.call(elements, (element) => {
      const box = element.getBoundingClientRect();
      // 0 when the box crosses the line; a hidden or off-screen section is never chosen.
      const distance = Math.max(box.top - line, line - box.bottom, 0);
      if (box.height && box.bottom > 0 && box.top < innerHeight && distance < bestDistance) {
        bestDistance = distance;
        // Keys are [a-z0-9_-]: a space cannot be part of one (forms_app/models.py).
        const file = element.closest("[data-leadgate-file]");
        best =
          element.getAttribute("data-leadgate-section") +
          (file ? " " + file.getAttribute("data-leadgate-file") : "");
      }
    });
    return best;
  };
  const report = () => {
    lastReport = Date.now();
    for (const key in unsent) {
      if (unsent[key] > 0) {
        // "section file": a page of a PDF read inline is a section of that file.
        const [section, file] = key.split(" ");
        const event = { section, duration_ms: unsent[key] };
        if (file) event.file = file;
        track("section_view", event);
      }
      unsent[key] = 0;
    }
  };
  // Credits the time since the last tick to the section that was at the focus, if the
  // reader was attentive, up to the idle cut-off; then looks again.
  const tick = guarded(() => {
    const now = Date.now();
    const ms = Math.min(now, lastLife + context.idleMs) - lastTick;
    const before = total[current] || 0;
    if (current && attentive && ms > 0) {
      unsent[current] = (unsent[current] || 0) + ms;
      total[current] = before + ms;
      // Reported at once when it first may count; then with the heartbeats.
      if (before < context.minDwellMs && total[current] >= context.minDwellMs) report();
    }
    if (now - lastReport >= HEARTBEAT_MS) report();
    lastTick = now;
    attentive = present && !document.hidden;
    current = focused();
  });
  const alive = guarded((event) => {
    // Back from idle or from another window: that stretch was credited up to its cut-off.
    if (!present || Date.now() - lastLife > context.idleMs) tick();
    present = true;
    lastLife = Date.now();
    attentive = !document.hidden;
    if (event.type == "scroll") tick();
  });
  LIFE_SIGNS.forEach((type) => {
    addEventListener(type, alive, { capture: true, passive: true });
  });
  addEventListener(
    "blur",
    guarded(() => {
      tick();
      present = attentive = false;
    }),
  );
  addEventListener(
    "focus",
    guarded(() => {
      present = true;
      tick();
    }),
  );
  document.addEventListener("visibilitychange", tick);
  addEventListener("resize", tick);
  // The queue sends what is queued when the page is hidden: the time read so far first.
  beforeHide.push(() => {
    tick();
    report();
  });
  setInterval(tick, TICK_MS);
  tick();
};

export const watchDownloads = (track) => {
  document.addEventListener(
    "click",
    guarded((click) => {
      const link = click.target.closest("[data-leadgate-download]");
      if (link) track("download", { file: link.getAttribute("data-leadgate-download") });
    }),
    true, // capture: a page's own handler that stops the click does not hide it
  );
};
