// Keyboard shortcuts for the label form (no framework, no build step).
// h/i/c choose the level, 0-9 toggle a label in it, y/n answer the dealer
// question, Enter submits, s skips, f focuses the flag note.
(function () {
  "use strict";
  var form = document.querySelector("form[data-labelform]");
  if (!form) return;
  var levels = Array.prototype.slice.call(form.querySelectorAll("fieldset[data-level]"));
  var active = null;
  var LEVEL_BY_KEY = { h: "hashtag", i: "image", c: "comment" };

  function fieldset(level) { return form.querySelector('fieldset[data-level="' + level + '"]'); }
  function setActive(level) {
    active = level;
    levels.forEach(function (f) { f.classList.toggle("active", f.dataset.level === level); });
    var shown = document.getElementById("active-level");
    if (shown) shown.textContent = level || "";
  }
  // non_drug is exclusive: checking it clears the drugs of its level, and back.
  form.addEventListener("change", function (e) {
    var box = e.target;
    if (box.type !== "checkbox" || !box.checked) return;
    var set = box.closest("fieldset");
    set.querySelectorAll('input[type="checkbox"]').forEach(function (other) {
      if (other !== box && (box.value === "non_drug" || other.value === "non_drug")) other.checked = false;
    });
  });
  function toggle(box) {
    box.checked = !box.checked;
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }
  if (levels.length) setActive(levels[0].dataset.level);

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && (t.type === "text" || t.type === "password" || t.type === "number")))) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    if (LEVEL_BY_KEY[k]) {
      if (fieldset(LEVEL_BY_KEY[k])) { setActive(LEVEL_BY_KEY[k]); e.preventDefault(); }
      return;
    }
    if (/^[0-9]$/.test(k) && active) {
      var box = fieldset(active).querySelector('input[data-key="' + k + '"]');
      if (box) { toggle(box); e.preventDefault(); }
      return;
    }
    if (k === "y" || k === "n") {
      var radio = document.getElementById(k === "y" ? "selling-yes" : "selling-no");
      if (radio) { radio.checked = true; e.preventDefault(); }
      return;
    }
    if (k === "Enter") { e.preventDefault(); form.requestSubmit(); return; }
    if (k === "s") {
      var skip = document.getElementById("skip-form");
      if (skip) { e.preventDefault(); skip.requestSubmit(); }
      return;
    }
    if (k === "f") {
      var note = document.getElementById("flag-note");
      if (note) { e.preventDefault(); note.focus(); }
    }
  });
})();
