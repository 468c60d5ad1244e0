// Server errors in the user's language, with the real dictionaries: every
// error code the C server can answer has a Spanish and an English sentence,
// and the parameters (field, range, lockout) land in it.
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import i18next from 'i18next';
import es from '../i18n/es';
import en from '../i18n/en';
import { ApiError } from '../api/client';
import { errorText } from './errors';

const i18n = i18next.createInstance();
await i18n.init({ resources: { es: { translation: es }, en: { translation: en } }, lng: 'es', interpolation: { escapeValue: false } });
const tEs = i18n.getFixedT('es');
const tEn = i18n.getFixedT('en');
const exists = (k: string) => i18n.exists(k);

describe('errorText', () => {
  it('names the field in the user words and gives the range', () => {
    const e = new ApiError(400, 'invalid_field', "field 'dedup_window_s' must be an integer from 0 to 86400", {
      field: 'dedup_window_s',
      min: 0,
      max: 86400,
    });
    expect(errorText(tEs, e, exists)).toBe('«Ventana de deduplicación» debe estar entre 0 y 86400.');
    expect(errorText(tEn, e, exists)).toBe('“De-duplication window” must be between 0 and 86400.');
  });

  it('says how long an account is locked, in Spanish', () => {
    const e = new ApiError(429, 'too_many_attempts', 'this account is locked for 15 minutes after 5 failed logins', {
      retry_after_s: 900,
      minutes: 15,
      scope: 'account',
    });
    expect(errorText(tEs, e, exists)).toBe('Cuenta bloqueada durante 15 min tras varios intentos fallidos.');
  });

  it('says a kiosk code is locked, not the kiosk', () => {
    const e = new ApiError(429, 'too_many_attempts', 'too many wrong PINs for this code; wait 900 s', {
      retry_after_s: 900,
      minutes: 15,
      scope: 'code',
    });
    expect(errorText(tEs, e, exists)).toBe('Demasiados PIN incorrectos para este código. Espere 15 min.');
    expect(errorText(tEn, e, exists)).toBe('Too many wrong PINs for this code. Wait 15 min.');
    const address = new ApiError(429, 'too_many_attempts', 'too many wrong PINs from this kiosk; wait 300 s', {
      retry_after_s: 300,
      minutes: 5,
      scope: 'address',
    });
    expect(errorText(tEs, address, exists)).toBe('Demasiados intentos fallidos desde este equipo. Espere 5 min.');
  });

  it('never shows a placeholder when the server names no field', () => {
    const e = new ApiError(400, 'invalid_field', 'field must be a date', {});
    expect(errorText(tEs, e, exists)).toBe('Uno de los datos no es válido.');
    expect(errorText(tEs, new ApiError(400, 'missing_field', 'x', {}), exists)).toBe('Falta un dato obligatorio.');
    const named = new ApiError(400, 'missing_field', "field 'group_ids': ...", { field: 'group_ids' });
    expect(errorText(tEs, named, exists)).toBe('Falta «Grupos».');
  });

  it('never shows the English message for a code it does not know', () => {
    const e = new ApiError(409, 'brand_new_code', 'something in English');
    expect(errorText(tEs, e, exists)).toBe('El servidor no aceptó la petición (código brand_new_code).');
    expect(errorText(tEs, new ApiError(0, 'network', 'Failed to fetch'), exists)).toMatch(/No se puede contactar/);
  });

  it('has a sentence for every code the server answers with', () => {
    const dir = join(__dirname, '..', '..', '..', 'src', 'http');
    const codes = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.c'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const m of text.matchAll(/http_reply_error(?:_p)?\(\s*r,\s*[A-Z_0-9]+,\s*"([a-z_]+)"/g)) codes.add(m[1]);
    }
    expect(codes.size).toBeGreaterThan(20);
    const missing = [...codes].filter(
      (c) => !exists(`errors.${c}`) && c !== 'internal' && c !== 'out_of_memory' && c !== 'no_web_ui' && c !== 'bad_path',
    );
    expect(missing).toEqual([]);
  });
});
