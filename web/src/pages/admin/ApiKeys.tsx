// Administration · API keys for devices and integrations. A new key's secret
// is shown once, right after creation, with a copy button.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { ApiKey, ApiKeyCreate } from '../../api/types';
import { useSettings } from '../../auth/SettingsContext';
import { copyText } from '../../lib/clipboard';
import { formatDateTime } from '../../lib/format';
import { useAction } from '../../lib/useAction';
import { useLoad } from '../../lib/useLoad';
import { DataTable, ErrorMessage, Modal, PageHead } from '../../components/common';

// An auditor key reads reports and exports for a payroll or HR script; a
// metrics key reads /metrics for monitoring.
const KEY_ROLES: ApiKeyCreate['role'][] = ['device', 'manager', 'auditor', 'metrics', 'admin'];

export function ApiKeysPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const list = useLoad(() => api.apiKeys(), []);
  const cameras = useLoad(() => api.cameras(), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<ApiKey | null>(null);
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const [name, setName] = useState('');
  const [role, setRole] = useState<ApiKeyCreate['role']>('device');
  const [cameraId, setCameraId] = useState('');
  const action = useAction(list.reload);
  const error = action.error;
  const lang = i18n.resolvedLanguage ?? 'es';

  async function create(e: FormEvent) {
    e.preventDefault();
    await action.run(async () => {
      const k = await api.createApiKey({ name: name.trim(), role, camera_id: role === 'device' && cameraId ? Number(cameraId) : null });
      setCreating(false);
      setCreated(k);
      setCopied(null);
      setName('');
      setCameraId('');
    });
  }

  return (
    <>
      <PageHead title={t('apiKeys.title')}>
        <button type="button" className="btn primary" onClick={() => setCreating(true)}>
          {t('apiKeys.new')}
        </button>
      </PageHead>
      <ErrorMessage error={creating ? list.error : (error ?? list.error)} onRetry={list.reload} />
      <DataTable
        items={list.data?.items}
        loading={list.loading}
        head={
          <>
            <th>{t('common.name')}</th>
            <th>{t('apiKeys.prefix')}</th>
            <th>{t('common.role')}</th>
            <th>{t('apiKeys.created')}</th>
            <th className="num">{t('common.actions')}</th>
          </>
        }
        row={(k) => (
          <tr key={k.id}>
            <td>{k.name}</td>
            <td>
              <code>{k.prefix}…</code>
            </td>
            <td>{t(`roles.${k.role}`)}</td>
            <td>{formatDateTime(k.created_at, tz, lang)}</td>
            <td>
              <div className="row-actions">
                <button type="button" className="btn small danger" onClick={() => void action.remove(k.name, () => api.deleteApiKey(k.id))}>
                  {t('common.delete')}
                </button>
              </div>
            </td>
          </tr>
        )}
      />
      <Modal title={t('apiKeys.new')} open={creating} onClose={() => setCreating(false)}>
        <form onSubmit={create}>
          <div className="form-grid">
            <label className="field">
              <span>{t('common.name')}</span>
              <input required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span>{t('common.role')}</span>
              <select value={role} onChange={(e) => setRole(e.target.value as ApiKeyCreate['role'])}>
                {KEY_ROLES.map((r) => (
                  <option key={r} value={r}>
                    {t(`roles.${r}`)}
                  </option>
                ))}
              </select>
            </label>
            {role === 'device' && (
              <label className="field">
                <span>{t('apiKeys.cameraPick')}</span>
                <select value={cameraId} onChange={(e) => setCameraId(e.target.value)}>
                  <option value="">{t('common.none')}</option>
                  {cameras.data?.items.map((c) => (
                    <option key={c.id} value={c.id}>
                      {c.name} ({t(`cameras.directions.${c.direction}`)})
                    </option>
                  ))}
                </select>
              </label>
            )}
          </div>
          <ErrorMessage error={error} />
          <div className="form-actions">
            <button type="submit" className="btn primary">
              {t('common.create')}
            </button>
          </div>
        </form>
      </Modal>
      <Modal title={created?.name ?? ''} open={!!created} onClose={() => setCreated(null)}>
        {created?.key && (
          <div>
            <p role="alert">{t('apiKeys.shownOnce')}</p>
            <p className="secret" data-testid="api-key-secret">
              {created.key}
            </p>
            {copied === 'no' && <p role="alert">{t('apiKeys.copyFailed')}</p>}
            <div className="form-actions">
              <button
                type="button"
                className="btn"
                onClick={(e) => void copyText(created.key ?? '', e.currentTarget).then((ok) => setCopied(ok ? 'yes' : 'no'))}
              >
                {copied === 'yes' ? t('apiKeys.copied') : t('apiKeys.copy')}
              </button>
              <button type="button" className="btn primary" onClick={() => setCreated(null)}>
                {t('common.close')}
              </button>
            </div>
          </div>
        )}
      </Modal>
    </>
  );
}
