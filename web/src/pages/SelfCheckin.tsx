// A member's own check-in from their phone ("Registrar mi asistencia"): the
// page says where they stand (linked, slot now, already marked, network),
// opens the front camera, takes a short capture and sends it; the server
// verifies it 1:1 against their own enrolled faces with liveness and
// answers with the event or a reason code, shown in the user's language.
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { SelfCheckinResult, SelfStatus } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { ErrorMessage, Loading, PageHead, StatusBadge, useErrorText } from '../components/common';
import { captureFrames } from '../lib/capture';
import { formatTime } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import styles from './SelfCheckin.module.css';

const FRAMES = 3; // between the server's min (2) and max (5)
const GAP_MS = 350;
const MAX_W = 640;

/** Why the capture cannot start now, as a translation key and values; null when it can. */
function blocker(s: SelfStatus, tz: string): { key: string; vars?: Record<string, unknown> } | null {
  if (!s.linked) return { key: 'selfCheckin.notLinked' };
  if (!s.enabled) return { key: 'errors.disabled' };
  if (!s.face_count) return { key: 'errors.no_enrolled_faces' };
  if (!s.network_allowed) return { key: 'errors.network_not_allowed', vars: { ip: s.ip ?? '' } };
  if (!s.slot) return { key: 'selfCheckin.noSlot', vars: { window: s.window_min } };
  if (s.already_marked && s.entry) return { key: 'selfCheckin.alreadyMarked', vars: { time: formatTime(s.entry.time, tz) } };
  return null;
}

export function SelfCheckinPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const errorText = useErrorText();
  const status = useLoad(() => api.selfStatus(), []);
  const videoRef = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [phase, setPhase] = useState<'idle' | 'capturing' | 'checking'>('idle');
  const [result, setResult] = useState<SelfCheckinResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const v = videoRef.current;
    if (v && stream) {
      v.srcObject = stream;
      void v.play().catch(() => undefined);
    }
    return () => stream?.getTracks().forEach((tr) => tr.stop());
  }, [stream]);

  if (status.error) return <ErrorMessage error={status.error} onRetry={status.reload} />;
  if (!status.data) return <Loading />;
  const s = status.data;
  const block = result ? null : blocker(s, tz);

  async function openCamera() {
    setError(null);
    try {
      setStream(await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'user', width: { ideal: 1280 } }, audio: false }));
    } catch (e) {
      setError(t('selfCheckin.cameraError', { message: e instanceof Error ? e.message : String(e) }));
    }
  }

  async function checkIn() {
    const v = videoRef.current;
    if (!v) return;
    setError(null);
    setPhase('capturing');
    try {
      const frames = await captureFrames(v, FRAMES, GAP_MS, MAX_W);
      setPhase('checking');
      const r = await api.selfCheckin(frames);
      setResult(r);
      stream?.getTracks().forEach((tr) => tr.stop());
      setStream(null);
      status.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setPhase('idle');
    }
  }

  const slot = s.slot;
  return (
    <>
      <PageHead title={t('selfCheckin.title')} />
      <section className={`card ${styles.panel}`} aria-labelledby="self-who">
        {s.person && (
          <h2 id="self-who" className={styles.who}>
            {s.person.name}
          </h2>
        )}
        {slot && slot.start && slot.end && (
          <p className={styles.slot}>
            {slot.label
              ? t('selfCheckin.slot', { label: slot.label, start: formatTime(slot.start, tz), end: formatTime(slot.end, tz) })
              : t('selfCheckin.slotNoLabel', { start: formatTime(slot.start, tz), end: formatTime(slot.end, tz) })}
          </p>
        )}
        {result ? (
          <div className={`${styles.done}`} role="status" data-testid="self-result">
            <p className={styles.big}>
              ✓{' '}
              {t('selfCheckin.done', {
                type: t(`attendance.types.${result.event.type}`),
                time: formatTime(result.event.time, tz),
              })}
            </p>
            <StatusBadge status={result.event.status} />
          </div>
        ) : block ? (
          <p className={styles.blocked} role="status" data-testid="self-blocked">
            {t(block.key, block.vars)}
          </p>
        ) : (
          <>
            <p className="muted">{t('selfCheckin.intro', { n: FRAMES })}</p>
            {!stream ? (
              <button type="button" className="btn primary wide" onClick={() => void openCamera()}>
                {t('selfCheckin.openCamera')}
              </button>
            ) : (
              <>
                <div className={styles.preview}>
                  <video ref={videoRef} autoPlay muted playsInline aria-label={t('selfCheckin.camera')} />
                  <div className={styles.oval} aria-hidden="true" />
                </div>
                <button type="button" className="btn primary wide" disabled={phase !== 'idle'} onClick={() => void checkIn()}>
                  {phase === 'capturing'
                    ? t('selfCheckin.capturing')
                    : phase === 'checking'
                      ? t('selfCheckin.checking')
                      : error
                        ? t('selfCheckin.again')
                        : t('selfCheckin.submit')}
                </button>
              </>
            )}
          </>
        )}
        {error && (
          <p className="error" role="alert" data-testid="self-error">
            {error}
          </p>
        )}
      </section>
    </>
  );
}
