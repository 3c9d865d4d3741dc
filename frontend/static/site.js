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

// A form marked data-reset-on-success is emptied once htmx has sent it successfully (the tutor's
// question box). Here rather than in hx-on: the Content-Security-Policy allows no inline code.
document.addEventListener("htmx:afterRequest", function (event) {
  var form = event.target;
  if (form && form.hasAttribute && form.hasAttribute("data-reset-on-success") && event.detail.successful) {
    form.reset();
  }
});
