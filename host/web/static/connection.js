// The connection dialog's script (no inline script anywhere: the CSP allows /static only).
//
// OK: enabled only while the last *Test ERP connection* passed for exactly the connector and
// config values now in the form, and every field marked mandatory is filled. The values are
// serialised when the test is sent; when its answer says it passed, that serialisation is
// "the values tested"; any change makes the current serialisation differ and disables OK.
// (The server checks the same on OK with its signature of the tested values.)
//
// Scope: the scope dialog (a native <dialog>: Escape closes it, focus stays inside) searches
// users and groups with htmx; ticking one adds it to the form's picked list (hidden inputs
// named user / group), built with DOM calls only (names are text, never markup).
(function () {
  "use strict";
  var form = document.getElementById("connection-form");
  if (!form) {
    return;
  }
  var ok = document.getElementById("ok-button");
  var hint = document.getElementById("ok-hint");
  var locked = form.getAttribute("data-config-locked") === "true";
  var testedValues = null;
  var sentValues = null;

  function configValues() {
    var parts = [];
    var elements = form.elements;
    for (var i = 0; i < elements.length; i++) {
      var el = elements[i];
      if (!el.name || el.disabled) {
        continue;
      }
      if (el.name === "connector" || el.name.indexOf("cfg.") === 0) {
        parts.push([el.name, el.type === "checkbox" ? String(el.checked) : el.value]);
      }
    }
    return JSON.stringify(parts);
  }

  function missingMandatory() {
    var fields = form.querySelectorAll("[data-mandatory]");
    var missing = [];
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i];
      if (el.disabled || el.type === "checkbox") {
        continue;
      }
      if (!el.value.trim() && el.getAttribute("data-stored") !== "true") {
        var label = form.querySelector('label[for="' + el.id + '"]');
        missing.push(label ? label.textContent.replace("*", "").trim() : el.name);
      }
    }
    return missing;
  }

  function update() {
    var missing = missingMandatory();
    var reason = "";
    if (missing.length) {
      reason = "Fill in: " + missing.join(", ") + ".";
    }
    if (!locked) {
      if (testedValues === null) {
        reason = (reason ? reason + " " : "") + "Test the ERP connection to enable OK.";
      } else if (testedValues !== configValues()) {
        reason = (reason ? reason + " " : "") +
          "A value changed since the test: test again to enable OK.";
      }
    }
    ok.disabled = reason !== "";
    if (hint) {
      hint.textContent = reason || "The test passed for these values: OK saves them.";
    }
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);

  document.body.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.id === "test-button") {
      sentValues = configValues();
      testedValues = null;
      update();
    }
  });

  document.body.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.target;
    if (!target) {
      return;
    }
    if (target.id === "test-result") {
      var outcome = document.getElementById("test-outcome");
      var passed = outcome && outcome.getAttribute("data-passed") === "true";
      if (sentValues !== null) {
        testedValues = passed ? sentValues : null;
        sentValues = null;
      }
      update();
    } else if (target.id === "config-fields") {
      testedValues = null;
      document.getElementById("test-result").textContent = "";
      document.getElementById("tested-token").value = "";
      update();
    }
  });

  // --- the scope dialog ----------------------------------------------------------------
  var dialog = document.getElementById("scope-dialog");
  var opener = document.getElementById("scope-open");
  var list = document.getElementById("scope-picked-list");
  var search = document.getElementById("scope-search");
  var restricted = document.getElementById("scope-restricted");

  function picked(kind, name) {
    var items = list.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      if (items[i].getAttribute("data-kind") === kind &&
          items[i].getAttribute("data-name") === name) {
        return items[i];
      }
    }
    return null;
  }

  function pick(kind, name) {
    if (picked(kind, name)) {
      return;
    }
    var item = document.createElement("li");
    item.setAttribute("data-kind", kind);
    item.setAttribute("data-name", name);
    var text = document.createElement("span");
    text.textContent = kind + " " + name;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = kind;
    input.value = name;
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link unpick";
    remove.setAttribute("aria-label", "Remove " + kind + " " + name + " from the scope");
    remove.textContent = "\u00d7";
    item.appendChild(text);
    item.appendChild(input);
    item.appendChild(remove);
    list.appendChild(item);
    restricted.checked = true;
  }

  function unpick(kind, name) {
    var item = picked(kind, name);
    if (item) {
      item.parentNode.removeChild(item);
    }
  }

  list.addEventListener("click", function (event) {
    var button = event.target.closest("button.unpick");
    if (button) {
      var item = button.closest("li");
      unpick(item.getAttribute("data-kind"), item.getAttribute("data-name"));
      opener.focus();
    }
  });

  opener.addEventListener("click", function () {
    dialog.showModal();
    search.focus();
    htmx.trigger(search, "scope-refresh");
  });

  dialog.addEventListener("change", function (event) {
    var box = event.target;
    if (box.classList && box.classList.contains("scope-pick")) {
      var kind = box.getAttribute("data-kind");
      if (box.checked) {
        pick(kind, box.value);
      } else {
        unpick(kind, box.value);
      }
    }
  });

  document.getElementById("scope-done").addEventListener("click", function () {
    dialog.close();
  });
  dialog.addEventListener("close", function () {
    opener.focus();
  });

  update();
})();
