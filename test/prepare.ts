/**
 * Gets what the tests need before they run, so the README's test command alone passes on a fresh
 * machine (SPEC §7): Debian's chromium for the browser tests, curl for the README's examples
 * (`test/readme_test.ts`) and postgresql for the PostgreSQL store's tests (`test/_postgres.ts`
 * starts a throwaway server from its programs), each installed with apt-get when it is missing and
 * we are root.
 * Anything it cannot get ends the command with what to do.
 * @module
 */

import { postgresBin } from "./_postgres.ts";

/** Where the browser tests expect Chromium. */
export const CHROMIUM = "/usr/bin/chromium";

/** Where the README's examples find curl. */
export const CURL = "/usr/bin/curl";

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

async function sh(command: string, args: string[]): Promise<{ ok: boolean; output: string }> {
  const { success, stdout, stderr } = await new Deno.Command(command, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { ok: success, output: `${decode(stdout)}${decode(stderr)}`.slice(-2000) };
}

/** Installs a Debian package when `path` is missing; throws with what to do when it cannot. */
function ensurePackage(name: string, path: string, why: string): Promise<void> {
  return ensureInstalled(name, { present: () => exists(path), missing: path, why });
}

/**
 * Installs a Debian package when `present` says it is not there; throws with what to do when it
 * cannot (`missing` names what was looked for).
 */
async function ensureInstalled(
  name: string,
  options: { present: () => Promise<boolean>; missing: string; why: string },
): Promise<void> {
  if (await options.present()) return;
  if (Deno.uid() !== 0) {
    throw new Error(
      `${options.missing} is missing and only root can install it: run "sudo apt-get install -y ${name}", then the tests again`,
    );
  }
  console.error(`Installing Debian's ${name} for ${options.why} (apt-get) ...`);
  const update = await sh("apt-get", ["update", "-qq"]);
  const install = update.ok ? await sh("apt-get", ["install", "-y", "-qq", name]) : update;
  if (!install.ok || !(await options.present())) {
    throw new Error(`Cannot install ${name} with apt-get:\n${install.output}`);
  }
}

/**
 * Installs Debian's postgresql when no `/usr/lib/postgresql/<version>/bin/initdb` is there (the
 * tests start their own server from it; the package's own cluster is not used).
 */
export function ensurePostgres(): Promise<void> {
  return ensureInstalled("postgresql", {
    present: async () => (await postgresBin()) !== undefined,
    missing: "/usr/lib/postgresql/<version>/bin/initdb",
    why: "the PostgreSQL store's tests",
  });
}

/** Installs Debian's chromium when it is missing; throws with what to do when it cannot. */
export function ensureChromium(): Promise<void> {
  return ensurePackage("chromium", CHROMIUM, "the browser tests");
}

/** Installs curl when it is missing; throws with what to do when it cannot. */
export function ensureCurl(): Promise<void> {
  return ensurePackage("curl", CURL, "the README's examples");
}

if (import.meta.main) {
  try {
    await ensureChromium();
    await ensureCurl();
    await ensurePostgres();
  } catch (error) {
    console.error(`Cannot prepare the tests: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
