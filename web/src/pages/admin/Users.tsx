// Administration · users: list, create, change role, enable or disable, delete.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { Role, User } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { useSettings } from '../../auth/SettingsContext';
import { formatDateTime } from '../../lib/format';
import { useLoad } from '../../lib/useLoad';
import { confirmDelete, ErrorMessage, Loading, Modal, PageHead } from '../../components/common';

const ROLES: Role[] = ['admin', 'manager', 'member', 'device'];

export function UsersPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user: me } = useAuth();
  const list = useLoad(() => api.users({ limit: 500 }), []);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  const lang = i18n.resolvedLanguage ?? 'es';

  async function setRole(u: User, role: Role) {
    setError(null);
    try {
      await api.updateUser(u.id, { role });
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  }

  async function setActive(u: User, active: boolean) {
    setError(null);
    try {
      await api.updateUser(u.id, { active });
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  }

  async function remove(u: User) {
    if (!confirmDelete(t, u.email)) return;
    try {
      await api.deleteUser(u.id);
      list.reload();
    } catch (e) {
      setError(e as Error);
    }
  }

  return (
    <>
      <PageHead title={t('users.title')}>
        <button type="button" className="btn primary" onClick={() => setCreating(true)}>
          {t('users.new')}
        </button>
      </PageHead>
      <ErrorMessage error={error ?? list.error} onRetry={list.reload} />
      {list.loading && !list.data && <Loading />}
      {list.data && (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th>{t('common.name')}</th>
                <th>{t('common.email')}</th>
                <th>{t('common.role')}</th>
                <th>{t('users.active')}</th>
                <th>{t('users.lastLogin')}</th>
                <th className="num">{t('common.actions')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>
                    <select
                      value={u.role}
                      disabled={u.id === me?.id}
                      aria-label={`${t('common.role')} — ${u.email}`}
                      onChange={(e) => void setRole(u, e.target.value as Role)}
                    >
                      {ROLES.map((r) => (
                        <option key={r} value={r}>
                          {t(`roles.${r}`)}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <input
                      type="checkbox"
                      checked={u.active !== false}
                      disabled={u.id === me?.id}
                      aria-label={`${t('users.active')} — ${u.email}`}
                      onChange={(e) => void setActive(u, e.target.checked)}
                    />
                  </td>
                  <td className="nowrap">{formatDateTime(u.last_login_at, tz, lang)}</td>
                  <td>
                    <div className="row-actions">
                      <button type="button" className="btn small danger" disabled={u.id === me?.id} onClick={() => void remove(u)}>
                        {t('common.delete')}
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Modal title={t('users.new')} open={creating} onClose={() => setCreating(false)}>
        <UserForm
          onCancel={() => setCreating(false)}
          onSaved={() => {
            setCreating(false);
            list.reload();
          }}
        />
      </Modal>
    </>
  );
}

function UserForm({ onCancel, onSaved }: { onCancel: () => void; onSaved: () => void }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState('');
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('member');
  const [password, setPassword] = useState('');
  const [personId, setPersonId] = useState('');
  const [error, setError] = useState<Error | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await api.createUser({ email: email.trim(), name: name.trim(), role, password, person_id: personId ? Number(personId) : null });
      onSaved();
    } catch (err) {
      setError(err as Error);
    }
  }

  return (
    <form onSubmit={submit}>
      <div className="form-grid">
        <label className="field">
          <span>{t('common.email')}</span>
          <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('common.name')}</span>
          <input required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('common.role')}</span>
          <select value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{t('users.password')}</span>
          <input
            type="password"
            required
            minLength={8}
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <label className="field">
          <span>{t('users.person')}</span>
          <input type="number" min={1} value={personId} onChange={(e) => setPersonId(e.target.value)} />
        </label>
      </div>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn primary">
          {t('common.create')}
        </button>
      </div>
    </form>
  );
}
