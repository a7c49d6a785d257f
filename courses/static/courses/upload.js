// Upload a video with a progress bar (XMLHttpRequest upload events); without script the form posts normally.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var bar = form.querySelector(".upload-progress");
    var fill = bar && bar.querySelector(".progress-bar");
    var label = bar && bar.querySelector(".progress-label");
    var max = parseInt(form.getAttribute("data-max-bytes"), 10) || 0;
    form.addEventListener("submit", function (e) {
      var input = form.querySelector("input[type=file]");
      if (!input || !input.files.length || !window.FormData) { return; }
      e.preventDefault();
      if (max && input.files[0].size > max) { window.alert(form.getAttribute("data-msg-too-large")); return; }
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      bar.hidden = false;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.setRequestHeader("X-CSRFToken", window.LMS.csrf);
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable) { return; }
        var pct = Math.floor(ev.loaded / ev.total * 100);
        fill.style.width = pct + "%";
        label.textContent = pct + "%";
      });
      xhr.addEventListener("load", function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (err) { data = null; }
        if (xhr.status === 200 && data && data.redirect) { window.location.href = data.redirect; return; }
        button.disabled = false;
        window.alert(xhr.status === 413 ? form.getAttribute("data-msg-too-large")
                                        : ((data && data.message) || form.getAttribute("data-msg-failed")));
      });
      xhr.addEventListener("error", function () {
        button.disabled = false;
        window.alert(form.getAttribute("data-msg-failed"));
      });
      xhr.send(new FormData(form));
    });
  });
})();
