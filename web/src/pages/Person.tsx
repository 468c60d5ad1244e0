// One person: details (editable), groups with the day they joined each,
// personal timetable, leave and justified absences, enrolled faces (aligned crops with their quality;
// delete), enrollment, their recent attendance, and the three data actions
// kept apart: archive (history kept, reversible), erase the biometric data
// only, and the full erase of a privacy request (confirmed by typing the
// person's code). An auditor reads the details, groups, timetable and
// history only: no face images, and none of the actions.
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { formatDate, formatDateTime, formatDecimal } from '../lib/format';
import { canChange } from '../lib/roles';
import { useLoad } from '../lib/useLoad';
import { useAction } from '../lib/useAction';
import {
  confirmDelete,
  CorrectedMark,
  DataTable,
  ErrorMessage,
  Loading,
  Modal,
  PageHead,
  StatusBadge,
  TypeBadge,
} from '../components/common';
import type { Erased, Person } from '../api/types';
import { PersonForm } from '../components/PersonForm';
import { PersonThumb } from '../components/PersonThumb';
import { Enroll } from '../components/Enroll';
import { Timetable } from '../components/Timetable';
import { LeaveSection } from '../components/Leaves';
import styles from './Person.module.css';
import { eventSource } from '../lib/events';

export function PersonPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const navigate = useNavigate();
  const id = Number(useParams().id);
  const { user } = useAuth();
  const editor = canChange(user?.role);
  const person = useLoad(() => api.person(id), [id]);
  const faces = useLoad(() => (editor ? api.faces(id) : Promise.resolve(null)), [id, editor]);
  const history = useLoad(() => api.attendance({ person_id: id, limit: 20 }), [id]);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const lang = i18n.resolvedLanguage ?? 'es';

  // No such person, or (to a manager limited to groups) one outside them:
  // the server answers both the same.
  if (person.error instanceof ApiError && person.error.status === 404)
    return (
      <div className="error" role="alert">
        <span>{t('people.notFound', { id })}</span> <Link to="/people">{t('people.backToList')}</Link>
      </div>
    );
  if (person.error) return <ErrorMessage error={person.error} onRetry={person.reload} />;
  if (!person.data) return <Loading />;
  const p = person.data;

  async function removeFace(faceId: number) {
    if (!confirmDelete(t, `#${faceId}`)) return;
    try {
      await api.deleteFace(id, faceId);
      faces.reload();
      person.reload();
    } catch (e) {
      setError(e as Error);
    }
  }

  async function archive(on: boolean) {
    try {
      person.setData(await api.archivePerson(id, on));
    } catch (e) {
      setError(e as Error);
    }
  }

  return (
    <>
      <PageHead title={p.name}>
        {!p.active && <span className="badge warn">{t('people.archived')}</span>}
        {editor && (
          <>
            <button type="button" className="btn" onClick={() => setEditing(true)}>
              {t('common.edit')}
            </button>
            <button type="button" className="btn" onClick={() => void archive(p.active)}>
              {p.active ? t('people.archive') : t('people.restore')}
            </button>
          </>
        )}
      </PageHead>
      <ErrorMessage error={error} />

      <div className={styles.top}>
        <section className={`card ${styles.details}`} aria-labelledby="details-h">
          <h2 id="details-h">{t('people.details')}</h2>
          <div className={styles.who}>
            <PersonThumb id={p.id} name={p.name} hasFaces={p.face_count > 0} />
            <dl>
              <dt>{t('people.externalId')}</dt>
              <dd>{p.external_id}</dd>
              <dt>{t('people.kind')}</dt>
              <dd>{t(`people.kinds.${p.kind}`, { defaultValue: p.kind })}</dd>
              <dt>{t('common.email')}</dt>
              <dd>{p.email || t('common.none')}</dd>
              <dt>{t('people.active')}</dt>
              <dd>
                {p.active
                  ? t('common.yes')
                  : p.archived_at
                    ? t('people.archivedOn', { date: formatDateTime(p.archived_at, tz, lang) })
                    : t('common.no')}
              </dd>
              <dt>{t('people.consent')}</dt>
              <dd data-testid="person-consent">
                {p.consent_at
                  ? formatDateTime(p.consent_at, tz, lang)
                  : p.consent_withdrawn_at
                    ? t('people.consentWithdrawnOn', { date: formatDateTime(p.consent_withdrawn_at, tz, lang) })
                    : t('common.none')}
              </dd>
              <dt>{t('people.groups')}</dt>
              <dd>
                {p.groups.length ? (
                  <ul className={styles.groups}>
                    {p.groups.map((g) => (
                      <li key={g.id}>
                        <Link to={`/groups/${g.id}`}>{g.name}</Link>{' '}
                        {editor ? (
                          <JoinedOn personId={p.id} groupId={g.id} name={g.name} day={g.joined_on ?? ''} onSaved={person.reload} />
                        ) : (
                          g.joined_on && (
                            <span className="muted">
                              {t('people.joinedOn')} {formatDate(g.joined_on, tz, lang)}
                            </span>
                          )
                        )}
                      </li>
                    ))}
                  </ul>
                ) : (
                  t('common.none')
                )}
              </dd>
            </dl>
          </div>
        </section>

        <section className="card" aria-labelledby="faces-h">
          <h2 id="faces-h">
            {t('people.enrolled')} ({faces.data?.length ?? p.face_count})
          </h2>
          <ErrorMessage error={faces.error} onRetry={faces.reload} />
          {!editor && <p className="muted">{t('people.facesHidden')}</p>}
          {faces.data && faces.data.length === 0 && <p className="muted">{t('people.noFaces')}</p>}
          <ul className={`face-grid ${styles.faces}`}>
            {faces.data?.map((f) => (
              <li key={f.id} className={f.quality.ok ? '' : styles.weak}>
                <img src={api.faceImageUrl(f.id)} alt={`#${f.id}`} width={112} height={112} loading="lazy" />
                <span className={`badge ${f.quality.ok ? 'ok' : 'warn'}`}>
                  {t('people.quality', { score: formatDecimal(f.quality.score, lang) })}
                </span>
                {f.quality.reasons.length > 0 && (
                  <span className="muted">
                    {f.quality.reasons
                      .map((r) => (i18n.exists(`enroll.quality.${r.replace(/ /g, '_')}`) ? t(`enroll.quality.${r.replace(/ /g, '_')}`) : r))
                      .join(', ')}
                  </span>
                )}
                <button
                  type="button"
                  className="btn small danger"
                  onClick={() => void removeFace(f.id)}
                  aria-label={`${t('people.deleteFace')} #${f.id}`}
                >
                  {t('common.delete')}
                </button>
              </li>
            ))}
          </ul>
        </section>
      </div>

      {editor && (
        <section className="card" aria-labelledby="enroll-h">
          <h2 id="enroll-h">{t('enroll.title')}</h2>
          <Enroll
            personId={id}
            onEnrolled={() => {
              faces.reload();
              person.reload();
            }}
          />
        </section>
      )}

      {editor && <PinSection personId={p.id} pinSet={!!p.pin_set} onChanged={person.reload} />}

      <LeaveSection personId={p.id} editable={editor} />

      <section className="card" aria-labelledby="schedule-h">
        <h2 id="schedule-h">{t('people.schedule')}</h2>
        <p className="muted">{t('people.noSchedule')}</p>
        <Timetable personId={id} editable={editor} />
      </section>

      <section className="card" aria-labelledby="history-h">
        <h2 id="history-h">{t('people.history')}</h2>
        <ErrorMessage error={history.error} onRetry={history.reload} />
        <DataTable
          items={history.data?.items}
          loading={history.loading}
          head={
            <>
              <th>{t('common.time')}</th>
              <th>{t('attendance.type')}</th>
              <th>{t('attendance.status')}</th>
              <th>{t('attendance.camera')}</th>
            </>
          }
          row={(e) => (
            <tr key={e.id}>
              <td className="nowrap">{formatDateTime(e.time, tz, lang)}</td>
              <td>
                <TypeBadge type={e.type} />
              </td>
              <td>
                {e.voided_at ? <span className="badge bad">{t('attendance.voided')}</span> : <StatusBadge status={e.status} />}
                <CorrectedMark corrected={e.corrected} tz={tz} lang={lang} />
              </td>
              <td>{eventSource(e, t('attendance.manual'), t('common.none'))}</td>
            </tr>
          )}
        />
        <p>
          <Link to={`/attendance?person_id=${id}`}>{t('nav.attendance')} →</Link>
        </p>
      </section>

      {editor && (
        <DataActions
          person={p}
          onBiometricsErased={() => {
            faces.reload();
            person.reload();
          }}
          onErased={() => navigate('/people')}
        />
      )}

      <Modal title={t('common.edit')} open={editing} onClose={() => setEditing(false)}>
        <PersonForm
          initial={p}
          onCancel={() => setEditing(false)}
          onSubmit={async (body) => {
            person.setData(await api.updatePerson(id, body));
            setEditing(false);
          }}
        />
      </Modal>
    </>
  );
}

/** The kiosk PIN for checking in with the person's code instead of a face. */
function PinSection({ personId, pinSet, onChanged }: { personId: number; pinSet: boolean; onChanged: () => void }) {
  const { t } = useTranslation();
  const [pin, setPin] = useState('');
  const action = useAction(() => {
    setPin('');
    onChanged();
  });
  return (
    <section className="card" aria-labelledby="pin-h">
      <h2 id="pin-h">
        {t('people.pin')} <span className={`badge ${pinSet ? 'ok' : ''}`}>{pinSet ? t('people.pinSet') : t('people.pinNone')}</span>
      </h2>
      <p className="muted">{t('people.pinHelp')}</p>
      <form
        className="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void action.run(() => api.setPersonPin(personId, pin));
        }}
      >
        <label className="field">
          <span>{t('people.pin')}</span>
          <input
            type="password"
            inputMode="numeric"
            autoComplete="new-password"
            pattern="[0-9]{4,12}"
            required
            value={pin}
            onChange={(e) => setPin(e.target.value)}
          />
        </label>
        <button type="submit" className="btn primary">
          {t('people.savePin')}
        </button>
        {pinSet && (
          <button type="button" className="btn" onClick={() => void action.run(() => api.setPersonPin(personId, null))}>
            {t('people.removePin')}
          </button>
        )}
      </form>
      <ErrorMessage error={action.error} />
    </section>
  );
}

/** The day a person joined one group: shown, and changed with a date field. */
function JoinedOn({
  personId,
  groupId,
  name,
  day,
  onSaved,
}: {
  personId: number;
  groupId: number;
  name: string;
  day: string;
  onSaved: () => void;
}) {
  const { t } = useTranslation();
  const [value, setValue] = useState(day);
  const action = useAction(onSaved);
  return (
    <span className={styles.joined}>
      <label>
        <span className="muted">{t('people.joinedOn')}</span>{' '}
        <input
          type="date"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          aria-label={t('people.joinedOnGroup', { group: name })}
        />
      </label>
      {value && value !== day && (
        <button
          type="button"
          className="btn small"
          aria-label={t('people.saveJoinedOn', { group: name })}
          onClick={() => void action.run(() => api.addGroupMember(groupId, personId, value))}
        >
          {t('common.save')}
        </button>
      )}
      <ErrorMessage error={action.error} />
    </span>
  );
}

/** Erasing data, kept apart from archiving: the biometric data only (faces,
 *  embeddings, photo; history kept), or everything (a privacy request),
 *  confirmed by typing the person's code. */
function DataActions({ person, onBiometricsErased, onErased }: { person: Person; onBiometricsErased: () => void; onErased: () => void }) {
  const { t } = useTranslation();
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [erased, setErased] = useState<Erased['erased'] | null>(null);
  const bio = useAction(onBiometricsErased);
  const full = useAction(onErased);
  const code = person.external_id || String(person.id);
  return (
    <section className="card" aria-labelledby="data-h">
      <h2 id="data-h">{t('people.data')}</h2>
      <p className="muted">{t('people.dataHelp')}</p>
      <div className={styles.actions}>
        <button
          type="button"
          className="btn"
          disabled={person.face_count === 0}
          onClick={() => {
            if (!window.confirm(t('people.eraseBiometricsConfirm', { name: person.name }))) return;
            void bio.run(async () => setErased((await api.erasePersonBiometrics(person.id)).erased));
          }}
        >
          {t('people.eraseBiometrics')}
        </button>
        <button type="button" className="btn danger" onClick={() => setConfirming(true)}>
          {t('people.eraseAll')}
        </button>
      </div>
      {erased && <p role="status">{t('people.biometricsErased', { faces: erased.faces, sightings: erased.sightings })}</p>}
      <ErrorMessage error={bio.error} />
      <Modal title={t('people.eraseAll')} open={confirming} onClose={() => setConfirming(false)}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (typed.trim() === code) void full.run(() => api.deletePerson(person.id));
          }}
        >
          <p>{t('people.eraseAllHelp', { name: person.name })}</p>
          <label className="field">
            <span>{t('people.eraseAllType', { code })}</span>
            <input value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
          </label>
          <ErrorMessage error={full.error} />
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setConfirming(false)}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="btn danger" disabled={typed.trim() !== code}>
              {t('people.eraseAllConfirm')}
            </button>
          </div>
        </form>
      </Modal>
    </section>
  );
}
