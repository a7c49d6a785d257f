// Upload a video with a progress bar (XMLHttpRequest upload events); without script the form posts normally.
// form[data-upload]: the video form of an existing lesson; form[data-lesson-upload]: the form that creates a
// lesson and may carry its file. Then the processing status of the video is polled until it is ready.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload], form[data-lesson-upload]").forEach(function (form) {
    var max = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    form.addEventListener("submit", function (e) {
      var input = null;
      form.querySelectorAll("input[type=file]").forEach(function (i) {
        if (!input && i.files && i.files.length && !i.closest("[hidden]")) { input = i; }
      });
      if (!input || !window.FormData) { return; }
      e.preventDefault();
      if (max && input.files[0].size > max) { window.alert(form.getAttribute("data-msg-too-large")); return; }
      var bar = (input.closest(".kind-part") || form).querySelector(".upload-progress");
      var fill = bar && bar.querySelector(".progress-bar");
      var label = bar && bar.querySelector(".progress-label");
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      if (bar) { bar.hidden = false; }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("action") || window.location.href);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", window.LMS.csrf);
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable || !fill) { return; }
        var pct = Math.floor(ev.loaded / ev.total * 100);
        fill.style.width = pct + "%";
        label.textContent = pct + "%";
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        if (xhr.status === 200 && data && data.redirect) { window.location.href = data.redirect; return; }
        button.disabled = false;
        if (bar) { bar.hidden = true; }
        window.alert(xhr.status === 413 ? form.getAttribute("data-msg-too-large")
                                        : ((data && data.message) || form.getAttribute("data-msg-failed")));
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        window.alert(form.getAttribute("data-msg-failed"));
      });
      xhr.send(new FormData(form));
    });
    // Show only the fields of the chosen kind of lesson.
    var kind = form.querySelector("select[name=kind]");
    if (kind) {
      kind.addEventListener("change", function () {
        form.querySelectorAll(".kind-part[data-kind]").forEach(function (part) {
          part.hidden = part.getAttribute("data-kind") !== kind.value;
        });
      });
    }
  });
  // The processing status of a video, read from the video itself (not only its job); reload once it is done.
  document.querySelectorAll("[data-video-status]").forEach(function (el) {
    var url = el.getAttribute("data-video-status");
    var fill = el.querySelector(".progress-bar"), label = el.querySelector(".progress-label"),
        msg = el.querySelector(".video-message");
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (fill) { fill.style.width = s.progress + "%"; }
          if (label) { label.textContent = s.status_label + " " + s.progress + "%"; }
          if (msg) { msg.textContent = s.message || ""; }
          if (s.status === "ready" || s.status === "failed") { window.location.reload(); return; }
          setTimeout(tick, 1500);
        })
        .catch(function () { setTimeout(tick, 4000); });
    }
    setTimeout(tick, 1000);
  });
})();
