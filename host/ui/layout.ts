/**
 * The UI's page frame and small pieces: escaping through Hono's `html` tag, a status badge, the
 * stylesheet. Pages work without JavaScript; the little script only shows the fields of the chosen
 * API version and fills a generated webhook secret.
 * @module
 */
import { html, raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { CHARTS_SCRIPT_PATH } from "./chart_assets.ts";

/** Escaped HTML, as Hono's `html` tag returns it. */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#fff;text-decoration:none;font-weight:600}header form{margin-left:auto}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.6rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;color:#5b6470}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:1rem 1.2rem;margin-bottom:1rem}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.8rem;font-weight:600}
.badge.connected,.badge.succeeded,.badge.ok{background:#dcf5e3;color:#135c2a}.badge.error,.badge.failed,.badge.secrets-unreadable{background:#fde2e1;color:#8a1c16}
.badge.never-run,.badge.running,.badge.paused{background:#e8ecf3;color:#33415c}.badge.stale{background:#fff4d6;color:#7a5200}
label{display:block;font-weight:600;margin:.8rem 0 .2rem}.help{color:#5b6470;font-size:.85rem;margin:.15rem 0}
input[type=text],input[type=url],input[type=password],input[type=number],select,textarea{width:100%;max-width:36rem;padding:.4rem .5rem;border:1px solid #b9c0c9;border-radius:4px;font:inherit}
textarea{min-height:4.5rem}.field.invalid input,.field.invalid select,.field.invalid textarea{border-color:#c62828}
.error{color:#c62828;font-size:.85rem;margin:.2rem 0}.notice{background:#e7f1ff;border:1px solid #b6d4fe;padding:.6rem .9rem;border-radius:4px;margin-bottom:1rem}
.alert-box{background:#fde2e1;border:1px solid #f5b5b1;padding:.6rem .9rem;border-radius:4px;margin-bottom:1rem}
fieldset{border:1px solid #e3e6ea;border-radius:6px;margin:1rem 0;padding:.4rem 1rem 1rem;background:#fff}legend{font-weight:700;padding:0 .3rem}
button,.button{background:#14213d;color:#fff;border:0;border-radius:4px;padding:.45rem .9rem;font:inherit;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#5b6470}button.danger,.button.danger{background:#b3261e}.actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.8rem 0}.actions form{margin:0}
code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{white-space:pre-wrap;word-break:break-all;background:#f1f3f5;padding:.5rem;border-radius:4px;max-height:18rem;overflow:auto}
.chart{position:relative;height:240px;margin:.4rem 0 1rem}.spark{position:relative;height:28px;width:120px;margin-top:.2rem}
h3{font-size:1rem;margin:1rem 0 .3rem}.day{position:relative}.sr-only{position:absolute;top:0;left:0;width:1px;height:1px;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.muted{color:#5b6470}.checks label{display:inline-flex;gap:.3rem;font-weight:400;margin-right:1rem}fieldset.field{border:0;padding:0;margin:0 0 .9rem;background:none}fieldset.field legend{padding:0}
@media (max-width:700px){header{padding:.6rem .8rem;gap:.8rem}main{margin:1rem auto;padding:0 .7rem}
table{display:block;overflow-x:auto;white-space:nowrap}.card{padding:.8rem}h1{font-size:1.25rem}}
@media (prefers-color-scheme:dark){body{color:#e4e7eb;background:#111418}a{color:#8ab4f8}button,.button{background:#35558c}
table,.card,fieldset{background:#1a1f25;border-color:#2e353e}th,td{border-color:#2e353e}
th,.muted,.help{color:#9aa4b1}pre{background:#222932}.notice{background:#14263f;border-color:#2a4a75}
.alert-box{background:#3a1a1a;border-color:#6b2b2b}.error{color:#ff8a80}
input[type=text],input[type=url],input[type=password],input[type=number],select,textarea{background:#111418;color:#e4e7eb;border-color:#48515c}}
`;

const SCRIPT = `
(function live() {
  var section = document.getElementById("live");
  if (!section || !section.hasAttribute("data-running")) return;
  var url = section.getAttribute("data-live");
  setTimeout(function poll() {
    fetch(url, { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      return r.ok ? r.text() : Promise.reject(r.status);
    }).then(function (text) {
      var next = new DOMParser().parseFromString(text, "text/html").getElementById("live");
      if (!next) return;
      var current = document.getElementById("live");
      current.replaceWith(next);
      // The run ended: show its outcome in the history once.
      if (!next.hasAttribute("data-running")) location.reload();
      else setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  }, 1000);
})();
document.querySelectorAll("select[data-discriminator]").forEach(function (select) {
  function show() {
    document.querySelectorAll("[data-branch]").forEach(function (el) {
      var on = el.getAttribute("data-branch") === select.value;
      el.hidden = !on;
      el.querySelectorAll("[data-required]").forEach(function (input) { input.required = on; });
    });
  }
  select.addEventListener("change", show);
  show();
});
document.querySelectorAll("button[data-generate-secret]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var bytes = new Uint8Array(24); crypto.getRandomValues(bytes);
    var input = document.getElementById(button.getAttribute("data-generate-secret"));
    input.type = "text"; input.value = "whsec_" + btoa(String.fromCharCode.apply(null, bytes));
  });
});
`;

/** A whole page. */
/** Where the page script is served from: the pages carry no inline script (CSP, SPEC §5.5). */
export const SCRIPT_PATH = "/assets/ui.js";

/** The page script, served at SCRIPT_PATH. */
export function pageScript(): string {
  return SCRIPT;
}

export function page(
  title: string,
  body: Html | string,
  options: { csrf?: string; loggedIn?: boolean } = {},
): Html {
  return html`
    <!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width,initial-scale=1">
        <link rel="icon" href="data:,">
        <title>${title} · Mimecast alerts host</title>
        <style>${raw(STYLE)}</style>
      </head>
      <body>
        <header><a href="/">Mimecast alerts host</a>${options.loggedIn
          ? html`<a href="/">Integrations</a><a href="/alerts">Alerts</a>`
          : ""}${options.loggedIn
          ? html`
            <form method="post"
              action="/logout"><input type="hidden" name="_csrf" value="${options
                .csrf}"><button class="secondary">Log out</button></form>
          `
          : ""}</header>
        <main>${body}</main>
        <script src="${SCRIPT_PATH}" defer></script>
        <script src="${CHARTS_SCRIPT_PATH}" defer></script>
      </body>
    </html>
  `;
}

/** A status badge. */
export function badge(status: string): Html {
  return html`<span class="badge ${status}">${status}</span>`;
}

/** The hidden CSRF field every form carries. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/** A POST button in its own small form. */
export function postButton(action: string, label: string, csrf: string, kind = ""): Html {
  return html`
    <form method="post"
      action="${action}">${csrfField(csrf)}<button class="${kind}">${label}</button></form>
  `;
}

/**
 * A moment as every page shows it: `2026-11-26 02:25:22 UTC`, with how long ago (or how soon)
 * beside it, and the exact time in `datetime`.
 */
export function when(iso: string | null | undefined, now = Date.now()): Html | string {
  if (!iso) return "—";
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return iso;
  const text = new Date(ms).toISOString().slice(0, 19).replace("T", " ");
  const seconds = Math.round((now - ms) / 1000);
  const relative = seconds >= 0 ? `${age(seconds)} ago` : `in ${age(-seconds)}`;
  return html`
    <time datetime="${new Date(ms).toISOString()}">${text} UTC</time> <span
      class="muted">(${relative})</span>
  `;
}

/** "3 min ago"-style ages for lag and times. */
export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 90) return `${seconds} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} d`;
}
