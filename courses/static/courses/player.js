// The lesson player: quality switch, heartbeats, no skipping ahead for credit, resume. Data comes from data-*.
(function () {
  "use strict";

  // Document lessons: count down the minimum reading time on the button.
  document.querySelectorAll("form.reading[data-seconds]").forEach(function (form) {
    var left = parseInt(form.getAttribute("data-seconds"), 10) || 0;
    var button = form.querySelector("button");
    var label = button.getAttribute("data-label");
    if (left <= 0) { return; }
    button.disabled = true;
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) { clearInterval(timer); button.disabled = false; button.textContent = label; return; }
      button.textContent = label + " (" + left + "s)";
    }, 1000);
  });

  var box = document.getElementById("player");
  if (!box) { return; }
  var video = box.querySelector("video");
  var url = box.getAttribute("data-heartbeat-url");
  var allowSeek = box.getAttribute("data-forward-seek") === "1";
  var maxRate = parseFloat(box.getAttribute("data-max-rate")) || 1;
  var resume = parseFloat(box.getAttribute("data-resume")) || 0;
  var furthest = parseFloat(box.getAttribute("data-furthest")) || 0;
  if (!allowSeek) { resume = Math.min(resume, furthest); }
  var status = document.getElementById("player-status");
  var qualityButtons = Array.prototype.slice.call(box.querySelectorAll(".quality button[data-src]"));

  function markQuality(button) {
    qualityButtons.forEach(function (b) {
      b.classList.toggle("active", b === button);
      b.setAttribute("aria-pressed", b === button ? "true" : "false");
    });
  }

  // Start at the best rendition for this screen: the smallest one at least as tall as the player shows in device
  // pixels (the largest if none is), the smallest on a data saver or a slow connection, or the one the learner
  // chose last time. Done before anything loads (the markup asks for preload="none" when there is a choice).
  function bestQuality() {
    if (qualityButtons.length < 2) { return null; }
    var sorted = qualityButtons.slice().sort(function (a, b) {
      return (parseInt(a.getAttribute("data-height"), 10) || 0) - (parseInt(b.getAttribute("data-height"), 10) || 0);
    });
    var chosen = null;
    try { chosen = window.localStorage.getItem("lms.quality"); } catch (e) { chosen = null; }
    var byChoice = sorted.filter(function (b) { return b.getAttribute("data-label") === chosen; })[0];
    if (byChoice) { return byChoice; }
    var conn = navigator.connection || {};
    if (conn.saveData || /(^|-)(2g|3g)$/.test(conn.effectiveType || "")) { return sorted[0]; }
    var width = box.clientWidth || video.clientWidth || window.innerWidth || 640;
    var need = width * (window.devicePixelRatio || 1) * 9 / 16;
    for (var i = 0; i < sorted.length; i++) {
      if ((parseInt(sorted[i].getAttribute("data-height"), 10) || 0) >= need * 0.9) { return sorted[i]; }
    }
    return sorted[sorted.length - 1];
  }
  var best = bestQuality();
  if (best) {
    markQuality(best);
    if (video.getAttribute("src") !== best.getAttribute("data-src")) { video.src = best.getAttribute("data-src"); }
    video.preload = "metadata";
    video.load();
  }
  box.setAttribute("data-quality", best ? best.getAttribute("data-label") : "");
  var rateSelect = document.getElementById("rate");
  var session = (window.crypto && window.crypto.getRandomValues)
    ? Array.prototype.map.call(window.crypto.getRandomValues(new Uint8Array(16)), function (b) {
        return ("0" + b.toString(16)).slice(-2); }).join("")
    : String(Math.random()).slice(2) + String(Date.now());
  var lastGood = resume;      // the position before any seek
  var lastTick = resume;
  var switching = false;      // a quality switch sets currentTime itself
  var timer = null;
  var done = box.getAttribute("data-completed") === "1";

  // A message (refused seek, lesson done) stays on screen for a while; progress percentages wait behind it.
  var sticky = 0;
  function say(text, keep) {
    if (!status) { return; }
    var now = Date.now();
    if (!keep && now < sticky) { return; }
    status.textContent = text;
    if (keep) { sticky = now + 5000; }
  }

  // The server answers heartbeats closer together than its minimum interval without credit: never send two
  // closer than data-min-spacing seconds; one asked for sooner goes out when the spacing allows, with the state
  // of that moment. A seek goes at once (the server moves its anchor whenever the position jumps).
  var spacing = (parseFloat(box.getAttribute("data-min-spacing")) || 2) * 1000;
  var lastSent = 0;
  var pendingTimer = null;
  var retries = 0;
  function beat(position, playing, now) {
    if (!url) { return; }
    var wait = lastSent + spacing - Date.now();
    if (wait > 0 && !now) {
      if (!pendingTimer) {
        pendingTimer = setTimeout(function () {
          pendingTimer = null;
          beat(video.ended ? video.duration : video.currentTime, !video.paused && !video.ended);
        }, wait + 20);
      }
      return;
    }
    if (pendingTimer) { clearTimeout(pendingTimer); pendingTimer = null; }
    lastSent = Date.now();
    var body = JSON.stringify({ session: session, position: position, playing: playing, rate: video.playbackRate });
    fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: true, body: body,
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": window.LMS.csrf }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j || !j.recorded) { return; }
      furthest = Math.max(furthest, j.furthest || 0);
      // The last heartbeat of a stop (the end, a pause) reached the server too soon after the one before, or
      // before the wall clock allowed its stretch (a slow network): no regular heartbeat follows while stopped,
      // so send it again once the spacing allows (a few times at most), or that stretch would never count.
      if ((j.reason === "early" || j.reason === "budget") && (video.paused || video.ended) && retries < 5) {
        retries += 1;
        setTimeout(function () { beat(video.ended ? video.duration : video.currentTime, false); }, spacing + 50);
      } else if (j.reason !== "early" && j.reason !== "budget") {
        retries = 0;
      }
      if ((j.reason === "ahead" || j.reason === "seek") && !allowSeek && typeof j.position === "number" &&
          video.currentTime > j.position + 3) {
        // the server anchors a session no further than what was credited (a new session, a jump beyond it):
        // continue from there, or nothing more would be credited
        lastGood = lastTick = j.position;
        video.currentTime = j.position;
        say(box.getAttribute("data-msg-seek"), true);
        return;
      }
      say(Math.round((j.fraction || 0) * 100) + "%");
      var waiting = document.getElementById("course-waiting");
      if (waiting && j.waiting) {
        // every lesson is done, but the course overlaps another training of this person (a session they are in)
        waiting.querySelector("span").textContent = j.waiting;
        waiting.hidden = false;
      }
      if (j.course_completed) { done = true; say(box.getAttribute("data-msg-course-done"), true); sticky = Infinity; }
      else if (j.completed && !done) { done = true; say(box.getAttribute("data-msg-done"), true); }
    }).catch(function () { /* the next heartbeat carries on */ });
  }

  // Resume where the learner stopped. The metadata may already be loaded (a cached video) before this script
  // runs, in which case the event has passed: apply it at once.
  var resumed = false;
  function applyResume() {
    if (resumed || switching || !(video.duration > 0)) { return; }
    resumed = true;
    if (resume > 1 && resume < video.duration - 2) { video.currentTime = resume; }
  }
  if (video.readyState >= 1) { applyResume(); }
  video.addEventListener("loadedmetadata", function () {
    if (switching) { return; }
    applyResume();
  });

  video.addEventListener("timeupdate", function () {
    if (video.seeking || switching) { return; }
    var t = video.currentTime;
    if (t - lastTick >= 0 && t - lastTick < 2) { furthest = Math.max(furthest, t); }
    lastTick = t;
    lastGood = t;
  });

  video.addEventListener("seeking", function () {
    if (switching) { return; }
    var target = video.currentTime;
    if (!allowSeek && target > furthest + 1) {
      video.currentTime = Math.max(0, Math.min(furthest, lastGood));
      say(box.getAttribute("data-msg-seek"), true);
      return;
    }
    beat(lastGood, !video.paused, true);  // credit what was played up to the seek
  });

  video.addEventListener("seeked", function () {
    if (switching) { return; }
    lastGood = lastTick = video.currentTime;
    beat(video.currentTime, !video.paused, true);  // anchor at the new position (credits nothing)
  });

  video.addEventListener("play", function () {
    beat(video.currentTime, true);
    if (!timer) { timer = setInterval(function () { if (!video.paused) { beat(video.currentTime, true); } }, 10000); }
  });
  video.addEventListener("pause", function () { if (!switching) { beat(video.currentTime, false); } });
  video.addEventListener("ended", function () { beat(video.duration, false); });
  document.addEventListener("visibilitychange", function () {
    // the page may be going away: send now (keepalive), even if the server will find it early
    if (document.visibilityState === "hidden" && !video.paused) { beat(video.currentTime, true, true); }
  });

  video.addEventListener("ratechange", function () {
    if (video.playbackRate > maxRate) { video.playbackRate = maxRate; }
  });
  if (rateSelect) {
    rateSelect.addEventListener("change", function () {
      video.playbackRate = Math.min(maxRate, parseFloat(rateSelect.value) || 1);
    });
  }

  qualityButtons.forEach(function (button) {
    button.addEventListener("click", function () {
      var at = video.currentTime, wasPlaying = !video.paused, rate = video.playbackRate;
      markQuality(button);
      box.setAttribute("data-quality", button.getAttribute("data-label"));
      try { window.localStorage.setItem("lms.quality", button.getAttribute("data-label")); } catch (e) { /* private mode */ }
      switching = true;
      video.src = button.getAttribute("data-src");
      video.addEventListener("loadedmetadata", function once() {
        video.removeEventListener("loadedmetadata", once);
        video.currentTime = at;
        video.playbackRate = rate;
        switching = false;
        if (wasPlaying) { video.play(); }
      });
      video.load();
    });
  });
})();
