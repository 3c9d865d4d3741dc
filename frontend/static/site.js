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

// Countdowns (class "countdown", data-countdown = seconds left when the page was drawn) keep ticking.
// The server's figure stays as the text without scripts; deadlines are enforced on the server anyway.
(function () {
  function show(el, left) {
    if (left >= 86400) { return; }  // days and hours: the server's text is fine for a whole minute
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    el.textContent = [h, m, s].map(function (n) { return n < 10 ? "0" + n : "" + n; }).join(":");
  }
  function start(root) {
    var items = (root || document).querySelectorAll(".countdown[data-countdown]");
    items.forEach(function (el) {
      if (el.dataset.ticking) { return; }
      el.dataset.ticking = "1";
      var end = Date.now() + 1000 * parseInt(el.dataset.countdown, 10);
      var timer = setInterval(function () {
        if (!document.body.contains(el)) { clearInterval(timer); return; }
        var left = Math.max(0, Math.round((end - Date.now()) / 1000));
        show(el, left);
        if (left === 0) { clearInterval(timer); }
      }, 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:afterSettle", function (event) { start(event.target); });
})();
