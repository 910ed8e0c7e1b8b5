/* leadgate workspace: small progressive enhancements; every page works without it. */
(function () {
  "use strict";
  // "Add section/file/question": clone the formset's empty row and bump TOTAL_FORMS.
  document.querySelectorAll("[data-add]").forEach(function (button) {
    button.addEventListener("click", function () {
      var prefix = button.getAttribute("data-add");
      var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
      var tpl = document.getElementById("empty-" + prefix);
      var rows = document.querySelector('[data-rows="' + prefix + '"]');
      if (!total || !tpl || !rows) return;
      var index = parseInt(total.value, 10) || 0;
      var html = tpl.innerHTML.replace(/__prefix__/g, String(index));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var first = rows.lastElementChild && rows.lastElementChild.querySelector("input, textarea, select");
      if (first) first.focus();
    });
  });
  // Preview tabs: point the sandboxed iframe at another rendering of the gate.
  var frame = document.getElementById("preview-frame");
  document.querySelectorAll("[data-preview]").forEach(function (tab) {
    tab.addEventListener("click", function () {
      if (!frame) return;
      frame.src = tab.getAttribute("data-preview");
      document.querySelectorAll("[data-preview]").forEach(function (t) {
        t.setAttribute("aria-selected", t === tab ? "true" : "false");
      });
    });
  });
  // Destructive forms ask first. A data attribute, not an onsubmit handler: the CSP
  // allows no inline script.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  // Copy buttons (embed snippet, new secret).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      var status = document.getElementById("copied");
      if (!field) return;
      var done = function () { if (status) status.textContent = "Copied"; };
      var fallback = function () {
        field.select();
        try { document.execCommand("copy"); done(); } catch (e) {}
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(done, fallback);
      } else {
        fallback();
      }
    });
  });
})();
