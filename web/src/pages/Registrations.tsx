// Pending self-registrations, for the managers of their groups and admins:
// each with its details and the three photos it was sent with; approving
// makes the person count (recognized, listed, in reports), rejecting erases
// them with their photos.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Registration } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { ErrorMessage, Loading, PageHead, useErrorText } from '../components/common';
import { formatDateTime } from '../lib/format';
import { useLoad } from '../lib/useLoad';
import styles from './Registrations.module.css';

export function RegistrationsPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const errorText = useErrorText();
  const list = useLoad(() => api.registrations(), []);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(0);

  async function act(r: Registration, approve: boolean) {
    if (!approve && !window.confirm(t('registrations.confirmReject', { name: r.name }))) return;
    setBusy(r.id);
    setError(null);
    setNote(null);
    try {
      if (approve) await api.approveRegistration(r.id);
      else await api.rejectRegistration(r.id);
      setNote(t(approve ? 'registrations.approved' : 'registrations.rejected', { name: r.name }));
      list.reload();
    } catch (e) {
      setError(errorText(e));
    } finally {
      setBusy(0);
    }
  }

  return (
    <>
      <PageHead title={t('registrations.title')} />
      <p className="muted">{t('registrations.help')}</p>
      {note && (
        <p className="success" role="status">
          {note}
        </p>
      )}
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
      {list.error ? (
        <ErrorMessage error={list.error} onRetry={list.reload} />
      ) : !list.data ? (
        <Loading />
      ) : list.data.items.length === 0 ? (
        <p role="status">{t('registrations.none')}</p>
      ) : (
        <ul className={styles.list} aria-label={t('registrations.title')}>
          {list.data.items.map((r) => (
            <li key={r.id} className={`card ${styles.item}`} aria-label={r.name}>
              <div className={styles.details}>
                <h2 className={styles.name}>{r.name}</h2>
                <p className={styles.line}>{r.email}</p>
                <p className={styles.line}>{r.groups.map((g) => g.name).join(', ')}</p>
                <p className={`muted ${styles.line}`}>
                  {t('registrations.requested')}: {formatDateTime(r.created_at, tz, i18n.language)}
                </p>
              </div>
              <div className={styles.photos} role="group" aria-label={t('registrations.photos', { name: r.name })}>
                {r.face_ids.map((f) => (
                  <img key={f} src={api.faceImageUrl(f)} alt="" width={72} height={72} loading="lazy" />
                ))}
              </div>
              <div className={styles.actions}>
                <button type="button" className="btn primary" disabled={busy === r.id} onClick={() => void act(r, true)}>
                  {t('registrations.approve')}
                </button>
                <button type="button" className="btn danger" disabled={busy === r.id} onClick={() => void act(r, false)}>
                  {t('registrations.reject')}
                </button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
