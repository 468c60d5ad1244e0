// Filters kept in the page address (?from=…&to=…&group_id=…): one place that
// builds the next address, used by the Attendance, Reports and Review pages.
import { useCallback } from 'react';
import { useSearchParams } from 'react-router';

/**
 * The query string after setting filter `k` to `v` (empty or undefined
 * removes it). Any other change than the page goes back to the first page
 * (offset removed), and `clears[k]` names filters that depend on `k` (a
 * subject belongs to a group) and are removed with it.
 */
export function nextFilterSearch(
  search: string,
  k: string,
  v: string | number | undefined,
  clears: Record<string, string[]> = {},
): URLSearchParams {
  const next = new URLSearchParams(search);
  if (v === undefined || v === '') next.delete(k);
  else next.set(k, String(v));
  for (const c of clears[k] ?? []) next.delete(c);
  if (k !== 'offset') next.delete('offset');
  return next;
}

/**
 * The address's parameters, a setter for one filter, and the router's own
 * setter (to replace them all). The setter starts
 * from the address itself, not from the last render's parameters: two
 * changes in a row (a group, then at once a subject) would otherwise both
 * build on the same stale parameters and the second would undo the first.
 */
export function useFilterParams(clears?: Record<string, string[]>) {
  const [params, setParams] = useSearchParams();
  const setFilter = useCallback(
    (k: string, v: string | number | undefined) =>
      setParams(nextFilterSearch(window.location.search, k, v, clears), { replace: k !== 'offset' }),
    [setParams, clears],
  );
  return [params, setFilter, setParams] as const;
}
