/**
 * The crash policy in a real child process: an unhandled rejection is logged and the process
 * goes on; an uncaught exception is logged and the process exits with 1.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const here = resolve(import.meta.dirname);
const run = (body: string) =>
  spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `
    import { installCrashPolicy } from ${JSON.stringify(resolve(here, 'process.ts'))};
    import { createLogger } from ${JSON.stringify(resolve(here, 'logger.ts'))};
    installCrashPolicy(createLogger('info', 'crash-test'));
    ${body}
  `], { encoding: 'utf8', timeout: 20_000 });

describe('installCrashPolicy', () => {
  test('an unhandled rejection is logged and the process keeps serving', () => {
    const r = run(`void Promise.reject(new Error('detach after the server went away'));
      setTimeout(() => { console.log('STILL-SERVING'); process.exit(0); }, 200);`);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('unhandled promise rejection (kept serving)');
    expect(r.stdout).toContain('detach after the server went away');
    expect(r.stdout).toContain('STILL-SERVING');
  });

  test('an uncaught exception is logged and the process exits with 1 (systemd restarts it)', () => {
    const r = run(`setTimeout(() => { throw new Error('boom'); }, 10); setTimeout(() => console.log('NOT-REACHED'), 2000);`);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('uncaught exception; exiting for a restart');
    expect(r.stdout).not.toContain('NOT-REACHED');
  });
});
