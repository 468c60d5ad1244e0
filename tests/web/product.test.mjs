// product.test.mjs — what a school does day to day, end to end in Spanish,
// against the real server with Debian's headless Chromium: a teacher's first
// sign-in with a one-time password (changed before anything else) and a
// later password change; the kiosk started from the menu with a warning, two
// enrolled people in front of its camera at once (a card each), the clock
// and the institution's name, "Salida" chosen on the kiosk, a check-in with
// code and PIN, and leaving it only with the kiosk PIN; the Spanish CSV
// (UTF-8 BOM, ';') and voiding an event, with the actions column in view at
// 1280 and 390 px. Screenshots go to tests/out/web/ (product-*); every page
// at both sizes and for every role is journey.test.mjs's last test. The
// tests share one server and run in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ADMIN,
  FACES,
  apiOf,
  changePassword,
  clickForAnswer,
  launch,
  login,
  newPage,
  saveSettings,
  shot,
  startRollcall,
  twoPeopleY4m,
  waitOrAlert,
} from './browser.mjs';

const ANGELINA = { external_id: 'ANG-1', first_name: 'Angelina', last_name: 'Prueba', kind: 'student' };
const KIT = { external_id: 'KIT-1', first_name: 'Kit', last_name: 'Harington Núñez', kind: 'teacher' };
// Someone who did not consent to face data: no photos, a personal PIN.
const PILAR = { external_id: 'PIL-1', first_name: 'Pilar', last_name: 'Sin Rostro', kind: 'student' };
const TEACHER = { email: 'profe@rollcall.test', name: 'Profesora Ruiz', password: 'Provisional-1234' };
const INSTITUTION = 'IES Río Tajo';
const KIOSK_PIN = '2468';
const PERSON_PIN = '7531';

let dir, srv, two;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-product-'));
  two = twoPeopleY4m(join(FACES, 'id', 'deepface_angelina', '2.jpg'), join(FACES, 'id', 'ageitgey_kit_harington', '3.jpg'), join(dir, 'two.y4m'));
  srv = await startRollcall(join(dir, 'data'));
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

/** Width of the document beyond the viewport (0 when nothing scrolls sideways). */
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test('a one-time password is changed at first sign-in; any account changes its own password', async () => {
  const browser = await launch(null);
  try {
    const admin = await newPage(browser, { width: 1280, height: 800 });
    await login(admin, srv.url, ADMIN);
    const api = await apiOf(admin, srv.url);
    const r = await api('POST', '/api/v1/users', { email: TEACHER.email, name: TEACHER.name, role: 'manager', password: TEACHER.password });
    assert.equal(r.status, 201);
    assert.equal(r.body.must_change_password, true, 'a password set by an admin is one-time');

    const page = await newPage(browser, { width: 390, height: 844 });
    await page.goto(new URL('login', srv.url).href);
    await page.getByLabel('Correo electrónico').fill(TEACHER.email);
    await page.getByLabel('Contraseña').fill('wrong-password-1');
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.getByText('Correo o contraseña incorrectos.').waitFor();
    await shot(page, 'product-01-login-error-390');
    await page.getByLabel('Contraseña').fill(TEACHER.password);
    await page.getByRole('button', { name: 'Entrar' }).click();
    await page.waitForURL(/\/account$/);
    await page.getByText('Su contraseña es provisional: elija una nueva para continuar.').waitFor();
    // Nothing else opens until it is changed.
    await page.goto(new URL('people', srv.url).href);
    await page.waitForURL(/\/account$/);
    await page.getByLabel('Contraseña actual').fill(TEACHER.password);
    await page.getByLabel(/^Nueva contraseña/).fill('Mi-clave-propia-1');
    await page.getByLabel('Repita la nueva contraseña').fill('Mi-clave-distinta-1');
    await page.getByText('Las dos contraseñas nuevas no coinciden.').first().waitFor();
    assert.ok(await page.getByRole('button', { name: 'Cambiar contraseña' }).last().isDisabled());
    await shot(page, 'product-02-account-forced-390');
    assert.ok((await overflow(page)) <= 0, 'the account page fits 390 px');
    await page.getByLabel('Repita la nueva contraseña').fill('Mi-clave-propia-1');
    await page.getByRole('button', { name: 'Cambiar contraseña' }).last().click();
    await page.getByRole('heading', { name: 'Panel' }).waitFor();

    // Later, from the header: a wrong current password is said in Spanish,
    // then the change succeeds.
    await page.goto(new URL('account', srv.url).href);
    await changePassword(page, 'not-my-password', 'Otra-clave-mas-1');
    await page.getByText('La contraseña actual no es correcta.').waitFor();
    await changePassword(page, 'Mi-clave-propia-1', 'Otra-clave-mas-1');
    await page.getByText('Contraseña cambiada. Las demás sesiones de su cuenta se han cerrado.').waitFor();
    await shot(page, 'product-03-account-changed-390');
    TEACHER.password = 'Otra-clave-mas-1';
    const desk = await newPage(browser, { width: 1280, height: 800 });
    await login(desk, srv.url, TEACHER);
    await desk.goto(new URL('account', srv.url).href);
    await desk.getByRole('heading', { name: 'Cambiar la contraseña' }).waitFor();
    await shot(desk, 'product-03-account-1280');
  } finally {
    await browser.close();
  }
});

test('the kiosk at the door: two people at once, Salida, code and PIN, and only the PIN lets one leave', async () => {
  const browser = await launch(two);
  try {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await login(page, srv.url, ADMIN);
    const api = await apiOf(page, srv.url);

    // Settings: the institution's name and the kiosk PIN (with their help
    // lines and the zone in effect); a still photo has to pass liveness here.
    await page.goto(new URL('admin/settings', srv.url).href);
    await page.getByText(/En uso ahora: /).waitFor();
    await page.getByLabel('Nombre del centro').fill(INSTITUTION);
    await page.getByLabel('PIN del quiosco').fill('12');
    await page.getByRole('button', { name: 'Guardar' }).click();
    // The browser's own pattern check or the server's translated refusal.
    const invalid = await page.getByLabel('PIN del quiosco').evaluate((el) => !el.checkValidity());
    assert.ok(invalid, 'a two-digit PIN is refused');
    await page.getByLabel('PIN del quiosco').fill(KIOSK_PIN);
    await page.getByLabel('Umbral de vida').fill('0');
    await page.getByLabel('Días que se guardan los rostros').fill('7');
    await saveSettings(page);
    await page.getByText('Hay un PIN configurado; escriba otro para cambiarlo.', { exact: false }).waitFor();
    assert.equal((await api('GET', '/api/v1/settings')).body.unrecognized_retention_days, 7, 'the retention saved');
    await shot(page, 'product-04-settings-1280');

    // Two enrolled people; one of them gets a personal PIN on their page.
    for (const [p, photos] of [
      [ANGELINA, ['1.jpg', '3.jpg', '4.jpg', '5.jpg'].map((f) => join(FACES, 'id', 'deepface_angelina', f))],
      [KIT, ['1.jpg', '2.jpg'].map((f) => join(FACES, 'id', 'ageitgey_kit_harington', f))],
    ]) {
      const c = await api('POST', '/api/v1/persons', p);
      assert.equal(c.status, 201, JSON.stringify(c.body));
      p.id = c.body.id;
      const form = new FormData();
      for (const f of photos) form.append('file', new Blob([readFileSync(f)], { type: 'image/jpeg' }), f.split('/').pop());
      const cookie = (await page.context().cookies()).map((k) => `${k.name}=${k.value}`).join('; ');
      const me = await (await fetch(new URL('api/v1/auth/me', srv.url), { headers: { Cookie: cookie } })).json();
      const up = await fetch(new URL(`api/v1/persons/${p.id}/faces`, srv.url), {
        method: 'POST',
        headers: { Cookie: cookie, 'X-CSRF-Token': me.csrf_token },
        body: form,
      });
      const res = await up.json();
      assert.ok(res.results.some((x) => x.accepted), `${p.first_name}: a photo enrolled (${JSON.stringify(res.results.map((x) => x.refusal))})`);
    }
    const pil = await api('POST', '/api/v1/persons', PILAR);
    PILAR.id = pil.body.id;
    await page.goto(new URL(`people/${PILAR.id}`, srv.url).href);
    const pin = page.getByRole('region', { name: /PIN del quiosco/ });
    await pin.getByLabel('PIN del quiosco').fill(PERSON_PIN);
    await pin.getByRole('button', { name: 'Guardar PIN' }).click();
    await pin.getByText('Tiene PIN').waitFor();
    await shot(page, 'product-05-person-pin-1280');

    // The kiosk is started from the menu, which says what leaving it takes.
    await page.goto(new URL('dashboard', srv.url).href);
    assert.equal(await page.getByRole('link', { name: 'Quiosco' }).count(), 0, 'the menu does not link the kiosk as a page');
    await page.getByRole('button', { name: 'Iniciar modo quiosco' }).click();
    const start = page.getByRole('dialog', { name: 'Iniciar el modo quiosco' });
    await start.getByText(/hará falta el PIN del quiosco/).waitFor();
    await shot(page, 'product-06-kiosk-start-warning-1280');
    await start.getByRole('button', { name: 'Iniciar quiosco' }).click();
    await page.waitForURL(/\/kiosk$/);

    // Both people in view: a card each, the institution, the clock.
    const cards = page.getByTestId('kiosk-card');
    await waitOrAlert(page, cards.filter({ hasText: 'Angelina Prueba' }), 90000);
    await cards.filter({ hasText: 'Kit Harington Núñez' }).waitFor({ timeout: 60000 });
    assert.match(await cards.filter({ hasText: 'Angelina Prueba' }).innerText(), /Entrada \d\d:\d\d/);
    assert.match(await cards.filter({ hasText: 'Kit Harington Núñez' }).innerText(), /Entrada \d\d:\d\d/);
    await page.getByText(INSTITUTION).waitFor();
    assert.match(await page.getByTestId('kiosk-bar').innerText(), /\d\d:\d\d/, 'a clock');
    await shot(page, 'product-07-kiosk-two-people-1280');
    assert.equal(await page.getByRole('button', { name: 'Cerrar sesión' }).count(), 0, 'no sign out on the kiosk');

    // "Salida" chosen on the kiosk (no camera: direction both) marks exits.
    const salida = page.getByRole('button', { name: 'Salida', exact: true });
    await salida.click();
    await page.locator('button[aria-pressed="true"]', { hasText: /^Salida$/ }).waitFor();
    await waitOrAlert(page, cards.filter({ hasText: /Salida \d\d:\d\d/ }).first(), 60000);
    await shot(page, 'product-08-kiosk-salida-1280');
    const exits = (await api('GET', `/api/v1/attendance?type=exit&limit=500`)).body.items;
    assert.ok(exits.some((e) => e.person_id === ANGELINA.id || e.person_id === KIT.id), 'an exit was recorded');

    // Code and PIN, for someone the camera cannot be used for.
    await page.getByRole('button', { name: 'Entrar con código y PIN' }).click();
    const checkin = page.getByRole('dialog', { name: 'Registro sin rostro' });
    await checkin.getByLabel('Identificador').fill(PILAR.external_id);
    await checkin.getByLabel('PIN personal').fill('0000');
    await checkin.getByRole('button', { name: /^Registrar/ }).click();
    await checkin.getByText('Código o PIN incorrectos.').waitFor();
    await shot(page, 'product-09-kiosk-checkin-refused-1280');
    await checkin.getByLabel('PIN personal').fill(PERSON_PIN);
    await checkin.getByRole('button', { name: /^Registrar/ }).click();
    await checkin.waitFor({ state: 'hidden' });
    await cards.filter({ hasText: 'Pilar Sin Rostro' }).waitFor();
    const pinEvents = (await api('GET', `/api/v1/attendance?person_id=${PILAR.id}&limit=500`)).body.items;
    assert.deepEqual(
      pinEvents.map((e) => e.source),
      ['pin'],
      'the check-in is recorded with source pin',
    );

    // Leaving: a wrong PIN is refused; the kiosk PIN lets the admin out.
    await page.getByRole('button', { name: /Salir$/ }).click();
    const leave = page.getByRole('dialog', { name: 'Salir del modo quiosco' });
    await leave.getByLabel('PIN del quiosco').fill('1111');
    await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
    await leave.getByText('PIN o contraseña incorrectos.').waitFor();
    await shot(page, 'product-10-kiosk-leave-refused-1280');
    assert.match(page.url(), /\/kiosk$/, 'still in the kiosk');
    await leave.getByLabel('PIN del quiosco').fill(KIOSK_PIN);
    await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
    await page.getByRole('heading', { name: 'Panel' }).waitFor();
    const audit = (await api('GET', '/api/v1/audit?action=kiosk.unlock_failed')).body;
    assert.ok(audit.total >= 1, 'the wrong PIN is audited');

    // The kiosk on a phone: its bar fits.
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, ADMIN);
    await phone.goto(new URL('kiosk', srv.url).href);
    await waitOrAlert(phone, phone.getByTestId('kiosk-card').first(), 90000);
    assert.ok((await overflow(phone)) <= 0, 'the kiosk fits 390 px');
    const bar = await phone.getByTestId('kiosk-bar').evaluate((el) => ({ sw: el.scrollWidth, cw: el.clientWidth }));
    assert.ok(bar.sw <= bar.cw, `the kiosk bar does not overflow (${bar.sw} > ${bar.cw})`);
    await shot(phone, 'product-11-kiosk-390');
  } finally {
    await browser.close();
  }
});

test('a Spanish CSV opens in Excel (BOM, ";"); a wrong event is voided with a reason', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('attendance', srv.url).href);
    await page.getByRole('heading', { name: 'Asistencia' }).waitFor();
    const rowOf = (name) => page.getByRole('row').filter({ hasText: name });
    await rowOf('Angelina Prueba').first().waitFor();

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Descargar CSV' }).click()]);
    const path = join(dir, 'asistencia.csv');
    await download.saveAs(path);
    const bytes = readFileSync(path);
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'UTF-8 byte-order mark');
    const lines = bytes.subarray(3).toString('utf8').trim().split('\r\n');
    assert.deepEqual(lines[0].split(';').slice(0, 3), ['Día', 'Código', 'Nombre']);
    assert.ok(lines.some((l) => l.split(';')[2] === 'Kit Harington Núñez'), 'accents survive');

    // Void Angelina's events one by one: kept, struck through, not counted.
    const before = await rowOf('Angelina Prueba').count();
    await rowOf('Angelina Prueba').first().getByRole('button', { name: 'Anular' }).click();
    const dialog = page.getByRole('dialog', { name: 'Anular el registro' });
    await dialog.getByLabel('Motivo').fill('Reconocida por error');
    await shot(page, 'product-12-void-dialog-1280');
    await clickForAnswer(page, dialog.getByRole('button', { name: 'Anular' }), 'POST', '/void');
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForFunction(
      ([n, name]) => [...document.querySelectorAll('tbody tr')].filter((r) => r.textContent.includes(name)).length === n - 1,
      [before, 'Angelina Prueba'],
    );
    // The box is driven by the address (?void=1): it shows checked once the
    // navigation commits, so wait for the list's answer and the box's state
    // rather than for the click (check() fails when the commit is late).
    const showVoided = page.getByLabel('Mostrar anulados');
    await clickForAnswer(page, showVoided, 'GET', (u) => u.pathname.endsWith('/api/v1/attendance') && u.searchParams.get('include_void') === 'true');
    await showVoided.and(page.locator(':checked')).waitFor();
    const voided = rowOf('Reconocida por error');
    await voided.getByText('Anulado').waitFor();
    // The actions column is in view at 1280 px.
    for (const width of [1280, 390]) {
      await page.setViewportSize({ width, height: 800 });
      const box = await page.locator('thead th').last().evaluate((el) => {
        const r = el.getBoundingClientRect();
        return { right: r.right, left: r.left, text: el.textContent };
      });
      assert.equal(box.text, 'Acciones');
      assert.ok(box.right <= width && box.left >= 0, `the actions column is in view at ${width} px (${JSON.stringify(box)})`);
      await shot(page, `product-13-voided-${width}`);
    }
  } finally {
    await browser.close();
  }
});

test('a tablet left at the door: "keep this device as a kiosk" gives it a device key of its own, which outlives the admin session and a reload; leaving revokes the key', async () => {
  const browser = await launch(null);
  try {
    const office = await newPage(browser, { width: 1280, height: 800 });
    await login(office, srv.url, ADMIN);
    const api = await apiOf(office, srv.url);
    const before = (await api('GET', '/api/v1/api-keys')).body.items.length;

    const tablet = await newPage(browser, { width: 1280, height: 800 });
    await login(tablet, srv.url, ADMIN);
    await tablet.getByRole('button', { name: 'Iniciar modo quiosco' }).click();
    const start = tablet.getByRole('dialog', { name: 'Iniciar el modo quiosco' });
    await start.getByLabel('Dejar este dispositivo como quiosco (no caduca)').check();
    await start.getByText(/cuando vence su sesión \(12 horas\)/).waitFor();
    await shot(tablet, 'product-14-kiosk-keep-1280');

    // The network fails just as the tablet signs in with its new key: the
    // admin stays signed in, the key nobody holds is deleted, and trying
    // again works.
    const keyed = (route) => (route.request().headers().authorization ? route.abort() : route.continue());
    await tablet.route('**/api/v1/auth/me', keyed);
    await start.getByRole('button', { name: 'Iniciar quiosco' }).click();
    await start.getByRole('alert').waitFor();
    await tablet.unroute('**/api/v1/auth/me', keyed);
    assert.match(tablet.url(), /\/(?!kiosk)[^/]*$/, 'not on the kiosk');
    assert.equal(await tablet.evaluate(async () => (await fetch('/api/v1/auth/me')).status), 200, 'still the admin');
    assert.equal(await tablet.evaluate(() => localStorage.getItem('rollcall.deviceKey')), null);
    assert.equal((await api('GET', '/api/v1/api-keys')).body.items.length, before, 'no key left behind');

    await start.getByRole('button', { name: 'Iniciar quiosco' }).click();
    await tablet.waitForURL(/\/kiosk$/);

    // This browser now signs in with a key of its own; the admin's session
    // here is over (the cookie alone is refused).
    const who = await tablet.evaluate(async () => {
      const key = localStorage.getItem('rollcall.deviceKey');
      const withKey = await fetch('/api/v1/auth/me', { headers: { Authorization: `Bearer ${key}` } });
      const cookieOnly = await fetch('/api/v1/auth/me');
      return { role: (await withKey.json()).user.role, cookie: cookieOnly.status, owned: localStorage.getItem('rollcall.deviceKeyOwned') };
    });
    assert.equal(who.role, 'device');
    assert.equal(who.cookie, 401, "the admin's session on the tablet is ended");
    const keys = (await api('GET', '/api/v1/api-keys')).body.items;
    assert.equal(keys.length, before + 1, 'one device key made');
    const made = keys.find((k) => String(k.id) === who.owned);
    assert.ok(made, `the key this browser holds is listed (${who.owned})`);
    assert.equal(made.role, 'device');
    assert.match(made.name, /^Quiosco de este navegador \(ninguna \(quiosco\)\), /);

    // The tablet restarts (a reload): still the kiosk, with no one signed in.
    await tablet.reload();
    await tablet.getByTestId('kiosk-bar').waitFor();
    assert.match(tablet.url(), /\/kiosk$/);

    // Leaving with an administrator's e-mail and password gives the key up.
    await tablet.getByRole('button', { name: /Salir$/ }).click();
    const leave = tablet.getByRole('dialog', { name: 'Salir del modo quiosco' });
    await leave.getByRole('button', { name: 'Usar contraseña de administrador' }).click();
    await leave.getByLabel('Correo del administrador').fill(ADMIN.email);
    await leave.getByLabel('Contraseña de administrador').fill(ADMIN.password);
    await leave.getByRole('button', { name: 'Salir del quiosco' }).click();
    await tablet.waitForURL(/\/login/);
    const after = (await api('GET', '/api/v1/api-keys')).body.items;
    assert.ok(!after.some((k) => k.id === made.id), 'the key is revoked');
    assert.equal(after.length, before, 'the other keys stay');
    assert.equal(await tablet.evaluate(() => localStorage.getItem('rollcall.deviceKey')), null);
    const rev = (await api('GET', '/api/v1/audit?action=api_key.revoke')).body.items;
    assert.ok(rev.some((a) => a.target === `api_key:${made.id}`), 'the revocation is audited');
  } finally {
    await browser.close();
  }
});

test('a manager limited to one group adds a student, who joins that group', async () => {
  const browser = await launch(null);
  try {
    const admin = await newPage(browser, { width: 1280, height: 800 });
    await login(admin, srv.url, ADMIN);
    const api = await apiOf(admin, srv.url);
    const a = (await api('POST', '/api/v1/groups', { name: '2º B' })).body.id;
    assert.equal((await api('POST', '/api/v1/groups', { name: '3º C' })).status, 201);
    const tutor = { email: 'tutor2b@rollcall.test', password: 'Tutor-2b-password-1' };
    const u = await api('POST', '/api/v1/users', { ...tutor, name: 'Tutor 2B', role: 'manager', all_groups: false, group_ids: [a], must_change_password: false });
    assert.equal(u.status, 201, JSON.stringify(u.body));

    const page = await newPage(browser, { width: 390, height: 844 });
    await login(page, srv.url, tutor);
    await page.goto(new URL('people', srv.url).href);
    await page.getByRole('button', { name: 'Nueva persona' }).click();
    const dialog = page.getByRole('dialog');
    const group = dialog.locator('select[name="group"]');
    await group.locator('option').first().waitFor({ state: 'attached' });
    assert.equal(await group.getAttribute('required'), '', 'a group is required');
    const options = await group.locator('option').evaluateAll((os) => os.map((o) => [o.textContent, o.selected]));
    assert.deepEqual(options, [['2º B', true]], 'only their group, chosen already');
    await dialog.getByLabel('Identificador').fill('B-101');
    await dialog.getByLabel('Nombre', { exact: true }).fill('Íñigo');
    await dialog.getByLabel('Apellidos').fill('Álvarez');
    await shot(page, 'product-20-manager-new-person-390');
    await dialog.getByRole('button', { name: 'Guardar' }).click();
    await waitOrAlert(page, page.getByRole('heading', { name: 'Íñigo Álvarez' }), 15000);
    const id = Number(new URL(page.url()).pathname.split('/').pop());
    const p = await api('GET', `/api/v1/persons/${id}`);
    assert.deepEqual(p.body.groups.map((g) => g.name), ['2º B']);
    // Their group is listed to open, not to delete, and no new group is
    // offered: the server refuses both to a limited manager.
    await page.goto(new URL('groups', srv.url).href);
    await page.getByRole('link', { name: '2º B' }).first().waitFor();
    assert.equal(await page.getByRole('button', { name: 'Eliminar' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Nuevo grupo' }).count(), 0);
  } finally {
    await browser.close();
  }
});
