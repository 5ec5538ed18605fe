import { StartupError } from '../startup-error.ts';
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** A second server on the same embedded database: refused at start, before it can fail writes. */
export class DataDirInUseError extends StartupError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly lockFile: string,
  ) {
    super(`The data dir ${dataDir} is in use by process ${pid} (another cellwise server); stop it first, or set CELLWISE_DATA_DIR to another folder. If no such process runs, delete ${lockFile}.`);
  }
}

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes `<dataDir>/cellwise.lock` for this process (SQLite, the embedded default: one server per
 * data dir). The file holds the owner's process id; a lock whose process is gone (a crash, a
 * kill -9) is stale and taken over. Returns the release function.
 */
export function lockDataDir(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'cellwise.lock');
  for (let attempt = 0; ; attempt++) {
    try {
      // 'wx': created only if absent, so of two servers starting together exactly one wins.
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 5) throw err;
    }
    let owner = Number.NaN;
    try {
      owner = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    } catch {
      continue; // released meanwhile: try again
    }
    if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) throw new DataDirInUseError(dataDir, owner, lockFile);
    // Stale (or unreadable) lock: move it aside under a name of our own; of two processes
    // doing so at once only one rename succeeds, and both go back to the exclusive create.
    try {
      renameSync(lockFile, `${lockFile}.stale-${process.pid}`);
      unlinkSync(`${lockFile}.stale-${process.pid}`);
    } catch {
      /* the other process moved it first */
    }
  }
  let released = false;
  return () => {
    if (released) return;
    released = true;
    try {
      if (Number.parseInt(readFileSync(lockFile, 'utf8'), 10) === process.pid) unlinkSync(lockFile);
    } catch {
      /* already gone */
    }
  };
}
