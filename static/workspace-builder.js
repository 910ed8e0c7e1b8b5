/* The gate builder: live preview, section reordering, growing text areas.
   Progressive: without it the move buttons post the form and the preview shows the
   saved gate. No inline script anywhere (the CSP allows none). */
(function () {
  "use strict";
  var form = document.getElementById("gate-form");
  var frame = document.getElementById("preview-frame");
  if (!form) return;
  var DEBOUNCE_MS = 400;
  var mode = "page";
  var timer = null;
  var pending = null;

  // --- live preview -------------------------------------------------------------------
  function previewUrl() {
    var base = frame.getAttribute("data-live");
    return base + (base.indexOf("?") === -1 ? "?" : "&") + "mode=" + encodeURIComponent(mode);
  }
  function render() {
    timer = null;
    if (!frame || !frame.getAttribute("data-live")) return;
    var data = new FormData(form);
    // Files are not previewed (only their titles are shown): never upload them here.
    form.querySelectorAll("input[type=file]").forEach(function (input) { data.delete(input.name); });
    if (pending) pending.abort();
    pending = new AbortController();
    fetch(previewUrl(), {
      method: "POST", body: data, credentials: "same-origin", signal: pending.signal,
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (!response.ok) throw new Error("preview " + response.status);
      return response.text();
    }).then(function (html) {
      frame.srcdoc = html;
      frame.setAttribute("data-rendered", String(Date.now()));
    }).catch(function () { /* the last good preview stays */ });
  }
  function schedule() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(render, DEBOUNCE_MS);
  }
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  document.querySelectorAll("[data-mode]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      mode = tab.getAttribute("data-mode");
      document.querySelectorAll("[data-mode]").forEach(function (t) {
        t.setAttribute("aria-selected", t === tab ? "true" : "false");
      });
      if (timer) clearTimeout(timer);
      render();
    });
  });
  if (frame && !frame.getAttribute("src")) render(); // a new gate: nothing saved to show

  // --- growing text areas -------------------------------------------------------------
  function grow(area) {
    // CSSOM, not a style attribute: allowed by the CSP.
    area.style.height = "auto";
    area.style.height = Math.max(area.scrollHeight + 2, area.offsetHeight) + "px";
  }
  form.addEventListener("input", function (event) {
    if (event.target && event.target.hasAttribute && event.target.hasAttribute("data-autogrow")) {
      grow(event.target);
    }
  });

  // --- section order ------------------------------------------------------------------
  var list = form.querySelector('[data-rows="sections"]');
  function renumber() {
    if (!list) return;
    Array.prototype.forEach.call(list.children, function (row, index) {
      var order = row.querySelector("input[name$='-ORDER']");
      if (order) order.value = String(index + 1);
    });
  }
  function rowOf(node) {
    while (node && node !== list && !(node.hasAttribute && node.hasAttribute("data-row"))) node = node.parentNode;
    return node && node !== list ? node : null;
  }
  if (list) {
    list.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-move]") : null;
      if (!button) return;
      event.preventDefault(); // moved here, no round trip
      var row = rowOf(button);
      if (!row) return;
      if (button.getAttribute("data-move") === "up" && row.previousElementSibling) {
        list.insertBefore(row, row.previousElementSibling);
      } else if (button.getAttribute("data-move") === "down" && row.nextElementSibling) {
        list.insertBefore(row.nextElementSibling, row);
      }
      renumber();
      button.focus();
      schedule();
    });
    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      if (!event.target.hasAttribute || !event.target.hasAttribute("data-drag")) return;
      dragged = rowOf(event.target);
      if (!dragged) return;
      dragged.classList.add("ws-row--dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", "section");
      event.dataTransfer.setDragImage(dragged, 20, 20);
    });
    list.addEventListener("dragover", function (event) {
      var over = rowOf(event.target);
      if (!dragged || !over || over === dragged) return;
      event.preventDefault();
      list.querySelectorAll(".ws-row--drop").forEach(function (r) { r.classList.remove("ws-row--drop"); });
      over.classList.add("ws-row--drop");
    });
    list.addEventListener("drop", function (event) {
      var over = rowOf(event.target);
      if (!dragged || !over || over === dragged) return;
      event.preventDefault();
      var rect = over.getBoundingClientRect();
      var after = event.clientY > rect.top + rect.height / 2;
      list.insertBefore(dragged, after ? over.nextElementSibling : over);
      renumber();
      schedule();
    });
    list.addEventListener("dragend", function () {
      if (dragged) dragged.classList.remove("ws-row--dragging");
      list.querySelectorAll(".ws-row--drop").forEach(function (r) { r.classList.remove("ws-row--drop"); });
      dragged = null;
    });
  }
  var add = document.querySelector('[data-add="sections"]');
  if (add) add.addEventListener("click", function () { renumber(); schedule(); });
})();
