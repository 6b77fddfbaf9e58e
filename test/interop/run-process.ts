import { spawn } from 'node:child_process';

/**
 * Runs a client program with `stdin`; resolves with its stdout, rejects with its stderr when it exits non-zero, or
 * kills it once `timeoutMs` have passed (if given) and rejects with what it wrote to stderr so far: a client that
 * hangs is named, with what it said, rather than left to the test's timeout.
 */
export function runProcess(name: string, command: string, args: string[], stdin: string, timeoutMs?: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const said = () => Buffer.concat(stderr).toString('utf8').trim();
    let timedOut = false;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) reject(new Error(`${name} had not exited after ${timeoutMs} ms and was killed; its stderr: ${said()}`));
      else if (code === 0) resolve(Buffer.concat(stdout).toString('utf8'));
      else reject(new Error(`${name} exited with ${code}: ${said()}`));
    });
    child.stdin.end(stdin);
  });
}
