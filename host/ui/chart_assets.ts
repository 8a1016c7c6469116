/**
 * The files that draw the console's charts, served by the host (no CDN; the pages' CSP allows
 * scripts only from the host and none inline): Chart.js's UMD bundle from the npm package, under a
 * path naming its version so it can be cached for a year, and a small script that draws each
 * `canvas[data-chart]` from the JSON in its `data-series`. The script loads Chart.js only on a
 * page that has a chart, and draws a sparkline only once it scrolls into view (a dashboard of
 * hundreds of integrations draws the ones on screen, not all of them).
 * @module
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";

const require = createRequire(import.meta.url);

/** The package's dist folder (its exports name only the main entries, not the UMD file). */
const DIST = dirname(require.resolve("chart.js"));

/** Chart.js's version, from its own package.json. */
const VERSION = String(JSON.parse(readFileSync(join(DIST, "..", "package.json"), "utf8")).version);

/** Where Chart.js is served from; the version in the path makes a year of caching safe. */
export const CHART_LIBRARY_PATH = `/assets/chart.js-${VERSION}/chart.umd.min.js`;

/** Where the chart script is served from. */
export const CHARTS_SCRIPT_PATH = "/assets/charts.js";

let library: Promise<string> | undefined;

/** Chart.js's UMD bundle (one self-contained file), read once. */
export function chartLibrary(): Promise<string> {
  // The bundle's last line points at a source map this host does not serve.
  library ??= readFile(join(DIST, "chart.umd.min.js"), "utf8")
    .then((text) => text.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, "\n"));
  return library;
}

/** The chart script, served at CHARTS_SCRIPT_PATH. */
export function chartsScript(): string {
  return SCRIPT.replace("__LIBRARY__", CHART_LIBRARY_PATH);
}

// Colours: a blue/orange/green/purple/red/grey set that stays apart for common colour-blindness,
// darker on the light page and lighter on the dark one (the layout follows prefers-color-scheme).
const SCRIPT = `
(function charts() {
  var canvases = document.querySelectorAll("canvas[data-chart]");
  if (canvases.length === 0) return;
  var LIGHT = { colors: ["#1f6fb2", "#c0580e", "#2a8a4a", "#8a3fa0", "#b3261e", "#5b6470"],
    text: "#3d4650", grid: "#e3e6ea" };
  var DARK = { colors: ["#8ab4f8", "#f6ae6b", "#7fd39a", "#d2a8ff", "#ff8a80", "#c9d1d9"],
    text: "#c9d1d9", grid: "#2e353e" };
  var scheme = window.matchMedia ? matchMedia("(prefers-color-scheme: dark)") : null;
  function theme() { return scheme && scheme.matches ? DARK : LIGHT; }
  function labels(from, n) {
    var start = Date.parse(from), out = [];
    for (var i = 0; i < n; i++) {
      out.push(new Date(start + i * 3600000).toISOString().slice(5, 13).replace("T", " ") + ":00");
    }
    return out;
  }
  function config(canvas, t) {
    var data = JSON.parse(canvas.getAttribute("data-series"));
    var kind = canvas.getAttribute("data-chart");
    if (kind === "spark") {
      return { type: "bar",
        data: { labels: labels(data.from, data.alerts.length),
          datasets: [{ label: "alerts", data: data.alerts, backgroundColor: t.colors[0] }] },
        options: { responsive: true, maintainAspectRatio: false, animation: false,
          plugins: { legend: { display: false } },
          scales: { x: { display: false }, y: { display: false, beginAtZero: true } } } };
    }
    var lag = kind === "lag";
    var n = data.series.length ? data.series[0].data.length : 0;
    return { type: lag ? "line" : "bar",
      data: { labels: labels(data.from, n), datasets: data.series.map(function (s, i) {
        var color = t.colors[i % t.colors.length];
        return { label: s.label, data: s.data, backgroundColor: color, borderColor: color,
          pointRadius: lag ? 2 : 0, spanGaps: false };
      }) },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: "index", intersect: false },
        plugins: { legend: { labels: { color: t.text } } },
        scales: {
          x: { stacked: !lag, ticks: { color: t.text, autoSkip: true, maxTicksLimit: 8 },
            grid: { color: t.grid } },
          y: { stacked: !lag, beginAtZero: true, ticks: { color: t.text, precision: 0 },
            grid: { color: t.grid },
            title: { display: true, text: lag ? "minutes" : "alerts", color: t.text } } } } };
  }
  function draw(canvas) {
    var old = Chart.getChart(canvas);
    if (old) old.destroy();
    new Chart(canvas, config(canvas, theme()));
  }
  function start() {
    var seen = [];
    var observer = window.IntersectionObserver ? new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        observer.unobserve(entry.target);
        seen.push(entry.target);
        draw(entry.target);
      });
    }, { rootMargin: "200px" }) : null;
    canvases.forEach(function (canvas) {
      canvas.parentElement.hidden = false;
      if (observer && canvas.getAttribute("data-chart") === "spark") observer.observe(canvas);
      else { seen.push(canvas); draw(canvas); }
    });
    // The system switched between light and dark: draw again in its colours.
    if (scheme && scheme.addEventListener) {
      scheme.addEventListener("change", function () { seen.forEach(draw); });
    }
  }
  var script = document.createElement("script");
  script.src = "__LIBRARY__";
  script.onload = start;
  document.head.appendChild(script);
})();
`;
