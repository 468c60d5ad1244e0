// Enrollment of a person's faces: drag-and-drop (or choose) many photos, or
// take several shots with the camera while on-screen guidance asks for small
// head turns. Every photo comes back accepted or rejected with the server's
// reason.
import { useEffect, useRef, useState, type DragEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { EnrollResult } from '../api/types';
import { enrollReason } from '../lib/enrollReason';
import { formatDecimal } from '../lib/format';
import { ErrorMessage } from './common';
import styles from './Enroll.module.css';

const GUIDE = ['straight', 'left', 'right', 'up', 'down'] as const;

function isImage(f: File): boolean {
  return f.type.startsWith('image/') || /\.(jpe?g|png|webp|bmp)$/i.test(f.name);
}

export function Enroll({ personId, onEnrolled }: { personId: number; onEnrolled: () => void }) {
  const { t, i18n } = useTranslation();
  const [results, setResults] = useState<EnrollResult[]>([]);
  const [busy, setBusy] = useState(0);
  const [error, setError] = useState<Error | null>(null);
  const [over, setOver] = useState(false);

  async function upload(files: { blob: Blob; name: string }[]) {
    if (files.length === 0) return;
    setBusy(files.length);
    setError(null);
    try {
      const r = await api.enroll(personId, files);
      setResults((old) => [...r.results, ...old]);
      onEnrolled();
    } catch (e) {
      setError(e as Error);
    } finally {
      setBusy(0);
    }
  }

  const fromFiles = (list: FileList | null) =>
    void upload(
      Array.from(list ?? [])
        .filter(isImage)
        .map((f) => ({ blob: f, name: f.name })),
    );

  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    fromFiles(e.dataTransfer.files);
  };

  return (
    <div className={styles.enroll}>
      <div
        className={`${styles.drop} ${over ? styles.over : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={onDrop}
      >
        <p>
          {t('enroll.drop')}{' '}
          <label className={styles.choose}>
            {t('enroll.choose')}
            <input
              type="file"
              accept="image/*"
              multiple
              className="sr-only"
              aria-label={t('enroll.filesLabel')}
              onChange={(e) => {
                fromFiles(e.target.files);
                e.target.value = '';
              }}
            />
          </label>
        </p>
      </div>
      <CameraShots onShot={(blob, n) => void upload([{ blob, name: `camera-${n}.jpg` }])} />
      {busy > 0 && <p role="status">{t('enroll.uploading', { count: busy })}</p>}
      <ErrorMessage error={error} />
      {results.length > 0 && (
        <section aria-label={t('enroll.results')}>
          <h3>{t('enroll.results')}</h3>
          <ul className={styles.results}>
            {results.map((r, i) => (
              <li key={`${r.file}-${i}`} className={r.accepted ? styles.accepted : styles.rejected}>
                <span className={styles.file}>{r.file}</span>
                <span>{r.accepted ? t('enroll.accepted') : t('enroll.rejected', { reason: enrollReason(r, t) })}</span>
                {r.quality && (
                  <span className="muted">
                    {t('people.quality', { score: formatDecimal(r.quality.score, i18n.resolvedLanguage ?? 'es') })}
                  </span>
                )}
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}

function CameraShots({ onShot }: { onShot: (blob: Blob, n: number) => void }) {
  const { t } = useTranslation();
  const videoRef = useRef<HTMLVideoElement>(null);
  const [stream, setStream] = useState<MediaStream | null>(null);
  const [shots, setShots] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (videoRef.current) videoRef.current.srcObject = stream;
    return () => stream?.getTracks().forEach((tr) => tr.stop());
  }, [stream]);

  async function start() {
    setError(null);
    try {
      setStream(await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 1280 } }, audio: false }));
    } catch (e) {
      setError(t('kiosk.cameraError', { message: e instanceof Error ? e.message : String(e) }));
    }
  }

  function capture() {
    const v = videoRef.current;
    if (!v || !v.videoWidth) return;
    const c = document.createElement('canvas');
    c.width = v.videoWidth;
    c.height = v.videoHeight;
    c.getContext('2d')?.drawImage(v, 0, 0);
    const n = shots + 1;
    c.toBlob((b) => b && onShot(b, n), 'image/jpeg', 0.92);
    setShots(n);
  }

  const step = shots < GUIDE.length ? GUIDE[shots] : null;
  return (
    <section className={styles.camera} aria-label={t('enroll.camera')}>
      <h3>{t('enroll.camera')}</h3>
      {!stream ? (
        <button type="button" className="btn" onClick={() => void start()}>
          {t('enroll.startCamera')}
        </button>
      ) : (
        <div className={styles.cameraBox}>
          <div className={styles.preview}>
            <video ref={videoRef} autoPlay muted playsInline aria-label={t('kiosk.camera')} />
            <div className={styles.oval} aria-hidden="true" />
          </div>
          <div className={styles.guide}>
            <p className={styles.step}>{step ? t('enroll.step', { n: shots + 1, total: GUIDE.length }) : ''}</p>
            <p className={styles.instruction} aria-live="polite">
              {step ? t(`enroll.guide.${step}`) : t('enroll.done')}
            </p>
            <div className="page-actions">
              <button type="button" className="btn primary" onClick={capture}>
                {t('enroll.capture')}
              </button>
              <button type="button" className="btn" onClick={() => setStream(null)}>
                {t('enroll.stopCamera')}
              </button>
            </div>
          </div>
        </div>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}
