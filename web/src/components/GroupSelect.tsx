// A group picker for filters: "all" (or the given wording) and the groups the
// caller may see (a limited manager gets only theirs from the server).
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import { useLoad } from '../lib/useLoad';

export function GroupSelect({
  value,
  onChange,
  allLabel,
  hideLabel = false,
}: {
  value: number | undefined;
  onChange: (id: number | undefined) => void;
  allLabel?: string;
  hideLabel?: boolean;
}) {
  const { t } = useTranslation();
  const groups = useLoad(() => api.groups(), []);
  return (
    <label className="field">
      <span className={hideLabel ? 'sr-only' : undefined}>{t('attendance.group')}</span>
      <select
        aria-label={t('attendance.group')}
        value={value ?? ''}
        onChange={(e) => onChange(e.target.value ? Number(e.target.value) : undefined)}
      >
        <option value="">{allLabel ?? t('common.all')}</option>
        {groups.data?.items.map((g) => (
          <option key={g.id} value={g.id}>
            {g.name}
          </option>
        ))}
      </select>
    </label>
  );
}
