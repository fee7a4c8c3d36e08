// AllMyTracks player: one persistent player bar that keeps playing while pages change.
//
// Progressive: without this file every play control is a link to the preview (the browser
// plays it) and the track page shows a plain <audio controls>. With it:
//  - [data-play] controls play/pause through one Audio object and the player bar;
//  - every [data-wave] waveform of the playing track shows progress and seeks on click;
//  - keyboard: Space or K play/pause, ← / → seek 5 s (on a waveform: its slider keys too);
//  - navigation through hx-boost swaps only <main>, and the bar lives outside it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var audio = new Audio();
  audio.preload = "none";
  var current = null; // {track, src, title, artist, href, artistHref, art, duration}
  var bar = null;
  var pendingSeek = null;

  function fmt(seconds) {
    if (!isFinite(seconds) || seconds < 0) seconds = 0;
    var s = Math.floor(seconds);
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  // A length as the pages print it (the "seconds" filter): rounded, tenths under a second.
  function fmtLength(seconds) {
    if (!isFinite(seconds) || seconds <= 0) return fmt(0);
    if (seconds < 1) return Math.max(seconds, 0.1).toFixed(1) + " s";
    return fmt(Math.round(seconds));
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  var SVG_NS = "http://www.w3.org/2000/svg";
  function icon(d, cls) {
    var svg = document.createElementNS(SVG_NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("class", cls);
    var path = document.createElementNS(SVG_NS, "path");
    path.setAttribute("d", d);
    svg.appendChild(path);
    return svg;
  }

  // --- the bar (created once; rebuilt if a full-body swap removed it) -----------------------
  function ensureBar() {
    if (bar && document.body.contains(bar)) return bar;
    bar = el("section", { "class": "player-bar", "aria-label": "Player", "hidden": "" });
    var toggle = el("button", { "type": "button", "class": "pb-toggle", "data-pb-toggle": "", "aria-label": "Play" }, [
      icon("M8 5v14l11-7z", "i-play"),
      icon("M7 5h4v14H7zM13 5h4v14h-4z", "i-pause"),
    ]);
    var art = el("img", { "class": "pb-art", "alt": "", "width": "48", "height": "48" });
    var title = el("a", { "class": "pb-title", "href": "#" });
    var artist = el("a", { "class": "pb-artist", "href": "#" });
    var meta = el("div", { "class": "pb-meta" }, [title, artist]);
    var wave = el("div", {
      "class": "pb-wave wave", "data-wave": "", "data-track": "", "role": "slider", "tabindex": "0",
      "aria-label": "Seek", "aria-valuemin": "0", "aria-valuemax": "0", "aria-valuenow": "0",
    });
    var now = el("span", { "class": "pb-now", "aria-live": "off" }, ["0:00"]);
    var total = el("span", { "class": "pb-total" }, ["0:00"]);
    var times = el("div", { "class": "pb-times" }, [now, el("span", { "aria-hidden": "true" }, [" / "]), total]);
    var close = el("button", { "type": "button", "class": "pb-close", "aria-label": "Stop and close the player" }, [
      icon("M6 6l12 12M18 6L6 18", "i-close"),
    ]);
    bar.append(toggle, art, meta, wave, times, close);
    document.body.appendChild(bar);
    toggle.addEventListener("click", function () { togglePlay(); });
    close.addEventListener("click", function () {
      audio.pause();
      bar.setAttribute("hidden", "");
      document.body.classList.remove("has-player");
      current = null;
      sync();
    });
    if (current) fillBar();
    return bar;
  }

  function fillBar() {
    var b = ensureBar();
    b.removeAttribute("hidden");
    document.body.classList.add("has-player");
    var art = b.querySelector(".pb-art");
    if (current.art) { art.src = current.art; art.hidden = false; } else { art.hidden = true; }
    var title = b.querySelector(".pb-title");
    title.textContent = current.title;
    title.href = current.href || "#";
    var artist = b.querySelector(".pb-artist");
    artist.textContent = current.artist;
    artist.href = current.artistHref || "#";
    var wave = b.querySelector(".pb-wave");
    wave.setAttribute("data-track", current.track);
    wave.setAttribute("aria-label", "Seek in " + current.title);
    // Copy the drawing of the waveform the user played from, if the page has one.
    var source = document.querySelector('#main [data-wave][data-track="' + cssEscape(current.track) + '"] svg');
    wave.textContent = "";
    if (source) wave.appendChild(standalone(source));
    b.querySelector(".pb-total").textContent = fmtLength(current.duration);
    sync();
  }

  function cssEscape(value) {
    return window.CSS && CSS.escape ? CSS.escape(value) : String(value).replace(/"/g, '\\"');
  }

  function fromControl(control) {
    return {
      track: control.getAttribute("data-track"),
      src: control.getAttribute("data-src") || control.getAttribute("href"),
      title: control.getAttribute("data-title") || "",
      artist: control.getAttribute("data-artist") || "",
      href: control.getAttribute("data-href") || "",
      artistHref: control.getAttribute("data-artist-href") || "",
      art: control.getAttribute("data-art") || "",
      duration: parseFloat(control.getAttribute("data-duration")) || 0,
    };
  }

  function load(item, seekFraction) {
    current = item;
    audio.src = item.src;
    pendingSeek = typeof seekFraction === "number" ? seekFraction : null;
    fillBar();
    var played = audio.play();
    if (played && played.catch) played.catch(function () { sync(); });
  }

  function togglePlay() {
    if (!current) return;
    if (audio.paused) { var p = audio.play(); if (p && p.catch) p.catch(function () {}); } else { audio.pause(); }
  }

  function duration() {
    return isFinite(audio.duration) && audio.duration > 0 ? audio.duration : (current ? current.duration : 0);
  }

  function seekTo(fraction) {
    fraction = Math.min(Math.max(fraction, 0), 0.999);
    var d = duration();
    if (!d) { pendingSeek = fraction; return; }
    audio.currentTime = fraction * d;
    sync();
  }

  // A copy of a row's drawing that outlives the row: rows draw the path once in <defs> and <use>
  // it twice (whole wave, played part), so the copy gets the paths themselves, without ids.
  function standalone(svg) {
    var copy = svg.cloneNode(true);
    copy.querySelectorAll("use").forEach(function (use) {
      var ref = document.getElementById((use.getAttribute("href") || "").replace(/^#/, ""));
      if (!ref) { use.remove(); return; }
      var path = ref.cloneNode(true);
      path.removeAttribute("id");
      path.setAttribute("class", use.getAttribute("class") || "");
      use.replaceWith(path);
    });
    copy.querySelectorAll("defs").forEach(function (defs) { defs.remove(); });
    return copy;
  }

  // --- reflecting state on every control and waveform of the current track -----------------
  function sync() {
    var playing = current && !audio.paused;
    var d = duration();
    var t = audio.currentTime || 0;
    var pct = d ? Math.min(100, (t / d) * 100) : 0;
    document.querySelectorAll("[data-play]").forEach(function (c) {
      var mine = current && c.getAttribute("data-track") === current.track;
      c.classList.toggle("is-playing", !!(mine && playing));
      c.setAttribute("aria-pressed", mine && playing ? "true" : "false");
      var row = c.closest("[data-track-row]");
      if (row) row.classList.toggle("is-current", !!mine);
    });
    document.querySelectorAll("[data-wave]").forEach(function (w) {
      var mine = current && w.getAttribute("data-track") === current.track;
      var fg = w.querySelector(".wave-fg");
      if (fg) fg.style.clipPath = "inset(0 " + (100 - (mine ? pct : 0)) + "% 0 0)";
      if (w.getAttribute("role") === "slider") {
        w.setAttribute("aria-valuenow", mine ? String(Math.round(t)) : "0");
        if (mine) w.setAttribute("aria-valuetext", fmt(t) + " of " + fmtLength(d));
      }
      var nowLabel = w.querySelector("[data-now]");
      if (nowLabel) nowLabel.textContent = fmt(mine ? t : 0);
    });
    if (bar) {
      var toggle = bar.querySelector(".pb-toggle");
      toggle.classList.toggle("is-playing", !!playing);
      toggle.setAttribute("aria-label", playing ? "Pause" : "Play");
      bar.querySelector(".pb-now").textContent = fmt(t);
      if (d) bar.querySelector(".pb-total").textContent = fmtLength(d);
      bar.querySelector(".pb-wave").setAttribute("aria-valuemax", String(Math.round(d)));
    }
  }

  audio.addEventListener("timeupdate", sync);
  audio.addEventListener("play", sync);
  audio.addEventListener("pause", sync);
  audio.addEventListener("ended", sync);
  audio.addEventListener("loadedmetadata", function () {
    if (pendingSeek !== null) { var f = pendingSeek; pendingSeek = null; seekTo(f); }
    sync();
  });

  // --- input --------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var control = event.target.closest("[data-play]");
    if (control) {
      event.preventDefault();
      var item = fromControl(control);
      if (current && current.track === item.track) togglePlay(); else load(item);
      return;
    }
    var wave = event.target.closest("[data-wave]");
    if (wave) {
      var rect = wave.getBoundingClientRect();
      var fraction = (event.clientX - rect.left) / rect.width;
      var track = wave.getAttribute("data-track");
      if (current && current.track === track) {
        seekTo(fraction);
        if (audio.paused) togglePlay();
      } else {
        var scope = wave.closest("[data-track-row]") || document;
        var start = scope.querySelector('[data-play][data-track="' + cssEscape(track) + '"]');
        if (start) load(fromControl(start), fraction);
      }
    }
  });

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target)) return;
    var onWave = event.target.closest && event.target.closest("[data-wave]");
    var onControl = event.target.closest && event.target.closest("button, a, summary");
    if (event.key === " " && event.target.matches("[data-play]")) {
      event.preventDefault(); // a link with role=button: Space activates it like a button
      event.target.click();
      return;
    }
    if ((event.key === " " && !onControl) || event.key === "k" || event.key === "K") {
      if (!current) return;
      event.preventDefault();
      togglePlay();
      return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight" || event.key === "Home" || event.key === "End") {
      if (!current) return;
      if (onWave && onWave.getAttribute("data-track") !== current.track && onWave.getAttribute("data-track")) return;
      if (!onWave && onControl) return;
      event.preventDefault();
      var d = duration();
      var t = audio.currentTime || 0;
      if (event.key === "Home") t = 0;
      else if (event.key === "End") t = d - 1;
      else t += event.key === "ArrowLeft" ? -5 : 5;
      if (d) seekTo(t / d);
    }
  });

  // --- pages ------------------------------------------------------------------------------
  function enhance(root) {
    (root || document).querySelectorAll("[data-accent]").forEach(function (node) {
      node.style.setProperty("--art-accent", node.getAttribute("data-accent"));
    });
  }

  // The header's own links navigate like the page body: only <main> is swapped, so the
  // player keeps playing. (Forms in the header, such as sign-out, still load a full page.)
  function boostHeader() {
    document.querySelectorAll(".site-header .main-nav, .site-header .brand").forEach(function (node) {
      if (node.hasAttribute("hx-boost")) return;
      node.setAttribute("hx-boost", "true");
      node.setAttribute("hx-target", "#main");
      node.setAttribute("hx-select", "#main");
      node.setAttribute("hx-select-oob", "#main-nav,#messages");
      node.setAttribute("hx-swap", "outerHTML show:window:top");
      if (window.htmx) window.htmx.process(node);
    });
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    ensureBar();
    enhance(event.target);
    boostHeader();
    sync();
    // Mark the new page for screen readers and keyboard users.
    if (event.detail && event.detail.boosted) {
      var main = document.getElementById("main");
      if (main) main.focus({ preventScroll: true });
    }
  });
  document.addEventListener("htmx:historyRestore", function () { ensureBar(); if (current) fillBar(); boostHeader(); });

  enhance(document);
  boostHeader();
  ensureBar();
})();
