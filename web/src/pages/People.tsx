// People: list searchable by name or ID, filtered by group, paged; "New person" opens the form and then the
// new person's page (where faces are enrolled). An auditor reads the list only.
import { useEffect, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { canChange } from '../lib/roles';
import { useLoad } from '../lib/useLoad';
import { DataTable, ErrorMessage, Modal, PageHead, Pager } from '../components/common';
import { PersonForm } from '../components/PersonForm';
import { PersonThumb } from '../components/PersonThumb';

const LIMIT = 25;

export function PeoplePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const { user } = useAuth();
  const editor = canChange(user?.role);
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [text, setText] = useState(q);
  const [creating, setCreating] = useState(false);

  /** The address keeps the search, group, archive filter and page; a new filter starts at page 1. */
  const show = (next: { q?: string; group_id?: string; active?: string; offset?: number }) => {
    const p = new URLSearchParams();
    const nq = next.q ?? q;
    const ng = next.group_id ?? (groupId ? String(groupId) : '');
    const na = next.active ?? active;
    if (nq) p.set('q', nq);
    if (ng) p.set('group_id', ng);
    if (na !== 'true') p.set('active', na);
    if (next.offset) p.set('offset', String(next.offset));
    setParams(p, { replace: next.offset === undefined });
  };

  // Search as the user types, after a short pause.
  useEffect(() => {
    if (text === q) return;
    const id = window.setTimeout(() => show({ q: text }), 300);
    return () => window.clearTimeout(id);
    // show() reads the current address; re-run only when the text changes.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [text, q]);

  const groupId = Number(params.get('group_id')) || undefined;
  // Archived people are hidden unless asked for (the server's default too).
  const active = params.get('active') ?? 'true';
  const list = useLoad(() => api.persons({ q, group_id: groupId, active, limit: LIMIT, offset }), [q, groupId, active, offset]);
  const groups = useLoad(() => api.groups(), []);

  return (
    <>
      <PageHead title={t('people.title')}>
        {editor && (
          <>
            <Link className="btn" to="/import">
              {t('nav.import')}
            </Link>
            <button type="button" className="btn primary" onClick={() => setCreating(true)}>
              {t('people.new')}
            </button>
          </>
        )}
      </PageHead>
      <div className="filters">
        <label className="field">
          <span>{t('people.searchLabel')}</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('attendance.group')}</span>
          <select value={groupId ?? ''} onChange={(e) => show({ group_id: e.target.value })}>
            <option value="">{t('common.all')}</option>
            {groups.data?.items.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('people.show')}</span>
          <select value={active} onChange={(e) => show({ active: e.target.value })}>
            <option value="true">{t('people.showActive')}</option>
            <option value="false">{t('people.showArchived')}</option>
            <option value="all">{t('people.showAll')}</option>
          </select>
        </label>
      </div>
      <ErrorMessage error={list.error} onRetry={list.reload} />
      <DataTable
        items={list.data?.items}
        loading={list.loading}
        head={
          <>
            <th aria-label={t('people.photo', { name: '' })} />
            <th>{t('common.name')}</th>
            <th>{t('people.externalId')}</th>
            <th>{t('people.kind')}</th>
            <th>{t('people.groups')}</th>
            <th className="num">{t('people.faces')}</th>
            <th>{t('people.active')}</th>
          </>
        }
        row={(p) => (
          <tr key={p.id}>
            <td>
              <PersonThumb id={p.id} name={p.name} hasFaces={p.face_count > 0} />
            </td>
            <td>
              <Link to={`/people/${p.id}`}>{p.name}</Link>
            </td>
            <td>{p.external_id}</td>
            <td>{t(`people.kinds.${p.kind}`, { defaultValue: p.kind })}</td>
            <td>{p.groups.map((g) => g.name).join(', ') || t('common.none')}</td>
            <td className="num">{p.face_count}</td>
            <td>{p.active ? t('common.yes') : <span className="badge warn">{t('people.archived')}</span>}</td>
          </tr>
        )}
      />
      {list.data && <Pager total={list.data.total} limit={LIMIT} offset={offset} onChange={(o) => show({ offset: o })} />}
      <Modal title={t('people.new')} open={creating} onClose={() => setCreating(false)}>
        <PersonForm
          onCancel={() => setCreating(false)}
          onSubmit={async (body) => {
            const p = await api.createPerson(body);
            setCreating(false);
            navigate(`/people/${p.id}`);
          }}
        />
      </Modal>
    </>
  );
}
