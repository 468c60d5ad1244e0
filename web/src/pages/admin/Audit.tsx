// Administration · audit log: who did what and when, filterable by action.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import { useSettings } from '../../auth/SettingsContext';
import { formatDateTime } from '../../lib/format';
import { useLoad } from '../../lib/useLoad';
import { DataTable, ErrorMessage, PageHead, Pager } from '../../components/common';

const LIMIT = 50;

export function AuditPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const [action, setAction] = useState('');
  const [offset, setOffset] = useState(0);
  const list = useLoad(() => api.audit({ action, limit: LIMIT, offset }), [action, offset]);
  const lang = i18n.resolvedLanguage ?? 'es';

  return (
    <>
      <PageHead title={t('audit.title')} />
      <div className="filters">
        <label className="field">
          <span>{t('audit.action')}</span>
          <input
            type="search"
            value={action}
            onChange={(e) => {
              setAction(e.target.value);
              setOffset(0);
            }}
          />
        </label>
      </div>
      <ErrorMessage error={list.error} onRetry={list.reload} />
      <DataTable
        items={list.data?.items}
        loading={list.loading}
        head={
          <>
            <th>{t('common.time')}</th>
            <th>{t('audit.actor')}</th>
            <th>{t('audit.action')}</th>
            <th>{t('audit.target')}</th>
            <th>{t('audit.detail')}</th>
          </>
        }
        row={(a) => (
          <tr key={a.id}>
            <td className="nowrap">{formatDateTime(a.time, tz, lang)}</td>
            <td>{a.actor}</td>
            <td>
              <code>{a.action}</code>
            </td>
            <td>{a.target}</td>
            <td>{a.detail}</td>
          </tr>
        )}
      />
      {list.data && <Pager total={list.data.total} limit={LIMIT} offset={offset} onChange={setOffset} />}
    </>
  );
}
