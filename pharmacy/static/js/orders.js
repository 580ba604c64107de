// Order builder: find a product by name, pinyin initials or code and pick it for the "add" form.
// The search URL comes from data-search-url, so the endpoint can change without touching this file.
(function () {
  "use strict";

  function items(data) {
    if (Array.isArray(data)) return data;
    return data.items || data.results || [];
  }

  function label(p) {
    var name = p.generic_name || p.name || p.display_name || "";
    return name + " " + (p.dosage_form || "") + " " + (p.strength || "");
  }

  function setup(form) {
    var url = form.getAttribute("data-search-url");
    var tier = form.getAttribute("data-tier") || "township";
    // Tier ranks come from the server's vocabulary (village 0 < township 1 < county 2).
    var TIER_RANK = JSON.parse(form.getAttribute("data-tier-ranks") || "{}");
    var input = form.querySelector(".product-search");
    var list = form.querySelector(".search-results");
    var hidden = form.querySelector("input[name=product_id]");
    var picked = form.querySelector(".picked");
    var timer = null, seq = 0, active = -1;
    var addButton = form.querySelector("button.add-line-submit");
    var qtyInput = form.querySelector("input[name=qty_packs]");
    if (addButton && qtyInput) {
      qtyInput.addEventListener("keydown", function (e) {
        if (e.key === "Enter") { e.preventDefault(); addButton.click(); }
      });
    }

    function close() { list.hidden = true; list.innerHTML = ""; active = -1; }

    function choose(p) {
      hidden.value = p.id;
      var pack = (p.pack_size || "") + (p.base_unit || "") + "/" + (p.pack_unit || "");
      picked.textContent = label(p) + " · " + (p.code || "") + " · " + pack;
      picked.classList.add("chosen");
      input.value = label(p).trim();
      close();
      var qty = form.querySelector("input[name=qty_packs]");
      if (qty) { qty.focus(); qty.select(); }
    }

    function render(products) {
      list.innerHTML = "";
      active = -1;
      products.slice(0, 20).forEach(function (p) {
        var li = document.createElement("li");
        li.setAttribute("role", "option");
        var allowed = TIER_RANK[p.lowest_tier || "village"] <= TIER_RANK[tier];
        var vbp = p.is_vbp ? " · " + (form.getAttribute("data-vbp-label") || "") : "";
        li.textContent = label(p) + " · " + (p.code || "") + vbp;
        if (p.is_other_edition) {
          var badge = document.createElement("span");
          badge.className = "badge badge-other-edition";
          badge.textContent = (form.getAttribute("data-other-edition-label") || "") + " " + p.edition;
          li.appendChild(badge);
        }
        if (!allowed) {
          li.classList.add("disabled");
          li.title = form.getAttribute("data-tier-message") || "";
        } else {
          li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(p); });
          li._product = p;
        }
        list.appendChild(li);
      });
      list.hidden = products.length === 0;
    }

    function search() {
      var q = input.value.trim();
      hidden.value = "";
      picked.textContent = picked.getAttribute("data-empty");
      picked.classList.remove("chosen");
      if (q.length < 1) { close(); return; }
      var mine = ++seq;
      var sep = url.indexOf("?") >= 0 ? "&" : "?";
      var target = url + sep + "q=" + encodeURIComponent(q) + "&limit=20";
      fetch(target, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; })
        .then(function (data) { if (mine === seq) render(items(data)); })
        .catch(function () { if (mine === seq) close(); });
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(search, 200);
    });
    input.addEventListener("keydown", function (e) {
      var options = Array.prototype.filter.call(list.children, function (li) {
        return li._product;
      });
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        if (!options.length) return;
        e.preventDefault();
        active = (active + (e.key === "ArrowDown" ? 1 : options.length - 1)) % options.length;
        options.forEach(function (li, i) { li.classList.toggle("active", i === active); });
      } else if (e.key === "Enter") {
        if (!list.hidden && options.length) {
          e.preventDefault();
          choose(options[Math.max(active, 0)]._product);
        } else if (!hidden.value) {
          e.preventDefault();
        } else if (addButton) {
          // The add fields belong to the lines form (so the typed quantities go along): Enter adds, not saves.
          e.preventDefault();
          addButton.click();
        }
      } else if (e.key === "Escape") {
        close();
      }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  }

  document.querySelectorAll("[data-product-search]").forEach(setup);
})();
