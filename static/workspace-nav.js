/* leadgate workspace: the phone menu and scrollable tables. Loaded on every workspace
   page; without it the menu simply stays open and tables still scroll. */
(function () {
  "use strict";
  var nav = document.querySelector(".ws-nav");
  var button = nav && nav.querySelector(".ws-menu-button");
  if (nav && button) {
    var set = function (open) {
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.setAttribute("data-menu", open ? "open" : "closed");
    };
    // The button only shows on narrow screens (CSS); there the menu starts folded.
    button.hidden = false;
    set(false);
    button.addEventListener("click", function () {
      set(button.getAttribute("aria-expanded") !== "true");
    });
    nav.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
        set(false);
        button.focus();
      }
    });
  }
  // A table wider than its box scrolls sideways inside it (CSS); keyboard users must be
  // able to reach it to scroll it, so such a table takes the focus.
  var markScrollable = function () {
    document.querySelectorAll(".ws-table").forEach(function (table) {
      if (table.scrollWidth > table.clientWidth + 1) {
        if (!table.hasAttribute("tabindex")) table.setAttribute("tabindex", "0");
      } else if (table.getAttribute("tabindex") === "0") {
        table.removeAttribute("tabindex");
      }
    });
  };
  markScrollable();
  var pending = 0;
  window.addEventListener("resize", function () {
    window.clearTimeout(pending);
    pending = window.setTimeout(markScrollable, 150);
  });
})();
