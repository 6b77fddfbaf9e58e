import { runCli } from '@churnscore/simulator';
import { runTrainCommand } from './train-command';

runCli(() => runTrainCommand(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));
