import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LUA_LAYOUT, STATE_FIELD } from '../layout';
import { ACK_OUTBOX_SCRIPT } from './ack-outbox';
import { APPLY_EVENTS_SCRIPT } from './apply-events';
import { CLAIM_DUE_SCRIPT } from './claim-due';
import { COMMIT_SCORE_SCRIPT } from './commit-score';
import { ERASE_CUSTOMER_SCRIPT } from './erase-customer';
import {
  expandIncludes,
  luaLiteral,
  luaSegments,
  scriptArgs,
  scriptBody,
  scriptConstants,
  scriptFile,
  scriptSource,
  substituteConstants,
  type LuaValue,
  type ScriptDefinition,
} from './lua-script';
import { MOVE_LEASED_DUES_SCRIPT } from './move-leased-dues';
import { RAISE_INPUT_OFFSETS_SCRIPT } from './raise-input-offsets';
import { READ_CUSTOMER_SCRIPT } from './read-customer';
import { REPLACE_BACKFILL_SCRIPT } from './replace-backfill';

const SCRIPTS = [APPLY_EVENTS_SCRIPT, READ_CUSTOMER_SCRIPT, COMMIT_SCORE_SCRIPT, ACK_OUTBOX_SCRIPT, CLAIM_DUE_SCRIPT, MOVE_LEASED_DUES_SCRIPT, RAISE_INPUT_OFFSETS_SCRIPT, ERASE_CUSTOMER_SCRIPT, REPLACE_BACKFILL_SCRIPT];

interface Token {
  kind: 'name' | 'string' | 'number' | 'symbol';
  text: string;
}

const CODE_TOKEN = /\s+|(?<number>0x[\da-f]+|\d+(?:\.\d*)?(?:e[-+]?\d+)?|\.\d+)|(?<name>[A-Za-z_]\w*)|(?<symbol>\.\.\.|\.\.|==|~=|<=|>=|[^\s])/giy;

/** Lua source as tokens, its comments dropped; a string token's text is its content as written (escapes included). */
function luaTokens(source: string): Token[] {
  return luaSegments(source).flatMap(({ kind, text }): Token[] => {
    if (kind === 'comment') return [];
    if (kind === 'string') return [{ kind, text: text.startsWith('[') ? text.replace(/^\[=*\[|\]=*\]$/g, '') : text.slice(1, -1) }];
    return [...text.matchAll(CODE_TOKEN)].flatMap((match): Token[] => {
      const [kind] = Object.entries(match.groups ?? {}).find(([, value]) => value !== undefined) ?? [];
      return kind ? [{ kind: kind as Token['kind'], text: match[0] }] : [];
    });
  });
}

/** The script's body (includes expanded, constants not yet substituted) as tokens, and its header comment. */
function bodyOf(definition: ScriptDefinition) {
  const body = scriptBody(definition);
  return { tokens: luaTokens(body), header: /^--\[\[([\s\S]*?)\]\]/.exec(body)?.[1] ?? '' };
}

/** Every string and number a table holds, at any depth, and its names. */
function leaves(value: LuaValue): Array<string | number | boolean> {
  if (typeof value !== 'object') return [value];
  return Object.entries(value).flatMap(([name, inner]) => [name, ...leaves(inner)]);
}

/** `T.a.b` references in the tokens, for each generated table T, as [T, a, b]. */
function references(tokens: readonly Token[], tables: readonly string[]): string[][] {
  const found: string[][] = [];
  tokens.forEach((token, i) => {
    if (token.kind !== 'name' || !tables.includes(token.text) || tokens[i - 1]?.text === '.') return;
    const path = [token.text];
    for (let j = i + 1; tokens[j]?.text === '.' && tokens[j + 1]?.kind === 'name'; j += 2) path.push(tokens[j + 1]!.text);
    found.push(path);
  });
  return found;
}

const resolve = (tables: Record<string, LuaValue>, path: readonly string[]): LuaValue | undefined =>
  path.reduce<LuaValue | undefined>((value, name) => (typeof value === 'object' ? value[name] : undefined), tables as LuaValue);

// Counting, pairs of a reply, half for rounding and a byte's range: anything else is a layout constant.
const PLAIN_NUMBERS = new Set([0, 0.5, 1, 2, 256]);
const HASH_COMMANDS = new Set(['HGET', 'HSET', 'HDEL', 'HEXISTS', 'HINCRBY', 'HMGET']);

describe.each(SCRIPTS.map((definition) => [definition.name, definition] as const))('the Lua script %s', (_name, definition) => {
  const { tokens, header } = bodyOf(definition);
  const tables = scriptConstants(definition);

  it('names every constant it uses from a table the loader substitutes, and each one is defined there', () => {
    const used = references(tokens, Object.keys(tables));
    const unresolved = used.filter((path) => resolve(tables, path) === undefined).map((path) => path.join('.'));
    expect(unresolved).toEqual([]);
  });

  it('spells out no field name, code or other value of those tables itself', () => {
    const generated = new Set(Object.values(tables).flatMap(leaves));
    const literals = tokens.filter((token) => token.kind === 'string' && generated.has(token.text)).map((token) => token.text);
    expect(literals).toEqual([]);
  });

  it('has no number of its own beyond counting and bytes (sizes, scales and positions come from the tables)', () => {
    const numbers = tokens.filter((token) => token.kind === 'number' && !PLAIN_NUMBERS.has(Number(token.text))).map((token) => token.text);
    expect(numbers).toEqual([]);
  });

  it('names no hash field with a literal, and reads KEYS and ARGV by name', () => {
    const literalFields: string[] = [];
    const positional: string[] = [];
    tokens.forEach((token, i) => {
      if (token.kind === 'string' && HASH_COMMANDS.has(token.text) && tokens[i - 2]?.text === 'call') {
        // redis.call('H…', key, field: the field is the token after the key's comma (keys are names or KEYS[…]).
        let j = i + 2;
        for (let depth = 0; j < tokens.length && (depth > 0 || tokens[j]!.text !== ','); j += 1) {
          depth += tokens[j]!.text === '[' || tokens[j]!.text === '(' ? 1 : tokens[j]!.text === ']' || tokens[j]!.text === ')' ? -1 : 0;
        }
        if (tokens[j + 1]?.kind === 'string') literalFields.push(`${token.text} ${tokens[j + 1]!.text}`);
      }
      if ((token.text === 'KEYS' || token.text === 'ARGV') && tokens[i + 1]?.text === '[' && tokens[i + 2]?.kind === 'number') {
        positional.push(`${token.text}[${tokens[i + 2]!.text}]`);
      }
    });
    expect({ literalFields, positional }).toEqual({ literalFields: [], positional: [] });
  });

  it('documents in its header every key and argument it is given', () => {
    const keysRead = references(tokens, ['KEY']).map((path) => `KEY.${path[1]}`);
    const documented = [...new Set([...keysRead, ...definition.args.map((arg) => `ARG.${arg}`)])];
    expect(documented.filter((name) => !header.includes(name))).toEqual([]);
  });

  it('is loaded with every include expanded, each once, and every constant replaced by its value', () => {
    const source = scriptSource(definition);
    expect(source).not.toMatch(/@include/);
    expect(source.match(/local function fencedOff/g)?.length ?? 0).toBeLessThanOrEqual(1);
    expect(references(luaTokens(source), Object.keys(tables))).toEqual([]);
  });
});

describe("the scorer's Redis permissions in docs/operations.md", () => {
  // The scripts the scorer's store runs (the back-fill's script runs under the back-fill command's own login).
  const SCORER_SCRIPTS = SCRIPTS.filter((definition) => definition !== REPLACE_BACKFILL_SCRIPT);
  const OPERATIONS_DOC = new URL('../../../../docs/operations.md', import.meta.url);

  it('allow every command its scripts call: Redis checks each one against the user that runs the script', () => {
    const line = readFileSync(OPERATIONS_DOC, 'utf8')
      .split('\n')
      .find((candidate) => candidate.startsWith('ACL SETUSER churnscore-scorer '));
    const allowed = new Set(line?.split(' ').filter((rule) => rule.startsWith('+')).map((rule) => rule.slice(1).toLowerCase()));
    const called = SCORER_SCRIPTS.flatMap((definition) => {
      const tokens = luaTokens(scriptBody(definition));
      return tokens.flatMap((token, i) =>
        token.kind === 'string' && tokens[i - 1]?.text === '(' && ['call', 'pcall'].includes(tokens[i - 2]?.text ?? '') ? [`${definition.name}: ${token.text.toLowerCase()}`] : [],
      );
    });
    expect(called.length).toBeGreaterThan(0);
    expect(called.filter((call) => !allowed.has(call.split(': ')[1]!))).toEqual([]);
  });
});

describe('the fence check', () => {
  it('is one piece shared by the apply and the commit', () => {
    for (const definition of [APPLY_EVENTS_SCRIPT, COMMIT_SCORE_SCRIPT]) expect(scriptSource(definition)).toMatch(/local function fencedOff/);
  });
});

describe('substituteConstants', () => {
  const definition: ScriptDefinition = { name: 'example', keys: ['state', 'score'], args: ['now', 'limit'], constants: { REPLY: { written: 1, refused: -1 } } };
  const constants = scriptConstants(definition);

  it('replaces keys, leading arguments, the first extra argument and constants in the code, not in strings or comments', () => {
    const source = [
      '-- KEY.score and ARG.limit',
      'local score, limit, first = KEYS[KEY.score], ARGV[ARG.limit], ARGV[FIRST_EXTRA_ARG]',
      "if x then return REPLY.written, 'REPLY.written' end",
      'return 2 -REPLY.refused, REPLY',
    ].join('\n');
    expect(substituteConstants(source, constants).split('\n')).toEqual([
      '-- KEY.score and ARG.limit',
      'local score, limit, first = KEYS[2], ARGV[2], ARGV[3]',
      "if x then return 1, 'REPLY.written' end",
      'return 2 -(-1), {written = 1, refused = (-1)}',
    ]);
  });

  it('carries the layout as layout.ts defines it', () => {
    expect(substituteConstants('return LAYOUT.state.revision, LAYOUT.act', { LAYOUT: LUA_LAYOUT })).toBe(
      `return '${STATE_FIELD.revision}', ${luaLiteral(LUA_LAYOUT.act)}`,
    );
  });

  it('fails the load on a name that resolves to nothing', () => {
    expect(() => substituteConstants('return REPLY.writen', constants)).toThrow(/REPLY.writen is not a constant/);
    expect(() => substituteConstants('return KEY.history', constants)).toThrow(/KEY.history/);
  });

  it('refuses a name listed twice and a constant named like a generated table', () => {
    expect(() => scriptConstants({ ...definition, keys: ['state', 'state'] })).toThrow(/twice/);
    expect(() => scriptConstants({ ...definition, constants: { KEY: 1 } })).toThrow(/may not be named KEY/);
  });
});

describe('luaSegments', () => {
  it('cuts code, strings and comments apart, long brackets and escaped quotes included', () => {
    const source = "local a = 'it\\'s' .. \"--\" -- note\n--[==[ long\n]] ]==]return [[x]]";
    expect(luaSegments(source)).toEqual([
      { kind: 'code', text: 'local a = ' },
      { kind: 'string', text: "'it\\'s'" },
      { kind: 'code', text: ' .. ' },
      { kind: 'string', text: '"--"' },
      { kind: 'code', text: ' ' },
      { kind: 'comment', text: '-- note' },
      { kind: 'code', text: '\n' },
      { kind: 'comment', text: '--[==[ long\n]] ]==]' },
      { kind: 'code', text: 'return ' },
      { kind: 'string', text: '[[x]]' },
    ]);
    expect(luaSegments(source).map((segment) => segment.text).join('')).toBe(source);
  });
});

describe('luaLiteral', () => {
  it('renders strings, numbers, booleans and nested tables as Lua reads them back', () => {
    expect(luaLiteral({ a: 'it\'s \\ %', b: 1000, c: true, d: { e: 'é\n' } })).toBe("{a = 'it\\'s \\\\ %', b = 1000, c = true, d = {e = '\\195\\169\\10'}}");
  });

  it('brackets a key that is not a Lua name, and refuses a number Lua cannot hold', () => {
    expect(luaLiteral({ end: 1, 'a-b': 2 })).toBe("{['end'] = 1, ['a-b'] = 2}");
    expect(() => luaLiteral(Number.NaN)).toThrow(RangeError);
  });
});

describe('expandIncludes', () => {
  const pieces: Record<string, string> = { a: '--- @include "b"\nlocal a = b', b: 'local b = 1\n' };
  const read = (piece: string) => {
    const source = pieces[piece];
    if (source === undefined) throw new Error(`no piece ${piece}`);
    return source;
  };

  it('expands nested pieces in place, each once', () => {
    expect(expandIncludes('--- @include "a"\n--- @include "b"\nreturn a', read)).toBe('local b = 1\nlocal a = b\n\nreturn a');
  });

  it('fails on a piece that does not exist', () => {
    expect(() => expandIncludes('--- @include "missing"', read)).toThrow(/no piece missing/);
  });
});

describe('scriptFile', () => {
  it('refuses a definition whose keys do not match the number in the file name', () => {
    expect(scriptFile(CLAIM_DUE_SCRIPT)).toBe('claimDue-1.lua');
    expect(() => scriptFile({ ...CLAIM_DUE_SCRIPT, keys: ['a', 'b'] })).toThrow(/takes 1 keys but its definition names 2/);
  });
});

describe('scriptArgs', () => {
  it('puts the named arguments in the order listed, then the extra ones', () => {
    expect(scriptArgs(['b', 'a'] as const, { a: 1, b: 'x' }, [3])).toEqual(['x', 1, 3]);
  });
});
