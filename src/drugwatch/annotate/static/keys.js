// Keyboard shortcuts for the label form (no framework, no build step).
// h/i/c choose the level, 0-9 toggle a label in it, y/n answer the dealer
// question, x: nothing here (non_drug everywhere, dealer no), =: copy the
// active level to the others, a: accept the model's suggestions, Enter
// submits, d saves a draft, s skips, u undoes, f focuses the flag note,
// [ and ] go to the previous and next item, g opens the guidelines,
// b unblurs the images, z zooms them.
// Slang review: [ and ] choose the term, 1-9 its label (the label form's
// digits), m marks it ambiguous, a or Enter accepts it, x rejects it.
(function () {
  "use strict";
  var form = document.querySelector("form[data-labelform]");
  var LEVEL_BY_KEY = { h: "hashtag", i: "image", c: "comment" };
  var active = null;

  function boxes(level) {
    if (!form) return [];
    var sel = 'input[type="checkbox"]' + (level ? '[data-level="' + level + '"]' : "");
    return Array.prototype.slice.call(form.querySelectorAll(sel));
  }
  function levels() {
    if (!form) return [];
    return Array.prototype.map.call(form.querySelectorAll("th.level[data-level]"), function (th) { return th.dataset.level; });
  }
  function setActive(level) {
    active = level;
    if (!form) return;
    form.querySelectorAll("[data-level]").forEach(function (el) {
      if (el.tagName === "TH" || el.tagName === "TD") el.classList.toggle("active", el.dataset.level === level);
    });
    var shown = document.getElementById("active-level");
    var head = document.getElementById("level-" + level);
    if (shown) shown.textContent = head ? head.textContent.replace(/^\s*\S+\s*/, "") : level || "";
  }
  function set(box, checked) { box.checked = checked; }
  // non_drug is exclusive: checking it clears the drugs of its level, and back.
  function exclusive(box) {
    if (!box.checked) return;
    boxes(box.dataset.level).forEach(function (other) {
      if (other !== box && (box.value === "non_drug" || other.value === "non_drug")) other.checked = false;
    });
  }
  function dealer(answer) {
    var radio = document.getElementById(answer ? "selling-yes" : "selling-no");
    if (radio) radio.checked = true;
  }
  function nothingHere() {
    levels().forEach(function (level) {
      boxes(level).forEach(function (b) { set(b, b.value === "non_drug"); });
    });
    dealer(false);
  }
  function copyActive() {
    if (!active) return;
    var chosen = {};
    boxes(active).forEach(function (b) { chosen[b.value] = b.checked; });
    levels().forEach(function (level) {
      if (level !== active) boxes(level).forEach(function (b) { set(b, !!chosen[b.value]); });
    });
  }
  function acceptSuggestions() {
    if (!form || !form.querySelector("[data-suggested]")) return;
    levels().forEach(function (level) {
      var suggested = boxes(level).filter(function (b) { return b.dataset.suggested === "1"; });
      if (suggested.length) boxes(level).forEach(function (b) { set(b, b.dataset.suggested === "1"); });
    });
    var radio = form.querySelector('input[type="radio"][data-suggested]');
    if (radio) radio.checked = true;
  }
  function submitForm(id) {
    var f = document.getElementById(id);
    if (f) f.requestSubmit();
    return !!f;
  }
  function follow(id) {
    var link = document.getElementById(id);
    if (link) window.location.href = link.href;
    return !!link;
  }

  if (form) {
    form.addEventListener("change", function (e) { if (e.target.type === "checkbox") exclusive(e.target); });
    form.addEventListener("click", function (e) {
      var head = e.target.closest("th.level");
      if (head) { setActive(head.dataset.level); return; }
      var cell = e.target.closest("td[data-level]");
      if (cell) setActive(cell.dataset.level);
      var action = e.target.closest("button[data-action]");
      if (!action) return;
      if (action.dataset.action === "none") nothingHere();
      else if (action.dataset.action === "copy") copyActive();
      else if (action.dataset.action === "accept") acceptSuggestions();
    });
    var first = levels();
    if (first.length) setActive(first[0]);
  }
  // Adjudication: "Accept <annotator>" copies that annotator's answer into the form.
  document.querySelectorAll("button.accept-answer[data-answer]").forEach(function (button) {
    button.addEventListener("click", function () {
      var answer = JSON.parse(button.dataset.answer);
      levels().forEach(function (level) {
        var chosen = answer[level] || [];
        boxes(level).forEach(function (b) { set(b, chosen.indexOf(b.value) >= 0); });
      });
      if (answer.dealer === true || answer.dealer === false) dealer(answer.dealer);
    });
  });
  document.querySelectorAll("img[data-zoom]").forEach(function (img) {
    img.addEventListener("click", function () { img.classList.toggle("zoomed"); });
  });

  // Slang review: one term card is active at a time.
  var cards = Array.prototype.slice.call(document.querySelectorAll("form.slang-card"));
  var card = null;
  function setCard(next) {
    if (!next) return false;
    if (card) card.classList.remove("active");
    card = next;
    card.classList.add("active");
    card.scrollIntoView({ block: "nearest" });
    return true;
  }
  function slangKey(k) {
    if (!card) return false;
    var i = cards.indexOf(card);
    if (k === "[") return setCard(cards[i - 1]);
    if (k === "]") return setCard(cards[i + 1]);
    if (/^[1-9]$/.test(k)) {
      var option = card.querySelector('select[name="label"] option[data-key="' + k + '"]');
      if (option) option.selected = true;
      return !!option;
    }
    if (k === "m") { var amb = card.querySelector('input[name="ambiguous"]'); if (amb) amb.checked = !amb.checked; return !!amb; }
    if (k === "a" || k === "Enter") { card.requestSubmit(card.querySelector('[data-slang-action="accept"]')); return true; }
    if (k === "x") { card.requestSubmit(card.querySelector('[data-slang-action="reject"]')); return true; }
    return false;
  }
  cards.forEach(function (c) { c.addEventListener("click", function () { setCard(c); }); });
  if (cards.length) setCard(cards[0]);

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var t = e.target;
    if (t && (t.tagName === "TEXTAREA" || t.tagName === "SELECT" || (t.tagName === "INPUT" && t.type !== "checkbox" && t.type !== "radio"))) {
      if (e.key === "Escape") t.blur();
      return;
    }
    var k = e.key.length === 1 ? e.key.toLowerCase() : e.key;
    // Enter on a focused button presses that button (Reject stays Reject).
    if (!(k === "Enter" && t && t.tagName === "BUTTON") && slangKey(k)) { e.preventDefault(); return; }
    var handled = true;
    if (k === "[") handled = follow("previous-link");
    else if (k === "]") handled = follow("next-link");
    else if (k === "g") { var g = document.getElementById("guide-panel"); if (g) g.open = !g.open; else handled = false; }
    else if (k === "b") { document.querySelectorAll(".images").forEach(function (d) { d.classList.toggle("blurred"); }); }
    else if (k === "z") { document.querySelectorAll("img[data-zoom]").forEach(function (img) { img.classList.toggle("zoomed"); }); }
    else if (k === "u") handled = submitForm("undo-last") || (!!document.getElementById("undo-button") && submitForm("undo-form"));
    else if (!form) handled = false;
    else if (LEVEL_BY_KEY[k]) { if (levels().indexOf(LEVEL_BY_KEY[k]) >= 0) setActive(LEVEL_BY_KEY[k]); else handled = false; }
    else if (/^[0-9]$/.test(k)) {
      var box = active && form.querySelector('input[data-level="' + active + '"][data-key="' + k + '"]');
      if (box) { box.checked = !box.checked; exclusive(box); } else handled = false;
    }
    else if (k === "y" || k === "n") dealer(k === "y");
    else if (k === "x") nothingHere();
    else if (k === "=") copyActive();
    else if (k === "a") acceptSuggestions();
    else if (k === "Enter") form.requestSubmit(document.getElementById("submit-labels"));
    else if (k === "d") { var draft = document.getElementById("save-draft"); if (draft) form.requestSubmit(draft); else handled = false; }
    else if (k === "s") handled = submitForm("skip-form");
    else if (k === "f") { var note = document.getElementById("flag-note"); if (note) note.focus(); else handled = false; }
    else handled = false;
    if (handled) e.preventDefault();
  });
})();
