// Which roles may open which part of the UI. Mirrors the API's own checks
// (the server is the authority; this only keeps people away from pages that
// would answer 403 and hides their links).
import type { Role } from '../api/types';

export type Area =
  | 'dashboard'
  | 'kiosk'
  | 'people'
  | 'import'
  | 'review'
  | 'groups'
  | 'attendance'
  | 'reports'
  | 'cameras'
  | 'admin'
  | 'checkin'
  | 'mydata'
  | 'registrations'
  | 'requests';

// The auditor (HR, inspection) reads people, groups, attendance, reports
// and the cameras' list; importing, unknown faces and registrations are
// changes (and face images), so theirs are only the admin's and manager's.
const ACCESS: Record<Area, readonly Role[]> = {
  dashboard: ['admin', 'manager', 'auditor'],
  kiosk: ['admin', 'device'],
  people: ['admin', 'manager', 'auditor'],
  import: ['admin', 'manager'],
  review: ['admin', 'manager'],
  groups: ['admin', 'manager', 'auditor'],
  attendance: ['admin', 'manager', 'member', 'auditor'],
  reports: ['admin', 'manager', 'auditor'],
  cameras: ['admin', 'manager', 'auditor'],
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

/** A manager (or auditor) limited to some groups (the server refuses them
 * what concerns every group, and a person outside theirs). */
export function limitedToGroups(user: { role: Role; all_groups?: boolean } | null | undefined): boolean {
  return (user?.role === 'manager' || user?.role === 'auditor') && user.all_groups === false;
}

/** Staff who change people, groups, timetables and attendance, and see
 * enrolled faces; an auditor reads the rest and is shown no such action. */
export function canChange(role: Role | undefined | null): boolean {
  return role === 'admin' || role === 'manager';
}

/** Whether the role reads face images (photos, enrolled faces): the
 * auditor does not (biometric data). */
export function seesFaces(role: Role | undefined | null): boolean {
  return canChange(role);
}

/** Roles an account can be given that may be limited to some groups. */
export function takesGroups(role: Role): boolean {
  return role === 'manager' || role === 'auditor';
}
