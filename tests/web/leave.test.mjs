// leave.test.mjs — personal leave in the web UI on a phone (390×844, Debian's
// headless Chromium against the real server): on the person page the
// "Ausencias" section records a sick day with the keyboard (kind, desde,
// nota, Enter), lists it and refuses an overlapping one with a Spanish
// message; the Reports page then shows the day apart, in the leave colour
// with its legend, not as an absence, and who is missing now leaves the
// person out; Lucía herself reads it in Mis datos. Screenshots in tests/out/web/.
//
// The zone puts local time at about noon (noonZone), so today's 09:00 slot
// has passed its start + grace on every run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noonZone } from '../http/lib.mjs';
import { ADMIN, apiOf, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';

const { zone, today, dow } = noonZone();
const PHONE = { width: 390, height: 844 };
const LUCIA = { email: 'lucia@rollcall.test', password: 'Lucia-e2e-password-1' };
let dir, srv, lucia;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-leave-'));
  srv = await startRollcall(join(dir, 'data'));
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    const api = await apiOf(page, srv.url);
    assert.equal((await api('PATCH', '/api/v1/settings', { timezone: zone })).status, 200);
    const person = async (code, first) =>
      (await api('POST', '/api/v1/persons', { external_id: code, first_name: first, last_name: 'Prieto', kind: 'employee' })).body.id;
    lucia = await person('P-1', 'Lucía');
    const marco = await person('P-2', 'Marco');
    const g = (await api('POST', '/api/v1/groups', { name: 'Almacén' })).body.id;
    await api('PUT', `/api/v1/groups/${g}/members`, { person_ids: [lucia, marco] });
    const u = await api('POST', '/api/v1/users', { email: 'lucia@rollcall.test', name: 'Lucía', role: 'member', password: LUCIA.password, person_id: lucia, must_change_password: false });
    assert.equal(u.status, 201, JSON.stringify(u.body));
    const s = await api('POST', '/api/v1/schedules', { group_id: g, day_of_week: dow, start: '09:00', end: '11:00', grace_min: 5, label: 'Turno' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
  } finally {
    await browser.close();
  }
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

// No element of the page's own content is wider than the main area.
const overflow = (page) =>
  page.evaluate(() => {
    const main = document.querySelector('main');
    const right = main.getBoundingClientRect().left + main.clientWidth;
    return [...main.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > right + 1 && !el.closest('.table-wrap'))
      .map((el) => `${el.tagName}.${el.className}`);
  });

test('a sick day added on the person page at 390 px is leave, not an absence, in the reports', async () => {
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await newPage(browser, PHONE);
    page.on('pageerror', (e) => errors.push(e.message));
    await login(page, srv.url, ADMIN);
    await page.goto(new URL(`people/${lucia}`, srv.url).href);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Ausencias' }) });
    await waitOrAlert(page, section.getByText('Sin ausencias registradas.'));
    // With the keyboard: the kind, the first day, a note, Enter.
    await section.getByLabel('Tipo').focus();
    await page.keyboard.press('Tab'); // to "Desde"
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('type')), 'date');
    await section.getByLabel('Desde').fill(today);
    await section.getByLabel('Nota').fill('Gripe');
    await section.getByLabel('Nota').press('Enter');
    const table = section.getByRole('table', { name: 'Ausencias' });
    await waitOrAlert(page, table.locator('tbody tr'));
    const row = await table.locator('tbody tr').first().innerText();
    assert.match(row, /Baja médica/);
    assert.match(row, /Gripe/);
    assert.equal(await table.locator('.badge.leave').count(), 1, 'in the leave colour');
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-01-person-390');
    // The same day again: refused, in Spanish.
    await section.getByLabel('Tipo').selectOption({ label: 'Vacaciones' });
    await section.getByLabel('Desde').fill(today);
    await section.getByRole('button', { name: 'Añadir ausencia' }).click();
    await section.getByText('Ya hay una ausencia de esta persona en alguno de esos días.').waitFor();
    assert.equal(await table.locator('tbody tr').count(), 1);

    // Reports: Lucía's slot is leave (not absent, no rate); Marco is absent.
    await page.goto(new URL(`reports?from=${today}&to=${today}`, srv.url).href);
    const rep = page.getByRole('table', { name: 'Asistencia por persona' });
    await waitOrAlert(page, rep.locator('tbody tr').nth(1));
    const cells = async (name) => rep.locator('tbody tr', { hasText: name }).locator('td').allInnerTexts();
    const head = (await rep.locator('thead th').allTextContents()).map((h) => h.trim());
    const col = (h) => head.indexOf(h);
    assert.ok(col('Ausencia justificada') > 0, head.join(' | '));
    const l = await cells('Lucía'), m = await cells('Marco');
    assert.equal(l[col('Ausencias')], '0');
    assert.equal(m[col('Ausencias')], '1');
    assert.equal(l[col('Ausencia justificada')], '1');
    assert.equal(m[col('Ausencia justificada')], '0');
    assert.equal(await rep.locator('tbody tr', { hasText: 'Lucía' }).locator('.badge.leave').count(), 1);
    assert.match(await page.getByTestId('leave-legend').innerText(), /no cuentan como faltas/);
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-02-reports-390');
    // Who is missing now: Marco only.
    await page.goto(new URL('dashboard', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing.locator('tbody tr').first());
    assert.deepEqual(await missing.locator('tbody tr td:first-child').allInnerTexts(), ['Marco Prieto']);
    const tile = (label) => page.locator('span', { hasText: new RegExp(`^${label}$`) }).locator('xpath=preceding-sibling::span[1]');
    assert.equal(await tile('De baja o permiso').innerText(), '1');
    assert.equal(await tile('Ausentes').innerText(), '1');
    assert.equal(await tile('Esperados').innerText(), '2');
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-03-dashboard-390');
    assert.deepEqual(errors, [], 'no uncaught error in the page');
  } finally {
    await browser.close();
  }
});

test('the member reads her own leave in Mis datos at 390 px', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, PHONE);
    await login(page, srv.url, LUCIA);
    await page.goto(new URL('my-data', srv.url).href);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Ausencias' }) });
    await waitOrAlert(page, section.locator('.badge.leave'));
    assert.match(await section.innerText(), /Baja médica[\s\S]*Gripe/);
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-04-mydata-390');
  } finally {
    await browser.close();
  }
});
