/**
 * Where traffic may go (SPEC §5.6), one table over the forms an address can take. Each row is
 * checked four ways: the quick check on the text when a webhook URL is saved; the check at
 * connection time on the addresses the host resolves (a stub resolver plays DNS); a real webhook
 * delivery; and a plugin's `ctx.fetch`. The network is a fake that records what reached it.
 */
import { deepStrictEqual, equal, match } from "node:assert/strict";
import { Delivery, generateWebhookSecret } from "../../../host/delivery.ts";
import { HostError } from "../../../host/errors.ts";
import {
  checkedAddresses,
  limitedFetch,
  pluginUrlProblem,
  type Resolver,
  webhookUrlProblem,
} from "../../../host/net.ts";
import type { BatchRow, HostStore } from "../../../host/store/mod.ts";
import { FakeClock, memoryLogger } from "../../_helpers.ts";

/** What DNS answers for the names in the table. */
const DNS: Record<string, string[]> = {
  "localhost": ["127.0.0.1", "::1"],
  "siem.example": ["93.184.215.14"],
  "evil.example": ["127.0.0.1"],
  "mapped.example": ["::ffff:127.0.0.1"],
  "meta.example": ["169.254.169.254"],
  "linklocal6.example": ["fe80::1"],
  "zero.example": ["0.0.0.0"],
  "multicast.example": ["239.1.1.1"],
  "aws6.example": ["fd00:ec2::254"],
  "corp.example": ["10.0.0.5"],
  "exact.example": ["10.0.0.7"],
  "mixed.example": ["93.184.215.14", "127.0.0.1"],
  "mixed6.example": ["2606:2800:21f:cb07:6820:80da:af6b:8b2c", "fe80::2"],
};

const resolver: Resolver = (name) =>
  DNS[name] ? Promise.resolve(DNS[name]) : Promise.reject(new Deno.errors.NotFound("no records"));

/** A plugin's permissions.net for the table: every *.example name, and one named exactly. */
const PERMISSIONS = ["*.example", "exact.example"];

/**
 * One address form. `save`: the webhook URL is accepted when saved. `connect`: the reason the
 * connection-time check gives (webhook rules, loopback off), or "ok". `plugin`: a plugin's fetch
 * (permissions above, loopback off) reaches the network.
 */
interface Row {
  form: string;
  url: string;
  save: boolean;
  connect: string;
  plugin: boolean;
}

// deno-fmt-ignore: one row per line reads as the table it is
const ROWS: Row[] = [
  // loopback, every spelling
  { form: "IPv4 loopback", url: "https://127.0.0.1/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "elsewhere in 127/8", url: "https://127.1.2.3/", save: false, connect: "loopback 127.1.2.3", plugin: false },
  { form: "decimal IPv4", url: "https://2130706433/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "octal IPv4", url: "https://017700000001/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "hex IPv4", url: "https://0x7f.1/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "dotted octal IPv4", url: "https://0177.0.0.01/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "IPv4 with a trailing dot", url: "https://127.0.0.1./", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "localhost", url: "https://localhost/", save: false, connect: "loopback localhost", plugin: false },
  { form: "localhost with a trailing dot", url: "https://localhost./", save: false, connect: "loopback localhost", plugin: false },
  { form: "localhost in capitals", url: "https://LocalHost/", save: false, connect: "loopback localhost", plugin: false },
  { form: "a *.localhost name", url: "https://app.localhost/", save: false, connect: "loopback app.localhost", plugin: false },
  { form: "IPv6 loopback", url: "https://[::1]/", save: false, connect: "loopback ::1", plugin: false },
  { form: "IPv4-mapped loopback", url: "https://[::ffff:7f00:1]/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "IPv4-mapped loopback, dotted", url: "https://[::ffff:127.0.0.1]/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "IPv4-compatible loopback", url: "https://[::127.0.0.1]/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "NAT64 loopback", url: "https://[64:ff9b::7f00:1]/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  { form: "6to4 loopback", url: "https://[2002:7f00:1::]/", save: false, connect: "loopback 127.0.0.1", plugin: false },
  // link-local and cloud metadata
  { form: "cloud metadata IPv4", url: "https://169.254.169.254/", save: false, connect: "the cloud metadata address 169.254.169.254, never allowed", plugin: false },
  { form: "cloud metadata, decimal", url: "https://2852039166/", save: false, connect: "the cloud metadata address 169.254.169.254", plugin: false },
  { form: "cloud metadata, IPv4-mapped", url: "https://[::ffff:a9fe:a9fe]/", save: false, connect: "the cloud metadata address 169.254.169.254", plugin: false },
  { form: "cloud metadata, AWS IPv6", url: "https://[fd00:ec2::254]/", save: false, connect: "the cloud metadata address fd00:ec2::254", plugin: false },
  { form: "cloud metadata, Alibaba", url: "https://100.100.100.200/", save: false, connect: "the cloud metadata address 100.100.100.200", plugin: false },
  { form: "metadata.google.internal", url: "https://metadata.google.internal/", save: false, connect: "the cloud metadata address metadata.google.internal", plugin: false },
  { form: "metadata.google.internal.", url: "https://metadata.google.internal./", save: false, connect: "the cloud metadata address metadata.google.internal", plugin: false },
  { form: "IPv4 link-local", url: "https://169.254.1.1/", save: false, connect: "link-local 169.254.1.1, never allowed", plugin: false },
  { form: "IPv6 link-local", url: "https://[fe80::1]/", save: false, connect: "link-local fe80::1", plugin: false },
  // unspecified, multicast, reserved
  { form: "0.0.0.0", url: "https://0.0.0.0/", save: false, connect: "the unspecified address 0.0.0.0", plugin: false },
  { form: "0 (shorthand of 0.0.0.0)", url: "https://0/", save: false, connect: "the unspecified address 0.0.0.0", plugin: false },
  { form: "elsewhere in 0/8", url: "https://0.1.2.3/", save: false, connect: "the unspecified address 0.1.2.3", plugin: false },
  { form: "[::]", url: "https://[::]/", save: false, connect: "the unspecified address ::", plugin: false },
  { form: "IPv4 multicast", url: "https://224.0.0.1/", save: false, connect: "multicast 224.0.0.1", plugin: false },
  { form: "IPv6 multicast", url: "https://[ff02::1]/", save: false, connect: "multicast ff02::1", plugin: false },
  { form: "broadcast", url: "https://255.255.255.255/", save: false, connect: "the reserved address 255.255.255.255", plugin: false },
  // private: webhooks yes, plugins only when named
  { form: "private 10/8", url: "https://10.1.2.3/", save: true, connect: "ok", plugin: false },
  { form: "private 192.168/16", url: "https://192.168.1.10/", save: true, connect: "ok", plugin: false },
  { form: "private 172.16/12", url: "https://172.20.0.1/", save: true, connect: "ok", plugin: false },
  { form: "IPv6 unique local", url: "https://[fd12:3456::1]/", save: true, connect: "ok", plugin: false },
  { form: "public IPv4 literal", url: "https://93.184.215.14/", save: true, connect: "ok", plugin: false },
  // names, through DNS
  { form: "name → public", url: "https://siem.example/", save: true, connect: "ok", plugin: true },
  { form: "name → loopback", url: "https://evil.example/", save: true, connect: "loopback 127.0.0.1", plugin: false },
  { form: "name → IPv4-mapped loopback", url: "https://mapped.example/", save: true, connect: "loopback 127.0.0.1", plugin: false },
  { form: "name → cloud metadata", url: "https://meta.example/", save: true, connect: "the cloud metadata address 169.254.169.254", plugin: false },
  { form: "name → IPv6 link-local", url: "https://linklocal6.example/", save: true, connect: "link-local fe80::1", plugin: false },
  { form: "name → 0.0.0.0", url: "https://zero.example/", save: true, connect: "the unspecified address 0.0.0.0", plugin: false },
  { form: "name → multicast", url: "https://multicast.example/", save: true, connect: "multicast 239.1.1.1", plugin: false },
  { form: "name → AWS IPv6 metadata", url: "https://aws6.example/", save: true, connect: "the cloud metadata address fd00:ec2::254", plugin: false },
  { form: "name → private (wildcard match)", url: "https://corp.example/", save: true, connect: "ok", plugin: false },
  { form: "name → private, named exactly", url: "https://exact.example/", save: true, connect: "ok", plugin: true },
  { form: "name → one good, one loopback", url: "https://mixed.example/", save: true, connect: "loopback 127.0.0.1", plugin: false },
  { form: "name → one good, one link-local", url: "https://mixed6.example/", save: true, connect: "link-local fe80::2", plugin: false },
  { form: "name with a trailing dot → loopback", url: "https://evil.example./", save: true, connect: "loopback 127.0.0.1", plugin: false },
];

/** A fake network that records what reached it and answers 200. */
function network() {
  const reached: string[] = [];
  const fetch: typeof globalThis.fetch = (input) => {
    reached.push(input instanceof Request ? input.url : String(input));
    return Promise.resolve(new Response(null, { status: 200 }));
  };
  return { fetch, reached };
}

/** A one-batch outbox; `written` records what delivery wrote back. */
function oneBatchStore() {
  const batch = { seq: 1, webhookId: "msg_1", body: "{}", alertCount: 1 } as BatchRow;
  const written = { attempts: [] as string[], dead: [] as string[], delivered: 0 };
  const store = {
    nextPending: (_id: string, after = 0) =>
      after < batch.seq && written.dead.length === 0 && written.delivered === 0 ? batch : undefined,
    markDelivered: () => void written.delivered++,
    noteAttempt: (_seq: number, error: string) => void written.attempts.push(error),
    markDead: (_batch: BatchRow, error: string) => void written.dead.push(error),
  };
  return { store: store as unknown as HostStore, written };
}

async function deliver(url: string, allowLoopback: boolean) {
  const net = network();
  const { store, written } = oneBatchStore();
  const delivery = new Delivery({
    store,
    fetch: net.fetch,
    allowLoopback,
    network: { resolver },
    clock: new FakeClock(0),
    logger: memoryLogger(),
    policy: { attempts: 1 },
  });
  const secret = generateWebhookSecret();
  const error = await delivery.drain("int-1", () => Promise.resolve({ url, secret })).then(
    () => undefined,
    (e: HostError) => e,
  );
  return { error, written, reached: net.reached };
}

for (const row of ROWS) {
  Deno.test(`address rules: ${row.form} (${row.url})`, async (t) => {
    await t.step("saved as a webhook URL: the quick text check", () => {
      equal(webhookUrlProblem(row.url, false) === undefined, row.save);
    });

    await t.step("at connection time, on the resolved addresses", async () => {
      const rule = { allowLoopback: false, allowPrivate: true };
      const outcome = await checkedAddresses(new URL(row.url), rule, { resolver }).then(
        () => "ok",
        (e: HostError) => {
          equal(e.code, "NET_DENIED");
          return e.message;
        },
      );
      if (row.connect === "ok") equal(outcome, "ok");
      else match(outcome, new RegExp(`: it resolves to ${escape(row.connect)}`));
    });

    await t.step(
      "delivered as a webhook, or refused with NET_DENIED and nothing sent",
      async () => {
        const { error, written, reached } = await deliver(row.url, false);
        const allowed = row.save && row.connect === "ok";
        if (allowed) {
          equal(error, undefined);
          equal(written.delivered, 1);
          deepStrictEqual(reached, [row.url]);
          return;
        }
        equal(error?.code, "NET_DENIED");
        match(error.message, /^Cannot deliver batch to webhook: Cannot reach /);
        deepStrictEqual(reached, [], "nothing reached the network");
        deepStrictEqual(written.dead, [], "a refusal dead-letters nothing: the batch waits");
        equal(written.attempts.length, 1, "and is not retried");
      },
    );

    await t.step("reached by a plugin's ctx.fetch, or refused with NET_DENIED", async () => {
      const net = network();
      const f = limitedFetch("p", PERMISSIONS, false, net.fetch, { resolver });
      const error = await f(row.url).then(() => undefined, (e: HostError) => e);
      if (row.plugin) {
        equal(error, undefined);
        deepStrictEqual(net.reached, [row.url]);
        return;
      }
      equal(error instanceof HostError && error.code, "NET_DENIED");
      match(error!.message, /^\[plugin p\] Cannot reach /);
      deepStrictEqual(net.reached, []);
    });

    await t.step("the plugin save-time check never accepts what connecting refuses", () => {
      const accepted = pluginUrlProblem(new URL(row.url), PERMISSIONS, false) === undefined;
      if (row.plugin) equal(accepted, true);
      if (!row.save) equal(accepted, false);
    });
  });
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("with HOST_ALLOW_LOOPBACK=1 loopback in every form is reached, and metadata still is not", async () => {
  for (
    const url of [
      "http://127.0.0.1:9702/hook",
      "https://[::ffff:7f00:1]/",
      "http://localhost./hook",
      "https://evil.example/",
      "https://0x7f.1/",
    ]
  ) {
    equal(webhookUrlProblem(url, true), undefined, url);
    const { error, reached } = await deliver(url, true);
    equal(error, undefined, url);
    deepStrictEqual(reached, [url]);
  }
  for (
    const url of ["https://[::ffff:a9fe:a9fe]/", "https://meta.example/", "https://[fe80::1]/"]
  ) {
    const { error, reached } = await deliver(url, true);
    equal(error?.code, "NET_DENIED", url);
    deepStrictEqual(reached, []);
  }
  const plugin = limitedFetch("p", PERMISSIONS, true, network().fetch, { resolver });
  equal((await plugin("http://localhost:9701/")).status, 200);
  equal((await plugin("https://evil.example/")).status, 200);
  await plugin("https://meta.example/").then(
    () => {
      throw new Error("reached metadata");
    },
    (e: HostError) => equal(e.code, "NET_DENIED"),
  );
});

Deno.test("a name that does not resolve fails with NET_FAILED naming DNS, and is retried", async () => {
  const { error, written } = await deliver("https://nowhere.example/hook", false);
  equal(error?.code, "DELIVERY_FAILED");
  deepStrictEqual(written.attempts, [
    "Cannot deliver batch to webhook at nowhere.example: DNS lookup failed (name not found)",
  ]);
  const f = limitedFetch("p", PERMISSIONS, false, network().fetch, { resolver });
  const thrown = await f("https://nowhere.example/").catch((e) => e);
  equal(thrown.code, "NET_FAILED");
  equal(thrown.message, "Cannot connect to nowhere.example: DNS lookup failed (name not found)");
});

Deno.test("the message says where and why: the form of the brief", async () => {
  const thrown = await checkedAddresses(new URL("https://[::ffff:7f00:1]/"), {
    allowLoopback: false,
    allowPrivate: true,
  }).catch((e) => e);
  equal(
    thrown.message,
    "Cannot reach https://[::ffff:7f00:1]/: it resolves to loopback 127.0.0.1, allowed only with HOST_ALLOW_LOOPBACK=1",
  );
  const mixed = await checkedAddresses(
    new URL("https://mixed.example/"),
    { allowLoopback: false, allowPrivate: true },
    { resolver },
  ).catch((e) => e);
  equal(
    mixed.message,
    "Cannot reach https://mixed.example/: it resolves to loopback 127.0.0.1, allowed only with HOST_ALLOW_LOOPBACK=1 (its addresses: 93.184.215.14, 127.0.0.1)",
  );
});
