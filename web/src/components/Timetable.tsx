// Weekly timetable editor for one group or one person: a column per weekday
// (Monday first), each with its time slots (start, end, grace minutes,
// label). Saving sends the whole timetable "A partir de" a day (default
// today): the days before keep the slots they had. The editor shows the
// timetable in force on that day, and the changes already planned after it.
// "Copiar a…" on a day adds its slots to the days ticked, saved at once
// (planCopy).
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Schedule } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { dateIn, formatDate } from '../lib/format';
import { diffSchedules, endsNextDay, overlaps, planCopy, slotError, slotsFromSchedules, sortSlots, type Slot } from '../lib/schedule';
import { ErrorMessage, Loading, Modal } from './common';
import styles from './Timetable.module.css';

const DAYS = [1, 2, 3, 4, 5, 6, 7];
let keySeq = 0;
const newKey = () => `n${++keySeq}`;

/** What a copy saved, day by day, and what it did not (a request failed). */
interface CopyReport {
  saved: { day: number; n: number; of: number }[];
  failed: { day: number; n: number }[];
  error: Error | null;
}

export function Timetable({ groupId, personId, editable = true }: { groupId?: number; personId?: number; editable?: boolean }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user } = useAuth();
  const today = dateIn(tz);
  // The day the changes take effect; "" is today (the server's).
  const [from, setFrom] = useState('');
  const [upcoming, setUpcoming] = useState<Schedule[]>([]);
  const [saved, setSaved] = useState<Schedule[] | null>(null);
  const [slots, setSlots] = useState<Slot[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [gen, setGen] = useState(0);
  const [copyFrom, setCopyFrom] = useState<number | null>(null);
  const [copyReport, setCopyReport] = useState<CopyReport | null>(null);

  useEffect(() => {
    let live = true;
    const on = from || undefined;
    api
      .schedules(groupId ? { group_id: groupId, on } : { person_id: personId, on })
      .then((p) => {
        if (!live) return;
        const now = p.items.filter((s) => !s.upcoming);
        setSaved(now);
        setUpcoming(p.items.filter((s) => s.upcoming));
        setSlots(slotsFromSchedules(now));
      })
      .catch((e: Error) => live && setError(e));
    return () => {
      live = false;
    };
  }, [groupId, personId, gen, from]);
  const day = (d: string) => formatDate(d, tz, i18n.language);

  const update = (key: string, patch: Partial<Slot>) => {
    setNote(null);
    setSlots((all) => all.map((s) => (s.key === key ? { ...s, ...patch } : s)));
  };
  const add = (day: number) => {
    setNote(null);
    setSlots((all) => sortSlots([...all, { key: newKey(), day_of_week: day, start: '08:00', end: '14:00', grace_min: 5, label: '' }]));
  };
  const remove = (key: string) => setSlots((all) => all.filter((s) => s.key !== key));
  const clashes = overlaps(slots);
  const invalid = slots.some((s) => slotError(s)) || clashes.size > 0;
  const owner = { group_id: groupId ?? null, person_id: personId ?? null };
  const changes = saved ? diffSchedules(saved, slots, owner) : null;
  const dirty = !!changes && changes.create.length + changes.update.length + changes.remove.length > 0;

  // One request per copied slot: what was saved is reported day by day, and
  // the timetable is read back from the server either way.
  async function copy(add: Slot[]) {
    const report: CopyReport = { saved: [], failed: [], error: null };
    for (const s of add) {
      const day = s.day_of_week;
      if (!report.error) {
        try {
          await api.createSchedule({
            ...owner,
            day_of_week: day,
            start: s.start,
            end: s.end,
            grace_min: s.grace_min,
            label: s.label,
            ...(from ? { effective: from } : {}),
          });
          const d = report.saved.find((x) => x.day === day);
          if (d) d.n++;
          else report.saved.push({ day, n: 1, of: 0 });
        } catch (e) {
          report.error = e as Error;
        }
      }
      if (report.error) {
        const f = report.failed.find((x) => x.day === day);
        if (f) f.n++;
        else report.failed.push({ day, n: 1 });
      }
    }
    for (const d of report.saved) d.of = add.filter((s) => s.day_of_week === d.day).length;
    setCopyFrom(null);
    setNote(null);
    setCopyReport(report);
    setGen((g) => g + 1);
  }

  async function save() {
    if (!saved) return;
    setBusy(true);
    setError(null);
    try {
      // The whole timetable in one request: saved completely or not at all.
      await api.replaceSchedules(
        owner,
        slots.map(({ id, day_of_week, start, end, grace_min, label }) => ({ id, day_of_week, start, end, grace_min, label })),
        from || undefined,
      );
      setNote(t('groups.savedFrom', { date: day(from || today) }));
      setGen((g) => g + 1);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }

  if (!saved && !error) return <Loading />;
  const endsOf = new Map((saved ?? []).filter((s) => s.valid_to).map((s) => [s.id, s.valid_to as string]));
  return (
    <div>
      {editable && (
        <div className={styles.from}>
          <label className="field">
            <span>{t('groups.effective')}</span>
            <input
              type="date"
              value={from || today}
              // A day before today judges reported days again: admins only.
              min={user?.role === 'admin' ? undefined : today}
              onChange={(e) => {
                setNote(null);
                setFrom(e.target.value === today ? '' : e.target.value);
              }}
            />
          </label>
          <p className="muted">{t('groups.effectiveHelp')}</p>
        </div>
      )}
      <div className={styles.week}>
        {DAYS.map((d) => {
          const daySlots = slots.filter((s) => s.day_of_week === d);
          return (
            <section key={d} className={styles.day} aria-label={t(`groups.days.${d}`)}>
              <h3>{t(`groups.days.${d}`)}</h3>
              {daySlots.length === 0 && <p className="muted">{t('groups.noSlots')}</p>}
              {daySlots.map((s) => {
                const clash = clashes.get(s.key);
                const err = slotError(s) ?? (clash ? t('groups.overlaps', { slot: slotText(t, clash) }) : null);
                return (
                  <div key={s.key} className={`${styles.slot} ${err ? styles.bad : ''}`}>
                    <label className="field">
                      <span>{t('groups.start')}</span>
                      <input type="time" value={s.start} disabled={!editable} onChange={(e) => update(s.key, { start: e.target.value })} />
                    </label>
                    <label className="field">
                      <span>
                        {t('groups.end')}
                        {endsNextDay(s) && <> ({t('groups.nextDay')})</>}
                      </span>
                      <input type="time" value={s.end} disabled={!editable} onChange={(e) => update(s.key, { end: e.target.value })} />
                    </label>
                    <label className="field">
                      <span>{t('groups.grace')}</span>
                      <input
                        type="number"
                        min={0}
                        max={240}
                        value={s.grace_min}
                        disabled={!editable}
                        onChange={(e) => update(s.key, { grace_min: Number(e.target.value) })}
                      />
                    </label>
                    <label className="field">
                      <span>{t('groups.label')}</span>
                      <input value={s.label} disabled={!editable} onChange={(e) => update(s.key, { label: e.target.value })} />
                    </label>
                    {s.id !== undefined && endsOf.has(s.id) && (
                      <p className="muted">{t('groups.until', { date: day(endsOf.get(s.id) as string) })}</p>
                    )}
                    {err && (
                      <p className={styles.err} role="alert">
                        {t(err)}
                      </p>
                    )}
                    {editable && (
                      <button type="button" className="btn small danger" onClick={() => remove(s.key)}>
                        {t('common.delete')}
                      </button>
                    )}
                  </div>
                );
              })}
              {editable && (
                <div className={styles.dayActions}>
                  <button type="button" className="btn small" onClick={() => add(d)}>
                    + {t('groups.addSlot')}
                  </button>
                  {daySlots.length > 0 && (
                    <button
                      type="button"
                      className="btn small"
                      aria-label={t('groups.copyDayLabel', { day: t(`groups.days.${d}`) })}
                      onClick={() => {
                        setCopyReport(null);
                        setCopyFrom(d);
                      }}
                    >
                      {t('groups.copyDay')}
                    </button>
                  )}
                </div>
              )}
            </section>
          );
        })}
      </div>
      {upcoming.length > 0 && (
        <section className={styles.upcoming} aria-label={t('groups.upcoming')}>
          <h3>{t('groups.upcoming')}</h3>
          <ul>
            {upcoming.map((s) => (
              <li key={s.id}>
                {t('groups.upcomingFrom', { date: day(s.valid_from as string) })}: {slotText(t, s)}
                {s.label ? ` · ${s.label}` : ''}
              </li>
            ))}
          </ul>
          {editable && <p className="muted">{t('groups.upcomingReplaced')}</p>}
        </section>
      )}
      <ErrorMessage error={error} />
      {note && <p className="success">{note}</p>}
      {copyReport && <CopyOutcome report={copyReport} />}
      {copyFrom !== null && (
        <CopyDialog from={copyFrom} slots={slots} dirty={dirty} onClose={() => setCopyFrom(null)} onCopy={(add) => copy(add)} />
      )}
      {editable && (
        <div className="form-actions">
          <button type="button" className="btn primary" disabled={busy || invalid} onClick={() => void save()}>
            {t('common.save')}
          </button>
        </div>
      )}
    </div>
  );
}

type T = (k: string, v?: Record<string, unknown>) => string;

function slotText(t: T, s: Pick<Slot, 'day_of_week' | 'start' | 'end'>): string {
  return `${t(`groups.days.${s.day_of_week}`)} ${s.start}–${s.end}`;
}

/** "Copiar a…": the days to copy one day's slots to (the other weekdays
 * ticked for a weekday), what happens to what those days have, and each
 * day a copied slot would overlap, which must be unticked before copying. */
function CopyDialog({
  from,
  slots,
  dirty,
  onClose,
  onCopy,
}: {
  from: number;
  slots: Slot[];
  dirty: boolean;
  onClose: () => void;
  onCopy: (add: Slot[]) => Promise<void>;
}) {
  const { t } = useTranslation();
  const [days, setDays] = useState<number[]>(() => (from <= 5 ? [1, 2, 3, 4, 5].filter((d) => d !== from) : []));
  const [busy, setBusy] = useState(false);
  const plan = planCopy(slots, from, days, newKey);
  const dayName = t(`groups.days.${from}`);
  return (
    <Modal title={t('groups.copyTitle', { day: dayName })} open onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          void onCopy(plan.add).finally(() => setBusy(false));
        }}
      >
        <p className="muted">{t('groups.copyHelp', { day: dayName })}</p>
        <fieldset className="choices">
          <legend>{t('groups.copyTo')}</legend>
          {DAYS.filter((d) => d !== from).map((d) => (
            <label key={d} className="field check">
              <input
                type="checkbox"
                checked={days.includes(d)}
                disabled={busy}
                onChange={(e) => setDays((all) => (e.target.checked ? [...all, d] : all.filter((x) => x !== d)))}
              />
              <span>{t(`groups.days.${d}`)}</span>
            </label>
          ))}
        </fieldset>
        {plan.refused.map((r) => (
          <p key={r.day} className={styles.err} role="alert">
            {t('groups.copyRefused', {
              day: t(`groups.days.${r.day}`),
              slot: `${r.slot.start}–${r.slot.end}`,
              clash: slotText(t, r.clash),
            })}
          </p>
        ))}
        {dirty && (
          <p className={styles.err} role="alert">
            {t('groups.copySaveFirst')}
          </p>
        )}
        <div className="form-actions">
          <button type="button" className="btn" onClick={onClose}>
            {t('common.cancel')}
          </button>
          <button type="submit" className="btn primary" disabled={busy || dirty || plan.refused.length > 0 || plan.add.length === 0}>
            {t('groups.copy')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

function CopyOutcome({ report }: { report: CopyReport }) {
  const { t } = useTranslation();
  const day = (d: number) => t(`groups.days.${d}`);
  const saved = report.saved
    .map((s) => (s.n === s.of ? day(s.day) : t('groups.copyPartDay', { day: day(s.day), n: s.n, of: s.of })))
    .join(', ');
  if (!report.error) return <p className="success">{t('groups.copied', { days: saved })}</p>;
  const failed = report.failed.map((f) => t('groups.copySlots', { day: day(f.day), count: f.n })).join(', ');
  return (
    <div role="alert">
      <p className={styles.err}>{report.saved.length ? t('groups.copyPartial', { saved, failed }) : t('groups.copyNone', { failed })}</p>
      <ErrorMessage error={report.error} />
    </div>
  );
}
