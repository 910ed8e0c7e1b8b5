/* The rule editor: show only the fields that fit the chosen trigger (each field group
   names its triggers in data-triggers). Without this script every field shows and the
   server says which ones do not fit. */
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

  trigger.addEventListener("change", function () { sync(false); });
  sync(true);
})();
