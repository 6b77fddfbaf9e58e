// The model card of the scoring configuration the API loaded, for GET /api/v1/model: found where the training wrote
// it, checked, and kept in the compact shape the dashboard shows.
import type { Logger } from '@churnscore/observability';
import type { ScoringConfig } from '@churnscore/scoring';
import { findModelCard, isModelCard, settingsCardMisses, type PassedOverCard } from '@churnscore/training';
import Value from 'typebox/value';
import { ModelCardSchema, type ServedModelCard } from './schemas';

/** What the API says of a file it passed over: the card informs, it never stops the API. */
const WARNINGS: Record<PassedOverCard['problem'], string> = {
  'not JSON': 'model card not readable as JSON: not served',
  'not a card': 'not a model card (fields missing or of the wrong type): not served',
  'another version': 'model card of another version than the scoring config: not served',
};

/**
 * The card of `scoring`, the configuration loaded from `configPath`, with only what ModelCardSchema names; null when
 * no file there is a card of its version, or the card of its version describes another churn model or other
 * CHURN_RISK_HIGH thresholds (the config edited since it was trained: settingsCardMisses). A file that is not a card,
 * or is the card of another version (a config copied away from its training's directory), is passed over with a
 * warning.
 */
export async function readModelCard(configPath: string, scoring: ScoringConfig, logger: Logger): Promise<ServedModelCard | null> {
  const { version } = scoring;
  const card = await findModelCard(configPath, version, (json): json is ServedModelCard => Value.Check(ModelCardSchema, json), (why) => {
    if (why.problem === 'not JSON') logger.warn({ path: why.path, err: why.error }, WARNINGS[why.problem]);
    else if (why.problem === 'another version') logger.warn({ path: why.path, cardVersion: why.cardVersion, configVersion: version }, WARNINGS[why.problem]);
    else logger.warn({ path: why.path }, WARNINGS[why.problem]);
  });
  if (card === null) return null;
  const misses = isModelCard(card) ? settingsCardMisses(card, scoring) : [];
  if (misses.length > 0) {
    logger.warn({ configVersion: version, misses }, 'model card of the scoring config\'s version but of other settings (the config edited since it was trained?): not served');
    return null;
  }
  return Value.Clean(ModelCardSchema, card) as ServedModelCard;
}
