// Attendance: the event table with filters (date range, group, person,
// status, camera, type) kept in the URL, paging, manual entries and
// corrections with a reason, and CSV / XLSX downloads of the same selection.
// A wrong event is voided (kept, struck through, counted by nothing) or
// deleted, with a reason; voided events show on request. The downloads are
// in the user's language (Spanish CSV: ';' and a BOM, as Excel expects).
// A second view sums it up per person; a third (staff) lists who was absent
// on the range's last day (today: who is missing now). A recognized event
// that named the wrong person is corrected with "not this person" (the
// event, the face that matched, the face as seen kept for review). Members see only their own events
// (the server enforces it too), without their own name and code on every
// row. The status comes right after the time, where a phone shows it.
import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { AttendanceEvent, AttendanceFilter, EventStatus, EventType, Person } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { addDays, dateIn, formatDateTime, formatDecimal, utcToZonedInput, zonedToUtc } from '../lib/format';
import { canChange } from '../lib/roles';
import { useLoad } from '../lib/useLoad';
import {
  CorrectedMark,
  DataTable,
  DateRangeFields,
  ErrorMessage,
  Modal,
  PageHead,
  Pager,
  StatusBadge,
  TypeBadge,
} from '../components/common';
import { PersonPicker } from '../components/PersonPicker';
import { SummaryTable } from '../components/SummaryTable';
import { Absentees } from '../components/Absentees';
import { eventSource } from '../lib/events';
import { useFilterParams } from '../lib/filterParams';
import { AskCorrectionForm, MyRequests } from './CorrectionRequests';

const LIMIT = 50;
const STATUSES: EventStatus[] = ['on_time', 'late', 'early_leave', 'outside_schedule'];
const TYPES: EventType[] = ['entry', 'exit'];

const num = (v: string | null) => (v && Number(v) > 0 ? Number(v) : undefined);

export function AttendancePage() {
  const { t, i18n } = useTranslation();
  const { user } = useAuth();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const [params, setFilter, setParams] = useFilterParams();
  // Staff read everyone's events (as their groups allow); an auditor reads
  // them too but adds, corrects or voids nothing.
  const staff = user?.role === 'admin' || user?.role === 'manager' || user?.role === 'auditor';
  const editor = canChange(user?.role);
  const today = dateIn(tz);

  const filter: AttendanceFilter = useMemo(
    () => ({
      from: params.get('from') ?? addDays(today, -6),
      to: params.get('to') ?? today,
      group_id: num(params.get('group_id')),
      person_id: staff ? num(params.get('person_id')) : (user?.person_id ?? undefined),
      status: (params.get('status') as EventStatus) || undefined,
      camera_id: num(params.get('camera_id')),
      type: (params.get('type') as EventType) || undefined,
      include_void: staff && params.get('void') === '1' ? true : undefined,
      limit: LIMIT,
      offset: num(params.get('offset')) ?? 0,
    }),
    [params, today, staff, user],
  );

  const asked = params.get('view');
  const view = asked === 'summary' ? 'summary' : asked === 'absent' && staff ? 'absent' : 'events';
  const list = useLoad(() => (view === 'events' ? api.attendance(filter) : Promise.resolve(null)), [filter, view]);
  const groups = useLoad(() => (staff ? api.groups() : Promise.resolve(null)), [staff]);
  const cameras = useLoad(() => (staff ? api.cameras().catch(() => null) : Promise.resolve(null)), [staff]);
  const filterPerson = useLoad(
    () => (filter.person_id && staff ? api.person(filter.person_id) : Promise.resolve(null)),
    [filter.person_id, staff],
  );
  const [manual, setManual] = useState(false);
  const [correcting, setCorrecting] = useState<AttendanceEvent | null>(null);
  const [removing, setRemoving] = useState<{ e: AttendanceEvent; how: 'void' | 'delete' } | null>(null);
  const [notThem, setNotThem] = useState<AttendanceEvent | null>(null);
  // A member's correction request: about an event, or (null) a missing one.
  const [asking, setAsking] = useState<{ event: AttendanceEvent | null } | null>(null);
  const [sent, setSent] = useState(0);

  return (
    <>
      <PageHead title={staff ? t('attendance.title') : t('attendance.mine')}>
        {staff && (
          <>
            <a className="btn" href={api.exportUrl('csv', filter, lang)} download>
              {t('attendance.downloadCsv')}
            </a>
            <a className="btn" href={api.exportUrl('xlsx', filter, lang)} download>
              {t('attendance.downloadXlsx')}
            </a>
            {editor && (
              <button type="button" className="btn primary" onClick={() => setManual(true)}>
                {t('attendance.add')}
              </button>
            )}
          </>
        )}
        {!staff && user?.person_id != null && (
          <button type="button" className="btn" onClick={() => setAsking({ event: null })}>
            {t('requests.askMissing')}
          </button>
        )}
      </PageHead>
      {sent > 0 && (
        <p className="success" role="status">
          {t('requests.sent')}
        </p>
      )}
      {!staff && list.data?.items[0] && (
        <p className="muted wrap-anywhere">
          {list.data.items[0].person_name} · {list.data.items[0].external_id}
        </p>
      )}

      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()} aria-label={t('common.filter')}>
        <DateRangeFields from={filter.from} to={filter.to} onChange={setFilter} />
        {staff && (
          <label className="field">
            <span>{t('attendance.group')}</span>
            <select value={filter.group_id ?? ''} onChange={(e) => setFilter('group_id', e.target.value)}>
              <option value="">{t('common.all')}</option>
              {groups.data?.items.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {staff && (filterPerson.data || !filter.person_id) && (
          <PersonPicker
            key={filterPerson.data?.id ?? 'none'}
            label={t('attendance.person')}
            value={filterPerson.data ?? null}
            onChange={(p) => p && setFilter('person_id', p.id)}
          />
        )}
        <label className="field">
          <span>{t('attendance.status')}</span>
          <select value={filter.status ?? ''} onChange={(e) => setFilter('status', e.target.value)}>
            <option value="">{t('common.all')}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`attendance.statuses.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('attendance.type')}</span>
          <select value={filter.type ?? ''} onChange={(e) => setFilter('type', e.target.value)}>
            <option value="">{t('common.all')}</option>
            {TYPES.map((s) => (
              <option key={s} value={s}>
                {t(`attendance.types.${s}`)}
              </option>
            ))}
          </select>
        </label>
        {cameras.data && (
          <label className="field">
            <span>{t('attendance.camera')}</span>
            <select value={filter.camera_id ?? ''} onChange={(e) => setFilter('camera_id', e.target.value)}>
              <option value="">{t('common.allFeminine')}</option>
              {cameras.data.items.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          </label>
        )}
        {staff && (
          <label className="field check">
            <input
              type="checkbox"
              checked={!!filter.include_void}
              onChange={(e) => setFilter('void', e.target.checked ? '1' : undefined)}
            />
            <span>{t('attendance.showVoided')}</span>
          </label>
        )}
        <button type="button" className="btn" onClick={() => setParams({})}>
          {t('common.clear')}
        </button>
      </form>

      <div className="segmented" role="group" aria-label={t('attendance.view')}>
        {(staff ? (['events', 'summary', 'absent'] as const) : (['events', 'summary'] as const)).map((v) => (
          <button key={v} type="button" aria-pressed={view === v} onClick={() => setFilter('view', v === 'events' ? undefined : v)}>
            {t(v === 'absent' ? 'attendance.absentView' : `attendance.${v}`)}
          </button>
        ))}
      </div>

      {view === 'summary' && <SummaryTable filter={filter} />}
      {view === 'absent' && <Absentees day={filter.to} />}
      <ErrorMessage error={list.error} onRetry={list.reload} />
      {view === 'events' && (
        <DataTable
          items={list.data?.items}
          loading={list.loading}
          label={t('attendance.title')}
          head={
            <>
              <th>{t('common.time')}</th>
              <th>{t('attendance.status')}</th>
              <th>{t('attendance.type')}</th>
              {staff && <th>{t('attendance.person')}</th>}
              {staff && <th>{t('people.externalId')}</th>}
              <th>{t('attendance.camera')}</th>
              <th className="num">{t('attendance.confidence')}</th>
              <th>{t('attendance.reason')}</th>
              {(editor || (!staff && user?.person_id != null)) && <th className="num">{t('common.actions')}</th>}
            </>
          }
          row={(e) => (
            <tr key={e.id} className={e.voided_at ? 'voided' : undefined}>
              <td className="nowrap">{formatDateTime(e.time, tz, lang)}</td>
              <td>
                {e.voided_at ? <span className="badge bad">{t('attendance.voided')}</span> : <StatusBadge status={e.status} />}
                <CorrectedMark corrected={e.corrected} tz={tz} lang={lang} />
              </td>
              <td>
                <TypeBadge type={e.type} />
              </td>
              {staff && <td className="wrap-anywhere">{e.person_name}</td>}
              {staff && <td>{e.external_id}</td>}
              <td>{e.source === 'pin' ? t('attendance.sources.pin') : eventSource(e, t('attendance.manual'), t('common.none'))}</td>
              <td className="num">{e.confidence != null ? formatDecimal(e.confidence, lang) : t('common.none')}</td>
              <td>{e.reason ?? ''}</td>
              {!staff && user?.person_id != null && (
                <td>
                  <div className="row-actions">
                    {!e.voided_at && (
                      <button type="button" className="btn small" onClick={() => setAsking({ event: e })}>
                        {t('requests.ask')}
                      </button>
                    )}
                  </div>
                </td>
              )}
              {editor && (
                <td>
                  <div className="row-actions">
                    {!e.voided_at && (
                      <>
                        <button type="button" className="btn small" onClick={() => setCorrecting(e)}>
                          {t('attendance.correct')}
                        </button>
                        <button type="button" className="btn small" onClick={() => setRemoving({ e, how: 'void' })}>
                          {t('attendance.void')}
                        </button>
                        {e.source === 'auto' && (
                          <button type="button" className="btn small" onClick={() => setNotThem(e)}>
                            {t('attendance.notThisPerson')}
                          </button>
                        )}
                      </>
                    )}
                    <button type="button" className="btn small danger" onClick={() => setRemoving({ e, how: 'delete' })}>
                      {t('common.delete')}
                    </button>
                  </div>
                </td>
              )}
            </tr>
          )}
        />
      )}
      {view === 'events' && list.data && (
        <Pager total={list.data.total} limit={LIMIT} offset={filter.offset ?? 0} onChange={(o) => setFilter('offset', o)} />
      )}

      {!staff && user?.person_id != null && <MyRequests reload={sent} />}
      <Modal title={t('requests.askTitle')} open={!!asking} onClose={() => setAsking(null)}>
        {asking && (
          <AskCorrectionForm
            event={asking.event}
            onDone={() => {
              setAsking(null);
              setSent((n) => n + 1);
            }}
          />
        )}
      </Modal>
      <Modal title={t('attendance.add')} open={manual} onClose={() => setManual(false)}>
        <ManualForm
          tz={tz}
          onDone={() => {
            setManual(false);
            list.reload();
          }}
        />
      </Modal>
      <Modal
        title={removing?.how === 'delete' ? t('attendance.deleteTitle') : t('attendance.voidTitle')}
        open={!!removing}
        onClose={() => setRemoving(null)}
      >
        {removing && (
          <RemoveForm
            event={removing.e}
            how={removing.how}
            onDone={() => {
              setRemoving(null);
              list.reload();
            }}
          />
        )}
      </Modal>
      <Modal title={t('attendance.notThisPersonTitle')} open={!!notThem} onClose={() => setNotThem(null)}>
        {notThem && (
          <NotThisPersonForm
            event={notThem}
            onDone={() => {
              setNotThem(null);
              list.reload();
            }}
          />
        )}
      </Modal>
      <Modal title={t('attendance.correction')} open={!!correcting} onClose={() => setCorrecting(null)}>
        {correcting && (
          <CorrectionForm
            event={correcting}
            tz={tz}
            onDone={() => {
              setCorrecting(null);
              list.reload();
            }}
          />
        )}
      </Modal>
    </>
  );
}

function ManualForm({ tz, onDone }: { tz: string; onDone: () => void }) {
  const { t } = useTranslation();
  const [person, setPerson] = useState<Person | null>(null);
  const [type, setType] = useState<EventType>('entry');
  const [time, setTime] = useState(() => utcToZonedInput(new Date().toISOString(), tz));
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!person) return setError(t('attendance.choosePerson'));
    if (!reason.trim()) return setError(t('attendance.reasonRequired'));
    try {
      await api.addAttendance({ person_id: person.id, type, time: zonedToUtc(time, tz), reason: reason.trim() });
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <form onSubmit={submit}>
      <div className="form-grid">
        <PersonPicker label={t('attendance.person')} value={person} onChange={setPerson} required />
        <TypeField value={type} onChange={setType} />
        <TimeReasonFields time={time} setTime={setTime} reason={reason} setReason={setReason} />
      </div>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className="btn primary">
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}

function CorrectionForm({ event, tz, onDone }: { event: AttendanceEvent; tz: string; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const [type, setType] = useState<EventType>(event.type);
  const [status, setStatus] = useState<EventStatus>(event.status);
  const [time, setTime] = useState(() => utcToZonedInput(event.time, tz));
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!reason.trim()) return setError(t('attendance.reasonRequired'));
    const patch: { type?: EventType; status?: EventStatus; time?: string; reason: string } = { reason: reason.trim() };
    if (type !== event.type) patch.type = type;
    if (status !== event.status) patch.status = status;
    if (time !== utcToZonedInput(event.time, tz)) patch.time = zonedToUtc(time, tz);
    try {
      await api.correctAttendance(event.id, patch);
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <form onSubmit={submit}>
      <p>
        <strong>{event.person_name}</strong> · {formatDateTime(event.time, tz, i18n.resolvedLanguage ?? 'es')}
      </p>
      <div className="form-grid">
        <TypeField value={type} onChange={setType} />
        <label className="field">
          <span>{t('attendance.status')}</span>
          <select value={status} onChange={(e) => setStatus(e.target.value as EventStatus)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`attendance.statuses.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <TimeReasonFields time={time} setTime={setTime} reason={reason} setReason={setReason} />
      </div>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className="btn primary">
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}

// The fields both the manual entry and the correction ask for.
function TypeField({ value, onChange }: { value: EventType; onChange: (v: EventType) => void }) {
  const { t } = useTranslation();
  return (
    <label className="field">
      <span>{t('attendance.type')}</span>
      <select value={value} onChange={(e) => onChange(e.target.value as EventType)}>
        {TYPES.map((s) => (
          <option key={s} value={s}>
            {t(`attendance.types.${s}`)}
          </option>
        ))}
      </select>
    </label>
  );
}

function TimeReasonFields({
  time,
  setTime,
  reason,
  setReason,
}: {
  time: string;
  setTime: (v: string) => void;
  reason: string;
  setReason: (v: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <>
      <label className="field">
        <span>{t('common.time')}</span>
        <input type="datetime-local" required value={time} onChange={(e) => setTime(e.target.value)} />
      </label>
      <label className="field">
        <span>{t('attendance.reason')}</span>
        <input required value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
    </>
  );
}

/** Who, which way and when: the event a dialog acts on. */
function EventLine({ event }: { event: AttendanceEvent }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  return (
    <p>
      <strong className="wrap-anywhere">{event.person_name}</strong> · {t(`attendance.types.${event.type}`)} ·{' '}
      {formatDateTime(event.time, tz, i18n.resolvedLanguage ?? 'es')}
    </p>
  );
}

/** Void (kept, not counted) or delete an event; both need a reason. */
function RemoveForm({ event, how, onDone }: { event: AttendanceEvent; how: 'void' | 'delete'; onDone: () => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      if (how === 'void') await api.voidAttendance(event.id, reason.trim());
      else await api.deleteAttendance(event.id, reason.trim());
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)}>
      <EventLine event={event} />
      <p className="muted">{how === 'void' ? t('attendance.voidHelp') : t('attendance.deleteHelp')}</p>
      <label className="field">
        <span>{t('attendance.reason')}</span>
        <input required maxLength={255} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className={`btn ${how === 'delete' ? 'danger' : 'primary'}`} disabled={!reason.trim()}>
          {how === 'void' ? t('attendance.void') : t('common.delete')}
        </button>
      </div>
    </form>
  );
}

/** A recognition that named the wrong person: the event voided (or deleted)
 * with a reason; optionally the enrolled face that matched is deleted, so
 * the same face is not taken for this person again, and the face as the
 * camera saw it goes to Unknown faces, to be assigned to the right person. */
function NotThisPersonForm({ event, onDone }: { event: AttendanceEvent; onDone: () => void }) {
  const { t } = useTranslation();
  const [reason, setReason] = useState('');
  const [erase, setErase] = useState(false);
  const [deleteFace, setDeleteFace] = useState(event.face_id != null);
  const [keepProbe, setKeepProbe] = useState(!!event.has_probe);
  const [error, setError] = useState<Error | null>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await api.notThisPerson(event.id, { reason: reason.trim(), erase, delete_face: deleteFace, keep_probe: keepProbe });
      onDone();
    } catch (err) {
      setError(err as Error);
    }
  }
  return (
    <form onSubmit={(e) => void submit(e)}>
      <EventLine event={event} />
      <p className="muted">{t('attendance.notThisPersonHelp')}</p>
      <label className="field">
        <span>{t('attendance.reason')}</span>
        <input required maxLength={255} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <fieldset className="choices">
        <legend>{t('attendance.notThisPersonEvent')}</legend>
        <label className="field check">
          <input type="radio" name="erase" checked={!erase} onChange={() => setErase(false)} />
          <span>{t('attendance.void')}</span>
        </label>
        <label className="field check">
          <input type="radio" name="erase" checked={erase} onChange={() => setErase(true)} />
          <span>{t('common.delete')}</span>
        </label>
      </fieldset>
      <label className="field check">
        <input type="checkbox" checked={deleteFace} disabled={event.face_id == null} onChange={(e) => setDeleteFace(e.target.checked)} />
        <span>{event.face_id == null ? t('attendance.noFaceToDelete') : t('attendance.deleteMatchedFace')}</span>
      </label>
      {event.face_id != null && <img src={api.faceImageUrl(event.face_id)} alt={t('attendance.matchedFace')} width={96} height={96} />}
      <label className="field check">
        <input type="checkbox" checked={keepProbe} disabled={!event.has_probe} onChange={(e) => setKeepProbe(e.target.checked)} />
        <span>{event.has_probe ? t('attendance.keepProbe') : t('attendance.noProbe')}</span>
      </label>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className="btn danger" disabled={!reason.trim()}>
          {t('attendance.notThisPerson')}
        </button>
      </div>
    </form>
  );
}
