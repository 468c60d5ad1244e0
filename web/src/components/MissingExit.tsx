// "Falta la salida": a person's stays with no exit once their last slot
// ended more than slot_margin_min ago (the summary's missing_exits).
import { useTranslation } from 'react-i18next';

export function MissingExit({ count }: { count: number }) {
  const { t } = useTranslation();
  if (!count) return null;
  return (
    <span className="badge warn missing-exit" title={t('attendance.missingExitHint')}>
      {count > 1 ? t('attendance.missingExits', { count }) : t('attendance.missingExit')}
    </span>
  );
}
