import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DependencyWatch } from './dependency-watch';
import { createLogger } from './logger';

function loggedLines() {
  const lines: Array<{ level: string; msg: string; readinessCheck?: string }> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: createLogger({ name: 'dependency-watch-test', destination }), lines };
}

describe('DependencyWatch', () => {
  it('logs a dependency that stops answering once, whatever the number of looks, and once when it answers again', async () => {
    const { logger, lines } = loggedLines();
    let redisAnswers = true;
    // A hung dependency: a check that never settles counts as failed after the readiness timeout.
    let registry: () => Promise<boolean> = async () => true;
    const watch = new DependencyWatch({
      checks: [
        { name: 'redis', check: () => redisAnswers },
        { name: 'registry', check: () => registry() },
      ],
      logger,
      intervalMs: 5_000,
    });
    await watch.checkNow();
    expect(lines).toEqual([]);
    redisAnswers = false;
    registry = () => new Promise<boolean>(() => undefined);
    await watch.checkNow();
    await watch.checkNow();
    redisAnswers = true;
    await watch.checkNow();
    expect(lines.map(({ level, readinessCheck, msg }) => [level, readinessCheck, msg])).toEqual([
      ['warn', 'redis', 'a dependency does not answer: the work that needs it waits (readiness says not ready)'],
      ['warn', 'registry', 'a dependency does not answer: the work that needs it waits (readiness says not ready)'],
      ['info', 'redis', 'a dependency answers again'],
    ]);
  }, 10_000);
});
