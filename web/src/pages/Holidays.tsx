// Holidays: days without classes (nobody is marked absent or late), one day
// or a range of them (Christmas, summer: one holiday a day). A
// holiday concerns every group, so a manager limited to groups reads the list
// and is told who adds them, instead of forms the server always refuses.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { formatDate } from '../lib/format';
import { canChange, limitedToGroups } from '../lib/roles';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { DataTable, ErrorMessage, PageHead } from '../components/common';

export function HolidaysPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user } = useAuth();
  const readOnly = !canChange(user?.role); // an auditor: the list, nothing to change
  const limited = limitedToGroups(user) || readOnly;
  const list = useLoad(() => api.holidays(), []);
  const [date, setDate] = useState('');
  // The last day of a range (Christmas, summer); empty for one day.
  const [to, setTo] = useState('');
  const [name, setName] = useState('');
  const action = useAction(list.reload);

  async function add(e: FormEvent) {
    e.preventDefault();
    if (!(await action.run(() => api.createHoliday({ date, ...(to ? { to } : {}), name: name.trim() })))) return;
    setDate('');
    setTo('');
    setName('');
  }

  const items = list.data && [...list.data.items].sort((a, b) => a.date.localeCompare(b.date));
  return (
    <>
      <PageHead title={t('holidays.title')} />
      {limited && !readOnly && <p className="muted">{t('holidays.limited')}</p>}
      {!limited && (
        <form className="card filters" onSubmit={add}>
          <label className="field">
            <span>{t('holidays.from')}</span>
            <input type="date" required value={date} onChange={(e) => setDate(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('holidays.to')}</span>
            <input type="date" min={date || undefined} value={to} onChange={(e) => setTo(e.target.value)} />
          </label>
          <label className="field">
            <span>{t('common.name')}</span>
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <button type="submit" className="btn primary">
            {t('holidays.new')}
          </button>
        </form>
      )}
      <ErrorMessage error={action.error ?? list.error} onRetry={list.error ? list.reload : undefined} />
      <DataTable
        items={items}
        loading={list.loading}
        head={
          <>
            <th>{t('common.date')}</th>
            <th>{t('common.name')}</th>
            {!limited && <th className="num">{t('common.actions')}</th>}
          </>
        }
        row={(h) => (
          <tr key={h.id}>
            <td>{formatDate(h.date, tz, i18n.resolvedLanguage ?? 'es')}</td>
            <td>{h.name}</td>
            {!limited && (
              <td>
                <div className="row-actions">
                  <button
                    type="button"
                    className="btn small danger"
                    onClick={() => void action.remove(h.name, () => api.deleteHoliday(h.id))}
                  >
                    {t('common.delete')}
                  </button>
                </div>
              </td>
            )}
          </tr>
        )}
      />
    </>
  );
}
