// Groups: list with member counts; create and delete (not for a manager
// limited to groups: both concern every group; not for an auditor, who
// reads only). Each group's page has its members and weekly timetable.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { canChange, limitedToGroups } from '../lib/roles';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { DataTable, ErrorMessage, Modal, PageHead } from '../components/common';

export function GroupsPage() {
  const { t } = useTranslation();
  const { user } = useAuth();
  const limited = limitedToGroups(user) || !canChange(user?.role);
  const list = useLoad(() => api.groups(), []);
  const [creating, setCreating] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const action = useAction(list.reload);
  const error = action.error;

  async function create(e: FormEvent) {
    e.preventDefault();
    if (!(await action.run(() => api.createGroup({ name: name.trim(), description: description.trim() })))) return;
    setCreating(false);
    setName('');
    setDescription('');
  }

  return (
    <>
      <PageHead title={t('groups.title')}>
        <Link className="btn" to="/holidays">
          {t('nav.holidays')}
        </Link>
        {!limited && (
          <button type="button" className="btn primary" onClick={() => setCreating(true)}>
            {t('groups.new')}
          </button>
        )}
      </PageHead>
      <ErrorMessage error={list.error ?? (creating ? null : error)} onRetry={list.reload} />
      <DataTable
        items={list.data?.items}
        loading={list.loading}
        head={
          <>
            <th>{t('common.name')}</th>
            <th>{t('common.description')}</th>
            <th className="num">{t('groups.members')}</th>
            <th className="num">{t('common.actions')}</th>
          </>
        }
        row={(g) => (
          <tr key={g.id}>
            <td>
              <Link to={`/groups/${g.id}`}>{g.name}</Link>
            </td>
            <td>{g.description}</td>
            <td className="num">{g.member_count}</td>
            <td>
              <div className="row-actions">
                <Link className="btn small" to={`/groups/${g.id}`}>
                  {t('common.open')}
                </Link>
                {!limited && (
                  <button
                    type="button"
                    className="btn small danger"
                    onClick={() => void action.remove(g.name, () => api.deleteGroup(g.id))}
                  >
                    {t('common.delete')}
                  </button>
                )}
              </div>
            </td>
          </tr>
        )}
      />
      <Modal title={t('groups.new')} open={creating} onClose={() => setCreating(false)}>
        <form onSubmit={create}>
          <div className="form-grid">
            <label className="field">
              <span>{t('common.name')}</span>
              <input required value={name} onChange={(e) => setName(e.target.value)} />
            </label>
            <label className="field">
              <span>{t('common.description')}</span>
              <input value={description} onChange={(e) => setDescription(e.target.value)} />
            </label>
          </div>
          <ErrorMessage error={error} />
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setCreating(false)}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="btn primary">
              {t('common.create')}
            </button>
          </div>
        </form>
      </Modal>
    </>
  );
}
