// People: searchable, paged list; "New person" opens the form and then the
// new person's page (where faces are enrolled).
import { useEffect, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading, Modal, PageHead, Pager } from '../components/common';
import { PersonForm } from '../components/PersonForm';
import { PersonThumb } from '../components/PersonThumb';

const LIMIT = 25;

export function PeoplePage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const offset = Number(params.get('offset') ?? 0) || 0;
  const [text, setText] = useState(q);
  const [creating, setCreating] = useState(false);

  // Search as the user types, after a short pause.
  useEffect(() => {
    if (text === q) return;
    const id = window.setTimeout(() => setParams(text ? { q: text } : {}, { replace: true }), 300);
    return () => window.clearTimeout(id);
  }, [text, q, setParams]);

  const list = useLoad(() => api.persons({ q, limit: LIMIT, offset }), [q, offset]);

  return (
    <>
      <PageHead title={t('people.title')}>
        <Link className="btn" to="/import">
          {t('nav.import')}
        </Link>
        <button type="button" className="btn primary" onClick={() => setCreating(true)}>
          {t('people.new')}
        </button>
      </PageHead>
      <div className="filters">
        <label className="field">
          <span>{t('people.searchLabel')}</span>
          <input type="search" value={text} onChange={(e) => setText(e.target.value)} />
        </label>
      </div>
      <ErrorMessage error={list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th aria-label={t('people.photo', { name: '' })} />
                  <th>{t('common.name')}</th>
                  <th>{t('people.externalId')}</th>
                  <th>{t('people.kind')}</th>
                  <th>{t('people.groups')}</th>
                  <th className="num">{t('people.faces')}</th>
                  <th>{t('people.active')}</th>
                </tr>
              </thead>
              <tbody>
                {list.data.items.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <PersonThumb id={p.id} name={p.name} hasFaces={p.face_count > 0} />
                    </td>
                    <td>
                      <Link to={`/people/${p.id}`}>{p.name}</Link>
                    </td>
                    <td>{p.external_id}</td>
                    <td>{t(`people.kinds.${p.kind}`)}</td>
                    <td>{p.groups.map((g) => g.name).join(', ') || t('common.none')}</td>
                    <td className="num">{p.face_count}</td>
                    <td>{p.active ? t('common.yes') : t('common.no')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {list.data.items.length === 0 && <p className="empty">{t('common.empty')}</p>}
          </div>
          <Pager
            total={list.data.total}
            limit={LIMIT}
            offset={offset}
            onChange={(o) => setParams({ ...(q ? { q } : {}), offset: String(o) })}
          />
        </>
      )}
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
