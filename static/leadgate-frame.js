/* leadgate-frame.js: for sites that embed a gate as an iframe (/g/{slug}/embed). Load it
   from the same leadgate host as the frame, and each leadgate frame on the page takes the
   full width and the height of its content, growing as the visitor unlocks and reads:

     <iframe src="https://LEADGATE_HOST/g/network-vbook/embed" title="Get the e-book"></iframe>
     <script src="https://LEADGATE_HOST/static/leadgate-frame.js" async></script>

   A site that serves its own copy says where leadgate is with
   data-leadgate-host="https://LEADGATE_HOST" on the script tag.

   It reads nothing from the page and sends nothing: it only listens for the height
   message the frames post, accepts it only from the leadgate origin, and only for the
   frame that sent it. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin;
  try {
    origin = new URL(
      (script && (script.getAttribute("data-leadgate-host") || script.src)) || "",
      window.location.href
    ).origin;
  } catch (e) {
    return;
  }
  var MAX_HEIGHT = 100000; // a frame never claims more than this
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (event.origin !== origin || !data || data.type !== "leadgate:frame-height") return;
    var height = Number(data.height);
    if (!(height >= 0)) return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      // The host's own sizing wins; otherwise the frame spans its column, borderless.
      if (!frame.style.width && !frame.getAttribute("width")) frame.style.width = "100%";
      if (!frame.style.border) frame.style.border = "0";
      frame.style.height = Math.min(Math.ceil(height), MAX_HEIGHT) + "px";
      return;
    }
  });
})();
