/* leadgate's iframe variant (/g/{slug}/embed): tells the page that frames it how tall its
   content is, so the frame can grow to it (no e-book scrolling inside a fixed box).
   The host page resizes the frame with /static/leadgate-frame.js. Only a height is sent,
   so any parent may hear it. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var last = -1;
  var post = function () {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === last) return;
    last = height;
    window.parent.postMessage({ type: "leadgate:frame-height", height: height }, "*");
  };
  if (window.ResizeObserver) new window.ResizeObserver(post).observe(document.documentElement);
  window.addEventListener("load", post);
  post();
})();
