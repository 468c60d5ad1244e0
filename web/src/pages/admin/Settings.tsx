// Administration · settings: the institution's name and logo and the kiosk
// PIN (what the kiosk shows and what leaving it takes), the attendance rules
// (time zone — with the zone in effect when none is set —, de-duplication
// window, minimum stay, slot margin) and recognition (thresholds, keeping
// unrecognized faces), self check-in (on/off, window, networks) and
// self-registration. Each setting has a short help line.
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
  const { reload, tz } = useSettings();
  const loaded = useLoad(() => api.settings(), []);
  const [s, setS] = useState<Settings | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [saved, setSaved] = useState(false);
  // The new kiosk PIN as typed ("" leaves it as it is); removing is explicit.
  const [pin, setPin] = useState('');
  const [removePin, setRemovePin] = useState(false);

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
          ...(s.timezone ? { timezone: s.timezone } : {}), // unset: the server's zone
          dedup_window_s: s.dedup_window_s,
          min_stay_s: s.min_stay_s,
          ...(s.slot_margin_min !== undefined ? { slot_margin_min: s.slot_margin_min } : {}),
          recognition_threshold: s.recognition_threshold,
          liveness_threshold: s.liveness_threshold,
          keep_unrecognized: s.keep_unrecognized,
          ...(s.unrecognized_retention_days !== undefined ? { unrecognized_retention_days: s.unrecognized_retention_days } : {}),
          institution_name: s.institution_name ?? '',
          institution_logo_url: s.institution_logo_url ?? '',
          ...(pin ? { kiosk_pin: pin } : removePin ? { kiosk_pin: '' } : {}),
          attendance_start_day: s.attendance_start_day || null,
          ...(s.self_checkin_enabled !== undefined ? { self_checkin_enabled: s.self_checkin_enabled } : {}),
          ...(s.self_checkin_window_min !== undefined ? { self_checkin_window_min: s.self_checkin_window_min } : {}),
          ...(s.self_checkin_networks !== undefined ? { self_checkin_networks: s.self_checkin_networks } : {}),
          ...(s.self_registration_enabled !== undefined ? { self_registration_enabled: s.self_registration_enabled } : {}),
        }),
      );
      setPin('');
      setRemovePin(false);
      setSaved(true);
      reload();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <>
      <PageHead title={t('settings.title')} />
      <form onSubmit={submit}>
        <fieldset className="card">
          <legend>{t('settings.kiosk')}</legend>
          <div className="form-grid">
            <label className="field">
              <span>{t('settings.institution')}</span>
              <input value={s.institution_name ?? ''} maxLength={127} onChange={(e) => set('institution_name', e.target.value)} />
              <small className="help">{t('settings.help.institution')}</small>
            </label>
            <label className="field">
              <span>{t('settings.logo')}</span>
              <input
                type="url"
                className="wrap-anywhere"
                value={s.institution_logo_url ?? ''}
                onChange={(e) => set('institution_logo_url', e.target.value)}
              />
              <small className="help">{t('settings.help.logo')}</small>
            </label>
            <label className="field">
              <span>{t('settings.kioskPin')}</span>
              <input
                type="password"
                inputMode="numeric"
                autoComplete="new-password"
                pattern="[0-9]{4,12}"
                value={pin}
                onChange={(e) => {
                  setSaved(false);
                  setPin(e.target.value);
                }}
              />
              <small className="help">
                {s.kiosk_pin_set ? t('settings.kioskPinSet') : t('settings.kioskPinNone')} {t('settings.help.kioskPin')}
              </small>
            </label>
            {s.kiosk_pin_set && (
              <label className="field check">
                <input type="checkbox" checked={removePin} onChange={(e) => setRemovePin(e.target.checked)} />
                <span>{t('settings.kioskPinRemove')}</span>
              </label>
            )}
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>{t('settings.rules')}</legend>
          <div className="form-grid">
            <label className="field">
              <span>{t('settings.timezone')}</span>
              <select value={s.timezone} onChange={(e) => set('timezone', e.target.value)}>
                {!s.timezone && <option value="">{t('settings.systemZone', { tz: s.timezone_in_effect ?? tz })}</option>}
                {s.timezone && !zones.includes(s.timezone) && <option value={s.timezone}>{s.timezone}</option>}
                {zones.map((z) => (
                  <option key={z} value={z}>
                    {z}
                  </option>
                ))}
              </select>
              <small className="help">
                {t('settings.help.timezone')} {t('settings.help.effective', { tz: s.timezone || s.timezone_in_effect || tz })}
              </small>
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
              <small className="help">{t('settings.help.dedup')}</small>
            </label>
            <label className="field">
              <span>{t('settings.minStay')}</span>
              <input type="number" min={0} step={1} value={s.min_stay_s} onChange={(e) => set('min_stay_s', Number(e.target.value))} />
              <small className="help">{t('settings.help.minStay')}</small>
            </label>
            <label className="field">
              <span>{t('settings.startDay')}</span>
              <input
                type="date"
                value={s.attendance_start_day ?? ''}
                onChange={(e) => set('attendance_start_day', e.target.value || null)}
              />
              <small className="help">{t('settings.startDayHelp')}</small>
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
                <small className="help">{t('settings.help.slotMargin')}</small>
              </label>
            )}
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>{t('settings.recognitionSection')}</legend>
          <div className="form-grid">
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
              <small className="help">{t('settings.help.recognition')}</small>
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
              <small className="help">{t('settings.help.liveness')}</small>
            </label>
            <label className="field check">
              <input type="checkbox" checked={!!s.keep_unrecognized} onChange={(e) => set('keep_unrecognized', e.target.checked)} />
              <span>
                {t('settings.keepUnrecognized')}
                <small className="help">{t('settings.help.keepUnrecognized')}</small>
              </span>
            </label>
            <label className="field">
              <span>{t('settings.retentionDays')}</span>
              <input
                type="number"
                min={0}
                max={3650}
                step={1}
                value={s.unrecognized_retention_days ?? 30}
                onChange={(e) => set('unrecognized_retention_days', Number(e.target.value))}
              />
              <small className="help">{t('settings.help.retentionDays')}</small>
            </label>
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>{t('settings.selfSection')}</legend>
          <div className="form-grid">
            <label className="field check">
              <input
                type="checkbox"
                checked={s.self_checkin_enabled ?? true}
                onChange={(e) => set('self_checkin_enabled', e.target.checked)}
              />
              <span>
                {t('settings.selfEnabled')}
                <small className="help">{t('settings.selfHelp.enabled')}</small>
              </span>
            </label>
            <label className="field">
              <span>{t('settings.selfWindow')}</span>
              <input
                type="number"
                min={0}
                max={720}
                step={1}
                value={s.self_checkin_window_min ?? 15}
                onChange={(e) => set('self_checkin_window_min', Number(e.target.value))}
              />
              <small className="help">{t('settings.selfHelp.window')}</small>
            </label>
            <label className="field">
              <span>{t('settings.selfNetworks')}</span>
              <input
                className="wrap-anywhere"
                value={s.self_checkin_networks ?? ''}
                maxLength={1000}
                placeholder="192.168.1.0/24, 2001:db8::/32"
                onChange={(e) => set('self_checkin_networks', e.target.value)}
              />
              <small className="help">{t('settings.selfHelp.networks')}</small>
            </label>
            <label className="field check">
              <input
                type="checkbox"
                checked={!!s.self_registration_enabled}
                onChange={(e) => set('self_registration_enabled', e.target.checked)}
              />
              <span>
                {t('settings.selfRegistration')}
                <small className="help">{t('settings.selfHelp.registration')}</small>
              </span>
            </label>
          </div>
        </fieldset>
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
