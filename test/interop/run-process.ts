import { spawn } from 'node:child_process';

/** Runs a client program with `stdin`; resolves with its stdout, rejects with its stderr when it exits non-zero. */
export function runProcess(name: string, command: string, args: string[], stdin: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new Error(`${name} exited with ${code}: ${Buffer.concat(stderr).toString('utf8').trim()}`));
    });
    child.stdin.end(stdin);
  });
}
