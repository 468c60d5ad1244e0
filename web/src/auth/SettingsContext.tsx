// Institution settings the whole UI needs, above all the time zone every
// date is shown in. Every role gets the zone from login and /auth/me; an
// administrator also reads /api/v1/settings (admin only), whose zone wins so a
// change shows at once. A zone unknown to the browser falls back to its own.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api } from '../api/client';
import type { Settings } from '../api/types';
import { isValidTimeZone } from '../lib/format';
import { useAuth } from './AuthContext';

interface SettingsValue {
  tz: string;
  settings: Settings | null;
  reload: () => void;
}

const browserTz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
const SettingsContext = createContext<SettingsValue>({ tz: browserTz, settings: null, reload: () => {} });

export function SettingsProvider({ children }: { children: ReactNode }) {
  const { user, timezone } = useAuth();
  const [settings, setSettings] = useState<Settings | null>(null);
  const [gen, setGen] = useState(0);

  useEffect(() => {
    if (!user || user.role !== 'admin') {
      setSettings(null);
      return;
    }
    let live = true;
    api
      .settings()
      .then((s) => live && setSettings(s))
      .catch(() => live && setSettings(null));
    return () => {
      live = false;
    };
  }, [user, gen]);

  const reload = useCallback(() => setGen((g) => g + 1), []);
  const tz =
    settings && isValidTimeZone(settings.timezone) ? settings.timezone : timezone && isValidTimeZone(timezone) ? timezone : browserTz;
  const value = useMemo(() => ({ tz, settings, reload }), [tz, settings, reload]);
  return <SettingsContext.Provider value={value}>{children}</SettingsContext.Provider>;
}

export function useSettings(): SettingsValue {
  return useContext(SettingsContext);
}
