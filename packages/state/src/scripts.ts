// Loads the Lua scripts of ../lua with ioredis `defineCommand` (EVALSHA, falling back to EVAL once per
// connection). A file is named <name>-<numberOfKeys>.lua; its header documents every KEYS and ARGV entry.
import { readFileSync, readdirSync } from 'node:fs';
import type { RedisClient } from './connection';

export const SCRIPT_NAMES = ['applyEvents', 'readCustomer', 'commitScore', 'ackOutbox', 'claimDue', 'eraseCustomer'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];
export type ScriptArg = string | number | Buffer;
export type ScriptCall = (keys: readonly string[], args: readonly ScriptArg[]) => Promise<unknown>;
export type Scripts = Readonly<Record<ScriptName, ScriptCall>>;

const LUA_DIR = new URL('../lua/', import.meta.url);

// ioredis registers a command under a method name; the prefix keeps ours clear of any Redis command.
const commandName = (name: ScriptName) => `chs_${name}`;

export function loadScripts(redis: RedisClient): Scripts {
  const files = readdirSync(LUA_DIR);
  const entries = SCRIPT_NAMES.map((name): [ScriptName, ScriptCall] => {
    const file = files.find((f) => f.startsWith(`${name}-`) && /-\d+\.lua$/.test(f));
    if (!file) throw new Error(`no Lua script ${name}-<numberOfKeys>.lua in ${LUA_DIR.pathname}`);
    const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
    redis.defineCommand(commandName(name), { numberOfKeys, lua: readFileSync(new URL(file, LUA_DIR), 'utf8') });
    const command = (redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>)[commandName(name)];
    if (!command) throw new Error(`ioredis did not define ${commandName(name)}`);
    const call: ScriptCall = (keys, args) => {
      if (keys.length !== numberOfKeys) throw new RangeError(`${file} takes ${numberOfKeys} keys, got ${keys.length}`);
      return command.call(redis, ...keys, ...args);
    };
    return [name, call];
  });
  return Object.fromEntries(entries) as Record<ScriptName, ScriptCall>;
}
