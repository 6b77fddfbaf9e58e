import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

/** A Node process that starts the watch, then runs `then` on its main thread; its exit and its output lines. */
async function processWatched(limitMs: number, then: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: string[] }> {
  const source = `import { watchEventLoop } from ${JSON.stringify(new URL('./event-loop-watch.ts', import.meta.url).pathname)};
const watch = watchEventLoop({ service: 'watched', limitMs: ${limitMs} });
${then}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const [code, signal] = (await once(child, 'close')) as [number | null, NodeJS.Signals | null];
  return { code, signal, lines: output.split('\n').filter(Boolean) };
}

describe('watchEventLoop', () => {
  it('kills a process whose main thread never returns to its event loop, saying why in a JSON log line', async () => {
    const { signal, lines } = await processWatched(300, 'setTimeout(() => { for (;;) {} }, 50);');
    expect(signal).toBe('SIGKILL');
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ level: 'fatal', service: 'watched', msg: expect.stringMatching(/^the main thread has not returned to its event loop for \d+ ms/) }),
    ]);
  }, 20_000);

  it('leaves a process that returns to its event loop alone, and keeps none alive', async () => {
    // Busy for less than the limit at a time, then done: the process exits by itself, at once.
    const { code, signal, lines } = await processWatched(
      1_000,
      'let rounds = 0; const busy = setInterval(() => { const end = Date.now() + 200; while (Date.now() < end) {} if (++rounds === 5) { clearInterval(busy); } }, 10);',
    );
    expect({ code, signal, lines }).toEqual({ code: 0, signal: null, lines: [] });
  }, 20_000);

  it('stops watching when told', async () => {
    const { code, signal } = await processWatched(300, 'await watch.stop(); const end = Date.now() + 1_000; while (Date.now() < end) {} console.log("done");');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
  }, 20_000);
});
