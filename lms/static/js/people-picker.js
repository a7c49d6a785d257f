// People picker: search the enterprise's people as one types (GET /org/people/search) and tick them.
// Without script the search box submits its own GET form and the server lists the matches as boxes to tick.
(function () {
  "use strict";
  function line(p) {
    var frag = document.createDocumentFragment();
    var strong = document.createElement("strong");
    strong.textContent = p.name;
    var meta = document.createElement("span");
    meta.className = "muted small";
    meta.textContent = p.employee_no + (p.department ? " · " + p.department : "");
    frag.appendChild(strong);
    frag.appendChild(document.createTextNode(" "));
    frag.appendChild(meta);
    return frag;
  }
  document.querySelectorAll("[data-people-picker]").forEach(function (box) {
    var input = box.querySelector("input[type=search]");
    var button = box.querySelector(".picker-bar button");
    var results = box.querySelector(".picker-results");
    var chosen = box.querySelector(".picker-chosen");
    var chosenTitle = box.querySelector(".picker-chosen-title");
    var name = box.getAttribute("data-name");
    var url = box.getAttribute("data-url");
    var timer = null, seq = 0;
    function chosenIds() {
      var ids = {};
      chosen.querySelectorAll("input[type=checkbox]").forEach(function (c) { if (c.checked) { ids[c.value] = true; } });
      return ids;
    }
    function note(text) {
      results.innerHTML = "";
      if (!text) { return; }
      var li = document.createElement("li");
      li.className = "muted small";
      li.textContent = text;
      results.appendChild(li);
    }
    function keepTicked() {
      // A result ticked before a new search moves to the chosen list rather than vanishing.
      results.querySelectorAll("input[type=checkbox]").forEach(function (c) {
        if (c.checked) { chosen.appendChild(c.closest("li")); }
      });
      chosenTitle.hidden = !chosen.querySelector("li");
    }
    function search() {
      var q = input.value.trim();
      keepTicked();
      if (!q) { note(""); return; }
      var mine = ++seq;
      note(box.getAttribute("data-msg-searching"));
      fetch(url + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (data) {
          if (mine !== seq) { return; }
          var have = chosenIds();
          var people = (data.people || []).filter(function (p) { return !have[String(p.id)]; });
          note(people.length ? "" : box.getAttribute("data-msg-none"));
          people.forEach(function (p) {
            var li = document.createElement("li");
            var label = document.createElement("label");
            label.className = "check";
            var cb = document.createElement("input");
            cb.type = "checkbox";
            cb.name = name;
            cb.value = String(p.id);
            label.appendChild(cb);
            label.appendChild(document.createTextNode(" "));
            label.appendChild(line(p));
            li.appendChild(label);
            results.appendChild(li);
          });
        })
        .catch(function () { if (mine === seq) { note(""); } });
    }
    results.addEventListener("change", function (e) {
      if (e.target.type === "checkbox" && e.target.checked) { keepTicked(); }
    });
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter") { e.preventDefault(); clearTimeout(timer); search(); }
    });
    if (button) {
      button.addEventListener("click", function (e) { e.preventDefault(); clearTimeout(timer); search(); });
    }
  });
})();
