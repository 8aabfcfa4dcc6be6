// The fixed-set picker of a new assignment: search the questions' stems, filter by topic
// and by status, and count the ones chosen. Only showing and hiding rows of the list the
// server rendered: every ticked question is sent, shown or not. Without this script the
// full list works as it is (its count is the server's, as the page was sent).
(function () {
  "use strict";

  var picker = document.getElementById("picker");
  if (!picker) {
    return;
  }
  var rows = Array.prototype.slice.call(picker.querySelectorAll("li[data-search]"));
  var search = document.getElementById("picker-search");
  var topic = document.getElementById("picker-topic");
  var status = document.getElementById("picker-status");
  var chosen = document.getElementById("picker-chosen");
  var shown = document.getElementById("picker-shown");
  var none = document.getElementById("picker-none");

  function box(row) {
    return row.querySelector("input[name=questions]");
  }

  function matches(row, terms) {
    var text = row.getAttribute("data-search");
    for (var i = 0; i < terms.length; i++) {
      if (text.indexOf(terms[i]) === -1) {
        return false;
      }
    }
    var topics = " " + row.getAttribute("data-topics") + " ";
    if (topic.value && topics.indexOf(" " + topic.value + " ") === -1) {
      return false;
    }
    if (status.value === "chosen") {
      return box(row).checked;
    }
    return !status.value || row.getAttribute("data-status") === status.value;
  }

  function filter() {
    var terms = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    var count = 0;
    rows.forEach(function (row) {
      var visible = matches(row, terms);
      row.hidden = !visible;
      count += visible ? 1 : 0;
    });
    shown.textContent = count;
    none.classList.toggle("d-none", count > 0 || rows.length === 0);
  }

  function recount() {
    chosen.textContent = picker.querySelectorAll("input[name=questions]:checked").length;
  }

  function chooseFixedSet() {
    var fixed = document.querySelector("input[name=kind][value=fixed]");
    if (fixed) {
      fixed.checked = true;
    }
  }

  search.addEventListener("input", filter);
  // Enter in the search box filters; it does not send the form.
  search.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
    }
  });
  topic.addEventListener("change", filter);
  status.addEventListener("change", filter);
  picker.addEventListener("change", function (event) {
    if (event.target.name === "questions") {
      if (event.target.checked) {
        chooseFixedSet();
      }
      recount();
    }
  });
  document.getElementById("picker-tick-shown").addEventListener("click", function () {
    rows.forEach(function (row) {
      if (!row.hidden) {
        box(row).checked = true;
      }
    });
    chooseFixedSet();
    recount();
  });
  document.getElementById("picker-clear").addEventListener("click", function () {
    rows.forEach(function (row) {
      box(row).checked = false;
    });
    recount();
    filter();
  });
  filter();
  recount();
})();
