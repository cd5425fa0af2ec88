// Waits for a sales report that is counted in the background and reloads its page once
// the numbers are ready (or the job failed, so the page says so). No inline script.
(function () {
  "use strict";
  function poll(box) {
    fetch(box.dataset.reportProgressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (response.status === 404) { window.location.reload(); return undefined; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (data === undefined) { return; }
        if (data && data.finished) { window.location.reload(); return; }
        window.setTimeout(function () { poll(box); }, data ? 1000 : 5000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-report-progress-url]");
    if (box) { poll(box); }
  });
}());
