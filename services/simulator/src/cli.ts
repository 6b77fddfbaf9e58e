import { runCli } from './cli-support';
import { runSimulateCommand } from './simulate-command';

runCli(() => runSimulateCommand(process.argv.slice(2), { env: process.env, stdout: process.stdout, stderr: process.stderr }));
