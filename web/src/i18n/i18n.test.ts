// Both languages carry every key, no empty text, and the same {{variables}};
// every key the UI asks for exists.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import i18next from 'i18next';
import es from './es';
import en from './en';

type Tree = { [k: string]: string | Tree };

function flatten(t: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(t)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const vars = (s: string) => [...s.matchAll(/\{\{\s*(\w+)\s*\}\}/g)].map((m) => m[1]).sort();

describe('i18n dictionaries', () => {
  const esMap = flatten(es as unknown as Tree);
  const enMap = flatten(en as unknown as Tree);

  it('have a reasonable number of keys', () => {
    expect(esMap.size).toBeGreaterThan(150);
  });

  it('English has every Spanish key', () => {
    const missing = [...esMap.keys()].filter((k) => !enMap.has(k));
    expect(missing).toEqual([]);
  });

  it('Spanish has every English key', () => {
    const missing = [...enMap.keys()].filter((k) => !esMap.has(k));
    expect(missing).toEqual([]);
  });

  it('no text is empty', () => {
    const empty = [...esMap, ...enMap].filter(([, v]) => v.trim() === '').map(([k]) => k);
    expect(empty).toEqual([]);
  });

  it('both languages use the same interpolation variables', () => {
    const differ = [...esMap.keys()].filter((k) => JSON.stringify(vars(esMap.get(k)!)) !== JSON.stringify(vars(enMap.get(k) ?? '')));
    expect(differ).toEqual([]);
  });

  it('the two languages are actually translated', () => {
    expect(esMap.get('kiosk.unknown')).toBe('No reconocido');
    expect(enMap.get('kiosk.unknown')).toBe('Not recognized');
    const same = [...esMap.keys()].filter((k) => esMap.get(k) === enMap.get(k));
    // A few words are the same in both (e.g. "Rollcall", "URL", "—").
    expect(same.length).toBeLessThan(esMap.size / 10);
  });
});

describe('counted words', () => {
  const esMap = flatten(es as unknown as Tree);
  const enMap = flatten(en as unknown as Tree);

  it('no text takes the lazy way out with "foto(s)" or "file(s)"', () => {
    const lazy = [...esMap, ...enMap].filter(([, v]) => /\p{L}\((s|es)\)/u.test(v)).map(([k, v]) => `${k}: ${v}`);
    expect(lazy).toEqual([]);
  });

  it('a {{count}} before a noun agrees with it in both languages', async () => {
    const i18n = i18next.createInstance();
    await i18n.init({ resources: { es: { translation: es }, en: { translation: en } }, lng: 'es', interpolation: { escapeValue: false } });
    const tEs = i18n.getFixedT('es');
    const tEn = i18n.getFixedT('en');
    expect(tEs('import.start', { count: 1 })).toBe('Importar 1 archivo');
    expect(tEs('import.start', { count: 12 })).toBe('Importar 12 archivos');
    expect(tEs('import.picked', { count: 1 })).toBe('1 archivo elegido.');
    expect(tEs('enroll.uploading', { count: 3 })).toBe('Enviando 3 fotos…');
    expect(tEs('groups.memberCount', { count: 1 })).toBe('1 miembro');
    expect(tEn('import.start', { count: 1 })).toBe('Import 1 file');
    expect(tEn('enroll.uploading', { count: 1 })).toBe('Sending 1 photo…');
    expect(tEn('groups.memberCount', { count: 0 })).toBe('0 members');
  });
});

describe('keys used in the source', () => {
  // Every literal key passed to t('…') in the UI exists (keys built at run
  // time, like `attendance.statuses.${status}`, are checked by their own tests
  // and by the type of the value they are built from).
  const root = fileURLToPath(new URL('..', import.meta.url));
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.tsx?$/.test(e.name) && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) files.push(p);
    }
  };
  walk(root);
  const esMap = flatten(es as unknown as Tree);

  it('finds the UI sources', () => {
    expect(files.length).toBeGreaterThan(30);
  });

  it('every literal t() key exists', () => {
    const missing: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\bt(?:Ref\.current)?\(\s*'([a-zA-Z0-9_.]+)'/g)) {
        // A counted text is a plural pair (key_one, key_other), asked for as `key`.
        const plural = esMap.has(`${m[1]}_one`) && esMap.has(`${m[1]}_other`);
        if (!esMap.has(m[1]) && !plural) missing.push(`${relative(root, f)}: ${m[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
