// Talking to the read API: JSON reads and the live-update stream, both with the bearer token when the
// API asks for one. The token is kept in sessionStorage: it lives only as long as this browser tab.
const TOKEN_KEY = 'churnscore.apiToken';
const RECONNECT_MS = 3_000;

export class Unauthorized extends Error {}

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

function authHeaders() {
  const value = token.get();
  return value ? { authorization: `Bearer ${value}` } : {};
}

/** GET a JSON resource; rejects with Unauthorized on 401 and with an Error carrying the API's message otherwise. */
export async function getJson(path, { signal } = {}) {
  const response = await fetch(path, { headers: { accept: 'application/json', ...authHeaders() }, signal });
  if (response.status === 401) throw new Unauthorized();
  const body = await response.json().catch(() => null);
  if (!response.ok) throw Object.assign(new Error(body?.message ?? `HTTP ${response.status}`), { status: response.status });
  return body;
}

/**
 * Follows /api/v1/events. EventSource cannot send an Authorization header, so the stream is read with fetch
 * and parsed here (the text/event-stream format: blocks separated by a blank line, `event:` and `data:` lines).
 * Reconnects after a drop; `onOpen` runs on every (re)connection so the caller can reload what it may have missed.
 */
export function followLiveUpdates({ onEvent, onOpen, onDown, onUnauthorized }) {
  let controller = null;
  let stopped = false;

  async function connect() {
    controller = new AbortController();
    try {
      const response = await fetch('/api/v1/events', { headers: { accept: 'text/event-stream', ...authHeaders() }, signal: controller.signal });
      if (response.status === 401) {
        onUnauthorized();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onOpen();
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          dispatch(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (stopped) return;
      console.warn('live updates interrupted', error);
    }
    if (stopped) return;
    onDown();
    setTimeout(connect, RECONNECT_MS);
  }

  function dispatch(block) {
    let event = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) onEvent(event, JSON.parse(data.join('\n')));
  }

  connect();
  return {
    stop() {
      stopped = true;
      controller?.abort();
    },
  };
}
