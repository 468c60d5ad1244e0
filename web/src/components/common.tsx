// Small building blocks every page uses: error line, pager, modal dialog
// (the native <dialog> element, which brings focus trapping and Escape),
// status badges, a heading row and the table every list page shows.
import { useCallback, useEffect, useRef, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../api/client';
import type { AttendanceEvent, EventStatus, EventType } from '../api/types';
import { errorText } from '../lib/errors';
import { formatDateTime } from '../lib/format';

/** The "from" and "to" date fields of a filter row (local days, YYYY-MM-DD). */
export function DateRangeFields({
  from,
  to,
  onChange,
}: {
  from: string | undefined;
  to: string | undefined;
  onChange: (which: 'from' | 'to', day: string) => void;
}) {
  const { t } = useTranslation();
  return (
    <>
      <label className="field">
        <span>{t('common.from')}</span>
        <input type="date" value={from} onChange={(e) => onChange('from', e.target.value)} />
      </label>
      <label className="field">
        <span>{t('common.to')}</span>
        <input type="date" value={to} onChange={(e) => onChange('to', e.target.value)} />
      </label>
    </>
  );
}

/** errorText bound to the current language: (error) => sentence. */
export function useErrorText(): (e: unknown) => string {
  const { t, i18n } = useTranslation();
  return useCallback((e: unknown) => errorText(t, e, (k) => i18n.exists(k)), [t, i18n]);
}

/** Whether trying again may help: not for a refusal the server decided
 * (400, 403, 404, 409, 422: the same request gets the same answer). */
function retryable(error: Error | string): boolean {
  if (!(error instanceof ApiError)) return true;
  return error.status === 0 || error.status >= 500 || error.status === 408 || error.status === 429;
}

export function ErrorMessage({ error, onRetry }: { error: Error | string | null | undefined; onRetry?: () => void }) {
  const { t } = useTranslation();
  const text = useErrorText();
  if (!error) return null;
  return (
    <div className="error" role="alert">
      <span>{typeof error === 'string' ? error : text(error)}</span>
      {onRetry && retryable(error) && (
        <button type="button" className="btn small" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

export function Loading() {
  const { t } = useTranslation();
  return (
    <p className="muted" role="status">
      {t('app.loading')}
    </p>
  );
}

export function Pager({
  total,
  limit,
  offset,
  onChange,
}: {
  total: number;
  limit: number;
  offset: number;
  onChange: (offset: number) => void;
}) {
  const { t } = useTranslation();
  const pages = Math.max(1, Math.ceil(total / limit));
  const page = Math.floor(offset / limit) + 1;
  return (
    <nav className="pager" aria-label={t('common.page', { page, pages })}>
      <button type="button" className="btn small" disabled={page <= 1} onClick={() => onChange(Math.max(0, offset - limit))}>
        {t('common.prev')}
      </button>
      <span>
        {t('common.page', { page, pages })} · {t('common.total', { count: total })}
      </span>
      <button type="button" className="btn small" disabled={page >= pages} onClick={() => onChange(offset + limit)}>
        {t('common.next')}
      </button>
    </nav>
  );
}

export function Modal({ title, open, onClose, children }: { title: string; open: boolean; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  const { t } = useTranslation();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      d.showModal();
      // Typing starts in the form: showModal focuses the first button, the
      // header's ✕, and a space typed there ("2º ESO") closed the dialog.
      const first = d.querySelector<HTMLElement>('[autofocus], :is(input, select, textarea):not([type=hidden]):not(:disabled)');
      first?.focus();
    }
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} className="modal" onClose={onClose} aria-label={title}>
      <header className="modal-head">
        <h2>{title}</h2>
        <button type="button" className="btn ghost small" onClick={onClose} aria-label={t('common.close')}>
          ✕
        </button>
      </header>
      {open && children}
    </dialog>
  );
}

export function StatusBadge({ status }: { status: EventStatus }) {
  const { t } = useTranslation();
  return <span className={`badge status-${status}`}>{t(`attendance.statuses.${status}`)}</span>;
}

export function TypeBadge({ type }: { type: EventType }) {
  const { t } = useTranslation();
  return <span className={`badge type-${type}`}>{t(`attendance.types.${type}`)}</span>;
}

/** "Corregido" beside an event a person corrected, voided or marked as not
 * this person: who and when on hover (title) and on a tap or Enter (the
 * details element opens). Nothing for an event never corrected. */
export function CorrectedMark({ corrected, tz, lang }: { corrected: AttendanceEvent['corrected']; tz: string; lang: string }) {
  const { t } = useTranslation();
  if (!corrected) return null;
  const text = t('attendance.correctedBy', { by: corrected.by, when: formatDateTime(corrected.at, tz, lang) });
  return (
    <details className="corrected">
      <summary className="badge warn" title={text}>
        {t('attendance.corrected')}
      </summary>
      <span className="corrected-by">{text}</span>
    </details>
  );
}

export function PageHead({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-head">
      <h1>{title}</h1>
      {children && <div className="page-actions">{children}</div>}
    </div>
  );
}

/** Ask before deleting; the name appears in the question. */
export function confirmDelete(t: (k: string, v?: Record<string, unknown>) => string, name: string): boolean {
  return window.confirm(t('common.confirmDelete', { name }));
}

/** A list's table: "loading" until the first answer, then the rows, or
 *  "empty" under the headings when there are none. `head` is the <th> cells. */
export function DataTable<T>({
  items,
  loading,
  head,
  row,
  label,
}: {
  items: T[] | null | undefined;
  loading: boolean;
  head: ReactNode;
  row: (item: T) => ReactNode;
  label?: string;
}) {
  const { t } = useTranslation();
  if (!items) return loading ? <Loading /> : null;
  return (
    <div className="table-wrap" tabIndex={0}>
      <table aria-label={label}>
        <thead>
          <tr>{head}</tr>
        </thead>
        <tbody>{items.map((item) => row(item))}</tbody>
      </table>
      {items.length === 0 && <p className="empty">{t('common.empty')}</p>}
    </div>
  );
}
