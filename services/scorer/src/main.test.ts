// A bad environment or scoring configuration refuses the start, naming each bad setting (exit 78) in a
// JSON log line on stdout.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SCORING_CONFIG_PATH } from '@churnscore/scoring';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const VALID_ENDPOINTS = { KAFKA_BROKERS: '127.0.0.1:1', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

function startScorer(env: Record<string, string>) {
  const { PATH, HOME } = process.env;
  return spawnSync(process.execPath, ['--import', 'tsx', MAIN], { env: { PATH, HOME, ...env }, encoding: 'utf8', timeout: 30_000 });
}

/** The reason of the refusal: the last line of the output, which is JSON like every other. */
function refusal(stdout: string): string {
  const last = JSON.parse(stdout.trim().split('\n').at(-1)!) as { level: string; reason: string };
  expect(last.level).toBe('fatal');
  return last.reason;
}

describe('the scorer refuses to start', () => {
  it('on a bad environment setting, naming it', () => {
    const result = startScorer({ ...VALID_ENDPOINTS, KAFKA_BROKERS: 'kafka-without-port', RESCORE_POLL_INTERVAL_MS: '7200000' });
    expect(result.status).toBe(78);
    expect(refusal(result.stdout)).toContain('KAFKA_BROKERS: expected host:port');
    expect(refusal(result.stdout)).toContain('RESCORE_POLL_INTERVAL_MS: expected an integer from 50 to 3600000');
  });

  it('on an invalid scoring configuration file, naming the setting by its path', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scoring-config-'));
    const path = join(dir, 'scoring.json');
    const defaults = JSON.parse(readFileSync(DEFAULT_SCORING_CONFIG_PATH, 'utf8')) as { bands: { health: { redBelow: number } } };
    defaults.bands.health.redBelow = 90; // above greenMin
    writeFileSync(path, JSON.stringify(defaults));
    const result = startScorer({ ...VALID_ENDPOINTS, SCORING_CONFIG_PATH: path });
    expect(result.status).toBe(78);
    expect(refusal(result.stdout)).toMatch(/bands\.health/);
  });
});
