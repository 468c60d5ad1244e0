// Camera failures read in the reader's language from their stable code, with
// the server's English words only for codes this build does not know.
import { describe, expect, it } from 'vitest';
import es from '../i18n/es';
import en from '../i18n/en';
import { CAMERA_ERRORS, cameraError } from './cameraError';

type Dict = typeof es;
const translator = (d: Dict) => (key: string, vars?: Record<string, unknown>) => {
  const text = key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], d);
  if (typeof text !== 'string') return key;
  return text.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, v: string) => String(vars?.[v] ?? ''));
};

describe('cameraError', () => {
  it('translates a code with its parameters, no English in Spanish', () => {
    const st = {
      error: { code: 'connect_failed', params: { host: 'cam.local:81' } },
      last_error: 'http://cam.local:81/stream: Failed to connect',
    };
    const text = cameraError(translator(es), st);
    expect(text).toContain('No se puede conectar con cam.local:81');
    expect(text).not.toContain('Failed');
    expect(cameraError(translator(en), st)).toContain('Cannot connect to cam.local:81');
    expect(cameraError(translator(es), { error: { code: 'http_error', params: { status: 500 } }, last_error: 'x' })).toBe(
      'La cámara respondió HTTP 500',
    );
  });
  it('every code has a text in both languages', () => {
    for (const code of CAMERA_ERRORS) {
      expect(es.cameras.errors[code as keyof typeof es.cameras.errors], code).toBeTruthy();
      expect(en.cameras.errors[code as keyof typeof en.cameras.errors], code).toBeTruthy();
    }
  });
  it('falls back to the English words for an unknown code or none', () => {
    expect(cameraError(translator(es), { error: { code: 'new_thing', params: {} }, last_error: 'something new' })).toBe('something new');
    expect(cameraError(translator(es), { error: null, last_error: 'old server' })).toBe('old server');
  });
});
