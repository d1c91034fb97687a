/* The listing page's availability calendar picks the dates of the stay form.
 *
 * Without this file every bookable day is a link that reloads the page with the dates it
 * chooses (the server writes them, see rentalcoop/listings/calendar_view.py: picker). With it,
 * the first click fills "check-in" in place and the second fills "check-out" and asks for the
 * price. The rules are the server's: a stay starts on a free night, its nights are all free,
 * its length is within the listing's minimum and maximum; the check-out day may be taken.
 */
(function () {
  "use strict";

  var box = document.getElementById("availability");
  var form = document.querySelector("form.stay-form");
  if (!box || !form) return;
  var checkIn = form.querySelector("[name=check_in]");
  var checkOut = form.querySelector("[name=check_out]");
  var status = document.getElementById("pick-status");
  if (!checkIn || !checkOut) return;
  var minNights = parseInt(box.getAttribute("data-min-nights"), 10) || 1;
  var maxNights = parseInt(box.getAttribute("data-max-nights"), 10) || 1;
  var cells = Array.prototype.slice.call(box.querySelectorAll("td[data-night]"));
  var stateOf = {};
  cells.forEach(function (cell) { stateOf[cell.getAttribute("data-night")] = cell.getAttribute("data-state"); });

  function text(name) { return box.getAttribute("data-" + name) || ""; }

  function addDays(iso, days) {
    var d = new Date(iso + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + days);
    return d.toISOString().slice(0, 10);
  }

  /* night -> "in" | "out", as picker() in calendar_view.py. */
  function actions(start, end) {
    var found = {};
    cells.forEach(function (cell) {
      var night = cell.getAttribute("data-night");
      if (stateOf[night] === "free") found[night] = "in";
    });
    if (start && !end) {
      delete found[start];
      var night = start;
      for (var n = 1; n <= maxNights; n++) {
        if (stateOf[night] !== "free") break;
        night = addDays(start, n);
        if (!(night in stateOf)) break;
        if (n >= minNights) found[night] = "out";
      }
    }
    return found;
  }

  function chosen(night, start, end) {
    if (!start) return null;
    if (night === start) return "start";
    if (!end) return null;
    if (night === end) return "end";
    return night > start && night < end ? "stay" : null;
  }

  /* The same address the server gives the day without JavaScript (a new tab, a bookmark). */
  function hrefFor(night, action, start) {
    var guests = form.querySelector("[name=guests]");
    var extra = guests && guests.value ? "&guests=" + encodeURIComponent(guests.value) : "";
    if (action === "in") return location.pathname + "?check_in=" + night + extra + "#availability";
    return location.pathname + "?check_in=" + start + "&check_out=" + night + extra + "#price-box";
  }

  function hidden(words) {
    var span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = ", " + words;
    return span;
  }

  function render() {
    var start = checkIn.value || null;
    var end = start && checkOut.value > start ? checkOut.value : null;
    var picks = actions(start, end);
    cells.forEach(function (cell) {
      var night = cell.getAttribute("data-night");
      var number = cell.querySelector(".day__number");
      var state = number.nextElementSibling;  // the state word for screen readers
      var price = cell.querySelector(".day__price");
      while (cell.firstChild) cell.removeChild(cell.firstChild);
      cell.className = cell.className.replace(/\s*day--chosen\S*/g, "");
      var where = chosen(night, start, end);
      var holder = cell;
      var action = picks[night];
      if (action) {
        holder = document.createElement("a");
        holder.className = "day__link";
        holder.href = hrefFor(night, action, start);
        holder.setAttribute("data-pick", action);
        cell.appendChild(holder);
      }
      holder.appendChild(number);
      holder.appendChild(state);
      if (where) {
        cell.className += " day--chosen day--chosen-" + where;
        holder.appendChild(hidden(text("chosen-" + where)));
      }
      if (action) holder.appendChild(hidden(text("pick-" + action)));
      if (price) cell.appendChild(price);
    });
  }

  box.addEventListener("click", function (event) {
    var link = event.target.closest("a.day__link");
    if (!link || !box.contains(link)) return;
    event.preventDefault();
    var night = link.closest("td").getAttribute("data-night");
    if (link.getAttribute("data-pick") === "in") {
      checkIn.value = night;
      checkOut.value = "";
      render();
      if (status) status.textContent = text("status-out");
      var next = box.querySelector("a.day__link[data-pick=out]");
      next = next || box.querySelector("a.day__link");
      if (next) next.focus();
      return;
    }
    checkOut.value = night;
    render();
    if (status) status.textContent = text("status-done");
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  });

  checkIn.addEventListener("change", render);
  checkOut.addEventListener("change", render);
}());
