// Types of the Rollcall REST API v1. They come from the OpenAPI description
// (src/http/openapi.json → schema.d.ts, regenerated with `npm run gen:api`);
// where the description is looser than the contract it documents (nullable
// references, fields every answer carries) the type is tightened here, once,
// so no page spells a JSON shape of its own.
import type { components } from './schema';

type S = components['schemas'];
/** Make the listed optional fields required. */
type Req<T, K extends keyof T> = Omit<T, K> & { [P in K]-?: Exclude<T[P], undefined> };

export type Role = S['Role'];
export type ApiErrorBody = S['Error'];

export interface Page<T> {
  items: T[];
  total: number;
}

export type User = S['User'];
export type Session = S['Session'];
export type UserCreate = S['UserCreate'];
export type UserPatch = S['UserPatch'];
export type RoleInfo = S['RoleInfo'];
export type ApiKey = S['ApiKey'] & { key?: string };
export type ApiKeyCreate = S['ApiKeyCreate'];
export type ApiKeyCreated = S['ApiKeyCreated'];
export type AuditEntry = S['AuditEntry'];
export type PresenceMode = 'day' | 'slot';
export type Settings = Req<
  S['Settings'],
  | 'timezone'
  | 'dedup_window_s'
  | 'min_stay_s'
  | 'slot_margin_min'
  | 'recognition_threshold'
  | 'liveness_threshold'
  | 'keep_unrecognized'
  | 'unrecognized_retention_days'
> & {
  institution_name?: string;
  institution_logo_url?: string;
  kiosk_pin?: string;
  kiosk_pin_set?: boolean;
  /** The zone in force when none is set (the server's). */
  timezone_in_effect?: string;
  attendance_start_day?: string | null;
  /** How a slot is judged: "day" (door: in from an entry to the next exit) or "slot". */
  presence_mode?: PresenceMode;
  self_checkin_enabled?: boolean;
  self_checkin_window_min?: number;
  self_checkin_networks?: string;
  self_registration_enabled?: boolean;
};

export type Person = S['Person'];
export type Erased = S['Erased'];
export type CameraError = S['CameraError'];
export type PersonKind = Person['kind'];
export type PersonInput = S['PersonCreate'];
export type GroupRef = S['GroupRef'];
export type Quality = S['Quality'];
export type Face = S['Face'];
export type EnrollResult = Omit<S['FaceUploadResult'], 'quality'> & { quality: Quality | null };

/** One line of the import's answer: the plan first, then skipped files,
 * roster errors, each photo and each person's outcome. */
export type ImportLine = Req<S['ImportLine'], 'type'> & {
  person?: string | null;
  reason?: string | null;
  face_id?: number | null;
};
export interface ImportDone {
  done: true;
  files: number;
  photos: number;
  accepted: number;
  persons_created: number;
  persons_updated: number;
  roster_rows: number;
  skipped: number;
}

export type Group = S['Group'];
export type GroupWrite = S['GroupWrite'];
export type Schedule = S['Schedule'];
/** A slot to write; `effective`: the day it takes effect (default today on the server). */
export type ScheduleInput = Omit<Schedule, 'id' | 'valid_from' | 'valid_to' | 'upcoming'> & { effective?: string | null };
export type TimetableSlot = S['TimetableSlot'];
export type Holiday = S['Holiday'];
export type Leave = S['Leave'];
export type LeaveKind = Leave['kind'];
export type LeaveWrite = S['LeaveWrite'];
export type LeavePatch = S['LeavePatch'];

export type CameraStatus = Req<S['CameraStatus'], 'state' | 'fps_in' | 'fps_processed' | 'frames' | 'drops'> & {
  last_error: string | null;
  last_frame_at: string | null;
  error?: CameraError | null;
};
export type Camera = Omit<S['Camera'], 'status'> & { status: CameraStatus };
export type CameraKind = Camera['kind'];
export type Direction = Camera['direction'];
export type CameraInput = Pick<Camera, 'name' | 'url' | 'kind' | 'direction' | 'enabled' | 'fps'>;

export type Box = S['Box'];
export type Identity = S['Identity'];
export type RecognizedEvent = S['EventBrief'];
export type EventType = RecognizedEvent['type'];
export type EventStatus = RecognizedEvent['status'];
export type RecognizedFace = Omit<S['RecognizedFace'], 'identity' | 'event'> & {
  identity: Identity | null;
  event: RecognizedEvent | null;
};
export type RecognizeResponse = Omit<S['RecognizeResult'], 'faces'> & { faces: RecognizedFace[] };

export type AttendanceEvent = Omit<S['AttendanceEvent'], 'status' | 'box'> & { status: EventStatus; box: Box | null };
export interface AttendanceFilter {
  from?: string;
  to?: string;
  person_id?: number;
  group_id?: number;
  status?: EventStatus;
  camera_id?: number;
  type?: EventType;
  include_void?: boolean;
  limit?: number;
  offset?: number;
}
export type ManualEntry = S['ManualEvent'];
export type Correction = Omit<S['EventCorrection'], 'status'> & { status?: EventStatus };

/** One day's figures in people; rate is null when nobody was judged yet. */
export type DailyReportRow = S['DailyRow'];
export type SummaryRow = S['SummaryRow'] & {
  first_entry: string | null;
  last_exit: string | null;
  rate: number | null;
};
export type Absentee = S['Absentee'];
export type AbsenteeList = S['AbsenteeList'];
export type GroupReportRow = S['GroupRow'];
export type GroupReport = Omit<S['GroupReport'], 'people'> & { people: SummaryRow[] };
export type ReportQuery = {
  from?: string;
  to?: string;
  group_id?: number;
  label?: string;
};
export type Dashboard = {
  today: DailyReportRow;
  late_by_group: Required<S['Dashboard']['late_by_group'][number]>[];
  recent: AttendanceEvent[];
};
export type Health = S['Health'];
export type KioskUnlock = S['KioskUnlock'];
export type KioskCheckin = S['KioskCheckin'];
export type KioskCheckinResult = { person: { id: number; name: string }; event: AttendanceEvent & { new?: boolean } };
export type Institution = { name: string; logo_url: string | null };
export type KeyCamera = { id: number; name: string; direction: Direction };

/** Self check-in: where the member stands now, and the accepted answer. */
export type SelfStatus = Omit<S['SelfStatus'], 'entry'> & { entry?: AttendanceEvent | null };
export type SelfCheckinResult = Omit<S['SelfCheckinResult'], 'event'> & { event: AttendanceEvent };
/** "Mis datos": what is held about the member's own person, and what a withdrawal of consent erased. */
export type SelfData = Omit<S['SelfData'], 'person'> & { person: Person };
export type SelfFace = SelfData['faces'][number];
export type ConsentWithdrawn = S['ConsentWithdrawn'];
/** Self-registration: the public page's facts and its answer. */
export type RegisterInfo = S['RegisterInfo'];
export type Registered = S['Registered'];
export interface RegisterInput {
  first_name: string;
  last_name: string;
  email: string;
  group_id: number;
  consent: boolean;
  photos: Blob[];
}
/** A pending self-registration, for approval. */
export type Registration = Person & { face_ids: number[]; pending: boolean };
/** A member's request for a correction of their own attendance. */
export type CorrectionRequest = Omit<S['CorrectionRequest'], 'event'> & { event: AttendanceEvent | null };
export type CorrectionRequestCreate = S['CorrectionRequestCreate'];
export type CorrectionKind = CorrectionRequest['kind'];
export type CorrectionStatus = CorrectionRequest['status'];
/** An unknown face kept for review (keep unrecognized faces on). */
export type Sighting = Omit<S['Sighting'], 'candidate'> & {
  candidate: { id: number; name: string; external_id: string } | null;
  camera_id: number | null;
  camera_name: string | null;
  image_url: string | null;
};
export type SightingAssign = S['SightingAssign'];
export type SightingAssigned = { face_id: number; result: EnrollResult; event: AttendanceEvent | null };
export type NotThisPerson = S['NotThisPerson'];
export type NotThisPersonResult = { event: AttendanceEvent | null; face_deleted: number | null; sighting_id: number | null };
