// My account: change one's own password (current, new, the new one again).
// A one-time password (the first admin's, or one an admin set) brings every
// page here until it is changed; the server refuses everything else too.
// A change ends the account's other sessions; this browser gets a new one.
import { useState, type FormEvent } from 'react';
import { useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/AuthContext';
import { homeFor } from '../lib/roles';
import { ErrorMessage, PageHead } from '../components/common';

const MIN_LENGTH = 8;

export function AccountPage() {
  const { t } = useTranslation();
  const { user, changePassword } = useAuth();
  const navigate = useNavigate();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [error, setError] = useState<Error | string | null>(null);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);
  const forced = !!user?.must_change_password;
  const mismatch = again.length > 0 && next !== again;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setDone(false);
    if (next !== again) return setError(t('account.mismatch'));
    setBusy(true);
    try {
      const u = await changePassword(current, next);
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
      if (forced) navigate(homeFor(u.role), { replace: true, state: { passwordChanged: true } });
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageHead title={t('account.title')} />
      {forced && (
        <p className="notice-inline" role="status">
          {t('account.forced')}
        </p>
      )}
      <form className="card narrow" onSubmit={submit}>
        <input type="email" autoComplete="username" value={user?.email ?? ''} readOnly hidden />
        <label className="field">
          <span>{t('account.current')}</span>
          <input type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('account.new')}</span>
          <input
            type="password"
            autoComplete="new-password"
            required
            minLength={MIN_LENGTH}
            value={next}
            onChange={(e) => setNext(e.target.value)}
            aria-describedby="pw-rule"
          />
          <small id="pw-rule" className="muted">
            {t('account.tooShort')}
          </small>
        </label>
        <label className="field">
          <span>{t('account.confirm')}</span>
          <input
            type="password"
            autoComplete="new-password"
            required
            value={again}
            onChange={(e) => setAgain(e.target.value)}
            aria-invalid={mismatch}
          />
        </label>
        {mismatch && <p className="error">{t('account.mismatch')}</p>}
        <ErrorMessage error={error} />
        {done && (
          <p className="success" role="status">
            {t('account.done')}
          </p>
        )}
        <div className="form-actions">
          <button type="submit" className="btn primary" disabled={busy || mismatch}>
            {t('account.submit')}
          </button>
        </div>
      </form>
    </>
  );
}
