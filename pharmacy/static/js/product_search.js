/*
 * Product search-as-you-type, for any page that picks a formulary product (shortage, order, review forms).
 * Include css/product_search.css with it.
 *
 *   <div class="product-search">
 *     <input type="search" data-product-search data-target="product-id" data-facility="12"
 *            data-endpoint="/api/v1/catalog/search" autocomplete="off">
 *   </div>
 *   <input type="hidden" name="product_id" id="product-id">
 *
 * Typing queries GET /api/v1/catalog/search?q=…&facility=…&limit=… (debounced); ↑/↓ move, Enter or a tap picks,
 * Esc closes. Picking fills the hidden input and fires a bubbling "product-selected" event with the product in
 * event.detail. Editing the text again clears the hidden input. Pages that add inputs later call
 * ProductSearch.init(container).
 */
(function () {
  "use strict";

  var DEBOUNCE_MS = 160;
  var counter = 0;

  function label(item) {
    return item.generic_name + " " + item.dosage_form + " " + item.strength;
  }

  function attach(input) {
    if (input.getAttribute("data-product-search-ready")) {
      return;
    }
    input.setAttribute("data-product-search-ready", "1");
    var hidden = document.getElementById(input.getAttribute("data-target"));
    var endpoint = input.getAttribute("data-endpoint") || "/api/v1/catalog/search";
    var limit = input.getAttribute("data-limit") || "10";
    var list = document.createElement("ul");
    counter += 1;
    list.id = (input.id || "product-search-" + counter) + "-list";
    list.className = "product-search-list";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);
    input.insertAdjacentElement("afterend", list);

    var items = [];
    var active = -1;
    var timer = null;
    var sequence = 0;

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("li[role=option]");
      if (!options.length) {
        return;
      }
      active = (index + options.length) % options.length;
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === active ? "true" : "false");
      });
      input.setAttribute("aria-activedescendant", options[active].id);
      options[active].scrollIntoView({block: "nearest"});
    }

    function choose(index) {
      var item = items[index];
      if (!item) {
        return;
      }
      if (hidden) {
        hidden.value = item.product_id;
      }
      input.value = label(item);
      close();
      input.dispatchEvent(new CustomEvent("product-selected", {bubbles: true, detail: item}));
    }

    function render(results) {
      items = results || [];
      list.textContent = "";
      active = -1;
      if (!items.length) {
        var empty = document.createElement("li");
        empty.className = "product-search-empty";
        empty.textContent = input.getAttribute("data-empty-label") || "—";
        list.appendChild(empty);
      }
      items.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = list.id + "-" + i;
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        var name = document.createElement("span");
        name.className = "product-search-name";
        name.textContent = item.generic_name;
        var detail = document.createElement("span");
        detail.className = "product-search-detail";
        detail.textContent = item.dosage_form + " " + item.strength + " · " + item.pack_label + " · " + item.code;
        option.appendChild(name);
        option.appendChild(detail);
        option.addEventListener("click", function () {
          choose(i);
        });
        list.appendChild(option);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      if (items.length) {
        highlight(0);
      }
    }

    function search() {
      var q = input.value.trim();
      if (!q) {
        close();
        return;
      }
      sequence += 1;
      var mine = sequence;
      var url = endpoint + "?q=" + encodeURIComponent(q) + "&limit=" + encodeURIComponent(limit);
      var facility = input.getAttribute("data-facility");
      if (facility) {
        url += "&facility=" + encodeURIComponent(facility);
      }
      fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
        .then(function (response) {
          return response.ok ? response.json() : [];
        })
        .then(function (results) {
          if (mine === sequence) {
            render(results);
          }
        })
        .catch(close);
    }

    input.addEventListener("input", function () {
      if (hidden) {
        hidden.value = "";
      }
      clearTimeout(timer);
      timer = setTimeout(search, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", function (event) {
      if (list.hidden) {
        if (event.key === "ArrowDown" && input.value.trim()) {
          event.preventDefault();
          search();
        }
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active - 1);
      } else if (event.key === "Enter") {
        if (active >= 0 && items.length) {
          event.preventDefault();
          choose(active);
        }
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });
    // Keep the focus in the input while a list item is tapped or clicked.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    input.addEventListener("blur", function () {
      setTimeout(close, 200);
    });
  }

  function init(root) {
    (root || document).querySelectorAll("input[data-product-search]").forEach(attach);
  }

  window.ProductSearch = {attach: attach, init: init};
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      init();
    });
  } else {
    init();
  }
})();
