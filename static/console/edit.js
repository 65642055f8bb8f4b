// The edit page: host alias rows added and removed without a reload, units shown as people read them.
(function () {
  var form = document.querySelector("[data-testid=edit-form]");
  if (!form) return;
  var rows = form.querySelector("[data-alias-rows]");
  var template = form.querySelector("[data-alias-template]");
  var total = form.querySelector("#id_aliases-TOTAL_FORMS");
  var addButton = form.querySelector("[data-alias-add]");
  // The limit comes from the page (the code that owns it), not from this file.
  var MAX = parseInt(rows.getAttribute("data-alias-max"), 10) || 20;

  function visibleRows() {
    return rows.querySelectorAll("[data-alias-row]:not(.d-none)").length;
  }
  function refresh() {
    var count = visibleRows();
    form.querySelector("[data-alias-count]").textContent = count;
    addButton.disabled = count >= MAX;
    addButton.title = count >= MAX ? "At most " + MAX + " host aliases" : "";
  }
  addButton.addEventListener("click", function () {
    if (visibleRows() >= MAX) return;
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    var inputs = rows.lastElementChild.querySelectorAll("input[type=text]");
    if (inputs.length) inputs[0].focus();
    refresh();
  });
  rows.addEventListener("click", function (event) {
    var button = event.target.closest("[data-alias-remove]");
    if (!button) return;
    var row = button.closest("[data-alias-row]");
    var del = row.querySelector("input[type=checkbox][name$='-DELETE']");
    if (del) del.checked = true;
    row.classList.add("d-none");
    refresh();
  });
  refresh();

  // "2000" millicores reads as "2 vCPU"; "1024" MiB as "1 GiB".
  function unitText(kind, value) {
    var n = parseInt(value, 10);
    if (isNaN(n)) return "";
    if (kind === "cpu") return "= " + (n / 1000) + " vCPU";
    if (n >= 1024 && n % 256 === 0) return "= " + (n / 1024) + " GiB";
    return "= " + n + " MiB";
  }
  form.querySelectorAll("input[data-unit]").forEach(function (input) {
    var badge = document.createElement("div");
    badge.className = "small fw-semibold text-body-secondary";
    badge.setAttribute("data-unit-display", input.name);
    input.insertAdjacentElement("afterend", badge);
    var update = function () { badge.textContent = unitText(input.getAttribute("data-unit"), input.value); };
    input.addEventListener("input", update);
    update();
  });
})();
