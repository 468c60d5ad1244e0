// Run a change on the server from a page (create, update, delete): clears the
// last error, runs the request, calls onDone (usually the list's reload) when
// it succeeds and keeps the error for <ErrorMessage> when it fails.
// remove() asks first, naming what is about to be deleted.
import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { confirmDelete } from '../components/common';

export interface Action {
  error: Error | null;
  setError: (e: Error | null) => void;
  /** Resolves true when fn succeeded (and onDone ran). */
  run: (fn: () => Promise<unknown>) => Promise<boolean>;
  /** Asks before deleting `name`; false when declined or failed. */
  remove: (name: string, fn: () => Promise<unknown>) => Promise<boolean>;
}

export function useAction(onDone?: () => void): Action {
  const { t } = useTranslation();
  const [error, setError] = useState<Error | null>(null);
  const run = useCallback(
    async (fn: () => Promise<unknown>) => {
      setError(null);
      try {
        await fn();
      } catch (e) {
        setError(e instanceof Error ? e : new Error(String(e)));
        return false;
      }
      onDone?.();
      return true;
    },
    [onDone],
  );
  const remove = useCallback(async (name: string, fn: () => Promise<unknown>) => confirmDelete(t, name) && run(fn), [t, run]);
  return { error, setError, run, remove };
}
