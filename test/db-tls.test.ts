/**
 * The control plane's database connection across servers, live (issue 12, defect 5): the
 * multi-server inventory puts PostgreSQL on a data server of its own, and the roles make it
 * TLS only. What the postgresql role configures there — `ssl = on`, TLS 1.2 at least,
 * scram-sha-256, `hostssl` lines for the control planes' addresses and no `host` line — on a
 * private PostgreSQL in the test namespace (port 5432 as the role's URL says), with a server
 * certificate from a CA of the test's own; and the control plane's own connection code
 * (createDataSource, as main.ts, the worker and the CLI use it) with the DATABASE_URL the
 * spreekkamer role renders: `…?sslmode=verify-full&sslrootcert=<the hospital CA>` (the exact form
 * is pinned on the rendered multi-server configuration by scripts/test-deploy.sh).
 *
 * Proven: it connects over TLS, to an address (the inventory's form: the certificate names the
 * IP in its subjectAltName) and to a host name; a server certificate for another name, or for the
 * right name from another CA, is refused before a password is sent; without TLS the server
 * refuses the connection.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createDataSource } from '../control/src/db/data-source.js';
import { startPrivatePostgres, type PrivatePostgres } from './support/private-postgres.js';

/** The data server's address in the test namespace (v0 of scripts/with-netns.sh). */
const DATA_ADDR = '10.77.0.1';
/** The role's URL has the port fixed (spreekkamer_database_url). */
const PORT = 5432;
const PASSWORD = randomBytes(18).toString('base64url');

let pgServer: PrivatePostgres;
let dir: string;
const certs: Record<'good' | 'otherName' | 'otherCa', { crt: string; key: string }> = {} as never;

const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

/** A CA (self-signed) in dir/<name>.crt, .key. */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-keyout', `${name}.key`, '-out', `${name}.crt`);
}

/** A server certificate for the given subjectAltName, signed by the CA `ca`. */
function makeServerCert(name: string, ca: string, san: string): { crt: string; key: string } {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
  return { crt: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
}

/** The certificate PostgreSQL serves (the files the role installs: key 0600, the server's own). */
function install(cert: { crt: string; key: string }): void {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  for (const [from, to] of [[cert.crt, 'server.crt'], [cert.key, 'server.key']] as const) {
    copyFileSync(from, join(dir, to));
    chownSync(join(dir, to), uid, gid);
    chmodSync(join(dir, to), 0o600);
  }
}

/** Serve another certificate from now on (PostgreSQL re-reads its TLS files on reload). */
async function serve(cert: { crt: string; key: string }): Promise<void> {
  install(cert);
  await pgServer.reload();
  await new Promise((r) => setTimeout(r, 500));
}

/** DATABASE_URL exactly as the spreekkamer role renders it for a database on another server. */
const roleUrl = (host: string, ca = join(dir, 'hospital-ca.crt')) =>
  `postgres://spreekkamer:${encodeURIComponent(PASSWORD)}@${host}:${PORT}/spreekkamer?sslmode=verify-full&sslrootcert=${ca}`;

/** Connect with the control plane's own code; the TLS details of the session, or the error. */
async function connect(url: string): Promise<{ ssl: boolean; version: string; user: string } | Error> {
  const ds = createDataSource(url, { poolSize: 1, applicationName: 'spreekkamer-tls-test' });
  try {
    await ds.initialize();
    const [row] = (await ds.query('SELECT s.ssl, s.version, current_user AS "user" FROM pg_stat_ssl s WHERE s.pid = pg_backend_pid()')) as Array<{
      ssl: boolean;
      version: string;
      user: string;
    }>;
    return row!;
  } catch (err) {
    return err as Error;
  } finally {
    if (ds.isInitialized) await ds.destroy();
  }
}

beforeAll(async () => {
  // Port 5432 on 10.77.0.1: the test namespace's own (the machine's PostgreSQL has 5432 outside).
  if (!process.env.SPK_NETNS) throw new Error('run inside scripts/with-netns.sh (SPK_NETNS is not set)');
  dir = mkdtempSync(join(tmpdir(), 'spk-db-tls-'));
  makeCa('hospital-ca');
  makeCa('other-ca');
  const san = `DNS:localhost,IP:${DATA_ADDR},IP:127.0.0.1`;
  certs.good = makeServerCert('data1', 'hospital-ca', san);
  certs.otherName = makeServerCert('elsewhere', 'hospital-ca', 'DNS:db.elsewhere.test,IP:10.77.0.99');
  certs.otherCa = makeServerCert('impostor', 'other-ca', san);

  chmodSync(dir, 0o711); // the server (user postgres) reads its two files here
  install(certs.good);
  pgServer = await startPrivatePostgres(PORT, {
    listenAddresses: `127.0.0.1,${DATA_ADDR}`,
    // roles/postgresql/templates/spreekkamer.conf.j2 with postgresql_tls (the files' paths differ).
    settings: ['ssl=on', `ssl_cert_file=${join(dir, 'server.crt')}`, `ssl_key_file=${join(dir, 'server.key')}`, 'ssl_min_protocol_version=TLSv1.2', 'password_encryption=scram-sha-256'],
    // roles/postgresql/tasks/main.yml: hostssl + scram-sha-256 per control plane address, no
    // `host` line for them; the superuser over the Unix socket only (peer auth there).
    hba: [
      'local all postgres trust',
      `hostssl spreekkamer spreekkamer ${DATA_ADDR}/32 scram-sha-256`,
      'hostssl spreekkamer spreekkamer 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  });
  const admin = new pg.Client({ host: pgServer.dir, port: PORT, user: 'postgres', database: 'postgres' });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE spreekkamer LOGIN PASSWORD '${PASSWORD}'`);
    await admin.query('CREATE DATABASE spreekkamer OWNER spreekkamer');
  } finally {
    await admin.end();
  }
}, 120_000);

afterAll(async () => {
  await pgServer?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the control plane to PostgreSQL on another server: verify-full against the hospital CA', () => {
  test('connects over TLS with the URL the role renders, by address (as the inventory) and by host name', async () => {
    await serve(certs.good);
    for (const host of [DATA_ADDR, 'localhost']) {
      const got = await connect(roleUrl(host));
      if (got instanceof Error) throw got;
      expect(got).toMatchObject({ ssl: true, user: 'spreekkamer' });
      expect(['TLSv1.2', 'TLSv1.3']).toContain(got.version);
    }
  });

  test('a certificate for another name, or for this name from another CA, is refused', async () => {
    await serve(certs.otherName);
    const wrongName = await connect(roleUrl(DATA_ADDR));
    expect(wrongName).toBeInstanceOf(Error);
    expect(String((wrongName as Error).message)).toMatch(/does not match certificate's altnames/);
    const wrongNameByHost = await connect(roleUrl('localhost'));
    expect(String((wrongNameByHost as Error).message)).toMatch(/does not match certificate's altnames/);

    await serve(certs.otherCa);
    const otherCa = await connect(roleUrl(DATA_ADDR));
    expect(otherCa).toBeInstanceOf(Error);
    expect(String((otherCa as Error).message)).toMatch(/self[- ]signed certificate in certificate chain|unable to verify/);
    // The same impostor with the impostor's CA named as root: accepted — the CA file is what
    // decides, so sslrootcert is really read.
    const withItsCa = await connect(roleUrl(DATA_ADDR, join(dir, 'other-ca.crt')));
    if (withItsCa instanceof Error) throw withItsCa;
    expect(withItsCa.ssl).toBe(true);
  });

  test('without TLS the data server refuses the control plane (hostssl only)', async () => {
    await serve(certs.good);
    const plain = await connect(`postgres://spreekkamer:${encodeURIComponent(PASSWORD)}@${DATA_ADDR}:${PORT}/spreekkamer?sslmode=disable`);
    expect(plain).toBeInstanceOf(Error);
    expect(String((plain as Error).message)).toMatch(/no pg_hba\.conf entry .*no encryption/);
  });
});
