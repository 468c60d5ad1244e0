// A person's leave and justified absences (sick leave, vacation, personal
// leave, a doctor's note): the "Ausencias" section of the person page. A
// leave covers whole days, from..to inclusive, or part of one day (a
// doctor's appointment 09:00-11:00); the slots it covers are not absences in
// any report, send no absentee notice, and a person who comes anyway counts
// as attended. Edited in place; the server refuses an overlap with another
// leave.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Leave, LeaveKind, SummaryRow } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { formatDate } from '../lib/format';
import { clock, LEAVE_KINDS, leaveHours, minutes } from '../lib/leave';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { DataTable, ErrorMessage } from './common';
import styles from './Leaves.module.css';

export function LeaveBadge({ kind }: { kind: LeaveKind }) {
  const { t } = useTranslation();
  return <span className="badge leave">{t(`leave.kinds.${kind}`)}</span>;
}

/** A summary row's slots on leave, in the leave colour, its kinds named on
 * hover and for screen readers ("2: Baja médica 1, Vacaciones 1"). */
export function LeaveCount({ row }: { row: Pick<SummaryRow, 'leave' | 'leave_by_kind'> }) {
  const { t } = useTranslation();
  const kinds = LEAVE_KINDS.filter((k) => row.leave_by_kind[k] > 0)
    .map((k) => `${t(`leave.kinds.${k}`)} ${row.leave_by_kind[k]}`)
    .join(', ');
  return (
    <span className="badge leave" title={kinds} aria-label={`${row.leave}: ${kinds}`}>
      {row.leave}
    </span>
  );
}

type Draft = { kind: LeaveKind; from: string; to: string; note: string; part: boolean; start: string; end: string };

const draftOf = (l?: Leave): Draft => ({
  kind: l?.kind ?? 'sick',
  from: l?.from ?? '',
  to: l && l.to !== l.from ? l.to : '',
  note: l?.note ?? '',
  part: !!l && l.to_min != null,
  start: l?.from_min != null ? clock(l.from_min) : '09:00',
  end: l?.to_min != null ? clock(l.to_min % 1440) : '11:00',
});

/** The add form, and the same fields when a leave is edited in place. Part
 * of a day ("Solo unas horas") is one day: "Hasta" goes, the hours come. */
function LeaveForm({
  initial,
  label,
  submit,
  onSubmit,
  onCancel,
  className,
}: {
  initial: Draft;
  label: string;
  submit: string;
  onSubmit: (d: Draft) => Promise<boolean>;
  onCancel?: () => void;
  className?: string;
}) {
  const { t } = useTranslation();
  const [d, setD] = useState(initial);
  const set = (patch: Partial<Draft>) => setD((x) => ({ ...x, ...patch }));

  async function send(e: FormEvent) {
    e.preventDefault();
    if (await onSubmit(d)) setD(initial);
  }

  return (
    <form className={`filters ${className ?? ''}`} onSubmit={send} aria-label={label}>
      <label className="field">
        <span>{t('leave.kind')}</span>
        <select value={d.kind} onChange={(e) => set({ kind: e.target.value as LeaveKind })}>
          {LEAVE_KINDS.map((k) => (
            <option key={k} value={k}>
              {t(`leave.kinds.${k}`)}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>{t('leave.from')}</span>
        <input type="date" required value={d.from} onChange={(e) => set({ from: e.target.value })} />
      </label>
      {!d.part && (
        <label className="field">
          <span>{t('leave.to')}</span>
          <input type="date" min={d.from || undefined} value={d.to} onChange={(e) => set({ to: e.target.value })} />
        </label>
      )}
      <label className="field check">
        <input type="checkbox" checked={d.part} onChange={(e) => set({ part: e.target.checked })} />
        <span>{t('leave.part')}</span>
      </label>
      {d.part && (
        <>
          <label className="field">
            <span>{t('leave.start')}</span>
            <input type="time" required value={d.start} onChange={(e) => set({ start: e.target.value })} />
          </label>
          <label className="field">
            <span>{t('leave.end')}</span>
            <input type="time" required value={d.end} onChange={(e) => set({ end: e.target.value })} />
          </label>
        </>
      )}
      <label className="field">
        <span>{t('leave.note')}</span>
        <input maxLength={500} value={d.note} onChange={(e) => set({ note: e.target.value })} />
      </label>
      <button type="submit" className="btn primary">
        {submit}
      </button>
      {onCancel && (
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
      )}
    </form>
  );
}

/** A person's leaves; `editable` (admins and managers) adds the form, the
 * edit in place and the delete buttons, an auditor reads them. */
export function LeaveSection({ personId, editable }: { personId: number; editable: boolean }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const list = useLoad(() => api.personLeaves(personId), [personId]);
  const [editing, setEditing] = useState<number | null>(null);
  const action = useAction(list.reload);
  const hours = (d: Draft) =>
    d.part ? { from_min: minutes(d.start, false), to_min: minutes(d.end, true) } : { from_min: null, to_min: null };

  const add = (d: Draft) => {
    const { from_min, to_min } = hours(d);
    return action.run(() =>
      api.createLeave(personId, {
        kind: d.kind,
        from: d.from,
        ...(d.to && !d.part ? { to: d.to } : {}),
        ...(d.note.trim() ? { note: d.note.trim() } : {}),
        ...(from_min != null && to_min != null ? { from_min, to_min } : {}),
      }),
    );
  };
  const save = (id: number) => async (d: Draft) => {
    const ok = await action.run(() =>
      api.updateLeave(personId, id, { kind: d.kind, from: d.from, to: d.part || !d.to ? d.from : d.to, note: d.note.trim(), ...hours(d) }),
    );
    if (ok) setEditing(null);
    return ok;
  };
  const cols = editable ? 6 : 5;

  return (
    <section className={`card ${styles.card}`} aria-labelledby="leave-h">
      <h2 id="leave-h">{t('leave.title')}</h2>
      <p className="muted">{t('leave.intro')}</p>
      {editable && <LeaveForm initial={draftOf()} label={t('leave.add')} submit={t('leave.add')} onSubmit={add} />}
      <ErrorMessage error={action.error ?? list.error} onRetry={list.error ? list.reload : undefined} />
      {list.data && list.data.items.length === 0 && <p className="muted">{t('leave.none')}</p>}
      {list.data && list.data.items.length > 0 && (
        <DataTable
          items={list.data.items}
          loading={list.loading}
          label={t('leave.title')}
          head={
            <>
              <th>{t('leave.kind')}</th>
              <th>{t('leave.from')}</th>
              <th>{t('common.to')}</th>
              <th className="num">{t('leave.days')}</th>
              <th>{t('leave.note')}</th>
              {editable && <th className="num">{t('common.actions')}</th>}
            </>
          }
          row={(l) =>
            editing === l.id ? (
              <tr key={l.id} className={styles.editRow}>
                <td colSpan={cols} className={styles.editCell}>
                  <LeaveForm
                    className={styles.editForm}
                    initial={draftOf(l)}
                    label={t('leave.edit')}
                    submit={t('common.save')}
                    onSubmit={save(l.id)}
                    onCancel={() => {
                      setEditing(null);
                      action.setError(null);
                    }}
                  />
                </td>
              </tr>
            ) : (
              <tr key={l.id}>
                <td>
                  <LeaveBadge kind={l.kind} />
                </td>
                <td className="nowrap">{formatDate(l.from, tz, lang)}</td>
                <td className="nowrap">{formatDate(l.to, tz, lang)}</td>
                <td className="num nowrap">{leaveHours(l) || l.days}</td>
                <td>{l.note}</td>
                {editable && (
                  <td>
                    <div className="row-actions">
                      <button
                        type="button"
                        className="btn small"
                        aria-label={`${t('common.edit')} ${t(`leave.kinds.${l.kind}`)} ${l.from}`}
                        onClick={() => {
                          action.setError(null);
                          setEditing(l.id);
                        }}
                      >
                        {t('common.edit')}
                      </button>
                      <button
                        type="button"
                        className="btn small danger"
                        aria-label={`${t('common.delete')} ${t(`leave.kinds.${l.kind}`)} ${l.from}`}
                        onClick={() => void action.remove(`${t(`leave.kinds.${l.kind}`)} ${l.from}`, () => api.deleteLeave(personId, l.id))}
                      >
                        {t('common.delete')}
                      </button>
                    </div>
                  </td>
                )}
              </tr>
            )
          }
        />
      )}
    </section>
  );
}
