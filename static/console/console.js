// Small behaviours shared by every page of the console.
document.addEventListener("click", function (event) {
  var toggle = event.target.closest("[data-theme-toggle]");
  if (!toggle) return;
  var root = document.documentElement;
  var next = root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark";
  root.setAttribute("data-bs-theme", next);
  localStorage.setItem("console-theme", next);
});

// Live pages (a change, a fleet change) refresh by swapping their panel every second. A screen
// reader hears the new status once, politely, from a region that stays in place (base.html).
document.addEventListener("htmx:afterSwap", function () {
  var announcer = document.getElementById("live-announcer");
  var badge = document.querySelector("[data-testid=change-status], [data-testid=fleet-status]");
  if (!announcer || !badge) return;
  var said = badge.textContent.trim();
  if (said && announcer.getAttribute("data-said") !== said) {
    announcer.setAttribute("data-said", said);
    announcer.textContent = said;
  }
});

document.addEventListener("DOMContentLoaded", function () {
  var announcer = document.getElementById("live-announcer");
  var badge = document.querySelector("[data-testid=change-status], [data-testid=fleet-status]");
  if (announcer && badge) announcer.setAttribute("data-said", badge.textContent.trim());
});

// The time-zone picker offers the browser's own zone first, marked as such (preferences).
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("select[data-browser-zone]");
  var zone = window.Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!select || !zone) return;
  var option = Array.prototype.find.call(select.options, function (o) { return o.value === zone; });
  var common = select.querySelector("optgroup");
  if (!option || !common) return;
  option.textContent = option.textContent + " · " + select.getAttribute("data-browser-zone");
  option.setAttribute("data-testid", "browser-zone");
  common.insertBefore(option, common.firstChild);
});
