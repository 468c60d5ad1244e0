// Cameras: live status of every camera (state, fps in / processed, frames,
// drops, last error, last frame thumbnail), refreshed every few seconds;
// admins add, edit and delete them (and only they may see the snapshots).
import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Camera, CameraInput, CameraKind, Direction } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { cameraError } from '../lib/cameraError';
import { formatDateTime, formatDecimal } from '../lib/format';
import { canEditCameras } from '../lib/roles';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading, Modal, PageHead } from '../components/common';
import styles from './Cameras.module.css';

const REFRESH_MS = 5000;
const KINDS: CameraKind[] = ['mjpeg', 'snapshot', 'rtsp', 'file', 'v4l2', 'browser'];
const DIRECTIONS: Direction[] = ['entry', 'exit', 'both'];

// Camera states reported by the camera module (cam_state_name) and the API.
function stateClass(state: string): string {
  if (state === 'streaming') return 'ok';
  if (state === 'error' || state === 'backoff') return 'bad';
  return 'warn';
}

export function CamerasPage() {
  const { t, i18n } = useTranslation();
  const { user } = useAuth();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const list = useLoad(() => api.cameras(), []);
  const [tick, setTick] = useState(0);
  const [editing, setEditing] = useState<Camera | 'new' | null>(null);
  const action = useAction(list.reload);
  const editable = canEditCameras(user?.role);

  useEffect(() => {
    const id = window.setInterval(() => {
      setTick((n) => n + 1);
      list.reload();
    }, REFRESH_MS);
    return () => window.clearInterval(id);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <>
      <PageHead title={t('cameras.title')}>
        {editable && (
          <button type="button" className="btn primary" onClick={() => setEditing('new')}>
            {t('cameras.new')}
          </button>
        )}
      </PageHead>
      <ErrorMessage error={action.error ?? (list.data ? null : list.error)} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && list.data.items.length === 0 && <p className="empty card">{t('common.empty')}</p>}
      <div className={styles.grid}>
        {list.data?.items.map((c) => (
          <article key={c.id} className={`card ${styles.cam}`} aria-labelledby={`cam-${c.id}`}>
            <div className={styles.shot}>
              {editable && c.status.last_frame_at ? (
                <img src={api.cameraSnapshotUrl(c.id, tick)} alt={t('cameras.snapshot', { name: c.name })} />
              ) : (
                <span className="muted">{t('common.none')}</span>
              )}
            </div>
            <div className={styles.info}>
              <h2 id={`cam-${c.id}`}>
                {c.name}{' '}
                <span className={`badge ${stateClass(c.status.state)}`}>
                  {t(`cameras.states.${c.status.state}`, { defaultValue: c.status.state })}
                </span>
              </h2>
              <p className={styles.url}>{c.url}</p>
              <dl>
                <dt>{t('cameras.direction')}</dt>
                <dd>{t(`cameras.directions.${c.direction}`)}</dd>
                <dt>{t('cameras.fps')}</dt>
                <dd>
                  {t('cameras.processed', {
                    in: formatDecimal(c.status.fps_in, lang, 1),
                    processed: formatDecimal(c.status.fps_processed, lang, 1),
                  })}
                </dd>
                <dt>{t('cameras.framesLabel')}</dt>
                <dd>{t('cameras.frames', { frames: c.status.frames, drops: c.status.drops })}</dd>
                <dt>{t('cameras.lastFrame')}</dt>
                <dd>{formatDateTime(c.status.last_frame_at, tz, lang)}</dd>
                {c.status.last_error && (
                  <>
                    <dt>{t('cameras.lastError')}</dt>
                    <dd className={styles.err} data-testid="camera-error">
                      {cameraError(t, c.status)}
                    </dd>
                  </>
                )}
              </dl>
              {editable && (
                <div className="page-actions">
                  <button type="button" className="btn small" onClick={() => setEditing(c)}>
                    {t('common.edit')}
                  </button>
                  <button
                    type="button"
                    className="btn small danger"
                    onClick={() => void action.remove(c.name, () => api.deleteCamera(c.id))}
                  >
                    {t('common.delete')}
                  </button>
                </div>
              )}
            </div>
          </article>
        ))}
      </div>
      <Modal title={editing === 'new' ? t('cameras.new') : t('common.edit')} open={!!editing} onClose={() => setEditing(null)}>
        {editing && (
          <CameraForm
            initial={editing === 'new' ? null : editing}
            onCancel={() => setEditing(null)}
            onSaved={() => {
              setEditing(null);
              list.reload();
            }}
          />
        )}
      </Modal>
    </>
  );
}

function CameraForm({ initial, onCancel, onSaved }: { initial: Camera | null; onCancel: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [c, setC] = useState<CameraInput>({
    name: initial?.name ?? '',
    url: initial?.url ?? '',
    kind: initial?.kind ?? 'mjpeg',
    direction: initial?.direction ?? 'entry',
    enabled: initial?.enabled ?? true,
    fps: initial?.fps ?? 5,
  });
  const save = useAction(onSaved);
  const set = <K extends keyof CameraInput>(k: K, v: CameraInput[K]) => setC((o) => ({ ...o, [k]: v }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    await save.run(() => (initial ? api.updateCamera(initial.id, c) : api.createCamera(c)));
  }

  return (
    <form onSubmit={submit}>
      <div className="form-grid">
        <label className="field">
          <span>{t('common.name')}</span>
          <input required value={c.name} onChange={(e) => set('name', e.target.value)} />
        </label>
        <label className="field">
          <span>{t('cameras.kind')}</span>
          <select value={c.kind} onChange={(e) => set('kind', e.target.value as CameraKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`cameras.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('cameras.url')}</span>
          <input
            required={c.kind !== 'browser'}
            value={c.url}
            placeholder={c.kind === 'browser' ? t('cameras.browserUrl') : 'rtsp://… / http://…/mjpeg'}
            onChange={(e) => set('url', e.target.value)}
          />
        </label>
        <label className="field">
          <span>{t('cameras.direction')}</span>
          <select value={c.direction} onChange={(e) => set('direction', e.target.value as Direction)}>
            {DIRECTIONS.map((d) => (
              <option key={d} value={d}>
                {t(`cameras.directions.${d}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('cameras.fps')}</span>
          <input type="number" min={0.2} max={30} step={0.1} value={c.fps} onChange={(e) => set('fps', Number(e.target.value))} />
        </label>
        <label className="field check">
          <input type="checkbox" checked={c.enabled} onChange={(e) => set('enabled', e.target.checked)} />
          <span>{t('cameras.enabled')}</span>
        </label>
      </div>
      <ErrorMessage error={save.error} />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn primary">
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}
