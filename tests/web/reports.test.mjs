// reports.test.mjs — the figures in the web UI end to end (Debian's headless
// Chromium against the real server): the dashboard during the day (absent =
// slot start + grace passed with no entry; its tiles and its chart from the
// same figures), "who is missing now" per group and as CSV, the attendance
// page's absent view, the Reports page per group and subject with its
// charts, a manager limited to one group, and the phone size (390×844, no
// horizontal scroll). Screenshots at 1280×800 and 390×844 in tests/out/web/.
//
// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs, so a morning slot has passed and an afternoon one
// is still to come.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noonZone } from '../http/lib.mjs';
import { ADMIN, a11yProblems, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';

const TUTOR = { email: 'tutor2b@rollcall.test', password: 'Tutor-e2e-password-1' };
const { zone, today, dow, at } = noonZone(); // tz database: Etc/GMT-3 is UTC+3
const SIZES = [
  { width: 1280, height: 800, tag: '1280' },
  { width: 390, height: 844, tag: '390' },
];

let dir, srv, anaId; // Ana is in 1º A, outside the limited manager's group

// Calls the API with the page's session; throws unless the status is 2xx.
async function call(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const { csrf_token } = await (await fetch('/api/v1/auth/me')).json();
      const r = await fetch(path, {
        method,
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf_token },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text}`);
      return text ? JSON.parse(text) : null;
    },
    { method, path, body },
  );
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-reports-'));
  srv = await startRollcall(join(dir, 'data'));
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    await call(page, 'PATCH', '/api/v1/settings', { timezone: zone });
    const person = async (code, first, last) =>
      (await call(page, 'POST', '/api/v1/persons', { external_id: code, first_name: first, last_name: last, kind: 'student' })).id;
    const ana = await person('W-1', 'Ana', 'Álvarez');
    anaId = ana;
    const beto = await person('W-2', 'Beto', 'Barrios');
    const carla = await person('W-3', 'Carla', 'Castro');
    const a = (await call(page, 'POST', '/api/v1/groups', { name: '1º A' })).id;
    const b = (await call(page, 'POST', '/api/v1/groups', { name: '2º B' })).id;
    await call(page, 'PUT', `/api/v1/groups/${a}/members`, { person_ids: [ana, beto] });
    await call(page, 'PUT', `/api/v1/groups/${b}/members`, { person_ids: [carla] });
    const slot = (group, start, end, label) =>
      call(page, 'POST', '/api/v1/schedules', { group_id: group, day_of_week: dow, start, end, grace_min: 5, label });
    await slot(a, '09:00', '14:00', 'Matemáticas');
    await slot(a, '15:00', '16:00', 'Historia');
    await slot(b, '09:00', '14:00', 'Matemáticas');
    await call(page, 'POST', '/api/v1/attendance', { person_id: ana, type: 'entry', time: at('09:02'), reason: 'e2e' });
    await call(page, 'POST', '/api/v1/users', {
      email: TUTOR.email,
      name: 'Tutor 2B',
      role: 'manager',
      password: TUTOR.password,
      group_ids: [b],
      must_change_password: false,
    });
  } finally {
    await browser.close();
  }
});

after(async () => {
  assert.deepEqual(pageErrors, [], 'no uncaught error in any page');
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

// A tab that fails the test on any uncaught error in the page.
const pageErrors = [];
async function tab(browser, size) {
  const page = await newPage(browser, size);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

// No element of the page's own content is wider than the main area.
const overflow = (page) =>
  page.evaluate(() => {
    const main = document.querySelector('main');
    const right = main.getBoundingClientRect().left + main.clientWidth;
    return [...main.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > right + 1 && !el.closest('.table-wrap'))
      .map((el) => `${el.tagName}.${el.className}`);
  });

const tile = (page, label) => page.locator('span', { hasText: new RegExp(`^${label}$`) }).locator('xpath=preceding-sibling::span[1]');

test('dashboard during the day: absent tiles, the same rate as the chart, who is missing now and its CSV', async () => {
  const browser = await launch(null);
  try {
    for (const size of SIZES) {
      const page = await tab(browser, size);
      await login(page, srv.url, ADMIN);
      await page.goto(new URL('dashboard', srv.url).href);
      const missing = page.getByRole('table', { name: 'Quién falta ahora' });
      await waitOrAlert(page, missing);
      assert.equal(await tile(page, 'Ausentes').innerText(), '2');
      assert.equal(await tile(page, 'Presentes').innerText(), '1');
      assert.equal(await tile(page, 'Esperados').innerText(), '3');
      assert.equal(await tile(page, 'Por llegar').innerText(), '0');
      assert.match(await page.getByTestId('today-rate').innerText(), /33/);
      const names = await missing.locator('tbody tr td:first-child').allInnerTexts();
      assert.deepEqual(names.sort(), ['Beto Barrios', 'Carla Castro']);
      assert.match(await missing.innerText(), /Matemáticas/);
      assert.doesNotMatch(await page.locator('main').innerText(), /Who is missing|Absent/, 'no English in the Spanish UI');
      // The chart plots today (the one day with figures) as one point.
      assert.deepEqual(await overflow(page), [], `nothing wider than the page at ${size.width} px`);
      await shot(page, `reports-01-dashboard-${size.tag}`);
      if (size.tag === '1280') {
        assert.deepEqual(await a11yProblems(page), [], 'dashboard: no serious accessibility problem');
        // Per group: 1º A has only Beto missing.
        await page.getByLabel('Grupo', { exact: true }).first().selectOption({ label: '1º A' });
        await missing.locator('tbody tr').filter({ hasText: 'Carla' }).waitFor({ state: 'detached' });
        assert.deepEqual(await missing.locator('tbody tr td:first-child').allInnerTexts(), ['Beto Barrios']);
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.locator('section', { has: missing }).getByRole('link', { name: 'Descargar CSV' }).click(),
        ]);
        assert.match(download.suggestedFilename(), new RegExp(`ausentes-${today}\\.csv`), 'named in Spanish');
        const csv = readFileSync(await download.path(), 'utf8');
        assert.match(csv, /Beto Barrios/);
        assert.doesNotMatch(csv, /Carla|Ana Álvarez/);
      }
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
});

test('attendance page: the absent view of the day', async () => {
  const browser = await launch(null);
  try {
    const page = await tab(browser, SIZES[0]);
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('attendance?view=absent', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing);
    assert.equal(await missing.locator('tbody tr').count(), 2);
    await shot(page, 'reports-02-attendance-absent-1280');
  } finally {
    await browser.close();
  }
});

test('reports per group and subject: charts per person, per group and per day, and the table', async () => {
  const browser = await launch(null);
  try {
    for (const size of SIZES) {
      const page = await tab(browser, size);
      await login(page, srv.url, ADMIN);
      await page.goto(new URL('reports', srv.url).href);
      await page.getByRole('heading', { name: 'Informes', level: 1 }).waitFor();
      await page.getByRole('combobox', { name: /^Grupo/ }).selectOption({ label: '1º A' });
      await page.getByLabel('Asignatura').selectOption('Matemáticas');
      const table = page.getByRole('table', { name: 'Asistencia por persona' });
      await waitOrAlert(page, table.locator('tbody tr').nth(1));
      // The table first shows every group (Carla too): wait until it shows
      // the filtered answer, so the rows read below are not the old ones.
      await page
        .waitForFunction(() => {
          const t = document.querySelector('table[aria-label="Asistencia por persona"]');
          return t && !t.innerText.includes('Carla');
        }, null, { timeout: 15000 })
        .catch(() => {}); // the rows are asserted just below
      const rows = await table.locator('tbody tr').allInnerTexts();
      assert.equal(rows.length, 2, rows.join(' | '));
      assert.match(
        rows.find((r) => r.includes('Ana')),
        /100/,
      );
      assert.match(
        rows.find((r) => r.includes('Beto')),
        /\b0\s?%/,
      );
      assert.ok((await page.locator('.recharts-bar-rectangle').count()) >= 2, 'bars per person and per group');
      assert.ok((await page.locator('.recharts-line').count()) >= 1, 'a line per day');
      const url = new URL(page.url());
      assert.equal(url.searchParams.get('label'), 'Matemáticas', 'the selection is in the URL');
      assert.deepEqual(await overflow(page), [], `nothing wider than the page at ${size.width} px`);
      await shot(page, `reports-03-reports-${size.tag}`);
      if (size.tag === '1280') {
        assert.deepEqual(await a11yProblems(page), [], 'reports: no serious accessibility problem');
        // History has not started: nobody judged, the rates show no figure.
        await page.getByLabel('Asignatura').selectOption('Historia');
        await table.locator('tbody tr').filter({ hasText: 'Ana' }).filter({ hasText: '—' }).waitFor();
        assert.equal(await table.locator('tbody tr').filter({ hasText: '%' }).count(), 0, 'no rate yet for anyone');
        assert.equal(await page.locator('.recharts-line').count(), 0, 'no day plotted as 0 %');
        await shot(page, 'reports-04-reports-not-started-1280');
      }
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
});

test('a manager limited to 2º B sees only that group missing', async () => {
  const browser = await launch(null);
  try {
    const page = await tab(browser, SIZES[1]);
    await login(page, srv.url, TUTOR);
    await page.goto(new URL('dashboard', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing);
    assert.deepEqual(await missing.locator('tbody tr td:first-child').allInnerTexts(), ['Carla Castro']);
    await shot(page, 'reports-05-dashboard-limited-manager-390');
    // A person of another group is not found, as one that does not exist
    // (the server answers both 404 the same; it was 403, which told her
    // existence, and the page said "no permission").
    for (const id of [anaId, 987654]) {
      await page.goto(new URL(`people/${id}`, srv.url).href);
      const alert = page.getByRole('alert');
      await alert.waitFor();
      assert.equal((await alert.innerText()).replace(/\s+/g, " ").trim(), `Persona no encontrada (n.º ${id}). Ver la lista de personas`);
      assert.equal(await page.getByText('Álvarez').count(), 0);
    }
    await shot(page, 'reports-06-person-of-another-group-390');
  } finally {
    await browser.close();
  }
});

test('a forgotten exit says "Falta la salida" in the reports and the summary per person, and the time outside the timetable shows', async () => {
  const browser = await launch(null);
  try {
    // Gil: his own 06:00-10:00 today, in at 05:50, never out (the slot
    // ended more than slot_margin_min, 60, ago).
    let page = await tab(browser, SIZES[0]);
    await login(page, srv.url, ADMIN);
    const gil = (await call(page, 'POST', '/api/v1/persons', { external_id: 'W-9', first_name: 'Gil', last_name: 'Gómez', kind: 'employee' })).id;
    await call(page, 'POST', '/api/v1/schedules', { person_id: gil, day_of_week: dow, start: '06:00', end: '10:00', grace_min: 5, label: 'Turno' });
    await call(page, 'POST', '/api/v1/attendance', { person_id: gil, type: 'entry', time: at('05:50'), reason: 'e2e' });
    await page.context().close();
    for (const size of SIZES) {
      page = await tab(browser, size);
      await login(page, srv.url, ADMIN);
      await page.goto(new URL('reports', srv.url).href);
      const table = page.getByRole('table', { name: 'Asistencia por persona' });
      const row = table.locator('tbody tr').filter({ hasText: 'Gil' });
      await waitOrAlert(page, row);
      assert.equal(await row.locator('.missing-exit').innerText(), 'Falta la salida');
      // Ana came in at 09:02 and her slot runs to 14:00: she may still leave.
      assert.equal(await table.locator('tbody tr').filter({ hasText: 'Ana' }).locator('.missing-exit').count(), 0);
      assert.deepEqual(await overflow(page), [], `nothing wider than the page at ${size.width} px`);
      await shot(page, `reports-07-missing-exit-${size.tag}`);
      await page.goto(new URL(`attendance?view=summary&person_id=${gil}`, srv.url).href);
      const sum = page.getByRole('table', { name: 'Resumen por persona' });
      const mine = sum.locator('tbody tr').filter({ hasText: 'Gil' });
      await waitOrAlert(page, mine);
      assert.equal(await mine.locator('.missing-exit').innerText(), 'Falta la salida');
      assert.ok((await sum.locator('thead').textContent()).includes('Fuera de horario'));
      const cells = await mine.locator('td').allInnerTexts();
      assert.equal(cells.at(-2), '4 h 10 min', 'time on site: 05:50 to the slot\'s end');
      assert.equal(cells.at(-1), '10 min', 'of it outside the timetable');
      assert.deepEqual(await overflow(page), [], `nothing wider than the page at ${size.width} px`);
      await shot(page, `reports-08-summary-missing-exit-${size.tag}`);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
});

test('minutes late, of early leave and overtime: columns per person and the payroll tiles, at 390 px too', async () => {
  const browser = await launch(null);
  try {
    // Juan: his own 07:00-10:00 today, grace 5; in 07:17 (17 minutes late,
    // counted from the start), out 10:45 (45 minutes' overtime).
    let page = await tab(browser, SIZES[0]);
    await login(page, srv.url, ADMIN);
    const juan = (await call(page, 'POST', '/api/v1/persons', { external_id: 'W-10', first_name: 'Juan', last_name: 'Jara', kind: 'employee' })).id;
    await call(page, 'POST', '/api/v1/schedules', { person_id: juan, day_of_week: dow, start: '07:00', end: '10:00', grace_min: 5, label: 'Turno' });
    await call(page, 'POST', '/api/v1/attendance', { person_id: juan, type: 'entry', time: at('07:17'), reason: 'e2e' });
    await call(page, 'POST', '/api/v1/attendance', { person_id: juan, type: 'exit', time: at('10:45'), reason: 'e2e' });
    await page.context().close();
    for (const size of SIZES) {
      page = await tab(browser, size);
      await login(page, srv.url, ADMIN);
      await page.goto(new URL('reports', srv.url).href);
      const table = page.getByRole('table', { name: 'Asistencia por persona' });
      const row = table.locator('tbody tr').filter({ hasText: 'Juan' });
      await waitOrAlert(page, row);
      const head = (await table.locator('thead th').allTextContents()).map((h) => h.trim());
      const cells = await row.locator('td').allInnerTexts();
      const col = (name) => cells[head.indexOf(name)];
      assert.equal(col('Min. de retraso'), '17 min');
      assert.equal(col('Min. de salida anticipada'), '0');
      assert.equal(col('Horas extra'), '45 min');
      // The column can be brought into view (the table scrolls inside its frame).
      const th = table.locator('thead th', { hasText: 'Horas extra' });
      await th.scrollIntoViewIfNeeded();
      const box = await th.boundingBox();
      assert.ok(box && box.x >= 0 && box.x + box.width <= size.width, JSON.stringify(box));
      // The tiles add everyone up (Ana on time, Gil's exit missing: none of theirs).
      assert.equal(await page.getByRole('heading', { name: 'Para nómina' }).count(), 1);
      assert.equal((await page.getByTestId('total-minutes_late').innerText()).replace(/\s+/g, ' '), '17 min Min. de retraso');
      assert.equal((await page.getByTestId('total-overtime_minutes').innerText()).replace(/\s+/g, ' '), '45 min Horas extra');
      assert.ok(await page.getByTestId('total-overtime_minutes').isVisible());
      assert.deepEqual(await overflow(page), [], `nothing wider than the page at ${size.width} px`);
      await shot(page, `reports-09-payroll-minutes-${size.tag}`);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
});
