// Types of the Rollcall REST API v1, written from the API contract
// (src/http/openapi.json / briefs api.md). Every page uses these through
// the client in ./client.ts; nothing else in the UI spells a JSON shape.

export type Role = 'admin' | 'manager' | 'member' | 'device';

export interface ApiErrorBody {
  error: { code: string; message: string };
}

export interface Page<T> {
  items: T[];
  total: number;
}

export interface User {
  id: number;
  email: string;
  name: string;
  role: Role;
  person_id: number | null;
  created_at: string;
  last_login_at: string | null;
}

export interface Session {
  user: User;
  csrf_token: string;
}

export interface RoleInfo {
  name: Role;
  description: string;
}

export interface ApiKey {
  id: number;
  name: string;
  role: Role;
  prefix: string;
  camera_id?: number | null;
  created_at: string;
  last_used_at?: string | null;
  /** Present only in the response that created the key. */
  key?: string;
}

export interface AuditEntry {
  id: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  detail: string;
}

export interface Settings {
  timezone: string;
  dedup_window_s: number;
  min_stay_s: number;
  recognition_threshold: number;
  liveness_threshold: number;
  keep_unrecognized: boolean;
  [key: string]: unknown;
}

export type PersonKind = 'student' | 'teacher' | 'employee' | 'other';

export interface GroupRef {
  id: number;
  name: string;
}

export interface Person {
  id: number;
  external_id: string;
  first_name: string;
  last_name: string;
  name: string;
  email: string | null;
  kind: PersonKind;
  active: boolean;
  consent_at: string | null;
  face_count: number;
  groups: GroupRef[];
  created_at: string;
}

export interface PersonInput {
  external_id: string;
  first_name: string;
  last_name: string;
  email?: string | null;
  kind: PersonKind;
  active?: boolean;
  consent_at?: string | null;
}

export interface Quality {
  score: number;
  size: number;
  sharpness: number;
  yaw: number;
  pitch: number;
  roll: number;
  ok: boolean;
  reasons: string[];
}

export interface Face {
  id: number;
  quality: Quality;
  model_id: string;
  created_at: string;
}

export interface EnrollResult {
  file: string;
  accepted: boolean;
  face_id: number | null;
  reason: string | null;
  quality: Quality | null;
}

export interface ImportLine {
  file: string;
  person: string;
  accepted: boolean;
  reason: string | null;
  face_id: number | null;
}

export interface ImportDone {
  done: true;
  files: number;
  accepted: number;
  persons_created: number;
}

export interface Group {
  id: number;
  name: string;
  description: string;
  member_count: number;
}

export interface Schedule {
  id: number;
  group_id: number | null;
  person_id: number | null;
  /** ISO day of week, Monday = 1 … Sunday = 7. */
  day_of_week: number;
  start: string;
  end: string;
  grace_min: number;
  label: string;
}

export type ScheduleInput = Omit<Schedule, 'id'>;

export interface Holiday {
  id: number;
  date: string;
  name: string;
}

export type CameraKind = 'mjpeg' | 'snapshot' | 'rtsp' | 'file' | 'v4l2';
export type Direction = 'entry' | 'exit' | 'both';

export interface CameraStatus {
  state: string;
  fps_in: number;
  fps_processed: number;
  frames: number;
  drops: number;
  last_error: string | null;
  last_frame_at: string | null;
}

export interface Camera {
  id: number;
  name: string;
  url: string;
  kind: CameraKind;
  direction: Direction;
  enabled: boolean;
  fps: number;
  status: CameraStatus;
}

export type CameraInput = Pick<Camera, 'name' | 'url' | 'kind' | 'direction' | 'enabled' | 'fps'>;

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export type EventType = 'entry' | 'exit';
export type EventStatus = 'on_time' | 'late' | 'early_leave' | 'outside_schedule';

export interface RecognizedEvent {
  id: number;
  type: EventType;
  status: EventStatus;
  time: string;
  minutes_late: number;
  new: boolean;
}

export interface Identity {
  person_id: number;
  external_id: string;
  name: string;
}

export interface RecognizedFace {
  box: Box;
  score: number;
  landmarks: [number, number][];
  identity: Identity | null;
  confidence: number;
  liveness: number;
  live: boolean;
  quality_ok: boolean;
  reasons: string[];
  event: RecognizedEvent | null;
}

export interface RecognizeResponse {
  width: number;
  height: number;
  ms: number;
  faces: RecognizedFace[];
}

export interface AttendanceEvent {
  id: number;
  person_id: number;
  person_name: string;
  external_id: string;
  time: string;
  type: EventType;
  status: EventStatus;
  camera_id: number | null;
  camera_name: string | null;
  confidence: number | null;
  box: Box | null;
  liveness: number | null;
  count: number;
  manual: boolean;
  reason: string | null;
}

export interface AttendanceFilter {
  from?: string;
  to?: string;
  person_id?: number;
  group_id?: number;
  status?: EventStatus;
  camera_id?: number;
  type?: EventType;
  limit?: number;
  offset?: number;
}

export interface ManualEntry {
  person_id: number;
  type: EventType;
  time: string;
  reason: string;
}

export interface Correction {
  type?: EventType;
  time?: string;
  status?: EventStatus;
  reason: string;
}

export interface DailyReportRow {
  date: string;
  scheduled: number;
  present: number;
  late: number;
  absent: number;
  rate: number;
}

export interface Dashboard {
  today: { present: number; late: number; absent: number; expected: number };
  late_by_group: { group_id: number; name: string; late: number }[];
  recent: AttendanceEvent[];
}

export interface Health {
  status: string;
  version: string;
  uptime_s: number;
  db: string;
}
