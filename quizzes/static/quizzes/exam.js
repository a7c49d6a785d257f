// The exam page: server-timed countdown, autosave on every change (with a sequence number so a late, older
// save never overwrites a newer one), question navigator, flags, practice feedback, and the mistake book.
(function () {
  "use strict";

  function csrf() { return (window.LMS && window.LMS.csrf) || ""; }

  function post(url, body) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify(body)
    });
  }

  function readAnswer(section) {
    var type = section.getAttribute("data-type");
    var inputs = Array.prototype.slice.call(section.querySelectorAll(".answers [name]"));
    var checked = inputs.filter(function (i) { return i.checked; });
    if (type === "single_choice") { return checked.length ? parseInt(checked[0].value, 10) : null; }
    if (type === "multiple_choice") { return checked.map(function (i) { return parseInt(i.value, 10); }); }
    if (type === "true_false") { return checked.length ? checked[0].value === "true" : null; }
    if (type === "fill_blank") { return inputs.map(function (i) { return i.value; }); }
    if (type === "matching") {  // one chosen text per item, in the items' original order (data-item)
      var chosen = [];
      inputs.forEach(function (i) { chosen[parseInt(i.getAttribute("data-item"), 10)] = i.value; });
      return Array.from(chosen, function (v) { return v || ""; });
    }
    return inputs.length ? inputs[0].value : null;
  }

  function isAnswered(answer) {
    if (answer === null || answer === undefined || answer === "") { return false; }
    if (Array.isArray(answer)) { return answer.some(function (a) { return a !== "" && a !== null; }); }
    return true;
  }

  // The server words the result ("回答错误。正确答案是「错误」。"); a blank or held-back answer gets a note only.
  function showFeedback(section, j, root) {
    var box = section.querySelector("[data-feedback]");
    if (!box) { return; }
    box.className = "feedback " + (j.correct === true ? "right" : (j.correct === false ? "wrong" : "note"));
    box.textContent = "";
    var line = document.createElement("p");
    line.textContent = j.message || "";
    box.appendChild(line);
    if (j.explanation) {
      var why = document.createElement("p");
      why.className = "muted";
      why.textContent = root.getAttribute("data-msg-explanation") + j.explanation;
      box.appendChild(why);
    }
  }

  var root = document.getElementById("exam");
  if (root) {
    var seq = parseInt(root.getAttribute("data-seq") || "0", 10);
    var saveUrl = root.getAttribute("data-save-url");
    var flagUrl = root.getAttribute("data-flag-url");
    var checkUrl = root.getAttribute("data-check-url");
    var resultUrl = root.getAttribute("data-result-url");
    var stateEl = document.getElementById("save-state");
    var timers = {};
    var inflight = 0;
    var closed = false;

    var setState = function (key, cls) {
      if (stateEl) { stateEl.textContent = root.getAttribute("data-msg-" + key) || ""; stateEl.className = "save-state " + (cls || ""); }
    };
    var navFor = function (aq) { return root.querySelector('[data-nav="' + aq + '"]'); };
    var finish = function (message) {
      if (closed) { return; }
      closed = true;
      if (message) { window.alert(message); }
      window.location.href = resultUrl;
    };

    var save = function (aq) {
      delete timers[aq];
      var section = document.getElementById("q-" + aq);
      var answer = readAnswer(section);
      seq += 1;
      var mySeq = seq;
      inflight += 1;
      setState("saving");
      return post(saveUrl, { aq: parseInt(aq, 10), answer: answer, seq: mySeq })
        .then(function (r) {
          if (r.status === 409) { return r.json().then(function (j) { finish(j.message); }); }
          if (!r.ok) { throw new Error("save failed " + r.status); }
          return r.json().then(function (j) {
            if (j.seq > seq) { seq = j.seq; }
            setState("saved", "ok");
            var nav = navFor(aq);
            if (nav) { nav.classList.toggle("answered", isAnswered(answer)); }
          });
        })
        .catch(function () { setState("offline", "bad"); schedule(aq, 3000); })
        .then(function () { inflight -= 1; });
    };
    var schedule = function (aq, delay) {
      if (closed) { return; }
      clearTimeout(timers[aq]);
      timers[aq] = setTimeout(function () { save(aq); }, delay);
    };
    var flushAll = function () {
      var pending = Object.keys(timers).map(function (aq) { clearTimeout(timers[aq]); return save(aq); });
      return Promise.all(pending).then(function () {
        return new Promise(function (resolve) {
          (function wait() { if (inflight <= 0) { resolve(); } else { setTimeout(wait, 100); } })();
        });
      });
    };

    root.addEventListener("change", function (e) {
      var section = e.target.closest(".question");
      if (!section) { return; }
      var aq = section.getAttribute("data-aq");
      if (e.target.hasAttribute("data-flag")) {
        var nav = navFor(aq);
        if (nav) { nav.classList.toggle("flagged", e.target.checked); }
        post(flagUrl, { aq: parseInt(aq, 10), flagged: e.target.checked });
        return;
      }
      schedule(aq, 0);
    });
    root.addEventListener("input", function (e) {
      var section = e.target.closest(".question");
      if (section && (e.target.type === "text" || e.target.tagName === "TEXTAREA")) { schedule(section.getAttribute("data-aq"), 800); }
    });
    root.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-check]");
      if (!btn || !checkUrl) { return; }
      var section = btn.closest(".question");
      var aq = section.getAttribute("data-aq");
      schedule(aq, 0);
      flushAll().then(function () {
        return post(checkUrl, { aq: parseInt(aq, 10) }).then(function (r) { return r.json(); })
          .then(function (j) { showFeedback(section, j, root); });
      });
    });

    var form = document.getElementById("submit-form");
    if (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var msg = form.getAttribute("data-confirm-msg");
        if (msg && !window.confirm(msg)) { return; }
        flushAll().then(function () { closed = true; form.submit(); });
      });
    }

    // The countdown follows the server's deadline (seconds left when the page was served), not the device clock.
    var left = root.getAttribute("data-seconds-left");
    var timerEl = document.getElementById("timer");
    if (left !== "" && left !== null && timerEl) {
      var endsAt = Date.now() + parseInt(left, 10) * 1000;
      var tick = function () {
        var s = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
        var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
        timerEl.textContent = (h ? h + ":" : "") + (m < 10 && h ? "0" : "") + m + ":" + (sec < 10 ? "0" : "") + sec;
        timerEl.classList.toggle("warn", s <= 300);
        timerEl.classList.toggle("bad", s <= 60);
        if (s <= 0) {
          flushAll().then(function () { closed = true; form.submit(); });
          return;
        }
        setTimeout(tick, 500);
      };
      tick();
    }
    window.addEventListener("beforeunload", function (e) {
      if (!closed && (inflight > 0 || Object.keys(timers).length)) { e.preventDefault(); e.returnValue = ""; }
    });
  }

  var book = document.getElementById("mistakes");
  if (book) {
    book.addEventListener("click", function (e) {
      var btn = e.target.closest("[data-mistake-check]");
      if (!btn) { return; }
      var section = btn.closest(".question");
      post(section.getAttribute("data-check-url"), { answer: readAnswer(section) })
        .then(function (r) { return r.json(); })
        .then(function (j) { showFeedback(section, j, book); });
    });
  }
})();
