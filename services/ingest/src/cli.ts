import { runCli } from '@churnscore/simulator';
import { runIngestCommand } from './ingest-command';

runCli(() => runIngestCommand(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));
