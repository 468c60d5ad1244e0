// Dataset import: which files of a chosen folder are sent, under which name,
// and how the server's answer reads in the user's language. The rules (what
// is a photo of whom, names from folder names, the roster) are the server's
// (src/dataset, the same as `rollcall import`): this page sends every file
// under its path relative to the chosen folder and shows what the server
// said about each.
import type { ImportLine } from '../api/types';
import type { Translate } from './kiosk';
import { enrollReason } from './enrollReason';

/** The photo extensions the server imports (img_format_of_name in
 * src/image/codec.c; a unit test keeps the two lists equal). */
export const PHOTO_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'heic', 'heif'];

const ext = (name: string) => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot + 1).toLowerCase() : '';
};

/** The path the server sees: relative to the chosen folder
 * ("dataset/alice/1.jpg" → "alice/1.jpg", "dataset/notes.txt" →
 * "notes.txt"). A file chosen alone keeps its name. */
export function importPath(relativePath: string): string {
  const parts = relativePath.split(/[\\/]/).filter(Boolean);
  return (parts.length > 1 ? parts.slice(1) : parts).join('/');
}

/** Whether the server needs the file's bytes: a photo, or a .csv at the top
 * (the roster). Any other file is sent by name only, so the server can say
 * why it was skipped without a video being uploaded. */
export function sendsBytes(path: string): boolean {
  const e = ext(path);
  return PHOTO_EXTENSIONS.includes(e) || (e === 'csv' && !path.includes('/'));
}

const IMPORT_CODES = new Set(['stray_file', 'unsupported_format', 'nested_folder', 'hidden_file', 'invalid_person', 'no_photo_accepted']);
const ROSTER_PROBLEMS = new Set([
  'empty_code',
  'empty_first_name',
  'bad_email',
  'duplicate_code',
  'too_long',
  'open_quote',
  'not_utf8',
  'no_rows',
  'no_code_column',
  'too_many_rows',
  'second_roster',
]);

/** Why a file, roster row or person was not imported, in the reader's
 * language (the English text is the fallback for unknown codes). */
export function importReason(l: ImportLine, t: Translate): string {
  if (l.type === 'photo') return enrollReason(l, t);
  const code = l.code ?? '';
  if (code === 'roster_invalid') {
    const p = (l.params ?? {}) as { line?: number; problem?: string; value?: string };
    if (!p.problem || !ROSTER_PROBLEMS.has(p.problem)) return l.reason ?? '?';
    return t(`import.roster.${p.problem}`, { line: p.line ?? l.line ?? 0, value: p.value ?? '' });
  }
  if (IMPORT_CODES.has(code)) return t(`import.codes.${code}`, { person: l.person ?? '' });
  return l.reason ?? '?';
}
