import { describe, expect, it } from 'vitest';
import { demoApiAccess } from './demo';

describe('demoApiAccess', () => {
  it('hands the read API a fresh token and prints that same token for the dashboard', () => {
    const { settings, loginLines } = demoApiAccess({});
    expect(settings.API_TOKEN).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(loginLines.join('\n')).toContain(settings.API_TOKEN);
    expect(demoApiAccess({}).settings.API_TOKEN).not.toBe(settings.API_TOKEN);
  });

  it("keeps the user's own API_TOKEN without printing it", () => {
    const { settings, loginLines } = demoApiAccess({ API_TOKEN: 'my-own-token-0123456789' });
    expect(settings).toEqual({});
    expect(loginLines.join('\n')).not.toContain('my-own-token-0123456789');
  });

  it('runs the API open, and says so, when the user asked for it', () => {
    const { settings, loginLines } = demoApiAccess({ API_ALLOW_ANONYMOUS: 'true' });
    expect(settings).toEqual({});
    expect(loginLines.join('\n')).toContain('API_ALLOW_ANONYMOUS');
  });
});
