/** What every entry point (server, worker, CLI) does the same way. */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, type Config } from './config.js';

/** True when the module at `moduleUrl` is the script node was started with. */
export function isEntryPoint(moduleUrl: string): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** The configuration, or a readable list of every problem and exit code 2. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * What a process does with a promise nobody handled and an exception nobody caught (issue 14,
 * defect 2). Every promise in our code is awaited or handled (eslint's no-floating-promises in
 * `make test`), so either of these is a bug in a path nobody foresaw:
 *  - an unhandled rejection is logged (with the error's message and stack, no personal data)
 *    and the process keeps serving: a rejected clean-up promise (a Janus `detach` after the
 *    server went away) must not end every other consult's signalling. Node 20 would exit.
 *  - an uncaught exception leaves the process in a state nobody can vouch for: it is logged
 *    and the process exits with 1, for systemd to restart it. The next control plane claims
 *    the Janus sessions (gateway/src/resume.ts), so the consults' media goes on.
 */
export function installCrashPolicy(logger: { error(obj: object, msg: string): void; fatal(obj: object, msg: string): void }): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: describeError(reason) }, 'unhandled promise rejection (kept serving)');
  });
  process.on('uncaughtException', (err, origin) => {
    logger.fatal({ err: describeError(err), origin }, 'uncaught exception; exiting for a restart');
    // pino writes synchronously to stdout; give stdio one turn, then go.
    setTimeout(() => process.exit(1), 50).unref();
  });
}

function describeError(e: unknown): { message: string; stack?: string; type: string } {
  if (e instanceof Error) return { message: e.message, type: e.name, ...(e.stack ? { stack: e.stack } : {}) };
  return { message: String(e), type: typeof e };
}
