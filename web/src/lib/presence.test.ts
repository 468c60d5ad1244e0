import { describe, expect, it } from 'vitest';
import { lumaFromRgba, meanAbsDiff, PresenceGate } from './presence';

const N = 32 * 24;
const flat = (v: number) => new Uint8Array(N).fill(v);

describe('lumaFromRgba', () => {
  it('weights green most, and maps white and black to the ends', () => {
    const px = new Uint8ClampedArray([255, 255, 255, 255, 0, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    const l = lumaFromRgba(px);
    expect(l.length).toBe(4);
    expect(l[0]).toBeGreaterThanOrEqual(254);
    expect(l[1]).toBe(0);
    expect(l[2]).toBeGreaterThan(l[3]);
  });
});

describe('meanAbsDiff', () => {
  it('is Infinity without a previous frame or with a size change', () => {
    expect(meanAbsDiff(null, flat(1))).toBe(Infinity);
    expect(meanAbsDiff(new Uint8Array(4), flat(1))).toBe(Infinity);
    expect(meanAbsDiff(flat(10), flat(30))).toBe(20);
  });
});

describe('PresenceGate', () => {
  it('sends the first frame, then only at the idle rate while the scene is still', () => {
    const g = new PresenceGate({ activeIntervalMs: 400, idleIntervalMs: 2000, holdMs: 4000 });
    const sent: number[] = [];
    for (let t = 0; t <= 6000; t += 100) if (g.observe(t, flat(120))) sent.push(t);
    expect(sent).toEqual([0, 2000, 4000, 6000]);
    expect(g.state).toBe('idle');
  });

  it('speeds up while a face was seen recently, and slows down after', () => {
    const g = new PresenceGate({ activeIntervalMs: 400, idleIntervalMs: 2000, holdMs: 1000 });
    const sent: number[] = [];
    for (let t = 0; t <= 4000; t += 100) {
      if (g.observe(t, flat(120))) {
        sent.push(t);
        if (t < 1000) g.reportFaces(t, 1);
      }
    }
    // Faces reported at 0, 400 and 800 keep the fast rate until 1800.
    expect(sent).toEqual([0, 400, 800, 1200, 1600, 3600]);
  });

  it('motion triggers the fast rate', () => {
    const g = new PresenceGate({ activeIntervalMs: 300, idleIntervalMs: 5000, holdMs: 1000, motionThreshold: 5 });
    expect(g.observe(0, flat(100))).toBe(true);
    expect(g.observe(100, flat(100))).toBe(false);
    expect(g.observe(300, flat(140))).toBe(true); // moved: more than 300 ms since the last send
    expect(g.state).toBe('active');
    expect(g.observe(400, flat(100))).toBe(false); // too soon
    expect(g.observe(600, flat(100))).toBe(true);
  });

  it('never sends a dark frame', () => {
    const g = new PresenceGate();
    for (let t = 0; t < 10000; t += 150) expect(g.observe(t, flat(3))).toBe(false);
    expect(g.state).toBe('dark');
  });

  it('sends at most a few frames per second whatever happens', () => {
    const g = new PresenceGate();
    let sent = 0;
    for (let t = 0; t < 10000; t += 50) {
      const frame = flat(t % 100 < 50 ? 60 : 200); // constant motion
      if (g.observe(t, frame)) {
        sent++;
        g.reportFaces(t, 2);
      }
    }
    expect(sent).toBeLessThanOrEqual(10000 / 400 + 1);
    expect(sent).toBeGreaterThan(10);
  });
});
