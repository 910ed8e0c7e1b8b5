/*! leadgate.js: gate form + passive profiling; no dependencies, never throws. See README "Embedding". */
(function (W, D) {
  "use strict";
  var N = navigator;
  // Every callback is wrapped: never throw into the host page.
  var G = function (f) {
    return function (a, b) {
      try {
        return f(a, b);
      } catch (e) {}
    };
  };
  var store = function (k, v) {
    try {
      if (v === undefined) return localStorage.getItem(k);
      if (v === null) localStorage.removeItem(k);
      else localStorage.setItem(k, v);
    } catch (e) {}
  };
  G(function () {
    var S = D.currentScript || D.querySelector("script[src*='leadgate.js']");
    if (!S || W.leadgate) return; // one tracker per page
    var attr = function (n) {
      return S.getAttribute("data-" + n);
    };
    var gate = attr("gate") || "";
    var host = (attr("host") || new URL(S.src, location.href).origin).replace(/\/$/, "");
    var api = host + "/api/v1/public/";
    var dwell = +attr("min-dwell-ms") || 5000;
    var VID = "lg_vid", Q = "lg_q", IDF = "lg_idf";
    var RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
    var priv = N.globalPrivacyControl === true || N.doNotTrack == "1" || W.doNotTrack == "1";
    var known = store(IDF) == "1" || attr("identified") == "1";
    var allowed = function () {
      return !priv || known;
    };
    var uuid = function () {
      if (W.crypto && crypto.randomUUID) return crypto.randomUUID();
      var b = crypto.getRandomValues(new Uint8Array(16)), h = "", i;
      b[6] = (b[6] & 15) | 64;
      b[8] = (b[8] & 63) | 128;
      for (i = 0; i < 16; i++) h += (b[i] + 256).toString(16).slice(1);
      return h.replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-");
    };
    var cookie = function () {
      var m = D.cookie.match(/(?:^|; )lg_vid=([^;]+)/);
      return m ? m[1] : "";
    };
    var vid = [cookie(), store(VID)].filter(function (v) {
      return RE.test(v || "");
    })[0] || uuid();
    // First-party storage only, once tracking is allowed (GPC/DNT: after the form). The
    // cookie only on leadgate's hosted pages, whose server reads it.
    var keep = function () {
      if (!allowed()) return;
      store(VID, vid);
      if (attr("hosted")) D.cookie = VID + "=" + vid + ";path=/;max-age=31536000;SameSite=Lax" +
        (location.protocol == "https:" ? ";Secure" : "");
    };
    keep();

    // --- events
    var q = [];
    try {
      q = JSON.parse(store(Q) || "[]").slice(-100);
    } catch (e) {}
    var timer = 0, busy = 0, tries = 0, wait = 0;
    var save = function () {
      store(Q, q.length ? JSON.stringify(q) : null);
    };
    var drop = function (batch) {
      q = q.filter(function (e) {
        return batch.indexOf(e) < 0;
      });
      save();
    };
    var later = function (ms) {
      clearTimeout(timer);
      // Not before a 429's Retry-After, even for new events.
      timer = setTimeout(G(flush), Math.max(ms, wait - Date.now()));
    };
    var flush = function (hide) {
      if (!q.length || !allowed() || (busy && !hide) || wait > Date.now()) return;
      var batch = q.slice(0, 50);
      var body = JSON.stringify({ visitor_id: vid, events: batch });
      busy = 1;
      // text/plain keeps it a CORS "simple" request (no preflight); no cookies are sent.
      fetch(api + "events", {
        method: "POST",
        body: body,
        keepalive: true,
        credentials: "omit",
        headers: { "Content-Type": "text/plain" },
      })
        .then(function (r) {
          busy = 0;
          if (r.status == 429) {
            // Rate-limited, nothing stored: the same events go after Retry-After.
            wait = Date.now() + 1000 * (+r.headers.get("Retry-After") || 60);
            later(0);
          } else if (r.status < 500) {
            // 2xx stored, 4xx refused for good: drop. 5xx, offline: retry, same ids.
            tries = 0;
            drop(batch);
            if (q.length) later(0);
          } else throw 0;
        })
        .catch(G(function () {
          busy = 0;
          later(Math.min(60000, 1000 * Math.pow(2, tries++)) * (1 + Math.random() / 2));
        }));
    };
    var clean = function (u) {
      // Never put the access token (?t=) in an event.
      return u.split("#")[0].replace(/([?&])t=[^&]*&?/, "$1").replace(/[?&]$/, "").slice(0, 2000);
    };
    var track = function (type, extra, slug) {
      if (!allowed()) return;
      var e = { id: uuid(), type: type, gate: slug || gate, occurred_at: new Date().toISOString(), url: clean(location.href) };
      for (var k in extra) e[k] = extra[k];
      q.push(e);
      q = q.slice(-100);
      save();
      later(type == "download" ? 0 : 1000);
    };
    // Page hide: a keepalive request outlives the page (like sendBeacon, without cookies).
    D.addEventListener("visibilitychange", G(function () {
      if (D.hidden) flush(1);
    }));
    W.addEventListener("pagehide", G(function () {
      flush(1);
    }));

    // --- sections
    var now = function () {
      return performance.now();
    };
    var sections = function () {
      var els = D.querySelectorAll("[data-leadgate-section]"), all = [];
      if (!els.length || !W.IntersectionObserver) return;
      var stop = function (s) {
        if (s.at) s.ms += now() - s.at;
        s.at = 0;
        clearTimeout(s.t);
      };
      var check = G(function (s) {
        stop(s);
        if (s.done) return;
        if (s.ms >= dwell) {
          s.done = 1;
          io.unobserve(s.el);
          track("section_view", { section: s.key, duration_ms: Math.round(s.ms) });
        } else go(s);
      });
      var go = function (s) {
        if (s.done || s.at || !s.vis || D.hidden) return;
        s.at = now();
        s.t = setTimeout(function () {
          check(s);
        }, dwell - s.ms + 30);
      };
      var io = new IntersectionObserver(G(function (list) {
        list.forEach(function (en) {
          var s = en.target._lg, r = en.rootBounds;
          // Half visible, or (taller than the window) filling half of it.
          s.vis = en.isIntersecting &&
            (en.intersectionRatio >= 0.5 || (r && en.intersectionRect.height >= r.height / 2));
          s.vis ? go(s) : stop(s);
        });
      }), { threshold: [0, 0.25, 0.5, 0.75, 1] });
      [].forEach.call(els, function (el) {
        var s = (el._lg = { el: el, key: el.getAttribute("data-leadgate-section"), ms: 0, at: 0 });
        all.push(s);
        io.observe(el);
      });
      D.addEventListener("visibilitychange", G(function () {
        all.forEach(function (s) {
          D.hidden ? stop(s) : go(s);
        });
      }));
    };
    var downloads = function () {
      D.addEventListener("click", G(function (ev) {
        var a = ev.target.closest("[data-leadgate-download]");
        if (a) track("download", { file: a.getAttribute("data-leadgate-download") });
      }), true);
    };
    var started = 0;
    var start = function () {
      if (started || !allowed()) return;
      started = 1;
      track("page_view", {});
      if (D.querySelector("[data-leadgate-hosted-form]")) track("form_view", {});
      sections();
      downloads();
      flush();
    };

    // --- the form, in a shadow root
    var CSS =
      ":host{all:initial;display:block}*{box-sizing:border-box}" +
      // The host page's inherited styles (color, letter-spacing...) stop here.
      ":host>:not(style){all:initial;display:block;font:16px/1.5 system-ui,sans-serif;color:#1c2430}" +
      ":host>form{background:#fff;border:1px solid #d5dbe3;border-radius:12px;padding:20px;max-width:30em;margin:0}" +
      "h2{font-size:1.25em;margin:0 0 12px}.f{margin:0 0 14px}label{display:block;font-weight:600;margin:0 0 4px}" +
      "input,select,button{font:inherit;width:100%;min-height:48px;padding:10px 12px;border:1px solid #6b7785;border-radius:8px;background:#fff;color:#1c2430}" +
      ".c{display:flex;gap:10px;align-items:flex-start}.c input{width:24px;min-height:24px;height:24px;margin:10px 0;flex:none}.c label{font-weight:400;min-height:44px;padding:8px 0}" +
      "button{background:#00727e;color:#fff;border:0;font-weight:700}button[disabled]{opacity:.6}" +
      ":focus-visible{outline:3px solid #f0a000;outline-offset:2px}[aria-invalid=true]{border:2px solid #b3261e}" +
      ".e{color:#b3261e;margin:4px 0 0;font-size:.95em}.n{font-size:.85em;color:#5a6472;margin:8px 0 0}" +
      ".hp{position:absolute;left:-9999px;width:1px;height:1px;overflow:hidden}.s:empty{display:none}.s{margin:10px 0 0}a{color:#00727e}";
    var h = function (tag, props, kids) {
      var el = D.createElement(tag);
      for (var k in props) {
        if (k == "text") el.textContent = props[k];
        else el.setAttribute(k, props[k]);
      }
      (kids || []).forEach(function (c) {
        el.appendChild(c);
      });
      return el;
    };
    var getConfig = function (slug) {
      // No visitor id leaves the page while tracking is not allowed.
      return fetch(api + "gates/" + slug + (allowed() ? "?visitor_id=" + vid : ""), {
        credentials: "omit",
      }).then(function (r) {
        if (!r.ok) throw 0;
        return r.json();
      });
    };
    var render = function (box) {
      var slug = box.getAttribute("data-leadgate-form") || gate;
      var root = box.shadowRoot || box.attachShadow({ mode: "open" });
      root.innerHTML = "";
      root.appendChild(h("style", { text: CSS }));
      var hosted = host + "/g/" + slug;
      getConfig(slug)
        .then(G(function (cfg) {
          if (cfg.min_dwell_ms >= 0 && !attr("min-dwell-ms")) dwell = cfg.min_dwell_ms;
          if (!cfg.fields.length) return; // epiphany: open content, no form
          build(root, box, slug, cfg);
          track("form_view", {}, slug);
        }))
        .catch(G(function () {
          // leadgate down or blocked: link the hosted page (works without JS).
          root.appendChild(h("p", {}, [h("a", { href: hosted, text: "Open the form" })]));
        }));
    };
    var build = function (root, box, slug, cfg) {
      var form = h("form", { novalidate: "", "aria-labelledby": "t" });
      var status = h("p", { class: "s", role: "status", "aria-live": "polite" });
      var inputs = {};
      form.appendChild(h("h2", { id: "t", text: cfg.title }));
      cfg.fields.forEach(function (f) {
        var id = "f-" + f.name, el, wrap;
        var p = { id: id, name: f.name };
        if (f.type == "choice") {
          el = h("select", p, [h("option", { value: "", text: "Choose one" })].concat(
            (f.choices || []).map(function (c) {
              return h("option", { value: c, text: c });
            })));
        } else {
          p.type = f.type == "checkbox" ? "checkbox" : f.type == "email" ? "email" : "text";
          if (f.name == "name") p.autocomplete = "name";
          if (f.type == "email") {
            p.autocomplete = "email";
            p.inputmode = "email";
            p.autocapitalize = "off";
          }
          if (f.type != "checkbox") p.maxlength = f.name == "email" ? 254 : f.name == "name" ? 200 : 500;
          if (f.required) p.required = "";
          el = h("input", p);
        }
        var label = h("label", { for: id, text: f.label + (f.required || f.type == "checkbox" ? "" : " (optional)") });
        wrap = f.type == "checkbox" ? h("div", { class: "f c" }, [el, label]) : h("div", { class: "f" }, [label, el]);
        inputs[f.name] = el;
        form.appendChild(wrap);
      });
      var hp = h("input", { name: "website", tabindex: "-1", autocomplete: "off", id: "f-w" });
      form.appendChild(h("div", { class: "hp", "aria-hidden": "true" }, [h("label", { for: "f-w", text: "Leave empty" }), hp]));
      var btn = h("button", { type: "submit", "aria-describedby": "n", text: cfg.submit_label });
      form.appendChild(btn);
      form.appendChild(h("p", { class: "n", id: "n", text: cfg.consent_text }));
      form.appendChild(status);
      root.appendChild(form);

      var showErrors = function (errors) {
        var first = null, said = "", other = [];
        [].forEach.call(form.querySelectorAll(".e"), function (e) {
          e.remove();
        });
        for (var k in inputs) {
          inputs[k].removeAttribute("aria-invalid");
          inputs[k].removeAttribute("aria-describedby");
        }
        for (var name in errors) {
          var el = inputs[name == "answers" ? Object.keys(inputs).pop() : name];
          var v = errors[name];
          // Per-question errors come nested: {"answers": {"q": ["..."]}}.
          var msg = [].concat(typeof v == "object" && !v.join ? Object.values(v) : v).join(" ");
          if (!el) {
            other.push(msg);
            continue;
          }
          el.setAttribute("aria-invalid", "true");
          el.setAttribute("aria-describedby", "e-" + el.name);
          el.parentNode.appendChild(h("p", { class: "e", id: "e-" + el.name, text: msg }));
          if (!first) {
            first = el;
            said = "Please check the form: " + msg;
          }
        }
        status.textContent = other.join(" ") || said;
        if (first) first.focus();
      };
      var search = new URLSearchParams(location.search);
      var send = function (retried) {
        var body = {
          name: inputs.name.value.trim(),
          email: inputs.email.value.trim(),
          subscribe: !!(inputs.subscribe && inputs.subscribe.checked),
          visitor_id: vid,
          website: hp.value,
          form_token: cfg.form_token,
          referrer: D.referrer.slice(0, 2000),
          page_url: clean(location.href),
          answers: {},
        };
        ["utm_source", "utm_medium", "utm_campaign"].forEach(function (k) {
          body[k] = (search.get(k) || "").slice(0, 200);
        });
        cfg.fields.forEach(function (f) {
          if (["name", "email", "subscribe"].indexOf(f.name) < 0 && inputs[f.name].value) {
            body.answers[f.name] = inputs[f.name].value;
          }
        });
        btn.disabled = true;
        fetch(api + "gates/" + slug + "/submissions", {
          method: "POST",
          credentials: "omit",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
        })
          .then(function (r) {
            return r.json().catch(function () {
              return {};
            }).then(G(function (j) {
              btn.disabled = false;
              if (r.status == 201) {
                // Identified: the notice by the submit button now covers tracking.
                known = true;
                store(IDF, "1");
                keep();
                root.removeChild(form);
                root.appendChild(h("p", { class: "s", role: "status" }, [
                  D.createTextNode("Thanks! "),
                  h("a", { href: j.content_url, target: "_top", text: "Open " + cfg.title }),
                ]));
                start();
                box.dispatchEvent(new CustomEvent("leadgate:submitted", { bubbles: true, detail: { lead_id: j.lead_id, content_url: j.content_url } }));
              } else if (r.status == 400 && j.errors && j.errors.form_token && !retried) {
                getConfig(slug).then(G(function (c) {
                  cfg.form_token = c.form_token;
                  send(1);
                }), G(function () {
                  showErrors(j.errors);
                }));
              } else if (r.status == 429) {
                showErrors({ __all__: "Too many tries from here; please wait " + (r.headers.get("Retry-After") || 60) + " seconds." });
              } else {
                showErrors(j.errors || { __all__: "Something went wrong; please try again." });
              }
            }));
          })
          .catch(G(function () {
            btn.disabled = false;
            showErrors({ __all__: "We could not reach the server; please try again." });
          }));
      };
      form.addEventListener("submit", G(function (ev) {
        ev.preventDefault();
        var errors = {};
        if (!inputs.name.value.trim()) errors.name = "Please tell us your name.";
        if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(inputs.email.value.trim())) {
          errors.email = "Please give a valid email address, like jo@example.com.";
        }
        Object.keys(errors).length ? showErrors(errors) : send();
      }));
    };

    var hostedForm = function () {
      [].forEach.call(D.querySelectorAll("form input[name=visitor_id]"), function (i) {
        if (!i.value && allowed()) i.value = vid;
      });
    };
    W.leadgate = { visitorId: vid, track: track, flush: flush };
    var ready = G(function () {
      hostedForm();
      [].forEach.call(D.querySelectorAll("[data-leadgate-form]"), G(render));
      start();
    });
    D.readyState == "loading" ? D.addEventListener("DOMContentLoaded", ready) : ready();
  })();
})(window, document);
