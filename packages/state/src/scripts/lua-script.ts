// Loads the Lua scripts of packages/state/lua, after taskforcesh/bullmq's script loader: a script is the file
// lua/<name>-<number of keys>.lua, whose header documents its KEYS, ARGV and reply, and shared pieces are
// pulled in with a line `--- @include "<piece>"` (lua/includes/<piece>.lua, each piece once per script).
// What a script may not spell out itself it names, and the loader substitutes the values once per process:
// the position of each key and leading argument (KEY.<name>, ARG.<name>, FIRST_EXTRA_ARG) and its constant
// tables (LAYOUT from layout.ts, its reply codes, …). The server so runs plain literals, at no cost per call,
// and a name that does not resolve fails the load. ioredis `defineCommand` then hashes that final source
// once per client and runs it with EVALSHA (EVAL when a server lacks it).
import { readFileSync, readdirSync } from 'node:fs';
import type { RedisClient } from '../connection';

/** A constant a script reads: a number, a string, a boolean or a table of them. */
export type LuaValue = string | number | boolean | { readonly [name: string]: LuaValue };

export interface ScriptDefinition {
  /** The script is lua/<name>-<keys.length>.lua. */
  readonly name: string;
  /** The KEYS, in the order the caller passes them; the script reads KEYS[KEY.<name>]. */
  readonly keys: readonly string[];
  /**
   * The fixed leading ARGV; the script reads ARGV[ARG.<name>], and a variable tail from ARGV[FIRST_EXTRA_ARG].
   */
  readonly args: readonly string[];
  /** The tables of constants the script names (LAYOUT, REPLY, …): each use is replaced by its value. */
  readonly constants: Readonly<Record<string, LuaValue>>;
}

export type ScriptArg = string | number | Buffer;

/** One call of a script: its keys and arguments, encoded before anything runs. */
export interface ScriptInvocation {
  keys: readonly string[];
  args: readonly ScriptArg[];
}

export type ScriptRunner = (invocation: ScriptInvocation) => Promise<unknown>;

const LUA_DIR = new URL('../../lua/', import.meta.url);
const INCLUDES_DIR = new URL('includes/', LUA_DIR);
const INCLUDE_LINE = /^---[ \t]*@include[ \t]+"([\w-]+)"[ \t]*$/gm;

const LUA_KEYWORDS = new Set(
  'and break do else elseif end false for function goto if in local nil not or repeat return then true until while'.split(' '),
);
const isLuaName = (name: string): boolean => /^[A-Za-z_]\w*$/.test(name) && !LUA_KEYWORDS.has(name);

/** A Lua string literal of any text: printable ASCII as is, every other byte as a decimal escape. */
function luaString(text: string): string {
  const body = [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (char === '\\' || char === "'") return `\\${char}`;
      return byte >= 0x20 && byte <= 0x7e ? char : `\\${byte}`;
    })
    .join('');
  return `'${body}'`;
}

/** A constant as a Lua literal. */
export function luaLiteral(value: LuaValue): string {
  switch (typeof value) {
    case 'string':
      return luaString(value);
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`a Lua constant must be finite, got ${value}`);
      // In parentheses when negative: `x -` followed by `-1` would start a comment.
      return value < 0 ? `(${value})` : String(value);
    case 'boolean':
      return String(value);
    default:
      return `{${Object.entries(value)
        .map(([name, inner]) => `${isLuaName(name) ? name : `[${luaString(name)}]`} = ${luaLiteral(inner)}`)
        .join(', ')}}`;
  }
}

/** Each name's position, counting from `first`. */
const positions = (names: readonly string[], first: number): Record<string, number> => {
  const table: Record<string, number> = {};
  names.forEach((name, index) => {
    if (name in table) throw new RangeError(`${name} is listed twice`);
    table[name] = first + index;
  });
  return table;
};

/** A table of each name's offset from the first of a group of arguments (0 for the first): an argument's place within a repeated group. */
export const argumentOffsets = (names: readonly string[]): Record<string, number> => positions(names, 0);

const GENERATED_NAMES = new Set(['KEY', 'ARG', 'FIRST_EXTRA_ARG']);

/** Everything a script's names resolve to: its keys' and leading arguments' positions and its constants. */
export function scriptConstants(definition: ScriptDefinition): Record<string, LuaValue> {
  const reserved = Object.keys(definition.constants).filter((name) => GENERATED_NAMES.has(name) || !isLuaName(name));
  if (reserved.length > 0) throw new RangeError(`${definition.name}: constants may not be named ${reserved.join(', ')}`);
  return {
    KEY: positions(definition.keys, 1),
    ARG: positions(definition.args, 1),
    FIRST_EXTRA_ARG: definition.args.length + 1,
    ...definition.constants,
  };
}

export interface LuaSegment {
  kind: 'code' | 'string' | 'comment';
  text: string;
}

const LONG_BRACKET = /\[(=*)\[/y;

/** Lua source cut into code, string literals (with their quotes) and comments, in order: joined, they are the source. */
export function luaSegments(source: string): LuaSegment[] {
  const segments: LuaSegment[] = [];
  let codeFrom = 0;
  let at = 0;
  const take = (kind: LuaSegment['kind'], end: number) => {
    if (at > codeFrom) segments.push({ kind: 'code', text: source.slice(codeFrom, at) });
    segments.push({ kind, text: source.slice(at, end) });
    at = codeFrom = end;
  };
  /** Where the long bracket opening at `from` ([[, [=[, …) ends, or -1 when there is none. */
  const longEnd = (from: number): number => {
    LONG_BRACKET.lastIndex = from;
    const open = LONG_BRACKET.exec(source);
    if (!open) return -1;
    const close = source.indexOf(`]${open[1]}]`, from + open[0].length);
    if (close < 0) throw new SyntaxError(`unclosed long bracket at ${from}`);
    return close + open[0].length;
  };
  while (at < source.length) {
    const char = source[at];
    if (source.startsWith('--', at)) {
      const long = longEnd(at + 2);
      const lineEnd = source.indexOf('\n', at);
      take('comment', long >= 0 ? long : lineEnd < 0 ? source.length : lineEnd);
    } else if (char === "'" || char === '"') {
      let end = at + 1;
      while (end < source.length && source[end] !== char) end += source[end] === '\\' ? 2 : 1;
      if (end >= source.length) throw new SyntaxError(`unclosed string at ${at}`);
      take('string', end + 1);
    } else if (char === '[' && longEnd(at) >= 0) {
      take('string', longEnd(at));
    } else {
      at += 1;
    }
  }
  if (codeFrom < source.length) segments.push({ kind: 'code', text: source.slice(codeFrom) });
  return segments;
}

/**
 * Replaces every use of a constant in the code (not in strings or comments): `KEY.state`, `LAYOUT.state.revision`,
 * `FIRST_EXTRA_ARG` become their values' literals.
 * @throws RangeError naming a use that resolves to nothing
 */
export function substituteConstants(source: string, constants: Readonly<Record<string, LuaValue>>): string {
  const names = Object.keys(constants);
  if (names.length === 0) return source;
  const use = new RegExp(`(?<![\\w.])(${names.join('|')})((?:\\.[A-Za-z_]\\w*)*)(?!\\w)`, 'g');
  return luaSegments(source)
    .map(({ kind, text }) =>
      kind !== 'code'
        ? text
        : text.replace(use, (reference: string, name: string, path: string) => {
            const value = path
              .split('.')
              .slice(1)
              .reduce<LuaValue | undefined>((table, field) => (typeof table === 'object' ? table[field] : undefined), constants[name]);
            if (value === undefined) throw new RangeError(`${reference} is not a constant the script is given`);
            return luaLiteral(value);
          }),
    )
    .join('');
}

/** Replaces each `--- @include "<piece>"` line with the piece (itself expanded); a piece already included expands to nothing. */
export function expandIncludes(source: string, readPiece: (piece: string) => string, included = new Set<string>()): string {
  return source.replace(INCLUDE_LINE, (_line, piece: string) => {
    if (included.has(piece)) return '';
    included.add(piece);
    return expandIncludes(readPiece(piece), readPiece, included).trimEnd();
  });
}

const readPiece = (piece: string): string => readFileSync(new URL(`${piece}.lua`, INCLUDES_DIR), 'utf8');

/** The script's file name, checked against its definition's number of keys. */
export function scriptFile(definition: ScriptDefinition): string {
  const file = readdirSync(LUA_DIR).find((candidate) => candidate.startsWith(`${definition.name}-`) && /-\d+\.lua$/.test(candidate));
  if (!file) throw new Error(`no Lua script ${definition.name}-<numberOfKeys>.lua in ${LUA_DIR.pathname}`);
  const numberOfKeys = Number(/-(\d+)\.lua$/.exec(file)?.[1]);
  if (numberOfKeys !== definition.keys.length) {
    throw new RangeError(`${file} takes ${numberOfKeys} keys but its definition names ${definition.keys.length}`);
  }
  return file;
}

/** The script as the file holds it, its includes expanded: what its constants are substituted into. */
export const scriptBody = (definition: ScriptDefinition): string =>
  expandIncludes(readFileSync(new URL(scriptFile(definition), LUA_DIR), 'utf8'), readPiece);

const sources = new Map<ScriptDefinition, string>();

/** The final source the server runs: the expanded body with its constants substituted, built once per process. */
export function scriptSource(definition: ScriptDefinition): string {
  let source = sources.get(definition);
  if (source === undefined) {
    source = substituteConstants(scriptBody(definition), scriptConstants(definition));
    sources.set(definition, source);
  }
  return source;
}

// ioredis registers a command under a method name; the prefix keeps ours clear of any Redis command.
const commandName = (definition: ScriptDefinition) => `chs_${definition.name}`;

/** Defines the script on the client and returns a runner for it. */
export function defineScript(redis: RedisClient, definition: ScriptDefinition): ScriptRunner {
  const name = commandName(definition);
  const numberOfKeys = definition.keys.length;
  redis.defineCommand(name, { numberOfKeys, lua: scriptSource(definition) });
  const command = (redis as unknown as Record<string, (...args: ScriptArg[]) => Promise<unknown>>)[name];
  if (!command) throw new Error(`ioredis did not define ${name}`);
  return ({ keys, args }) => {
    if (keys.length !== numberOfKeys) throw new RangeError(`${definition.name} takes ${numberOfKeys} keys, got ${keys.length}`);
    return command.call(redis, ...keys, ...args);
  };
}

/** The leading arguments in the definition's order, then the variable tail. */
export function scriptArgs<Name extends string>(names: readonly Name[], values: Readonly<Record<Name, ScriptArg>>, extra: readonly ScriptArg[] = []): ScriptArg[] {
  // One array, filled in a loop: the apply encodes a group of values per event with it.
  const args: ScriptArg[] = [];
  for (const name of names) args.push(values[name]);
  for (const value of extra) args.push(value);
  return args;
}

/** The keys named by `parts`, in that order. */
export const keysOf = <Part extends string>(parts: readonly Part[], keys: Readonly<Record<Part, string>>): string[] => parts.map((part) => keys[part]);
