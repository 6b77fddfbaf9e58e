import { afterEach, describe, expect, it, vi } from 'vitest';
import { livenessReport, READINESS_CHECK_TIMEOUT_MS, readinessReport } from './http-server';
import { Liveness } from './liveness';

afterEach(() => {
  vi.useRealTimers();
});

describe('readinessReport', () => {
  it('names each check that failed: answered false, threw, or gave no answer in time', async () => {
    vi.useFakeTimers();
    const report = readinessReport([
      { name: 'kafka', check: () => true },
      { name: 'redis', check: () => new Promise<boolean>(() => undefined) },
      { name: 'registry', check: () => Promise.reject(new Error('refused')) },
      { name: 'joined', check: () => false },
    ]);
    await vi.advanceTimersByTimeAsync(READINESS_CHECK_TIMEOUT_MS);
    await expect(report).resolves.toEqual({ ready: false, checks: { kafka: true, redis: false, registry: false, joined: false } });
  });

  it('does not wait for a slow check longer than its bound', async () => {
    vi.useFakeTimers();
    let settled = false;
    void readinessReport([{ name: 'redis', check: () => new Promise<boolean>(() => undefined) }]).then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(READINESS_CHECK_TIMEOUT_MS - 1);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });

  it('is ready when every check passes', async () => {
    await expect(readinessReport([{ name: 'redis', check: async () => true }])).resolves.toEqual({ ready: true, checks: { redis: true } });
  });
});

describe('livenessReport', () => {
  it('answers 200 while alive, then 503 with the first reason for good', () => {
    const liveness = new Liveness();
    expect(livenessReport(liveness)).toEqual({ status: 200, body: { status: 'ok' } });
    liveness.fail('the Kafka consumer stopped and will not restart', new Error('INCONSISTENT_GROUP_PROTOCOL'));
    liveness.fail('a later failure');
    expect(livenessReport(liveness)).toEqual({ status: 503, body: { status: 'failed', reason: 'the Kafka consumer stopped and will not restart' } });
  });

  it('tells each listener of the failure once', () => {
    const liveness = new Liveness();
    const reasons: string[] = [];
    liveness.onFailure(({ reason }) => reasons.push(reason));
    liveness.fail('first');
    liveness.fail('second');
    expect(reasons).toEqual(['first']);
    expect(liveness.alive).toBe(false);
  });
});
