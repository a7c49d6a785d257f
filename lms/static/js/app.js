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
// Phones: a table.data that does not fit the screen becomes cards; each cell is labelled with its column head.
// A table that must stay a table says class="keep-table" (it scrolls in its box, its first column kept in view).
(function () {
  var phone = window.matchMedia("(max-width: 640px)");
  function label(table) {
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1], heads = [];
    if (!head) { return false; }
    Array.prototype.forEach.call(head.cells, function (th) {
      for (var i = 0; i < (th.colSpan || 1); i++) { heads.push(th.textContent.replace(/\s+/g, " ").trim()); }
    });
    Array.prototype.forEach.call(table.querySelectorAll(":scope > tbody > tr, :scope > tfoot > tr"), function (tr) {
      var col = 0;
      Array.prototype.forEach.call(tr.cells, function (td) {
        if (!td.hasAttribute("data-label") && (td.colSpan || 1) === 1) { td.setAttribute("data-label", heads[col] || ""); }
        col += td.colSpan || 1;
      });
    });
    return true;
  }
  function fit() {
    document.querySelectorAll("table.data").forEach(function (t) {
      if (t.classList.contains("keep-table")) { return; }
      t.classList.remove("cards");
      if (!phone.matches) { return; }
      var box = t.closest(".table-wrap") || t.parentElement, first = t.tBodies[0] && t.tBodies[0].rows[0];
      var cells = first ? first.cells.length : 0, numbers = 0;
      if (first) {
        Array.prototype.forEach.call(first.cells, function (td) {
          if (/^[\s\d.,%\u2014\u2013\/+-]+$/.test(td.textContent)) { numbers++; }
        });
      }
      var acts = t.querySelector("button, input:not([type=hidden]), select, textarea, a.button");
      if (cells > 2 && numbers * 2 >= cells && !acts) {  // a table of figures stays a table, scrolling in its box
        t.classList.add("figures");
        if (!t.closest(".table-wrap")) {
          var wrap = document.createElement("div");
          wrap.className = "table-wrap";
          t.parentNode.insertBefore(wrap, t);
          wrap.appendChild(t);
        }
        return;
      }
      if (cells >= 4 || t.scrollWidth > box.clientWidth + 1 || t.getBoundingClientRect().right > window.innerWidth + 1) {
        if (label(t)) { t.classList.add("cards"); }
      }
    });
  }
  fit();
  if (phone.addEventListener) { phone.addEventListener("change", fit); }
})();
// The header on a laptop: menu entries that do not fit on its one row go under "More" (the lit entry stays).
(function () {
  var nav = document.querySelector(".mainnav");
  if (!nav) { return; }
  var wide = window.matchMedia("(min-width: 1100px)");
  function fold() {
    var more = nav.querySelector(".nav-more");
    if (more) {
      Array.prototype.slice.call(more.querySelectorAll(".nav-more-list > a")).forEach(function (a) {
        nav.insertBefore(a, more);
      });
      nav.removeChild(more);
    }
    if (!wide.matches || nav.scrollWidth <= nav.clientWidth + 1) { return; }
    more = document.createElement("details");
    more.className = "nav-more";
    var summary = document.createElement("summary"), list = document.createElement("div");
    summary.textContent = nav.getAttribute("data-more") || "More";
    list.className = "nav-more-list";
    more.appendChild(summary);
    more.appendChild(list);
    nav.appendChild(more);
    var links = Array.prototype.filter.call(nav.children, function (a) {
      return a.tagName === "A" && !a.classList.contains("nav-account");
    });
    for (var i = links.length - 1; i > 0 && nav.scrollWidth > nav.clientWidth + 1; i--) {
      if (links[i].classList.contains("active")) { continue; }
      list.insertBefore(links[i], list.firstChild);
    }
  }
  fold();
  window.addEventListener("resize", fold);
})();

(function () {
  "use strict";
  // The sign-in page in a rush (lms.org.signin.wait_in_line): answered "your turn comes in N seconds" (503 with
  // Retry-After), the page counts down and sends the form again by itself, the password still in the form.
  // Signed in, the server answers where to go (JSON, for the X-Sign-In-Line header); any other answer (a wrong
  // password, a throttle) is shown as the page it is.
  document.querySelectorAll("form[data-line]").forEach(function (form) {
    var status = form.querySelector("[data-line-status]"), button = form.querySelector("button[type=submit]");
    var waiting = false;
    if (!window.fetch || !window.FormData || !status) { return; }
    function send() {
      fetch(form.action || window.location.href, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "X-Sign-In-Line": "1" }
      }).then(function (r) {
        if (r.status === 503 && r.headers.get("Retry-After")) {
          var exact = parseFloat(r.headers.get("X-Sign-In-Wait")), turn = parseFloat(r.headers.get("X-Sign-In-Turn"));
          exact = isNaN(exact) ? Math.max(1, parseInt(r.headers.get("Retry-After"), 10) || 2) : exact;
          wait(exact, isNaN(turn) ? exact : Math.max(turn, exact));
          return null;
        }
        if (r.ok && (r.headers.get("Content-Type") || "").indexOf("application/json") === 0) {
          return r.json().then(function (j) { window.location.assign(j.location); });
        }
        return r.text().then(function (html) { document.open(); document.write(html); document.close(); });
      }).catch(function () { wait(5); });  // a weak connection: try again shortly
    }
    // Come back after ``seconds``; show the ``turn`` (a turn far off is asked again on the way, the place kept).
    function wait(seconds, turn) {
      var due = Date.now() + seconds * 1000, shown = Date.now() + (turn || seconds) * 1000;
      waiting = true;
      button.disabled = true;
      status.hidden = false;
      (function tick() {
        var left = due - Date.now();
        status.textContent = status.getAttribute("data-line-status").replace("{n}", String(Math.max(1, Math.ceil((shown - Date.now()) / 1000))));
        if (left <= 0) { send(); return; }
        setTimeout(tick, Math.min(1000, left));
      })();
    }
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (waiting) { return; }
      button.disabled = true;
      send();
    });
  });
})();
