/* The large photo page: the arrow keys follow the page's own "previous" and "next" links
 * (which work without this file), unless a form field has the focus. */
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    var target = event.target;
    if (target && /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName)) return;
    var rel = event.key === "ArrowLeft" ? "prev" : event.key === "ArrowRight" ? "next" : null;
    var link = rel && document.querySelector(".photo-view__nav a[rel=" + rel + "]");
    if (!link) return;
    event.preventDefault();
    link.click();
  });
}());
