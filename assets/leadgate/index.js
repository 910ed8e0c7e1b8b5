// The embed tracker's entry point: the gate form and passive profiling for any page that
// loads /static/leadgate.js. scripts/build-tracker.sh bundles these modules into that file.
// Strict, as modules are; the directive keeps the bundled classic script strict too.
"use strict";

import { createContext, rememberVisitor } from "./context.js";
import { createEventQueue } from "./event-queue.js";
import { renderGateForm } from "./gate-form.js";
import { guarded } from "./guard.js";
import { watchDownloads, watchSections } from "./page-signals.js";

const startTracker = (script) => {
  const context = createContext(script);
  rememberVisitor(context);
  const { track, flush, beforeHide } = createEventQueue(context);

  let started = false;
  // The page view and the passive signals: at once, or (GPC/DNT) after the form.
  const startTracking = () => {
    if (started || !context.trackingAllowed()) return;
    started = true;
    track("page_view", {});
    if (document.querySelector("[data-leadgate-hosted-form]")) track("form_view", {});
    watchSections(context, track, beforeHide);
    watchDownloads(track);
    flush();
  };
  const tracker = { context, track, startTracking };

  // The hosted page's own form (no JS needed) carries the visitor id when allowed.
  const fillHostedForm = () => {
    [].forEach.call(document.querySelectorAll("form input[name=visitor_id]"), (input) => {
      if (!input.value && context.trackingAllowed()) input.value = context.visitorId;
    });
  };

  window.leadgate = { visitorId: context.visitorId, track, flush };
  const onReady = guarded(() => {
    fillHostedForm();
    [].forEach.call(
      document.querySelectorAll("[data-leadgate-form]"),
      guarded((box) => renderGateForm(box, tracker)),
    );
    startTracking();
  });
  document.readyState === "loading"
    ? document.addEventListener("DOMContentLoaded", onReady)
    : onReady();
};

guarded(() => {
  const script = document.currentScript || document.querySelector("script[src*='leadgate.js']");
  if (!script || window.leadgate) return; // one tracker per page
  startTracker(script);
})();
