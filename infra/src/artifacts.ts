import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Reporter } from './progress';

const execFileAsync = promisify(execFile);

/** A set of binaries fetched by `mvn dependency:copy-dependencies` from one of the infra poms. */
export interface MavenBundle {
  scope: string;
  /** Human name and version, e.g. "Kafka 4.1.2". */
  label: string;
  pomPath: string;
  /**
   * Cache directory named after the bundle and a hash of its pom, so editing the pom (a version bump)
   * fetches afresh while other checkouts keep using the directory they already have.
   */
  cacheDir: string;
}

export function readPomProperty(pomPath: string, property: string): string {
  const match = new RegExp(`<${property.replace(/\./g, '\\.')}>([^<]+)</`).exec(readFileSync(pomPath, 'utf8'));
  if (!match?.[1]) throw new Error(`${pomPath} has no <${property}> property`);
  return match[1].trim();
}

export function bundleCacheDir(cacheRoot: string, name: string, version: string, pomPath: string): string {
  const pomHash = createHash('sha256').update(readFileSync(pomPath)).digest('hex').slice(0, 8);
  return join(cacheRoot, `${name}-${version}-${pomHash}`);
}

// Two Maven runs at once would race on the same local repository files, so they take turns.
let mavenQueue: Promise<unknown> = Promise.resolve();

/**
 * Makes `bundle.cacheDir` exist with the bundle's files, running Maven only when it does not.
 * `unpack` turns Maven's output directory into the final layout. The directory is built aside and
 * renamed into place, so an interrupted first run never leaves a half-filled cache behind.
 */
export async function ensureBundle(
  bundle: MavenBundle,
  reporter: Reporter,
  unpack: (mavenOutputDir: string, targetDir: string) => Promise<void>,
): Promise<void> {
  if (existsSync(bundle.cacheDir)) return;
  const run = mavenQueue.then(() => fetchBundle(bundle, reporter, unpack));
  mavenQueue = run.catch(() => undefined);
  await run;
}

async function fetchBundle(
  bundle: MavenBundle,
  reporter: Reporter,
  unpack: (mavenOutputDir: string, targetDir: string) => Promise<void>,
): Promise<void> {
  if (existsSync(bundle.cacheDir)) return;
  const staging = `${bundle.cacheDir}.partial-${process.pid}`;
  const mavenOut = join(staging, 'maven');
  const target = join(staging, 'bundle');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(mavenOut, { recursive: true });
  try {
    reporter.step(bundle.scope, `fetching ${bundle.label} with Maven (first run only) into ${bundle.cacheDir}`);
    await reporter.during(bundle.scope, `fetching ${bundle.label}`, runMaven(bundle.pomPath, mavenOut));
    await unpack(mavenOut, target);
    try {
      renameSync(target, bundle.cacheDir);
    } catch (error) {
      // Another checkout filled the same cache directory meanwhile: theirs is as good as ours.
      if (!existsSync(bundle.cacheDir)) throw error;
    }
    reporter.step(bundle.scope, `${bundle.label} cached`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function runMaven(pomPath: string, outputDir: string): Promise<void> {
  try {
    await execFileAsync(
      'mvn',
      ['-B', '-q', '-f', pomPath, 'dependency:copy-dependencies', '-DincludeScope=runtime', `-DoutputDirectory=${outputDir}`],
      { maxBuffer: 16 * 1024 * 1024 },
    );
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string };
    if (failure.code === 'ENOENT') {
      throw new Error('Maven (`mvn`) is needed once to fetch the Kafka and registry binaries: install it (Debian: apt-get install maven).');
    }
    const output = `${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`Maven could not fetch ${pomPath}:\n${output}`);
  }
  if (readdirSync(outputDir).length === 0) throw new Error(`Maven fetched nothing for ${pomPath}`);
}

/** Moves Maven's output directory into place unchanged (a plain list of jars). */
export async function keepAsIs(mavenOutputDir: string, targetDir: string): Promise<void> {
  renameSync(mavenOutputDir, targetDir);
}

/** Extracts the single .tar.gz Maven fetched into `targetDir`. */
export async function extractTarball(mavenOutputDir: string, targetDir: string): Promise<void> {
  const tarball = readdirSync(mavenOutputDir).find((name) => name.endsWith('.tar.gz'));
  if (!tarball) throw new Error(`no .tar.gz among ${readdirSync(mavenOutputDir).join(', ')}`);
  mkdirSync(targetDir, { recursive: true });
  await execFileAsync('tar', ['-xzf', join(mavenOutputDir, tarball), '-C', targetDir]);
}
