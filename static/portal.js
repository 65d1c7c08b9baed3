// Small glue for htmx: the brand colours, the collapsing menu, toasts from HX-Trigger, the side panel
// as a modal <dialog>, focus after a swap, keyboard shortcuts, and tidy list URLs.
(function () {
  var root = document.documentElement;

  // The reseller's colours (brand.palette, on <html data-…>): set from here, as the CSP allows no inline style.
  ["brand", "on-brand", "brand-text", "brand-text-dark"].forEach(function (key) {
    var value = root.getAttribute("data-" + key);
    if (value) root.style.setProperty("--" + key, value);
  });

  // The menu's disclosure button (shown on narrow screens only, by the stylesheet).
  var toggle = document.querySelector(".nav-toggle");
  if (toggle) {
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      toggle.setAttribute("aria-expanded", toggle.getAttribute("aria-expanded") === "true" ? "false" : "true");
    });
  }

  // ---------------------------------------------------------------- the visible part of the page
  // Inside a partner's auto-height frame the frame is as tall as the page, so "fixed" means "thousands of
  // pixels down". An IntersectionObserver on the whole document (implicit root: the top-level viewport,
  // also across origins) tells which band of the frame the user sees; toasts and dialogs go there.
  var framed = window.self !== window.top;
  var seen = null;  // {top, bottom} in document coordinates, inside a frame
  if (framed && "IntersectionObserver" in window) {
    var steps = [];
    for (var i = 0; i <= 100; i++) steps.push(i / 100);
    new IntersectionObserver(function (entries) {
      var r = entries[entries.length - 1].intersectionRect;
      seen = r.height ? {top: r.top + window.scrollY, bottom: r.bottom + window.scrollY} : null;
      place();
    }, {threshold: steps}).observe(document.body);
  }
  function visibleBand() {
    if (framed && seen) return seen;
    return {top: window.scrollY, bottom: window.scrollY + window.innerHeight};
  }
  function place() {
    if (!framed) return;
    // On <html>, never on an element htmx swaps: htmx copies the old attributes of a swapped element with
    // the same id onto the new one, and a copied style="…" attribute is an inline style the CSP refuses.
    var band = visibleBand();
    var box = document.getElementById("toast");
    var height = box ? box.offsetHeight : 0;
    root.style.setProperty("--toast-top", Math.max(band.top, band.bottom - height - 16) + "px");
    root.style.setProperty("--dialog-top", (band.top + 16) + "px");
  }

  // ---------------------------------------------------------------- toasts
  // A message stays until dismissed when it is an error, and for 6 s otherwise. While the panel is open
  // the toast lives inside it (a modal dialog makes the rest of the page unreachable).
  var TOAST_MS = 6000;
  function toastBox() { return document.getElementById("toast"); }
  function addDismiss(box) {
    if (box.querySelector(".toast-close")) return;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss message");
    close.textContent = "×";
    box.appendChild(close);
  }
  function showToast(box, sticky) {
    addDismiss(box);
    box.classList.add("show");
    clearTimeout(box._t);
    if (!sticky) box._t = setTimeout(function () { hideToast(box); }, TOAST_MS);
    place();
  }
  function hideToast(box) {
    clearTimeout(box._t);
    box.classList.remove("show");
    box.innerHTML = "";
  }
  document.body.addEventListener("toast", function (evt) {
    var box = toastBox();
    if (!box) return;
    box.innerHTML = "";
    var text = document.createElement("span");
    text.className = "toast-text";
    text.textContent = evt.detail.value;
    box.appendChild(text);
    showToast(box, false);
  });
  document.body.addEventListener("click", function (evt) {
    var close = evt.target.closest(".toast-close");
    if (close) hideToast(close.closest("#toast"));
  });
  // A destructive write's toast offers Undo for 10 seconds: it POSTs to the restore URL the server sent
  // (HX-Trigger "toast-undo", right after "toast"), with the page's CSRF (and embed session) headers.
  var UNDO_MS = 10000;
  document.body.addEventListener("toast-undo", function (evt) {
    var box = toastBox();
    if (!box) return;
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "undo";
    btn.textContent = "Undo";
    btn.setAttribute("data-undo", evt.detail.value);
    box.insertBefore(btn, box.querySelector(".toast-close"));
    clearTimeout(box._t);
    box._t = setTimeout(function () { hideToast(box); }, UNDO_MS);
  });
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("#toast button.undo");
    if (!btn) return;
    hideToast(btn.closest("#toast"));
    htmx.ajax("POST", btn.getAttribute("data-undo"), {source: document.body, target: "#panel", swap: "innerHTML"});
  });

  // ---------------------------------------------------------------- the side panel
  var opener = null;
  function panel() { return document.getElementById("panel"); }
  function dialog() { return document.getElementById("panel-dialog"); }
  function closePanel() {
    var d = dialog();
    if (d && d.open) d.close(); else if (panel()) panel().innerHTML = "";
  }
  function syncPanel() {
    var d = dialog(), p = panel();
    if (!d || !p) return;
    if (p.children.length && !d.open) {
      var heading = p.querySelector("h1, h2");
      if (heading) d.setAttribute("aria-label", heading.textContent.trim()); else d.removeAttribute("aria-label");
      d.showModal();
      var box = toastBox();
      if (box) d.appendChild(box);
      place();
    } else if (!p.children.length && d.open) {
      d.close();
    }
  }
  // Whatever fills or empties the panel opens or closes the dialog (an emptying swap removes the element that
  // would have sent htmx's events, so they never reach the body).
  if (panel() && "MutationObserver" in window) new MutationObserver(syncPanel).observe(panel(), {childList: true});
  document.addEventListener("close", function (evt) {
    if (evt.target !== dialog()) return;
    panel().innerHTML = "";
    var box = toastBox();
    if (box && box.parentNode !== document.body) { document.body.appendChild(box); place(); }
    var back = pendingFocus || (opener && document.contains(opener) ? opener : null);
    pendingFocus = null;
    // Unless something outside already took the focus (the row a save just added).
    var now = document.activeElement;
    if (back && (!now || now === document.body || evt.target.contains(now))) back.focus({preventScroll: framed});
  }, true);
  // Focus stays inside the open panel: Tab from its last control goes to its first, and back.
  document.addEventListener("keydown", function (evt) {
    var d = dialog();
    if (evt.key !== "Tab" || !d || !d.open) return;
    var items = [].filter.call(d.querySelectorAll("a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex='0']"),
                               function (el) { return el.offsetParent !== null; });
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1];
    if (evt.shiftKey && (document.activeElement === first || !d.contains(document.activeElement))) { evt.preventDefault(); last.focus(); }
    else if (!evt.shiftKey && (document.activeElement === last || !d.contains(document.activeElement))) { evt.preventDefault(); first.focus(); }
  });
  document.body.addEventListener("htmx:beforeRequest", function (evt) {
    // What opened the panel gets the focus back when it closes.
    var d = dialog();
    if (!d || !d.open) opener = evt.detail.elt && evt.detail.elt.closest ? evt.detail.elt : document.activeElement;
  });
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-close-panel]");
    // Only inside the panel; the same link on a full page is an ordinary link.
    if (btn && btn.closest("#panel-dialog")) {
      evt.preventDefault();
      closePanel();
    }
  });

  // ---------------------------------------------------------------- after a swap
  // A field the server marked invalid gets the focus; a form opened in the panel or an inline row edit
  // starts on its first field (a panel without fields, on Cancel/Close), unless a field has it already.
  // After a save, the changed or new row gets the focus and a short highlight (data-changed).
  var FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  var pendingFocus = null;
  document.body.addEventListener("htmx:afterSettle", function (evt) {
    syncPanel();
    var elt = evt.target;
    if (!elt.querySelector) return;
    var p = panel();
    var inPanel = p && p.contains(elt);
    var invalid = elt.matches("[aria-invalid=true]") ? elt : elt.querySelector("[aria-invalid=true]");
    if (!invalid && !inPanel && !elt.matches("tr.editing")) return;
    // Not from a field the person is already typing in (they went on before the swap settled: a fast typist
    // in a new form, or the next field while an inline check of the last one came back), unless a save
    // was refused and names the field to fix.
    var active = document.activeElement, config = evt.detail.requestConfig;
    var typing = active && active !== document.body && active.matches(FIELD);
    if (typing && !(invalid && config && config.verb !== "get")) return;
    var field = invalid || elt.querySelector(FIELD) || (inPanel && elt.querySelector("[data-close-panel]"));
    if (field) field.focus({preventScroll: framed});
  });
  // After a save the answer names the row it added or changed (HX-Trigger "changed": "company-12"). The list's
  // refresh asks to keep it in view (?show=12, web.keep_shown); once it is there it gets the focus and a highlight.
  var changed = null;
  document.body.addEventListener("changed", function (evt) { changed = evt.detail.value; });
  document.body.addEventListener("htmx:configRequest", function (evt) {
    var target = evt.detail.target;
    if (!changed || !target || target.id !== changed.slice(0, changed.lastIndexOf("-")) + "-rows") return;
    evt.detail.parameters.set ? evt.detail.parameters.set("show", changed.slice(changed.lastIndexOf("-") + 1))
                              : (evt.detail.parameters.show = changed.slice(changed.lastIndexOf("-") + 1));
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    var row = changed && document.getElementById(changed);
    if (!row) return;
    changed = null;
    row.classList.add("just-changed");
    row.setAttribute("tabindex", "-1");
    setTimeout(function () { row.classList.remove("just-changed"); }, 2000);
    var d = dialog();
    if (d && d.open) pendingFocus = row; else row.focus({preventScroll: framed});
  });

  // Search results: the live region says how many there are (the pager's count).
  document.body.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.detail.requestConfig && evt.detail.requestConfig.elt;
    if (!elt || !elt.matches || !elt.matches("input[type=search]")) return;
    var live = document.getElementById("list-status");
    var count = document.querySelector("tfoot .pager span");
    if (live && count) live.textContent = count.textContent.trim() || "No matches";
  });

  // ---------------------------------------------------------------- keyboard
  document.addEventListener("keydown", function (evt) {
    var t = evt.target;
    var typing = t.matches && t.matches("input, select, textarea, [contenteditable]");
    // "/" focuses the list's search.
    if (evt.key === "/" && !typing && !evt.ctrlKey && !evt.metaKey && !evt.altKey) {
      var search = document.querySelector("main input[type=search]");
      if (search) { evt.preventDefault(); search.focus(); search.select(); }
    }
    // The arrow keys move from a list's search box through its rows (their name links), and back.
    if ((evt.key === "ArrowDown" || evt.key === "ArrowUp") && t.closest && !evt.altKey) {
      var fromSearch = t.matches("main input[type=search]");
      var rowLinks = "main tbody td.name a, main tbody th[scope=row] a";
      var inRow = !fromSearch && t.matches(rowLinks);
      if (fromSearch || inRow) {
        var links = [].slice.call(document.querySelectorAll(rowLinks));
        var at = inRow ? links.indexOf(t) : -1;
        var next = evt.key === "ArrowDown" ? links[at + 1] : (at > 0 ? links[at - 1] : document.querySelector("main input[type=search]"));
        if (next) { evt.preventDefault(); next.focus(); }
      }
    }
    // Escape cancels an inline row edit (its Cancel button).
    if (evt.key === "Escape" && t.closest) {
      var editing = t.closest("tr.editing");
      var cancel = editing && [].find.call(editing.querySelectorAll("button"), function (b) { return b.textContent.trim() === "Cancel"; });
      if (cancel) { evt.preventDefault(); cancel.click(); }
    }
  });

  // "Copy link": the meeting link to the clipboard, and a toast that says so.
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("button[data-copy]");
    if (!btn) return;
    var url = new URL(btn.getAttribute("data-copy"), window.location.href).href;
    var say = function (text) { document.body.dispatchEvent(new CustomEvent("toast", {detail: {value: text}})); };
    if (navigator.clipboard) navigator.clipboard.writeText(url).then(function () { say("Copied " + url); }, function () { say("Copy this link: " + url); });
    else say("Copy this link: " + url);
  });

  // Enter in a list's search box: htmx already searches on the input's "search" event, so the
  // toolbar form's plain submit (the no-JavaScript fallback) would only reload the whole page.
  document.body.addEventListener("submit", function (evt) {
    var form = evt.target;
    if (form.matches("form[role=search]") && form.querySelector("input[type=search][hx-get]")) evt.preventDefault();
  });

  // A list row's buttons name their action (data-get="delete"); the rows' <tbody> holds one URL per
  // action with a placeholder id (data-get-delete="/companies/2147483647/delete"), so the rows carry no
  // URLs of their own. The answer goes where the tbody's hx-target says (the panel).
  var PLACEHOLDER = "2147483647";
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("button[data-get]");
    var row = btn && btn.closest("tr[id]");
    var body = row && row.closest("tbody");
    var url = body && body.getAttribute("data-get-" + btn.getAttribute("data-get"));
    if (!url) return;
    var id = row.id.slice(row.id.lastIndexOf("-") + 1);
    opener = btn;
    htmx.ajax("GET", url.replace(PLACEHOLDER, id), {source: btn, target: body.getAttribute("hx-target") || "#panel",
                                                      swap: "innerHTML"});
  });

  // A list row's Actions menu (<details class="menu">) arrives empty, to keep the rows lean: when it opens
  // it takes the buttons of its tbody's one <template class="menu">, less those its data-hide names.
  // One menu is open at a time; a click elsewhere or Escape closes it.
  function closeMenus(except) {
    document.querySelectorAll("details.menu[open]").forEach(function (m) { if (m !== except) m.open = false; });
  }
  document.body.addEventListener("toggle", function (evt) {
    var menu = evt.target;
    if (!(menu instanceof HTMLDetailsElement) || !menu.matches(".menu") || !menu.open) return;
    closeMenus(menu);
    var body = menu.closest("tbody");
    var tpl = body && body.querySelector("template.menu");
    if (!tpl || menu.querySelector("button")) return;
    var hide = (menu.getAttribute("data-hide") || "").split(" ");
    var items = tpl.content.cloneNode(true);
    items.querySelectorAll("button[data-get]").forEach(function (b) {
      if (hide.indexOf(b.getAttribute("data-get")) >= 0) b.remove();
    });
    menu.appendChild(items);
  }, true);
  document.addEventListener("click", function (evt) {
    var inMenu = evt.target.closest && evt.target.closest("details.menu");
    closeMenus(inMenu && !evt.target.closest("button") ? inMenu : null);
  });
  document.addEventListener("keydown", function (evt) {
    if (evt.key !== "Escape") return;
    var open = document.querySelector("details.menu[open]");
    if (open) { open.open = false; open.querySelector("summary").focus(); }
  });

  // List URLs without empty parameters: /companies?q=ac rather than ?q=ac&type=&status=.
  document.body.addEventListener("htmx:configRequest", function (evt) {
    if (evt.detail.verb !== "get") return;
    var data = evt.detail.formData || evt.detail.parameters;
    var empty = [];
    data.forEach(function (value, name) {
      if (value === "" && data.getAll(name).every(function (v) { return v === ""; })) empty.push(name);
    });
    empty.forEach(function (name) { data.delete(name); });
  });

  // Errors (an error-toast swapped into #toast) stay until dismissed, but for a "brief" one (the read-only
  // refusal while viewing as someone), which goes like any other toast.
  document.body.addEventListener("htmx:afterSwap", function (evt) {
    if (evt.target.id === "toast") showToast(evt.target, !!evt.target.querySelector(".error-toast:not(.brief)"));
  });
})();
