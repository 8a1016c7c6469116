/**
 * The README's examples run as written: every `sh` block of the README that talks to the host's
 * API with curl runs, in the README's order, in one bash session against a real host process
 * (started as `deno task start` starts it, with a fresh data folder and the built plugin), the
 * way a newcomer pastes them. Only what a newcomer fills in is filled in: the host's address (the
 * test's host listens on a free port, not 8080), Mimecast's address and the app's credentials (the
 * simulator's), the webhook URL (a receiver of the test's), the `ID=...` placeholder (the
 * integration the create example made, looked up through the API) and `<runId>` (the run the run
 * example started). Every curl must get a 2xx answer (`--fail-with-body`); what each example
 * promises is checked on its output, and the alerts must reach the webhook signed with the secret
 * the create answer returned.
 * @module
 */
import { equal, match, ok } from "node:assert/strict";
import { Webhook } from "standardwebhooks";
import { SCREENSHOTS } from "../fixtures/demo/screenshots.ts";
import { generateRecords, MimecastSimulator, serveSimulator } from "../fixtures/simulator/mod.ts";
import { installPlugin } from "./host/_host.ts";
import { serveReceiver, spawnHost, until } from "./host/_process.ts";
import { CURL, ensureCurl } from "./prepare.ts";

const README = new URL("../README.md", import.meta.url);
const ADDRESS = "http://127.0.0.1:8080";

/** The README's `sh` blocks that call the host's API, in order. */
export function apiExamples(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1]);
  return blocks.filter((block) => block.includes("curl") && block.includes(ADDRESS));
}

/** Where the examples' placeholders point in this test. */
interface Places {
  host: string;
  mimecast: string;
  webhook: string;
}

/** What a newcomer fills in, as shell that looks it up the way they would. */
function filledIn(block: string, places: Places): string {
  const get = (path: string, field: string) =>
    `$(command curl -s -H "Authorization: Bearer $TOKEN" ${places.host}${path} | grep -o '"${field}":"[^"]*"' | head -n 1 | cut -d '"' -f 4)`;
  return block
    .replaceAll(ADDRESS, places.host)
    .replaceAll("https://api.services.mimecast.com", places.mimecast)
    .replaceAll("YOUR-CLIENT-ID", "sim-client-id")
    .replaceAll("YOUR-CLIENT-SECRET", "sim-client-secret-value")
    .replaceAll("https://siem.example.com/hooks/mimecast", places.webhook)
    .replace(/^ID=\.\.\..*$/m, `ID=${get("/api/integrations", "id")}`)
    .replaceAll("<runId>", get("/api/integrations/$ID/runs", "id"));
}

Deno.test("the README's API examples run as written against a real host", async () => {
  await ensureCurl();
  const examples = apiExamples(await Deno.readTextFile(README));
  ok(examples.length >= 4, `only ${examples.length} API examples found in the README`);
  const dir = await Deno.makeTempDir({ prefix: "readme-" });
  await installPlugin(`${dir}/plugins`);
  const sim = new MimecastSimulator();
  const start = Date.now() - 3 * 86_400_000;
  for (const logType of ["url", "attachment", "impersonation"] as const) {
    sim.add(logType, generateRecords(logType, 150, { start, stepMs: 60_000 }));
  }
  const stopSim = new AbortController();
  const mimecast = serveSimulator(sim, { signal: stopSim.signal });
  const receiver = serveReceiver();
  // No HOST_ADMIN_TOKEN: the host makes one in data/admin.token, which the README reads. The
  // simulator and the receiver listen on 127.0.0.1, which takes HOST_ALLOW_LOOPBACK=1.
  const host = await spawnHost({
    HOST_DATA_DIR: `${dir}/data`,
    HOST_PLUGINS_DIR: `${dir}/plugins`,
  });
  const places = { host: host.url, mimecast: mimecast.url, webhook: receiver.url };
  try {
    const script = [
      "set -euo pipefail",
      // Every curl of the examples fails on an answer that is not 2xx, showing the answer.
      `curl() { ${CURL} --fail-with-body -sS -w '\\n' "$@"; }`,
      // Between examples, as a reader would, wait until the integration has no run going.
      `settle() { [ -z "\${ID:-}" ] && return 0; for _ in $(seq 150); do command curl -s -H "Authorization: Bearer $TOKEN" ${places.host}/api/integrations/$ID | grep -q '"runningRunId":null' && return 0; sleep 0.2; done; }`,
      ...examples.map((block, i) =>
        `settle\necho '### example ${i + 1}'\n${filledIn(block, places)}`
      ),
    ].join("\n");
    const { code, stdout, stderr } = await new Deno.Command("bash", {
      args: ["-c", script],
      cwd: dir,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(stdout);
    const err = new TextDecoder().decode(stderr);
    const trail = `\n--- output (its end) ---\n${
      out.slice(-4000)
    }\n--- errors ---\n${err}\n--- host log ---\n${host.logs.slice(-30).join("\n")}`;
    ok(code === 0, `an example failed (exit ${code})${trail}`);
    // Each example ran and said what the README says it says.
    ok(out.includes(`### example ${examples.length}`), `not every example ran${trail}`);
    match(out, /"id":"mimecast"/, `GET /api/plugins lists the plugin${trail}`);
    match(
      out,
      /"destination":\{[^}]*"secret":"whsec_/,
      `the create answer holds the generated secret${trail}`,
    );
    match(out, /\{"ok":true,"results":\[\{"logType":"url","ok":true/, `check passes${trail}`);
    match(out, /"alerts":\[\{"id":"/, `preview shows the alerts a run would send${trail}`);
    match(out, /"runId":"[^"]+"/, `a run was started${trail}`);
    match(out, /"status":"(running|succeeded)"/, `the run could be read back${trail}`);
    // What the webhook section promises: signed batches under the secret the create answer gave.
    const secret = /"secret":"(whsec_[^"]+)"/.exec(out)![1];
    await until(() => receiver.received.length > 0, 30_000, "a delivery");
    const hook = new Webhook(secret);
    for (const delivered of receiver.received) {
      const verified = hook.verify(delivered.body, {
        "webhook-id": delivered.id,
        "webhook-timestamp": delivered.timestamp,
        "webhook-signature": delivered.signature,
      }) as { type: string };
      equal(verified.type, "mimecast.alerts");
    }
  } finally {
    await host.stop();
    await receiver.close();
    stopSim.abort();
    await mimecast.finished;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the README shows every console page, from images that exist", async () => {
  const readme = await Deno.readTextFile(README);
  for (const name of Object.keys(SCREENSHOTS)) {
    const path = `docs/img/${name}.png`;
    ok(readme.includes(`](${path})`), `the README shows no ${path}`);
    const bytes = await Deno.readFile(new URL(`../${path}`, import.meta.url));
    equal([...bytes.subarray(1, 4)].map((b) => String.fromCharCode(b)).join(""), "PNG", path);
  }
});
