// Dataset import: choose a folder with one sub-folder per person; every photo
// is uploaded in one multipart request to /api/v1/import, whose NDJSON answer
// streams one result per file — shown as a progress bar and a result list.
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { ImportDone, ImportLine } from '../api/types';
import { importName, personCount } from '../lib/dataset';
import { enrollReason } from '../lib/enrollReason';
import { DataTable, ErrorMessage, PageHead } from '../components/common';

interface Picked {
  file: File;
  name: string;
}

export function ImportPage() {
  const { t } = useTranslation();
  const inputRef = useRef<HTMLInputElement>(null);
  const [picked, setPicked] = useState<Picked[] | null>(null);
  const [lines, setLines] = useState<ImportLine[]>([]);
  const [done, setDone] = useState<ImportDone | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  // React does not know the non-standard directory attributes.
  useEffect(() => {
    inputRef.current?.setAttribute('webkitdirectory', '');
    inputRef.current?.setAttribute('directory', '');
  }, []);

  const persons = useMemo(() => (picked ? personCount(picked.map((p) => p.name)) : 0), [picked]);

  function choose(list: FileList | null) {
    const out: Picked[] = [];
    for (const f of Array.from(list ?? [])) {
      const name = importName(f.webkitRelativePath || f.name);
      if (name) out.push({ file: f, name });
    }
    setPicked(out);
    setLines([]);
    setDone(null);
    setError(null);
  }

  async function run() {
    if (!picked?.length) return;
    setRunning(true);
    setLines([]);
    setDone(null);
    setError(null);
    try {
      const summary = await api.importDataset(
        picked.map((p) => ({ blob: p.file, name: p.name })),
        (l) => setLines((old) => [...old, l]),
      );
      setDone(summary);
    } catch (e) {
      setError(e as Error);
    } finally {
      setRunning(false);
    }
  }

  const total = picked?.length ?? 0;
  return (
    <>
      <PageHead title={t('import.title')} />
      <section className="card">
        <p>{t('import.help')}</p>
        <div className="filters">
          <label className="field">
            <span>{t('import.folder')}</span>
            <input ref={inputRef} type="file" multiple onChange={(e) => choose(e.target.files)} disabled={running} />
          </label>
          {picked && picked.length > 0 && (
            <button type="button" className="btn primary" disabled={running} onClick={() => void run()}>
              {t('import.start', { count: picked.length })}
            </button>
          )}
        </div>
        {picked && picked.length === 0 && <p className="muted">{t('import.none')}</p>}
        {picked && picked.length > 0 && <p className="muted">{t('import.picked', { files: picked.length, persons })}</p>}
        {(running || lines.length > 0) && (
          <label className="field">
            <span>
              {t('import.progress')}: {lines.length} / {total}
            </span>
            <progress className="progress" max={total} value={lines.length} />
          </label>
        )}
        <ErrorMessage error={error} />
        {done && (
          <p className="success" role="status">
            {t('import.summary', { accepted: done.accepted, files: done.files, persons: done.persons_created })}
          </p>
        )}
      </section>
      {lines.length > 0 && (
        <DataTable
          items={lines.map((l, i) => ({ ...l, i }))}
          loading={false}
          head={
            <>
              <th>{t('import.file')}</th>
              <th>{t('import.person')}</th>
              <th>{t('import.result')}</th>
            </>
          }
          row={(l) => (
            <tr key={l.i}>
              <td>{l.file}</td>
              <td>{l.person}</td>
              <td>
                {l.accepted ? (
                  <span className="badge ok">{t('enroll.accepted')}</span>
                ) : (
                  <span className="badge bad">{t('enroll.rejected', { reason: enrollReason(l, t) })}</span>
                )}
              </td>
            </tr>
          )}
        />
      )}
    </>
  );
}
