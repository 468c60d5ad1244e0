// "Mis datos": what the institution holds about the member's own person
// (record, groups, when consent was recorded, the photos of their face, the
// camera crops that name them, how many attendance records, their leave and
// justified absences recorded by the institution, this year's days of each
// kind), and the
// withdrawal of their consent (GDPR art. 7(3): as easy as giving it), which
// asks for the account's password and erases the biometric data exactly as
// an administrator's "erase biometric data" does; the history stays.
import { Fragment, useState } from 'react';
import { Link } from 'react-router';
import { useTranslation } from 'react-i18next';
import { api } from '../api/client';
import type { ConsentWithdrawn, SelfData } from '../api/types';
import { useSettings } from '../auth/SettingsContext';
import { ErrorMessage, Loading, Modal, PageHead } from '../components/common';
import { dateIn, formatDate, formatDateTime, formatDecimal } from '../lib/format';
import { LeaveBadge } from '../components/Leaves';
import { LEAVE_KINDS, leaveHours, leaveYear } from '../lib/leave';
import { useAction } from '../lib/useAction';
import { useLoad } from '../lib/useLoad';
import styles from './MyData.module.css';

export function MyDataPage() {
  const { t } = useTranslation();
  const data = useLoad(() => api.selfData(), []);
  const [result, setResult] = useState<ConsentWithdrawn | null>(null);

  if (data.error) return <ErrorMessage error={data.error} onRetry={data.reload} />;
  if (!data.data) return <Loading />;
  const d = data.data;
  return (
    <>
      <PageHead title={t('myData.title')} />
      <p className={`muted ${styles.intro}`}>{t('myData.intro')}</p>
      {result && <Withdrawn result={result} />}
      <div className={styles.cards}>
        <Details data={d} />
        <Faces data={d} />
        <Held data={d} />
        <OwnLeaves />
        <Withdraw
          data={d}
          onDone={(r) => {
            setResult(r);
            data.reload();
          }}
        />
      </div>
    </>
  );
}

/** Their own leave and justified absences, as the institution recorded them:
 * this year's days per kind (parts of a day apart, with their hours), then
 * every leave. */
function OwnLeaves() {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const lang = i18n.resolvedLanguage ?? 'es';
  const leaves = useLoad(() => api.selfLeaves(), []);
  const year = dateIn(tz).slice(0, 4);
  const by = leaves.data ? leaveYear(leaves.data.items, year) : null;
  const kinds = by ? LEAVE_KINDS.filter((k) => by[k].days > 0 || by[k].parts > 0) : [];
  return (
    <section className="card" aria-labelledby="md-leave">
      <h2 id="md-leave">{t('leave.title')}</h2>
      <ErrorMessage error={leaves.error} onRetry={leaves.reload} />
      {by && (
        <>
          <h3 className={styles.year}>{t('myData.leaveYear', { year })}</h3>
          {kinds.length === 0 ? (
            <p className="muted">{t('myData.leaveNoneYear')}</p>
          ) : (
            <dl className={`${styles.counts} ${styles.yearCounts}`} data-testid="mydata-leave-year">
              {kinds.map((k) => (
                <Fragment key={k}>
                  <dt>{t(`leave.kinds.${k}`)}</dt>
                  <dd>
                    {[
                      by[k].days > 0 ? t('myData.leaveDays', { count: by[k].days }) : '',
                      by[k].parts > 0 ? t('myData.leaveParts', { count: by[k].parts, hours: hoursOf(by[k].minutes, lang) }) : '',
                    ]
                      .filter(Boolean)
                      .join(' · ')}
                  </dd>
                </Fragment>
              ))}
            </dl>
          )}
        </>
      )}
      {leaves.data && leaves.data.items.length === 0 && <p className="muted">{t('leave.none')}</p>}
      {leaves.data && leaves.data.items.length > 0 && (
        <ul className={styles.leaves}>
          {leaves.data.items.map((l) => (
            <li key={l.id}>
              <LeaveBadge kind={l.kind} /> {formatDate(l.from, tz, lang)}
              {l.to !== l.from && <> – {formatDate(l.to, tz, lang)}</>}
              {leaveHours(l) && <>, {leaveHours(l)}</>}
              {l.note && <span className="muted"> · {l.note}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** Minutes as hours: "2", "1,5". */
function hoursOf(min: number, lang: string): string {
  return formatDecimal(min / 60, lang, min % 60 ? 1 : 0);
}

function Details({ data }: { data: SelfData }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  const p = data.person;
  return (
    <section className="card" aria-labelledby="md-person">
      <h2 id="md-person">{t('myData.person')}</h2>
      <dl className={styles.facts}>
        <dt>{t('myData.name')}</dt>
        <dd>{p.name}</dd>
        <dt>{t('myData.code')}</dt>
        <dd>{p.external_id || '—'}</dd>
        {p.email && (
          <>
            <dt>{t('myData.email')}</dt>
            <dd>{p.email}</dd>
          </>
        )}
        <dt>{t('myData.groups')}</dt>
        <dd>{p.groups.length ? p.groups.map((g) => g.name).join(', ') : t('myData.none')}</dd>
        <dt>{t('myData.consent')}</dt>
        <dd data-testid="mydata-consent">
          {data.consent_at
            ? t('myData.consentAt', { date: formatDateTime(data.consent_at, tz, i18n.language) })
            : data.consent_withdrawn_at
              ? t('myData.consentWithdrawnAt', { date: formatDateTime(data.consent_withdrawn_at, tz, i18n.language) })
              : t('myData.noConsent')}
        </dd>
      </dl>
    </section>
  );
}

function Faces({ data }: { data: SelfData }) {
  const { t, i18n } = useTranslation();
  const { tz } = useSettings();
  return (
    <section className="card" aria-labelledby="md-faces">
      <h2 id="md-faces">
        {t('myData.faces')} ({data.faces.length})
      </h2>
      {data.faces.length === 0 ? (
        <p className="muted">{t('myData.noFaces')}</p>
      ) : (
        <>
          <p className="muted">{t('myData.facesHelp')}</p>
          <ul className={`face-grid ${styles.faces}`} data-testid="mydata-faces">
            {data.faces.map((f) => {
              const date = formatDateTime(f.created_at, tz, i18n.language);
              return (
                <li key={f.id}>
                  <img src={f.image} alt={t('myData.faceAlt', { date })} width={112} height={112} loading="lazy" />
                  <span>{date}</span>
                  {f.photo && <span className="badge">{t('myData.profilePhoto')}</span>}
                </li>
              );
            })}
          </ul>
        </>
      )}
    </section>
  );
}

function Held({ data }: { data: SelfData }) {
  const { t } = useTranslation();
  const b = data.biometrics;
  return (
    <section className="card" aria-labelledby="md-held">
      <h2 id="md-held">{t('myData.held')}</h2>
      <dl className={styles.counts} data-testid="mydata-held">
        <dt>{t('myData.heldFaces')}</dt>
        <dd>{b.faces}</dd>
        <dt>{t('myData.heldCrops')}</dt>
        <dd>{b.sightings}</dd>
        {b.probes > 0 && (
          <>
            <dt className={styles.sub}>{t('myData.heldProbes')}</dt>
            <dd>{b.probes}</dd>
          </>
        )}
        <dt>{t('myData.heldAttendance')}</dt>
        <dd>{data.attendance.events}</dd>
        {data.attendance.voided > 0 && (
          <>
            <dt className={styles.sub}>{t('myData.heldVoided')}</dt>
            <dd>{data.attendance.voided}</dd>
          </>
        )}
      </dl>
      <p className={styles.more}>
        <Link to="/attendance">{t('myData.seeAttendance')}</Link>
      </p>
    </section>
  );
}

function Withdraw({ data, onDone }: { data: SelfData; onDone: (r: ConsentWithdrawn) => void }) {
  const { t } = useTranslation();
  const [open, setOpen] = useState(false);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const action = useAction();
  const b = data.biometrics;
  const anything = b.faces > 0 || b.sightings > 0 || b.photo || !!data.consent_at;
  const close = () => {
    setOpen(false);
    setPassword('');
    action.setError(null);
  };
  return (
    <section className={`card ${styles.withdraw}`} aria-labelledby="md-withdraw">
      <h2 id="md-withdraw">{t('myData.withdrawTitle')}</h2>
      <p>{t('myData.withdrawHelp')}</p>
      {anything ? (
        <button type="button" className="btn danger wide" onClick={() => setOpen(true)}>
          {t('myData.withdraw')}
        </button>
      ) : (
        <p className="muted" role="status">
          {t('myData.nothingToErase')}
        </p>
      )}
      <Modal title={t('myData.confirmTitle')} open={open} onClose={close}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (!password || busy) return;
            setBusy(true);
            void action
              .run(async () => {
                const r = await api.withdrawConsent(password);
                close();
                onDone(r);
              })
              .finally(() => setBusy(false));
          }}
        >
          <p>{t('myData.confirmHelp', { faces: b.faces, crops: b.sightings })}</p>
          <label className="field">
            <span>{t('myData.password')}</span>
            <input
              type="password"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              autoComplete="current-password"
              required
            />
          </label>
          <ErrorMessage error={action.error} />
          <div className="form-actions">
            <button type="button" className="btn" onClick={close}>
              {t('common.cancel')}
            </button>
            <button type="submit" className="btn danger" disabled={!password || busy}>
              {busy ? t('myData.working') : t('myData.confirm')}
            </button>
          </div>
        </form>
      </Modal>
    </section>
  );
}

function Withdrawn({ result }: { result: ConsentWithdrawn }) {
  const { t } = useTranslation();
  const e = result.erased;
  return (
    <section className={`card ${styles.done}`} role="status" data-testid="mydata-result">
      <p className={styles.big}>✓ {t('myData.done')}</p>
      <ul>
        <li>{t('myData.erasedFaces', { n: e.faces })}</li>
        <li>{t('myData.erasedCrops', { n: e.sightings })}</li>
        <li>{t('myData.erasedPhoto', { n: e.photo })}</li>
      </ul>
      <p>{t('myData.kept')}</p>
    </section>
  );
}
