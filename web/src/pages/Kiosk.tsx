// The kiosk at the door: full-screen live camera (getUserMedia). A cheap
// presence check on a tiny thumbnail (lib/presence.ts) decides when a frame
// is worth sending to POST /api/v1/recognize?mark=true — a few per second at
// most, one request in flight at a time. Boxes and names are drawn over the
// video and a large confirmation shows the person and their event ("Entrada
// 08:01 — a tiempo"), "No reconocido", or a liveness warning. Network failures
// are retried with back-off while the state is shown on screen.
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import type { RecognizeResponse } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { useLoad } from '../lib/useLoad';
import { backoffMs, confirmationFor, primaryFace, type Confirmation } from '../lib/kiosk';
import { lumaFromRgba, PresenceGate } from '../lib/presence';
import { LanguageSwitch } from '../components/LanguageSwitch';
import styles from './Kiosk.module.css';

const TICK_MS = 150;
const THUMB_W = 32;
const THUMB_H = 24;
const SEND_MAX_W = 640;
const CONFIRM_MS = 4500;
const BOXES_MS = 1500;
const REQUEST_TIMEOUT_MS = 10000;

type Net = 'online' | 'retrying' | 'offline';

interface Shown {
  c: Confirmation;
  until: number;
}

export function KioskPage() {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const { user, logout } = useAuth();
  const [params, setParams] = useSearchParams();
  const cameraParam = Number(params.get('camera'));
  const cameraId = Number.isInteger(cameraParam) && cameraParam > 0 ? cameraParam : undefined;

  // Admins choose which camera the kiosk's events are recorded under (device
  // keys may carry their own); ?camera=ID keeps the choice in the address.
  const cameras = useLoad(() => (user?.role === 'admin' ? api.cameras() : Promise.resolve(null)), [user?.role]);

  const videoRef = useRef<HTMLVideoElement>(null);
  const overlayRef = useRef<HTMLCanvasElement>(null);
  const streamRef = useRef<MediaStream | null>(null);
  const [camError, setCamError] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [net, setNet] = useState<Net>('online');
  const [retryIn, setRetryIn] = useState(0);
  const [apiError, setApiError] = useState<string | null>(null);
  const [result, setResult] = useState<{ r: RecognizeResponse; at: number } | null>(null);
  const [shown, setShown] = useState<Shown | null>(null);
  const [now, setNow] = useState(() => Date.now());

  // Translation and zone change rarely; the loop reads them through refs.
  const tRef = useRef(t);
  tRef.current = t;
  const tzRef = useRef(tz);
  tzRef.current = tz;

  const start = useCallback(async () => {
    setCamError(null);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' },
        audio: false,
      });
      streamRef.current = stream;
      const v = videoRef.current;
      if (v) {
        v.srcObject = stream;
        await v.play().catch(() => undefined);
      }
      setRunning(true);
    } catch (e) {
      setCamError(tRef.current('kiosk.cameraError', { message: e instanceof Error ? e.message : String(e) }));
    }
  }, []);

  useEffect(() => {
    void start();
    return () => {
      streamRef.current?.getTracks().forEach((tr) => tr.stop());
      streamRef.current = null;
    };
  }, [start]);

  // The capture loop.
  useEffect(() => {
    if (!running) return;
    const gate = new PresenceGate();
    const thumb = document.createElement('canvas');
    thumb.width = THUMB_W;
    thumb.height = THUMB_H;
    const thumbCtx = thumb.getContext('2d', { willReadFrequently: true });
    const frame = document.createElement('canvas');
    let inFlight = false;
    let failures = 0;
    let retryAt = 0;
    let stopped = false;
    const ctrl = new AbortController();

    const send = async (v: HTMLVideoElement) => {
      const scale = Math.min(1, SEND_MAX_W / v.videoWidth);
      frame.width = Math.round(v.videoWidth * scale);
      frame.height = Math.round(v.videoHeight * scale);
      frame.getContext('2d')?.drawImage(v, 0, 0, frame.width, frame.height);
      const blob = await new Promise<Blob | null>((res) => frame.toBlob(res, 'image/jpeg', 0.85));
      if (!blob) return;
      const sentAt = Date.now();
      const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
      const signal = AbortSignal.any([ctrl.signal, timeout]);
      try {
        const r = await api.recognize(blob, { mark: true, cameraId }, signal);
        if (stopped) return;
        failures = 0;
        setNet('online');
        setApiError(null);
        gate.reportFaces(sentAt, r.faces.length);
        setResult({ r, at: Date.now() });
        const face = primaryFace(r.faces);
        if (face) {
          const c = confirmationFor(face, tRef.current, tzRef.current);
          setShown((prev) => (prev && prev.c.key === c.key && prev.until > Date.now() ? prev : { c, until: Date.now() + CONFIRM_MS }));
        }
      } catch (e) {
        if (stopped) return;
        const transient =
          (e instanceof ApiError && (e.isNetwork || e.status >= 500 || e.status === 429)) ||
          (e instanceof DOMException && (e.name === 'TimeoutError' || e.name === 'AbortError'));
        if (transient) {
          failures++;
          retryAt = Date.now() + backoffMs(failures);
          setNet(failures >= 5 ? 'offline' : 'retrying');
        } else {
          setApiError(tRef.current('common.error', { message: e instanceof Error ? e.message : String(e) }));
          retryAt = Date.now() + 2000;
        }
      }
    };

    const tick = () => {
      const v = videoRef.current;
      const t0 = Date.now();
      setNow(t0);
      setRetryIn(retryAt > t0 ? Math.ceil((retryAt - t0) / 1000) : 0);
      if (!v || !thumbCtx || inFlight || v.readyState < 2 || !v.videoWidth || retryAt > t0) return;
      thumbCtx.drawImage(v, 0, 0, THUMB_W, THUMB_H);
      const luma = lumaFromRgba(thumbCtx.getImageData(0, 0, THUMB_W, THUMB_H).data);
      if (!gate.observe(t0, luma)) return;
      inFlight = true;
      void send(v).finally(() => {
        inFlight = false;
      });
    };
    const timer = window.setInterval(tick, TICK_MS);
    return () => {
      stopped = true;
      ctrl.abort();
      window.clearInterval(timer);
    };
  }, [running, cameraId]);

  // Boxes and names over the video.
  const boxesFresh = result && now - result.at < BOXES_MS ? result.r : null;
  useEffect(() => {
    const canvas = overlayRef.current;
    const v = videoRef.current;
    if (!canvas || !v) return;
    const w = canvas.clientWidth;
    const h = canvas.clientHeight;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    if (!boxesFresh || !boxesFresh.width) return;
    // The video is shown with object-fit: contain; map frame pixels to it.
    const s = Math.min(w / boxesFresh.width, h / boxesFresh.height);
    const ox = (w - boxesFresh.width * s) / 2;
    const oy = (h - boxesFresh.height * s) / 2;
    ctx.lineWidth = 3;
    ctx.font = '600 18px system-ui, sans-serif';
    for (const f of boxesFresh.faces) {
      const x = ox + f.box.x * s;
      const y = oy + f.box.y * s;
      const color = !f.live ? '#f0a500' : f.identity ? '#2ecc71' : '#e74c3c';
      ctx.strokeStyle = color;
      ctx.strokeRect(x, y, f.box.w * s, f.box.h * s);
      const label = !f.live ? tRef.current('kiosk.notLiveShort') : f.identity ? f.identity.name : tRef.current('kiosk.unknown');
      const tw = ctx.measureText(label).width + 12;
      // The name sits above the box, or inside it when the face is at the top.
      const ly = y >= 26 ? y - 26 : y;
      ctx.fillStyle = color;
      ctx.fillRect(x - 1.5, ly, tw, 26);
      ctx.fillStyle = '#000';
      ctx.fillText(label, x + 5, ly + 19);
    }
  }, [boxesFresh]);

  const current = shown && shown.until > now ? shown.c : null;

  return (
    <main className={styles.kiosk}>
      <h1 className="sr-only">{t('kiosk.title')}</h1>
      <div className={styles.stage}>
        <video ref={videoRef} className={styles.video} autoPlay muted playsInline aria-label={t('kiosk.camera')} />
        <canvas ref={overlayRef} className={styles.overlay} aria-hidden="true" />
      </div>

      <div className={styles.bar}>
        <span className={`${styles.net} ${styles[net]}`} role="status" aria-live="polite" data-testid="kiosk-network">
          {net === 'online'
            ? t('kiosk.online')
            : net === 'retrying'
              ? retryIn > 0
                ? t('kiosk.retrying', { seconds: retryIn })
                : t('kiosk.retryingNow')
              : t('kiosk.offline')}
        </span>
        <span className={styles.spacer} />
        {cameras.data && cameras.data.items.length > 0 && (
          <select
            value={cameraId ?? ''}
            aria-label={t('kiosk.cameraSelect')}
            onChange={(e) => setParams(e.target.value ? { camera: e.target.value } : {}, { replace: true })}
          >
            <option value="">{t('kiosk.noCamera')}</option>
            {cameras.data.items.map((c) => (
              <option key={c.id} value={c.id}>
                {c.name}
              </option>
            ))}
          </select>
        )}
        <LanguageSwitch />
        <button type="button" className="btn small" onClick={() => void document.documentElement.requestFullscreen?.()}>
          {t('kiosk.fullscreen')}
        </button>
        {user?.role === 'device' ? (
          <button type="button" className="btn small" onClick={() => void logout()}>
            {t('app.logout')}
          </button>
        ) : (
          <Link className="btn small" to="/">
            {t('kiosk.exit_kiosk')}
          </Link>
        )}
      </div>

      {camError && (
        <div className={styles.center}>
          <p className="error" role="alert">
            {camError}
          </p>
          <button type="button" className="btn primary" onClick={() => void start()}>
            {t('kiosk.start')}
          </button>
        </div>
      )}
      {apiError && (
        <p className={`error ${styles.apiError}`} role="alert">
          {apiError}
        </p>
      )}

      <section
        className={`${styles.confirm} ${current ? styles[current.tone] : styles.idle}`}
        aria-live="assertive"
        data-testid="kiosk-confirmation"
      >
        {current ? (
          <>
            {current.personId !== null && (
              <img
                className={styles.photo}
                src={current.photo ?? api.personPhotoUrl(current.personId)}
                alt={t('people.photo', { name: current.title })}
                onError={(e) => {
                  e.currentTarget.hidden = true;
                }}
              />
            )}
            <div>
              <p className={styles.title}>{current.title}</p>
              {current.line && <p className={styles.line}>{current.line}</p>}
            </div>
          </>
        ) : (
          <p className={styles.hint}>{t('kiosk.hint')}</p>
        )}
      </section>
    </main>
  );
}
