// A Kafka broker of a test's own, for the tests that take Kafka away (an outage, a crash): the local stack's broker is
// shared by every test file running in parallel and must never stop. It is the stack's broker as `stack:up` runs it
// (the same jars, Java and server properties, infra/src/kafka.ts) on free loopback ports and a temporary data folder,
// which stays across `crash` and `start`, as a real broker's disks do.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings, localEndpoints, silentReporter, type StackSettings } from '../../infra/src/index';
import { kafkaComponent } from '../../infra/src/kafka';
import { componentDataDir } from '../../infra/src/component';
import { freePort, waitFor } from '../state/local-redis';

export class PrivateKafka {
  private process: ChildProcess | null = null;

  private constructor(private readonly settings: StackSettings) {}

  /** A new broker on free ports, started and answering. */
  static async start(): Promise<PrivateKafka> {
    const stackDir = mkdtempSync(join(tmpdir(), 'chs-private-kafka-'));
    const stack = loadSettings();
    const port = async (envVar: string) => ({ envVar, port: await freePort() });
    const broker = new PrivateKafka({
      ...stack,
      stackDir,
      dataDir: join(stackDir, 'data'),
      runDir: join(stackDir, 'run'),
      logDir: join(stackDir, 'logs'),
      ports: {
        ...stack.ports,
        kafka: await port('PRIVATE_KAFKA_PORT'),
        kafkaController: await port('PRIVATE_KAFKA_CONTROLLER_PORT'),
        kafkaSasl: await port('PRIVATE_KAFKA_SASL_PORT'),
      },
    });
    await broker.start();
    return broker;
  }

  get running(): boolean {
    return this.process !== null;
  }

  get brokers(): string[] {
    return localEndpoints(this.settings).kafkaBrokers;
  }

  /** Starts the broker (again, on the same ports and data) and waits until it answers. */
  async start(): Promise<void> {
    if (this.process) throw new Error('the private broker is already running');
    // Formats the storage on the first start only, as the stack does.
    const { command, args } = await kafkaComponent.prepare(this.settings, silentReporter);
    const dataDir = componentDataDir(this.settings, 'kafka');
    const log = openSync(join(this.settings.stackDir, 'kafka.log'), 'a');
    const broker = spawn(command, args, { cwd: dataDir, stdio: ['ignore', log, log] });
    closeSync(log);
    this.process = broker;
    broker.once('exit', () => {
      if (this.process === broker) this.process = null;
    });
    let answers = false;
    const probe = setInterval(() => {
      void kafkaComponent.answers(localEndpoints(this.settings)).then((yes) => (answers ||= yes));
    }, 250);
    try {
      await waitFor('the private Kafka broker', () => answers || this.process !== broker, 60_000);
    } finally {
      clearInterval(probe);
    }
    if (this.process !== broker) throw new Error(`the private Kafka broker exited at start; see ${join(this.settings.stackDir, 'kafka.log')}`);
  }

  /** Kills the broker at once (SIGKILL): no controlled shutdown, as a crashed machine or process leaves it. */
  async crash(): Promise<void> {
    const broker = this.process;
    if (!broker) return;
    const exited = new Promise((resolve) => broker.once('exit', resolve));
    broker.kill('SIGKILL');
    await exited;
    this.process = null;
  }

  /** Stops the broker and removes its data. */
  async remove(): Promise<void> {
    await this.crash();
    rmSync(this.settings.stackDir, { recursive: true, force: true });
  }
}
