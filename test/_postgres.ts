/**
 * A throwaway PostgreSQL server for the tests (SPEC §5.7: the real server, no mock): Debian's
 * `postgresql` (installed by test/prepare.ts when missing), a cluster made by `initdb` in a temp
 * folder as the `postgres` user (initdb refuses root), started by `pg_ctl` on 127.0.0.1 at a free
 * port with its unix socket in the same folder, and removed when stopped.
 * @module
 */

/** Where Debian's PostgreSQL server programs are: the newest installed major version. */
export async function postgresBin(): Promise<string | undefined> {
  try {
    const versions: number[] = [];
    for await (const entry of Deno.readDir("/usr/lib/postgresql")) {
      if (entry.isDirectory && /^\d+$/.test(entry.name)) versions.push(Number(entry.name));
    }
    if (versions.length === 0) return undefined;
    const bin = `/usr/lib/postgresql/${Math.max(...versions)}/bin`;
    await Deno.stat(`${bin}/initdb`);
    return bin;
  } catch {
    return undefined;
  }
}

/** A running throwaway server. */
export interface TestPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/<database>` */
  url: string;
  port: number;
  /** The folder of the server's unix socket (`.s.PGSQL.<port>`). */
  socketDir: string;
  /**
   * Stops the server (fast shutdown: every client's connection is cut) and starts it again on the
   * same port. Not `immediate`: with synchronous_commit off, that loses the last commits.
   */
  restart(): Promise<void>;
  /** Makes another empty database on the server and returns its URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

async function run(
  command: string,
  args: string[],
  options: { user?: string; env?: Record<string, string> } = {},
) {
  const [cmd, argv] = options.user && Deno.uid() === 0
    ? ["runuser", ["-u", options.user, "--", command, ...args]]
    : [command, args];
  const { success, stdout, stderr } = await new Deno.Command(cmd, {
    args: argv,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  if (!success) throw new Error(`${command} ${args.join(" ")} failed:\n${text.slice(-2000)}`);
  return text;
}

/** A free TCP port on 127.0.0.1. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Starts a throwaway PostgreSQL server; throws with what to do when it cannot. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = await postgresBin();
  if (!bin) {
    throw new Error(
      "PostgreSQL is not installed: run the tests through `deno task test` (test/prepare.ts installs Debian's postgresql), or `apt-get install -y postgresql`",
    );
  }
  // A folder the postgres user can enter (not under /root), owned by it when we are root.
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "pg-test-" });
  const data = `${dir}/data`;
  const user = Deno.uid() === 0 ? "postgres" : undefined;
  let port: number;
  try {
    await Deno.chmod(dir, 0o755);
    if (user) await run("chown", ["postgres:postgres", dir]);
    await run(`${bin}/initdb`, [
      "-D",
      data,
      "-U",
      "postgres",
      "-A",
      "trust",
      "--no-sync",
      "-E",
      "UTF8",
    ], {
      user,
      env: { LC_ALL: "C" },
    });
    port = await startServer(bin, { dir, user });
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  const url = (name: string) => `postgres://postgres@127.0.0.1:${port}/${name}`;
  let stopped = false;
  return {
    url: url("postgres"),
    port,
    socketDir: dir,
    async database(name: string) {
      await run(
        `${bin}/createdb`,
        ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", name],
        {
          user,
        },
      );
      return url(name);
    },
    async restart() {
      await run(`${bin}/pg_ctl`, ["-D", data, "-m", "fast", "-w", "stop"], { user });
      await startServer(bin, { dir, user, port });
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], { user }).catch(
        () => {},
      );
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/**
 * Starts the cluster in `dir` on `port`, or a free one; returns the port. Another process may take the port
 * between our probe and the server's bind (tests run side by side), so a bind failure tries
 * another port; any other failure throws with the end of the server's log.
 */
async function startServer(
  bin: string,
  options: { dir: string; user?: string; port?: number },
): Promise<number> {
  const { dir, user } = options;
  for (let attempt = 1;; attempt++) {
    const port = options.port ?? freePort();
    try {
      await run(`${bin}/pg_ctl`, [
        "-D",
        `${dir}/data`,
        "-l",
        `${dir}/server.log`,
        "-w",
        "-o",
        `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`,
        "start",
      ], { user });
      return port;
    } catch (error) {
      const log = await Deno.readTextFile(`${dir}/server.log`).catch(() => "");
      const busy = /could not bind|already in use/i.test(log);
      if (attempt < 3 && busy && options.port === undefined) continue;
      throw new Error(`${(error as Error).message}\nserver.log:\n${log.slice(-2000)}`);
    }
  }
}
