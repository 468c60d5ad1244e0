// Which roles may open which part of the UI. Mirrors the API's own checks
// (the server is the authority; this only keeps people away from pages that
// would answer 403 and hides their links).
import type { Role } from '../api/types';

export type Area =
  | 'dashboard'
  | 'kiosk'
  | 'people'
  | 'groups'
  | 'attendance'
  | 'reports'
  | 'cameras'
  | 'admin'
  | 'checkin'
  | 'mydata'
  | 'registrations'
  | 'requests';

const ACCESS: Record<Area, readonly Role[]> = {
  dashboard: ['admin', 'manager'],
  kiosk: ['admin', 'device'],
  people: ['admin', 'manager'],
  groups: ['admin', 'manager'],
  attendance: ['admin', 'manager', 'member'],
  reports: ['admin', 'manager'],
  cameras: ['admin', 'manager'],
  admin: ['admin'],
  checkin: ['member'],
  mydata: ['member'],
  registrations: ['admin', 'manager'],
  requests: ['admin', 'manager'],
};

export function canOpen(role: Role | undefined | null, area: Area): boolean {
  return !!role && ACCESS[area].includes(role);
}

/** Where a user lands after logging in. */
export function homeFor(role: Role): string {
  if (role === 'device') return '/kiosk';
  if (role === 'member') return '/attendance';
  return '/dashboard';
}

/** Editing cameras is for admins; managers only see the list. */
export function canEditCameras(role: Role | undefined | null): boolean {
  return role === 'admin';
}

/** A manager limited to some groups (the server refuses them what concerns
 * every group, and a person outside theirs). */
export function limitedToGroups(user: { role: Role; all_groups?: boolean } | null | undefined): boolean {
  return user?.role === 'manager' && user.all_groups === false;
}
