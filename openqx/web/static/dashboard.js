// openqx dashboard: draws the charts described by <script class="chart-data"> next to each
// <canvas data-chart>, follows a job's status through the server's event stream, and keeps
// the jobs table current through the jobs page's event stream (/jobs/stream): the table is
// fetched again (/jobs/table) only when the stream says its jobs changed.
(function () {
  "use strict";
  var palette = ["#0b57d0", "#b3261e", "#1e7d32", "#8a5300", "#6a1b9a"];

  function drawCharts(root) {
    if (typeof Chart === "undefined") { return; }
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = canvas.parentElement.querySelector("script.chart-data");
      if (!source) { return; }
      var spec = JSON.parse(source.textContent);
      var kind = canvas.dataset.chart;
      new Chart(canvas, {
        type: kind,
        data: {
          labels: spec.labels,
          datasets: spec.series.map(function (s, i) {
            return { label: s.label, data: s.values, backgroundColor: palette[i % palette.length],
                     borderColor: palette[i % palette.length], spanGaps: true, pointRadius: 2 };
          })
        },
        options: { animation: false, responsive: false, plugins: { legend: { display: spec.series.length > 1 } } }
      });
      canvas.dataset.drawn = "1";
    });
  }

  function followJob() {
    var detail = document.getElementById("job-detail");
    if (!detail || detail.dataset.final === "true" || typeof EventSource === "undefined") { return; }
    var id = detail.dataset.jobId;
    var source = new EventSource("/jobs/" + encodeURIComponent(id) + "/events");
    source.addEventListener("status", function (event) {
      var info = JSON.parse(event.data);
      var shown = document.getElementById("job-status");
      var final = ["DONE", "ERROR", "CANCELLED"].indexOf(info.status) >= 0;
      if (shown && shown.dataset.status === info.status && !final) { return; }
      htmx.ajax("GET", "/jobs/" + encodeURIComponent(id) + "/detail", { target: "#job-detail", swap: "innerHTML" });
      if (final) { detail.dataset.final = "true"; source.close(); }
    });
    // The session ended (signed out elsewhere, expired, token rotated or revoked): reload,
    // which shows the sign-in form.
    source.addEventListener("signin", function () { source.close(); window.location.reload(); });
  }

  function refreshJobsTable() {
    var table = document.getElementById("jobs-table");
    if (!table) { return; }
    // Answered with HX-Redirect to the sign-in form when the session has ended.
    htmx.ajax("GET", table.dataset.refresh, { target: "#jobs-table", swap: "outerHTML" });
  }

  function followJobs() {
    var table = document.getElementById("jobs-table");
    if (!table || !table.dataset.stream || typeof EventSource === "undefined") { return; }
    var source = new EventSource(table.dataset.stream);
    // The first event describes the page as the stream found it when it opened: the table is
    // fetched then too, in case a job changed between the page and the stream.
    source.addEventListener("changed", refreshJobsTable);
    source.addEventListener("end", function () { source.close(); });
    source.addEventListener("signin", function () { source.close(); refreshJobsTable(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document); followJob(); followJobs();
  });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
