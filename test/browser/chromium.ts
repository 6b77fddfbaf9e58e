// Debian's Chromium driven by playwright-core: never a downloaded browser. The flags keep it off the
// network (this machine has none) and fit running as root in a sandbox.
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where browser tests leave their screenshots (git-ignored; CI keeps them). */
export const ARTIFACTS = 'test-artifacts';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** The band colours of styles.css (--green, --yellow, --red), as the browser computes them. */
export const BAND_COLOURS = { green: 'rgb(18, 161, 80)', yellow: 'rgb(208, 135, 0)', red: 'rgb(217, 45, 32)' };
/** The health pill's colour for a customer without an active contract: in no band. */
export const NO_BAND_COLOUR = 'rgb(102, 112, 133)';

export function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export interface ShownPill {
  /** The health shown. */
  text: string;
  /** Its computed colour (one of BAND_COLOURS). */
  colour: string;
}

/**
 * The health pill of every row of the customer table, read in one pass inside the page. Row by row, a live
 * update re-rendering the table between finding a pill and reading its style gave a detached element, whose
 * computed colour is ''.
 */
export function shownPills(page: Page): Promise<Map<string, ShownPill>> {
  return page
    .locator('#customers tbody tr[data-customer-id]')
    .evaluateAll((rows) =>
      rows.map((row) => {
        const pill = row.querySelector('.pill') as HTMLElement;
        return [(row as HTMLElement).dataset.customerId ?? '', { text: pill.textContent ?? '', colour: getComputedStyle(pill).color }] as const;
      }),
    )
    .then((entries) => new Map(entries));
}
