// Create or edit a person's details (used by the People list and a person's
// page). A new person can join a group at once; a manager limited to groups
// must choose one of theirs (the server refuses a person outside them all),
// so for them the choice is required and starts on their first group.
import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Person, PersonInput, PersonKind } from '../api/types';
import { useAuth } from '../auth/AuthContext';
import { ErrorMessage } from './common';
import { GroupSelect } from './GroupSelect';
import { limitedToGroups } from '../lib/roles';

const KINDS: PersonKind[] = ['student', 'teacher', 'employee', 'other'];

export function PersonForm({
  initial,
  onSubmit,
  onCancel,
}: {
  initial?: Person;
  onSubmit: (p: PersonInput) => Promise<void>;
  onCancel: () => void;
}) {
  const { t } = useTranslation();
  const [p, setP] = useState<PersonInput>({
    external_id: initial?.external_id ?? '',
    first_name: initial?.first_name ?? '',
    last_name: initial?.last_name ?? '',
    email: initial?.email ?? '',
    // A kind the API does not know (written by an import before kinds were
    // mapped) is edited as "Otro": the API would refuse to save it.
    kind: !initial ? 'student' : KINDS.includes(initial.kind) ? initial.kind : 'other',
    active: initial?.active ?? true,
  });
  const [consent, setConsent] = useState(!!initial?.consent_at);
  const { user } = useAuth();
  const limited = limitedToGroups(user);
  const [group, setGroup] = useState<number | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof PersonInput>(k: K, v: PersonInput[K]) => setP((o) => ({ ...o, [k]: v }));

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: PersonInput = { ...p, email: p.email?.trim() ? p.email.trim() : null };
      if (consent && !initial?.consent_at) body.consent_at = new Date().toISOString();
      if (!consent) body.consent_at = null;
      if (!initial && group !== undefined) body.group_ids = [group];
      await onSubmit(body);
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <form onSubmit={submit}>
      <div className="form-grid">
        <label className="field">
          <span>{t('people.externalId')}</span>
          <input name="external_id" required value={p.external_id} onChange={(e) => set('external_id', e.target.value)} />
        </label>
        <label className="field">
          <span>{t('people.firstName')}</span>
          <input name="first_name" required value={p.first_name} onChange={(e) => set('first_name', e.target.value)} />
        </label>
        <label className="field">
          <span>{t('people.lastName')}</span>
          <input name="last_name" value={p.last_name} onChange={(e) => set('last_name', e.target.value)} />
        </label>
        <label className="field">
          <span>{t('common.email')}</span>
          <input name="email" type="email" value={p.email ?? ''} onChange={(e) => set('email', e.target.value)} />
        </label>
        <label className="field">
          <span>{t('people.kind')}</span>
          <select name="kind" value={p.kind} onChange={(e) => set('kind', e.target.value as PersonKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`people.kinds.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {!initial && <GroupSelect name="group" value={group} onChange={setGroup} required={limited} allLabel={t('people.noGroup')} />}
        <label className="field check">
          <input type="checkbox" checked={p.active ?? true} onChange={(e) => set('active', e.target.checked)} />
          <span>{t('people.active')}</span>
        </label>
        <label className="field check">
          <input type="checkbox" checked={consent} onChange={(e) => setConsent(e.target.checked)} />
          <span>{t('people.consentGiven')}</span>
        </label>
      </div>
      <ErrorMessage error={error} />
      <div className="form-actions">
        <button type="button" className="btn" onClick={onCancel}>
          {t('common.cancel')}
        </button>
        <button type="submit" className="btn primary" disabled={busy}>
          {t('common.save')}
        </button>
      </div>
    </form>
  );
}
