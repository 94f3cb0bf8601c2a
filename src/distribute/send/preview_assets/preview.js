// The preview page's one script (shipped in the package, no framework): it sizes each message
// frame to its content and, on a live page, swaps in a new rendition whenever the server says
// the release or its workspace changed, keeping the scroll position and the width switches.
(function () {
  "use strict";
  function fit(frame) {
    try {
      var doc = frame.contentDocument;
      if (doc && doc.documentElement) frame.style.height = Math.max(200, doc.documentElement.scrollHeight + 4) + "px";
    } catch (err) { /* not readable: keep the fixed height */ }
  }
  function fitAll(root) {
    root.querySelectorAll("iframe.body").forEach(function (frame) {
      frame.addEventListener("load", function () { fit(frame); });
      fit(frame);
    });
  }
  fitAll(document);
  document.addEventListener("change", function (event) {
    if (event.target.matches(".widths input")) {
      var frame = event.target.parentNode.querySelector("iframe.body");
      if (frame) setTimeout(function () { fit(frame); }, 0);
    }
  });
  if (document.body.dataset.live !== "1") return;

  var main = document.getElementById("channels");
  var error = document.getElementById("error");
  var errorText = document.getElementById("error-text");
  var status = document.getElementById("status");
  var shown = Number(document.body.dataset.version);
  var good = Number(document.body.dataset.good);

  function apply(state) {
    if (state.version === shown) return;
    shown = state.version;
    if (state.html !== null && state.good_version !== good) {
      good = state.good_version;
      var x = window.scrollX, y = window.scrollY;
      var phones = Array.prototype.map.call(main.querySelectorAll(".widths input:checked"), function (i) { return i.id; });
      main.innerHTML = state.html;
      phones.forEach(function (id) { var i = document.getElementById(id); if (i) i.checked = true; });
      fitAll(main);
      window.scrollTo(x, y);
    }
    document.querySelector("header.top h1").textContent = state.title;
    document.getElementById("when").textContent = state.when;
    if (state.error) {
      errorText.textContent = state.error;
      error.hidden = false;
      main.classList.add("stale");
      status.classList.add("bad");
      status.textContent = "edit not shown: see the problem above (last good rendition " + state.good_at + ")";
    } else {
      error.hidden = true;
      main.classList.remove("stale");
      status.classList.remove("bad");
      status.textContent = "live: updated " + state.rendered_at;
    }
    document.body.dataset.version = String(state.version);
  }
  function refresh() {
    fetch("/state", { cache: "no-store" }).then(function (r) { return r.json(); }).then(apply, function () {
      status.textContent = "not connected to the preview server (is distribute preview --serve still running?)";
    });
  }
  var source = new EventSource("/events");
  source.onmessage = refresh;
  source.onerror = function () { status.textContent = "reconnecting to the preview server..."; };
  refresh();
})();
