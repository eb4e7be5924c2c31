// The connection dialog's script (no inline script anywhere: the CSP allows /static only).
//
// OK: enabled only while the last *Test ERP connection* passed for exactly the connector and
// config values now in the form, and every field marked mandatory is filled. The values are
// serialised when the test is sent; when its answer says it passed, that serialisation is
// "the values tested"; any change makes the current serialisation differ and disables OK.
// (The server checks the same on OK with its signature of the tested values.)
//
// Conditions (field metadata v1.1): a field whose box carries data-visible-when is shown only
// while the input it names holds one of the values; hidden, its inputs are disabled, so they
// are neither sent nor counted as missing (the server drops hidden values all the same).
// data-required-when makes its input mandatory while the condition holds.
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

  function inputValue(name) {
    // The value the condition compares: null when the input is absent, hidden or empty.
    var el = form.elements.namedItem(name);
    if (!el || el.disabled || (el.closest && el.closest("[hidden]"))) {
      return null;
    }
    if (el.type === "checkbox") {
      return el.checked;
    }
    if (el.value === "") {
      return null;
    }
    if (el.type === "number") {
      var number = Number(el.value);
      return isNaN(number) ? null : number;
    }
    return el.value;
  }

  function holds(attribute) {
    var condition;
    try {
      condition = JSON.parse(attribute);
    } catch (error) {
      return true;
    }
    var value = inputValue(condition.input);
    if (value === null) {
      return false;
    }
    for (var i = 0; i < condition.values.length; i++) {
      var wanted = condition.values[i];
      if (typeof wanted === typeof value && wanted === value) {
        return true;
      }
    }
    return false;
  }

  function applyConditions() {
    // Chains (a field shown by a field shown by another) settle in a few passes.
    var boxes = form.querySelectorAll("[data-visible-when], [data-required-when]");
    for (var pass = 0; pass < 5; pass++) {
      var changed = false;
      for (var i = 0; i < boxes.length; i++) {
        var box = boxes[i];
        var visible = box.hasAttribute("data-visible-when") ?
          holds(box.getAttribute("data-visible-when")) : true;
        if (box.hidden === visible) {
          box.hidden = !visible;
          changed = true;
        }
        var inputs = box.querySelectorAll("input, select, textarea");
        for (var j = 0; j < inputs.length; j++) {
          inputs[j].disabled = locked || !visible;
        }
        if (box.hasAttribute("data-required-when") && inputs.length) {
          var input = inputs[0];
          var required = visible && (input.getAttribute("data-declared-mandatory") === "true" ||
            holds(box.getAttribute("data-required-when")));
          var star = box.querySelector(".mandatory");
          if (required) {
            input.setAttribute("data-mandatory", "true");
            input.setAttribute("aria-required", "true");
          } else {
            input.removeAttribute("data-mandatory");
            input.removeAttribute("aria-required");
            input.removeAttribute("required");
          }
          if (star) {
            star.hidden = !required;
          }
        }
      }
      if (!changed) {
        break;
      }
    }
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

  function changed() {
    applyConditions();
    update();
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

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
      applyConditions();
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

  applyConditions();
  update();
})();
