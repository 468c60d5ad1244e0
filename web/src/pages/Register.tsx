// The public self-registration page (when an administrator opened it): a new
// student gives first and last name, e-mail, group and three photos, and
// consents to their use. The server puts the photos through the enrollment
// policy and keeps the person pending until a manager of the group approves
// it; refused photos come back with a reason code per photo.
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api, ApiError } from '../api/client';
import { LanguageSwitch } from '../components/LanguageSwitch';
import { ErrorMessage, Loading, useErrorText } from '../components/common';
import { enrollReason } from '../lib/enrollReason';
import { useLoad } from '../lib/useLoad';
import styles from './Login.module.css';

interface PhotoResult {
  file: string;
  accepted: boolean;
  code: string | null;
}

export function RegisterPage() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const info = useLoad(() => api.registerInfo(), []);
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [email, setEmail] = useState('');
  const [group, setGroup] = useState('');
  const [photos, setPhotos] = useState<(File | null)[]>([null, null, null]);
  const [consent, setConsent] = useState(false);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [refused, setRefused] = useState<PhotoResult[] | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setRefused(null);
    try {
      await api.register({
        first_name: first.trim(),
        last_name: last.trim(),
        email: email.trim(),
        group_id: Number(group),
        consent,
        photos: photos.filter((p): p is File => !!p),
      });
      setDone(true);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'photos_refused' && Array.isArray(err.params.results))
        setRefused(err.params.results as PhotoResult[]);
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  }

  const head = (
    <div className={styles.head}>
      <img src="/favicon.svg" alt="" width={40} height={40} />
      <h1 id="register-title">{t('register.title')}</h1>
      <LanguageSwitch />
    </div>
  );
  if (info.error)
    return (
      <main className={styles.page}>
        <ErrorMessage error={info.error} onRetry={info.reload} />
      </main>
    );
  if (!info.data) return <Loading />;
  if (!info.data.enabled || done)
    return (
      <main className={styles.page}>
        <section className={styles.card} aria-labelledby="register-title">
          {head}
          <p role="status">{done ? t('register.done') : t('register.closed')}</p>
          <Link to="/login">{t('register.backToLogin')}</Link>
        </section>
      </main>
    );

  return (
    <main className={styles.page}>
      <form className={styles.card} onSubmit={submit} aria-labelledby="register-title">
        {head}
        {info.data.institution.name && <p className="muted">{info.data.institution.name}</p>}
        <p className="muted">{t('register.intro')}</p>
        <label className="field">
          <span>{t('fields.first_name')}</span>
          <input required maxLength={63} autoComplete="given-name" value={first} onChange={(e) => setFirst(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('fields.last_name')}</span>
          <input required maxLength={63} autoComplete="family-name" value={last} onChange={(e) => setLast(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('fields.email')}</span>
          <input type="email" required maxLength={254} autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span>{t('register.group')}</span>
          <select required value={group} onChange={(e) => setGroup(e.target.value)}>
            <option value="">{t('register.chooseGroup')}</option>
            {info.data.groups.map((g) => (
              <option key={g.id} value={g.id}>
                {g.name}
              </option>
            ))}
          </select>
        </label>
        {photos.map((_, i) => (
          <label className="field" key={i}>
            <span>{t('register.photo', { n: i + 1 })}</span>
            <input
              type="file"
              accept="image/jpeg,image/png"
              capture="user"
              required
              onChange={(e) => {
                const f = e.target.files?.[0] ?? null;
                setPhotos((ps) => ps.map((p, k) => (k === i ? f : p)));
              }}
            />
            {refused?.[i] && (
              <small className={refused[i].accepted ? 'help' : 'error'}>
                {refused[i].accepted ? t('register.photoOk') : enrollReason({ code: refused[i].code }, t)}
              </small>
            )}
          </label>
        ))}
        <label className="field check">
          <input type="checkbox" required checked={consent} onChange={(e) => setConsent(e.target.checked)} />
          <span>{t('register.consent')}</span>
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
            {refused && ` ${t('register.refused')}`}
          </p>
        )}
        <button type="submit" className="btn primary wide" disabled={busy}>
          {busy ? t('register.sending') : t('register.submit')}
        </button>
        <Link to="/login">{t('register.backToLogin')}</Link>
      </form>
    </main>
  );
}
