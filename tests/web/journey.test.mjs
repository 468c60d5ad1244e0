// journey.test.mjs — one school's first day with Rollcall, end to end in
// Spanish against a fresh server (Debian's headless Chromium, a fake camera):
// the first administrator signs in with the one-time password the server
// printed and must change it first; sets up the institution and the kiosk
// PIN; creates a group and its timetable on a phone; imports a folder of
// photos (one sub-folder per person) and puts the people in the group; runs
// the kiosk with two of them in view at once (Entrada, then Salida) and
// leaves it with the PIN; reads who is missing now on the dashboard;
// downloads the Spanish CSV (UTF-8 BOM, ';', accents intact) and voids a
// wrong event, which the figures then stop counting; Paula, late, checks in
// from her own phone (self check-in: her face against her own photos only);
// and Kit's biometric data is erased while his attendance history stays. The
// steps are separate tests that share one server and run in order.
//
// The last test walks every page as admin, manager, auditor, member and device key at
// 1280×800 and 390×844 (screenshots journey-page-*): no sideways scrolling,
// the tables' actions column in view, a 60-character name and a long camera
// URL wrapping instead of widening the page.
//
// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs, so today's 09:00–14:00 slot has started (and its
// grace passed): someone without an entry is absent "now".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noonZone } from '../http/lib.mjs';
import {
  ADMIN,
  FACES,
  apiOf,
  changePassword,
  clickForAnswer,
  launch,
  login,
  makeY4m,
  newPage,
  saveSettings,
  shot,
  startRollcall,
  twoPeopleY4m,
  waitOrAlert,
} from './browser.mjs';

const INSTITUTION = 'Colegio Río Ñandú';
const KIOSK_PIN = '8642';
const GROUP = '3º ESO B';
const SUBJECT = 'Matemáticas';
// The people of the import: their folder (code), photos, and the names given after.
const ANG = { code: 'JRN-ANG', first: 'Angelina', last: 'Prueba Ibáñez', dir: 'deepface_angelina', photos: [1, 3, 4, 5] };
const KIT = { code: 'JRN-KIT', first: 'Kit', last: 'Harington Núñez', dir: 'ageitgey_kit_harington', photos: [1, 2] };
const PAU = { code: 'JRN-PAU', first: 'Paula', last: 'Ausente Muñoz', dir: 'deepface_person06', photos: [1, 2, 4] };
// Paula's own account, for checking in from her phone.
const STUDENT = { email: 'paula@rollcall.test', password: 'Paula-e2e-password-1' };
const PEOPLE = [ANG, KIT, PAU];
const nameOf = (p) => `${p.first} ${p.last}`;

const { zone: ZONE, local } = noonZone(); // tz database: Etc/GMT-3 is UTC+3
const DAY_NAMES = ['Domingo', 'Lunes', 'Martes', 'Miércoles', 'Jueves', 'Viernes', 'Sábado'];
const TODAY = DAY_NAMES[local.getUTCDay()];

const admin = { email: ADMIN.email, password: null };
let dir, srv, two, paulaPhone, groupId;
let failedStep = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-journey-'));
  paulaPhone = makeY4m(join(FACES, 'id', PAU.dir, '3.jpg'), join(dir, 'paula.y4m'));
  two = twoPeopleY4m(join(FACES, 'id', ANG.dir, '2.jpg'), join(FACES, 'id', KIT.dir, '3.jpg'), join(dir, 'two.y4m'));
  srv = await startRollcall(join(dir, 'data'), { oneTime: true });
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

/** Run `fn(page, api)` in a fresh browser, signed in as the admin; when it
 * fails, the page is saved as journey-failed-<step>.png. */
async function asAdmin(size, fn, y4m = null) {
  const browser = await launch(y4m);
  let page;
  try {
    page = await newPage(browser, size);
    await login(page, srv.url, admin);
    await fn(page, await apiOf(page, srv.url), browser);
  } catch (e) {
    if (page) await shot(page, `journey-failed-${++failedStep}`).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Width the document scrolls sideways beyond its box (0 when it does not). */
const sideways = (page) => page.evaluate(() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth);

// The dashboard's "who is missing now" table, once it lists `person`.
async function missingNow(page, person) {
  await page.goto(new URL('dashboard', srv.url).href);
  const missing = page.getByRole('table', { name: 'Quién falta ahora' });
  await missing.locator('tbody tr').filter({ hasText: nameOf(person) }).waitFor();
  return missing;
}

test('first sign-in: the one-time password the server printed must be changed before anything else', async () => {
  const printed = srv.stdout.match(/Created the first admin (\S+) with the one-time password (\S+)/);
  assert.ok(printed, `the first start prints the admin's one-time password (stdout: ${srv.stdout})`);
  assert.equal(printed[1], ADMIN.email);
  const oneTime = printed[2];
  const browser = await launch(null);
  try {
    const page = await newPage(browser, PHONE);
    await page.goto(new URL('login', srv.url).href);
    await page.getByLabel('Correo electrónico').fill(admin.email);
    await page.getByLabel('Contraseña').fill(oneTime);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.waitForURL(/\/account$/);
    await page.getByText('Su contraseña es provisional: elija una nueva para continuar.').waitFor();
    await shot(page, 'journey-01-first-sign-in-390');
    // Nothing else opens, in the UI or the API, until it is changed.
    await page.goto(new URL('people', srv.url).href);
    await page.waitForURL(/\/account$/);
    const api = await apiOf(page, srv.url);
    const refused = await api('GET', '/api/v1/persons');
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'password_change_required');

    await changePassword(page, oneTime, 'Directora-Nueva-Clave-1');
    await page.getByRole('heading', { name: 'Panel' }).waitFor();
    admin.password = 'Directora-Nueva-Clave-1';
    // The change gave this browser a new session; the API opens with it.
    assert.equal((await (await apiOf(page, srv.url))('GET', '/api/v1/persons')).status, 200, 'the API opens once the password is changed');
    const old = await fetch(new URL('api/v1/auth/login', srv.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: admin.email, password: oneTime }),
    });
    assert.equal(old.status, 401, 'the one-time password no longer signs in');
    await shot(page, 'journey-02-dashboard-390');
  } finally {
    await browser.close();
  }
});

test('settings: the institution, the kiosk PIN, the zone in effect', async () => {
  await asAdmin(LAPTOP, async (page, api) => {
    await page.goto(new URL('admin/settings', srv.url).href);
    // Unset, the zone field says which zone is in effect (the server's).
    const effective = (await api('GET', '/api/v1/settings')).body.timezone_in_effect;
    assert.ok(effective, 'the server says which zone is in effect');
    await page.getByText(`En uso ahora: ${effective}`).waitFor();
    await page.getByLabel('Nombre del centro').fill(INSTITUTION);
    await page.getByLabel('PIN del quiosco').fill(KIOSK_PIN);
    // The fake camera shows photos, which must pass as live here.
    await page.getByLabel('Umbral de vida').fill('0');
    await saveSettings(page);
    await page.getByText('Hay un PIN configurado', { exact: false }).waitFor();
    // A fixed-offset zone (not in every browser's list): through the API.
    assert.equal((await api('PATCH', '/api/v1/settings', { timezone: ZONE })).status, 200);
    await page.reload();
    await page.getByText(`En uso ahora: ${ZONE}`).waitFor();
    await shot(page, 'journey-03-settings-1280');
  });
});

test('a group and its weekly timetable, edited on a phone', async () => {
  await asAdmin(PHONE, async (page) => {
    await page.goto(new URL('groups', srv.url).href);
    await page.getByRole('button', { name: 'Nuevo grupo' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Nombre', { exact: true }).fill(GROUP);
    await clickForAnswer(page, dialog.getByRole('button', { name: 'Crear' }), 'POST', '/api/v1/groups');
    await page.getByRole('link', { name: GROUP }).click();
    await page.getByRole('heading', { name: GROUP }).waitFor();
    groupId = Number(new URL(page.url()).pathname.split('/').pop());

    // Today's slot, 09:00–14:00, Matemáticas: every field in reach of a thumb.
    const day = page.getByRole('region', { name: TODAY });
    await day.getByRole('button', { name: /Añadir franja/ }).click();
    await day.getByLabel('Inicio').fill('09:00');
    await day.getByLabel('Fin').fill('14:00');
    await day.getByLabel('Etiqueta').fill(SUBJECT);
    const outside = await day.evaluate((el) =>
      [...el.querySelectorAll('input, button')]
        .map((x) => [x.getAttribute('type') ?? x.textContent, x.getBoundingClientRect()])
        .filter(([, r]) => r.left < 0 || r.right > window.innerWidth || r.width < 40)
        .map(([what, r]) => `${what} ${Math.round(r.left)}..${Math.round(r.right)}`),
    );
    assert.deepEqual(outside, [], 'every field of the slot is inside the phone screen and wide enough to use');
    assert.ok((await sideways(page)) <= 0, 'the group page does not scroll sideways');
    await shot(page, 'journey-04-timetable-390');
    await clickForAnswer(page, page.getByRole('button', { name: 'Guardar' }), 'PUT', '/api/v1/schedules');
    await page.getByText(/^Guardado\. Vale a partir del/).waitFor();
    await page.reload();
    await page.getByRole('region', { name: TODAY }).getByLabel('Etiqueta').waitFor();
    assert.equal(await page.getByRole('region', { name: TODAY }).getByLabel('Etiqueta').inputValue(), SUBJECT);

    // From next week the slot starts at 10:00: saved "A partir de" that
    // day, today's timetable stays and lists the change to come.
    const today = local.toISOString().slice(0, 10);
    const nextWeek = new Date(Date.parse(`${today}T00:00:00Z`) + 7 * 86400e3).toISOString().slice(0, 10);
    assert.equal(await page.getByLabel('A partir de').inputValue(), today, 'the change takes effect today unless told');
    await page.getByLabel('A partir de').fill(nextWeek);
    await page.getByRole('region', { name: TODAY }).getByLabel('Inicio').fill('10:00');
    const res = await clickForAnswer(page, page.getByRole('button', { name: 'Guardar' }), 'PUT', '/api/v1/schedules');
    assert.equal(JSON.parse(res.request().postData()).effective, nextWeek);
    await page.getByText(/^Guardado\. Vale a partir del/).waitFor();
    await page.getByLabel('A partir de').fill(today);
    const upcoming = page.getByRole('region', { name: 'Cambios programados' });
    await upcoming.getByText(/A partir del .*: .* 10:00–14:00/).waitFor();
    assert.equal(await page.getByRole('region', { name: TODAY }).getByLabel('Inicio').inputValue(), '09:00', 'today keeps 09:00');
    assert.ok((await sideways(page)) <= 0, 'the dated editor does not scroll sideways');
    await shot(page, 'journey-04b-timetable-dated-390');
  });
});

test('import: a folder with one sub-folder of photos per person and a roster; the people named and put in the group', async () => {
  const root = join(dir, 'fotos');
  for (const p of PEOPLE) {
    mkdirSync(join(root, p.code), { recursive: true });
    for (const n of p.photos) copyFileSync(join(FACES, 'id', p.dir, `${n}.jpg`), join(root, p.code, `${n}.jpg`));
  }
  // The roster, as a secretary saves it from Spanish Excel (BOM, ';'): it
  // names Angelina and Paula and puts them in the group; Kit has no row.
  writeFileSync(join(root, 'lista.csv'), '\ufeffcódigo;nombre;apellidos;tipo;grupo;correo\r\n' +
    [ANG, PAU].map((p) => `${p.code};${p.first};${p.last};alumno;${GROUP};`).join('\r\n') + '\r\n');
  const photos = PEOPLE.reduce((n, p) => n + p.photos.length, 0);
  const files = photos + 1;
  await asAdmin(LAPTOP, async (page, api) => {
    await page.goto(new URL('import', srv.url).href);
    await page.getByLabel('Carpeta del conjunto').setInputFiles(root);
    await page.getByText(`${files} archivos elegidos.`).waitFor();
    await page.getByRole('button', { name: `Importar ${files} archivos` }).click();
    const summary = page.getByRole('status').filter({ hasText: 'Fotos aceptadas' });
    await waitOrAlert(page, summary, 120000);
    assert.match(
      await summary.innerText(),
      new RegExp(`Fotos aceptadas: \\d+ de ${photos}\\. Personas nuevas: ${PEOPLE.length}; actualizadas: 0\\. Archivos omitidos: 0\\.`),
    );
    await shot(page, 'journey-05-import-1280');

    // The roster named Angelina and Paula, accents intact; Kit, with no
    // row, gets his name on his page, as a secretary would.
    const persons = (await api('GET', '/api/v1/persons?limit=100')).body.items;
    for (const p of PEOPLE) {
      const found = persons.find((x) => x.external_id === p.code);
      assert.ok(found, `${p.code} was created`);
      assert.ok(found.face_count >= 1, `${p.code} has an enrolled face`);
      p.id = found.id;
      if (p !== KIT) assert.equal(found.name, nameOf(p), `${p.code} named by the roster`);
    }
    const members = (await api('GET', `/api/v1/groups/${groupId}/members`)).body;
    const memberIds = (members.items ?? members).map((m) => m.id ?? m.person_id);
    assert.deepEqual([ANG.id, PAU.id].filter((id) => !memberIds.includes(id)), [], 'the roster put them in the group');
    await page.goto(new URL(`people/${KIT.id}`, srv.url).href);
    await page.getByRole('button', { name: 'Editar' }).first().click();
    const edit = page.getByRole('dialog', { name: 'Editar' });
    await edit.getByLabel('Nombre', { exact: true }).fill(KIT.first);
    await edit.getByLabel('Apellidos').fill(KIT.last);
    await clickForAnswer(page, edit.getByRole('button', { name: 'Guardar' }), 'PATCH', `/api/v1/persons/${KIT.id}`);
    await page.getByRole('heading', { name: nameOf(KIT) }).waitFor();

    // Kit into the group, picked by name.
    await page.goto(new URL(`groups/${groupId}`, srv.url).href);
    for (const p of [KIT]) {
      const option = `${nameOf(p)} (${p.code})`;
      await page.getByLabel('Buscar persona').fill(p.first);
      await page.locator(`datalist option[value="${option}"]`).waitFor({ state: 'attached' });
      await page.getByLabel('Buscar persona').fill(option);
      await clickForAnswer(page, page.getByRole('button', { name: 'Añadir miembro' }), 'POST', `/members/${p.id}`);
      // The page gives a fresh, empty search box after each addition: type
      // the next name there, not into the box it replaces.
      await page.waitForFunction(() => document.querySelector('input[list]')?.value === '');
      await page.getByRole('cell', { name: p.code }).waitFor();
    }
    await page.getByRole('heading', { name: `Miembros (${PEOPLE.length})` }).waitFor();
    await shot(page, 'journey-06-group-members-1280');
  });
});

test('the kiosk: two people in view enter at once, then leave with Salida; only the PIN ends it', async () => {
  await asAdmin(
    LAPTOP,
    async (page, api) => {
      await page.goto(new URL('dashboard', srv.url).href);
      await page.getByRole('button', { name: 'Iniciar modo quiosco' }).click();
      const start = page.getByRole('dialog', { name: 'Iniciar el modo quiosco' });
      await start.getByText(/hará falta el PIN del quiosco/).waitFor();
      await start.getByRole('button', { name: 'Iniciar quiosco' }).click();
      await page.waitForURL(/\/kiosk$/);
      await page.getByText(INSTITUTION).waitFor();

      const cards = page.getByTestId('kiosk-card');
      for (const p of [ANG, KIT])
        await waitOrAlert(page, cards.filter({ hasText: nameOf(p) }).filter({ hasText: /Entrada \d\d:\d\d/ }), 90000);
      await shot(page, 'journey-07-kiosk-two-entries-1280');

      await page.getByRole('button', { name: 'Salida', exact: true }).click();
      await page.locator('button[aria-pressed="true"]', { hasText: /^Salida$/ }).waitFor();
      await waitOrAlert(page, cards.filter({ hasText: /Salida \d\d:\d\d/ }).first(), 60000);
      await shot(page, 'journey-08-kiosk-salida-1280');
      const events = (await api('GET', '/api/v1/attendance?limit=100')).body.items;
      for (const p of [ANG, KIT]) {
        assert.ok(
          events.some((e) => e.person_id === p.id && e.type === 'entry' && e.source !== 'manual'),
          `${nameOf(p)}: an entry from the kiosk`,
        );
      }
      assert.ok(
        events.some((e) => e.type === 'exit' && (e.person_id === ANG.id || e.person_id === KIT.id)),
        'an exit from the kiosk',
      );
      assert.ok(!events.some((e) => e.person_id === PAU.id), 'nobody marked Paula');

      // Leaving: no sign-out in sight; a wrong PIN keeps the kiosk.
      assert.equal(await page.getByRole('button', { name: 'Cerrar sesión' }).count(), 0);
      await page.getByRole('button', { name: /Salir$/ }).click();
      const leave = page.getByRole('dialog', { name: 'Salir del modo quiosco' });
      await leave.getByLabel('PIN del quiosco').fill('0000');
      await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
      await leave.getByText('PIN o contraseña incorrectos.').waitFor();
      assert.match(page.url(), /\/kiosk$/);
      await leave.getByLabel('PIN del quiosco').fill(KIOSK_PIN);
      await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
      await page.getByRole('heading', { name: 'Panel' }).waitFor();
    },
    two,
  );
});

test('who is missing now: the dashboard during the day lists Paula, absent from Matemáticas', async () => {
  await asAdmin(LAPTOP, async (page) => {
    await page.goto(new URL('dashboard', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing);
    const rows = await missing.locator('tbody tr').allInnerTexts();
    assert.equal(rows.length, 1, `one absentee (${JSON.stringify(rows)})`);
    assert.match(rows[0], new RegExp(`${nameOf(PAU)}\\s+${GROUP}\\s+${SUBJECT}`));
    await shot(page, 'journey-09-absentees-1280');
  });
});

test('the Spanish CSV: UTF-8 with a BOM, ";" between columns, accents intact', async () => {
  await asAdmin(LAPTOP, async (page) => {
    await page.goto(new URL('attendance', srv.url).href);
    await page.getByRole('heading', { name: 'Asistencia' }).waitFor();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Descargar CSV' }).click()]);
    const bytes = readFileSync(await download.path());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(3));
    const rows = text
      .trim()
      .split('\r\n')
      .map((l) => l.split(';'));
    assert.deepEqual(rows[0].slice(0, 7), ['Día', 'Código', 'Nombre', 'Franja', 'Inicio', 'Fin', 'Estado']);
    const row = (p) => rows.find((r) => r[1] === p.code);
    assert.equal(row(KIT)?.[2], nameOf(KIT), 'accents survive');
    assert.equal(row(PAU)?.[3], SUBJECT);
    assert.equal(row(PAU)?.[6], 'ausente');
    assert.equal(row(ANG)?.[6], 'tarde', 'in at 12:xx for a 09:00 slot: late');
  });
});

test('voiding a wrong event: kept and shown, counted by nothing', async () => {
  await asAdmin(LAPTOP, async (page) => {
    await page.goto(new URL('attendance', srv.url).href);
    const entry = page
      .getByRole('row')
      .filter({ hasText: nameOf(ANG) })
      .filter({ hasText: 'Entrada' });
    await entry.first().waitFor();
    await entry.first().getByRole('button', { name: 'Anular' }).click();
    const dialog = page.getByRole('dialog', { name: 'Anular el registro' });
    await dialog.getByLabel('Motivo').fill('No era ella: prueba del quiosco');
    await clickForAnswer(page, dialog.getByRole('button', { name: 'Anular' }), 'POST', '/void');
    await dialog.waitFor({ state: 'hidden' });
    await entry.waitFor({ state: 'detached' });
    const showVoided = page.getByLabel('Mostrar anulados');
    await clickForAnswer(
      page,
      showVoided,
      'GET',
      (u) => u.pathname.endsWith('/api/v1/attendance') && u.searchParams.get('include_void') === 'true',
    );
    await showVoided.and(page.locator(':checked')).waitFor();
    await page.getByRole('row').filter({ hasText: 'No era ella' }).getByText('Anulado').waitFor();
    await shot(page, 'journey-10-voided-1280');

    // Without her entry Angelina has not come today: she is missing now.
    const missing = await missingNow(page, ANG);
    assert.equal(await missing.locator('tbody tr').count(), 2);
  });
});

test('a student checks in from her phone: her face against her own photos, recorded with source self', async () => {
  await asAdmin(LAPTOP, async (_page, api) => {
    const r = await api('POST', '/api/v1/users', {
      email: STUDENT.email,
      name: nameOf(PAU),
      role: 'member',
      password: STUDENT.password,
      person_id: PAU.id,
      must_change_password: false,
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  const browser = await launch(paulaPhone);
  try {
    const phone = await newPage(browser, PHONE);
    await login(phone, srv.url, STUDENT);
    await phone.getByRole('button', { name: 'Menú' }).click();
    await phone.getByRole('link', { name: 'Registrar mi asistencia' }).click();
    await phone.getByText(`Franja actual: ${SUBJECT}`).waitFor();
    await phone.getByRole('button', { name: 'Abrir la cámara' }).click();
    await phone.waitForFunction(() => document.querySelector('video')?.videoWidth > 0);
    await phone.getByRole('button', { name: 'Registrar mi asistencia' }).click();
    const done = phone.getByTestId('self-result');
    await waitOrAlert(phone, done, 90000);
    assert.match(await done.innerText(), /Asistencia registrada: Entrada a las \d\d:\d\d/);
    assert.ok((await sideways(phone)) <= 0, 'the check-in page fits the phone');
    await shot(phone, 'journey-11-self-checkin-390');
  } finally {
    await browser.close();
  }
  await asAdmin(LAPTOP, async (page, api) => {
    const mine = (await api('GET', `/api/v1/attendance?person_id=${PAU.id}`)).body.items;
    assert.deepEqual(
      mine.map((e) => [e.type, e.source]),
      [['entry', 'self']],
    );
    // She is no longer missing; Angelina (her entry voided) still is.
    const missing = await missingNow(page, ANG);
    assert.deepEqual(await missing.locator('tbody tr td:first-child').allInnerTexts(), [nameOf(ANG)]);
  });
});

test("erasing Kit's biometric data: his faces are gone, his attendance history stays", async () => {
  await asAdmin(LAPTOP, async (page, api) => {
    const before = (await api('GET', `/api/v1/attendance?person_id=${KIT.id}`)).body.items.length;
    assert.ok(before >= 1, 'Kit has a history');
    await page.goto(new URL(`people/${KIT.id}`, srv.url).href);
    await page.getByRole('heading', { name: nameOf(KIT) }).waitFor();
    page.once('dialog', (d) => d.accept());
    await page.getByRole('button', { name: 'Borrar datos biométricos' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /Datos biométricos borrados\. Caras: \d+/ })
      .waitFor();
    await page.getByRole('heading', { name: 'Rostros registrados (0)' }).waitFor();
    await shot(page, 'journey-12-biometrics-erased-1280');
    assert.equal((await api('GET', `/api/v1/persons/${KIT.id}/faces`)).body.length, 0);
    assert.equal((await api('GET', `/api/v1/attendance?person_id=${KIT.id}`)).body.items.length, before, 'the history is kept');
    // The camera no longer knows him: his photo is a stranger now.
    const seen = await api('POST', '/api/v1/recognize', readFileSync(join(FACES, 'id', KIT.dir, '3.jpg')), 'image/jpeg');
    assert.equal(seen.status, 200, JSON.stringify(seen.body));
    assert.ok(seen.body.faces.length >= 1, 'a face is found');
    assert.ok(
      seen.body.faces.every((f) => f.identity?.person_id !== KIT.id),
      'nobody is recognized as Kit',
    );
  });
});

// ---- every page, every role, two sizes --------------------------------------

// A 60-character name and a long camera URL, to see them wrap.
const LONG = { code: 'JRN-LONG', first: 'María de los Ángeles Inmaculada', last: 'Fernández-Villaverde Morales' };
const LONG_URL =
  'http://camaras-del-colegio.example.org:8081/secundaria/edificio-norte/planta-baja/puerta-principal/stream.mjpeg?resolucion=1280x720&calidad=alta';
const MANAGER = { email: 'jefatura@rollcall.test', name: 'Jefa de Estudios', password: 'Jefatura-e2e-password-1' };
const MEMBER = { email: 'alumna@rollcall.test', name: 'Alumna con nombre largo', password: 'Alumna-e2e-password-1' };
const AUDITOR = { email: 'inspeccion@rollcall.test', name: 'Inspección educativa', password: 'Inspeccion-e2e-password-1' };

/** What is wrong with the page's layout at this width, one line each. */
function layoutProblems(page, width) {
  return page.evaluate(
    ({ width, long, url }) => {
      const out = [];
      const doc = document.scrollingElement;
      if (doc.scrollWidth > doc.clientWidth) out.push(`scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
      // Nothing outside a table's scroll box is wider than the page's box.
      const box = document.querySelector('main') ?? document.body;
      const right = box.getBoundingClientRect().left + box.clientWidth;
      for (const el of box.querySelectorAll('*')) {
        if (el.closest('.table-wrap') || el.closest('dialog:not([open])') || el.closest('[hidden]')) continue;
        const r = el.getBoundingClientRect();
        if (r.width && r.right > right + 1)
          out.push(`${el.tagName.toLowerCase()}.${el.className} ends at ${Math.round(r.right)} > ${Math.round(right)}`);
      }
      // Nor is anything in the menu wider than the menu.
      const nav = document.querySelector('nav[aria-label]');
      if (nav?.offsetParent) {
        const edge = nav.getBoundingClientRect().right;
        for (const el of nav.querySelectorAll('*')) {
          const r = el.getBoundingClientRect();
          if (r.width && r.right > edge + 1)
            out.push(
              `menu: ${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ends at ${Math.round(r.right)} > ${Math.round(edge)}`,
            );
        }
      }
      // A table's actions column is in its box, whatever the table's width.
      for (const wrap of document.querySelectorAll('.table-wrap')) {
        const th = wrap.querySelector('thead tr > :last-child');
        if (!th || th.textContent.trim() !== 'Acciones') continue;
        const w = wrap.getBoundingClientRect();
        const r = th.getBoundingClientRect();
        if (r.left < w.left - 1 || r.right > w.right + 1 || r.right > width)
          out.push(
            `actions column out of view: ${Math.round(r.left)}..${Math.round(r.right)} in ${Math.round(w.left)}..${Math.round(w.right)}`,
          );
        // On a laptop a table fits its box: long names wrap in their cells.
        if (width >= 1280 && wrap.scrollWidth > wrap.clientWidth + 1)
          out.push(
            `table "${wrap.querySelector('table')?.getAttribute('aria-label') ?? ''}" scrolls sideways at ${width}: ${wrap.scrollWidth} > ${wrap.clientWidth}`,
          );
      }
      // The long name and URL, where shown, wrap inside the screen.
      for (const el of document.querySelectorAll('body *')) {
        if (el.children.length || !(el.textContent.includes(long) || el.textContent.includes(url))) continue;
        const r = el.getBoundingClientRect();
        if (r.width && (r.right > width || el.scrollWidth > el.clientWidth + 1) && !el.closest('.table-wrap'))
          out.push(`${el.tagName.toLowerCase()} with the long text does not wrap (${Math.round(r.left)}..${Math.round(r.right)})`);
      }
      return [...new Set(out)].slice(0, 8);
    },
    { width, long: nameOf(LONG), url: LONG_URL },
  );
}

/** Open `path`, wait for its heading and its data, check its layout and
 * save a screenshot; problems go into `failures`. */
async function visit(page, role, path, width, failures, expect) {
  await page.goto(new URL(path, srv.url).href);
  await page.locator('h1').first().waitFor();
  await page.waitForFunction(() => ![...document.querySelectorAll('[role=status]')].some((e) => e.textContent.startsWith('Cargando')));
  if (expect) await page.getByText(expect).first().waitFor();
  const slug = path.replace(/[/?=&]+/g, '-').replace(/-\d+(?=-|$)/g, '-id') || 'home';
  await shot(page, `journey-page-${role}-${slug}-${width}`);
  for (const p of await layoutProblems(page, width)) failures.push(`${role} ${path} at ${width}: ${p}`);
}

test('every page as admin, manager, auditor, member and device key fits 390 px and keeps the actions column at 1280 px', async () => {
  let deviceKey;
  await asAdmin(LAPTOP, async (_page, api) => {
    const p = await api('POST', '/api/v1/persons', {
      external_id: LONG.code,
      first_name: LONG.first,
      last_name: LONG.last,
      kind: 'student',
    });
    assert.equal(p.status, 201, JSON.stringify(p.body));
    LONG.id = p.body.id;
    assert.equal(nameOf(LONG).length, 60);
    const m = await api('POST', `/api/v1/groups/${groupId}/members/${LONG.id}`);
    assert.ok(m.status < 300, JSON.stringify(m.body));
    const e = await api('POST', '/api/v1/attendance', {
      person_id: LONG.id,
      type: 'entry',
      time: new Date().toISOString(),
      reason: 'Llegó con el autobús escolar',
    });
    assert.equal(e.status, 201, JSON.stringify(e.body));
    const c = await api('POST', '/api/v1/cameras', {
      name: 'Puerta principal del edificio norte de secundaria',
      url: LONG_URL,
      kind: 'mjpeg',
      direction: 'both',
      enabled: false,
    });
    assert.equal(c.status, 201, JSON.stringify(c.body));
    for (const [u, role, extra] of [
      [MANAGER, 'manager', {}],
      [AUDITOR, 'auditor', {}],
      [MEMBER, 'member', { person_id: LONG.id }],
    ]) {
      const r = await api('POST', '/api/v1/users', {
        email: u.email,
        name: u.name,
        role,
        password: u.password,
        must_change_password: false,
        ...extra,
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const k = await api('POST', '/api/v1/api-keys', { name: 'Tableta de la puerta norte', role: 'device' });
    assert.equal(k.status, 201);
    deviceKey = k.body.key;
  });

  const staff = [
    ['dashboard'],
    ['people', nameOf(LONG)],
    [`people/${LONG.id}`, nameOf(LONG)],
    ['import'],
    ['groups', GROUP],
    [`groups/${groupId}`, nameOf(LONG)],
    ['holidays'],
    ['attendance', nameOf(LONG)],
    ['attendance?view=summary', nameOf(LONG)],
    ['attendance?view=absent'],
    [`reports?group_id=${groupId}&label=${encodeURIComponent(SUBJECT)}`, nameOf(LONG)],
    ['cameras', LONG_URL],
    ['review'],
    ['registrations'],
    ['account'],
  ];
  const roles = [
    [
      'admin',
      admin,
      [...staff, ['admin/users', MEMBER.email], ['admin/api-keys', 'Tableta de la puerta norte'], ['admin/settings'], ['admin/audit']],
    ],
    ['manager', MANAGER, staff],
    // Read-only: the staff pages but import, unknown faces and registrations,
    // whose addresses show "no permission" (h1 403).
    ['auditor', AUDITOR, [...staff.filter(([p]) => !['import', 'review', 'registrations'].includes(p)), ['import'], ['admin/users']]],
    [
      'member',
      MEMBER,
      [['attendance', nameOf(LONG)], ['attendance?view=summary'], ['checkin', nameOf(LONG)], ['account'], ['admin/users']],
    ],
  ];
  const failures = [];
  const browser = await launch(null);
  try {
    for (const size of [LAPTOP, PHONE]) {
      for (const [role, creds, pages] of roles) {
        const page = await newPage(browser, size);
        await login(page, srv.url, creds);
        for (const [path, expect] of pages) await visit(page, role, path, size.width, failures, expect);
        await page.context().close();
      }
      // Signed out: the login page; a device key: the kiosk.
      const page = await newPage(browser, size);
      await page.goto(new URL('login', srv.url).href);
      await page.getByRole('heading', { name: 'Iniciar sesión' }).waitFor();
      await shot(page, `journey-page-signed-out-login-${size.width}`);
      for (const p of await layoutProblems(page, size.width)) failures.push(`login at ${size.width}: ${p}`);
      await visit(page, 'signed-out', 'register', size.width, failures);
      await page.goto(new URL('login', srv.url).href);
      await page.getByText('Quiosco con clave de dispositivo').click();
      await page.getByLabel('Clave de dispositivo').fill(deviceKey);
      await page.getByRole('button', { name: 'Abrir quiosco' }).click();
      await page.waitForURL(/\/kiosk$/);
      await page.getByTestId('kiosk-network').getByText('Conectado').waitFor();
      await page.getByText(INSTITUTION).waitFor();
      await shot(page, `journey-page-device-kiosk-${size.width}`);
      for (const p of await layoutProblems(page, size.width)) failures.push(`device kiosk at ${size.width}: ${p}`);
      const bar = await page.getByTestId('kiosk-bar').evaluate((el) => el.scrollWidth - el.clientWidth);
      if (bar > 0) failures.push(`device kiosk at ${size.width}: the bar overflows by ${bar} px`);
      await page.context().close();
    }
  } finally {
    await browser.close();
  }
  assert.deepEqual(failures, []);
});
