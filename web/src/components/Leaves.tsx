// A person's leave and justified absences (sick leave, vacation, personal
// leave, a doctor's note): the "Ausencias" section of the person page. Each
// leave covers whole days, from..to inclusive; their slots are not absences
// in any report, send no absentee notice, and a person who comes anyway
// counts as attended. The server refuses an overlap with another leave.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { LeaveKind, SummaryRow } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { formatDate } from '../lib/format';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { DataTable, ErrorMessage } from './common';

export const LEAVE_KINDS: LeaveKind[] = ['sick', 'vacation', 'personal', 'justified', 'other'];

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

/** A person's leaves; `editable` (admins and managers) adds the form and
 * the delete buttons, an auditor reads them. */
export function LeaveSection({ personId, editable }: { personId: number; editable: boolean }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const list = useLoad(() => api.personLeaves(personId), [personId]);
  const [kind, setKind] = useState<LeaveKind>('sick');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [note, setNote] = useState('');
  const action = useAction(list.reload);

  async function add(e: FormEvent) {
    e.preventDefault();
    const body = { kind, from, ...(to ? { to } : {}), ...(note.trim() ? { note: note.trim() } : {}) };
    if (!(await action.run(() => api.createLeave(personId, body)))) return;
    setFrom('');
    setTo('');
    setNote('');
  }

  return (
    <section className="card" aria-labelledby="leave-h">
      <h2 id="leave-h">{t('leave.title')}</h2>
      <p className="muted">{t('leave.intro')}</p>
      {editable && (
        <form className="filters" onSubmit={add} aria-label={t('leave.add')}>
          <label className="field">
            <span>{t('leave.kind')}</span>
            <select value={kind} onChange={(e) => setKind(e.target.value as LeaveKind)}>
              {LEAVE_KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`leave.kinds.${k}`)}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{t('leave.from')}</span>
            <input type="date" required value={from} onChange={(e) => setFrom(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('leave.to')}</span>
            <input type="date" min={from || undefined} value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('leave.note')}</span>
            <input maxLength={500} value={note} onChange={(e) => setNote(e.target.value)} />
          </label>
          <button type="submit" className="btn primary">
            {t('leave.add')}
          </button>
        </form>
      )}
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
          row={(l) => (
            <tr key={l.id}>
              <td>
                <LeaveBadge kind={l.kind} />
              </td>
              <td className="nowrap">{formatDate(l.from, tz, lang)}</td>
              <td className="nowrap">{formatDate(l.to, tz, lang)}</td>
              <td className="num">{l.days}</td>
              <td>{l.note}</td>
              {editable && (
                <td>
                  <div className="row-actions">
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
          )}
        />
      )}
    </section>
  );
}
