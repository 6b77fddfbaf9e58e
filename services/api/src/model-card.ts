// The model card of the scoring configuration the API loaded, for GET /api/v1/model: found where the training wrote
// it, checked, and kept in the compact shape the dashboard shows.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Logger } from '@churnscore/observability';
import { DEFAULT_MODEL_CARDS_DIR } from '@churnscore/scoring';
import { TRAINED_MODEL_FILES } from '@churnscore/training';
import Value from 'typebox/value';
import { ModelCardSchema, type ServedModelCard } from './schemas';

/**
 * Where the card of the configuration at `configPath` may be, in the order looked at: beside it, as `npm run train
 * --out DIR` writes it; then among the shipped default's cards, under its version, as `npm run train:default` does.
 */
export const modelCardPaths = (configPath: string, version: string): string[] => [
  join(dirname(configPath), TRAINED_MODEL_FILES.cardJson),
  join(DEFAULT_MODEL_CARDS_DIR, `${version}.json`),
];

const isMissing = (error: unknown): boolean => (error as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The card of the configuration `version` loaded from `configPath`, with only what ModelCardSchema names; null when
 * no file there is a card of that version. A file that is not a card, or is the card of another version (a config
 * copied away from its training's directory), is passed over with a warning: the card informs, it never stops the API.
 */
export async function readModelCard(configPath: string, version: string, logger: Logger): Promise<ServedModelCard | null> {
  for (const path of modelCardPaths(configPath, version)) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      if (!isMissing(error)) logger.warn({ path, err: error }, 'model card not readable as JSON: not served');
      continue;
    }
    if (!Value.Check(ModelCardSchema, json)) {
      logger.warn({ path }, 'not a model card (fields missing or of the wrong type): not served');
      continue;
    }
    if (json.version !== version) {
      logger.warn({ path, cardVersion: json.version, configVersion: version }, 'model card of another version than the scoring config: not served');
      continue;
    }
    return Value.Clean(ModelCardSchema, json) as ServedModelCard;
  }
  return null;
}
