import { guarded } from "./guard.js";
import { QUEUE_KEY, localValue } from "./storage.js";
import { newUuid } from "./visitor.js";

const MAX_QUEUED_EVENTS = 100; // the oldest are dropped beyond this
const MAX_BATCH_EVENTS = 50; // per request
const MAX_RETRY_DELAY_MS = 60000;

// The page's address as an event or a submission reports it: never the access token (?t=).
export const reportedPageUrl = () =>
  location.href
    .split("#")[0]
    .replace(/([?&])t=[^&]*&?/, "$1")
    .replace(/[?&]$/, "")
    .slice(0, 2000);

// Events wait in a queue kept in localStorage until leadgate has accepted them, so a
// network error, a 5xx or leaving the page loses nothing; retries resend the same ids,
// which leadgate counts once.
export const createEventQueue = (context) => {
  let queue = [];
  try {
    queue = JSON.parse(localValue(QUEUE_KEY) || "[]").slice(-MAX_QUEUED_EVENTS);
  } catch (unreadable) {
    // A queue this script cannot read is dropped.
  }
  let flushTimer = 0;
  let requestInFlight = false;
  let failedTries = 0;
  let retryNotBefore = 0; // a 429's Retry-After, as a Date.now() time

  const persist = () => {
    localValue(QUEUE_KEY, queue.length ? JSON.stringify(queue) : null);
  };
  const forget = (batch) => {
    queue = queue.filter((event) => batch.indexOf(event) < 0);
    persist();
  };
  const flushLater = (delayMs) => {
    clearTimeout(flushTimer);
    // Not before a 429's Retry-After, even for new events.
    flushTimer = setTimeout(guarded(flush), Math.max(delayMs, retryNotBefore - Date.now()));
  };

  // pageHiding: the page is going away, so send now even beside a request in flight.
  function flush(pageHiding) {
    if (
      !queue.length ||
      !context.trackingAllowed() ||
      (requestInFlight && !pageHiding) ||
      retryNotBefore > Date.now()
    ) {
      return;
    }
    const batch = queue.slice(0, MAX_BATCH_EVENTS);
    const body = JSON.stringify({ visitor_id: context.visitorId, events: batch });
    requestInFlight = true;
    // text/plain keeps it a CORS "simple" request (no preflight); no cookies are sent.
    fetch(context.apiBase + "events", {
      method: "POST",
      body,
      keepalive: true,
      credentials: "omit",
      headers: { "Content-Type": "text/plain" },
    })
      .then((response) => {
        requestInFlight = false;
        if (response.status === 429) {
          // Rate-limited, nothing stored: the same events go after Retry-After.
          retryNotBefore = Date.now() + 1000 * (Number(response.headers.get("Retry-After")) || 60);
          flushLater(0);
        } else if (response.status < 500) {
          // 2xx stored, 4xx refused for good: drop. 5xx, offline: retry, same ids.
          failedTries = 0;
          forget(batch);
          if (queue.length) flushLater(0);
        } else {
          throw response.status;
        }
      })
      .catch(
        guarded(() => {
          requestInFlight = false;
          // Exponential backoff with jitter, capped at a minute.
          flushLater(
            Math.min(MAX_RETRY_DELAY_MS, 1000 * Math.pow(2, failedTries++)) *
              (1 + Math.random() / 2),
          );
        }),
      );
  }

  // gateSlug: the gate of a form embedded for another gate than the script tag's.
  const track = (type, extra, gateSlug) => {
    if (!context.trackingAllowed()) return;
    const event = {
      id: newUuid(),
      type,
      gate: gateSlug || context.gate,
      occurred_at: new Date().toISOString(),
      url: reportedPageUrl(),
    };
    for (const key in extra) event[key] = extra[key];
    queue.push(event);
    queue = queue.slice(-MAX_QUEUED_EVENTS);
    persist();
    flushLater(type === "download" ? 0 : 1000);
  };

  // Page hide: a keepalive request outlives the page (like sendBeacon, without cookies).
  // beforeHide: what the page's watchers still have to report (the reading time so far).
  const beforeHide = [];
  const hiding = guarded(() => {
    beforeHide.forEach((report) => {
      report();
    });
    flush(true);
  });
  document.addEventListener(
    "visibilitychange",
    guarded(() => {
      if (document.hidden) hiding();
    }),
  );
  window.addEventListener("pagehide", hiding);

  return { track, flush, beforeHide };
};
