// ReDoc for /redoc, from assets shipped in the package (no CDN, no Google Fonts).
window.addEventListener("load", function () {
  Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc"));
});
