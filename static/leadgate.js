/*! leadgate.js: passive profiling for leadgate gates. No dependencies, never throws.
 *
 * <script src="https://LEADGATE_HOST/static/leadgate.js" data-gate="network-vbook" async></script>
 * <section data-leadgate-section="why-fiber">...</section>   a tracked section
 * <a href="/map.pdf" data-leadgate-download="network-map">Map</a>   a tracked download
 *
 * Sends page_view on load (and form_view when a form is on the page), section_view once a
 * section has been at least half visible for the gate's dwell time, and download on
 * clicks of tracked links, to POST /api/v1/public/events on the leadgate host.
 */
(function () {
  "use strict";
  try {
    var script =
      document.currentScript ||
      document.querySelector("script[data-gate][src*='leadgate.js']");
    if (!script) return;
    var gate = script.getAttribute("data-gate");
    if (!gate) return;
    var minDwell = parseInt(script.getAttribute("data-min-dwell-ms") || "5000", 10);
    if (!(minDwell >= 0)) minDwell = 5000;
    var endpoint = new URL("/api/v1/public/events", script.src || location.href).href;
    var COOKIE = "lg_vid";
    var UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

    var uuid4 = function () {
      try {
        if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
      } catch (e) {
        /* not a secure context: fall through */
      }
      var b = new Uint8Array(16);
      if (window.crypto && crypto.getRandomValues) {
        crypto.getRandomValues(b);
      } else {
        for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
      }
      b[6] = (b[6] & 0x0f) | 0x40;
      b[8] = (b[8] & 0x3f) | 0x80;
      var h = "";
      for (var j = 0; j < 16; j++) h += (b[j] + 0x100).toString(16).slice(1);
      return (
        h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" +
        h.slice(16, 20) + "-" + h.slice(20)
      );
    };

    var readCookie = function (name) {
      var parts = ("; " + document.cookie).split("; " + name + "=");
      return parts.length > 1 ? decodeURIComponent(parts.pop().split(";")[0]) : "";
    };

    var visitorId = (function () {
      var vid = "";
      try {
        vid = readCookie(COOKIE);
      } catch (e) {
        vid = "";
      }
      if (!UUID_RE.test(vid)) {
        try {
          vid = localStorage.getItem(COOKIE) || "";
        } catch (e) {
          vid = "";
        }
      }
      if (!UUID_RE.test(vid)) vid = uuid4();
      try {
        localStorage.setItem(COOKIE, vid);
      } catch (e) {
        /* storage blocked: the cookie alone will do */
      }
      try {
        document.cookie =
          COOKIE + "=" + vid + "; path=/; max-age=31536000; SameSite=Lax" +
          (location.protocol === "https:" ? "; Secure" : "");
      } catch (e) {
        /* cookies blocked */
      }
      return vid;
    })();

    var send = function (events) {
      try {
        var body = JSON.stringify({ visitor_id: visitorId, events: events });
        var p = fetch(endpoint, {
          method: "POST",
          // text/plain keeps the request CORS-simple (no preflight) on other sites;
          // the events endpoint reads the JSON body whatever the content type.
          headers: { "Content-Type": "text/plain;charset=UTF-8" },
          body: body,
          keepalive: true,
          credentials: "omit",
          mode: "cors",
        });
        if (p && p.catch) p.catch(function () {});
      } catch (e) {
        /* offline, blocked, old browser: passive profiling is best effort */
      }
    };

    var track = function (type, extra) {
      var event = {
        id: uuid4(),
        type: type,
        gate: gate,
        occurred_at: new Date().toISOString(),
        url: location.href.split("#")[0].replace(/([?&])t=[^&]*&?/, "$1").replace(/[?&]$/, "").slice(0, 2000),
      };
      for (var k in extra) if (Object.prototype.hasOwnProperty.call(extra, k)) event[k] = extra[k];
      send([event]);
    };

    var onReady = function (fn) {
      if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", function () {
          try {
            fn();
          } catch (e) {
            /* never break the page */
          }
        });
      } else {
        fn();
      }
    };

    var trackSections = function () {
      var nodes = document.querySelectorAll("[data-leadgate-section]");
      if (!nodes.length || !("IntersectionObserver" in window)) return;
      var states = [];
      var now = function () {
        return window.performance && performance.now ? performance.now() : Date.now();
      };
      var stop = function (s) {
        if (s.since !== null) {
          s.total += now() - s.since;
          s.since = null;
        }
        if (s.timer) {
          clearTimeout(s.timer);
          s.timer = null;
        }
      };
      var check = function (s) {
        if (s.sent) return;
        stop(s);
        if (s.total >= minDwell) {
          s.sent = true;
          track("section_view", { section: s.key, duration_ms: Math.round(s.total) });
          observer.unobserve(s.el);
          return;
        }
        if (s.visible && !document.hidden) start(s);
      };
      var start = function (s) {
        if (s.sent || s.since !== null) return;
        s.since = now();
        s.timer = setTimeout(function () {
          try {
            check(s);
          } catch (e) {
            /* ignore */
          }
        }, Math.max(0, minDwell - s.total) + 50);
      };
      var observer = new IntersectionObserver(
        function (entries) {
          try {
            for (var i = 0; i < entries.length; i++) {
              var entry = entries[i];
              var s = entry.target.__leadgate;
              if (!s || s.sent) continue;
              var root = entry.rootBounds;
              // Half of the section visible, or (for a section taller than the window)
              // the section filling at least half of the window.
              var visible =
                entry.isIntersecting &&
                (entry.intersectionRatio >= 0.5 ||
                  (root && entry.intersectionRect.height >= root.height * 0.5));
              s.visible = !!visible;
              if (s.visible && !document.hidden) start(s);
              else stop(s);
            }
          } catch (e) {
            /* ignore */
          }
        },
        { threshold: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1] }
      );
      for (var i = 0; i < nodes.length; i++) {
        var key = nodes[i].getAttribute("data-leadgate-section");
        if (!key) continue;
        var state = { el: nodes[i], key: key, total: 0, since: null, timer: null, visible: false, sent: false };
        nodes[i].__leadgate = state;
        states.push(state);
        observer.observe(nodes[i]);
      }
      document.addEventListener("visibilitychange", function () {
        try {
          for (var j = 0; j < states.length; j++) {
            if (document.hidden) stop(states[j]);
            else if (states[j].visible) start(states[j]);
          }
        } catch (e) {
          /* ignore */
        }
      });
    };

    var trackDownloads = function () {
      document.addEventListener(
        "click",
        function (ev) {
          try {
            var el = ev.target && ev.target.closest && ev.target.closest("[data-leadgate-download]");
            if (!el) return;
            track("download", { file: el.getAttribute("data-leadgate-download") });
          } catch (e) {
            /* ignore */
          }
        },
        true
      );
    };

    var fillHostedForm = function () {
      // The hosted page's form carries the visitor id so the lead gets this browser's
      // earlier events even when the page was rendered before the cookie existed.
      var inputs = document.querySelectorAll("form input[name='visitor_id']");
      for (var i = 0; i < inputs.length; i++) if (!inputs[i].value) inputs[i].value = visitorId;
    };

    window.leadgate = window.leadgate || {};
    window.leadgate.visitorId = visitorId;
    window.leadgate.track = track;

    onReady(function () {
      fillHostedForm();
      track("page_view", {});
      if (document.querySelector("[data-leadgate-hosted-form], [data-leadgate-form]")) {
        track("form_view", {});
      }
      trackSections();
      trackDownloads();
    });
  } catch (e) {
    /* never break the host page */
  }
})();
