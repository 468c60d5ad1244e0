// One group: name and description, members (add by search with the day they
// joined, default today; remove), the weekly timetable, and whether its
// managers get the absentee list of each slot. An auditor reads them only.
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { Person } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { useSettings } from '../auth/SettingsContext';
import { canChange } from '../lib/roles';
import { formatDate } from '../lib/format';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import { ErrorMessage, Loading, PageHead } from '../components/common';
import { PersonPicker } from '../components/PersonPicker';
import { Timetable } from '../components/Timetable';

export function GroupPage() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const { user } = useAuth();
  const editor = canChange(user?.role);
  const id = Number(useParams().id);
  const group = useLoad(() => api.group(id), [id]);
  const members = useLoad(() => api.groupMembers(id), [id]);
  const [pick, setPick] = useState<Person | null>(null);
  const [pickKey, setPickKey] = useState(0);
  const [joined, setJoined] = useState('');
  const action = useAction(() => {
    members.reload();
    group.reload();
  });
  const error = action.error;

  if (group.error) return <ErrorMessage error={group.error} onRetry={group.reload} />;
  if (!group.data) return <Loading />;

  async function add() {
    if (!pick || !(await action.run(() => api.addGroupMember(id, pick.id, joined || undefined)))) return;
    setPick(null);
    setPickKey((k) => k + 1);
  }

  /* Asked first: the button sits beside the name, easy to mis-tap on a phone. */
  const remove = (p: Person) =>
    window.confirm(t('groups.removeConfirm', { name: p.name, group: group.data?.name ?? '' })) &&
    action.run(() => api.removeGroupMember(id, p.id));

  return (
    <>
      <PageHead title={group.data.name} />
      {group.data.description && <p className="muted">{group.data.description}</p>}
      {editor && (
        <label className="field check">
          <input
            type="checkbox"
            checked={!!group.data.notify_absentees}
            onChange={(e) => void action.run(() => api.updateGroup(id, { notify_absentees: e.target.checked }))}
          />
          <span>{t('groups.notifyAbsentees')}</span>
        </label>
      )}
      <section className="card" aria-labelledby="tt-h">
        <h2 id="tt-h">{t('groups.timetable')}</h2>
        <Timetable groupId={id} editable={editor} />
      </section>
      <section className="card" aria-labelledby="members-h">
        <h2 id="members-h">
          {t('groups.members')} ({group.data.member_count})
        </h2>
        {editor && (
          <div className="filters">
            <PersonPicker key={pickKey} label={t('groups.findPerson')} value={pick} onChange={setPick} />
            <label className="field">
              <span>{t('groups.joinedOn')}</span>
              <input type="date" value={joined} onChange={(e) => setJoined(e.target.value)} />
            </label>
            <button type="button" className="btn primary" disabled={!pick} onClick={() => void add()}>
              {t('groups.addMember')}
            </button>
          </div>
        )}
        <ErrorMessage error={error ?? members.error} />
        {members.data && (
          <div className="table-wrap" tabIndex={0}>
            <table>
              <thead>
                <tr>
                  <th>{t('common.name')}</th>
                  <th>{t('people.externalId')}</th>
                  <th>{t('groups.joinedOn')}</th>
                  {editor && <th className="num">{t('common.actions')}</th>}
                </tr>
              </thead>
              <tbody>
                {members.data.items.map((p) => (
                  <tr key={p.id}>
                    <td>
                      <Link to={`/people/${p.id}`}>{p.name}</Link>
                    </td>
                    <td>{p.external_id}</td>
                    <td className="nowrap">{p.joined_on ? formatDate(p.joined_on, tz, i18n.resolvedLanguage ?? 'es') : ''}</td>
                    {editor && (
                      <td>
                        <div className="row-actions">
                          <button type="button" className="btn small danger" onClick={() => void remove(p)}>
                            {t('groups.remove')}
                          </button>
                        </div>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
            {members.data.items.length === 0 && <p className="empty">{t('common.empty')}</p>}
          </div>
        )}
      </section>
    </>
  );
}
