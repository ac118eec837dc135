/**
 * A PostgreSQL cluster of the test's own (initdb + pg_ctl in a temporary folder, its own port and
 * socket folder), for tests that stop PostgreSQL: the machine's shared server is never stopped.
 * The cluster runs as the `postgres` system user (initdb refuses root) with trust authentication
 * on 127.0.0.1 only. `url` is a base URL for createTestDatabase(url).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

function pgBin(name: string): string {
  const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return join('/usr/lib/postgresql', versions[0], 'bin', name);
}

export interface PrivatePostgres {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  port: number;
  /** Stop the server (fast shutdown: sessions are ended, as an operator's `systemctl stop` does). */
  stop(): Promise<void>;
  /** Start it again on the same port and data. */
  start(): Promise<void>;
  /** Stop for good and remove the data folder. */
  destroy(): Promise<void>;
  /** The cluster's folder (its Unix socket is there; `data/` holds the cluster), owned by postgres. */
  dir: string;
  /** Re-read the configuration, pg_hba.conf and the TLS files (`pg_ctl reload`). */
  reload(): Promise<void>;
}

export interface PrivatePostgresOptions {
  /** listen_addresses (default 127.0.0.1). */
  listenAddresses?: string;
  /** More `-c name=value` settings (e.g. ssl=on). */
  settings?: string[];
  /** Written to data/pg_hba.conf before the first start, replacing initdb's (trust on 127.0.0.1). */
  hba?: string;
}

export async function startPrivatePostgres(port: number, opts: PrivatePostgresOptions = {}): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'spk-private-pg-'));
  const data = join(dir, 'data');
  // The cluster's files belong to the postgres user; run its tools as that user.
  const asPostgres = (bin: string, args: string[]) =>
    run('runuser', ['-u', 'postgres', '--', pgBin(bin), ...args], { cwd: dir, timeout: 60_000 });
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  await asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  if (opts.hba !== undefined) {
    writeFileSync(join(data, 'pg_hba.conf'), opts.hba);
    chownSync(join(data, 'pg_hba.conf'), Number(uid.trim()), Number(gid.trim()));
  }
  const extra = (opts.settings ?? []).map((s) => ` -c ${s}`).join('');
  const options = `-c listen_addresses=${opts.listenAddresses ?? '127.0.0.1'} -c port=${port} -c unix_socket_directories=${dir} -c fsync=off -c full_page_writes=off -c max_connections=60 -c shared_buffers=32MB${extra}`;
  const start = async () => {
    await asPostgres('pg_ctl', ['start', '-D', data, '-w', '-t', '30', '-l', join(dir, 'server.log'), '-o', options]);
  };
  const stop = async () => {
    await asPostgres('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '30']);
  };
  await start();
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async reload() {
      await asPostgres('pg_ctl', ['reload', '-D', data]);
    },
    async stop() {
      await stop();
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async destroy() {
      if (running) await run('runuser', ['-u', 'postgres', '--', pgBin('pg_ctl'), 'stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
