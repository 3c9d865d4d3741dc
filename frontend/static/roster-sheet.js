// The sheet of first-time codes: a Print button (shown only where this file runs; inline code is
// refused by the Content-Security-Policy).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.querySelector("[data-print]");
  if (!button) { return; }
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
