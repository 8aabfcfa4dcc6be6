// Exam simulation pages. The pages work without this script: the server renders the break's
// time left and decides when the next block starts. The script only ticks the break's
// countdown and reloads the page when it reaches zero (the server then starts the next
// block and sends the resident to it), and on the builder it updates the total time.
(function () {
  "use strict";

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function formatSeconds(s) {
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return h ? h + ":" + pad(m) + ":" + pad(r) : m + ":" + pad(r);
  }

  function tickBreak() {
    var countdown = document.getElementById("break-countdown");
    if (!countdown) return;
    var announcer = document.getElementById("break-announcer");
    var endsAt = Date.now() + Number(countdown.dataset.remaining) * 1000;
    var warned = Number(countdown.dataset.remaining) <= 60;
    var tick = function () {
      var left = Math.max(0, Math.round((endsAt - Date.now()) / 1000));
      countdown.textContent = formatSeconds(left);
      if (left <= 60 && !warned) {
        warned = true;
        if (announcer) announcer.textContent = "One minute of break left.";
      }
      if (left === 0) {
        // A second later, so that the server's clock has passed the break's end too.
        window.setTimeout(function () { window.location.reload(); }, 1000);
        return;
      }
      window.setTimeout(tick, 1000);
    };
    tick();
  }

  function builderTotal() {
    var total = document.getElementById("simulation-total");
    var form = document.getElementById("simulation-builder");
    if (!total || !form) return;
    var pace = Number(total.dataset.pace);
    var update = function () {
      var blocks = parseInt(form.elements.block_count.value, 10);
      var size = parseInt(form.elements.block_size.value, 10);
      var pause = parseInt(form.elements.break_minutes.value, 10) * 60;
      if (!(blocks > 0 && size > 0 && pause >= 0)) return;
      var block = size * pace;
      total.querySelector(".simulation-count").textContent =
        blocks + " blocks of " + size + " questions";
      total.querySelector(".simulation-block-time").textContent = formatSeconds(block);
      total.querySelector(".simulation-total-time").textContent =
        formatSeconds(blocks * block + (blocks - 1) * pause);
    };
    form.addEventListener("input", update);
    form.addEventListener("change", update);
  }

  tickBreak();
  builderTotal();
})();
