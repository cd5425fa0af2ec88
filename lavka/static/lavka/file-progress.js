// Polls a prepared file's progress, moves its bar and counts, and shows the download
// link once the file is ready (reloads the page when it failed). No inline script.
(function () {
  "use strict";
  function update(box, data) {
    box.querySelectorAll("[data-field]").forEach(function (node) {
      var value = data[node.dataset.field];
      if (value !== undefined && value !== null) { node.textContent = value; }
    });
    var bar = box.querySelector("progress");
    if (bar && data.rows_total) { bar.max = data.rows_total; bar.value = data.rows_done; }
    if (data.ready) {
      if (bar) { bar.max = 1; bar.value = 1; }
      var row = box.querySelector("[data-download]");
      if (row) { row.querySelector("a").href = data.download_url; row.hidden = false; }
    }
  }
  function poll(box) {
    fetch(box.dataset.progressUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { window.setTimeout(function () { poll(box); }, 5000); return; }
        update(box, data);
        if (data.failed) { window.location.reload(); return; }
        if (data.finished) { return; }
        window.setTimeout(function () { poll(box); }, 1000);
      })
      .catch(function () { window.setTimeout(function () { poll(box); }, 5000); });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.querySelector("[data-file-progress-url]");
    if (box) { box.dataset.progressUrl = box.dataset.fileProgressUrl; poll(box); }
  });
}());
