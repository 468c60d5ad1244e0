// leave.test.mjs — personal leave in the web UI on a phone (390×844, Debian's
// headless Chromium against the real server): on the person page the
// "Ausencias" section records a sick day with the keyboard (kind, desde,
// nota, Enter), lists it and refuses an overlapping one with a Spanish
// message; the Reports page then shows the day apart, in the leave colour
// with its legend, not as an absence, and who is missing now leaves the
// person out; Lucía herself reads it in Mis datos. A doctor's appointment
// is recorded as part of a day ("Solo unas horas"), which makes a late
// arrival it covers on time, and is edited in place (Editar, Guardar);
// Mis datos counts this year's days per kind. Screenshots in tests/out/web/.
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

const { zone, today, dow, at } = noonZone();
const dayAfter = (d, n) => new Date(Date.parse(`${d}T00:00:00Z`) + n * 86400e3).toISOString().slice(0, 10);
const PHONE = { width: 390, height: 844 };
const LUCIA = { email: 'lucia@rollcall.test', password: 'Lucia-e2e-password-1' };
let dir, srv, lucia, marco;

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
    marco = await person('P-2', 'Marco');
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

test('part of a day, added and edited in place on the person page at 390 px, excuses a late arrival; Mis datos counts the year', async () => {
  const browser = await launch(null);
  const errors = [];
  try {
    const page = await newPage(browser, PHONE);
    page.on('pageerror', (e) => errors.push(e.message));
    await login(page, srv.url, ADMIN);
    const api = await apiOf(page, srv.url);
    // Marco came at 09:20 to the 09:00 slot (grace 5): late.
    const e = await api('POST', '/api/v1/attendance', { person_id: marco, type: 'entry', time: at('09:20'), reason: 'médico' });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    const lateOf = async () => (await api('GET', `/api/v1/reports/summary?person_id=${marco}`)).body.items[0].late;
    assert.equal(await lateOf(), 1);
    await page.goto(new URL(`people/${marco}`, srv.url).href);
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Ausencias' }) });
    await waitOrAlert(page, section.getByText('Sin ausencias registradas.'));
    const add = section.getByRole('form', { name: 'Añadir ausencia' });
    await add.getByLabel('Tipo').selectOption({ label: 'Justificada' });
    await add.getByLabel('Desde').fill(today);
    await add.getByLabel('Solo unas horas').check();
    assert.equal(await add.getByLabel('Hasta').count(), 0, 'one day: no "Hasta"');
    await add.getByLabel('Hora de inicio').fill('08:30');
    await add.getByLabel('Hora de fin').fill('09:10');
    await add.getByLabel('Nota').fill('Médico');
    await add.getByRole('button', { name: 'Añadir ausencia' }).click();
    const table = section.getByRole('table', { name: 'Ausencias' });
    await waitOrAlert(page, table.locator('tbody tr'));
    assert.match(await table.locator('tbody tr').first().innerText(), /Justificada[\s\S]*08:30–09:10[\s\S]*Médico/);
    // Ends at 09:10: in at 09:20 is after its end + grace, late still.
    assert.equal(await lateOf(), 1);
    // Edited in place: until 09:30 (the same row).
    await table.getByRole('button', { name: `Editar Justificada ${today}` }).click();
    const edit = table.getByRole('form', { name: 'Editar ausencia' });
    await edit.waitFor();
    assert.equal(await edit.getByLabel('Solo unas horas').isChecked(), true);
    assert.equal(await edit.getByLabel('Hora de inicio').inputValue(), '08:30');
    await edit.getByLabel('Hora de fin').fill('09:30');
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-05-edit-390');
    await edit.getByRole('button', { name: 'Guardar' }).click();
    await edit.waitFor({ state: 'detached' });
    await waitOrAlert(page, table.getByText('08:30–09:30'));
    assert.equal(await table.locator('tbody tr').count(), 1);
    const [l] = (await api('GET', `/api/v1/persons/${marco}/leaves`)).body.items;
    assert.deepEqual([l.kind, l.from_min, l.to_min, l.note], ['justified', 510, 570, 'Médico']);
    assert.equal(await lateOf(), 0, 'in by the end + grace: not late');
    // An overlap with another leave is refused in place, in Spanish; Cancelar leaves it as it was.
    const other = await api('POST', `/api/v1/persons/${marco}/leaves`, { kind: 'vacation', from: dayAfter(today, 30) });
    assert.equal(other.status, 201, JSON.stringify(other.body));
    await page.reload();
    await table.getByRole('button', { name: `Editar Justificada ${today}` }).click();
    await edit.getByLabel('Solo unas horas').uncheck();
    await edit.getByLabel('Hasta').fill(dayAfter(today, 31));
    await edit.getByRole('button', { name: 'Guardar' }).click();
    await section.getByText('Ya hay una ausencia de esta persona en alguno de esos días.').waitFor();
    await edit.getByRole('button', { name: 'Cancelar' }).click();
    await waitOrAlert(page, table.getByText('08:30–09:30'));
    assert.deepEqual(await overflow(page), [], 'nothing wider than the phone');
    await shot(page, 'leave-06-edited-390');
    // Lucía: a part of a day this year besides her sick day; Mis datos counts them by kind.
    const year = today.slice(0, 4);
    const day = today.endsWith('-12-31') ? `${year}-12-30` : `${year}-12-31`;
    const part = await api('POST', `/api/v1/persons/${lucia}/leaves`, { kind: 'justified', from: day, from_min: 540, to_min: 630 });
    assert.equal(part.status, 201, JSON.stringify(part.body));
    const mine = await newPage(browser, PHONE);
    await login(mine, srv.url, LUCIA);
    await mine.goto(new URL('my-data', srv.url).href);
    const held = mine.getByTestId('mydata-leave-year');
    await waitOrAlert(mine, held);
    assert.match(await mine.locator('#md-leave ~ h3').innerText(), new RegExp(`En ${year}`));
    const text = (await held.innerText()).replace(/\s+/g, ' ');
    assert.match(text, /Baja médica 1 día/);
    assert.match(text, /Justificada 1 vez por horas \(1,5 h\)/);
    assert.match(await mine.locator('section', { has: mine.getByRole('heading', { name: 'Ausencias' }) }).innerText(), /09:00–10:30/);
    assert.deepEqual(await overflow(mine), [], 'nothing wider than the phone');
    await shot(mine, 'leave-07-mydata-year-390');
    assert.deepEqual(errors, [], 'no uncaught error in the page');
  } finally {
    await browser.close();
  }
});
