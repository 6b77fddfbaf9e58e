import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { isAlive, readPidFile, removeFile } from './processes';
import type { Reporter } from './progress';
import { sleep } from './progress';

const LOCK_WAIT_MS = 10 * 60_000;
/** A lock file that stays empty this long was left by a process that died while creating it. */
const EMPTY_LOCK_GRACE_MS = 2_000;

/**
 * Runs `work` while holding `lockFile`, a file holding the owner's pid. Serialises stack commands
 * across processes (a test run and a terminal both running stack:up), so no component is started
 * twice. A lock whose owner has died is taken over.
 */
export async function withLock<T>(lockFile: string, reporter: Reporter, work: () => Promise<T>): Promise<T> {
  const begun = Date.now();
  let announced = false;
  while (!tryAcquire(lockFile)) {
    const holder = readPidFile(lockFile);
    if (holder !== null && !announced) {
      reporter.step('stack', `waiting for another stack command to finish (pid ${holder})`);
      announced = true;
    }
    if (Date.now() - begun > LOCK_WAIT_MS) throw new Error(`another stack command (pid ${holder ?? '?'}) holds ${lockFile}`);
    if (isAbandoned(lockFile, holder)) removeFile(lockFile);
    else await sleep(250);
  }
  try {
    return await work();
  } finally {
    removeFile(lockFile);
  }
}

function tryAcquire(lockFile: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockFile, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

function isAbandoned(lockFile: string, holder: number | null): boolean {
  if (holder !== null) return !isAlive(holder);
  try {
    return Date.now() - statSync(lockFile).mtimeMs > EMPTY_LOCK_GRACE_MS;
  } catch {
    return false; // Released meanwhile: the next attempt will take it.
  }
}
