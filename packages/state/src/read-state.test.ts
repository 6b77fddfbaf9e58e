import { describe, expect, it } from 'vitest';
import { MS_PER_DAY } from '@churnscore/domain';
import { decodeCustomerState, pairsToRecord } from './read-state';

const AS_OF = Date.UTC(2025, 5, 1, 12); // UTC day 20240
/** A line of the act string: the 32-day period's key, then its buckets from its first day on. */
const line = (period: number, buckets: string[]) => `\n${period.toString(36).toUpperCase().padStart(3, '0')}${buckets.join(',')}`;

describe('decodeCustomerState', () => {
  it('decodes day buckets inside the horizon, in day and activity-type order', () => {
    // period 632 holds days 20224–20255; 20240 − 399 = 19841 is the first day of the horizon (period 620)
    // period 600 lies wholly before the horizon; period 620's first day (19840) too
    const act = line(632, [...Array<string>(15).fill(''), 'bh2su2.625', 'a2ce']) + line(620, ['a9', 'c']) + line(600, ['b', 'a,,c']);
    const state = decodeCustomerState('c1', {}, act, null, AS_OF, 400);
    expect(state.activityDays).toEqual([
      { day: 19841, type: 'CALL', count: 1, valueSum: 0 },
      { day: 20239, type: 'EMAIL_RECEIVED', count: 1, valueSum: 0 },
      { day: 20239, type: 'PRODUCT_USAGE', count: 2, valueSum: 2.625 },
      { day: 20240, type: 'EMAIL_SENT', count: 2, valueSum: 0 },
      { day: 20240, type: 'CALL', count: 1, valueSum: 0 },
      { day: 20240, type: 'FOLLOW_UP_TASK', count: 1, valueSum: 0 },
    ]);
    expect(state.slaBreachDays).toEqual([{ day: 20239, count: 1 }]);
  });

  it('reads multi-digit counts and usage sums with decimals or a sign', () => {
    const act = line(632, [...Array<string>(16).fill(''), 'a105h12s10u-3.5']) + line(631, ['h3u1250.125']);
    const state = decodeCustomerState('c1', {}, act, null, AS_OF, 400);
    expect(state.activityDays).toEqual([
      { day: 20192, type: 'PRODUCT_USAGE', count: 3, valueSum: 1250.125 },
      { day: 20240, type: 'EMAIL_SENT', count: 105, valueSum: 0 },
      { day: 20240, type: 'PRODUCT_USAGE', count: 12, valueSum: -3.5 },
    ]);
    expect(state.slaBreachDays).toEqual([{ day: 20240, count: 10 }]);
  });

  it('still orders buckets whose counters a string holds out of letter order', () => {
    const act = line(632, [...Array<string>(16).fill(''), 'ds3a']) + line(631, ['s2']);
    const state = decodeCustomerState('c1', {}, act, null, AS_OF, 400);
    expect(state.activityDays).toEqual([
      { day: 20240, type: 'EMAIL_SENT', count: 1, valueSum: 0 },
      { day: 20240, type: 'MEETING', count: 1, valueSum: 0 },
    ]);
    expect(state.slaBreachDays).toEqual([
      { day: 20192, count: 2 },
      { day: 20240, count: 3 },
    ]);
  });

  it('skips tombstones and aged-out records the sweep has not reached yet, and unescapes ids', () => {
    const old = AS_OF - 500 * MS_PER_DAY;
    const ent = [
      '',
      `t:T-old\t[${old},"1e1"]`,
      `t:T-aged\t[${old},"0e2",1,1]`,
      `t:T%091\t[${AS_OF},"0e3",1,1]`,
      `o:O-open\t[${old},"e4",0,"LEAD",5,null,null]`,
    ].join('\n');
    const state = decodeCustomerState('c1', {}, null, ent, AS_OF, 400);
    expect(state.tickets).toEqual([{ ticketId: 'T\t1', occurredAt: AS_OF, eventId: 'e3', open: true }]);
    expect(state.opportunities.map((o) => o.opportunityId)).toEqual(['O-open']);
  });

  it('reads scalars from the state hash and latest values from the ent string', () => {
    const hash = pairsToRecord(['rev', '7', 'lastAct', '5']);
    const ent = '\nv:segment\t[1,"e",0,"SMB"]\nv:nps\t[2,"n",0,9]';
    expect(decodeCustomerState('c1', hash, null, ent, AS_OF, 400)).toMatchObject({
      revision: 7,
      segment: 'SMB',
      latestNps: { occurredAt: 2, eventId: 'n', value: 9 },
      latestCsmSentiment: null,
      lastActivityAt: 5,
      lastInboundAt: null,
    });
  });
});
