import { runCli } from '@churnscore/simulator';
import { runBackfillCommand } from './backfill-command';

runCli(() => runBackfillCommand(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));
