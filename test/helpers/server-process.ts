import { spawn, type ChildProcess } from 'node:child_process';
import { ADMIN_KEY, freshDatabase } from './app.ts';

export type ServerProcess = { child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> };

/** The environment of a real `cellwise serve` on a fresh database (PORT=0: a free port). */
export async function serverEnv(extra: Record<string, string> = {}) {
  const db = await freshDatabase();
  const env: Record<string, string> = {
    PORT: '0',
    CELLWISE_DATA_DIR: db.dataDir,
    CELLWISE_ADMIN_KEY: ADMIN_KEY,
    CELLWISE_LOG_LEVEL: 'error',
    CELLWISE_RATE_LIMIT_PER_MINUTE: '0',
    ...(db.databaseUrl ? { DATABASE_URL: db.databaseUrl, CELLWISE_DATABASE_SCHEMA: db.databaseSchema! } : {}),
    ...extra,
  };
  return { env, db };
}

/** Runs `bin/cellwise.js` with `args`; resolves with its exit code and everything it printed. */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/cellwise.js', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A command that should have exited but serves on is a failure, not a hung test.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/**
 * Starts `cellwise serve` as its own process: a crash is a dead process here, not an exception a
 * test runner catches. Resolves once it prints the address it listens on; rejects if it exits first.
 */
export function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['bin/cellwise.js', 'serve'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, output: () => out, exited });
    });
    void exited.then((code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}
