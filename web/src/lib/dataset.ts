// Dataset import: which files of a chosen folder are sent and under which
// name. The server wants "<person folder>/<file>" for each photo.

const IMAGE = /\.(jpe?g|png|webp|bmp)$/i;

/** The name to upload a file under, from its path relative to the chosen
 * folder ("dataset/alice/1.jpg" → "alice/1.jpg"); null for files that are not
 * photos or not inside a person's folder. When the chosen folder itself holds
 * photos ("alice/1.jpg"), that folder is the person. Hidden files are skipped. */
export function importName(relativePath: string): string | null {
  const parts = relativePath.split(/[\\/]/).filter(Boolean);
  if (parts.length < 2) return null;
  const file = parts[parts.length - 1];
  const person = parts[parts.length - 2];
  if (!IMAGE.test(file) || file.startsWith('.') || person.startsWith('.')) return null;
  return `${person}/${file}`;
}

/** Number of distinct person folders among upload names. */
export function personCount(names: string[]): number {
  return new Set(names.map((n) => n.split('/')[0])).size;
}
