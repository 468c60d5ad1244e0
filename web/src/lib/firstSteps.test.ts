import { describe, expect, it } from 'vitest';
import { firstSteps, type SetupFacts } from './firstSteps';

const none: SetupFacts = { timezone: false, groups: 0, schedules: 0, persons: 0, cameras: 0, deviceKeys: 0, events: 0, managers: 0 };
const done = (f: SetupFacts) => Object.fromEntries(firstSteps(f).map((s) => [s.id, s.done]));

describe('first steps', () => {
  it('a fresh install has nothing done; the manager account is the optional step', () => {
    expect(done(none)).toEqual({ timezone: false, group: false, timetable: false, people: false, camera: false, manager: false });
    expect(
      firstSteps(none)
        .filter((s) => s.optional)
        .map((s) => s.id),
    ).toEqual(['manager']);
  });
  it('each step is ticked by its own data; a kiosk counts by a device key or recorded attendance', () => {
    expect(done({ ...none, groups: 1 }).group).toBe(true);
    expect(done({ ...none, groups: 1 }).timetable).toBe(false);
    expect(done({ ...none, schedules: 3, persons: 2, timezone: true })).toMatchObject({ timetable: true, people: true, timezone: true });
    expect(done({ ...none, deviceKeys: 1 }).camera).toBe(true);
    expect(done({ ...none, events: 1 }).camera).toBe(true);
    expect(done({ ...none, cameras: 1, managers: 1 })).toMatchObject({ camera: true, manager: true });
  });
});
