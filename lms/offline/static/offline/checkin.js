/* The trainer's check-in screen: fetch the current code and the live list without reloading the page.
   Own code, no library: the QR code comes from the server as SVG. */
(function () {
  "use strict";
  var root = document.getElementById("checkin");
  if (!root) { return; }
  var url = root.getAttribute("data-live-url");
  var countdown = document.getElementById("countdown");
  var left = countdown ? parseInt(countdown.textContent, 10) || 30 : 0;
  var busy = false;

  function set(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function apply(state) {
    if (state.open !== (root.getAttribute("data-open") === "1")) {
      window.location.reload(); // opened or closed elsewhere: show the other buttons
      return;
    }
    var qr = document.getElementById("qr");
    if (qr && state.open && String(state.step) !== qr.getAttribute("data-step")) {
      qr.innerHTML = state.svg; // our own server's SVG markup
      qr.setAttribute("data-step", String(state.step));
      qr.setAttribute("data-checkin-url", state.url);
    }
    if (state.open) { left = state.seconds_left; }
    set("count-in", state.checked_in);
    set("count-expected", state.expected);
    set("count-missing", state.missing);
    var list = document.getElementById("live-list");
    if (list) { list.innerHTML = state.list_html; }
  }

  function refresh() {
    if (busy) { return; }
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (state) { if (state) { apply(state); } })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(function () { busy = false; });
  }

  var ticks = 0;
  window.setInterval(function () {
    ticks += 1;
    if (countdown && left > 0) {
      left -= 1;
      countdown.textContent = String(Math.max(left, 0));
    }
    // A new code as soon as the step changes; the list every 5 seconds.
    if ((countdown && left <= 0) || ticks % 5 === 0) { refresh(); }
  }, 1000);
})();
