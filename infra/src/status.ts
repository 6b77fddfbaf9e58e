import { redactUrl } from './settings';
import type { StackEndpoints, StackSettings } from './settings';
import { STACK_COMPONENTS, inspectComponent, portTakenMessage } from './stack';
import { localEndpoints } from './settings';

export interface ComponentStatus {
  component: string;
  healthy: boolean;
  /** healthy, not answering, stopped, or why it cannot run. */
  state: string;
  version: string | null;
  address: string;
  /** Who runs it: "pid 123", "pid 123 of /other/checkout/.stack", "external". */
  owner: string;
  /** What to do about an unhealthy component, printed under the table. */
  note?: string;
}

/** Health of the local stack's components, found from pid files, ports and a live probe of each. */
export async function localStatus(settings: StackSettings): Promise<ComponentStatus[]> {
  const endpoints = localEndpoints(settings);
  return Promise.all(
    STACK_COMPONENTS.map(async (component): Promise<ComponentStatus> => {
      const state = await inspectComponent(settings, component);
      const address = redactUrl(component.address(endpoints));
      switch (state.kind) {
        case 'stopped':
          return { component: component.name, healthy: false, state: 'stopped', version: null, address, owner: '-' };
        case 'port-taken':
          return {
            component: component.name,
            healthy: false,
            state: `port ${state.port.port} taken`,
            version: null,
            address,
            owner: state.holder === null ? 'unknown' : `pid ${state.holder.pid}`,
            note: portTakenMessage(component, state.port, state.holder),
          };
        case 'ours':
        case 'other-stack': {
          const healthy = await component.answers(endpoints);
          const owner = state.kind === 'ours' ? `pid ${state.pid}` : `pid ${state.pid} of ${state.stackDir}`;
          return {
            component: component.name,
            healthy,
            state: healthy ? 'healthy' : 'not answering',
            version: healthy ? await component.version(endpoints, true) : null,
            address,
            owner,
          };
        }
      }
    }),
  );
}

/** Health of services given through KAFKA_BROKERS, SCHEMA_REGISTRY_URL and REDIS_URL. */
export async function externalStatus(endpoints: StackEndpoints): Promise<ComponentStatus[]> {
  return Promise.all(
    STACK_COMPONENTS.map(async (component): Promise<ComponentStatus> => {
      const healthy = await component.answers(endpoints);
      return {
        component: component.name,
        healthy,
        state: healthy ? 'healthy' : 'not answering',
        version: healthy ? await component.version(endpoints, false) : null,
        address: redactUrl(component.address(endpoints)),
        owner: 'external',
      };
    }),
  );
}

export function formatStatusTable(rows: ComponentStatus[]): string {
  const table = [
    ['COMPONENT', 'STATE', 'VERSION', 'ADDRESS', 'PROCESS'],
    ...rows.map((row) => [row.component, row.state, row.version ?? '-', row.address, row.owner]),
  ];
  const widths = table[0]!.map((_, column) => Math.max(...table.map((line) => line[column]!.length)));
  const lines = table.map((line) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd());
  const notes = rows.flatMap((row) => (row.note === undefined ? [] : [`\n${row.note}`]));
  return [...lines, ...notes].join('\n');
}
