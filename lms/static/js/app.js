// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]');
  window.LMS = { csrf: csrf ? csrf.content : "" };

  // Confirm before destructive forms.
  document.addEventListener("submit", function (e) {
    var msg = e.target.getAttribute && e.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); }
  });

  // Poll background jobs and update their progress bars; reload when one finishes if asked.
  function pollJob(el) {
    var url = el.getAttribute("data-job-url");
    var bar = el.querySelector(".progress-bar"), label = el.querySelector(".progress-label"),
        msg = el.querySelector(".job-message");
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (j) {
          if (bar) { bar.style.width = j.progress + "%"; }
          if (label) { label.textContent = j.status_label + " " + j.progress + "%"; }
          if (msg) { msg.textContent = (j.message || "") + (j.error ? " — " + j.error : ""); }
          if (j.status === "done" || j.status === "failed") {
            if (el.closest("[data-reload]")) { window.location.reload(); }
            return;
          }
          setTimeout(tick, 1500);
        })
        .catch(function () { setTimeout(tick, 4000); });
    }
    var st = el.getAttribute("data-job-status");
    if (st === "queued" || st === "running") { tick(); }
  }
  document.querySelectorAll("[data-job-url]").forEach(pollJob);

  // Auto-submit selects in filter toolbars.
  document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
    s.addEventListener("change", function () { s.form.submit(); });
  });
})();
document.querySelectorAll("[data-print]").forEach(function (b) {
  b.addEventListener("click", function () { window.print(); });
});
