// Dataset import: choose a folder with one sub-folder per person and/or a
// roster CSV; every file is sent in one multipart request to /api/v1/import
// under its path relative to the chosen folder (lib/dataset), and the NDJSON
// answer streams the plan, the skipped files, each photo and each person's
// outcome — shown as a progress bar and two result tables, with every reason
// in the reader's language. Before it runs, a preview lists each person
// folder with the code and the name it gives ("1234_Ana_Garcia": code 1234,
// Ana Garcia, unless "folder codes" is turned off).
import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { ImportDone, ImportLine } from '../api/types';
import { folderPreview, importPath, importReason, sendsBytes } from '../lib/dataset';
import { DataTable, ErrorMessage, PageHead } from '../components/common';

interface Picked {
  file: File;
  path: string;
}

export function ImportPage() {
  const { t } = useTranslation();
  const inputRef = useRef<HTMLInputElement>(null);
  const [picked, setPicked] = useState<Picked[]>([]);
  const [roster, setRoster] = useState<File | null>(null);
  const [lines, setLines] = useState<ImportLine[]>([]);
  const [done, setDone] = useState<ImportDone | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<Error | null>(null);
  // Consent to use the photos, recorded (today) for each person who has none.
  const [consent, setConsent] = useState(false);
  // "1234_Ana_Garcia": the code 1234 and the name Ana Garcia (the server's folder_codes).
  const [folderCodes, setFolderCodes] = useState(true);

  // React does not know the non-standard directory attributes.
  useEffect(() => {
    inputRef.current?.setAttribute('webkitdirectory', '');
    inputRef.current?.setAttribute('directory', '');
  }, []);

  function reset() {
    setLines([]);
    setDone(null);
    setError(null);
  }

  function choose(list: FileList | null) {
    setPicked(Array.from(list ?? []).map((f) => ({ file: f, path: importPath(f.webkitRelativePath || f.name) })));
    reset();
  }

  async function run() {
    if (!picked.length && !roster) return;
    setRunning(true);
    reset();
    try {
      const files = picked.map((p) => ({ blob: sendsBytes(p.path) ? p.file : new Blob([]), name: p.path }));
      if (roster) files.push({ blob: roster, name: roster.name });
      const summary = await api.importDataset(files, (l) => setLines((old) => [...old, l]), { consent, folderCodes });
      setDone(summary);
    } catch (e) {
      setError(e as Error);
    } finally {
      setRunning(false);
    }
  }

  const plan = lines.find((l) => l.type === 'plan');
  const fileLines = lines.filter((l) => l.type === 'photo' || l.type === 'skipped' || l.type === 'roster');
  const personLines = lines.filter((l) => l.type === 'person');
  const judged = lines.filter((l) => l.type === 'photo').length;
  const count = picked.length + (roster ? 1 : 0);
  const preview = lines.length
    ? []
    : folderPreview(
        picked.map((p) => p.path),
        folderCodes,
      );
  const PREVIEW_ROWS = 100;
  return (
    <>
      <PageHead title={t('import.title')} />
      <section className="card">
        <p>{t('import.help')}</p>
        <p className="muted">{t('import.names')}</p>
        <div className="filters">
          <label className="field">
            <span>{t('import.folder')}</span>
            <input ref={inputRef} type="file" multiple onChange={(e) => choose(e.target.files)} disabled={running} />
          </label>
          <label className="field">
            <span>{t('import.rosterFile')}</span>
            <input
              type="file"
              accept=".csv,text/csv"
              onChange={(e) => {
                setRoster(e.target.files?.[0] ?? null);
                reset();
              }}
              disabled={running}
            />
          </label>
          {count > 0 && (
            <button type="button" className="btn primary" disabled={running} onClick={() => void run()}>
              {t('import.start', { count })}
            </button>
          )}
        </div>
        <p className="muted">{t('import.rosterHelp')}</p>
        <label className="field check">
          <input type="checkbox" checked={consent} onChange={(e) => setConsent(e.target.checked)} disabled={running} />
          <span>{t('import.consent')}</span>
        </label>
        <label className="field check">
          <input type="checkbox" checked={folderCodes} onChange={(e) => setFolderCodes(e.target.checked)} disabled={running} />
          <span>{t('import.folderCodes')}</span>
        </label>
        {count > 0 && <p className="muted">{t('import.picked', { count })}</p>}
        {plan && (
          <label className="field">
            <span>
              {t('import.progress')}: {judged} / {plan.photos ?? 0}
            </span>
            <progress className="progress" max={plan.photos || 1} value={judged} />
          </label>
        )}
        <ErrorMessage error={error} />
        {done && (
          <p className="success" role="status">
            {t('import.summary', {
              accepted: done.accepted,
              photos: done.photos,
              created: done.persons_created,
              updated: done.persons_updated,
              skipped: done.skipped,
            })}
          </p>
        )}
      </section>
      {preview.length > 0 && (
        <section className="card">
          <h2>{t('import.previewTitle', { count: preview.length })}</h2>
          <p className="muted">{t('import.previewHelp')}</p>
          <DataTable
            label={t('import.previewTitle', { count: preview.length })}
            items={preview.slice(0, PREVIEW_ROWS)}
            loading={false}
            head={
              <>
                <th>{t('import.folderName')}</th>
                <th>{t('import.code')}</th>
                <th>{t('import.name')}</th>
                <th className="num">{t('import.photos')}</th>
              </>
            }
            row={(f) => (
              <tr key={f.folder}>
                <td className="wrap-anywhere">{f.folder}</td>
                <td className="wrap-anywhere">{f.code}</td>
                <td>{f.name}</td>
                <td className="num">{f.photos}</td>
              </tr>
            )}
          />
          {preview.length > PREVIEW_ROWS && <p className="muted">{t('import.previewMore', { count: preview.length - PREVIEW_ROWS })}</p>}
        </section>
      )}
      {personLines.length > 0 && (
        <DataTable
          items={personLines.map((l, i) => ({ ...l, i }))}
          loading={false}
          head={
            <>
              <th>{t('import.person')}</th>
              <th>{t('import.name')}</th>
              <th>{t('import.result')}</th>
            </>
          }
          row={(l) => (
            <tr key={l.i}>
              <td>{l.person}</td>
              <td>{l.name}</td>
              <td>
                {l.code ? (
                  <span className="badge bad">{importReason(l, t)}</span>
                ) : (
                  <span className="badge ok">
                    {t(l.created ? 'import.created' : l.updated ? 'import.updated' : 'import.existing', {
                      context: l.photos ? undefined : 'roster',
                      accepted: l.accepted_photos ?? 0,
                      photos: l.photos ?? 0,
                    })}
                  </span>
                )}
              </td>
            </tr>
          )}
        />
      )}
      {fileLines.length > 0 && (
        <DataTable
          items={fileLines.map((l, i) => ({ ...l, i }))}
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
                ) : l.type === 'photo' ? (
                  <span className="badge bad">{t('enroll.rejected', { reason: importReason(l, t) })}</span>
                ) : (
                  <span className="badge warn">{t('import.skipped', { reason: importReason(l, t) })}</span>
                )}
              </td>
            </tr>
          )}
        />
      )}
    </>
  );
}
