"use strict";
(function () {
  var data = JSON.parse(document.getElementById("transcripts").textContent);
  var tasks = Array.prototype.slice.call(document.querySelectorAll("details.task"));
  var search = document.getElementById("search");
  var status = document.getElementById("status");
  var category = document.getElementById("category");
  var shown = document.getElementById("shown");

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function content(message) {
    var c = message.content;
    if (c === null || c === undefined) return "";
    if (typeof c === "string") return c;
    return c.map(function (part) { return part.text || JSON.stringify(part); }).join("\n");
  }

  function renderMessage(message) {
    var box = el("div", "msg " + (message.role || ""));
    var label = message.role || "?";
    if (message.role === "tool" && message.tool_call_id) label += " · " + message.tool_call_id;
    box.appendChild(el("div", "role", label));
    var reasoning = message.reasoning_content || message.reasoning;
    if (reasoning) box.appendChild(el("pre", "reasoning", "(reasoning) " + reasoning));
    var text = content(message);
    if (text) box.appendChild(el("pre", "", text));
    (message.tool_calls || []).forEach(function (call) {
      var fn = call["function"] || {};
      box.appendChild(el("div", "call", "→ " + fn.name + "(" + (fn.arguments || "") + ")"));
    });
    return box;
  }

  function renderTranscript(holder) {
    if (holder.dataset.done) return;
    holder.dataset.done = "1";
    var entry = data[holder.dataset.key];
    if (!entry) {
      holder.appendChild(el("p", "error", "No transcript was kept for this trial."));
      return;
    }
    entry.messages.forEach(function (m) { holder.appendChild(renderMessage(m)); });
    if (entry.omitted) holder.appendChild(el("p", "meta", entry.omitted + " more message(s) in " + entry.file));
  }

  function onToggle(event) {
    var task = event.target;
    if (!task.open) return;
    task.querySelectorAll(".transcript").forEach(renderTranscript);
  }

  function applyFilters() {
    var q = search.value.trim().toLowerCase();
    var count = 0;
    tasks.forEach(function (task) {
      var ok = (!q || task.dataset.search.indexOf(q) >= 0) &&
        (!status.value || task.dataset.status === status.value ||
         (status.value === "failing" && task.dataset.status !== "pass")) &&
        (!category.value || task.dataset.category === category.value);
      task.hidden = !ok;
      if (ok) count += 1;
    });
    shown.textContent = count + " of " + tasks.length + " tasks shown";
  }

  function openFromHash() {
    var id = decodeURIComponent(location.hash.replace(/^#/, ""));
    var task = id && document.getElementById(id);
    if (task && task.tagName === "DETAILS") {
      task.open = true;
      task.querySelectorAll(".transcript").forEach(renderTranscript);
      task.scrollIntoView();
    }
  }

  tasks.forEach(function (task) { task.addEventListener("toggle", onToggle); });
  [search, status, category].forEach(function (c) { c.addEventListener("input", applyFilters); });
  window.addEventListener("hashchange", openFromHash);
  applyFilters();
  openFromHash();
  document.body.dataset.ready = "1";
})();
