// The menu's groups are <details>: they open and close without this script. It only keeps one open at a time
// and closes it on Escape or a click elsewhere.
(function () {
  "use strict";
  var groups = Array.prototype.slice.call(document.querySelectorAll("nav.mainnav details.navgroup"));
  if (!groups.length) { return; }
  groups.forEach(function (group) {
    group.addEventListener("toggle", function () {
      if (!group.open) { return; }
      groups.forEach(function (other) { if (other !== group) { other.open = false; } });
    });
  });
  document.addEventListener("click", function (event) {
    groups.forEach(function (group) { if (group.open && !group.contains(event.target)) { group.open = false; } });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    groups.forEach(function (group) {
      if (group.open) { group.open = false; group.querySelector("summary").focus(); }
    });
  });
})();
