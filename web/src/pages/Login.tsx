// Login: email and password against /auth/login (the server sets the session
// cookie and returns the CSRF token the client keeps), then back to the page
// the user wanted or their role's home. A kiosk tablet may instead be set up
// once with a device API key, which opens the kiosk.
import { useState, type FormEvent, type SyntheticEvent } from 'react';
import { Link, Navigate, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { useAuth } from '../auth/AuthContext';
import { homeFor } from '../lib/roles';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { useErrorText } from '../components/common';
import { api } from '../api/client';
import { useLoad } from '../lib/useLoad';
import styles from './Login.module.css';

export function LoginPage() {
  const { t } = useTranslation();
  const { user, login, signInWithKey } = useAuth();
  const errorText = useErrorText();
  const [key, setKey] = useState('');
  const navigate = useNavigate();
  const location = useLocation();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const from = (location.state as { from?: string } | null)?.from;
  // The sign-up link shows only while an administrator keeps sign-up open.
  const reg = useLoad(() => api.registerInfo(), []);

  if (user) return <Navigate to={user.must_change_password ? '/account' : (from ?? homeFor(user.role))} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const u = await login(email.trim(), password);
      navigate(u.must_change_password ? '/account' : (from ?? homeFor(u.role)), { replace: true });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  async function submitKey(e: SyntheticEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signInWithKey(key.trim());
      navigate('/kiosk', { replace: true });
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className={styles.page}>
      <form className={styles.card} onSubmit={submit} aria-labelledby="login-title">
        <div className={styles.head}>
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <h1 id="login-title">{t('login.title')}</h1>
          <LanguageSwitch />
        </div>
        <label className="field">
          <span>{t('login.email')}</span>
          <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('login.password')}</span>
          <input
            type="password"
            name="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn primary wide" disabled={busy}>
          {t('login.submit')}
        </button>
        {reg.data?.enabled && (
          <p>
            <Link to="/register">{t('register.link')}</Link>
          </p>
        )}
        <details className={styles.device}>
          <summary>{t('login.deviceTitle')}</summary>
          <p className="muted">{t('login.deviceHelp')}</p>
          <div className={styles.deviceRow}>
            <label className="field">
              <span>{t('login.deviceKey')}</span>
              <input type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
            </label>
            <button type="button" className="btn" disabled={busy || !key.trim()} onClick={(e) => void submitKey(e)}>
              {t('login.deviceSubmit')}
            </button>
          </div>
        </details>
      </form>
    </main>
  );
}
