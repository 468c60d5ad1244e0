// Live feed of the dashboard: parses the server-sent events of
// /api/v1/events (`attendance` carries an attendance event, `recognition` a
// summary of faces seen) into feed items, newest first, capped.
import type { AttendanceEvent } from '../api/types';

export type FeedItem =
  { kind: 'attendance'; key: string; event: AttendanceEvent } | { kind: 'unknown'; key: string; time: string; camera: string | null };

interface RecognitionSummary {
  time?: string;
  camera_name?: string | null;
  camera_id?: number | null;
  faces?: { identity?: unknown; known?: boolean }[];
  unknown?: number;
}

/** Feed item for one SSE message, or null when it is nothing to show. */
export function feedItem(type: string, data: string, seq: number): FeedItem | null {
  let obj: unknown;
  try {
    obj = JSON.parse(data);
  } catch {
    return null;
  }
  if (!obj || typeof obj !== 'object') return null;
  if (type === 'attendance') {
    const e = obj as AttendanceEvent;
    if (typeof e.id !== 'number' || typeof e.time !== 'string') return null;
    return { kind: 'attendance', key: `a${e.id}-${seq}`, event: e };
  }
  if (type === 'recognition') {
    const r = obj as RecognitionSummary;
    const unknown =
      typeof r.unknown === 'number' ? r.unknown : (r.faces ?? []).filter((f) => f.identity == null && f.known !== true).length;
    if (unknown <= 0) return null;
    return { kind: 'unknown', key: `r${seq}`, time: r.time ?? new Date().toISOString(), camera: r.camera_name ?? null };
  }
  return null;
}

/** Prepend an item, keeping at most `max` and dropping a repeated event id. */
export function pushFeed(feed: FeedItem[], item: FeedItem, max = 30): FeedItem[] {
  const rest = item.kind === 'attendance' ? feed.filter((f) => !(f.kind === 'attendance' && f.event.id === item.event.id)) : feed;
  return [item, ...rest].slice(0, max);
}

/** Where an event came from, for tables: "manual" for entries made by
 * hand, else the camera's name, else `none`. */
export function eventSource(e: Pick<AttendanceEvent, 'manual' | 'camera_name'>, manual: string, none: string): string {
  return e.manual ? manual : (e.camera_name ?? none);
}
