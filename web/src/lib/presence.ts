// Decides when the kiosk sends a camera frame to the server. Recognition is
// expensive, so frames go out at a low idle rate while the scene is still and
// empty, and at a steady faster rate (a few per second at most) while
// something moves in front of the camera or a face was seen recently. A frame
// that is almost black (lens covered, lights off) is never sent. Works on a
// tiny grayscale thumbnail, so the check costs next to nothing.

export interface PresenceOptions {
  /** Interval between frames while a face is likely present (ms). */
  activeIntervalMs: number;
  /** Interval between frames while nothing happens (ms). */
  idleIntervalMs: number;
  /** Mean absolute luminance change (0..255) that counts as motion. */
  motionThreshold: number;
  /** Mean luminance (0..255) below which the picture is too dark to send. */
  minBrightness: number;
  /** How long motion or a detected face keeps the active rate (ms). */
  holdMs: number;
}

export const DEFAULT_PRESENCE: PresenceOptions = {
  activeIntervalMs: 400,
  idleIntervalMs: 2000,
  motionThreshold: 4,
  minBrightness: 16,
  holdMs: 4000,
};

/** Grayscale (Rec. 601 luma) of an RGBA pixel buffer. */
export function lumaFromRgba(rgba: Uint8ClampedArray | Uint8Array): Uint8Array {
  const n = rgba.length >> 2;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const o = i << 2;
    out[i] = (rgba[o] * 77 + rgba[o + 1] * 150 + rgba[o + 2] * 29) >> 8;
  }
  return out;
}

export function meanOf(a: Uint8Array): number {
  if (a.length === 0) return 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s / a.length;
}

/** Mean absolute difference of two equally sized luma thumbnails; Infinity
 * when there is no previous frame or the sizes differ. */
export function meanAbsDiff(a: Uint8Array | null, b: Uint8Array): number {
  if (!a || a.length !== b.length || b.length === 0) return Infinity;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length;
}

export type PresenceState = 'dark' | 'idle' | 'active';

export class PresenceGate {
  private readonly o: PresenceOptions;
  private prev: Uint8Array | null = null;
  private lastSent = -Infinity;
  private lastMotion = -Infinity;
  private lastFace = -Infinity;
  state: PresenceState = 'idle';

  constructor(opts: Partial<PresenceOptions> = {}) {
    this.o = { ...DEFAULT_PRESENCE, ...opts };
  }

  /** Look at the thumbnail of the current frame taken at time `now` (ms);
   * true when this frame should be sent for recognition. */
  observe(now: number, luma: Uint8Array): boolean {
    const diff = meanAbsDiff(this.prev, luma);
    this.prev = luma;
    if (meanOf(luma) < this.o.minBrightness) {
      this.state = 'dark';
      return false;
    }
    if (diff !== Infinity && diff >= this.o.motionThreshold) this.lastMotion = now;
    const active = now - this.lastMotion < this.o.holdMs || now - this.lastFace < this.o.holdMs;
    this.state = active ? 'active' : 'idle';
    const interval = active ? this.o.activeIntervalMs : this.o.idleIntervalMs;
    if (now - this.lastSent >= interval) {
      this.lastSent = now;
      return true;
    }
    return false;
  }

  /** Tell the gate how many faces the server found in a frame sent at `now`. */
  reportFaces(now: number, count: number): void {
    if (count > 0) this.lastFace = now;
  }
}
