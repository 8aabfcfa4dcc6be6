// The quiz builder: the number of questions never goes past what the chosen pool and topics
// hold for the resident. The server's counts (the htmx fragment swapped into
// #builder-summary as the choices change) carry that number in data-max-count; it becomes
// the field's max, so the browser refuses a larger number before anything is sent. Only the
// attribute changes: what the resident is typing, and the focus, stay as they are. Without
// this script the server checks the number when the form is sent.
(function () {
  "use strict";

  function followCounts() {
    var summary = document.getElementById("builder-summary");
    var field = document.getElementById("id_question_count");
    var counted = summary && summary.querySelector("[data-max-count]");
    if (!field || !counted) {
      return;
    }
    field.max = counted.getAttribute("data-max-count");
  }

  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target && event.target.id === "builder-summary") {
      followCounts();
    }
  });
})();
