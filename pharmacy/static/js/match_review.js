/*
 * Review queue keyboard and in-place decisions (templates/matching/review.html).
 * J/K or ↓/↑ move between rows, 1–5 confirm that candidate, N marks "not in the formulary", / searches for
 * another product. Decisions post the row's form in the background and move on to the next row; without
 * JavaScript the same forms post and come back to the page.
 */
(function () {
  "use strict";

  var table = document.getElementById("review-table");
  if (!table) {
    return;
  }
  var rows = Array.prototype.slice.call(table.querySelectorAll("tr.review-row"));

  function current() {
    var row = document.activeElement && document.activeElement.closest("tr.review-row");
    return row || null;
  }

  function focusRow(row) {
    if (row) {
      row.focus();
      row.scrollIntoView({block: "nearest"});
    }
  }

  function nextOpen(from, step) {
    var index = rows.indexOf(from);
    for (var i = index + step; i >= 0 && i < rows.length; i += step) {
      if (!rows[i].classList.contains("decided")) {
        return rows[i];
      }
    }
    return null;
  }

  function csrfToken() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.getAttribute("content") : "";
  }

  function decide(form) {
    var row = form.closest("tr.review-row");
    var result = row.querySelector(".row-result");
    var picked = form.querySelector("input[name=product_id]");
    if (picked && !picked.value) {
      result.textContent = form.getAttribute("data-pick-first") || "请先选择一个产品";
      result.className = "row-result field-error";
      var search = form.querySelector("input[data-product-search]");
      if (search) {
        search.focus();
      }
      return;
    }
    row.classList.add("busy");
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: {"Accept": "application/json", "X-CSRFToken": csrfToken()}
    }).then(function (response) {
      return response.json().then(function (body) {
        return {ok: response.ok, body: body};
      });
    }).then(function (answer) {
      row.classList.remove("busy");
      if (!answer.ok) {
        result.textContent = (answer.body.error && answer.body.error.message) || "error";
        result.className = "row-result field-error";
        return;
      }
      row.classList.add("decided");
      result.textContent = "✓ " + answer.body.status_label + (answer.body.product ? "：" + answer.body.product : "");
      result.className = "row-result decided-result";
      row.querySelectorAll("button, input").forEach(function (control) {
        control.disabled = true;
      });
      focusRow(nextOpen(row, 1) || nextOpen(row, -1));
    }).catch(function () {
      row.classList.remove("busy");
      form.submit();
    });
  }

  table.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-decision]");
    if (form) {
      event.preventDefault();
      decide(form);
    }
  });

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var typing = target.matches("input, textarea, select");
    if (typing) {
      if (event.key === "Escape") {
        focusRow(target.closest("tr.review-row"));
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    var row = current();
    var key = event.key;
    if (key === "j" || key === "ArrowDown") {
      event.preventDefault();
      focusRow(row ? nextOpen(row, 1) || row : rows[0]);
    } else if (key === "k" || key === "ArrowUp") {
      event.preventDefault();
      focusRow(row ? nextOpen(row, -1) || row : rows[0]);
    } else if (row && /^[1-5]$/.test(key)) {
      var button = row.querySelector("button.candidate[data-key='" + key + "']");
      if (button && !button.disabled) {
        event.preventDefault();
        decide(button.form);
      }
    } else if (row && (key === "n" || key === "N")) {
      var reject = row.querySelector("form[data-reject]");
      if (reject) {
        event.preventDefault();
        decide(reject);
      }
    } else if (row && (key === "/" || key === "s")) {
      var search = row.querySelector("input[data-product-search]");
      if (search) {
        event.preventDefault();
        search.focus();
      }
    }
  });

  focusRow(rows[0]);
})();
