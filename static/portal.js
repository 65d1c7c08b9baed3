// Small glue for htmx: toasts from HX-Trigger, the side panel (close, Escape, focus),
// focus on the first field of a swapped-in form, and tidy list URLs.
(function () {
  function hideToast(box) {
    box.classList.remove("show");
    var undo = box.querySelector(".undo");
    if (undo) undo.remove();
  }
  document.body.addEventListener("toast", function (evt) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = evt.detail.value;
    box.classList.add("show");
    clearTimeout(box._t);
    box._t = setTimeout(function () { hideToast(box); }, 4000);
  });
  // A destructive write's toast offers Undo for 10 seconds: it POSTs to the restore URL the server
  // sent (HX-Trigger "toast-undo"), with the page's CSRF (and embed session) headers, like any htmx post.
  document.body.addEventListener("toast-undo", function (evt) {
    var box = document.getElementById("toast");
    if (!box) return;
    var btn = document.createElement("button");
    btn.type = "button";
    btn.className = "undo";
    btn.textContent = "Undo";
    btn.setAttribute("data-undo", evt.detail.value);
    box.appendChild(btn);
    clearTimeout(box._t);
    box._t = setTimeout(function () { hideToast(box); }, 10000);
  });
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("#toast button.undo");
    if (!btn) return;
    var box = document.getElementById("toast");
    clearTimeout(box._t);
    hideToast(box);
    htmx.ajax("POST", btn.getAttribute("data-undo"), {source: document.body, target: "#panel", swap: "innerHTML"});
  });

  function closePanel() {
    var panel = document.getElementById("panel");
    if (panel) panel.innerHTML = "";
  }
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-close-panel]");
    // Only inside the panel; the same link on a full page is an ordinary link.
    if (btn && btn.closest("#panel")) {
      evt.preventDefault();
      closePanel();
    }
  });
  document.addEventListener("keydown", function (evt) {
    var panel = document.getElementById("panel");
    if (evt.key === "Escape" && panel && panel.children.length) closePanel();
  });

  // After a swap: a field the server marked invalid gets the focus; a form opened in the panel
  // or an inline row edit starts on its first field (a panel without fields, on Cancel/Close).
  var FIELD = "input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])";
  document.body.addEventListener("htmx:afterSettle", function (evt) {
    var elt = evt.target;
    if (!elt.querySelector) return;
    var panel = document.getElementById("panel");
    var inPanel = panel && panel.contains(elt);
    var invalid = elt.matches("[aria-invalid=true]") ? elt : elt.querySelector("[aria-invalid=true]");
    if (!invalid && !inPanel && !elt.matches("tr.editing")) return;
    var field = invalid || elt.querySelector(FIELD) || (inPanel && elt.querySelector("[data-close-panel]"));
    if (field) field.focus();
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
})();
