// A group picker: for filters, "all" (or the given wording) and the groups the
// caller may see (a limited manager gets only theirs from the server); with
// `required`, one of them must be chosen and the first is chosen at once
// (a new person's group, for a manager limited to groups).
import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useLoad } from '../lib/useLoad';

export function GroupSelect({
  value,
  onChange,
  allLabel,
  hideLabel = false,
  required = false,
  name,
}: {
  value: number | undefined;
  onChange: (id: number | undefined) => void;
  allLabel?: string;
  hideLabel?: boolean;
  required?: boolean;
  name?: string;
}) {
  const { t } = useTranslation();
  const groups = useLoad(() => api.groups(), []);
  const first = groups.data?.items[0]?.id;
  useEffect(() => {
    if (required && value === undefined && first !== undefined) onChange(first);
  }, [required, value, first, onChange]);
  return (
    <label className="field">
      <span className={hideLabel ? 'sr-only' : undefined}>{t('attendance.group')}</span>
      <select
        name={name}
        required={required}
        aria-label={t('attendance.group')}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value ? Number(e.target.value) : undefined)}
      >
        {!required && <option value="">{allLabel ?? t('common.all')}</option>}
        {groups.data?.items.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
    </label>
  );
}
