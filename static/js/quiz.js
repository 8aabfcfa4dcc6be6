// Quiz page helpers. The page works without this script and the server decides timing,
// scoring and what is saved; this only displays the server's clocks, opens the navigator
// over the page on phones, reads a text selection for the highlighter, and adds keys.
// htmx-boosted navigation swaps the body without reloading this file, so the clocks are
// (re)started after every swap and the handlers, bound once, look the page up each time.
(function () {
  "use strict";
  var timers = [];

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function formatSeconds(s) {
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  function stopClocks() {
    timers.forEach(function (t) { window.clearTimeout(t); });
    timers = [];
  }

  function later(fn, ms) {
    timers.push(window.setTimeout(fn, ms));
  }

  function sendUnsavedChoice() {
    // Choices are saved as they are picked; one whose save has not come back yet is sent
    // now, inside the server's grace period (the server still refuses it after that).
    var form = document.getElementById("answer-form");
    var chosen = document.querySelector("input[name=letter][form=answer-form]:checked");
    if (!form || !chosen || chosen.value === form.dataset.saved) return false;
    var go = document.createElement("input");
    go.type = "hidden";
    go.name = "go";
    go.value = "stay";
    form.appendChild(go);
    form.submit();
    return true;
  }

  function startCountdown() {
    var countdown = document.getElementById("countdown");
    if (!countdown) return;
    var announcer = document.getElementById("countdown-announcer");
    var value = countdown.querySelector(".countdown-value");
    var shown = countdown.querySelector(".countdown-shown");
    var hidden = countdown.querySelector(".countdown-hidden");
    var shownFrom = countdown.dataset.shownFrom ? Number(countdown.dataset.shownFrom) : null;
    var remaining = Number(countdown.dataset.remaining);
    if (countdown.dataset.paused) return;  // the server's clock is stopped: so is this one
    var endsAt = Date.now() + remaining * 1000;
    var warned = remaining <= 120;
    if (warned) countdown.classList.add("text-danger");
    var tick = function () {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      value.textContent = formatSeconds(left);
      if (shownFrom !== null && left <= shownFrom && hidden && !hidden.classList.contains("d-none")) {
        hidden.classList.add("d-none");
        shown.classList.remove("d-none");
        announcer.textContent = "Five minutes left.";
      }
      if (left <= 120 && !warned) {
        warned = true;
        countdown.classList.add("text-danger");
        announcer.textContent = "Two minutes left.";
      }
      if (left === 0) {
        announcer.textContent = "Time is up.";
        if (sendUnsavedChoice()) return;
        // Reload once the server's grace period is over: it then finishes the attempt as
        // of the deadline and shows the results.
        var grace = Number(countdown.dataset.grace || 0) + 1;
        later(function () { window.location.reload(); }, grace * 1000);
        return;
      }
      later(tick, 1000);
    };
    tick();
  }

  function startQuestionTimer() {
    var timer = document.getElementById("question-timer");
    if (!timer) return;
    var value = timer.querySelector(".timer-value");
    var startedAt = Date.now() - Number(timer.dataset.seconds) * 1000;
    var tick = function () {
      value.textContent = formatSeconds(Math.floor((Date.now() - startedAt) / 1000));
      later(tick, 1000);
    };
    later(tick, 1000);
  }

  function startPage() {
    stopClocks();
    // A choice picked before htmx was listening (a fast click as the page loaded) is
    // saved now: the form says which letter the server has.
    var form = document.getElementById("answer-form");
    var chosen = document.querySelector("input[name=letter][form=answer-form]:checked");
    if (form && chosen && chosen.value !== form.dataset.saved && window.htmx) {
      chosen.dispatchEvent(new Event("change", { bubbles: true }));
    }
    startCountdown();
    startQuestionTimer();
  }

  // The character offsets of the selection within the stem: each run of the stem carries
  // the offset it starts at (data-at), so offsets count the frozen stem's characters.
  function selectionOffsets() {
    var stem = document.getElementById("stem");
    var selection = window.getSelection();
    if (!stem || !selection || selection.isCollapsed || !selection.rangeCount) return null;
    var range = selection.getRangeAt(0);
    function offset(node, within) {
      var run = node.nodeType === 3 ? node.parentElement : node;
      if (!run || !stem.contains(run)) return null;
      if (run === stem) {  // a boundary between runs: the start of the run after it
        var next = stem.children[within];
        return next ? Number(next.dataset.at) : stem.textContent.length;
      }
      run = run.closest("[data-at]");
      return run ? Number(run.dataset.at) + (node.nodeType === 3 ? within : 0) : null;
    }
    var start = offset(range.startContainer, range.startOffset);
    var end = offset(range.endContainer, range.endOffset);
    if (start === null || end === null || end <= start) return null;
    return { start: start, end: end };
  }

  function onConfigRequest(event) {
    var source = event.detail.elt;
    if (source && source.id === "highlight-button") {
      var offsets = selectionOffsets();
      if (!offsets) {
        event.preventDefault();
        var status = document.getElementById("save-status");
        if (status) status.textContent = "Select words of the question's text first, then press Highlight.";
        return;
      }
      event.detail.parameters.start = offsets.start;
      event.detail.parameters.end = offsets.end;
    }
  }

  function onAfterRequest(event) {
    var source = event.detail.elt;
    if (!source || !event.detail.successful) return;
    var xhr = event.detail.xhr;
    if (source.classList && source.classList.contains("strike-button") && xhr.status === 204) {
      var row = source.closest(".choice");
      var struck = !row.classList.contains("is-struck");
      row.classList.toggle("is-struck", struck);
      source.setAttribute("aria-pressed", struck ? "true" : "false");
    }
    var params = event.detail.requestConfig && event.detail.requestConfig.parameters;
    var form = document.getElementById("answer-form");
    if (form && params && params.go === "save" && xhr.status === 200 && !/Not saved/.test(xhr.responseText)) {
      var chosen = document.querySelector("input[name=letter][form=answer-form]:checked");
      form.dataset.saved = chosen ? chosen.value : "";
    }
  }

  function onClick(event) {
    var toggle = event.target.closest && event.target.closest("[data-navigator-toggle]");
    if (!toggle || !window.bootstrap) return;
    // With scripts the button opens the navigator over the page instead of leaving it
    // (the choice is already saved); without them it goes to the submit screen.
    event.preventDefault();
    window.bootstrap.Offcanvas.getOrCreateInstance(document.getElementById("quiz-navigator")).show();
  }

  function onKey(event) {
    var quiz = document.getElementById("quiz");
    if (!quiz) return;
    var target = event.target;
    var onChoice = target && target.getAttribute &&
        target.getAttribute("form") === "answer-form" && target.type === "radio";
    // With nothing focused (a swap just replaced what had the focus), as the keys legend says.
    var onNothing = quiz.dataset.shortcuts === "on" &&
        !(event.ctrlKey || event.metaKey || event.altKey) &&
        (!target || target === document.body || target.id === "quiz");
    if (event.key === "Enter" && (onChoice || onNothing)) {
      // Enter does what the form's first button says (save and go on, or submit in tutor
      // mode), as it would were the choices inside the form.
      var main = document.querySelector("#answer-form button[type=submit]");
      if (main) { main.click(); event.preventDefault(); }
      return;
    }
    if (quiz.dataset.shortcuts !== "on") return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (target && ((target.tagName === "INPUT" && target.type !== "radio") || target.tagName === "TEXTAREA" || target.tagName === "SELECT")) return;
    var letters = "ABCDE";
    var digit = event.code && /^Digit[1-5]$/.test(event.code) ? Number(event.code.slice(5)) - 1 : -1;
    if (event.shiftKey && digit >= 0) {  // Shift+1-5 strikes out a choice
      var strike = document.querySelector("[name=go][value='strike:" + letters[digit] + "'].strike-button");
      if (strike) { strike.click(); event.preventDefault(); }
      return;
    }
    var key = event.key.toUpperCase();
    if (key.length !== 1 || event.shiftKey) return;
    var index = digit >= 0 ? digit : letters.indexOf(key);
    if (index >= 0) {
      var radio = document.getElementById("choice-" + letters[index]);
      if (radio && !radio.checked) {
        radio.checked = true;
        radio.dispatchEvent(new Event("change", { bubbles: true }));  // saved like a click
      }
      if (radio) { radio.focus(); event.preventDefault(); }
      return;
    }
    var confidence = { S: "sure", U: "unsure", G: "guess" }[key];
    var pick = confidence && document.getElementById("confidence-" + confidence);
    if (pick) {
      pick.checked = true;
      pick.dispatchEvent(new Event("change", { bubbles: true }));
      event.preventDefault();
      return;
    }
    var selector = { N: "[data-nav=next]", P: "[data-nav=previous]", F: "#flag-button", H: "#highlight-button" }[key];
    var element = selector && document.querySelector(selector);
    if (element) { element.click(); event.preventDefault(); }
  }

  // Back, or a tab restored from the browser's memory: show the server's state and clock,
  // never the page as it was left.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && document.getElementById("quiz")) window.location.reload();
  });
  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onClick);
  document.addEventListener("htmx:configRequest", onConfigRequest);
  document.addEventListener("htmx:afterRequest", onAfterRequest);
  document.addEventListener("DOMContentLoaded", startPage);
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail.target === document.body || event.detail.boosted) startPage();
  });
})();
