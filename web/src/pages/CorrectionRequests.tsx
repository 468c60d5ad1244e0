// Correction requests. A member asks, from their own attendance, for a
// forgotten exit or entry to be added, a wrong time to be corrected or a
// record not to count (AskCorrectionForm), and follows their requests
// (MyRequests: how each ended, who decided, when and their note; a pending
// one can be withdrawn). Managers of their groups and admins decide on this page:
// pending ones first, with the record as it is now; approving makes the
// change as a correction by hand, rejecting takes a note and changes nothing.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { AttendanceEvent, CorrectionKind, CorrectionRequest, CorrectionStatus } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { ErrorMessage, Loading, PageHead, Pager, TypeBadge, useErrorText } from '../components/common';
import { formatDateTime, utcToZonedInput, zonedToUtc } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import styles from './CorrectionRequests.module.css';

const TEXT_MAX = 500;
const STATUSES: CorrectionStatus[] = ['pending', 'approved', 'rejected', 'withdrawn'];

/** What the request is about: the record (as it is now) and the time asked. */
function RequestLines({ q }: { q: CorrectionRequest }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  return (
    <>
      <p className={styles.line}>
        <strong>{t(`requests.kinds.${q.kind}`)}</strong>
      </p>
      <p className={styles.line}>
        {t('requests.event')}:{' '}
        {q.event ? (
          <>
            <TypeBadge type={q.event.type} /> {formatDateTime(q.event.time, tz, lang)}
          </>
        ) : q.event_id ? (
          t('requests.eventGone')
        ) : q.result_event_id ? (
          t('requests.eventAdded')
        ) : (
          t('requests.noEvent')
        )}
      </p>
      {q.time && (
        <p className={styles.line}>
          {t('requests.time')}: {formatDateTime(q.time, tz, lang)}
        </p>
      )}
      <p className={`${styles.line} ${styles.reason}`}>{q.reason}</p>
      <p className={`muted ${styles.line}`}>
        {t('requests.asked')}: {formatDateTime(q.created_at, tz, lang)}
      </p>
      {q.decided_at && (
        <p className={`muted ${styles.line}`}>
          {t('requests.decidedBy', {
            status: t(`requests.statuses.${q.status}`),
            by: q.decided_by ?? '',
            when: formatDateTime(q.decided_at, tz, lang),
          })}
        </p>
      )}
      {q.note && (
        <p className={`${styles.line} ${styles.reason}`}>
          {t('requests.decisionNote')}: {q.note}
        </p>
      )}
    </>
  );
}

function StatusTag({ status }: { status: CorrectionStatus }) {
  const { t } = useTranslation();
  const tone = status === 'approved' ? 'ok' : status === 'rejected' ? 'bad' : status === 'pending' ? 'warn' : '';
  return <span className={`badge ${tone}`}>{t(`requests.statuses.${status}`)}</span>;
}

/** The member's form: about `event` (null: an exit or entry that is missing). */
export function AskCorrectionForm({ event, onDone }: { event: AttendanceEvent | null; onDone: () => void }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const kinds: CorrectionKind[] = event ? ['wrong_time', 'void', 'missing_exit'] : ['missing_exit', 'missing_entry'];
  const [kind, setKind] = useState<CorrectionKind>(kinds[0]);
  const [time, setTime] = useState(() => utcToZonedInput(event?.time ?? new Date().toISOString(), tz));
  const [reason, setReason] = useState('');
  const [error, setError] = useState<Error | string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!reason.trim()) return setError(t('attendance.reasonRequired'));
    setBusy(true);
    setError(null);
    try {
      await api.askCorrection({
        kind,
        reason: reason.trim(),
        ...(event && kind !== 'missing_entry' ? { event_id: event.id } : {}),
        ...(kind !== 'void' ? { time: zonedToUtc(time, tz) } : {}),
      });
      onDone();
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)}>
      {event && (
        <p>
          <TypeBadge type={event.type} /> {formatDateTime(event.time, tz, i18n.resolvedLanguage ?? 'es')}
        </p>
      )}
      <p className="muted">{t('requests.askHelp')}</p>
      <div className="form-grid">
        <label className="field">
          <span>{t('requests.kind')}</span>
          <select value={kind} onChange={(e) => setKind(e.target.value as CorrectionKind)}>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {t(`requests.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {kind !== 'void' && (
          <label className="field">
            <span>{t('requests.time')}</span>
            <input type="datetime-local" required value={time} onChange={(e) => setTime(e.target.value)} />
          </label>
        )}
        <label className="field">
          <span>{t('requests.reason')}</span>
          <textarea required maxLength={TEXT_MAX} rows={3} value={reason} onChange={(e) => setReason(e.target.value)} />
        </label>
      </div>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={busy}>
          {t('requests.send')}
        </button>
      </div>
    </form>
  );
}

/** The member's own requests and how they ended; a pending one can be withdrawn. */
export function MyRequests({ reload }: { reload: number }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const errorText = useErrorText();
  const list = useLoad(() => api.myCorrectionRequests(), [reload]);
  const [busy, setBusy] = useState(0);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function withdraw(q: CorrectionRequest) {
    setBusy(q.id);
    setDone(null);
    setError(null);
    try {
      await api.withdrawCorrectionRequest(q.id);
      setDone(t('requests.withdrawn'));
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(0);
      list.reload();
    }
  }

  if (list.error) return <ErrorMessage error={list.error} onRetry={list.reload} />;
  if (!list.data || list.data.items.length === 0) return null;
  return (
    <section aria-labelledby="my-requests">
      <h2 id="my-requests">{t('requests.mine')}</h2>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      <ul className={styles.list} aria-label={t('requests.mine')}>
        {list.data.items.map((q) => (
          <li key={q.id} className={`card ${styles.item}`}>
            <div className={styles.details}>
              <StatusTag status={q.status} />
              <RequestLines q={q} />
            </div>
            {q.status === 'pending' && (
              <div className={styles.buttons}>
                <button
                  type="button"
                  className="btn"
                  disabled={busy === q.id}
                  aria-label={t('requests.withdrawLabel', {
                    kind: t(`requests.kinds.${q.kind}`),
                    when: formatDateTime(q.created_at, tz, i18n.resolvedLanguage ?? 'es'),
                  })}
                  onClick={() => void withdraw(q)}
                >
                  {t('requests.withdraw')}
                </button>
              </div>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

/** Managers' and admins' page: decide on the requests of their groups' people. */
export function CorrectionRequestsPage() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const [status, setStatus] = useState<CorrectionStatus | undefined>('pending');
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => api.correctionRequests(status, offset), [status, offset]);
  const pending = useLoad(() => api.correctionRequests('pending'), [list.data]);
  const [notes, setNotes] = useState<Record<number, string>>({});
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(0);

  async function decide(q: CorrectionRequest, approve: boolean) {
    const note = (notes[q.id] ?? '').trim();
    setError(null);
    setDone(null);
    if (!approve && !note) return setError(t('requests.noteRequired'));
    setBusy(q.id);
    try {
      if (approve) await api.approveCorrectionRequest(q.id, note || undefined);
      else await api.rejectCorrectionRequest(q.id, note);
      setDone(t(approve ? 'requests.approved' : 'requests.rejected', { name: q.person_name }));
      list.reload();
    } catch (e) {
      setError(errorText(e));
      list.reload();
    } finally {
      setBusy(0);
    }
  }

  return (
    <>
      <PageHead title={t('requests.title')}>
        {pending.data && (
          <span className="badge warn" role="status" aria-live="polite">
            {t('requests.pending', { count: pending.data.total })}
          </span>
        )}
      </PageHead>
      <p className="muted">{t('requests.help')}</p>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()} aria-label={t('common.filter')}>
        <label className="field">
          <span>{t('requests.filter')}</span>
          <select
            value={status ?? ''}
            onChange={(e) => {
              setStatus((e.target.value || undefined) as CorrectionStatus | undefined);
              setOffset(0);
            }}
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`requests.statuses.${s}`)}
              </option>
            ))}
            <option value="">{t('requests.all')}</option>
          </select>
        </label>
      </form>
      {done && (
        <p className="success" role="status">
          {done}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {list.error ? (
        <ErrorMessage error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p role="status">{t('requests.none')}</p>
      ) : (
        <ul className={styles.list} aria-label={t('requests.title')}>
          {list.data.items.map((q) => (
            <li key={q.id} className={`card ${styles.item}`} aria-label={q.person_name}>
              <div className={styles.details}>
                <h2 className={styles.name}>
                  {q.person_name} <StatusTag status={q.status} />
                </h2>
                <RequestLines q={q} />
              </div>
              {q.status === 'pending' && (
                <div className={styles.actions}>
                  <label className="field">
                    <span>{t('requests.note')}</span>
                    <input
                      maxLength={TEXT_MAX}
                      value={notes[q.id] ?? ''}
                      onChange={(e) => setNotes({ ...notes, [q.id]: e.target.value })}
                    />
                  </label>
                  <div className={styles.buttons}>
                    <button type="button" className="btn primary" disabled={busy === q.id} onClick={() => void decide(q, true)}>
                      {t('requests.approve')}
                    </button>
                    <button type="button" className="btn danger" disabled={busy === q.id} onClick={() => void decide(q, false)}>
                      {t('requests.reject')}
                    </button>
                  </div>
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      {list.data && <Pager total={list.data.total} limit={50} offset={offset} onChange={setOffset} />}
    </>
  );
}
