// Per-person attendance summary over a date range (/reports/summary): days
// present, late, early leaves, absences, first entry, last exit and time on
// site (and the part of it outside the timetable), and a missing exit.
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { AttendanceFilter } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { formatDateTime, formatDuration } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading } from './common';
import { MissingExit } from './MissingExit';
import { LeaveCount } from './Leaves';

export function SummaryTable({ filter }: { filter: AttendanceFilter }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const { from, to, group_id, person_id } = filter;
  const rows = useLoad(() => api.summary({ from, to, group_id, person_id }), [from, to, group_id, person_id]);

  if (rows.error) return <ErrorMessage error={rows.error} onRetry={rows.reload} />;
  if (!rows.data) return <Loading />;
  return (
    <div className="table-wrap" tabIndex={0}>
      <table aria-label={t('attendance.summary')}>
        <thead>
          <tr>
            <th>{t('attendance.person')}</th>
            <th className="num">{t('attendance.present')}</th>
            <th className="num">{t('attendance.statuses.late')}</th>
            <th className="num">{t('attendance.statuses.early_leave')}</th>
            <th className="num">{t('attendance.absent')}</th>
            <th className="num">{t('leave.column')}</th>
            <th>{t('attendance.firstEntry')}</th>
            <th>{t('attendance.lastExit')}</th>
            <th className="num">{t('attendance.onSite')}</th>
            <th className="num">{t('attendance.outsideSlots')}</th>
          </tr>
        </thead>
        <tbody>
          {rows.data.items.map((r) => (
            <tr key={r.person_id}>
              <td>
                {r.name} <MissingExit count={r.missing_exits} />
              </td>
              <td className="num">{r.present}</td>
              <td className="num">{r.late}</td>
              <td className="num">{r.early_leave}</td>
              <td className="num">{r.absent}</td>
              <td className="num">{r.leave > 0 ? <LeaveCount row={r} /> : 0}</td>
              <td className="nowrap">{formatDateTime(r.first_entry, tz, lang)}</td>
              <td className="nowrap">{formatDateTime(r.last_exit, tz, lang)}</td>
              <td className="num">{formatDuration(r.time_on_site_s)}</td>
              <td className="num">{formatDuration(r.time_outside_slots_s)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {rows.data.items.length === 0 && <p className="empty">{t('common.empty')}</p>}
    </div>
  );
}
