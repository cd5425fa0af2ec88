// Polls a sync run's progress (as often as its `poll_seconds` says) and moves its counts; reloads the page for the full
// result (its shifts, the final status) once the run and its shifts are done. No
// inline script: the CSP forbids it. Without JavaScript a meta refresh does the same.
(function () {
  "use strict";
  function update(box, data) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var value = data[node.dataset.field];
      if (value !== undefined && value !== null) { node.textContent = value; }
    });
  }
  function poll(box) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(function () { poll(box); }, 5000); return; }
        update(box, data);
        if (data.finished) { window.location.reload(); return; }
        // every second while shifts are being sent, less often while they only wait
        // out a backoff (the server says which)
        var seconds = Math.min(Math.max(Number(data.poll_seconds) || 1, 1), 60);
        window.setTimeout(function () { poll(box); }, seconds * 1000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-progress-url]");
    if (box) { poll(box); }
  });
}());
