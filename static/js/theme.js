// Light and dark theme (Bootstrap 5.3's data-bs-theme on <html>).
// Loaded synchronously in <head>, before the body is painted, so a dark page never flashes
// light. The reader's choice is kept in localStorage; without one the page follows the
// operating system's setting, live. htmx-boosted navigation swaps the body but keeps <html>,
// so the theme survives it; the toggle button, which comes with the new body, is refreshed.
(function () {
  "use strict";
  var KEY = "theme";
  var dark = window.matchMedia("(prefers-color-scheme: dark)");

  function stored() {
    try {
      var value = window.localStorage.getItem(KEY);
      return value === "light" || value === "dark" ? value : null;
    } catch (e) {
      return null; // storage disabled: follow the system
    }
  }

  function current() {
    return stored() || (dark.matches ? "dark" : "light");
  }

  function syncButtons() {
    var isDark = document.documentElement.getAttribute("data-bs-theme") === "dark";
    var buttons = document.querySelectorAll("[data-theme-toggle]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", isDark ? "true" : "false");
      buttons[i].hidden = false; // it does nothing without this script, so it starts hidden
    }
  }

  function apply(theme) {
    document.documentElement.setAttribute("data-bs-theme", theme);
    syncButtons();
  }

  apply(current());

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-theme-toggle]");
    if (!button) return;
    var next = document.documentElement.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
    try {
      window.localStorage.setItem(KEY, next);
    } catch (e) {
      // not kept, but still applied to this page
    }
    apply(next);
  });

  dark.addEventListener("change", function () {
    if (!stored()) apply(current());
  });

  document.addEventListener("DOMContentLoaded", syncButtons);
  document.addEventListener("htmx:afterSwap", syncButtons);
  document.addEventListener("htmx:historyRestore", syncButtons);
})();
