// Administration · settings: recognition and liveness thresholds, the
// de-duplication window, minimum stay, time zone, keeping unrecognized faces.
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { Settings } from '../../api/types';
import { useSettings } from '../../auth/SettingsContext';
import { useLoad } from '../../lib/useLoad';
import { ErrorMessage, Loading, PageHead } from '../../components/common';

function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC', 'Europe/Madrid'];
}

export function SettingsPage() {
  const { t } = useTranslation();
  const { reload } = useSettings();
  const loaded = useLoad(() => api.settings(), []);
  const [s, setS] = useState<Settings | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState(false);

  useEffect(() => setS(loaded.data), [loaded.data]);

  if (loaded.error) return <ErrorMessage error={loaded.error} onRetry={loaded.reload} />;
  if (!s) return <Loading />;
  const set = <K extends keyof Settings>(k: K, v: Settings[K]) => {
    setSaved(false);
    setS({ ...s, [k]: v });
  };
  const zones = timeZones();

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!s) return;
    setError(null);
    try {
      setS(
        await api.updateSettings({
          timezone: s.timezone,
          dedup_window_s: s.dedup_window_s,
          min_stay_s: s.min_stay_s,
          ...(s.slot_margin_min !== undefined ? { slot_margin_min: s.slot_margin_min } : {}),
          recognition_threshold: s.recognition_threshold,
          liveness_threshold: s.liveness_threshold,
          keep_unrecognized: s.keep_unrecognized,
          attendance_start_day: s.attendance_start_day || null,
        }),
      );
      setSaved(true);
      reload();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <>
      <PageHead title={t('settings.title')} />
      <form className="card" onSubmit={submit}>
        <div className="form-grid">
          <label className="field">
            <span>{t('settings.timezone')}</span>
            <select value={s.timezone} onChange={(e) => set('timezone', e.target.value)}>
              {!zones.includes(s.timezone) && <option value={s.timezone}>{s.timezone}</option>}
              {zones.map((z) => (
                <option key={z} value={z}>
                  {z}
                </option>
              ))}
            </select>
          </label>
          <label className="field">
            <span>{t('settings.recognition')}</span>
            <input
              type="number"
              min={0}
              max={1}
              step={0.01}
              value={s.recognition_threshold}
              onChange={(e) => set('recognition_threshold', Number(e.target.value))}
            />
          </label>
          <label className="field">
            <span>{t('settings.liveness')}</span>
            <input
              type="number"
              min={0}
              max={1}
              step={0.01}
              value={s.liveness_threshold}
              onChange={(e) => set('liveness_threshold', Number(e.target.value))}
            />
          </label>
          <label className="field">
            <span>{t('settings.dedup')}</span>
            <input
              type="number"
              min={0}
              step={1}
              value={s.dedup_window_s}
              onChange={(e) => set('dedup_window_s', Number(e.target.value))}
            />
          </label>
          <label className="field">
            <span>{t('settings.minStay')}</span>
            <input type="number" min={0} step={1} value={s.min_stay_s} onChange={(e) => set('min_stay_s', Number(e.target.value))} />
          </label>
          <label className="field">
            <span>{t('settings.startDay')}</span>
            <input
              type="date"
              value={s.attendance_start_day ?? ''}
              onChange={(e) => set('attendance_start_day', e.target.value || null)}
              aria-describedby="start-day-help"
            />
            <small id="start-day-help" className="muted">
              {t('settings.startDayHelp')}
            </small>
          </label>
          {s.slot_margin_min !== undefined && (
            <label className="field">
              <span>{t('settings.slotMargin')}</span>
              <input
                type="number"
                min={0}
                step={1}
                value={s.slot_margin_min}
                onChange={(e) => set('slot_margin_min', Number(e.target.value))}
              />
            </label>
          )}
          <label className="field check">
            <input type="checkbox" checked={!!s.keep_unrecognized} onChange={(e) => set('keep_unrecognized', e.target.checked)} />
            <span>{t('settings.keepUnrecognized')}</span>
          </label>
        </div>
        <ErrorMessage error={error} />
        {saved && (
          <p className="success" role="status">
            {t('common.saved')}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn primary">
            {t('common.save')}
          </button>
        </div>
      </form>
    </>
  );
}
