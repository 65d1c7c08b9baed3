// The portal inside a partner site's iframe (embed mode; docs/embedding.md).
// - Sends the embed session with every htmx request (X-Embed-Session) and keeps it in
//   sessionStorage, so the portal works even when the browser stores no cookie here.
// - Keeps the frame's address at /embed/<reseller>/open?path=…, which opens the page again
//   with that session after a reload or Back.
// - Posts the content height to the partner page, to an allowed origin only, never "*".
(function () {
  "use strict";
  var KEY = "reseller-portal.embed-session";
  var MESSAGE = "reseller-portal:height";
  var token = null;
  var csrf = null;
  var origins = [];
  var openUrl = null;
  var lastHeight = -1;

  function remember(value) {
    try {
      if (value) window.sessionStorage.setItem(KEY, value);
      else window.sessionStorage.removeItem(KEY);
    } catch (e) { /* storage blocked: the page keeps the session until it is reloaded */ }
  }

  function recalled() {
    try { return window.sessionStorage.getItem(KEY); } catch (e) { return null; }
  }

  function readState() {
    var el = document.getElementById("embed-state");
    if (el) {
      if (el.dataset.session) { token = el.dataset.session; remember(token); }
      if (el.dataset.csrf) csrf = el.dataset.csrf;
      try { origins = JSON.parse(el.dataset.origins || "[]"); } catch (e) { origins = []; }
      if (el.dataset.openUrl) openUrl = el.dataset.openUrl;
      if (el.dataset.brand) document.documentElement.style.setProperty("--brand", el.dataset.brand);
    }
    if (document.querySelector("[data-embed-ended]")) {
      token = null;
      csrf = null;
      remember(null);
    }
  }

  // /companies?q=a -> /embed/<reseller>/open?path=%2Fcompanies%3Fq%3Da
  function framed(path) {
    var url;
    try { url = new URL(path, window.location.href); } catch (e) { return path; }
    if (!openUrl || url.origin !== window.location.origin || url.pathname.indexOf("/embed/") === 0) return path;
    return openUrl + "?path=" + encodeURIComponent(url.pathname + url.search);
  }

  // The portal page the frame shows: /embed/<reseller>/open?path=%2Frooms -> /rooms
  function portalUrl() {
    var here = window.location;
    if (openUrl && here.pathname === openUrl) {
      var path = new URLSearchParams(here.search).get("path");
      if (path && path.charAt(0) === "/" && path.charAt(1) !== "/") return here.origin + path;
    }
    return here.href;
  }

  function keepAddress(path) {
    var here = window.location.pathname + window.location.search;
    var target = framed(path || here);
    if (target !== here) window.history.replaceState(window.history.state, "", target);
  }

  function parentOrigin() {
    var seen = [];
    if (window.location.ancestorOrigins && window.location.ancestorOrigins.length) seen.push(window.location.ancestorOrigins[0]);
    if (document.referrer) {
      try { seen.push(new URL(document.referrer).origin); } catch (e) { /* no usable referrer */ }
    }
    for (var i = 0; i < seen.length; i++) {
      if (origins.indexOf(seen[i]) !== -1) return seen[i];
    }
    return null;
  }

  function postHeight() {
    if (window.parent === window) return;
    var target = parentOrigin();
    if (!target) return;
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    var panel = document.getElementById("panel");
    if (panel && panel.firstElementChild) height = Math.max(height, Math.ceil(panel.getBoundingClientRect().bottom) + 16);
    if (height === lastHeight) return;
    lastHeight = height;
    window.parent.postMessage({ type: MESSAGE, height: height }, target);
  }

  var observer = window.ResizeObserver ? new ResizeObserver(postHeight) : null;
  function observe() {
    if (!observer) return;
    observer.disconnect();
    observer.observe(document.documentElement);
    var panel = document.getElementById("panel");
    if (panel) observer.observe(panel);
  }

  document.addEventListener("htmx:configRequest", function (evt) {
    // Always present inside the frame (even empty): the server then never answers with a log-in page.
    evt.detail.headers["X-Embed-Session"] = token || recalled() || "";
    if (csrf) evt.detail.headers["X-CSRFToken"] = csrf;
    evt.detail.headers["HX-Current-URL"] = portalUrl();
  });

  document.addEventListener("htmx:beforeHistoryUpdate", function (evt) {
    var history = evt.detail && evt.detail.history;
    if (history && history.path) history.path = framed(history.path);
  });

  document.addEventListener("htmx:afterSettle", function () {
    readState();
    observe();
    postHeight();
  });

  function start() {
    readState();
    observe();
    var body = document.body;
    if (body.hasAttribute("data-embed-shell")) {
      var path = body.getAttribute("data-embed-path");
      keepAddress(path);
      window.htmx.ajax("GET", path, { target: "body", swap: "innerHTML", headers: { "HX-Boosted": "true" } });
    } else if (document.getElementById("embed-state")) {
      keepAddress();
    }
    postHeight();
  }

  // After htmx has read its configuration (it listens for DOMContentLoaded first).
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
