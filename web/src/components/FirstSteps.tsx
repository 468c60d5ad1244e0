// "Primeros pasos": the setup a new install needs, shown to admins on the
// dashboard. Each step is ticked from what the server holds (not from what
// was clicked): the time zone set, a group, a timetable, people, a camera or
// a kiosk in use, optionally a manager account. The list goes away by itself
// once the required steps are done, or when an admin hides it; either is
// remembered in this browser (localStorage): hiding it is one person's "I
// know", not the institution's configuration, and for every other admin the
// data decide.
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { api } from '../api/client';
import { useLoad } from '../lib/useLoad';
import { firstSteps, type SetupFacts } from '../lib/firstSteps';

const HIDDEN_KEY = 'rollcall.firstSteps.hidden';

async function facts(): Promise<SetupFacts> {
  const [settings, groups, schedules, persons, cameras, keys, users, events] = await Promise.all([
    api.settings(),
    api.groups({ limit: 1 }),
    api.schedules({}),
    api.persons({ limit: 1 }),
    api.cameras(),
    api.apiKeys(),
    api.users({ limit: 500 }),
    api.attendance({ limit: 1, include_void: true }),
  ]);
  return {
    timezone: !!settings.timezone,
    groups: groups.total,
    schedules: schedules.total,
    persons: persons.total,
    cameras: cameras.total,
    deviceKeys: keys.items.filter((k) => k.role === 'device').length,
    events: events.total,
    managers: users.items.filter((u) => u.role === 'manager').length,
  };
}

export function FirstSteps() {
  const { t } = useTranslation();
  const [hidden, setHidden] = useState(() => localStorage.getItem(HIDDEN_KEY) === '1');
  const data = useLoad(() => (hidden ? Promise.resolve(null) : facts()), [hidden]);
  if (hidden || !data.data) return null;
  const steps = firstSteps(data.data);
  if (steps.filter((s) => !s.optional).every((s) => s.done)) {
    // Set up: no need to ask the server again from this browser.
    localStorage.setItem(HIDDEN_KEY, '1');
    return null;
  }
  return (
    <section className="card first-steps" aria-labelledby="first-steps-h">
      <h2 id="first-steps-h">{t('firstSteps.title')}</h2>
      <p className="muted">{t('firstSteps.help')}</p>
      <ol>
        {steps.map((s) => (
          <li key={s.id} className={s.done ? 'done' : undefined}>
            <input type="checkbox" checked={s.done} readOnly disabled aria-label={t(`firstSteps.steps.${s.id}`)} />
            <span>
              <Link to={s.to}>{t(`firstSteps.steps.${s.id}`)}</Link>
              {s.optional && <> ({t('firstSteps.optional')})</>}
              <span className="muted"> — {t(`firstSteps.hints.${s.id}`)}</span>
            </span>
          </li>
        ))}
      </ol>
      <div className="form-actions">
        <button
          type="button"
          className="btn small"
          onClick={() => {
            localStorage.setItem(HIDDEN_KEY, '1');
            setHidden(true);
          }}
        >
          {t('firstSteps.hide')}
        </button>
      </div>
    </section>
  );
}
