// Polls an import's progress and moves its bar and counts; reloads the page for the
// result once the import has finished. No inline script: the CSP forbids it.
(function () {
  "use strict";
  function update(box, data) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var value = data[node.dataset.field];
      if (value !== undefined && value !== null) { node.textContent = value || (node.dataset.field === "total" ? "…" : value); }
    });
    var bar = box.querySelector("progress");
    if (bar && data.total) { bar.max = data.total; bar.value = data.rows_done; }
  }
  function poll(box) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(function () { poll(box); }, 5000); return; }
        update(box, data);
        if (data.finished) { window.location.reload(); return; }
        window.setTimeout(function () { poll(box); }, 1000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress-url]");
    if (box) { poll(box); }
  });
}());
