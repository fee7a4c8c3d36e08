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
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.account-menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    });
  });
})();
