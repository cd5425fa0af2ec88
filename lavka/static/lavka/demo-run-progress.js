// Polls a demo run's state and reloads the page for the result once it is finished.
// No inline script: the CSP forbids it. Without JavaScript a meta refresh does the same.
(function () {
  "use strict";
  function poll(box) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(function () { poll(box); }, 3000); return; }
        box.querySelectorAll("[data-field]").forEach(function (node) {
          var value = data[node.dataset.field];
          if (value !== undefined && value !== null) { node.textContent = value; }
        });
        if (data.finished) { window.location.reload(); return; }
        window.setTimeout(function () { poll(box); }, 700);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 3000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress-url]");
    if (box) { poll(box); }
  });
}());
