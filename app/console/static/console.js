// dep-emulator console: small enhancements over plain HTML forms (no inline scripts: CSP).
(function () {
  "use strict";
  // A form that may take long says so, and is not submitted twice.
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var status = form.querySelector(".busy");
      if (status) { status.textContent = form.getAttribute("data-busy"); }
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
    });
  });
  // The Request Journal refreshes its table while the page is open.
  var live = document.getElementById("journal-live");
  if (live) {
    var url = live.getAttribute("data-refresh");
    setInterval(function () {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { live.innerHTML = html; } })
        .catch(function () {});
    }, 2000);
  }
  // Error summaries take the focus, as GOV.UK's do.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();
