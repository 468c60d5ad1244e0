// Reports per group and subject ("my class, my subject, this month"): a date
// range, a group and a subject (the timetable's slot label) kept in the URL;
// the attendance rate per person, per group and per day as charts, the table
// per person (with slots on leave apart, by kind), and the same selection as
// CSV / XLSX in the reader's language.
// Figures come from /reports/groups: slots attended / (attended + absent),
// so slots still to come and days without slots count for nothing (never as
// 0 %).
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { ReportQuery } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { dateIn, formatDate, formatDuration, formatPercent } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import { DateRangeFields, ErrorMessage, Loading, PageHead } from '../components/common';
import { RateBars, RateLine } from '../components/charts';
import { GroupSelect } from '../components/GroupSelect';
import { LeaveCount } from '../components/Leaves';
import { useFilterParams } from '../lib/filterParams';
import styles from './Dashboard.module.css';
import { MissingExit } from '../components/MissingExit';

/** A subject is a slot label of the chosen group: a new group clears it. */
const SUBJECT_OF_GROUP = { group_id: ['label'] };

const pct = (r: number | null) => (r === null ? null : Math.round(r * 1000) / 10);

/** Whole minutes as payroll reads them: "0", "17 min", "1 h 30 min". */
const minutes = (m: number) => (m > 0 ? formatDuration(m * 60) : '0');

export function ReportsPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const [params, set] = useFilterParams(SUBJECT_OF_GROUP);
  const today = dateIn(tz);
  const q: ReportQuery = useMemo(
    () => ({
      from: params.get('from') ?? `${today.slice(0, 8)}01`,
      to: params.get('to') ?? today,
      group_id: Number(params.get('group_id')) > 0 ? Number(params.get('group_id')) : undefined,
      label: params.get('label') || undefined,
    }),
    [params, today],
  );
  const schedules = useLoad(() => api.schedules({ group_id: q.group_id }), [q.group_id]);
  const report = useLoad(() => api.reportGroups(q), [q]);
  const subjects = [...new Set((schedules.data?.items ?? []).map((s) => s.label).filter((l): l is string => !!l))].sort((a, b) =>
    a.localeCompare(b, lang),
  );

  const rep = report.data;
  const people = (rep?.people ?? []).map((p) => ({ name: p.name, rate: pct(p.rate) }));
  const byGroup = (rep?.groups ?? []).map((g) => ({ name: g.name, rate: pct(g.rate) }));
  const byDay = (rep?.days ?? []).flatMap((d) => (d.rate === null ? [] : [{ name: formatDate(d.date, tz, lang), rate: pct(d.rate) }]));

  return (
    <>
      <PageHead title={t('reports.title')}>
        <a className="btn" href={api.exportUrl('csv', q, lang)} download>
          {t('attendance.downloadCsv')}
        </a>
        <a className="btn" href={api.exportUrl('xlsx', q, lang)} download>
          {t('attendance.downloadXlsx')}
        </a>
      </PageHead>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()} aria-label={t('common.filter')}>
        <DateRangeFields from={q.from} to={q.to} onChange={set} />
        <GroupSelect value={q.group_id} onChange={(id) => set('group_id', id ? String(id) : '')} />
        <label className="field">
          <span>{t('reports.subject')}</span>
          <select value={q.label ?? ''} onChange={(e) => set('label', e.target.value)}>
            <option value="">{t('reports.allSubjects')}</option>
            {subjects.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
      </form>
      <p className="muted">{t('reports.rule')}</p>
      <p className="muted" data-testid="leave-legend">
        <span className="badge leave">{t('leave.column')}</span> {t('leave.legend')}
      </p>
      <ErrorMessage error={report.error} onRetry={report.reload} />
      {report.loading && !rep && <Loading />}
      {rep && rep.people.length === 0 && <p className="empty">{t('common.empty')}</p>}
      {rep && rep.people.length > 0 && (
        <>
          <div className={styles.grid}>
            <section className="card" aria-labelledby="rp-h">
              <h2 id="rp-h">{t('reports.byPerson')}</h2>
              <div className={styles.chart} style={{ height: Math.max(200, people.length * 28 + 40) }}>
                <RateBars data={people} horizontal fill="#1d4e89" />
              </div>
            </section>
            <section className="card" aria-labelledby="rg-h">
              <h2 id="rg-h">{t('reports.byGroup')}</h2>
              <div className={styles.chart}>
                <RateBars data={byGroup} fill="#2f7d4f" />
              </div>
            </section>
          </div>
          <section className="card" aria-labelledby="rd-h">
            <h2 id="rd-h">{t('dashboard.rate')}</h2>
            {byDay.length === 0 && <p className="empty">{t('common.empty')}</p>}
            {byDay.length > 0 && (
              <div className={styles.chart}>
                <RateLine data={byDay} />
              </div>
            )}
          </section>
          <section aria-labelledby="rt-h">
            <h2 id="rt-h">{t('reports.totals')}</h2>
            <div className={styles.totals}>
              {(
                [
                  ['minutes_late', 'reports.minutesLate', styles.late],
                  ['minutes_early_leave', 'reports.minutesEarlyLeave', styles.absent],
                  ['overtime_minutes', 'reports.overtime', styles.present],
                ] as const
              ).map(([k, label, tone]) => (
                <div key={k} className={`${styles.count} ${tone}`} data-testid={`total-${k}`}>
                  <span className={styles.value}>{minutes(rep.totals[k])}</span>
                  <span className={styles.label}>{t(label)}</span>
                </div>
              ))}
            </div>
            <p className="muted">{t('reports.payrollRule')}</p>
          </section>
          <div className="table-wrap" tabIndex={0}>
            <table aria-label={t('reports.byPerson')}>
              <thead>
                <tr>
                  <th>{t('attendance.person')}</th>
                  <th className="num">{t('reports.slots')}</th>
                  <th className="num">{t('reports.attended')}</th>
                  <th className="num">{t('attendance.statuses.late')}</th>
                  <th className="num">{t('attendance.statuses.early_leave')}</th>
                  <th className="num">{t('attendance.absent')}</th>
                  <th className="num">{t('leave.column')}</th>
                  <th className="num">{t('reports.rate')}</th>
                  <th className="num">{t('reports.minutesLate')}</th>
                  <th className="num">{t('reports.minutesEarlyLeave')}</th>
                  <th className="num">{t('reports.overtime')}</th>
                </tr>
              </thead>
              <tbody>
                {rep.people.map((p) => (
                  <tr key={p.person_id}>
                    <td>
                      {p.name} <MissingExit count={p.missing_exits} />
                    </td>
                    <td className="num">{p.slots}</td>
                    <td className="num">{p.present}</td>
                    <td className="num">{p.late}</td>
                    <td className="num">{p.early_leave}</td>
                    <td className="num">{p.absent}</td>
                    <td className="num">{p.leave > 0 ? <LeaveCount row={p} /> : 0}</td>
                    <td className="num">{p.rate === null ? t('common.none') : formatPercent(p.rate, lang)}</td>
                    <td className="num nowrap">{minutes(p.minutes_late)}</td>
                    <td className="num nowrap">{minutes(p.minutes_early_leave)}</td>
                    <td className="num nowrap">{minutes(p.overtime_minutes)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </>
  );
}
