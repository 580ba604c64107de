// The township's free-text queue: each registration's form resolves it with the button pressed. Enter in the
// search field picks from its list (product_search.js) but must never submit the form through the first proposal.
(function () {
  "use strict";

  document.querySelectorAll(".resolve-form input[data-product-search]").forEach(function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); }
    });
  });
  document.querySelectorAll(".resolve-form").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var pressed = event.submitter;
      var searched = form.querySelector("input[name=searched_product_id]");
      if (pressed && !pressed.name && searched && !searched.value) {
        event.preventDefault();
        form.querySelector("input[data-product-search]").focus();
      }
    });
  });
})();
