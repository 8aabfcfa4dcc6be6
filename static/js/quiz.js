// Quiz page helpers: a countdown that only displays the server's deadline, and keyboard
// shortcuts. The page works without this script; the server decides timing and scoring.
// htmx-boosted navigation swaps the body without reloading this file, so the countdown is
// (re)started after every swap and the key handler, bound once, looks up the page each time.
(function () {
  "use strict";
  var timer = null;

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function formatSeconds(s) {
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  function startCountdown() {
    window.clearTimeout(timer);
    var countdown = document.getElementById("countdown");
    if (!countdown) return;
    var announcer = document.getElementById("countdown-announcer");
    var value = countdown.querySelector(".countdown-value");
    var endsAt = Date.now() + Number(countdown.dataset.remaining) * 1000;
    var warned = Number(countdown.dataset.remaining) <= 120;
    if (warned) countdown.classList.add("text-danger");
    var tick = function () {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      value.textContent = formatSeconds(left);
      if (left <= 120 && !warned) {
        warned = true;
        countdown.classList.add("text-danger");
        announcer.textContent = "Two minutes left.";
      }
      if (left === 0) {
        announcer.textContent = "Time is up.";
        // A choice made on this page but not saved counts, as on the exam: send it now,
        // inside the server's grace period (the server still refuses it after that).
        var form = document.getElementById("answer-form");
        var chosen = form && form.querySelector("input[name=letter]:checked");
        var sure = form && form.querySelector("input[name=confidence]:checked");
        if (chosen && (!chosen.defaultChecked || (sure && !sure.defaultChecked))) {
          var go = document.createElement("input");
          go.type = "hidden";
          go.name = "go";
          go.value = "stay";
          form.appendChild(go);
          form.submit();
          return;
        }
        // Reload once the server's grace period is over: it then finishes the attempt as
        // of the deadline and shows the results.
        var grace = Number(countdown.dataset.grace || 0) + 1;
        timer = window.setTimeout(function () { window.location.reload(); }, grace * 1000);
        return;
      }
      timer = window.setTimeout(tick, 1000);
    };
    tick();
  }

  function onKey(event) {
    var quiz = document.getElementById("quiz");
    if (!quiz || quiz.dataset.shortcuts === "off") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && ((target.tagName === "INPUT" && target.type !== "radio") || target.tagName === "TEXTAREA")) return;
    var key = event.key.toUpperCase();
    if (key.length !== 1) return;
    var letters = "ABCDE";
    var index = "12345".indexOf(key) >= 0 ? "12345".indexOf(key) : letters.indexOf(key);
    if (index >= 0) {
      var radio = document.getElementById("choice-" + letters[index]);
      if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
      return;
    }
    var confidence = { S: "sure", U: "unsure", G: "guess" }[key];
    var pick = confidence && document.getElementById("confidence-" + confidence);
    if (pick) { pick.checked = true; event.preventDefault(); return; }
    var selector = { N: "[data-nav=next]", P: "[data-nav=previous]", F: "#flag-button" }[key];
    var element = selector && document.querySelector(selector);
    if (element) { element.click(); event.preventDefault(); }
  }

  // Flagging posts its own form and the page comes back from the server, which knows only
  // saved answers: carry a choice (and a confidence) made but not yet saved across, still
  // unsaved. Kept in
  // sessionStorage because the flag may be sent by htmx or, before htmx has taken over the
  // new page, as a plain form that reloads it.
  var PENDING = "quiz-pending-choice";

  function rememberChoice(event) {
    var form = event.target;
    if (!form.querySelector || !form.querySelector("#flag-button")) return;
    var checked = document.querySelector("#answer-form input[name=letter]:checked");
    var sure = document.querySelector("#answer-form input[name=confidence]:checked");
    try {
      window.sessionStorage.removeItem(PENDING);
      if (checked || sure) {
        var action = form.action.replace(/flag\/$/, "answer/");
        window.sessionStorage.setItem(PENDING, JSON.stringify({
          action: action, letter: checked ? checked.value : null,
          confidence: sure ? sure.value : null,
          focused: !!checked && document.activeElement === checked
        }));
      }
    } catch (e) { /* storage unavailable: the choice is lost, as without JavaScript */ }
  }

  function restoreChoice() {
    var pending = null, form = document.getElementById("answer-form");
    try {
      pending = JSON.parse(window.sessionStorage.getItem(PENDING) || "null");
      window.sessionStorage.removeItem(PENDING);
    } catch (e) { return; }
    if (!pending || !form || form.action !== pending.action) return;
    var level = pending.confidence && document.getElementById("confidence-" + pending.confidence);
    if (level) level.checked = true;
    var radio = pending.letter && document.getElementById("choice-" + pending.letter);
    if (!radio) return;
    radio.checked = true;
    if (pending.focused) radio.focus();  // a keyboard user carries on where they were
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("submit", rememberChoice, true);
  document.addEventListener("DOMContentLoaded", restoreChoice);
  document.addEventListener("DOMContentLoaded", startCountdown);
  document.addEventListener("htmx:afterSwap", restoreChoice);  // in the same task as the swap
  document.addEventListener("htmx:afterSettle", startCountdown);
})();
