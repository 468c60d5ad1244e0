// auditor.test.mjs — the read-only account for HR or an inspector, end to
// end in Debian's headless Chromium against the real server: an admin gives
// the role on the Users page ("Consulta (RR. HH.)"); the auditor, on a
// phone (390×844), finds only the pages it may open in the menu, reads the
// reports, the attendance, people, groups and holidays with no button that
// would change them and no face photo, downloads the CSV, and a direct
// address of a page it may not use (import, unknown faces, users, kiosk)
// shows "No tiene permiso" instead of a form the server would refuse.
// Through the whole visit the app asks the server for nothing the role
// cannot have (no 403 answer). Screenshots in tests/out/web/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, noonZone } from '../http/lib.mjs';
import { ADMIN, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';

const HR = { email: 'rrhh@rollcall.test', password: 'Rrhh-e2e-password-1' };
const PHONE = { width: 390, height: 844 };
// A zone where it is about noon now: the day's figures are the same from the
// first request to the last, whatever the hour the test runs.
const { zone, dow, at } = noonZone();
let dir, srv, ids;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-auditor-'));
  srv = await startRollcall(join(dir, 'data'));
  const admin = new Client(srv.url);
  await admin.login(ADMIN.email, ADMIN.password);
  const ok = (r) => {
    if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  ok(await admin.patch('/api/v1/settings', { timezone: zone }));
  const person = async (code, first, last) =>
    ok(await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: last, kind: 'employee' })).id;
  const ana = await person('RH-1', 'Ana', 'Álvarez');
  const beto = await person('RH-2', 'Beto', 'Barrios');
  const group = ok(await admin.post('/api/v1/groups', { name: 'Administración' })).id;
  ok(await admin.put(`/api/v1/groups/${group}/members`, { person_ids: [ana, beto] }));
  ok(await admin.post('/api/v1/schedules', { group_id: group, day_of_week: dow, start: '08:00', end: '15:00', grace_min: 5, label: 'Jornada' }));
  ok(await admin.post('/api/v1/holidays', { date: '2031-12-25', name: 'Navidad' }));
  ok(await admin.post('/api/v1/cameras', { name: 'Puerta principal', kind: 'browser' }));
  ok(await admin.post('/api/v1/attendance', { person_id: ana, type: 'entry', time: at('08:02'), reason: 'e2e' }));
  ids = { ana, group };
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

// Nothing of the page's own content is wider than the phone.
const sideways = (page) =>
  page.evaluate(() => {
    const doc = document.scrollingElement;
    const main = document.querySelector('main');
    const right = main.getBoundingClientRect().left + main.clientWidth;
    const wide = [...main.querySelectorAll('*')]
      .filter((el) => el.getBoundingClientRect().right > right + 1 && !el.closest('.table-wrap'))
      .map((el) => el.tagName + (el.className ? `.${el.className}` : ''));
    return doc.scrollWidth > doc.clientWidth ? [`page ${doc.scrollWidth} > ${doc.clientWidth}`, ...wide] : wide;
  });

test('an admin gives the read-only role on the Users page, in Spanish', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, PHONE);
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('admin/users', srv.url).href);
    await page.getByRole('button', { name: 'Nuevo usuario' }).click();
    const dialog = page.getByRole('dialog', { name: 'Nuevo usuario' });
    await dialog.getByLabel('Correo').fill(HR.email);
    await dialog.getByLabel('Nombre').fill('Recursos Humanos');
    const role = dialog.getByLabel('Rol');
    assert.ok((await role.locator('option').allInnerTexts()).includes('Consulta (RR. HH.)'));
    await role.selectOption({ label: 'Consulta (RR. HH.)' });
    await dialog.getByText(/no cambia nada ni ve fotos de caras/).waitFor();
    await dialog.getByLabel('Contraseña').fill(HR.password);
    await shot(page, 'auditor-01-new-user-390');
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/users')),
      dialog.getByRole('button', { name: 'Crear' }).click(),
    ]);
    assert.equal(res.status(), 201, await res.text());
    assert.equal((await res.json()).role, 'auditor');
    await page.getByRole('cell', { name: HR.email, exact: true }).waitFor();
  } finally {
    await browser.close();
  }
});

test('the auditor on a phone: menu, reports, attendance, people and groups readable, nothing to change, no face photo', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, PHONE);
    const refused = [], pageErrors = [], photos = [];
    page.on('request', (r) => {
      if (/\/(photo|image)$/.test(new URL(r.url()).pathname)) photos.push(new URL(r.url()).pathname);
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await login(page, srv.url, HR); // a one-time password: changed first
    page.on('response', (r) => {
      if (r.status() === 401 || r.status() === 403) refused.push(`${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
    });
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    await page.getByText('Consulta (RR. HH.)').first().waitFor({ state: 'attached' }); // hidden on a phone

    // The menu offers what it may open, and no kiosk.
    await page.getByRole('button', { name: 'Menú' }).click();
    const nav = page.getByRole('navigation', { name: 'Menú' });
    assert.deepEqual(await nav.getByRole('link').allInnerTexts(), [
      'Panel',
      'Personas',
      'Grupos y horarios',
      'Festivos',
      'Asistencia',
      'Informes',
      'Cámaras',
    ]);
    assert.equal(await page.getByRole('button', { name: 'Iniciar modo quiosco' }).count(), 0);
    await shot(page, 'auditor-02-menu-390');
    await page.getByRole('button', { name: 'Menú' }).click();

    // Reports: the table with the people, and the downloads.
    await page.goto(new URL('reports', srv.url).href);
    await waitOrAlert(page, page.getByRole('cell', { name: /Álvarez/ }).first());
    assert.equal(await page.getByRole('link', { name: 'Descargar CSV' }).count(), 1);
    assert.deepEqual(await sideways(page), [], 'reports at 390 px');
    await shot(page, 'auditor-03-reports-390');

    // Attendance: everyone's events, exports, no manual entry or correction.
    await page.goto(new URL('attendance', srv.url).href);
    await waitOrAlert(page, page.getByRole('cell', { name: 'Ana Álvarez' }));
    const csv = page.getByRole('link', { name: 'Descargar CSV' });
    const [download] = await Promise.all([page.waitForEvent('download'), csv.click()]);
    assert.match(readFileSync(await download.path(), 'utf8'), /Ana Álvarez/);
    for (const name of ['Registro manual', 'Corregir', 'Anular', 'Eliminar', 'No es esta persona'])
      assert.equal(await page.getByRole('button', { name }).count(), 0, `attendance: ${name}`);
    assert.deepEqual(await sideways(page), [], 'attendance at 390 px');
    await shot(page, 'auditor-04-attendance-390');

    // People and one person: details, groups and history; no actions, no faces.
    await page.goto(new URL('people', srv.url).href);
    await waitOrAlert(page, page.getByRole('link', { name: 'Ana Álvarez' }));
    assert.equal(await page.getByRole('button', { name: 'Nueva persona' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Importar' }).count(), 0);
    await page.goto(new URL(`people/${ids.ana}`, srv.url).href);
    await waitOrAlert(page, page.getByRole('heading', { name: 'Ana Álvarez' }));
    await page.getByText('Las fotos de las caras no se muestran a una cuenta de consulta.').waitFor();
    await page.getByRole('link', { name: 'Administración' }).waitFor();
    for (const name of ['Editar', 'Archivar', 'Guardar PIN', 'Borrar datos biométricos', 'Borrar del todo', 'Guardar'])
      assert.equal(await page.getByRole('button', { name }).count(), 0, `person: ${name}`);
    assert.equal(await page.getByRole('heading', { name: 'Registrar rostros' }).count(), 0, 'no enrollment');
    assert.equal(await page.locator('main input:not([disabled])').count(), 0, 'no field to change');
    assert.deepEqual(await sideways(page), [], 'person at 390 px');
    await shot(page, 'auditor-05-person-390');

    // Groups, one group's timetable and members, holidays: read only.
    await page.goto(new URL('groups', srv.url).href);
    await waitOrAlert(page, page.getByRole('link', { name: 'Administración' }).first());
    assert.equal(await page.getByRole('button', { name: 'Nuevo grupo' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Eliminar' }).count(), 0);
    await page.goto(new URL(`groups/${ids.group}`, srv.url).href);
    await waitOrAlert(page, page.getByRole('cell', { name: 'Beto Barrios' }));
    assert.equal(await page.getByRole('button', { name: /Añadir|Guardar|Quitar|Eliminar/ }).count(), 0);
    assert.equal(await page.locator('main input:not([disabled])').count(), 0, 'the timetable is shown, not editable');
    assert.ok((await page.locator('main input[type=time]').count()) > 0, 'the timetable is shown');
    assert.deepEqual(await sideways(page), [], 'group at 390 px');
    await shot(page, 'auditor-06-group-390');
    await page.goto(new URL('holidays', srv.url).href);
    await waitOrAlert(page, page.getByRole('cell', { name: 'Navidad' }));
    assert.equal(await page.getByRole('button', { name: /Añadir festivo|Eliminar/ }).count(), 0);

    // Cameras: the list and its status, nothing to change.
    await page.goto(new URL('cameras', srv.url).href);
    await waitOrAlert(page, page.getByRole('heading', { name: /Puerta principal/ }));
    assert.equal(await page.getByRole('button', { name: /Nueva cámara|Editar|Eliminar/ }).count(), 0);

    // Addresses of what it may not use: the not-allowed notice, no form.
    for (const path of ['import', 'review', 'registrations', 'admin/users', 'admin/settings', 'kiosk']) {
      await page.goto(new URL(path, srv.url).href);
      const notice = page.getByRole('alert').filter({ hasText: 'No tiene permiso para ver esta página.' });
      await notice.waitFor();
      assert.equal(await page.locator('main input, main select, main textarea, video').count(), 0, `${path}: no form`);
      assert.deepEqual(await sideways(page).catch(() => []), [], `${path} at 390 px`);
    }
    await shot(page, 'auditor-07-import-forbidden-390');

    assert.deepEqual(refused, [], 'the app asked for nothing the role cannot have');
    assert.deepEqual(photos, [], 'no face image requested');
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
  }
});
