import { describe, expect, it } from 'vitest';
import { MS_PER_DAY, slaBreachDaysOf } from './state';

const DAY = 20_240;
const at = (day: number) => day * MS_PER_DAY + 3_600_000;

describe('slaBreachDaysOf', () => {
  it("adds each ticket's first breach to the flagged events of no ticket, on days of their own or shared, by day", () => {
    // An outside tester's flagged call and breached ticket of one day read 1, then 3 with one more ticket (2026-12-07).
    expect(slaBreachDaysOf([{ day: DAY, count: 1 }], [at(DAY)], DAY - 399)).toEqual([{ day: DAY, count: 2 }]);
    expect(slaBreachDaysOf([{ day: DAY, count: 1 }], [at(DAY), at(DAY)], DAY - 399)).toEqual([{ day: DAY, count: 3 }]);
    expect(slaBreachDaysOf([{ day: DAY, count: 2 }], [at(DAY + 1), at(DAY - 3)], DAY - 399)).toEqual([
      { day: DAY - 3, count: 1 },
      { day: DAY, count: 2 },
      { day: DAY + 1, count: 1 },
    ]);
  });

  it('leaves out the breaches before the retention horizon, and the event days as they are when no breach counts', () => {
    const eventDays = [{ day: DAY, count: 4 }];
    expect(slaBreachDaysOf(eventDays, [at(DAY - 400)], DAY - 399)).toEqual(eventDays);
    expect(slaBreachDaysOf([], [], DAY - 399)).toEqual([]);
  });
});
