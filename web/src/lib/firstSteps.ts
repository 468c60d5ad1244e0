// The steps of a new install's checklist ("Primeros pasos") and whether each
// is done, from counts the server answers (components/FirstSteps.tsx).

export interface SetupFacts {
  timezone: boolean; // the institution's time zone is set
  groups: number;
  schedules: number; // slots of any group or person
  persons: number;
  cameras: number;
  deviceKeys: number; // kiosk tablets left with a device key
  events: number; // attendance ever recorded (a kiosk in use), voided included
  managers: number;
}

export interface Step {
  id: 'timezone' | 'group' | 'timetable' | 'people' | 'camera' | 'manager';
  to: string;
  done: boolean;
  optional: boolean;
}

export function firstSteps(f: SetupFacts): Step[] {
  return [
    { id: 'timezone', to: '/admin/settings', done: f.timezone, optional: false },
    { id: 'group', to: '/groups', done: f.groups > 0, optional: false },
    { id: 'timetable', to: '/groups', done: f.schedules > 0, optional: false },
    { id: 'people', to: '/people', done: f.persons > 0, optional: false },
    // A kiosk opened from the menu leaves no trace until it records someone.
    { id: 'camera', to: '/cameras', done: f.cameras > 0 || f.deviceKeys > 0 || f.events > 0, optional: false },
    { id: 'manager', to: '/admin/users', done: f.managers > 0, optional: true },
  ];
}
