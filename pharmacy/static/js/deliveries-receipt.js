// Receipt page: each line's difference fields open only when "有差异" is ticked; without this script they stay open.
(function () {
  "use strict";
  document.body.classList.add("js");
  document.querySelectorAll(".receipt-line").forEach(function (line) {
    var toggle = line.querySelector(".diff-toggle");
    if (!toggle) { return; }
    var sync = function () {
      line.classList.toggle("open", toggle.checked);
      if (toggle.checked) {
        var first = line.querySelector(".diff-fields input");
        if (first) { first.focus(); first.select(); }
      }
    };
    toggle.addEventListener("change", sync);
    line.classList.toggle("open", toggle.checked);
  });
})();
