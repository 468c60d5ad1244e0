// Why the server refused a photo, in the reader's language: the enrollment
// answer carries a stable code (with parameters, e.g. whom a duplicate face
// belongs to) beside English text; the text is the fallback for codes this
// build does not know.
import type { Translate } from './kiosk';

export interface Refusal {
  code?: string | null;
  params?: { person?: { name?: string; external_id?: string }; [k: string]: unknown } | null;
  reason?: string | null;
}

const KNOWN = new Set([
  'not_an_image',
  'no_face',
  'several_faces',
  'low_quality',
  'face_too_small',
  'duplicate_identity',
  'duplicate_pending',
  'different_people',
  'store_failed',
  'consent_withdrawn',
]);

/** Is this an enrollment refusal code (which enrollReason translates)? */
export function isEnrollCode(code: string | null | undefined): boolean {
  return !!code && KNOWN.has(code);
}

export function enrollReason(r: Refusal, t: Translate): string {
  if (!r.code || !KNOWN.has(r.code)) return r.reason ?? '?';
  const p = r.params?.person;
  // A manager limited to groups is not told whose face it is when that
  // person is outside their groups: the answer names nobody.
  if (r.code === 'duplicate_identity' && !p) return t('enroll.codes.duplicate_identity_other');
  return t(`enroll.codes.${r.code}`, { name: p?.name ?? '', id: p?.external_id ?? '' });
}
