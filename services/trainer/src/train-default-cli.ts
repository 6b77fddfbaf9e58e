import { runCli } from '@churnscore/simulator';
import { runTrainDefaultCommand } from './train-default-command';

runCli(() => runTrainDefaultCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }));
