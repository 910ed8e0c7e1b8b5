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
  // --- insert an uploaded image into a section's body ---------------------------------
  // The image goes to the marketer API (decoded and written again there), and its
  // Markdown lands where the cursor was in that section's body.
  var imageUpload = form.getAttribute("data-image-upload");
  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function insertAtCursor(area, text) {
    var start = area.selectionStart || 0;
    var end = area.selectionEnd || start;
    var before = area.value.slice(0, start);
    var after = area.value.slice(end);
    // On a line of its own: an image in the middle of a word reads as one.
    var lead = before && !/\n$/.test(before) ? "\n\n" : "";
    var tail = after && !/^\n/.test(after) ? "\n\n" : "";
    area.value = before + lead + text + tail + after;
    var caret = (before + lead + text).length;
    area.setSelectionRange(caret, caret);
    area.dispatchEvent(new Event("input", { bubbles: true })); // preview and growing
  }
  function say(status, text, error) {
    status.textContent = text;
    if (error) status.setAttribute("data-state", "error");
    else status.removeAttribute("data-state");
  }
  if (imageUpload) {
    // Rows on the page and the empty row new sections are made from.
    var holders = [form].concat(Array.prototype.map.call(form.querySelectorAll("template"), function (t) { return t.content; }));
    holders.forEach(function (holder) {
      holder.querySelectorAll("[data-image-insert]").forEach(function (box) { box.hidden = false; });
    });
  }
  form.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-image-pick]") : null;
    if (!button) return;
    var box = button.closest("[data-image-insert]");
    var picker = box && box.querySelector("[data-image-file]");
    var alt = box && box.querySelector("[data-image-alt]");
    if (!picker || !alt) return;
    if (!alt.value.trim()) {
      // Asked before the file, so no upload is wasted on an image nobody can describe.
      say(box.querySelector("[data-image-status]"), "Describe the image first, for people who cannot see it.", true);
      alt.focus();
      return;
    }
    picker.click();
  });
  form.addEventListener("change", function (event) {
    var picker = event.target;
    if (!imageUpload || !picker || !picker.hasAttribute || !picker.hasAttribute("data-image-file")) return;
    var box = picker.closest("[data-image-insert]");
    var row = picker.closest("[data-row]");
    var area = row && row.querySelector("textarea[name$='-body']");
    var alt = box && box.querySelector("[data-image-alt]");
    var status = box && box.querySelector("[data-image-status]");
    var file = picker.files && picker.files[0];
    if (!box || !area || !alt || !status || !file) return;
    if (!alt.value.trim()) {
      picker.value = "";
      say(status, "Describe the image first, for people who cannot see it.", true);
      alt.focus();
      return;
    }
    var data = new FormData();
    data.append("file", file);
    data.append("alt", alt.value.trim());
    say(status, "Uploading " + file.name + "…", false);
    fetch(imageUpload, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        picker.value = "";
        if (response.status === 201 && body.markdown) {
          insertAtCursor(area, body.markdown);
          alt.value = "";
          say(status, "Image inserted.", false);
          return;
        }
        var errors = (body && body.errors) || {};
        var message = (errors.file || errors.alt || errors.__all__ || [])[0];
        say(status, message || "The image could not be uploaded (" + response.status + ").", true);
      });
    }).catch(function () {
      picker.value = "";
      say(status, "The image could not be uploaded: leadgate did not answer.", true);
    });
  });

  var add = document.querySelector('[data-add="sections"]');
  if (add) add.addEventListener("click", function () { renumber(); schedule(); });
})();
