/** Rounds to `decimals` places (Math.round semantics), so outputs stay short and identical on every instance. */
export const roundTo = (value: number, decimals: number): number => {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
};

/** Code-unit string order: unlike localeCompare it is the same on every machine. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
