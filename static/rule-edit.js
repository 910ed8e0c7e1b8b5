/* The rule editor: show only the fields that fit the chosen trigger (each field group
   names its triggers in data-triggers), and read the rule back as it is typed (the
   sentence comes from the server, data-sentence-url). Without this script every field
   shows, the server says which ones do not fit, and the sentence updates on preview. */
(function () {
  "use strict";
  var form = document.getElementById("rule-form");
  var trigger = form && form.querySelector("[name=event_type]");
  if (!trigger) return;
  var groups = [].slice.call(form.querySelectorAll("[data-triggers]"));

  function sync(onLoad) {
    groups.forEach(function (group) {
      var inputs = [].slice.call(group.querySelectorAll("input, select, textarea"));
      var fits = group.getAttribute("data-triggers").split(" ").indexOf(trigger.value) >= 0;
      // On load, a field holding a value or an error stays in sight: hiding it would
      // drop what the marketer typed without telling them.
      var held = onLoad && (group.querySelector(".ws-invalid") ||
        inputs.some(function (input) { return input.value !== ""; }));
      var show = fits || Boolean(held);
      group.hidden = !show;
      // A hidden field is not sent: it cannot refuse the rule out of sight.
      inputs.forEach(function (input) { input.disabled = !show; });
    });
  }

  var sentence = document.getElementById("rule-sentence");
  var sentenceUrl = form.getAttribute("data-sentence-url");
  var timer = 0;
  var asked = 0;

  function readBack() {
    if (!sentence || !sentenceUrl || !window.fetch) return;
    var query = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (key !== "csrfmiddlewaretoken" && key !== "confirm" && typeof value === "string") {
        query.append(key, value);
      }
    });
    var mine = ++asked;
    fetch(sentenceUrl + "?" + query.toString(), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      // A value the form refuses (points "ten"): keep the last sentence until it is fixed.
      return response.ok ? response.json() : null;
    }).then(function (body) {
      if (body && body.sentence && mine === asked) sentence.textContent = body.sentence;
    }).catch(function () { /* offline: the sentence updates on preview */ });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(readBack, 250);
  }

  trigger.addEventListener("change", function () { sync(false); });
  form.addEventListener("input", later);
  form.addEventListener("change", later);
  sync(true);
})();
