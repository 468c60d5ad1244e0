// Errors in the user's language. The server answers every error with a
// stable code and its parameters ({error:{code, params, message}}); the
// message is English, for logs. Here the code picks a translation
// ("errors.<code>", a variant when the parameters say more: a range, a
// length, the choices, the lockout's scope: an address, an account or a
// kiosk code) and the field is named with the form's own words
// ("fields.<name>"). A code this UI does not know yet still
// gets a sentence in the user's language, with the code for support.
import { ApiError } from '../api/client';
import type { Translate } from './kiosk';

type Exists = (key: string) => boolean;

/** The translation key and variables for an API error. */
export function errorKey(e: ApiError, exists: Exists): { key: string; vars: Record<string, unknown> } {
  const p = e.params ?? {};
  const vars: Record<string, unknown> = { ...p, code: e.code, status: e.status };
  if (Array.isArray(p.choices)) vars.choices = (p.choices as unknown[]).join(', ');
  if (e.status === 0) return { key: 'errors.network', vars };
  let key = `errors.${e.code}`;
  const fieldCode = e.code === 'missing_field' || e.code === 'invalid_field';
  if (fieldCode && typeof p.field !== 'string') key = `errors.${e.code}_unnamed`;
  else if (e.code === 'invalid_field' && p.min !== undefined && p.max !== undefined) key = 'errors.invalid_field_range';
  else if (e.code === 'invalid_field' && p.max !== undefined) key = 'errors.invalid_field_length';
  else if (e.code === 'invalid_field' && p.choices !== undefined) key = 'errors.invalid_field_choices';
  else if (e.code === 'too_many_attempts' && (p.scope === 'account' || p.scope === 'code')) key = `errors.too_many_attempts_${p.scope}`;
  else if (e.code === 'too_many_attempts') key = 'errors.too_many_attempts';
  if (!exists(key)) key = e.status >= 500 ? 'errors.server' : 'errors.unknown';
  return { key, vars };
}

/** One sentence for any error: an ApiError translated, anything else (a
 * browser error: no camera, no permission) with its own text. */
export function errorText(t: Translate, e: unknown, exists: Exists): string {
  if (e instanceof ApiError) {
    const { key, vars } = errorKey(e, exists);
    if (typeof vars.field === 'string') {
      const fk = `fields.${vars.field}`;
      vars.field = exists(fk) ? t(fk) : vars.field;
    }
    return t(key, vars);
  }
  return t('common.error', { message: e instanceof Error ? e.message : String(e) });
}
