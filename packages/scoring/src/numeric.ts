import { roundTo } from '@churnscore/domain';

export { roundTo };

/** A share (0–1) as the dashboard and the explanation say it, e.g. 0.7742 → "77.42%". */
export const asPercent = (share: number): string => `${roundTo(share * 100, 2)}%`;

/** Code-unit string order: unlike localeCompare it is the same on every machine. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
