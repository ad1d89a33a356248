// Weir's UI script. Every page works without it; it adds live updates of a run (server-sent
// events), the task panel without reloads, the live log tail, the graph's edges, confirmations,
// "check all", and JSON checks in forms. No dependencies, no build step.
"use strict";

(function () {
  function onReady(fn) {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // --- Forms -------------------------------------------------------------------------------
  document.addEventListener("submit", function (event) {
    var submitter = event.submitter;
    var message = (submitter && submitter.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    var target = event.target;
    var group = target.getAttribute && target.getAttribute("data-check-all");
    if (group) {
      document.querySelectorAll('input[type=checkbox][name="' + group + '"]').forEach(function (box) {
        box.checked = target.checked;
      });
    }
    if (target.hasAttribute && target.hasAttribute("data-autosubmit") && target.form) target.form.submit();
  });
  document.addEventListener("input", function (event) {
    var field = event.target;
    if (!field.hasAttribute || !field.hasAttribute("data-json")) return;
    var text = field.value.trim();
    var problem = "";
    if (text !== "") {
      try { JSON.parse(text); } catch (e) { problem = "not valid JSON: " + e.message; }
    }
    field.classList.toggle("invalid", problem !== "");
    field.setCustomValidity(problem);
  });

  // --- Graph edges -------------------------------------------------------------------------
  var SVG = "http://www.w3.org/2000/svg";
  var MAX_EDGE_NODES = 300;

  function drawEdges(root) {
    (root || document).querySelectorAll(".dag").forEach(drawDagEdges);
  }

  function drawDagEdges(dag) {
    var old = dag.querySelector(":scope > svg.edges");
    if (old) old.remove();
    if (dag.offsetParent === null) return; // inside a closed group
    var nodes = dag.querySelectorAll(":scope > .layer > [data-key]");
    if (nodes.length < 2 || nodes.length > MAX_EDGE_NODES) return;
    var byKey = {};
    nodes.forEach(function (n) { byKey[n.getAttribute("data-key")] = n; });
    var box = dag.getBoundingClientRect();
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("class", "edges");
    svg.setAttribute("width", String(dag.scrollWidth));
    svg.setAttribute("height", String(dag.scrollHeight));
    nodes.forEach(function (node) {
      var deps = (node.getAttribute("data-deps") || "").split(" ");
      var to = anchor(node).getBoundingClientRect();
      deps.forEach(function (key) {
        var upstream = byKey[key];
        if (!upstream) return;
        var from = anchor(upstream).getBoundingClientRect();
        var x1 = from.left + from.width / 2 - box.left, y1 = from.bottom - box.top;
        var x2 = to.left + to.width / 2 - box.left, y2 = to.top - box.top;
        var mid = (y1 + y2) / 2;
        var path = document.createElementNS(SVG, "path");
        path.setAttribute("d", "M" + x1 + "," + y1 + " C" + x1 + "," + mid + " " + x2 + "," + mid + " " + x2 + "," + y2);
        path.setAttribute("fill", "none");
        path.setAttribute("stroke", "#9aa6b4");
        path.setAttribute("stroke-width", "1.5");
        svg.appendChild(path);
      });
    });
    dag.insertBefore(svg, dag.firstChild);
  }

  // A group's edges end at its summary, not at its open body.
  function anchor(node) {
    if (node.tagName === "DETAILS") {
      var summary = node.querySelector(":scope > summary");
      return summary || node;
    }
    return node;
  }

  var redrawPending = false;
  function redrawSoon() {
    if (redrawPending) return;
    redrawPending = true;
    window.requestAnimationFrame(function () { redrawPending = false; drawEdges(); });
  }
  document.addEventListener("toggle", redrawSoon, true);
  window.addEventListener("resize", redrawSoon);

  // --- Run page: live updates, task panel, log tail ----------------------------------------
  function runPage() {
    var live = document.getElementById("live");
    if (!live) return;
    var runId = live.getAttribute("data-run");
    var selected = new URLSearchParams(window.location.search).get("task") || "";
    var logSource = null;
    var events = null;

    function refreshLive() {
      var url = "/runs/" + runId + "/live" + (selected ? "?task=" + encodeURIComponent(selected) : "");
      return fetch(url, { credentials: "same-origin" }).then(function (response) {
        if (!response.ok) return;
        return response.text().then(function (html) {
          var panel = document.getElementById("panel");
          var openGroups = openGroupKeys();
          live.innerHTML = html;
          restoreGroups(openGroups);
          var placeholder = document.getElementById("panel");
          if (panel && placeholder && panel !== placeholder) placeholder.replaceWith(panel);
          markSelected();
          drawEdges(live);
          var body = document.getElementById("panel-body");
          if (body && body.getAttribute("data-terminal") === "false") loadPanel(selected, false);
        });
      }).catch(function () {});
    }

    // Keep the groups a person opened or closed as they were across refreshes.
    function openGroupKeys() {
      var state = {};
      live.querySelectorAll("details.group").forEach(function (d, i) {
        state[groupId(d, i)] = d.open;
      });
      return state;
    }
    function restoreGroups(state) {
      live.querySelectorAll("details.group").forEach(function (d, i) {
        var id = groupId(d, i);
        if (id in state) d.open = state[id];
      });
    }
    function groupId(details, index) {
      var link = details.querySelector(":scope > summary [data-task]");
      return link ? link.getAttribute("data-task") : "i" + index;
    }

    function markSelected() {
      live.querySelectorAll(".selected").forEach(function (n) { n.classList.remove("selected"); });
      if (!selected) return;
      live.querySelectorAll('.node[data-task="' + selected + '"], .chip[href$="task=' + selected + '"]').forEach(function (n) {
        n.classList.add("selected");
      });
      var layout = live.querySelector(".run-layout");
      if (layout) layout.classList.add("with-panel");
    }

    function loadPanel(taskId, push) {
      return fetch("/runs/" + runId + "/tasks/" + encodeURIComponent(taskId), { credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) return;
          return response.text().then(function (html) {
            var panel = document.getElementById("panel");
            if (!panel) return;
            panel.innerHTML = html;
            panel.hidden = false;
            selected = taskId;
            if (push) history.replaceState(null, "", "/runs/" + runId + "?task=" + encodeURIComponent(taskId));
            markSelected();
            drawEdges(live);
            tailLog();
          });
        }).catch(function () {});
    }

    function tailLog() {
      if (logSource) { logSource.close(); logSource = null; }
      var log = document.getElementById("log");
      var body = document.getElementById("panel-body");
      if (!log || !body || log.getAttribute("data-live") !== "true" || !window.EventSource) return;
      var url = "/runs/" + runId + "/tasks/" + body.getAttribute("data-task") + "/log/stream?offset=" + log.getAttribute("data-offset");
      logSource = new EventSource(url);
      logSource.addEventListener("data", function (event) {
        var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        log.appendChild(document.createTextNode(JSON.parse(event.data)));
        if (atBottom) log.scrollTop = log.scrollHeight;
      });
      logSource.addEventListener("end", function () { logSource.close(); logSource = null; });
    }

    document.addEventListener("click", function (event) {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      var close = event.target.closest("[data-close-panel]");
      if (close) {
        event.preventDefault();
        var panel = document.getElementById("panel");
        if (panel) { panel.hidden = true; panel.innerHTML = ""; }
        if (logSource) { logSource.close(); logSource = null; }
        selected = "";
        history.replaceState(null, "", "/runs/" + runId);
        var layout = live.querySelector(".run-layout");
        if (layout) layout.classList.remove("with-panel");
        markSelected();
        drawEdges(live);
        return;
      }
      var link = event.target.closest("a[href]");
      if (!link || !live.contains(link)) return;
      var target = new URL(link.href, window.location.href);
      var taskId = target.searchParams.get("task");
      if (!taskId || target.pathname !== "/runs/" + runId) return;
      event.preventDefault();
      loadPanel(taskId, true);
    });

    if (live.getAttribute("data-terminal") !== "true" && window.EventSource) {
      events = new EventSource("/runs/" + runId + "/events");
      events.addEventListener("changed", refreshLive);
      events.addEventListener("end", function () { events.close(); refreshLive(); });
    }
    tailLog();
  }

  onReady(function () {
    drawEdges();
    runPage();
  });
})();
