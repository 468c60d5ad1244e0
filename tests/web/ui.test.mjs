// ui.test.mjs — the administration side of the web UI end to end, against
// the real server with Debian's headless Chromium: groups with their weekly
// timetable, members and holidays edited through the UI and checked against
// the API; a manual attendance entry, its correction, the CSV and the
// dashboard; an API key shown once; cameras added and edited; the language
// switch; and the role checks (a member cannot open the
// administration pages, and the API refuses them too). Every page visited is
// saved under tests/out/web/; the busiest are checked with axe-core. The
// tests share one server and run in order: later ones use the group and the
// events the earlier ones made.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, a11yProblems, apiOf, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';

const MANAGER = { email: 'manager@rollcall.test', name: 'Marta Responsable', password: 'Manager-e2e-password-1' };
const MEMBER = { email: 'member@rollcall.test', name: 'Mia Miembro', password: 'Member-e2e-password-1' };

let dir, srv;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-ui-'));
  srv = await startRollcall(join(dir, 'data'));
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

// Creates persons through the API with the page's session; each must answer 201.
async function createPersons(page, persons) {
  await page.evaluate(async (list) => {
    const { csrf_token } = await (await fetch('/api/v1/auth/me')).json();
    for (const p of list) {
      const r = await fetch('/api/v1/persons', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf_token },
        body: JSON.stringify(p),
      });
      if (r.status !== 201) throw new Error(`create person ${p.external_id}: ${r.status}`);
    }
  }, persons);
}

// First, while the server is new: later tests add groups, people and cameras.
test("a fresh install: the admin's dashboard lists the first steps, none ticked; a group made through the API ticks its step; hidden, it stays hidden", async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('dashboard', srv.url).href);
    const steps = page.getByRole('region', { name: 'Primeros pasos' });
    await steps.waitFor();
    const names = [
      'Elegir la zona horaria',
      'Crear el primer grupo',
      'Añadir el horario del grupo',
      'Dar de alta a alumnos y profesores',
      'Añadir una cámara',
      'Crear una cuenta de responsable',
    ];
    const ticks = async () => Promise.all(names.map((n) => steps.getByRole('checkbox', { name: n }).isChecked()));
    assert.deepEqual(await ticks(), [false, false, false, false, false, false]);
    assert.equal(await steps.getByRole('link', { name: 'Crear el primer grupo' }).getAttribute('href'), '/groups');
    await shot(page, 'ui-00-first-steps-390');
    assert.deepEqual(await a11yProblems(page), [], 'first steps: no serious accessibility problem');

    const api = await apiOf(page, srv.url);
    const g = await api('POST', '/api/v1/groups', { name: 'Grupo de prueba' });
    assert.equal(g.status, 201);
    await page.reload();
    await steps.waitFor();
    assert.deepEqual(await ticks(), [false, true, false, false, false, false]);
    assert.equal((await api('DELETE', `/api/v1/groups/${g.body.id}`)).status, 204);

    // A manager does not see it.
    const mgr = { email: 'pasos@rollcall.test', name: 'Paso Responsable', password: 'Steps-e2e-password-1' };
    assert.equal((await api('POST', '/api/v1/users', { ...mgr, role: 'manager' })).status, 201);
    const manager = await newPage(browser);
    await login(manager, srv.url, mgr);
    await manager.goto(new URL('dashboard', srv.url).href);
    await manager.getByRole('heading', { name: 'Panel' }).waitFor();
    await manager.getByText('Presentes').first().waitFor();
    assert.equal(await manager.getByRole('region', { name: 'Primeros pasos' }).count(), 0);
    assert.equal(
      (await api('DELETE', `/api/v1/users/${(await api('GET', '/api/v1/users')).body.items.find((u) => u.email === mgr.email).id}`)).status,
      204,
    );

    // Hidden by the admin: gone, also after a reload of this browser.
    await steps.getByRole('button', { name: 'Ocultar esta lista' }).click();
    await steps.waitFor({ state: 'detached' });
    await page.reload();
    await page.getByRole('heading', { name: 'Panel' }).waitFor();
    await page.getByText('Presentes').first().waitFor();
    assert.equal(await steps.count(), 0);
  } finally {
    await browser.close();
  }
});

test('groups: create a group, edit its weekly timetable, add a member, add a holiday', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    // The persons to add (one becomes a member, the other is only offered).
    await createPersons(page, [
      { external_id: 'G-001', first_name: 'Gonzalo', last_name: 'Grupo', kind: 'student' },
      { external_id: 'G-002', first_name: 'Olga', last_name: 'Otra', kind: 'teacher' },
    ]);

    await page.goto(new URL('groups', srv.url).href);
    await page.getByRole('button', { name: 'Nuevo grupo' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Nombre', { exact: true }).fill('1º ESO A');
    await dialog.getByLabel('Descripción').fill('Tutora: Marta');
    await dialog.getByRole('button', { name: 'Crear' }).click();
    await page.getByRole('link', { name: '1º ESO A' }).click();
    await page.getByRole('heading', { name: '1º ESO A' }).waitFor();

    // Monday 08:00–14:00 and Tuesday 09:00–13:30; an impossible slot is refused.
    const monday = page.getByRole('region', { name: 'Lunes' });
    await monday.getByRole('button', { name: /Añadir franja/ }).click();
    await monday.getByLabel('Etiqueta').fill('Mañana');
    const tuesday = page.getByRole('region', { name: 'Martes' });
    await tuesday.getByRole('button', { name: /Añadir franja/ }).click();
    await tuesday.getByLabel('Inicio').fill('15:00');
    await tuesday.getByLabel('Fin').fill('13:30');
    // An end before the start is a night slot (it ends the next day)...
    await tuesday.getByText('Fin (día siguiente)').waitFor();
    assert.ok(!(await page.getByRole('button', { name: 'Guardar' }).isDisabled()), 'a night slot can be saved');
    // ...and an empty one cannot be saved.
    await tuesday.getByLabel('Inicio').fill('13:30');
    await tuesday.getByText('La hora de fin debe ser distinta de la de inicio.').waitFor();
    assert.ok(await page.getByRole('button', { name: 'Guardar' }).isDisabled(), 'cannot save an empty slot');
    await tuesday.getByLabel('Inicio').fill('09:00');
    await page.getByRole('button', { name: 'Guardar' }).click();
    await page.getByText('Guardado.').waitFor();

    // Add the member.
    await page.getByLabel('Buscar persona').fill('Gonzalo');
    await page.locator('datalist option[value="Gonzalo Grupo (G-001)"]').waitFor({ state: 'attached' });
    await page.getByLabel('Buscar persona').fill('Gonzalo Grupo (G-001)');
    await page.getByRole('button', { name: 'Añadir miembro' }).click();
    await page.getByRole('cell', { name: 'G-001' }).waitFor();
    await shot(page, 'ui-01-group-timetable');
    assert.deepEqual(await a11yProblems(page), [], 'group page: no serious accessibility problem');

    // The people list filtered by the group shows its member only.
    await page.goto(new URL('people', srv.url).href);
    await page.getByRole('cell', { name: 'G-002' }).waitFor();
    await page.getByRole('combobox', { name: /^Grupo/ }).selectOption({ label: '1º ESO A' });
    await page.waitForURL(/group_id=/);
    await page.getByRole('cell', { name: 'G-002' }).waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('cell', { name: 'G-001' }).count(), 1);
    await shot(page, 'ui-01-people-by-group');

    await page.goBack();
    await page.getByRole('heading', { name: '1º ESO A' }).waitFor();

    // Everything is still there after a reload, as the server has it.
    await page.reload();
    await page.getByRole('heading', { name: 'Miembros (1)' }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'Lunes' }).getByLabel('Etiqueta').inputValue(), 'Mañana');
    assert.equal(await page.getByRole('region', { name: 'Martes' }).getByLabel('Inicio').inputValue(), '09:00');
    assert.equal(await page.getByRole('region', { name: 'Miércoles' }).getByLabel('Inicio').count(), 0);
    const schedules = await page.evaluate(async () => (await (await fetch('/api/v1/schedules')).json()).items);
    assert.deepEqual(schedules.map((x) => [x.day_of_week, x.start, x.end, x.label]).sort(), [
      [1, '08:00', '14:00', 'Mañana'],
      [2, '09:00', '13:30', ''],
    ]);

    // A holiday.
    await page.goto(new URL('holidays', srv.url).href);
    await page.getByLabel('Fecha').fill('2026-12-08');
    await page.getByLabel('Nombre').fill('Inmaculada Concepción');
    await page.getByRole('button', { name: 'Añadir festivo' }).click();
    await page.getByRole('cell', { name: 'Inmaculada Concepción' }).waitFor();
    await shot(page, 'ui-02-holidays');

    // Deleting asks first, naming the holiday: declining keeps it, accepting removes it.
    await page.getByLabel('Fecha').fill('2026-12-25');
    await page.getByLabel('Nombre').fill('Navidad');
    await page.getByRole('button', { name: 'Añadir festivo' }).click();
    const xmas = page.getByRole('row').filter({ hasText: 'Navidad' });
    await xmas.waitFor();
    const holidayNames = async () =>
      page.evaluate(async () => (await (await fetch('/api/v1/holidays')).json()).items.map((h) => h.name).sort());
    const questions = [];
    page.once('dialog', (d) => (questions.push(d.message()), d.dismiss()));
    await xmas.getByRole('button', { name: 'Eliminar' }).click();
    assert.deepEqual(await holidayNames(), ['Inmaculada Concepción', 'Navidad']);
    page.once('dialog', (d) => (questions.push(d.message()), d.accept()));
    await xmas.getByRole('button', { name: 'Eliminar' }).click();
    await xmas.waitFor({ state: 'detached' });
    assert.deepEqual(await holidayNames(), ['Inmaculada Concepción']);
    assert.equal(questions.length, 2);
    for (const q of questions) assert.match(q, /Navidad/);
    // Christmas in one go: a range, one holiday a day, the last included.
    await page.getByLabel('Fecha').fill('2026-12-23');
    await page.getByLabel('Hasta').fill('2027-01-07');
    await page.getByLabel('Nombre').fill('Vacaciones de Navidad');
    await page.getByRole('button', { name: 'Añadir festivo' }).click();
    await page.getByRole('row').filter({ hasText: 'Vacaciones de Navidad' }).first().waitFor();
    assert.equal((await holidayNames()).filter((n) => n === 'Vacaciones de Navidad').length, 16);
  } finally {
    await browser.close();
  }
});

test('attendance: manual entry with a reason, a correction, the table, the CSV and the dashboard', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    await createPersons(page, [{ external_id: 'M-001', first_name: 'Manuel', last_name: 'Manual', kind: 'employee' }]);

    await page.goto(new URL('attendance', srv.url).href);
    await page.getByRole('heading', { name: 'Asistencia' }).waitFor();
    await page.getByRole('button', { name: 'Registro manual' }).click();
    const dialog = page.getByRole('dialog', { name: 'Registro manual' });
    // Type part of the name, then pick the suggestion, as a person would.
    await dialog.getByLabel('Persona').fill('Manuel');
    await dialog.locator('datalist option[value="Manuel Manual (M-001)"]').waitFor({ state: 'attached' });
    await dialog.getByLabel('Persona').fill('Manuel Manual (M-001)');
    await dialog.getByLabel('Motivo').fill('Olvidó pasar por el quiosco');
    await shot(page, 'ui-03-attendance-manual');
    await dialog.getByRole('button', { name: 'Guardar' }).click();
    const row = page.getByRole('table', { name: 'Asistencia' }).getByRole('row').filter({ hasText: 'M-001' });
    await waitOrAlert(page, row.first(), 20000);
    assert.equal(await row.count(), 1);
    assert.match(await row.innerText(), /Entrada/);
    assert.match(await row.innerText(), /Olvidó pasar por el quiosco/);

    // A correction needs a reason and changes the status.
    await row.getByRole('button', { name: 'Corregir' }).click();
    const fix = page.getByRole('dialog', { name: 'Corrección del registro' });
    await fix.getByRole('combobox', { name: /^Estado/ }).selectOption('late');
    await fix.getByLabel('Motivo').fill('Llegó tarde según el profesor');
    await fix.getByRole('button', { name: 'Guardar' }).click();
    await row.getByText('Tarde', { exact: true }).waitFor();
    // The row says it was corrected; a tap (or hover) says by whom and when.
    const me = await page.evaluate(async () => (await (await fetch('/api/v1/auth/me')).json()).user.name);
    assert.ok(me, 'the admin has a name');
    await row.getByText('Corregido', { exact: true }).click();
    const byWhom = row.getByText(`Corregido por ${me} el `);
    await byWhom.waitFor();
    assert.match(await byWhom.innerText(), new RegExp(`^Corregido por ${me} el \\d+ \\S+ \\d{4}, \\d\\d:\\d\\d$`));
    assert.equal(await row.getByText('Corregido', { exact: true }).getAttribute('title'), await byWhom.innerText());
    await shot(page, 'ui-04-attendance-corrected');

    await page.getByRole('button', { name: 'Resumen por persona' }).click();
    const summary = page.getByRole('table', { name: 'Resumen por persona' }).getByRole('row').filter({ hasText: 'Manuel Manual' });
    await waitOrAlert(page, summary.first(), 20000);
    await shot(page, 'ui-05-attendance-summary');
    assert.deepEqual(await a11yProblems(page), [], 'attendance summary: no serious accessibility problem');
    await page.getByRole('button', { name: 'Eventos' }).click();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Descargar CSV' }).click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    assert.equal(csv.split(/\r?\n/).filter((l) => l.includes('M-001')).length, 1, 'the event is in the CSV once');
    assert.match(csv.split(/\r?\n/)[0], /;Corregido;Minutos fuera de horario;Falta la salida;Minutos de retraso;Minutos de salida anticipada;Minutos de horas extra$/, 'a column says who corrected a row');
    assert.match(
      csv.split(/\r?\n/).find((l) => l.includes('M-001')),
      // then minutes outside, missing exit, minutes late, of early leave, overtime
      new RegExp(`;\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d por ${me};\\d+;[01];\\d+;\\d+;\\d+$`),
    );
    const [xlsx] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Descargar XLSX' }).click()]);
    const book = readFileSync(await xlsx.path());
    assert.equal(book.subarray(0, 2).toString('latin1'), 'PK', 'the XLSX download is a zip (Office Open XML) file');
    assert.match(xlsx.suggestedFilename(), /\.xlsx$/);

    // The person's page shows the mark too, on a phone.
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, ADMIN);
    const pid = await phone.evaluate(async () => (await (await fetch('/api/v1/persons?q=M-001')).json()).items[0].id);
    await phone.goto(new URL(`people/${pid}`, srv.url).href);
    const mark = phone.getByRole('table').getByText('Corregido', { exact: true });
    await mark.click();
    await phone.getByText(`Corregido por ${me} el `).waitFor();
    await shot(phone, 'ui-04-person-corrected-390');

    await page.goto(new URL('dashboard', srv.url).href);
    await page.getByRole('heading', { name: 'Panel' }).waitFor();
    await page.getByText('Manuel Manual').first().waitFor();
    assert.equal(await page.getByRole('alert').count(), 0, 'the dashboard shows no error');
    await shot(page, 'ui-06-dashboard');
    assert.deepEqual(await a11yProblems(page), [], 'dashboard: no serious accessibility problem');
  } finally {
    await browser.close();
  }
});

test('"Copiar" on a new API key copies it, or says to copy it by hand, where the page is plain HTTP on a LAN name', async () => {
  // http://escuela.lan is no secure context: the Clipboard API is missing
  // there, and the button used to do nothing at all.
  const browser = await launch(null, ['--host-resolver-rules=MAP escuela.lan 127.0.0.1']);
  try {
    const page = await newPage(browser);
    const lan = srv.url.replace('127.0.0.1', 'escuela.lan');
    await login(page, lan, ADMIN);
    assert.equal(await page.evaluate(() => window.isSecureContext), false);
    await page.goto(new URL('admin/api-keys', lan).href);
    await page.getByRole('button', { name: 'Nueva clave' }).click();
    const dialog = page.getByRole('dialog', { name: 'Nueva clave' });
    await dialog.getByLabel('Nombre', { exact: true }).fill('Quiosco patio');
    await dialog.getByRole('button', { name: 'Crear' }).click();
    const secret = (await page.getByTestId('api-key-secret').innerText()).trim();
    await page.evaluate(() => {
      window.copiedText = null;
      document.addEventListener('copy', (e) => {
        const t = e.target;
        window.copiedText =
          t instanceof HTMLTextAreaElement ? t.value.slice(t.selectionStart, t.selectionEnd) : String(document.getSelection());
      });
    });
    const shown = page.getByRole('dialog', { name: 'Quiosco patio' });
    await shown.getByRole('button', { name: 'Copiar' }).click();
    const copied = shown.getByRole('button', { name: 'Copiada' });
    await copied.or(shown.getByText('cópiela a mano')).first().waitFor({ timeout: 5000 });
    if (await copied.count()) assert.equal(await page.evaluate(() => window.copiedText), secret, 'the key itself was copied');
    await shot(page, 'ui-07b-api-key-copied-lan');
  } finally {
    await browser.close();
  }
});

test('an HR API key ("Consulta (RR. HH.)") is made on the keys page, without a camera, and pulls the attendance export', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('admin/api-keys', srv.url).href);
    await page.getByRole('button', { name: 'Nueva clave' }).click();
    const dialog = page.getByRole('dialog', { name: 'Nueva clave' });
    await dialog.getByLabel('Nombre', { exact: true }).fill('Nóminas');
    assert.equal(await dialog.getByLabel('Cámara').count(), 1, 'a device key may be bound to a camera');
    await dialog.getByLabel('Rol').selectOption({ label: 'Consulta (RR. HH.)' });
    assert.equal(await dialog.getByLabel('Cámara').count(), 0, 'a read-only key has no camera to pick');
    await dialog.getByRole('button', { name: 'Crear' }).click();
    const secret = (await page.getByTestId('api-key-secret').innerText()).trim();
    const got = await page.evaluate(async (key) => {
      const h = { Authorization: `Bearer ${key}` };
      const day = new Date().toISOString().slice(0, 10);
      const exp = await fetch(`/api/v1/attendance/export?format=csv&from=${day}&to=${day}`, { headers: h, credentials: 'omit' });
      const add = await fetch('/api/v1/groups', {
        method: 'POST', headers: { ...h, 'Content-Type': 'application/json' }, credentials: 'omit', body: '{"name":"x"}',
      });
      return [exp.status, exp.headers.get('content-type'), add.status];
    }, secret);
    assert.equal(got[0], 200, 'the HR key exports attendance');
    assert.match(got[1], /text\/csv/);
    assert.equal(got[2], 403, 'and changes nothing');
    await page.getByRole('dialog', { name: 'Nóminas' }).getByText('Cerrar', { exact: true }).click();
    await page.getByRole('row').filter({ hasText: 'Nóminas' }).filter({ hasText: 'Consulta (RR. HH.)' }).waitFor();
  } finally {
    await browser.close();
  }
});

test('administration: an API key is shown once and opens a kiosk tablet; a camera is added, listed and edited', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);

    await page.goto(new URL('admin/api-keys', srv.url).href);
    await page.getByRole('button', { name: 'Nueva clave' }).click();
    const dialog = page.getByRole('dialog', { name: 'Nueva clave' });
    await dialog.getByLabel('Nombre', { exact: true }).fill('Quiosco puerta');
    await dialog.getByRole('button', { name: 'Crear' }).click();
    const secret = await page.getByTestId('api-key-secret').innerText();
    assert.ok(secret.length >= 20, 'the key is shown');
    await shot(page, 'ui-07-api-key-once');
    // The key works as a device key: it may recognize but not list people.
    const status = await page.evaluate(async (key) => {
      const h = { Authorization: `Bearer ${key}` };
      return [
        (await fetch('/api/v1/persons', { headers: h, credentials: 'omit' })).status,
        (await fetch('/api/v1/auth/me', { headers: h, credentials: 'omit' })).status,
      ];
    }, secret.trim());
    assert.equal(status[0], 403, 'a device key cannot list people');
    await page.getByRole('dialog', { name: 'Quiosco puerta' }).getByText('Cerrar', { exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'Quiosco puerta' });
    await row.waitFor();
    assert.ok(!(await page.content()).includes(secret.trim()), 'the key is not shown again');

    // A kiosk tablet set up with the device key: no user session, the kiosk
    // opens and its frames are accepted by /recognize.
    const tablet = await newPage(browser, { width: 1024, height: 768 });
    await tablet.goto(new URL('login', srv.url).href);
    await tablet.getByText('Quiosco con clave de dispositivo').click();
    await tablet.getByLabel('Clave de dispositivo').fill(secret.trim());
    const recognized = tablet.waitForResponse((r) => r.url().includes('/api/v1/recognize'), { timeout: 30000 });
    await tablet.getByRole('button', { name: 'Abrir quiosco' }).click();
    await tablet.waitForURL(/\/kiosk$/);
    assert.equal((await recognized).status(), 200, 'the device key may recognize');
    await tablet.getByTestId('kiosk-network').getByText('Conectado').waitFor();
    await shot(tablet, 'ui-07-kiosk-device-key');
    await tablet.reload();
    await tablet.getByTestId('kiosk-network').waitFor();
    assert.match(tablet.url(), /\/kiosk$/, 'the key is kept across reloads');
    // Whoever stands at the kiosk cannot leave it: no "sign out", and "Salir"
    // asks for the kiosk PIN (none is set yet) or an administrator's password.
    assert.equal(await tablet.getByRole('button', { name: 'Cerrar sesión' }).count(), 0, 'no one-tap sign out');
    await tablet.getByRole('button', { name: /Salir/ }).click();
    const leave = tablet.getByRole('dialog', { name: 'Salir del modo quiosco' });
    await leave.getByLabel('PIN del quiosco').fill('0000');
    await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
    await leave.getByText('PIN o contraseña incorrectos.').waitFor();
    await leave.getByRole('button', { name: 'Usar contraseña de administrador' }).click();
    await leave.getByLabel('Correo del administrador').fill(ADMIN.email);
    await leave.getByLabel('Contraseña de administrador').fill(ADMIN.password);
    await shot(tablet, 'ui-07b-kiosk-leave');
    await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
    await tablet.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
    assert.equal(await tablet.evaluate(() => localStorage.getItem('rollcall.deviceKey')), null, 'leaving forgets the key');

    await page.goto(new URL('cameras', srv.url).href);
    await page.getByRole('button', { name: 'Nueva cámara' }).click();
    const cam = page.getByRole('dialog', { name: 'Nueva cámara' });
    await cam.getByLabel('Nombre', { exact: true }).fill('Puerta principal');
    await cam.getByLabel('URL').fill('http://127.0.0.1:9/mjpeg');
    await cam.getByRole('combobox', { name: /^Dirección/ }).selectOption('entry');
    await cam.getByRole('button', { name: 'Guardar' }).click();
    const card = page.getByRole('article', { name: /Puerta principal/ });
    await waitOrAlert(page, card, 20000);
    assert.match(await card.innerText(), /Entrada/);
    await card.getByRole('button', { name: 'Editar' }).click();
    const edit = page.getByRole('dialog', { name: 'Editar' });
    await edit.getByRole('combobox', { name: /^Dirección/ }).selectOption('both');
    await edit.getByRole('button', { name: 'Guardar' }).click();
    await card.getByText('Ambas').waitFor();
    await shot(page, 'ui-08-cameras');

    // A manager limited to one group: set in the user form, shown in the list,
    // and the manager then sees only that group's attendance.
    await page.goto(new URL('admin/users', srv.url).href);
    await page.getByRole('button', { name: 'Nuevo usuario' }).click();
    const form = page.getByRole('dialog', { name: 'Nuevo usuario' });
    await form.getByLabel('Correo', { exact: true }).fill(MANAGER.email);
    await form.getByLabel('Nombre', { exact: true }).fill(MANAGER.name);
    await form.getByRole('combobox', { name: /^Rol/ }).selectOption('manager');
    await form.getByLabel('Contraseña').fill(MANAGER.password);
    await form.getByRole('listbox', { name: /^Grupos que ve/ }).selectOption({ label: '1º ESO A' });
    await form.getByRole('button', { name: 'Crear' }).click();
    const managerRow = page.getByRole('row').filter({ hasText: MANAGER.email });
    await managerRow.waitFor();
    assert.match(await managerRow.innerText(), /1º ESO A/);
    await shot(page, 'ui-08-users-manager-groups');

    const manager = await newPage(browser);
    await login(manager, srv.url, MANAGER);
    await manager.goto(new URL('attendance', srv.url).href);
    await manager.getByRole('heading', { name: 'Asistencia' }).waitFor();
    // The table (rows or "empty") shows once the list has answered.
    await waitOrAlert(manager, manager.getByRole('table', { name: 'Asistencia' }));
    assert.equal(await manager.getByRole('cell', { name: 'M-001' }).count(), 0, "another group's events are not shown");
    const nav = manager.getByRole('navigation', { name: 'Menú' });
    assert.equal(await nav.getByRole('link', { name: 'Usuarios' }).count(), 0, 'no administration for a manager');
    assert.equal(await nav.getByRole('link', { name: 'Personas' }).count(), 1);
    assert.deepEqual(await a11yProblems(page), [], 'cameras: no serious accessibility problem');
  } finally {
    await browser.close();
  }
});

test('a teacher copies Monday to Tuesday–Friday in one action, on a phone; an overlap is refused first', async () => {
  const browser = await launch(null);
  try {
    // The admin makes a group with Monday's timetable (a night class among
    // them) and adds it to the manager's (the teacher's) groups.
    const admin = await newPage(browser);
    await login(admin, srv.url, ADMIN);
    const api = await apiOf(admin, srv.url);
    const g = await api('POST', '/api/v1/groups', { name: '2º Bach Nocturno' });
    assert.equal(g.status, 201);
    const gid = g.body.id;
    const monday = [
      { start: '08:00', end: '11:00', grace_min: 5, label: 'Mañana' },
      { start: '11:30', end: '14:00', grace_min: 10, label: 'Tarde' },
      { start: '22:00', end: '01:00', grace_min: 5, label: 'Noche' },
    ];
    for (const m of monday) assert.equal((await api('POST', '/api/v1/schedules', { group_id: gid, day_of_week: 1, ...m })).status, 201);
    // Thursday already has an 09:00 slot: the copy to Thursday would overlap it.
    const thu = await api('POST', '/api/v1/schedules', { group_id: gid, day_of_week: 4, start: '09:00', end: '10:00', label: 'Tutoría' });
    assert.equal(thu.status, 201);
    const teacher = { email: 'tutor@rollcall.test', name: 'Tomás Tutor', password: 'Teacher-e2e-password-1' };
    const made = await api('POST', '/api/v1/users', { ...teacher, role: 'manager', group_ids: [gid] });
    assert.equal(made.status, 201, JSON.stringify(made.body));

    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, srv.url, teacher);
    await page.goto(new URL(`groups/${gid}`, srv.url).href);
    await page.getByRole('heading', { name: '2º Bach Nocturno' }).waitFor();
    await page.getByRole('button', { name: 'Copiar Lunes a otros días' }).click();
    const dialog = page.getByRole('dialog', { name: 'Lunes: copiar a otros días' });
    await dialog.getByText('se añaden a los días marcados').waitFor();
    for (const d of ['Martes', 'Miércoles', 'Jueves', 'Viernes']) await dialog.getByLabel(d).check();
    // Thursday's 09:00 slot is in the way: nothing can be copied until it is unticked or moved.
    await dialog.getByText('Jueves: 08:00–11:00 se solaparía con Jueves 09:00–10:00.').waitFor();
    assert.ok(await dialog.getByRole('button', { name: 'Copiar', exact: true }).isDisabled(), 'an overlap blocks the copy');
    await shot(page, 'ui-09-copy-refused-390');
    await dialog.getByRole('button', { name: 'Cancelar' }).click();
    await page.getByRole('region', { name: 'Jueves' }).getByRole('button', { name: 'Eliminar' }).click();
    await page.getByRole('button', { name: 'Guardar' }).click();
    await page.getByText('Guardado.').waitFor();

    await page.getByRole('button', { name: 'Copiar Lunes a otros días' }).click();
    for (const d of ['Martes', 'Miércoles', 'Jueves', 'Viernes']) await dialog.getByLabel(d).check();
    assert.equal(await dialog.getByRole('alert').count(), 0, 'nothing refused now');
    await dialog.getByRole('button', { name: 'Copiar', exact: true }).click();
    await page.getByText('Copiado a: Martes, Miércoles, Jueves, Viernes.').waitFor();
    await shot(page, 'ui-09-copied-390');

    // The API holds Monday's three slots five times, the night class ending the next day each time.
    const items = (await api('GET', `/api/v1/schedules?group_id=${gid}`)).body.items;
    assert.equal(items.length, 5 * monday.length);
    const want = [1, 2, 3, 4, 5].flatMap((d) => monday.map((m) => [d, m.start, m.end, m.grace_min, m.label]));
    const got = items.map((x) => [x.day_of_week, x.start, x.end, x.grace_min, x.label]);
    const order = (a, b) => a[0] - b[0] || a[1].localeCompare(b[1]);
    assert.deepEqual(got.sort(order), want.sort(order));
    // The page shows them after a reload, Friday's night class as ending the next day.
    await page.reload();
    const friday = page.getByRole('region', { name: 'Viernes' });
    await friday.getByLabel('Etiqueta').nth(2).waitFor();
    assert.equal(await friday.getByLabel('Inicio').count(), 3);
    await friday.getByText('Fin (día siguiente)').waitFor();
    // Copying again would overlap every copy: refused, nothing sent.
    await page.getByRole('button', { name: 'Copiar Lunes a otros días' }).click();
    await dialog.getByText('Martes: 08:00–11:00 se solaparía con Martes 08:00–11:00.').waitFor();
    assert.ok(await dialog.getByRole('button', { name: 'Copiar', exact: true }).isDisabled());
  } finally {
    await browser.close();
  }
});

test('import preview on a phone: a folder "1234_Ana_Garcia" shows the code 1234 and the name; turned off, the whole name is the code', async () => {
  const root = join(dir, 'import-preview');
  for (const [folder, files] of [
    ['1234_Ana_Garcia', ['1.jpg', '2.jpg']],
    ['5678 - Núñez García, María José', ['a.png']],
    ['JRN-KIT', ['1.jpg']],
  ]) {
    mkdirSync(join(root, folder), { recursive: true });
    for (const f of files) writeFileSync(join(root, folder, f), 'not read by the preview');
  }
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('import', srv.url).href);
    await page.getByLabel('Carpeta del conjunto').setInputFiles(root);
    const table = page.getByRole('table', { name: 'Vista previa: 3 carpetas de personas' });
    await table.waitFor();
    const rows = async () => (await table.getByRole('row').allInnerTexts()).slice(1).map((r) => r.split('\t').map((c) => c.trim()));
    assert.deepEqual(await rows(), [
      ['1234_Ana_Garcia', '1234', 'Ana Garcia', '2'],
      ['5678 - Núñez García, María José', '5678', 'María José Núñez García', '1'],
      ['JRN-KIT', 'JRN-KIT', 'JRN-KIT', '1'],
    ]);
    await shot(page, 'ui-10-import-preview-390');
    await page.getByLabel(/El número al principio del nombre de la carpeta es el código/).uncheck();
    assert.deepEqual(
      (await rows()).map((r) => r[1]),
      ['1234_Ana_Garcia', '5678 - Núñez García, María José', 'JRN-KIT'],
    );
  } finally {
    await browser.close();
  }
});

test('language: Spanish from the browser, English when chosen, kept after a reload', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 800, height: 1100 });
    await page.goto(new URL('login', srv.url).href);
    await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
    await page.getByRole('combobox', { name: 'Idioma' }).selectOption('en');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
    await shot(page, 'ui-09-login-english-tablet');
  } finally {
    await browser.close();
  }
});

test('a member cannot open administration pages; the API agrees', async () => {
  const browser = await launch(null);
  try {
    // The admin creates the member through the UI.
    const admin = await newPage(browser);
    await login(admin, srv.url, ADMIN);
    await admin.goto(new URL('admin/users', srv.url).href);
    await admin.getByRole('button', { name: 'Nuevo usuario' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('Correo', { exact: true }).fill(MEMBER.email);
    await dialog.getByLabel('Nombre', { exact: true }).fill(MEMBER.name);
    await dialog.getByRole('combobox', { name: /^Rol/ }).selectOption('member');
    await dialog.getByLabel('Contraseña').fill(MEMBER.password);
    await dialog.getByRole('button', { name: 'Crear' }).click();
    await admin.getByRole('cell', { name: MEMBER.email, exact: true }).waitFor();
    await shot(admin, 'ui-10-admin-users');

    const page = await newPage(browser);
    await login(page, srv.url, MEMBER);
    await page.getByRole('heading', { name: 'Mi asistencia' }).waitFor();
    await shot(page, 'ui-11-member-home');
    assert.deepEqual(await a11yProblems(page), [], 'member home: no serious accessibility problem');
    const nav = page.getByRole('navigation', { name: 'Menú' });
    for (const link of ['Usuarios', 'Claves API', 'Ajustes', 'Auditoría', 'Personas', 'Quiosco']) {
      assert.equal(await nav.getByRole('link', { name: link }).count(), 0, `no "${link}" link for a member`);
    }
    for (const path of ['admin/users', 'admin/api-keys', 'admin/settings', 'admin/audit', 'people', 'kiosk']) {
      await page.goto(new URL(path, srv.url).href);
      await page.getByText('No tiene permiso para ver esta página.').waitFor();
      await shot(page, `ui-12-member-forbidden-${path.replace('/', '-')}`);
    }
    const api = await page.evaluate(async () =>
      Promise.all(
        ['/api/v1/users', '/api/v1/api-keys', '/api/v1/settings', '/api/v1/audit', '/api/v1/persons'].map(
          async (p) => (await fetch(p)).status,
        ),
      ),
    );
    assert.deepEqual(api, [403, 403, 403, 403, 403], 'the API refuses the member too');

    // Logging out ends the session: pages send back to the login form.
    await page.goto(new URL('attendance', srv.url).href);
    await page.getByRole('button', { name: 'Cerrar sesión' }).click();
    await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
    await page.goto(new URL('attendance', srv.url).href);
    await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status), 401);
  } finally {
    await browser.close();
  }
});

test('the keyboard on a phone: Escape closes the menu, a page names the tab and takes the focus', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, srv.url, ADMIN);
    await page.getByRole('heading', { name: 'Panel' }).waitFor();
    assert.equal(await page.title(), 'Panel · Rollcall', 'the tab says which page (it was "Rollcall" everywhere)');
    const menu = page.getByRole('button', { name: 'Menú' });
    await menu.focus();
    await page.keyboard.press('Enter');
    assert.equal(await menu.getAttribute('aria-expanded'), 'true');
    await page.keyboard.press('Escape');
    assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'Escape closes the menu');
    assert.ok(await menu.evaluate((b) => b === document.activeElement), 'and gives the focus back to its button');
    await page.keyboard.press('Enter');
    await page.getByRole('link', { name: 'Grupos' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Grupos', level: 1 }).waitFor();
    assert.equal(await page.title(), 'Grupos y horarios · Rollcall');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'the new page has the focus, not <body>');
  } finally {
    await browser.close();
  }
});

test('a fresh install in the server zone (UTC) offers the browser zone in one click', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 390, height: 844, timezoneId: 'Atlantic/Canary' });
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('admin/settings', srv.url).href);
    const zone = page.getByRole('combobox', { name: /^Zona horaria/ });
    await zone.waitFor();
    const server = await page.evaluate(async () => (await (await fetch('/api/v1/settings')).json()).timezone);
    assert.ok(!server, `no zone set on this server yet (${server})`);
    await page.getByRole('button', { name: 'Usar la zona de este navegador (Atlantic/Canary)' }).click();
    assert.equal(await zone.inputValue(), 'Atlantic/Canary');
  } finally {
    await browser.close();
  }
});
