import { createHash } from 'node:crypto';
import type { Explanation, ScoreChangedMessage } from '@churnscore/domain';
import { describe, expect, it } from 'vitest';
import type { RedisClient } from './connection';
import { ExplanationLegends, legendIdsIn } from './explanation-codec';
import { LUA_LAYOUT, OMITTED_EXPLANATION, withoutExplanation } from './layout';
import { decodeOutboxEntry, decodeStoredScore } from './score-codec';

const explanation: Explanation = {
  scorecardId: 'renewal ✓',
  measures: [
    { measureId: 'recency', group: 'Support & Sentiment', rawValue: null, score: null, weight: 0, contribution: 0 },
    { measureId: 'nps', group: 'Engagement', rawValue: -3.25, score: 40, weight: 0.15789473684210525, contribution: 6.32 },
  ],
  churnFeatures: [{ feature: 'usageDrop90d', value: 0.977, coefficient: -0.163009, logitContribution: -0.1593 }],
  topDrivers: [
    { id: 'nps', kind: 'measure', previous: null, current: 40, impact: -2.05 },
    { id: 'usageDrop90d', kind: 'churnFeature', previous: 0.5, current: 0.977, impact: 0.0123 },
  ],
};
const LEGEND_JSON = '{"m":[["recency","Support & Sentiment",0],["nps","Engagement",0.15789473684210525]],"f":[["usageDrop90d",-0.163009]]}';
const LEGEND_NAME = createHash('sha256').update(LEGEND_JSON).digest('hex').slice(0, 12);

/** The legends hash of one namespace, as Redis would hold it, with the commands the class sends. */
function legendsHash() {
  const hash = new Map<string, string>();
  const commands: string[] = [];
  let failNextWrite = false;
  const redis = {
    async hset(key: string, ...fieldsAndValues: string[]) {
      commands.push(`HSET ${key} ${fieldsAndValues.filter((_, i) => i % 2 === 0).join(' ')}`);
      if (failNextWrite) {
        failNextWrite = false;
        throw new Error('connection lost');
      }
      for (let i = 0; i < fieldsAndValues.length; i += 2) hash.set(fieldsAndValues[i]!, fieldsAndValues[i + 1]!);
      return fieldsAndValues.length / 2;
    },
    async hgetall(key: string) {
      commands.push(`HGETALL ${key}`);
      return Object.fromEntries(hash);
    },
  } as unknown as RedisClient;
  return { hash, commands, redis, failNextWrite: () => (failNextWrite = true) };
}

/** A scorer that stored `explanation` and wrote its legend; the hash it wrote to. */
async function stored(value: Explanation = explanation) {
  const redis = legendsHash();
  const writer = new ExplanationLegends(redis.redis, 'p:legends');
  const json = writer.encode(value);
  await writer.persist('');
  return { json, redis };
}

describe('the stored explanation', () => {
  it('is read back, in another process, as exactly the explanation encoded: every number, null and name', async () => {
    const { json, redis } = await stored();
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    await reader.learn([json]);
    expect(reader.decode(json)).toEqual(explanation);
    // In the domain types' field order, as the API serves it.
    expect(Object.keys(reader.decode(json).churnFeatures[0]!)).toEqual(['feature', 'value', 'coefficient', 'logitContribution']);
    expect(Object.keys(reader.decode(json))).toEqual(['scorecardId', 'measures', 'churnFeatures', 'topDrivers']);
  });

  it("is JSON a dashboard reads with a JSON parser, the documented tuple orders and its legend: the customer's own numbers, and the legend's name; contributions derived", async () => {
    const { json, redis } = await stored();
    expect(JSON.parse(json)).toEqual({
      l: LEGEND_NAME,
      s: 'renewal ✓',
      m: [
        [null, null],
        [-3.25, 40],
      ],
      f: [0.977],
      d: [
        ['nps', 'measure', null, 40, -2.05],
        ['usageDrop90d', 'churnFeature', 0.5, 0.977, 0.0123],
      ],
    });
    // What every explanation of this scorecard and model shares, once, named by the digest of its JSON.
    expect(Object.fromEntries(redis.hash)).toEqual({ [LEGEND_NAME]: LEGEND_JSON });
    expect(legendIdsIn(json)).toEqual([LEGEND_NAME]);
  });

  it('writes a legend once per generation of the Redis data, every legend known again in a new one, and a failed write again', async () => {
    const redis = legendsHash();
    const legends = new ExplanationLegends(redis.redis, 'p:legends');
    const other = { ...explanation, churnFeatures: [{ ...explanation.churnFeatures[0]!, coefficient: 0.5 }] };
    legends.encode(explanation);
    await legends.persist('gen-1');
    legends.encode(explanation);
    await legends.persist('gen-1');
    expect(redis.commands).toEqual([`HSET p:legends ${LEGEND_NAME}`]);

    const otherName = legendIdsIn(legends.encode(other))[0]!;
    redis.failNextWrite();
    await expect(legends.persist('gen-1')).rejects.toThrow('connection lost');
    await legends.persist('gen-1');
    await legends.persist('gen-2');
    expect(redis.commands.slice(1)).toEqual([`HSET p:legends ${otherName}`, `HSET p:legends ${otherName}`, `HSET p:legends ${LEGEND_NAME} ${otherName}`]);
  });

  it('writes a legend it encodes with even if it read it before: one altered in Redis is mended by the next scorer using it', async () => {
    const { json, redis } = await stored();
    redis.hash.set(LEGEND_NAME, '{"m":[],"f":[]}');
    const scorer = new ExplanationLegends(redis.redis, 'p:legends');
    await scorer.learn([json]);
    await scorer.persist('gen-1');
    expect(redis.hash.get(LEGEND_NAME)).toBe('{"m":[],"f":[]}');
    scorer.encode(explanation);
    await scorer.persist('gen-1');
    expect(redis.hash.get(LEGEND_NAME)).toBe(LEGEND_JSON);
  });

  it('reads the legends only when a value names one it does not know', async () => {
    const { json, redis } = await stored();
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    await reader.learn([null, json, json]);
    await reader.learn([json]);
    expect(redis.commands.filter((command) => command.startsWith('HGETALL'))).toEqual(['HGETALL p:legends']);
  });

  it('whose legend was lost keeps its scorecard and drivers, without measures or features, rather than failing the read', async () => {
    const { json, redis } = await stored();
    redis.hash.clear();
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    await reader.learn([json]);
    expect(reader.decode(json)).toEqual({ ...explanation, measures: [], churnFeatures: [] });
  });

  it('whose legend was altered in Redis (not JSON, or not fitting it) reads as one whose legend was lost', async () => {
    for (const altered of ['{"m":', '{"m":[["recency","Support & Sentiment",0]],"f":[["usageDrop90d",-0.163009]]}']) {
      const { json, redis } = await stored();
      redis.hash.set(LEGEND_NAME, altered);
      const reader = new ExplanationLegends(redis.redis, 'p:legends');
      await reader.learn([json]);
      expect(reader.decode(json), altered).toEqual({ ...explanation, measures: [], churnFeatures: altered.startsWith('{"m":[') ? explanation.churnFeatures : [] });
    }
  });

  it('goes back into a waiting score-changed outbox entry as a member, and decodes from there', async () => {
    const { json, redis } = await stored();
    const values = { health: 62, band: 'yellow', churnRisk: 0.31, riskBand: 'medium', lifecycleStage: 'MATURE', valueAtRisk: 1240 } as const;
    const message: ScoreChangedMessage = {
      kind: 'score-changed',
      customerId: 'c-1',
      cause: { kind: 'time' },
      previous: null,
      current: values,
      segment: null,
      explanation,
      modelVersion: 'test-1',
      computedAt: 1_764_547_200_000,
      catchingUp: false,
    };
    // What the scripts do (lua/includes/outboxEntry.lua, withExplanation) to the entry the commit stored.
    const entry = `{"seq":3,"version":2,"value":${withoutExplanation(message)}}`;
    const putBack = entry.replace(OMITTED_EXPLANATION, LUA_LAYOUT.outboxEntry.explanationMember + json);
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    expect(legendIdsIn(putBack)).toEqual([LEGEND_NAME]);
    await reader.learn([putBack]);
    expect(decodeOutboxEntry(putBack, reader)).toEqual({ seq: 3, version: 2, value: message });
    expect(decodeOutboxEntry(entry, reader)).toEqual({ seq: 3, version: 2, value: { ...message, explanation: null } });
  });

  it('refuses a value of another contract version (the explanation of chs:v6, chs:v4, or chs:v1) rather than misreading it', async () => {
    const { redis } = await stored();
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    const v4Value = '{"s":"steady","m":[["recency","Engagement",2,90,1,90]],"f":[["usageDrop90d",0.2341,3.43283,0.8036]],"d":[]}';
    // chs:v5 and v6 kept the contributions, and the weights in the customer's tuples.
    const v6Value = `{"l":"${LEGEND_NAME}","s":"renewal ✓","m":[[null,null,0,0],[-3.25,40,0.1579,6.32]],"f":[[0.977,-0.1593]],"d":[]}`;
    for (const value of [v6Value, v4Value, JSON.stringify(explanation), 'z1:7dpLDoUgDAXQFb0bWqDK']) {
      expect(() => reader.decode(value), value).toThrow(/format of this key contract/);
    }
    const v4Entry = `{"seq":1,"version":1,"value":{"kind":"score-changed","explanation":${v4Value}}}`;
    expect(() => decodeOutboxEntry(v4Entry, reader)).toThrow(/format of this key contract/);
  });

  it('is parsed with the stored score only once it is read: a commit that publishes nothing never needs it', async () => {
    const { json, redis } = await stored();
    const reader = new ExplanationLegends(redis.redis, 'p:legends');
    await reader.learn([json]);
    const hash = { health: '72', band: 'green', churnRisk: '0.1', riskBand: 'low', lifecycleStage: 'MATURE', valueAtRisk: '10', modelVersion: 'm1', computedAt: '5', version: '3', revision: '9', asOf: '5' };
    const unreadable = decodeStoredScore('c1', hash, JSON.stringify(explanation), reader)!;
    expect(unreadable.health).toBe(72);
    expect(() => unreadable.explanation).toThrow(/format of this key contract/);
    const score = decodeStoredScore('c1', hash, json, reader)!;
    expect(score.explanation).toEqual(explanation);
    expect(score.explanation).toBe(score.explanation); // parsed once
    expect(JSON.parse(JSON.stringify(score)).explanation).toEqual(explanation);
    expect({ ...score }.explanation).toEqual(explanation);
  });
});
