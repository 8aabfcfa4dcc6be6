// Quiz page helpers: a countdown that only displays the server's deadline, and keyboard
// shortcuts. The page works without this script; the server decides timing and scoring.
(function () {
  "use strict";
  var countdown = document.getElementById("countdown");
  if (countdown) {
    var announcer = document.getElementById("countdown-announcer");
    var value = countdown.querySelector(".countdown-value");
    var endsAt = Date.now() + Number(countdown.dataset.remaining) * 1000;
    var warned = false;
    var format = function (s) {
      var m = Math.floor(s / 60), r = s % 60;
      return m + ":" + (r < 10 ? "0" : "") + r;
    };
    var tick = function () {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      value.textContent = format(left);
      if (left <= 120 && !warned) {
        warned = true;
        countdown.classList.add("text-danger");
        announcer.textContent = "Two minutes left.";
      }
      if (left === 0) {
        announcer.textContent = "Time is up.";
        // Reload once the server's grace period is over: it then finishes the attempt as of
        // the deadline and shows the results.
        var grace = Number(countdown.dataset.grace || 0) + 1;
        window.setTimeout(function () { window.location.reload(); }, grace * 1000);
        return;
      }
      window.setTimeout(tick, 1000);
    };
    tick();
  }
  var quiz = document.getElementById("quiz");
  if (!quiz || quiz.dataset.shortcuts === "off") return;
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.tagName === "INPUT" && target.type !== "radio" || target.tagName === "TEXTAREA")) return;
    var key = event.key.toUpperCase();
    var letters = "ABCDE";
    var index = "12345".indexOf(key) >= 0 ? "12345".indexOf(key) : letters.indexOf(key);
    if (index >= 0 && key.length === 1) {
      var radio = document.getElementById("choice-" + letters[index]);
      if (radio) { radio.checked = true; radio.focus(); event.preventDefault(); }
      return;
    }
    var click = function (selector) {
      var el = document.querySelector(selector);
      if (el) { el.click(); event.preventDefault(); }
    };
    if (key === "N") click("[data-nav=next]");
    else if (key === "P") click("[data-nav=previous]");
    else if (key === "F") click("#flag-button");
  });
})();
