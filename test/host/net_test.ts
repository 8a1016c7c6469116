import { equal, rejects } from "node:assert/strict";
import { HostError } from "../../host/errors.ts";
import { limitedFetch, pluginUrlProblem, webhookUrlProblem } from "../../host/net.ts";

const NET = ["*.mimecast.com", "*.services.mimecast.com"];

Deno.test("plugins reach only https hosts in permissions.net; loopback only when allowed", () => {
  const ok = (url: string, loopback = false) =>
    pluginUrlProblem(new URL(url), NET, loopback) === undefined;
  equal(ok("https://api.services.mimecast.com/oauth/token"), true);
  equal(ok("https://eu-api.mimecast.com/api/ttp/url/get-logs"), true);
  equal(ok("http://eu-api.mimecast.com/"), false);
  equal(ok("https://evil.example/"), false);
  equal(ok("https://169.254.169.254/"), false);
  equal(ok("http://127.0.0.1:9000/"), false);
  equal(ok("http://127.0.0.1:9000/", true), true);
  equal(ok("http://localhost:9000/", true), true);
});

Deno.test("limitedFetch() refuses with NET_DENIED naming the plugin, and never follows redirects", async () => {
  let seen: RequestInit | undefined;
  const fake: typeof fetch = (_input, init) => {
    seen = init;
    return Promise.resolve(
      new Response(null, { status: 302, headers: { Location: "http://169.254.169.254/" } }),
    );
  };
  const f = limitedFetch("mimecast", NET, false, fake);
  await rejects(
    f("https://attacker.example/"),
    (e: HostError) => e.code === "NET_DENIED" && e.message.startsWith("[plugin mimecast]"),
  );
  const response = await f("https://eu-api.mimecast.com/x", { method: "POST" });
  equal(response.status, 302);
  equal(seen?.redirect, "manual");
});

Deno.test("webhook URLs must be https, credential-free, and not link-local or metadata", () => {
  equal(webhookUrlProblem("https://siem.example.com/hook", false), undefined);
  equal(webhookUrlProblem("https://10.1.2.3/hook", false), undefined);
  equal(typeof webhookUrlProblem("http://siem.example.com/hook", false), "string");
  equal(typeof webhookUrlProblem("https://169.254.169.254/latest/meta-data", false), "string");
  equal(typeof webhookUrlProblem("https://[fe80::1]/", false), "string");
  equal(typeof webhookUrlProblem("https://metadata.google.internal/", false), "string");
  equal(typeof webhookUrlProblem("https://user:pass@siem.example.com/", false), "string");
  equal(typeof webhookUrlProblem("file:///etc/passwd", true), "string");
  equal(typeof webhookUrlProblem("not a url", false), "string");
  equal(typeof webhookUrlProblem("http://127.0.0.1:8000/", false), "string");
  equal(webhookUrlProblem("http://127.0.0.1:8000/", true), undefined);
});
