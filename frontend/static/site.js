// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:afterSettle", function (event) {
  // Boosted navigation replaces <body> only: keep <html lang> in step with the new page.
  var page = document.getElementById("page");
  var lang = page && page.getAttribute("data-lang");
  if (lang) { document.documentElement.setAttribute("lang", lang); }
  // Move focus to the page content after navigation, as a full page load would for screen readers.
  if (event.detail && event.detail.boosted) {
    var main = document.getElementById("main");
    if (main) { main.focus({ preventScroll: true }); }
  }
});
