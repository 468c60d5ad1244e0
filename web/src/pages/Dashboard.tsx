// Dashboard: today's figures (present, late, absent, still to come, expected —
// people, the same computation as the chart's day), attendance rate per day
// over a chosen range (chart; days without slots or with nobody judged yet
// are not plotted), who is missing now, late arrivals per group, and a live
// feed of the latest events from the server-sent event stream. A dashboard
// left on a wall screen stays true by itself: it refreshes every minute
// (absences appear as slots pass their start + grace, with nobody arriving;
// the day turns at midnight) and when the live stream comes back after a
// break (a server restart: the events missed meanwhile).
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api } from '../api/client';
import { useSettings } from '../auth/SettingsContext';
import { addDays, dateIn, formatDate, formatPercent, formatTimeOrDate } from '../lib/format';
import { feedItem, pushFeed, type FeedItem } from '../lib/events';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading, PageHead, StatusBadge, TypeBadge } from '../components/common';
import { Absentees } from '../components/Absentees';
import { FirstSteps } from '../components/FirstSteps';
import { useAuth } from '../auth/AuthContext';
import { RateLine } from '../components/charts';
import styles from './Dashboard.module.css';

const RANGES = [7, 14, 30];
const REFRESH_MS = 60000;
const STREAM_RETRY_MS = 10000;

export function DashboardPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const { user } = useAuth();
  const [days, setDays] = useState(14);
  const today = dateIn(tz);
  const dash = useLoad(() => api.dashboard(), []);
  const daily = useLoad(() => api.daily({ from: addDays(today, -(days - 1)), to: today }), [days, today]);
  const [feed, setFeed] = useState<FeedItem[]>([]);
  const [live, setLive] = useState<'connecting' | 'open' | 'closed'>('connecting');
  const [changes, setChanges] = useState(0);
  // Bumped to open the live stream again after the browser gave it up.
  const [stream, setStream] = useState(0);
  const { reload: reloadDash } = dash;
  const { reload: reloadDaily } = daily;
  const refresh = useCallback(() => {
    reloadDash();
    reloadDaily();
    setChanges((n) => n + 1);
  }, [reloadDash, reloadDaily]);
  const refreshRef = useRef(refresh);
  refreshRef.current = refresh;
  useEffect(() => {
    const timer = window.setInterval(() => refreshRef.current(), REFRESH_MS);
    return () => window.clearInterval(timer);
  }, []);

  useEffect(() => {
    if (dash.data) setFeed(dash.data.recent.map((e) => ({ kind: 'attendance' as const, key: `a${e.id}`, event: e })));
  }, [dash.data]);

  useEffect(() => {
    const es = new EventSource(api.eventsUrl());
    let seq = 0;
    const on = (type: string) => (m: MessageEvent<string>) => {
      const item = feedItem(type, m.data, ++seq);
      if (!item) return;
      setFeed((f) => pushFeed(f, item));
      if (type === 'attendance') {
        dash.reload();
        setChanges((n) => n + 1);
      }
    };
    const onAttendance = on('attendance');
    const onRecognition = on('recognition');
    es.addEventListener('attendance', onAttendance);
    es.addEventListener('recognition', onRecognition);
    let broken = stream > 0; // a stream opened again: something was missed
    es.onopen = () => {
      setLive('open');
      if (broken) refreshRef.current(); // back after a break: what was missed
      broken = false;
    };
    let retry: number | undefined;
    es.onerror = () => {
      broken = true;
      const closed = es.readyState === EventSource.CLOSED;
      setLive(closed ? 'closed' : 'connecting');
      // The browser retries by itself unless the server answered with an
      // error (e.g. while it starts): then open a new stream a bit later.
      if (closed && retry === undefined) retry = window.setTimeout(() => setStream((n) => n + 1), STREAM_RETRY_MS);
    };
    return () => {
      window.clearTimeout(retry);
      es.close();
    };
    // dash.reload is stable.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [stream]);

  // A day nobody was judged on yet (only slots still to come) has no rate.
  const chartData = (daily.data?.items ?? []).flatMap((d) =>
    d.rate === null ? [] : [{ name: formatDate(d.date, tz, lang), rate: Math.round(d.rate * 1000) / 10 }],
  );
  const counts = dash.data?.today;
  const lateByGroup = (dash.data?.late_by_group ?? []).filter((g) => g.late > 0);

  return (
    <>
      <PageHead title={t('dashboard.title')} />
      {user?.role === 'admin' && <FirstSteps />}
      <ErrorMessage error={dash.error} onRetry={dash.reload} />
      <div className={styles.counts}>
        {(['present', 'late', 'absent', 'leave', 'pending', 'expected'] as const).map((k) => (
          <div key={k} className={`${styles.count} ${styles[k]}`}>
            <span className={styles.value}>{counts ? counts[k] : '…'}</span>
            <span className={styles.label}>{t(`dashboard.${k}`)}</span>
          </div>
        ))}
      </div>

      {counts && counts.rate !== null && (
        <p className="muted" data-testid="today-rate">
          {t('dashboard.todayRate', { rate: formatPercent(counts.rate, lang) })}
        </p>
      )}

      <Absentees reloadKey={changes} />

      <div className={styles.grid}>
        <section className="card" aria-labelledby="rate-h">
          <div className={styles.cardHead}>
            <h2 id="rate-h">{t('dashboard.rate')}</h2>
            <label className="field">
              <span className="sr-only">{t('dashboard.days')}</span>
              <select value={days} onChange={(e) => setDays(Number(e.target.value))} aria-label={t('dashboard.days')}>
                {RANGES.map((r) => (
                  <option key={r} value={r}>
                    {r} {t('dashboard.days').toLowerCase()}
                  </option>
                ))}
              </select>
            </label>
          </div>
          <ErrorMessage error={daily.error} onRetry={daily.reload} />
          {daily.loading && !daily.data && <Loading />}
          {daily.data && chartData.length === 0 && <p className="empty">{t('common.empty')}</p>}
          {chartData.length > 0 && (
            <div className={styles.chart}>
              <RateLine data={chartData} />
            </div>
          )}
        </section>

        <section className="card" aria-labelledby="late-h">
          <h2 id="late-h">{t('dashboard.lateByGroup')}</h2>
          {dash.data && lateByGroup.length === 0 && <p className="empty">{t('common.empty')}</p>}
          {lateByGroup.length > 0 && (
            <div className={styles.chart}>
              <ResponsiveContainer width="100%" height="100%">
                <BarChart data={lateByGroup} margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                  <CartesianGrid strokeDasharray="3 3" stroke="#e3e8ee" />
                  <XAxis dataKey="name" fontSize={12} />
                  <YAxis allowDecimals={false} fontSize={12} />
                  <Tooltip />
                  <Bar isAnimationActive={false} dataKey="late" name={t('dashboard.late')} fill="#d98a00" />
                </BarChart>
              </ResponsiveContainer>
            </div>
          )}
        </section>
      </div>

      <section className="card" aria-labelledby="live-h">
        <div className={styles.cardHead}>
          <h2 id="live-h">{t('dashboard.live')}</h2>
          <span className={`badge ${live === 'open' ? 'ok' : live === 'closed' ? 'bad' : 'warn'}`} role="status">
            {t(`dashboard.liveState.${live}`)}
          </span>
        </div>
        {feed.length === 0 && <p className="muted">{t('dashboard.noEvents')}</p>}
        <ul className={styles.feed} aria-live="polite">
          {feed.map((f) =>
            f.kind === 'attendance' ? (
              <li key={f.key}>
                <time>{formatTimeOrDate(f.event.time, tz, i18n.language, today)}</time>
                <strong>{f.event.person_name}</strong>
                <TypeBadge type={f.event.type} />
                <StatusBadge status={f.event.status} />
                <span className="muted">{f.event.camera_name ?? ''}</span>
              </li>
            ) : (
              <li key={f.key}>
                <time>{formatTimeOrDate(f.time, tz, i18n.language, today)}</time>
                <span className="badge bad">{t('dashboard.unknownFace')}</span>
                <span className="muted">{f.camera ?? ''}</span>
              </li>
            ),
          )}
        </ul>
      </section>
    </>
  );
}
