// Administration · users: list, create, edit (role, the groups a manager or
// auditor sees, password), enable or disable, delete.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../../api/client';
import type { Group, Person, Role, User } from '../../api/types';
import { useAuth } from '../../auth/AuthContext';
import { useSettings } from '../../auth/SettingsContext';
import { formatDateTime } from '../../lib/format';
import { takesGroups } from '../../lib/roles';
import { useAction } from '../../lib/useAction';
import { useLoad } from '../../lib/useLoad';
import { DataTable, ErrorMessage, Loading, Modal, PageHead } from '../../components/common';
import { PersonPicker } from '../../components/PersonPicker';

const ROLES: Role[] = ['admin', 'manager', 'auditor', 'member', 'device'];

export function UsersPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user: me } = useAuth();
  const list = useLoad(() => api.users({ limit: 500 }), []);
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const groups = useLoad(() => api.groups(), []);
  const action = useAction(list.reload);
  const lang = i18n.resolvedLanguage ?? 'es';

  return (
    <>
      <PageHead title={t('users.title')}>
        <button type="button" className="btn primary" onClick={() => setEditing('new')}>
          {t('users.new')}
        </button>
      </PageHead>
      <ErrorMessage error={action.error ?? list.error} onRetry={list.reload} />
      <DataTable
        items={list.data?.items}
        loading={list.loading}
        head={
          <>
            <th>{t('common.name')}</th>
            <th>{t('common.email')}</th>
            <th>{t('common.role')}</th>
            <th>{t('people.groups')}</th>
            <th>{t('users.active')}</th>
            <th>{t('users.lastLogin')}</th>
            <th className="num">{t('common.actions')}</th>
          </>
        }
        row={(u) => (
          <tr key={u.id}>
            <td className="wrap-anywhere">{u.name}</td>
            <td className="wrap-anywhere">{u.email}</td>
            <td>
              <select
                value={u.role}
                disabled={u.id === me?.id}
                aria-label={`${t('common.role')} — ${u.email}`}
                onChange={(e) => void action.run(() => api.updateUser(u.id, { role: e.target.value as Role }))}
              >
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {t(`roles.${r}`)}
                  </option>
                ))}
              </select>
            </td>
            <td>
              {!takesGroups(u.role)
                ? t('common.none')
                : u.all_groups !== false
                  ? t('users.allGroups')
                  : u.group_ids?.length
                    ? u.group_ids.map((id) => groups.data?.items.find((g) => g.id === id)?.name ?? `#${id}`).join(', ')
                    : t('users.noGroups')}
            </td>
            <td>
              <input
                type="checkbox"
                checked={u.active !== false}
                disabled={u.id === me?.id}
                aria-label={`${t('users.active')} — ${u.email}`}
                onChange={(e) => void action.run(() => api.updateUser(u.id, { active: e.target.checked }))}
              />
            </td>
            <td>
              {u.must_change_password ? (
                <span className="badge warn">{t('users.mustChange')}</span>
              ) : (
                <span className="nowrap">{formatDateTime(u.last_login_at, tz, lang)}</span>
              )}
            </td>
            <td>
              <div className="row-actions">
                <button type="button" className="btn small" onClick={() => setEditing(u)}>
                  {t('common.edit')}
                </button>
                <button
                  type="button"
                  className="btn small danger"
                  disabled={u.id === me?.id}
                  onClick={() => void action.remove(u.email, () => api.deleteUser(u.id))}
                >
                  {t('common.delete')}
                </button>
              </div>
            </td>
          </tr>
        )}
      />
      <Modal title={editing === 'new' ? t('users.new') : t('users.editUser')} open={!!editing} onClose={() => setEditing(null)}>
        {editing && (
          <UserForm
            initial={editing === 'new' ? null : editing}
            self={editing !== 'new' && editing.id === me?.id}
            groups={groups.data?.items ?? []}
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

function UserForm({
  initial,
  self,
  groups,
  onCancel,
  onSaved,
}: {
  initial: User | null;
  self: boolean;
  groups: Group[];
  onCancel: () => void;
  onSaved: () => void;
}) {
  const { t } = useTranslation();
  const [email, setEmail] = useState(initial?.email ?? '');
  const [name, setName] = useState(initial?.name ?? '');
  const [role, setRole] = useState<Role>(initial?.role ?? 'member');
  const [password, setPassword] = useState('');
  // The linked person, picked by name or code (loaded first when editing).
  const linked = useLoad(() => (initial?.person_id ? api.person(initial.person_id) : Promise.resolve(null)), [initial?.person_id]);
  const [person, setPerson] = useState<Person | null | undefined>(undefined);
  const chosen = person === undefined ? linked.data : person;
  const [groupIds, setGroupIds] = useState<number[]>(initial?.group_ids ?? []);
  const save = useAction(onSaved);

  async function submit(e: FormEvent) {
    e.preventDefault();
    // The group limit is sent only when it was set here: saving a manager for
    // another change must not turn "limited to groups that were deleted"
    // (shown as none) into "every group".
    const groupsChanged = !initial || role !== initial.role || groupIds.join() !== (initial.group_ids ?? []).join();
    const common = {
      email: email.trim(),
      name: name.trim(),
      role,
      person_id: chosen ? chosen.id : null,
      ...(groupsChanged ? { group_ids: takesGroups(role) ? groupIds : [] } : {}),
    };
    await save.run(() =>
      initial ? api.updateUser(initial.id, { ...common, ...(password ? { password } : {}) }) : api.createUser({ ...common, password }),
    );
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
          <select value={role} disabled={self} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`roles.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>{initial ? t('users.newPassword') : t('users.password')}</span>
          <input
            type="password"
            required={!initial}
            minLength={8}
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby="one-time-help"
          />
          <small id="one-time-help" className="help">
            {t('users.oneTimeHelp')}
          </small>
        </label>
        {initial?.person_id && linked.loading ? (
          <Loading />
        ) : (
          <PersonPicker label={t('users.personPick')} value={chosen ?? null} onChange={(p) => setPerson(p)} />
        )}
        {role === 'auditor' && (
          <p className="help" id="auditor-help">
            {t('users.auditorHelp')}
          </p>
        )}
        {takesGroups(role) && (
          <label className="field">
            <span>{t('users.groups')}</span>
            <select
              multiple
              size={Math.min(6, Math.max(2, groups.length))}
              value={groupIds.map(String)}
              onChange={(e) => setGroupIds(Array.from(e.target.selectedOptions, (o) => Number(o.value)))}
            >
              {groups.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <ErrorMessage error={save.error} />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn primary">
          {initial ? t('common.save') : t('common.create')}
        </button>
      </div>
    </form>
  );
}
