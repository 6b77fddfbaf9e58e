// Debian's Chromium driven by playwright-core: never a downloaded browser. The flags keep it off the
// network (this machine has none) and fit running as root in a sandbox.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where browser tests leave their screenshots (git-ignored; CI keeps them). */
export const ARTIFACTS = 'test-artifacts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The band colours of styles.css (--green, --yellow, --red), as the browser computes them. */
export const BAND_COLOURS = { green: 'rgb(18, 161, 80)', yellow: 'rgb(208, 135, 0)', red: 'rgb(217, 45, 32)' };

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}
