// Stock forms: offer only the lots of the chosen product; print buttons.
(function () {
  "use strict";

  function filterLots(productSelect) {
    var row = productSelect.closest("tr") || productSelect.closest("form");
    var lotSelect = row && row.querySelector(".js-lot");
    if (!lotSelect) { return; }
    var productId = productSelect.value;
    Array.prototype.forEach.call(lotSelect.options, function (option) {
      var owner = option.getAttribute("data-product");
      var hidden = owner !== null && owner !== productId;
      option.hidden = hidden;
      option.disabled = hidden;
      if (hidden && option.selected) { lotSelect.value = ""; }
    });
  }

  document.querySelectorAll(".js-product").forEach(function (select) {
    filterLots(select);
    select.addEventListener("change", function () { filterLots(select); });
  });

  document.querySelectorAll(".js-print").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
