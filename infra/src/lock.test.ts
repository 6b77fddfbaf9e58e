import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { withLock } from './lock';
import { silentReporter, sleep } from './progress';

const lockPath = (): string => join(mkdtempSync(join(tmpdir(), 'lock-')), 'stack.lock');

describe('withLock', () => {
  it('holds the lock during the work and releases it after, even on failure', async () => {
    const lockFile = lockPath();
    await expect(
      withLock(lockFile, silentReporter, async () => {
        expect(existsSync(lockFile)).toBe(true);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(lockFile)).toBe(false);
  });

  it('runs holders one after the other', async () => {
    const lockFile = lockPath();
    const events: string[] = [];
    const holder = (name: string) =>
      withLock(lockFile, silentReporter, async () => {
        events.push(`${name} in`);
        await sleep(300);
        events.push(`${name} out`);
      });
    await Promise.all([holder('a'), holder('b')]);
    expect(events).toEqual(['a in', 'a out', 'b in', 'b out']);
  });

  it('takes over a lock whose owner has died', async () => {
    const lockFile = lockPath();
    // Pid numbers above the kernel maximum (4194304) never belong to a process.
    writeFileSync(lockFile, '9999999\n');
    expect(await withLock(lockFile, silentReporter, async () => 'ran')).toBe('ran');
  });
});
