// How the `explanation` key stores a score's Explanation: deflated with a preset dictionary, as base64url
// text behind a format mark. The JSON was ~2.8 KB, the largest value of a customer, and a published score
// rewrites it (to memory, the AOF and replicas); deflated against the text explanations usually share (field
// names, the default scorecards' measure ids and groups, the model's features and coefficients) it is ~300
// bytes. Text rather than raw bytes so that it travels as an ordinary string reply and the scripts can splice
// it into an outbox entry's JSON as a string member. Documented in docs/redis-contract.md ("Explanation").
import { readFileSync } from 'node:fs';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { Explanation } from '@churnscore/domain';

/**
 * The format mark of the only encoding: raw deflate with dictionary 1, base64url. The dictionary is part of
 * the stored format: changing its bytes would garble every stored value, so a better dictionary is a new mark
 * (and this reader keeps the old one), never an edit of dictionaries/explanation-1.txt.
 */
export const EXPLANATION_FORMAT = 'z1:';
const DICTIONARY = readFileSync(new URL('../dictionaries/explanation-1.txt', import.meta.url));

export function encodeExplanation(explanation: Explanation): string {
  return EXPLANATION_FORMAT + deflateRawSync(JSON.stringify(explanation), { dictionary: DICTIONARY }).toString('base64url');
}

/** @throws Error for a value in another format (e.g. the JSON of the `chs:v1` contract, read under a v2 prefix). */
export function decodeExplanation(stored: string): Explanation {
  if (!stored.startsWith(EXPLANATION_FORMAT)) {
    throw new Error(`explanation not in the ${EXPLANATION_FORMAT} format of this key contract (docs/redis-contract.md, "Prefix and versioning")`);
  }
  const deflated = Buffer.from(stored.slice(EXPLANATION_FORMAT.length), 'base64url');
  return JSON.parse(inflateRawSync(deflated, { dictionary: DICTIONARY }).toString('utf8')) as Explanation;
}
