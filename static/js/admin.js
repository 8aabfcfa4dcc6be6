// Fixes to the Django admin's own markup, loaded on every admin page (admin/base_site.html).
"use strict";

// SelectFilter2.js (filter_horizontal) names the filter box's magnifier icon with an
// aria-label on a plain <span>, which ARIA ignores and axe reports (aria-prohibited-attr):
// make the icon an image, so the label is read out. SelectFilter2 builds the widget in its
// own "load" handler, registered after this one, so wait for it to have run.
window.addEventListener("load", () => {
  setTimeout(() => {
    for (const icon of document.querySelectorAll(".search-label-icon[aria-label]:not([role])")) {
      icon.setAttribute("role", "img");
    }
  });
});
