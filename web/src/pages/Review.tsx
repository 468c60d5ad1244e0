// Unknown faces: the faces cameras and kiosks saw but did not recognize,
// kept while "keep unrecognized faces" is on (Settings), and the faces of
// recognitions corrected with "not this person". A grid per day and camera,
// newest first; each face is assigned to a person picked by name (the
// server enrolls it with the usual quality and duplicate checks and, when
// asked, records the attendance at the time it was seen), or dismissed; a
// selection is dismissed at once. Filters (range, camera) live in the URL.
import { useMemo, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import type { EventType, Person, Sighting } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { addDays, dateIn, formatDate, formatDateTime, formatDecimal, formatTime } from '../lib/format';
import { enrollReason, isEnrollCode } from '../lib/enrollReason';
import { useLoad } from '../lib/useLoad';
import { DateRangeFields, ErrorMessage, Loading, Modal, PageHead, Pager, useErrorText } from '../components/common';
import { PersonPicker } from '../components/PersonPicker';
import { useFilterParams } from '../lib/filterParams';
import styles from './Review.module.css';

const LIMIT = 120;

interface Bucket {
  key: string;
  day: string;
  camera: string | null;
  items: Sighting[];
}

/** Consecutive sightings of one day and camera (the list is newest first). */
function buckets(items: Sighting[]): Bucket[] {
  const out: Bucket[] = [];
  const byKey = new Map<string, Bucket>();
  for (const s of items) {
    const key = `${s.day}|${s.camera_id ?? 0}`;
    let b = byKey.get(key);
    if (!b) {
      b = { key, day: s.day ?? '', camera: s.camera_name, items: [] };
      byKey.set(key, b);
      out.push(b);
    }
    b.items.push(s);
  }
  return out;
}

export function ReviewPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const [params, setAddress] = useFilterParams();
  const today = dateIn(tz);
  const q = useMemo(
    () => ({
      from: params.get('from') ?? addDays(today, -6),
      to: params.get('to') ?? today,
      camera_id: Number(params.get('camera_id')) || undefined,
      limit: LIMIT,
      offset: Number(params.get('offset')) || 0,
    }),
    [params, today],
  );
  const list = useLoad(() => api.sightings(q), [q]);
  const cameras = useLoad(() => api.cameras().catch(() => null), []);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [assigning, setAssigning] = useState<Sighting | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const setFilter = (k: string, v: string | number | undefined) => {
    setAddress(k, v);
    setSelected(new Set());
  };
  const toggle = (id: number, on: boolean) =>
    setSelected((cur) => {
      const next = new Set(cur);
      if (on) next.add(id);
      else next.delete(id);
      return next;
    });
  const items = list.data?.items ?? [];
  const groups = buckets(items);
  const allSelected = items.length > 0 && items.every((s) => selected.has(s.id));

  async function dismiss(ids: number[]) {
    setError(null);
    setNotice(null);
    try {
      if (ids.length === 1) await api.dismissSighting(ids[0]);
      else await api.dismissSightings(ids);
      setNotice(t('review.dismissed', { count: ids.length }));
      setSelected(new Set());
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  }

  return (
    <>
      <PageHead title={t('review.title')}>
        <button
          type="button"
          className="btn danger"
          disabled={selected.size === 0}
          onClick={() => window.confirm(t('review.confirmDismiss', { count: selected.size })) && void dismiss([...selected])}
        >
          {t('review.dismissSelected', { count: selected.size })}
        </button>
      </PageHead>
      <p className="muted">{t('review.help')}</p>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()} aria-label={t('common.filter')}>
        <DateRangeFields from={q.from} to={q.to} onChange={setFilter} />
        <label className="field">
          <span>{t('attendance.camera')}</span>
          <select value={q.camera_id ?? ''} onChange={(e) => setFilter('camera_id', e.target.value)}>
            <option value="">{t('common.allFeminine')}</option>
            {cameras.data?.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field check">
          <input
            type="checkbox"
            checked={allSelected}
            disabled={items.length === 0}
            onChange={(e) => setSelected(e.target.checked ? new Set(items.map((s) => s.id)) : new Set())}
          />
          <span>{t('review.selectAll')}</span>
        </label>
      </form>
      <ErrorMessage error={list.error ?? error} onRetry={list.error ? list.reload : undefined} />
      {notice && (
        <p className="success" role="status">
          {notice}
        </p>
      )}
      {!list.data && list.loading && <Loading />}
      {list.data && items.length === 0 && <p className="empty">{t('review.none')}</p>}
      {groups.map((b) => (
        <section key={b.key} className={styles.bucket} aria-label={`${formatDate(b.day, tz, lang)} · ${b.camera ?? t('review.noCamera')}`}>
          <h2 className={styles.head}>
            <span>{formatDate(b.day, tz, lang)}</span>
            <span className="muted wrap-anywhere">{b.camera ?? t('review.noCamera')}</span>
            <span className="muted">{t('review.count', { count: b.items.length })}</span>
          </h2>
          <ul className={styles.grid}>
            {b.items.map((s) => (
              <li key={s.id} className={selected.has(s.id) ? styles.picked : undefined} data-sighting={s.id}>
                <label className={styles.pick}>
                  <input type="checkbox" checked={selected.has(s.id)} onChange={(e) => toggle(s.id, e.target.checked)} />
                  <span className="sr-only">{t('review.select', { time: formatTime(s.time, tz) })}</span>
                </label>
                {s.image_url ? (
                  <img src={api.sightingImageUrl(s) ?? ''} alt={t('review.faceAt', { time: formatTime(s.time, tz) })} loading="lazy" />
                ) : (
                  <div className={styles.noimg}>{t('review.noImage')}</div>
                )}
                <span className={styles.time}>{formatTime(s.time, tz)}</span>
                <span className={`badge ${s.reason === 'corrected' ? 'warn' : ''}`}>
                  {t(`review.reasons.${s.reason}`, { defaultValue: s.reason })}
                </span>
                {s.candidate && (
                  <span className={`muted wrap-anywhere ${styles.cand}`}>
                    {t('review.looksLike', { name: s.candidate.name, score: formatDecimal(s.confidence, lang) })}
                  </span>
                )}
                <div className={styles.actions}>
                  <button type="button" className="btn small primary" disabled={!s.image_url} onClick={() => setAssigning(s)}>
                    {t('review.assign')}
                  </button>
                  <button type="button" className="btn small" onClick={() => void dismiss([s.id])}>
                    {t('review.dismiss')}
                  </button>
                </div>
              </li>
            ))}
          </ul>
        </section>
      ))}
      {list.data && list.data.total > LIMIT && (
        <Pager total={list.data.total} limit={LIMIT} offset={q.offset} onChange={(o) => setFilter('offset', o)} />
      )}
      <Modal title={t('review.assignTitle')} open={!!assigning} onClose={() => setAssigning(null)}>
        {assigning && (
          <AssignForm
            sighting={assigning}
            onDone={(name) => {
              setAssigning(null);
              setNotice(t('review.assigned', { name }));
              list.reload();
            }}
          />
        )}
      </Modal>
    </>
  );
}

/** Pick the person (never a raw id) and, optionally, record the attendance
 * the face would have made; a refusal is said in the enrollment's words. */
function AssignForm({ sighting, onDone }: { sighting: Sighting; onDone: (name: string) => void }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const errorText = useErrorText();
  const [person, setPerson] = useState<Person | null>(null);
  const [record, setRecord] = useState(false);
  const [type, setType] = useState<EventType>('entry');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    if (!person) return setError(t('attendance.choosePerson'));
    if (record && !reason.trim()) return setError(t('attendance.reasonRequired'));
    setBusy(true);
    try {
      await api.assignSighting(
        sighting.id,
        record ? { person_id: person.id, record_event: true, type, reason: reason.trim() } : { person_id: person.id },
      );
      onDone(person.name);
    } catch (err) {
      if (err instanceof ApiError && isEnrollCode(err.code))
        setError(t('review.refused', { why: enrollReason({ code: err.code, params: err.params, reason: err.message }, t) }));
      else setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={(e) => void submit(e)} className={styles.assign}>
      {sighting.image_url && (
        <img src={api.sightingImageUrl(sighting) ?? ''} alt={t('review.faceAt', { time: formatTime(sighting.time, tz) })} />
      )}
      <p>{formatDateTime(sighting.time, tz, i18n.resolvedLanguage ?? 'es')}</p>
      <PersonPicker label={t('attendance.person')} value={person} onChange={setPerson} required />
      <p className="muted">{t('review.assignHelp')}</p>
      <label className="field check">
        <input type="checkbox" checked={record} onChange={(e) => setRecord(e.target.checked)} />
        <span>{t('review.recordEvent')}</span>
      </label>
      {record && (
        <div className="form-grid">
          <label className="field">
            <span>{t('attendance.type')}</span>
            <select value={type} onChange={(e) => setType(e.target.value as EventType)}>
              <option value="entry">{t('attendance.types.entry')}</option>
              <option value="exit">{t('attendance.types.exit')}</option>
            </select>
          </label>
          <label className="field">
            <span>{t('attendance.reason')}</span>
            <input required maxLength={255} value={reason} onChange={(e) => setReason(e.target.value)} />
          </label>
        </div>
      )}
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="submit" className="btn primary" disabled={busy || !person}>
          {t('review.assign')}
        </button>
      </div>
    </form>
  );
}
