// Show only the parts of a form that belong to the chosen values: an element with data-when="kind:hours,course"
// is shown while the select named "kind" holds hours or course. Without script every part shows (the server
// ignores the parts of other kinds).
(function () {
  "use strict";
  document.querySelectorAll("form[data-kind-fields]").forEach(function (form) {
    var parts = form.querySelectorAll("[data-when]");
    function apply() {
      parts.forEach(function (el) {
        var rule = el.getAttribute("data-when").split(":");
        var input = form.querySelector("[name=" + rule[0] + "]");
        if (!input) { return; }
        el.hidden = rule[1].split(",").indexOf(input.value) < 0;
      });
    }
    form.addEventListener("change", function (e) {
      if (e.target.matches && e.target.matches("select")) { apply(); }
    });
    apply();
  });
})();
