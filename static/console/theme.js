// Apply the saved (or the system's) colour theme before the page paints.
(function () {
  var saved = localStorage.getItem("console-theme");
  var dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  document.documentElement.setAttribute("data-bs-theme", saved || (dark ? "dark" : "light"));
})();
