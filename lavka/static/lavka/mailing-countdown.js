// Moves the bar of the time left until a mailing's next send (the page computes the
// starting value; this only keeps it moving). No inline script: the CSP forbids it.
(function () {
  "use strict";
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick() {
    var now = Date.now() / 1000;
    document.querySelectorAll("progress[data-next]").forEach(function (bar) {
      var started = Number(bar.dataset.started);
      var next = Number(bar.dataset.next);
      var total = Math.max(next - started, 1);
      bar.max = total;
      bar.value = Math.min(Math.max(now - started, 0), total);
      var clock = document.querySelector('[data-countdown-clock="' + bar.id + '"]');
      if (!clock) { return; }
      var left = Math.max(Math.round(next - now), 0);
      if (left === 0) { clock.textContent = clock.dataset.dueLabel; return; }
      var days = Math.floor(left / 86400);
      var rest = left % 86400;
      var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor((rest % 3600) / 60)) + ":" + pad(rest % 60);
      clock.textContent = (days ? days + " " + clock.dataset.dayLabel + " " : "") + text;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    window.setInterval(tick, 1000);
  });
}());
