import { execFile } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const JVM_DIR = '/usr/lib/jvm';

export interface JavaRuntime {
  /** Path of the `java` binary. */
  java: string;
  major: number;
}

export interface JavaRequest {
  /** What needs it, for the error message, e.g. "Apicurio Registry 3.3.3". */
  purpose: string;
  minMajor: number;
  /** Environment variable naming a JDK home that wins over any discovery. */
  homeEnvVar: string;
  /**
   * 'path-first': the `java` on PATH if recent enough, else the newest JDK in /usr/lib/jvm.
   * 'newest-first': the newest JDK in /usr/lib/jvm, else the `java` on PATH.
   */
  preference: 'path-first' | 'newest-first';
  env?: NodeJS.ProcessEnv;
}

/** Major version from `java -version` output: `openjdk version "17.0.15"`, `"25"`, `"1.8.0_392"`. */
export function parseJavaMajor(versionOutput: string): number | null {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (!match?.[1]) return null;
  const first = Number(match[1]);
  return first === 1 && match[2] !== undefined ? Number(match[2]) : first;
}

async function probe(java: string): Promise<JavaRuntime | null> {
  try {
    const { stdout, stderr } = await execFileAsync(java, ['-version']);
    const major = parseJavaMajor(`${stderr}\n${stdout}`);
    return major === null ? null : { java, major };
  } catch {
    return null;
  }
}

function installedJdkBinaries(): string[] {
  if (!existsSync(JVM_DIR)) return [];
  // Debian has several names (symlinks) for one JDK; probe each real directory once.
  const homes = new Set(
    readdirSync(JVM_DIR)
      .map((name) => join(JVM_DIR, name))
      .filter((home) => existsSync(join(home, 'bin', 'java')))
      .map((home) => realpathSync(home)),
  );
  return [...homes].map((home) => join(home, 'bin', 'java'));
}

export async function findJava(request: JavaRequest): Promise<JavaRuntime> {
  const env = request.env ?? process.env;
  const explicitHome = env[request.homeEnvVar];
  if (explicitHome) {
    const runtime = await probe(join(explicitHome, 'bin', 'java'));
    if (runtime === null) throw new Error(`${request.homeEnvVar}=${explicitHome} has no working bin/java.`);
    if (runtime.major < request.minMajor) {
      throw new Error(`${request.homeEnvVar}=${explicitHome} is Java ${runtime.major}; ${request.purpose} needs Java ${request.minMajor}+.`);
    }
    return runtime;
  }

  const [onPath, ...installed] = await Promise.all([probe('java'), ...installedJdkBinaries().map(probe)]);
  const newestInstalled = installed
    .filter((runtime): runtime is JavaRuntime => runtime !== null)
    .sort((a, b) => b.major - a.major);
  const candidates =
    request.preference === 'path-first' ? [onPath, ...newestInstalled] : [...newestInstalled, onPath];
  const chosen = candidates.find((runtime) => runtime !== null && runtime !== undefined && runtime.major >= request.minMajor);
  if (chosen) return chosen;

  const seen = candidates
    .filter((runtime): runtime is JavaRuntime => runtime !== null && runtime !== undefined)
    .map((runtime) => `${runtime.java} (Java ${runtime.major})`);
  throw new Error(
    `${request.purpose} needs Java ${request.minMajor}+, found ${seen.length ? seen.join(', ') : 'no Java at all'}. ` +
      `Install a JDK ${request.minMajor}+ (e.g. Temurin) under ${JVM_DIR} or set ${request.homeEnvVar} to its home.`,
  );
}
