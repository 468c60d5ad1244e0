// The logged-in user for the whole UI: asks /auth/me on start (the session
// cookie survives reloads; a kiosk's device key is kept in localStorage),
// logs in and out, and drops the user when the API answers 401 so the router
// sends them to the login page.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api } from '../api/client';
import type { Institution, KeyCamera, Session, User } from '../api/types';

interface AuthValue {
  user: User | null;
  /** The institution's time zone, from login and /auth/me (every role). */
  timezone: string | null;
  /** The institution's name and logo (settings), shown by the kiosk. */
  institution: Institution;
  /** A device key's camera (its direction decides the kiosk's buttons). */
  keyCamera: KeyCamera | null;
  loading: boolean;
  login: (email: string, password: string) => Promise<User>;
  /** Change one's own password (ends the account's other sessions). */
  changePassword: (current: string, next: string) => Promise<User>;
  /** Sign in a kiosk with a device API key (kept in this browser). */
  signInWithKey: (key: string) => Promise<User>;
  /** An admin turns this browser into a kiosk that stays signed in: a
   * device key made for it alone (bound to a camera or not), the admin's
   * session here ended; leaving that kiosk later revokes the key. */
  keepAsKiosk: (name: string, cameraId: number | null) => Promise<User>;
  logout: () => Promise<void>;
}

/** Where a kiosk tablet keeps its device key. */
export const DEVICE_KEY_STORAGE = 'rollcall.deviceKey';
/** Set when the key was made by keepAsKiosk: leaving the kiosk revokes it. */
export const KIOSK_KEY_OWNED_STORAGE = 'rollcall.deviceKeyOwned';

const AuthContext = createContext<AuthValue | null>(null);
const NO_INSTITUTION: Institution = { name: '', logo_url: null };

export function AuthProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<User | null>(null);
  const [timezone, setTimezone] = useState<string | null>(null);
  const [institution, setInstitution] = useState<Institution>(NO_INSTITUTION);
  const [keyCamera, setKeyCamera] = useState<KeyCamera | null>(null);
  const [loading, setLoading] = useState(true);
  const take = useCallback((s: Session) => {
    setTimezone(s.timezone);
    setInstitution((s.institution as Institution | undefined) ?? NO_INSTITUTION);
    setKeyCamera((s.camera as KeyCamera | undefined) ?? null);
    setUser(s.user);
    return s.user;
  }, []);

  useEffect(() => {
    api.onUnauthorized = () => setUser(null);
    api.setBearer(localStorage.getItem(DEVICE_KEY_STORAGE));
    let live = true;
    api
      .me()
      .then((s) => {
        if (live) take(s);
      })
      .catch(() => live && setUser(null))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
      api.onUnauthorized = null;
    };
  }, [take]);

  const login = useCallback(async (email: string, password: string) => take(await api.login(email, password)), [take]);
  const changePassword = useCallback(async (current: string, next: string) => take(await api.changePassword(current, next)), [take]);

  const signInWithKey = useCallback(
    async (key: string) => {
      api.setBearer(key);
      try {
        const s = await api.me();
        localStorage.setItem(DEVICE_KEY_STORAGE, key);
        localStorage.removeItem(KIOSK_KEY_OWNED_STORAGE); /* a key given here is not ours to revoke */
        return take(s);
      } catch (e) {
        api.setBearer(null);
        throw e;
      }
    },
    [take],
  );

  const keepAsKiosk = useCallback(
    async (name: string, cameraId: number | null) => {
      const k = await api.createApiKey({ name, role: 'device', camera_id: cameraId });
      const csrf = api.csrfToken;
      let u: User;
      try {
        u = await signInWithKey(k.key);
      } catch (e) {
        // Still the admin (signInWithKey went back to the session): the key
        // nobody holds is not left behind.
        await api.deleteApiKey(k.id).catch(() => undefined);
        throw e;
      }
      localStorage.setItem(KIOSK_KEY_OWNED_STORAGE, String(k.id));
      // the admin's session does not stay behind on a tablet at the door
      await api.logoutSession(csrf).catch(() => undefined);
      return u;
    },
    [signInWithKey],
  );

  const logout = useCallback(async () => {
    try {
      if (api.usesKey) {
        localStorage.removeItem(DEVICE_KEY_STORAGE);
        localStorage.removeItem(KIOSK_KEY_OWNED_STORAGE);
        api.setBearer(null);
      } else {
        await api.logout();
      }
    } finally {
      setUser(null);
    }
  }, []);

  const value = useMemo(
    () => ({ user, timezone, institution, keyCamera, loading, login, changePassword, signInWithKey, keepAsKiosk, logout }),
    [user, timezone, institution, keyCamera, loading, login, changePassword, signInWithKey, keepAsKiosk, logout],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthValue {
  const v = useContext(AuthContext);
  if (!v) throw new Error('useAuth outside AuthProvider');
  return v;
}
