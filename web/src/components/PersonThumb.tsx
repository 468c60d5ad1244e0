// A person's round photo (their best enrolled face), or their initials (also
// for an auditor, who reads no face images).
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useAuth } from '../auth/AuthContext';
import { seesFaces } from '../lib/roles';

export function PersonThumb({ id, name, hasFaces }: { id: number; name: string; hasFaces: boolean }) {
  const { t } = useTranslation();
  const { user } = useAuth();
  const [failed, setFailed] = useState(false);
  if (!hasFaces || failed || !seesFaces(user?.role)) {
    const initials = name
      .split(/\s+/)
      .filter(Boolean)
      .slice(0, 2)
      .map((w) => w[0]?.toUpperCase())
      .join('');
    return (
      <span className="thumb initials" aria-hidden="true">
        {initials}
      </span>
    );
  }
  return (
    <img className="thumb" src={api.personPhotoUrl(id)} alt={t('people.photo', { name })} loading="lazy" onError={() => setFailed(true)} />
  );
}
