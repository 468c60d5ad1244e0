// Spanish / English switch; i18next remembers the choice in localStorage.
import { useTranslation } from 'react-i18next';
import { LANGUAGES } from '../i18n';

export function LanguageSwitch({ className }: { className?: string }) {
  const { t, i18n } = useTranslation();
  const current = (i18n.resolvedLanguage ?? 'es').slice(0, 2);
  return (
    <label className={`lang ${className ?? ''}`}>
      <span className="sr-only">{t('app.language')}</span>
      <select value={current} onChange={(e) => void i18n.changeLanguage(e.target.value)} aria-label={t('app.language')}>
        {LANGUAGES.map((l) => (
          <option key={l.code} value={l.code}>
            {l.label}
          </option>
        ))}
      </select>
    </label>
  );
}
