// The frame around every page except login and kiosk: a navigation bar whose
// links depend on the user's role, the language switch and logout. On narrow
// screens (a tablet held upright) the navigation folds behind a menu button.
import { useEffect, useRef, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { kioskCameras } from '../lib/kiosk';
import { canOpen, type Area } from '../lib/roles';
import { useLoad } from '../lib/useLoad';
import { LanguageSwitch } from './LanguageSwitch';
import { ErrorMessage, Modal } from './common';
import styles from './Layout.module.css';

interface Item {
  to: string;
  label: string;
  area: Area;
}

const ITEMS: Item[] = [
  { to: '/dashboard', label: 'nav.dashboard', area: 'dashboard' },
  { to: '/checkin', label: 'nav.checkin', area: 'checkin' },
  { to: '/my-data', label: 'nav.myData', area: 'mydata' },
  { to: '/people', label: 'nav.people', area: 'people' },
  { to: '/registrations', label: 'nav.registrations', area: 'registrations' },
  { to: '/import', label: 'nav.import', area: 'import' },
  { to: '/groups', label: 'nav.groups', area: 'groups' },
  { to: '/holidays', label: 'nav.holidays', area: 'groups' },
  { to: '/attendance', label: 'nav.attendance', area: 'attendance' },
  { to: '/correction-requests', label: 'nav.requests', area: 'requests' },
  { to: '/review', label: 'nav.review', area: 'review' },
  { to: '/reports', label: 'nav.reports', area: 'reports' },
  { to: '/cameras', label: 'nav.cameras', area: 'cameras' },
  { to: '/admin/users', label: 'nav.users', area: 'admin' },
  { to: '/admin/api-keys', label: 'nav.apiKeys', area: 'admin' },
  { to: '/admin/settings', label: 'nav.settings', area: 'admin' },
  { to: '/admin/audit', label: 'nav.audit', area: 'admin' },
];

export function Layout() {
  const { t } = useTranslation();
  const { user, logout, keepAsKiosk } = useAuth();
  const [open, setOpen] = useState(false);
  const location = useLocation();
  const items = ITEMS.filter((i) => canOpen(user?.role, i.area));
  const navigate = useNavigate();
  const menuButton = useRef<HTMLButtonElement>(null);
  const mainRef = useRef<HTMLElement>(null);
  // The page's section names the tab ("Personas · Rollcall"), and after a
  // move within the app the focus goes to the page (a screen reader says
  // where it is; it stayed on <body> before).
  const section = ITEMS.find((i) => location.pathname === i.to || location.pathname.startsWith(`${i.to}/`));
  const sectionTitle = section ? t(section.label) : '';
  useEffect(() => {
    document.title = sectionTitle ? `${sectionTitle} · ${t('app.name')}` : t('app.name');
  }, [sectionTitle, t]);
  const moved = useRef(false); // not on the first page shown
  useEffect(() => {
    if (moved.current) mainRef.current?.focus();
    moved.current = true;
  }, [location.pathname]);
  // Escape closes the phone menu and gives the focus back to its button.
  useEffect(() => {
    if (!open) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      menuButton.current?.focus();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [open]);
  // The kiosk is not a page to browse to: starting it says what it takes to
  // leave (the kiosk PIN or an administrator's password).
  const [askKiosk, setAskKiosk] = useState(false);
  // A tablet left at the door: this browser gets a device key of its own, so
  // the kiosk does not close when the admin's 12-hour session ends.
  const [keep, setKeep] = useState(false);
  const [keepCamera, setKeepCamera] = useState('');
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<Error | null>(null);
  const cameras = useLoad(() => (askKiosk && keep ? api.cameras() : Promise.resolve(null)), [askKiosk, keep]);
  const choices = cameras.data ? kioskCameras(cameras.data.items) : [];

  async function startKiosk() {
    if (!keep) {
      setAskKiosk(false);
      navigate('/kiosk');
      return;
    }
    setStarting(true);
    setStartError(null);
    try {
      const cam = choices.find((c) => String(c.id) === keepCamera);
      const when = new Date().toLocaleString();
      await keepAsKiosk(t('kiosk.keepKeyName', { when, camera: cam?.name ?? t('kiosk.keepNoCamera') }), cam ? cam.id : null);
      setAskKiosk(false);
      navigate('/kiosk', { replace: true });
    } catch (e) {
      setStartError(e as Error);
    } finally {
      setStarting(false);
    }
  }

  return (
    <div className={styles.shell}>
      <a className="skip" href="#main">
        {t('app.skip')}
      </a>
      <header className={styles.top}>
        <button
          ref={menuButton}
          type="button"
          className={`btn ghost ${styles.menuButton}`}
          aria-expanded={open}
          aria-controls="main-nav"
          onClick={() => setOpen((o) => !o)}
        >
          ☰ <span className="sr-only">{t('app.menu')}</span>
        </button>
        <span className={styles.brand}>{t('app.name')}</span>
        <div className={styles.user}>
          <LanguageSwitch />
          {user && (
            <span className={styles.who}>
              {user.name} · <span className="muted">{t(`roles.${user.role}`)}</span>
            </span>
          )}
          <Link className={`btn small ${styles.account}`} to="/account">
            {t('app.changePassword')}
          </Link>
          <button type="button" className="btn small" onClick={() => void logout()}>
            {t('app.logout')}
          </button>
        </div>
      </header>
      <nav id="main-nav" className={`${styles.nav} ${open ? styles.navOpen : ''}`} aria-label={t('app.menu')}>
        <ul>
          {items.map((i) => (
            <li key={i.to}>
              <NavLink to={i.to} className={({ isActive }) => (isActive ? styles.active : undefined)} onClick={() => setOpen(false)}>
                {t(i.label)}
              </NavLink>
            </li>
          ))}
        </ul>
        {canOpen(user?.role, 'kiosk') && (
          <div className={styles.kioskStart}>
            <button type="button" className="btn small" onClick={() => setAskKiosk(true)}>
              {t('nav.startKiosk')}
            </button>
          </div>
        )}
      </nav>
      <Modal title={t('kiosk.startTitle')} open={askKiosk} onClose={() => setAskKiosk(false)}>
        <div>
          <p>{t('kiosk.startWarning')}</p>
          <label className="field check">
            <input type="checkbox" checked={keep} onChange={(e) => setKeep(e.target.checked)} />
            <span>{t('kiosk.keep')}</span>
          </label>
          <p className="muted">{t('kiosk.keepHelp')}</p>
          {keep && choices.length > 0 && (
            <label className="field">
              <span>{t('kiosk.keepCamera')}</span>
              <select value={keepCamera} onChange={(e) => setKeepCamera(e.target.value)}>
                <option value="">{t('kiosk.keepNoCamera')}</option>
                {choices.map((c) => (
                  <option key={c.id} value={String(c.id)}>
                    {c.name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <ErrorMessage error={startError ?? (keep ? cameras.error : null)} />
          <div className="form-actions">
            <button type="button" className="btn" onClick={() => setAskKiosk(false)}>
              {t('common.cancel')}
            </button>
            <button type="button" className="btn primary" disabled={starting} onClick={() => void startKiosk()}>
              {t('kiosk.startConfirm')}
            </button>
          </div>
        </div>
      </Modal>
      <main id="main" ref={mainRef} tabIndex={-1} className={styles.main} key={location.pathname.split('/')[1]}>
        <Outlet />
      </main>
    </div>
  );
}
