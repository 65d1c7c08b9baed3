// Small glue for htmx: toasts from HX-Trigger, and closing the side panel.
(function () {
  document.body.addEventListener("toast", function (evt) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = evt.detail.value;
    box.classList.add("show");
    clearTimeout(box._t);
    box._t = setTimeout(function () { box.classList.remove("show"); }, 4000);
  });
  document.body.addEventListener("click", function (evt) {
    var btn = evt.target.closest("[data-close-panel]");
    // Only inside the panel; the same link on a full page is an ordinary link.
    if (btn && btn.closest("#panel")) {
      evt.preventDefault();
      var panel = document.getElementById("panel");
      if (panel) panel.innerHTML = "";
    }
  });
})();
