// Weekly timetable editor for one group or one person: a column per weekday
// (Monday first), each with its time slots (start, end, grace minutes,
// label). Saving sends only the changes (lib/schedule.ts).
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Schedule } from '../api/types';
import { diffSchedules, endsNextDay, slotError, slotsFromSchedules, sortSlots, type Slot } from '../lib/schedule';
import { ErrorMessage, Loading } from './common';
import styles from './Timetable.module.css';

const DAYS = [1, 2, 3, 4, 5, 6, 7];
let keySeq = 0;

export function Timetable({ groupId, personId, editable = true }: { groupId?: number; personId?: number; editable?: boolean }) {
  const { t } = useTranslation();
  const [saved, setSaved] = useState<Schedule[] | null>(null);
  const [slots, setSlots] = useState<Slot[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const [gen, setGen] = useState(0);

  useEffect(() => {
    let live = true;
    api
      .schedules(groupId ? { group_id: groupId } : { person_id: personId })
      .then((p) => {
        if (!live) return;
        setSaved(p.items);
        setSlots(slotsFromSchedules(p.items));
      })
      .catch((e: Error) => live && setError(e));
    return () => {
      live = false;
    };
  }, [groupId, personId, gen]);

  const update = (key: string, patch: Partial<Slot>) => {
    setNote(null);
    setSlots((all) => all.map((s) => (s.key === key ? { ...s, ...patch } : s)));
  };
  const add = (day: number) => {
    setNote(null);
    setSlots((all) =>
      sortSlots([...all, { key: `n${++keySeq}`, day_of_week: day, start: '08:00', end: '14:00', grace_min: 5, label: '' }]),
    );
  };
  const remove = (key: string) => setSlots((all) => all.filter((s) => s.key !== key));
  const invalid = slots.some((s) => slotError(s));

  async function save() {
    if (!saved) return;
    setBusy(true);
    setError(null);
    try {
      const ch = diffSchedules(saved, slots, { group_id: groupId ?? null, person_id: personId ?? null });
      for (const id of ch.remove) await api.deleteSchedule(id);
      for (const u of ch.update) await api.updateSchedule(u.id, u.patch);
      for (const c of ch.create) await api.createSchedule(c);
      setNote(t('common.saved'));
      setGen((g) => g + 1);
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(false);
    }
  }

  if (!saved && !error) return <Loading />;
  return (
    <div>
      <div className={styles.week}>
        {DAYS.map((d) => {
          const daySlots = slots.filter((s) => s.day_of_week === d);
          return (
            <section key={d} className={styles.day} aria-label={t(`groups.days.${d}`)}>
              <h3>{t(`groups.days.${d}`)}</h3>
              {daySlots.length === 0 && <p className="muted">{t('groups.noSlots')}</p>}
              {daySlots.map((s) => {
                const err = slotError(s);
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
                <button type="button" className="btn small" onClick={() => add(d)}>
                  + {t('groups.addSlot')}
                </button>
              )}
            </section>
          );
        })}
      </div>
      <ErrorMessage error={error} />
      {note && <p className="success">{note}</p>}
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
