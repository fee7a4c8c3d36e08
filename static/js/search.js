// AllMyTracks search: the header's autocomplete dropdown and small touches on the search page.
// Progressive: without this file the header box submits to /tracks/ and the filters have an
// "Apply filters" button; htmx (loaded by base.html) updates results in place.
(function () {
  "use strict";

  // ---- the search page: filters apply as they change, so the Apply button is not needed ----
  var form = document.getElementById("search-form");
  if (form && window.htmx) document.documentElement.classList.add("js-search");

  // Results and filters are swapped in place: keep the filter groups and "Show N more" lists the
  // visitor opened open, and keep focus on the control they used (htmx restores focus by id, but not into a
  // list that the swap closed again).
  var openLists = [];
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "search-body") return;
    openLists = Array.prototype.map.call(
      event.detail.target.querySelectorAll("details.facet-more[open], details.facet[open][data-facet-group]"),
      function (el) {
        return el.hasAttribute("data-facet")
          ? 'details.facet-more[data-facet="' + el.getAttribute("data-facet") + '"]'
          : 'details.facet[data-facet-group="' + el.getAttribute("data-facet-group") + '"]';
      }
    );
    focusedId = document.activeElement && document.activeElement.id;
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    if (!event.detail.target || event.detail.target.id !== "search-body") return;
    openLists.forEach(function (selector) {
      var list = event.detail.target.querySelector(selector);
      if (list) list.open = true;
    });
    if (focusedId && (!document.activeElement || document.activeElement === document.body)) {
      var again = document.getElementById(focusedId);
      if (again) again.focus();
    }
  });

  // ---- header autocomplete (ARIA combobox with a listbox popup) ----
  var input = document.getElementById("header-q");
  if (!input || !input.form || !window.fetch) return;
  var box = input.form;
  var url = box.getAttribute("action").replace(/\/?$/, "/") + "autocomplete/";
  var panel = document.createElement("div");
  panel.className = "ac-panel";
  panel.id = "header-q-suggestions";
  panel.hidden = true;
  box.appendChild(panel);
  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-expanded", "false");
  input.setAttribute("aria-controls", panel.id);

  var timer = null;
  var controller = null;
  var lastQuery = null;
  var active = -1;

  function options() {
    return Array.prototype.slice.call(panel.querySelectorAll('[role="option"]'));
  }

  function close() {
    panel.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    var opts = options();
    if (!opts.length) return;
    active = (index + opts.length) % opts.length;
    opts.forEach(function (opt, i) {
      opt.setAttribute("aria-selected", i === active ? "true" : "false");
    });
    input.setAttribute("aria-activedescendant", opts[active].id);
  }

  function show(html) {
    panel.innerHTML = html;
    var opts = options();
    opts.forEach(function (opt, i) {
      opt.id = "header-q-option-" + i;
      var link = opt.querySelector("a");
      if (link) link.setAttribute("tabindex", "-1");
    });
    active = -1;
    panel.hidden = opts.length === 0;
    input.setAttribute("aria-expanded", opts.length ? "true" : "false");
  }

  function lookup() {
    var q = input.value.trim();
    if (q.length < 2) {
      lastQuery = null;
      close();
      return;
    }
    if (q === lastQuery) {
      if (options().length) { panel.hidden = false; input.setAttribute("aria-expanded", "true"); }
      return;
    }
    lastQuery = q;
    if (controller) controller.abort();
    controller = window.AbortController ? new AbortController() : null;
    fetch(url + "?q=" + encodeURIComponent(q), {
      headers: { "X-Requested-With": "fetch" },
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined,
    })
      .then(function (response) { return response.ok ? response.text() : ""; })
      .then(function (html) { if (document.activeElement === input) show(html); })
      .catch(function () { /* aborted or offline: keep what is shown */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookup, 150);
  });
  input.addEventListener("focus", function () {
    if (input.value.trim().length >= 2) lookup();
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      if (panel.hidden) { lookup(); return; }
      event.preventDefault();
      highlight(active + (event.key === "ArrowDown" ? 1 : -1));
    } else if (event.key === "Enter" && active >= 0 && !panel.hidden) {
      var link = options()[active].querySelector("a");
      if (link) { event.preventDefault(); window.location.assign(link.href); }
    } else if (event.key === "Escape" && !panel.hidden) {
      event.preventDefault();
      close();
    }
  });
  document.addEventListener("click", function (event) {
    if (!box.contains(event.target)) close();
  });
  box.addEventListener("focusout", function (event) {
    if (!box.contains(event.relatedTarget)) setTimeout(close, 100);
  });
})();
