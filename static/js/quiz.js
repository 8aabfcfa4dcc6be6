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
    var selector = { N: "[data-nav=next]", P: "[data-nav=previous]", F: "#flag-button" }[key];
    var element = selector && document.querySelector(selector);
    if (element) { element.click(); event.preventDefault(); }
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("DOMContentLoaded", startCountdown);
  document.addEventListener("htmx:afterSettle", startCountdown);
})();
