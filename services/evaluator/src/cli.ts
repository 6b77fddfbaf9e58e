import { runCli } from '@churnscore/simulator';
import { runEvaluateCommand } from './evaluate-command';

runCli(() => runEvaluateCommand(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr }));
