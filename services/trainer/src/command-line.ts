// What the trainer's commands (and `npm run evaluate`) share about their command line and their output streams.
import { MODEL_VERSION, ScoringConfigError, loadScoringConfigFile, type ScoringConfig } from '@churnscore/scoring';
import { UsageError, type ProgressStream } from '@churnscore/simulator';

/** Where a command writes: results on stdout, progress and refusals on stderr; the clock it stamps its outputs with. */
export interface CommandIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressStream;
  clock?: () => number;
}

/** A scoring config as the scorer loads it; one the scorer would refuse is bad usage (exit 2), `what` naming it. */
export function loadCommandScoringConfig(path: string, what: string): ScoringConfig {
  try {
    return loadScoringConfigFile(path);
  } catch (error) {
    if (error instanceof ScoringConfigError) throw new UsageError(`${what} ${path} is refused: ${error.message}`);
    throw error;
  }
}

/** A --version as given, or UsageError when it is not a model version (MODEL_VERSION): it names the model's directory. */
export function modelVersionOption(version: string): string {
  if (!MODEL_VERSION.pattern.test(version)) throw new UsageError(`--version ${MODEL_VERSION.rule}`);
  return version;
}
