/* The API reader (/api/docs/, config/api_docs.py): starts Redoc on this server's schema. */
(function () {
  "use strict";
  // Redoc draws Redocly's logo from Redocly's CDN at the foot of its menu, whatever its
  // options say, and this page may load nothing from another host. Such an image gets an
  // empty data: URL instead: it fails to decode and Redoc drops a logo that fails to load.
  var own = function (value) {
    var url = new URL(String(value), document.baseURI);
    return url.protocol === "data:" || url.protocol === "blob:" || url.origin === location.origin;
  };
  var src = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, "src");
  Object.defineProperty(HTMLImageElement.prototype, "src", {
    configurable: true,
    enumerable: src.enumerable,
    get: src.get,
    set: function (value) { src.set.call(this, own(value) ? value : "data:,"); }
  });
  var setAttribute = Element.prototype.setAttribute;
  HTMLImageElement.prototype.setAttribute = function (name, value) {
    var blocked = String(name).toLowerCase() === "src" && !own(value);
    return setAttribute.call(this, name, blocked ? "data:," : value);
  };
  var container = document.getElementById("redoc");
  window.Redoc.init(container.getAttribute("data-spec-url"), {}, container);
})();
