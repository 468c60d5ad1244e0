// Administration · settings: the institution's name and logo and the kiosk
// PIN (what the kiosk shows and what leaving it takes), the attendance rules
// (time zone — with the zone in effect when none is set —, de-duplication
// window, minimum stay, slot margin, how presence is counted: by day or by
// slot) and recognition (thresholds, keeping
// unrecognized faces), self check-in (on/off, window, networks) and
// self-registration. Each setting has a short help line.
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { PresenceMode, Settings } from '../../api/types';
import { useSettings } from '../../auth/SettingsContext';
import { useLoad } from '../../lib/useLoad';
import { ErrorMessage, Loading, PageHead } from '../../components/common';

function timeZones(): string[] {
  const intl = Intl as unknown as { supportedValuesOf?: (k: string) => string[] };
  return intl.supportedValuesOf ? intl.supportedValuesOf('timeZone') : ['UTC', 'Europe/Madrid'];
}

const PRESENCE_MODES: PresenceMode[] = ['day', 'slot'];

type NumericKey =
  | 'dedup_window_s'
  | 'min_stay_s'
  | 'slot_margin_min'
  | 'recognition_threshold'
  | 'liveness_threshold'
  | 'unrecognized_retention_days'
  | 'self_checkin_window_min';

// One number setting: its label, the input (bounds as the server checks
// them) and its help line.
function NumberField(props: {
  label: string;
  help: string;
  value: number | undefined;
  fallback?: number;
  min?: number;
  max?: number;
  step?: number;
  onChange: (v: number) => void;
}) {
  const { label, help, value, fallback, min = 0, max, step = 1, onChange } = props;
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        min={min}
        max={max}
        step={step}
        value={value ?? fallback ?? ''}
        onChange={(e) => onChange(Number(e.target.value))}
      />
      <small className="help">{help}</small>
    </label>
  );
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
  const num = (k: NumericKey, label: string, help: string, more: { max?: number; step?: number; fallback?: number } = {}) => (
    <NumberField label={t(label)} help={t(help)} value={s[k] as number | undefined} onChange={(v) => set(k, v)} {...more} />
  );
  const zones = timeZones();
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

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
          ...(s.presence_mode ? { presence_mode: s.presence_mode } : {}),
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
              {/* A fresh install runs in the server's zone (often UTC): the
                  zone of the browser in use is offered in one click. */}
              {!s.timezone && browserZone && browserZone !== (s.timezone_in_effect ?? tz) && zones.includes(browserZone) && (
                <button type="button" className="btn small" onClick={() => set('timezone', browserZone)}>
                  {t('settings.useBrowserZone', { tz: browserZone })}
                </button>
              )}
            </label>
            {num('dedup_window_s', 'settings.dedup', 'settings.help.dedup')}
            {num('min_stay_s', 'settings.minStay', 'settings.help.minStay')}
            <label className="field">
              <span>{t('settings.startDay')}</span>
              <input
                type="date"
                value={s.attendance_start_day ?? ''}
                onChange={(e) => set('attendance_start_day', e.target.value || null)}
              />
              <small className="help">{t('settings.startDayHelp')}</small>
            </label>
            <label className="field">
              <span>{t('settings.presenceMode')}</span>
              <select value={s.presence_mode ?? 'day'} onChange={(e) => set('presence_mode', e.target.value as PresenceMode)}>
                {PRESENCE_MODES.map((m) => (
                  <option key={m} value={m}>
                    {t(`settings.presenceModes.${m}`)}
                  </option>
                ))}
              </select>
              <small className="help">{t('settings.presenceHelp')}</small>
            </label>
            {s.slot_margin_min !== undefined && num('slot_margin_min', 'settings.slotMargin', 'settings.help.slotMargin')}
          </div>
        </fieldset>
        <fieldset className="card">
          <legend>{t('settings.recognitionSection')}</legend>
          <div className="form-grid">
            {num('recognition_threshold', 'settings.recognition', 'settings.help.recognition', { max: 1, step: 0.01 })}
            {num('liveness_threshold', 'settings.liveness', 'settings.help.liveness', { max: 1, step: 0.01 })}
            <label className="field check">
              <input type="checkbox" checked={!!s.keep_unrecognized} onChange={(e) => set('keep_unrecognized', e.target.checked)} />
              <span>
                {t('settings.keepUnrecognized')}
                <small className="help">{t('settings.help.keepUnrecognized')}</small>
              </span>
            </label>
            {num('unrecognized_retention_days', 'settings.retentionDays', 'settings.help.retentionDays', { max: 3650, fallback: 30 })}
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
            {num('self_checkin_window_min', 'settings.selfWindow', 'settings.selfHelp.window', { max: 720, fallback: 15 })}
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
