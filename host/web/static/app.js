// The web admin's own script (the CSP allows scripts from /static only, never inline).
// It gives every htmx request the session's CSRF token, read from the page's meta tag.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && document.body) {
    document.body.setAttribute(
      "hx-headers",
      JSON.stringify({ "X-CSRF-Token": meta.getAttribute("content") })
    );
  }
})();
