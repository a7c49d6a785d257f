// Assigning a hazard: the responsible-person list shows the people of the chosen department (and its
// sub-departments) only. Without script every person stays listed; the server checks the choice either way.
(function () {
  "use strict";
  document.querySelectorAll("select[data-dept-filter]").forEach(function (people) {
    var dept = document.getElementById(people.getAttribute("data-dept-filter"));
    if (!dept) { return; }
    function apply() {
      var chosen = dept.selectedOptions[0];
      var path = chosen ? chosen.getAttribute("data-path") : "";
      people.querySelectorAll("option[data-path]").forEach(function (o) {
        var p = o.getAttribute("data-path");
        var show = !path || p === path || p.indexOf(path + "/") === 0;
        o.hidden = !show;
        o.disabled = !show;
      });
      var current = people.selectedOptions[0];
      if (current && current.disabled) { people.value = ""; }
    }
    dept.addEventListener("change", apply);
    apply();
  });
})();
