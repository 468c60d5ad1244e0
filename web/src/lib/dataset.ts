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

// ---- what a folder name gives (src/dataset/names.c, mirrored for the preview) ----

const tidy = (s: string) =>
  s
    .normalize('NFC')
    .replace(/[ \t\n\r\v\f]+/g, ' ')
    .trim();

/** First and last name from a name (dataset_split_name): the last word is
 * the last name, or "Last Names, First Names"; null when empty. */
export function splitName(name: string): { first: string; last: string } | null {
  const t = tidy(name);
  const comma = t.indexOf(',');
  let first: string, last: string;
  if (comma >= 0) {
    last = t.slice(0, comma).trim();
    first = t.slice(comma + 1).trim();
    if (!first) [first, last] = [last, ''];
  } else {
    const sp = t.lastIndexOf(' ');
    [first, last] = sp >= 0 ? [t.slice(0, sp).trim(), t.slice(sp + 1).trim()] : [t, ''];
  }
  return first ? { first, last } : null;
}

/** A folder named by a code and then the name, "1234_Ana_Garcia" or "1234 -
 * Ana García" (dataset_split_code): the code (ASCII letters and digits, a
 * digit among them), a separator (spaces, _, -, – or —), then a name that
 * does not start with a digit or punctuation, its _ read as spaces. */
export function splitCode(folder: string): { code: string; first: string; last: string } | null {
  const m = /^([A-Za-z0-9]+)([ _\-\u2013\u2014]+)(.*)$/.exec(tidy(folder));
  if (!m || !/[0-9]/.test(m[1]) || m[1].length > 63) return null;
  if (!m[3] || /^[0-9,.;:()[\]{}'"]/.test(m[3])) return null;
  const name = splitName(m[3].replace(/_/g, ' '));
  return name ? { code: m[1], ...name } : null;
}

export interface FolderPreview {
  folder: string;
  code: string;
  name: string;
  photos: number;
}

/** Each person folder of the chosen files (by name) with the code and the
 * name the server gives it when no roster row names it (`codes` is the
 * folder_codes option). */
export function folderPreview(paths: string[], codes: boolean): FolderPreview[] {
  const out = new Map<string, FolderPreview>();
  for (const p of paths) {
    const parts = p.split('/');
    if (parts.length !== 2 || !PHOTO_EXTENSIONS.includes(ext(p)) || parts[0].startsWith('.') || parts[1].startsWith('.')) continue;
    const folder = tidy(parts[0]);
    const seen = out.get(folder);
    if (seen) {
      seen.photos++;
      continue;
    }
    const coded = codes ? splitCode(folder) : null;
    const split = coded ?? splitName(folder);
    out.set(folder, { folder, code: coded?.code ?? folder, name: split ? `${split.first} ${split.last}`.trim() : '', photos: 1 });
  }
  return [...out.values()].sort((a, b) => a.folder.localeCompare(b.folder));
}
