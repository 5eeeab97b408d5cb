// openqx dashboard: draws the charts described by <script class="chart-data"> next to each
// <canvas data-chart>, and follows a job's status through the server's event stream.
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
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(document); followJob(); });
  document.addEventListener("htmx:afterSettle", function (event) { drawCharts(event.target); });
})();
