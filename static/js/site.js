// AllMyTracks: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Close the account menu when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
  // On a phone the account menu is one row that scrolls sideways: bring the page's own item into view.
  function showCurrentAccountItem() {
    var current = document.querySelector(".account-nav-side a[aria-current='page']");
    var nav = current && current.parentElement;
    if (!nav || nav.scrollWidth <= nav.clientWidth) return;
    var offset = current.getBoundingClientRect().left - nav.getBoundingClientRect().left;
    nav.scrollLeft += offset - (nav.clientWidth - current.offsetWidth) / 2;
  }
  document.addEventListener("DOMContentLoaded", showCurrentAccountItem);
  document.addEventListener("htmx:afterSettle", showCurrentAccountItem);
  // The favourite heart and the follow button are swapped for their new state: keep the keyboard
  // on the new button (its pressed state is then read out), not dropped back to the page.
  var TOGGLES = ".fav-form, .follow-form";
  var refocus = -1; // the swapped form's place among the page's toggles (swapping keeps the order)
  var refocusXhr = null; // ... after its own request, not another swap's
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest(TOGGLES);
    if (!form) return; // another request (a poll, the results) leaves a pending refocus alone
    refocus = form.contains(document.activeElement)
      ? Array.prototype.indexOf.call(document.querySelectorAll(TOGGLES), form) : -1;
    refocusXhr = refocus < 0 ? null : event.detail.xhr;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (refocus < 0 || (refocusXhr && event.detail.xhr && event.detail.xhr !== refocusXhr)) return;
    var form = document.querySelectorAll(TOGGLES)[refocus];
    var button = form && form.querySelector("button");
    if (button) button.focus();
    refocus = -1;
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
