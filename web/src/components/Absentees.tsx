// Who is missing on a day (today by default: "who is missing now"): people
// whose slot started more than its grace ago with no entry, per group and
// subject, from /attendance/absentees; the same list as a CSV download in
// the reader's language (Spanish: ';' and a BOM, as Spanish Excel expects).
// Shown on the dashboard and the attendance page (admins and managers; a
// manager limited to groups sees only theirs — the server filters).
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useSettings } from '../auth/SettingsContext';
import { dateIn, formatDate, formatTime } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading } from './common';
import styles from './Absentees.module.css';
import { GroupSelect } from './GroupSelect';

export function Absentees({ day, reloadKey = 0 }: { day?: string; reloadKey?: number }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const [groupId, setGroupId] = useState<number | undefined>(undefined);
  const q = { day, group_id: groupId };
  const list = useLoad(() => api.absentees(q), [day, groupId, reloadKey]);
  const now = !day || day === dateIn(tz);
  const title = now ? t('absentees.titleNow') : t('absentees.title', { day: formatDate(day, tz, i18n.resolvedLanguage ?? 'es') });

  return (
    <section className="card" aria-labelledby="absent-h">
      <div className={styles.head}>
        <h2 id="absent-h">{title}</h2>
        <div className={styles.tools}>
          <GroupSelect value={groupId} onChange={setGroupId} allLabel={t('absentees.allGroups')} hideLabel />
          <a className="btn" href={api.absenteesCsvUrl(q, i18n.resolvedLanguage ?? 'es')} download>
            {t('attendance.downloadCsv')}
          </a>
        </div>
      </div>
      <p className="muted">{now ? t('absentees.rule') : t('absentees.ruleDay')}</p>
      <ErrorMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.items.length === 0 && <p className="empty">{t('absentees.none')}</p>}
      {list.data && list.data.items.length > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table aria-label={title}>
            <thead>
              <tr>
                <th>{t('attendance.person')}</th>
                <th>{t('attendance.group')}</th>
                <th>{t('reports.subject')}</th>
                <th>{t('absentees.since')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((a) => (
                <tr key={`${a.person_id}-${a.start}`}>
                  <td>{a.name}</td>
                  <td>{a.group_name ?? t('common.none')}</td>
                  <td>{a.label || t('common.none')}</td>
                  <td className="nowrap">{formatTime(a.start, tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
