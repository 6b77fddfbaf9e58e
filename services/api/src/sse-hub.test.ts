import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { Gauge } from '@churnscore/observability';
import { describe, expect, it } from 'vitest';
import { MAX_LIVE_STREAMS, SseHub } from './sse-hub';

/** A response that takes what it is sent and closes when told. */
class FakeStream extends EventEmitter {
  writeHead(): this {
    return this;
  }
  write(): boolean {
    return true;
  }
  get writableLength(): number {
    return 0;
  }
  end(): void {
    this.emit('close');
  }
}

describe('SseHub', () => {
  it('is full at MAX_LIVE_STREAMS open streams, and has room again once one closes', () => {
    const hub = new SseHub(new Gauge({ name: 'live_streams', help: 'streams', registers: [] }));
    const streams = Array.from({ length: MAX_LIVE_STREAMS }, () => new FakeStream());
    streams.slice(0, -1).forEach((stream) => hub.attach(stream as unknown as ServerResponse, { event: 'status', data: {} }));
    expect(hub.full).toBe(false);
    hub.attach(streams.at(-1) as unknown as ServerResponse, { event: 'status', data: {} });
    expect(hub.full).toBe(true);
    streams[0]!.end();
    expect(hub.full).toBe(false);
    hub.close();
  });
});
