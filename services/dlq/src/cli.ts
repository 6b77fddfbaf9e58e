import { runCli } from '@churnscore/simulator';
import { runDlqCommand } from './dlq-command';

runCli(() => runDlqCommand(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));
