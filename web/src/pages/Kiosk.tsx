// The kiosk at the door: full-screen live camera (getUserMedia). A cheap
// presence check on a tiny thumbnail (lib/presence.ts) decides when a frame
// is worth sending to POST /api/v1/recognize?mark=true — a few per second at
// most, one request in flight at a time. Boxes and names are drawn over the
// video and a card per person in view shows them and their event ("Entrada
// 08:01 — a tiempo"), plus one for faces not recognized or not live. The bar
// shows the institution, the clock and date, and, for a camera set to
// "both", Entrada/Salida buttons that decide the next check-in's kind. People
// without face data check in with their code and PIN. Leaving the kiosk takes
// the kiosk PIN or an administrator's password (POST /kiosk/unlock): whoever
// stands in front of it cannot. Network failures are retried with back-off
// while the state is shown on screen; a camera that goes away (unplugged) or
// is not there yet is asked for again until it comes back, saying why.
import { useCallback, useEffect, useRef, useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import type { EventType, RecognizeResponse } from '../api/types';
import { KIOSK_KEY_OWNED_STORAGE, useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { useLoad } from '../lib/useLoad';
import {
  backoffMs,
  CAMERA_RETRY_MS,
  cameraProblem,
  confirmationForCheckin,
  confirmationsFor,
  kioskCameras,
  kioskStuck,
  type Confirmation,
} from '../lib/kiosk';
import { formatLongDate, formatTime } from '../lib/format';
import { ErrorMessage, Modal, useErrorText } from '../components/common';
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
/** How long a chosen Entrada/Salida waits for the person's face. */
const KIND_MS = 15000;
const MAX_CARDS = 4;

type Net = 'online' | 'retrying' | 'offline';

interface Shown {
  c: Confirmation;
  until: number;
}

/** Add the new cards (a card already showing keeps its timer). */
function showCards(prev: Shown[], cards: Confirmation[], now: number): Shown[] {
  const live = prev.filter((s) => s.until > now);
  for (const c of cards) if (!live.some((s) => s.c.key === c.key)) live.push({ c, until: now + CONFIRM_MS });
  // A person's newest card replaces their older one.
  return live.filter((s, i) => s.c.personId === null || !live.slice(i + 1).some((o) => o.c.personId === s.c.personId));
}

export function KioskPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user, logout, institution, keyCamera } = useAuth();
  const navigate = useNavigate();
  const errorText = useErrorText();
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
  const [shown, setShown] = useState<Shown[]>([]);
  const [now, setNow] = useState(() => Date.now());
  // Entrada/Salida chosen on the kiosk, until a check-in or KIND_MS.
  const [kind, setKind] = useState<{ kind: EventType; until: number } | null>(null);
  const kindRef = useRef<EventType | undefined>(undefined);
  kindRef.current = kind && kind.until > now ? kind.kind : undefined;
  const [leaving, setLeaving] = useState(false);
  const [pinOpen, setPinOpen] = useState(false);
  const direction =
    user?.role === 'admin'
      ? cameraId
        ? cameras.data?.items.find((c) => c.id === cameraId)?.direction
        : 'both'
      : (keyCamera?.direction ?? 'both');

  // A tablet left at the door keeps its screen on while the kiosk is open
  // (Screen Wake Lock; asked again whenever the page is shown again, since
  // the browser lets go of it while the page is hidden).
  useEffect(() => {
    let lock: WakeLockSentinel | null = null;
    let gone = false;
    const ask = () => {
      if (document.visibilityState !== 'visible' || !('wakeLock' in navigator)) return;
      navigator.wakeLock
        .request('screen')
        .then((l) => {
          if (gone) void l.release();
          else lock = l;
        })
        .catch(() => undefined);
    };
    ask();
    document.addEventListener('visibilitychange', ask);
    return () => {
      gone = true;
      document.removeEventListener('visibilitychange', ask);
      void lock?.release();
    };
  }, []);

  // Translation and zone change rarely; the loop reads them through refs.
  const tRef = useRef(t);
  tRef.current = t;
  const tzRef = useRef(tz);
  tzRef.current = tz;
  const errorTextRef = useRef(errorText);
  errorTextRef.current = errorText;

  // The camera. A tablet left at the door loses it (unplugged, taken by
  // another app, not there yet at boot): the kiosk says why and asks again
  // every CAMERA_RETRY_MS, and at once when a device is plugged in.
  const mounted = useRef(true);
  const retryTimer = useRef<number | undefined>(undefined);
  const startRef = useRef<() => Promise<void>>(async () => undefined);
  const noCamera = useCallback((e: unknown, lost = false) => {
    streamRef.current?.getTracks().forEach((tr) => tr.stop());
    streamRef.current = null;
    setRunning(false);
    const p = cameraProblem(e, tRef.current, lost);
    setCamError(p.text);
    window.clearTimeout(retryTimer.current);
    if (p.retry && mounted.current) retryTimer.current = window.setTimeout(() => void startRef.current(), CAMERA_RETRY_MS);
  }, []);
  const start = useCallback(async () => {
    window.clearTimeout(retryTimer.current);
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        video: { width: { ideal: 1280 }, height: { ideal: 720 }, facingMode: 'user' },
        audio: false,
      });
      if (!mounted.current) {
        stream.getTracks().forEach((tr) => tr.stop());
        return;
      }
      streamRef.current?.getTracks().forEach((tr) => tr.stop());
      streamRef.current = stream;
      for (const tr of stream.getVideoTracks())
        tr.addEventListener('ended', () => {
          if (streamRef.current === stream) noCamera(null, true);
        });
      const v = videoRef.current;
      if (v) {
        v.srcObject = stream;
        await v.play().catch(() => undefined);
      }
      setCamError(null);
      setRunning(true);
    } catch (e) {
      if (mounted.current) noCamera(e);
    }
  }, [noCamera]);
  startRef.current = start;

  useEffect(() => {
    mounted.current = true;
    void start();
    const plugged = () => {
      if (!streamRef.current) void startRef.current();
    };
    navigator.mediaDevices?.addEventListener?.('devicechange', plugged);
    return () => {
      mounted.current = false;
      window.clearTimeout(retryTimer.current);
      navigator.mediaDevices?.removeEventListener?.('devicechange', plugged);
      streamRef.current?.getTracks().forEach((tr) => tr.stop());
      streamRef.current = null;
    };
  }, [start]);

  // The clock keeps going when the camera does not.
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);

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
        const chosen = kindRef.current;
        const r = await api.recognize(blob, { mark: true, cameraId, kind: chosen }, signal);
        if (stopped) return;
        failures = 0;
        setNet('online');
        setApiError(null);
        gate.reportFaces(sentAt, r.faces.length);
        setResult({ r, at: Date.now() });
        const cards = confirmationsFor(r.faces, tRef.current, tzRef.current);
        if (cards.length) setShown((prev) => showCards(prev, cards, Date.now()));
        if (chosen && r.faces.some((f) => f.event)) setKind(null); // used: back to automatic
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
          setApiError(errorTextRef.current(e));
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

  const current = shown.filter((x) => x.until > now).slice(-MAX_CARDS);
  const chosenKind = kind && kind.until > now ? kind.kind : null;
  const stuck = kioskStuck(net === 'online', !camError, t);
  const choices = cameras.data ? kioskCameras(cameras.data.items, cameraId) : [];

  function checkedIn(c: Confirmation) {
    setShown((prev) => showCards(prev, [c], Date.now()));
    setKind(null);
  }

  async function unlocked() {
    setLeaving(false);
    if (user?.role === 'device') await logout();
    else navigate('/', { replace: true });
  }

  return (
    <main className={styles.kiosk}>
      <h1 className="sr-only">{t('kiosk.title')}</h1>
      <div className={styles.stage}>
        <video ref={videoRef} className={styles.video} autoPlay muted playsInline aria-label={t('kiosk.camera')} />
        <canvas ref={overlayRef} className={styles.overlay} aria-hidden="true" />
      </div>

      <header className={styles.bar} data-testid="kiosk-bar">
        <div className={styles.brand}>
          {institution.logo_url && <img className={styles.logo} src={institution.logo_url} alt="" />}
          <span className={styles.institution}>{institution.name || t('app.name')}</span>
        </div>
        <div className={styles.clock} aria-label={t('common.time')}>
          <span className={styles.time}>{formatTime(new Date(now).toISOString(), tz)}</span>
          <span className={styles.date}>{formatLongDate(now, tz, i18n.resolvedLanguage ?? 'es')}</span>
        </div>
        <div className={styles.controls}>
          <span className={`${styles.net} ${styles[net]}`} role="status" aria-live="polite" data-testid="kiosk-network">
            {net === 'online' ? t('kiosk.online') : retryIn > 0 ? t('kiosk.retrying', { seconds: retryIn }) : t('kiosk.retryingNow')}
          </span>
          {choices.length > 0 && (
            <select
              className={styles.cameraSelect}
              value={cameraId ?? ''}
              aria-label={t('kiosk.cameraSelect')}
              onChange={(e) => setParams(e.target.value ? { camera: e.target.value } : {}, { replace: true })}
            >
              <option value="">{t('kiosk.noCamera')}</option>
              {choices.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.name}
                </option>
              ))}
            </select>
          )}
          <LanguageSwitch />
          <button
            type="button"
            className="btn small"
            aria-label={t('kiosk.fullscreen')}
            title={t('kiosk.fullscreen')}
            onClick={() => void document.documentElement.requestFullscreen?.()}
          >
            <svg className={styles.icon} viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2.2">
              <path d="M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5" />
            </svg>
          </button>
          <button type="button" className="btn small" onClick={() => setLeaving(true)}>
            <svg className={styles.icon} viewBox="0 0 24 24" aria-hidden="true" fill="none" stroke="currentColor" strokeWidth="2.2">
              <rect x="5" y="11" width="14" height="10" rx="2" />
              <path d="M8 11V7a4 4 0 0 1 8 0v4" />
            </svg>{' '}
            {t('kiosk.leaveButton')}
          </button>
        </div>
      </header>

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

      <div className={styles.bottom}>
        <div className={styles.actions} role="group" aria-label={t('kiosk.kindLabel')}>
          {direction === 'both' &&
            (['entry', 'exit'] as const).map((k) => (
              <button
                key={k}
                type="button"
                className={`btn ${styles.kindButton} ${chosenKind === k ? styles.kindOn : ''}`}
                aria-pressed={chosenKind === k}
                onClick={() => setKind(chosenKind === k ? null : { kind: k, until: Date.now() + KIND_MS })}
              >
                {t(`attendance.types.${k}`)}
              </button>
            ))}
          <button type="button" className={`btn ${styles.kindButton}`} onClick={() => setPinOpen(true)}>
            {t('kiosk.checkinOpen')}
          </button>
        </div>
        <section className={styles.cards} aria-live="assertive" data-testid="kiosk-confirmation" aria-label={t('kiosk.recognizedPeople')}>
          {current.length > 0 ? (
            current.map(({ c }) => (
              <article key={c.key} className={`${styles.confirm} ${styles[c.tone]}`} data-testid="kiosk-card">
                {c.personId !== null && (
                  <img
                    className={styles.photo}
                    src={c.photo ?? api.personPhotoUrl(c.personId)}
                    alt={t('people.photo', { name: c.title })}
                    onError={(e) => {
                      e.currentTarget.hidden = true;
                    }}
                  />
                )}
                <div className={styles.text}>
                  <p className={styles.title}>{c.title}</p>
                  {c.line && <p className={styles.line}>{c.line}</p>}
                </div>
              </article>
            ))
          ) : (
            <div className={`${styles.confirm} ${stuck ? styles.warn : styles.idle}`} data-testid="kiosk-idle">
              <p className={styles.hint}>
                {stuck ?? (chosenKind ? `${t(`attendance.types.${chosenKind}`)} — ${t('kiosk.hint')}` : t('kiosk.hint'))}
              </p>
            </div>
          )}
        </section>
      </div>

      <UnlockDialog
        open={leaving}
        onClose={() => setLeaving(false)}
        onUnlocked={() => void unlocked()}
        deviceKey={user?.role === 'device'}
      />
      <CheckinDialog
        open={pinOpen}
        onClose={() => setPinOpen(false)}
        kind={chosenKind ?? undefined}
        cameraId={cameraId}
        onDone={(c) => {
          setPinOpen(false);
          checkedIn(c);
        }}
      />
    </main>
  );
}

/** The kiosk PIN, or an administrator's password (with their e-mail on a
 * device key, which has no signed-in admin). */
function UnlockDialog({
  open,
  onClose,
  onUnlocked,
  deviceKey,
}: {
  open: boolean;
  onClose: () => void;
  onUnlocked: () => void;
  deviceKey: boolean;
}) {
  const { t } = useTranslation();
  const [usePassword, setUsePassword] = useState(false);
  const [pin, setPin] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    if (!open) {
      setPin('');
      setPassword('');
      setError(null);
    }
  }, [open]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      // a kiosk made by "keep this device signed in" gives its key up
      const endKey = deviceKey && localStorage.getItem(KIOSK_KEY_OWNED_STORAGE) !== null;
      const body = usePassword ? { password, ...(deviceKey ? { email: email.trim() } : {}) } : { pin };
      await api.kioskUnlock(endKey ? { ...body, end_key: true } : body);
      onUnlocked();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <Modal title={t('kiosk.leaveTitle')} open={open} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className={styles.dialogForm}>
        <p className="muted">{t('kiosk.leaveHelp')}</p>
        {usePassword ? (
          <>
            {deviceKey && (
              <label className="field">
                <span>{t('kiosk.adminEmail')}</span>
                <input type="email" autoComplete="off" required value={email} onChange={(e) => setEmail(e.target.value)} />
              </label>
            )}
            <label className="field">
              <span>{t('kiosk.adminPassword')}</span>
              <input type="password" autoComplete="off" required value={password} onChange={(e) => setPassword(e.target.value)} />
            </label>
          </>
        ) : (
          <PinField label={t('kiosk.pin')} value={pin} onChange={setPin} />
        )}
        <ErrorMessage error={error} />
        <div className="form-actions">
          <button type="button" className="btn ghost" onClick={() => setUsePassword((u) => !u)}>
            {usePassword ? t('kiosk.usePin') : t('kiosk.usePassword')}
          </button>
          <button type="submit" className="btn primary">
            {t('kiosk.unlock')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Check in without a face: the person's code and personal PIN. */
function CheckinDialog({
  open,
  onClose,
  onDone,
  kind,
  cameraId,
}: {
  open: boolean;
  onClose: () => void;
  onDone: (c: Confirmation) => void;
  kind?: EventType;
  cameraId?: number;
}) {
  const { t } = useTranslation();
  const { tz } = useSettings();
  const [code, setCode] = useState('');
  const [pin, setPin] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (!open) {
      setCode('');
      setPin('');
      setError(null);
    }
  }, [open]);

  async function submit(e: React.FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      const r = await api.kioskCheckin({ code: code.trim(), pin, ...(kind ? { kind } : {}), ...(cameraId ? { camera_id: cameraId } : {}) });
      onDone(confirmationForCheckin(r, t, tz));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={t('kiosk.checkinTitle')} open={open} onClose={onClose}>
      <form onSubmit={(e) => void submit(e)} className={styles.dialogForm}>
        <p className="muted">{t('kiosk.checkinHelp')}</p>
        <label className="field">
          <span>{t('kiosk.code')}</span>
          <input autoComplete="off" required value={code} onChange={(e) => setCode(e.target.value)} />
        </label>
        <PinField label={t('kiosk.personalPin')} value={pin} onChange={setPin} />
        <ErrorMessage error={error} />
        <div className="form-actions">
          <button type="submit" className="btn primary" disabled={busy}>
            {kind ? `${t('kiosk.checkinSubmit')} · ${t(`attendance.types.${kind}`)}` : t('kiosk.checkinSubmit')}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** A PIN typed on the kiosk: digits, hidden, the phone's number pad. */
function PinField({ label, value, onChange }: { label: string; value: string; onChange: (v: string) => void }) {
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="password"
        inputMode="numeric"
        pattern="[0-9]*"
        autoComplete="off"
        required
        value={value}
        onChange={(e) => onChange(e.target.value)}
      />
    </label>
  );
}
