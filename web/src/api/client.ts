// The one typed client of the Rollcall REST API. It keeps the CSRF token the
// server hands out at login (sent as X-CSRF-Token on every state-changing
// request; the session itself is the HttpOnly cookie the browser keeps) or a
// device API key (Authorization: Bearer, for kiosk tablets), turns
// every failure into an ApiError with the server's code and message, and
// offers one method per endpoint so pages never build URLs by hand.
import type {
  ApiKey,
  AttendanceEvent,
  AttendanceFilter,
  AuditEntry,
  Camera,
  CameraInput,
  Correction,
  CorrectionRequest,
  CorrectionRequestCreate,
  CorrectionStatus,
  AbsenteeList,
  DailyReportRow,
  GroupReport,
  ReportQuery,
  Dashboard,
  EnrollResult,
  Erased,
  EventType,
  Face,
  KioskCheckin,
  KioskCheckinResult,
  KioskUnlock,
  Registered,
  RegisterInfo,
  RegisterInput,
  Registration,
  SelfCheckinResult,
  SelfData,
  SelfStatus,
  ConsentWithdrawn,
  Group,
  Health,
  Holiday,
  Leave,
  LeavePatch,
  LeaveWrite,
  ImportDone,
  ImportLine,
  ManualEntry,
  Page,
  Person,
  PersonInput,
  RecognizeResponse,
  RoleInfo,
  Schedule,
  ScheduleInput,
  TimetableSlot,
  Session,
  Settings,
  SummaryRow,
  User,
  UserCreate,
  UserPatch,
  ApiKeyCreate,
  ApiKeyCreated,
  NotThisPerson,
  NotThisPersonResult,
  Sighting,
  SightingAssign,
  SightingAssigned,
} from './types';
import { NdjsonSplitter } from '../lib/ndjson';

/** What a translation of an error code may name (field, min, max, …). */
export type ErrorParams = Record<string, unknown>;

/** A failed API call: HTTP status (0 when the server was not reached), the
 * server's snake_case error code, its parameters (what the UI puts in its
 * own translation of the code, lib/errors.ts) and its English message. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly params: ErrorParams;
  constructor(status: number, code: string, message: string, params: ErrorParams = {}) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.params = params;
  }
  get isNetwork(): boolean {
    return this.status === 0;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined>;

/** "?a=1&b=x" from the defined, non-empty values of q ("" when none). */
export function queryString(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined || v === null || v === '') continue;
    p.set(k, String(v));
  }
  const s = p.toString();
  return s ? `?${s}` : '';
}

interface RequestOptions {
  query?: Query;
  json?: unknown;
  body?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** The session cookie even while a key is in use (no Authorization). */
  session?: boolean;
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Turn a non-2xx response into an ApiError, using the contract's
 * {error:{code,message}} body when there is one. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  let params: ErrorParams = {};
  const text = await res.text().catch(() => '');
  if (text) {
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; params?: unknown } };
      if (body && typeof body.error === 'object' && body.error) {
        if (typeof body.error.code === 'string') code = body.error.code;
        if (typeof body.error.message === 'string') message = body.error.message;
        const p = body.error.params;
        if (p && typeof p === 'object' && !Array.isArray(p)) params = p as ErrorParams;
      }
    } catch {
      // Not JSON (a proxy's HTML page, say): keep the status line.
    }
  }
  return new ApiError(res.status, code, message, params);
}

export class ApiClient {
  private csrf: string | null = null;
  private bearer: string | null = null;
  /** Called when the server answers 401 (session expired or logged out). */
  onUnauthorized: (() => void) | null = null;
  private readonly base: string;
  private readonly fetchFn: typeof fetch;

  constructor(base = '', fetchFn?: typeof fetch) {
    this.base = base;
    this.fetchFn = fetchFn ?? ((input, init) => fetch(input, init));
  }

  setCsrf(token: string | null): void {
    this.csrf = token;
  }

  /** Use a device API key (Authorization: Bearer) instead of a session, as a
   * kiosk tablet does; null goes back to the session cookie. */
  setBearer(key: string | null): void {
    this.bearer = key;
  }

  get usesKey(): boolean {
    return this.bearer !== null;
  }

  /** Absolute or root-relative URL of an API path (for <img>, downloads). */
  url(path: string, query?: Query): string {
    return `${this.base}${path}${queryString(query)}`;
  }

  async raw(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json', ...opts.headers };
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(opts.json);
    }
    if (this.bearer && !opts.session) headers.Authorization = `Bearer ${this.bearer}`;
    else if (!SAFE.has(method) && this.csrf && !headers['X-CSRF-Token']) headers['X-CSRF-Token'] = this.csrf;
    let res: Response;
    try {
      res = await this.fetchFn(this.url(path, opts.query), {
        method,
        headers,
        body,
        credentials: 'same-origin',
        signal: opts.signal,
      });
    } catch (e) {
      if (e instanceof DOMException && e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    if (!res.ok) {
      const err = await errorFromResponse(res);
      if (res.status === 401 && this.onUnauthorized && !path.startsWith('/api/v1/auth/')) {
        this.onUnauthorized();
      }
      throw err;
    }
    return res;
  }

  async request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.raw(method, path, opts);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError(res.status, 'bad_response', 'The server sent a response that is not JSON.');
    }
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { query, signal });
  }
  post<T>(path: string, json?: unknown, query?: Query): Promise<T> {
    return this.request<T>('POST', path, { json: json ?? {}, query });
  }
  patch<T>(path: string, json: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { json });
  }
  put<T>(path: string, json: unknown): Promise<T> {
    return this.request<T>('PUT', path, { json });
  }
  del(path: string, json?: unknown): Promise<void> {
    return this.request<void>('DELETE', path, json === undefined ? {} : { json });
  }

  // --- server ---------------------------------------------------------------
  health(): Promise<Health> {
    return this.get('/healthz');
  }

  // --- auth -----------------------------------------------------------------
  async login(email: string, password: string): Promise<Session> {
    const s = await this.post<Session>('/api/v1/auth/login', { email, password });
    this.csrf = s.csrf_token;
    return s;
  }
  async logout(): Promise<void> {
    try {
      await this.post<void>('/api/v1/auth/logout');
    } finally {
      this.csrf = null;
    }
  }
  /** End the session of the cookie while a key is in use: the admin's
   * session ends once the tablet signed in with its kiosk key. `csrf` is
   * that session's token (me() with the key replaced it). */
  async logoutSession(csrf: string | null): Promise<void> {
    await this.request<void>('POST', '/api/v1/auth/logout', {
      json: {},
      session: true,
      headers: csrf ? { 'X-CSRF-Token': csrf } : {},
    });
  }
  get csrfToken(): string | null {
    return this.csrf;
  }
  async me(): Promise<Session> {
    const s = await this.get<Session>('/api/v1/auth/me');
    this.csrf = s.csrf_token;
    return s;
  }
  /** Change one's own password; the server ends every other session and
   * answers with a new one for this browser. */
  async changePassword(current_password: string, new_password: string): Promise<Session> {
    const s = await this.post<Session>('/api/v1/auth/password', { current_password, new_password });
    this.csrf = s.csrf_token;
    return s;
  }

  // --- kiosk ----------------------------------------------------------------
  /** Leave kiosk mode: the kiosk PIN, or an admin's password (and e-mail
   * for a device key). Resolves when allowed, throws ApiError otherwise. */
  kioskUnlock(body: KioskUnlock): Promise<void> {
    return this.post('/api/v1/kiosk/unlock', body);
  }
  kioskCheckin(body: KioskCheckin): Promise<KioskCheckinResult> {
    return this.post('/api/v1/kiosk/checkin', body);
  }

  // --- self check-in and self-registration ---------------------------------
  selfStatus(): Promise<SelfStatus> {
    return this.get('/api/v1/self/checkin');
  }
  /** A member's own check-in: 2–5 frames of a short capture. */
  selfCheckin(frames: Blob[], kind?: EventType): Promise<SelfCheckinResult> {
    const form = new FormData();
    frames.forEach((b, i) => form.append('frame', b, `frame${i + 1}.jpg`));
    if (kind) form.append('kind', kind);
    return this.request('POST', '/api/v1/self/checkin', { body: form });
  }
  /** "Mis datos": what is held about the member's own person. */
  selfLeaves(): Promise<Page<Leave>> {
    return this.get('/api/v1/self/leaves');
  }
  selfData(): Promise<SelfData> {
    return this.get('/api/v1/self/data');
  }
  /** Withdraw one's consent: the password again; erases the biometric data. */
  withdrawConsent(password: string): Promise<ConsentWithdrawn> {
    return this.post('/api/v1/self/consent/withdraw', { password });
  }
  registerInfo(): Promise<RegisterInfo> {
    return this.get('/api/v1/self/register');
  }
  register(r: RegisterInput): Promise<Registered> {
    const form = new FormData();
    form.append('first_name', r.first_name);
    form.append('last_name', r.last_name);
    form.append('email', r.email);
    form.append('group_id', String(r.group_id));
    form.append('consent', r.consent ? 'true' : '');
    r.photos.forEach((b, i) => form.append('photo', b, `photo${i + 1}.jpg`));
    return this.request('POST', '/api/v1/self/register', { body: form });
  }
  registrations(): Promise<Page<Registration>> {
    return this.get('/api/v1/registrations');
  }
  approveRegistration(id: number): Promise<Registration> {
    return this.post(`/api/v1/registrations/${id}/approve`);
  }
  rejectRegistration(id: number): Promise<void> {
    return this.del(`/api/v1/registrations/${id}`);
  }

  // --- members' correction requests -----------------------------------------
  /** The member's own requests, newest first. */
  myCorrectionRequests(): Promise<Page<CorrectionRequest>> {
    return this.get('/api/v1/self/correction-requests', { limit: 100 });
  }
  askCorrection(r: CorrectionRequestCreate): Promise<CorrectionRequest> {
    return this.post('/api/v1/self/correction-requests', r);
  }
  correctionRequests(status?: CorrectionStatus, offset = 0): Promise<Page<CorrectionRequest>> {
    return this.get('/api/v1/correction-requests', { status, limit: 50, offset });
  }
  approveCorrectionRequest(id: number, note?: string): Promise<CorrectionRequest> {
    return this.post(`/api/v1/correction-requests/${id}/approve`, note ? { note } : {});
  }
  rejectCorrectionRequest(id: number, note: string): Promise<CorrectionRequest> {
    return this.post(`/api/v1/correction-requests/${id}/reject`, { note });
  }
  /** The member withdraws one of their own pending requests. */
  withdrawCorrectionRequest(id: number): Promise<CorrectionRequest> {
    return this.post(`/api/v1/self/correction-requests/${id}/withdraw`, {});
  }

  // --- administration -------------------------------------------------------
  users(q: Query = {}): Promise<Page<User>> {
    return this.get('/api/v1/users', q);
  }
  createUser(u: UserCreate): Promise<User> {
    return this.post('/api/v1/users', u);
  }
  updateUser(id: number, u: UserPatch): Promise<User> {
    return this.patch(`/api/v1/users/${id}`, u);
  }
  deleteUser(id: number): Promise<void> {
    return this.del(`/api/v1/users/${id}`);
  }
  roles(): Promise<RoleInfo[]> {
    return this.get('/api/v1/roles');
  }
  apiKeys(): Promise<Page<ApiKey>> {
    return this.get('/api/v1/api-keys');
  }
  createApiKey(k: ApiKeyCreate): Promise<ApiKeyCreated> {
    return this.post('/api/v1/api-keys', k);
  }
  deleteApiKey(id: number): Promise<void> {
    return this.del(`/api/v1/api-keys/${id}`);
  }
  audit(q: Query): Promise<Page<AuditEntry>> {
    return this.get('/api/v1/audit', q);
  }
  settings(): Promise<Settings> {
    return this.get('/api/v1/settings');
  }
  updateSettings(s: Partial<Settings>): Promise<Settings> {
    return this.patch('/api/v1/settings', s);
  }

  // --- people ---------------------------------------------------------------
  persons(q: Query): Promise<Page<Person>> {
    return this.get('/api/v1/persons', q);
  }
  person(id: number): Promise<Person> {
    return this.get(`/api/v1/persons/${id}`);
  }
  createPerson(p: PersonInput): Promise<Person> {
    return this.post('/api/v1/persons', p);
  }
  updatePerson(id: number, p: Partial<PersonInput>): Promise<Person> {
    return this.patch(`/api/v1/persons/${id}`, p);
  }
  /** The full erase (a privacy request): the person and everything about them. */
  deletePerson(id: number): Promise<void> {
    return this.del(`/api/v1/persons/${id}`);
  }
  /** Erase faces, embeddings and photo only; the person and their history stay. */
  erasePersonBiometrics(id: number): Promise<Erased> {
    return this.request<Erased>('DELETE', `/api/v1/persons/${id}/biometrics`, {});
  }
  /** Archive (out of recognition and default lists, history kept) or restore. */
  archivePerson(id: number, archived: boolean): Promise<Person> {
    return this.request<Person>('POST', `/api/v1/persons/${id}/${archived ? 'archive' : 'restore'}`, {});
  }
  /** Set a person's kiosk PIN, or remove it with null. */
  setPersonPin(id: number, pin: string | null): Promise<{ pin_set: boolean }> {
    return this.put(`/api/v1/persons/${id}/pin`, { pin });
  }
  personPhotoUrl(id: number): string {
    return this.url(`/api/v1/persons/${id}/photo`);
  }
  faces(personId: number): Promise<Face[]> {
    return this.get(`/api/v1/persons/${personId}/faces`);
  }
  faceImageUrl(faceId: number): string {
    return this.url(`/api/v1/faces/${faceId}/image`);
  }
  deleteFace(personId: number, faceId: number): Promise<void> {
    return this.del(`/api/v1/persons/${personId}/faces/${faceId}`);
  }
  /** Enroll one or many photos (multipart `file` parts). */
  enroll(personId: number, files: { blob: Blob; name: string }[]): Promise<{ results: EnrollResult[] }> {
    const form = new FormData();
    for (const f of files) form.append('file', f.blob, f.name);
    return this.request('POST', `/api/v1/persons/${personId}/faces`, { body: form });
  }

  /** Dataset import: files named "<person folder>/<file>"; calls onLine for
   * every NDJSON result line as the server streams it, returns the summary. */
  async importDataset(
    files: { blob: Blob; name: string }[],
    onLine: (line: ImportLine) => void,
    opts: { consent?: boolean; folderCodes?: boolean; signal?: AbortSignal } = {},
  ): Promise<ImportDone | null> {
    const { consent = false, folderCodes = true, signal } = opts;
    const form = new FormData();
    form.append('consent', consent ? 'true' : 'false');
    form.append('folder_codes', folderCodes ? 'true' : 'false');
    for (const f of files) form.append('file', f.blob, f.name);
    const res = await this.raw('POST', '/api/v1/import', {
      body: form,
      headers: { Accept: 'application/x-ndjson' },
      signal,
    });
    let done: ImportDone | null = null;
    const handle = (obj: unknown) => {
      const o = obj as Partial<ImportDone> & Partial<ImportLine>;
      if (o.done) done = o as ImportDone;
      else onLine(o as unknown as ImportLine);
    };
    const split = new NdjsonSplitter();
    if (!res.body) {
      for (const o of split.push(await res.text())) handle(o);
    } else {
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done: end } = await reader.read();
        if (end) break;
        for (const o of split.push(value)) handle(o);
      }
    }
    for (const o of split.end()) handle(o);
    return done;
  }

  // --- groups, schedules, holidays -----------------------------------------
  groups(q: Query = {}): Promise<Page<Group>> {
    return this.get('/api/v1/groups', { limit: 500, ...q });
  }
  group(id: number): Promise<Group> {
    return this.get(`/api/v1/groups/${id}`);
  }
  createGroup(g: { name: string; description: string }): Promise<Group> {
    return this.post('/api/v1/groups', g);
  }
  updateGroup(id: number, g: Partial<{ name: string; description: string; notify_absentees: boolean }>): Promise<Group> {
    return this.patch(`/api/v1/groups/${id}`, g);
  }
  deleteGroup(id: number): Promise<void> {
    return this.del(`/api/v1/groups/${id}`);
  }
  groupMembers(id: number): Promise<Page<Person>> {
    return this.get(`/api/v1/groups/${id}/members`, { limit: 500 });
  }
  /** Add a member (joined today), or with joinedOn (YYYY-MM-DD) set or move the day they joined. */
  addGroupMember(id: number, personId: number, joinedOn?: string): Promise<void> {
    return this.request('POST', `/api/v1/groups/${id}/members/${personId}`, { query: joinedOn ? { joined_on: joinedOn } : undefined });
  }
  removeGroupMember(id: number, personId: number): Promise<void> {
    return this.del(`/api/v1/groups/${id}/members/${personId}`);
  }
  /** The slots in force on `on` (default today) and, flagged upcoming, the changes that begin later. */
  schedules(q: { group_id?: number; person_id?: number; on?: string }): Promise<Page<Schedule>> {
    return this.get('/api/v1/schedules', q);
  }
  createSchedule(s: ScheduleInput): Promise<Schedule> {
    return this.post('/api/v1/schedules', s);
  }
  /** The owner's whole timetable from `effective` (default today) on, in one transaction: the days
   * before keep their slots; slots not listed end the day before. */
  replaceSchedules(
    owner: { group_id: number | null; person_id: number | null },
    slots: TimetableSlot[],
    effective?: string,
  ): Promise<Page<Schedule>> {
    return this.put('/api/v1/schedules', { ...owner, ...(effective ? { effective } : {}), slots });
  }
  updateSchedule(id: number, s: Partial<ScheduleInput>): Promise<Schedule> {
    return this.patch(`/api/v1/schedules/${id}`, s);
  }
  deleteSchedule(id: number): Promise<void> {
    return this.del(`/api/v1/schedules/${id}`);
  }
  holidays(): Promise<Page<Holiday>> {
    return this.get('/api/v1/holidays', { limit: 500 });
  }
  createHoliday(h: { date: string; to?: string; name: string }): Promise<Holiday & { to: string; days: number }> {
    return this.post('/api/v1/holidays', h);
  }
  deleteHoliday(id: number): Promise<void> {
    return this.del(`/api/v1/holidays/${id}`);
  }
  // --- personal leave and justified absences -------------------------------
  personLeaves(personId: number): Promise<Page<Leave>> {
    return this.get(`/api/v1/persons/${personId}/leaves`);
  }
  createLeave(personId: number, l: LeaveWrite): Promise<Leave> {
    return this.post(`/api/v1/persons/${personId}/leaves`, l);
  }
  updateLeave(personId: number, leaveId: number, l: LeavePatch): Promise<Leave> {
    return this.patch(`/api/v1/persons/${personId}/leaves/${leaveId}`, l);
  }
  deleteLeave(personId: number, leaveId: number): Promise<void> {
    return this.del(`/api/v1/persons/${personId}/leaves/${leaveId}`);
  }
  leaves(q: { from?: string; to?: string; group_id?: number }): Promise<Page<Leave>> {
    return this.get('/api/v1/leaves', q);
  }

  // --- cameras --------------------------------------------------------------
  cameras(): Promise<Page<Camera>> {
    return this.get('/api/v1/cameras', { limit: 500 });
  }
  createCamera(c: CameraInput): Promise<Camera> {
    return this.post('/api/v1/cameras', c);
  }
  updateCamera(id: number, c: Partial<CameraInput>): Promise<Camera> {
    return this.patch(`/api/v1/cameras/${id}`, c);
  }
  deleteCamera(id: number): Promise<void> {
    return this.del(`/api/v1/cameras/${id}`);
  }
  cameraSnapshotUrl(id: number, bust: number): string {
    return this.url(`/api/v1/cameras/${id}/snapshot`, { t: bust });
  }

  // --- recognition ----------------------------------------------------------
  recognize(frame: Blob, opts: { mark: boolean; cameraId?: number; kind?: EventType }, signal?: AbortSignal): Promise<RecognizeResponse> {
    return this.request('POST', '/api/v1/recognize', {
      query: { mark: opts.mark, camera_id: opts.cameraId, kind: opts.kind },
      body: frame,
      headers: { 'Content-Type': frame.type || 'image/jpeg' },
      signal,
    });
  }

  // --- attendance and reports ----------------------------------------------
  attendance(f: AttendanceFilter): Promise<Page<AttendanceEvent>> {
    return this.get('/api/v1/attendance', f as Query);
  }
  addAttendance(e: ManualEntry): Promise<AttendanceEvent> {
    return this.post('/api/v1/attendance', e);
  }
  correctAttendance(id: number, c: Correction): Promise<AttendanceEvent> {
    return this.patch(`/api/v1/attendance/${id}`, c);
  }
  /** Void: the event stays, marked, and no report counts it. */
  voidAttendance(id: number, reason: string): Promise<AttendanceEvent> {
    return this.post(`/api/v1/attendance/${id}/void`, { reason });
  }
  deleteAttendance(id: number, reason: string): Promise<void> {
    return this.del(`/api/v1/attendance/${id}`, { reason });
  }
  /** A recognition named the wrong person: void (or erase) the event, and
   * optionally delete the face that matched and keep the face as seen. */
  notThisPerson(id: number, body: NotThisPerson): Promise<NotThisPersonResult> {
    return this.post(`/api/v1/attendance/${id}/not-this-person`, body);
  }

  // ---- unknown faces ------------------------------------------------------
  sightings(q: { day?: string; from?: string; to?: string; camera_id?: number; limit?: number; offset?: number }): Promise<Page<Sighting>> {
    return this.get('/api/v1/sightings', q as Query);
  }
  sightingImageUrl(s: Sighting): string | null {
    return s.image_url ? this.url(s.image_url) : null;
  }
  /** Enroll the face as the person's (a refusal is an ApiError with the
   * enrollment's reason code), optionally with a manual event at its time. */
  assignSighting(id: number, body: SightingAssign): Promise<SightingAssigned> {
    return this.post(`/api/v1/sightings/${id}/assign`, body);
  }
  dismissSighting(id: number): Promise<void> {
    return this.del(`/api/v1/sightings/${id}`);
  }
  dismissSightings(ids: number[]): Promise<{ dismissed: number; missing: number[] }> {
    return this.post('/api/v1/sightings/dismiss', { ids });
  }

  /** The export in the reader's language (Spanish: ';' and a BOM for Excel). */
  exportUrl(format: 'csv' | 'xlsx', f: AttendanceFilter & { label?: string }, lang = 'en'): string {
    return this.url('/api/v1/attendance/export', {
      format,
      from: f.from,
      to: f.to,
      group_id: f.group_id,
      person_id: f.person_id,
      lang,
      label: f.label,
    });
  }
  daily(q: ReportQuery & { from: string; to: string }): Promise<{ items: DailyReportRow[] }> {
    return this.get('/api/v1/reports/daily', q);
  }
  /** Who is missing on a day (default today): slots whose start + grace passed with no entry. */
  absentees(q: { day?: string; group_id?: number; label?: string }): Promise<AbsenteeList> {
    return this.get('/api/v1/attendance/absentees', q);
  }
  /** The same list as a CSV in the reader's language (es: ';' and a BOM, for Spanish Excel). */
  absenteesCsvUrl(q: { day?: string; group_id?: number; label?: string }, lang = 'en'): string {
    return this.url('/api/v1/attendance/absentees', { ...q, format: 'csv', lang });
  }
  reportGroups(q: ReportQuery): Promise<GroupReport> {
    return this.get('/api/v1/reports/groups', q);
  }
  summary(q: { from?: string; to?: string; group_id?: number; person_id?: number }): Promise<{ items: SummaryRow[] }> {
    return this.get('/api/v1/reports/summary', q);
  }
  dashboard(): Promise<Dashboard> {
    return this.get('/api/v1/dashboard');
  }
  eventsUrl(): string {
    return this.url('/api/v1/events');
  }
}

/** The client the UI uses (same origin as the page). */
export const api = new ApiClient();
