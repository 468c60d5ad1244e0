// selfcheck.test.mjs — students doing things for themselves, end to end in
// Spanish against the real server with Debian's headless Chromium and a fake
// camera (a y4m clip of a test photo, as kiosk.test.mjs makes one):
//  - a member linked to Angelina opens "Registrar mi asistencia" from the
//    menu on a 390×844 phone, opens the camera (which shows another photo of
//    her), checks in and sees "Asistencia registrada: Entrada"; the event is
//    stored with source "self"; afterwards the page says it is already
//    recorded; a member linked to someone else in front of the same camera
//    is refused ("no coincide") and nothing is recorded for them;
//  - an admin opens self-registration in Settings; a new student signs up
//    from the login page's link on a phone (names, e-mail, group, three
//    photos, consent); the request waits in "Solicitudes de alta" and is
//    not a person yet; approving it makes it one; another request is
//    rejected and erased;
//  - "Mis datos" on a 390×844 phone: the member sees their record, consent
//    date and the photos of their face, withdraws consent by keyboard with
//    their password (a wrong one is refused) and sees what was erased; the
//    faces are gone and the attendance stays.
// Screenshots at 390×844 and 1280×800 go to tests/out/web/ (self-*).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, FACES, a11yProblems, launch, login, makeY4m, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';

const ANG = (n) => join(FACES, 'id', 'deepface_angelina', `${n}.jpg`);
const P01 = (n) => join(FACES, 'id', 'deepface_person01', `${n}.jpg`);
const P03 = (n) => join(FACES, 'id', 'deepface_person03', `${n}.jpg`);
const P04 = (n) => join(FACES, 'id', 'deepface_person04', `${n}.jpg`);
const STUDENT = { email: 'angelina@rollcall.test', password: 'Alumna-e2e-pass-1' };
const OTHER = { email: 'pedro@rollcall.test', password: 'Alumno-e2e-pass-1' };
const dow = ((new Date().getUTCDay() + 6) % 7) + 1; // ISO weekday; the server's zone is UTC here

let dir, srv, camera, admin, ids;

/** The API from node as the admin (session cookie + CSRF token). */
async function adminApi() {
  const r = await fetch(new URL('api/v1/auth/login', srv.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });
  const body = await r.json();
  const cookie = r.headers.get('set-cookie').split(';')[0];
  return async (method, path, data, type = 'application/json') => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': body.csrf_token };
    if (data !== undefined) headers['Content-Type'] = type;
    const res = await fetch(new URL(path.replace(/^\//, ''), srv.url), {
      method,
      headers,
      body: data === undefined ? undefined : type === 'application/json' ? JSON.stringify(data) : data,
    });
    const text = await res.text();
    return { status: res.status, body: text && res.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text };
  };
}

/** multipart/form-data from fields and files (paths). */
function form(fields, files) {
  const b = '----selfcheckE2E';
  const parts = [];
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`));
  for (const [k, path] of files) {
    parts.push(Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="${k}"; filename="x.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`));
    parts.push(readFileSync(path), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${b}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${b}` };
}

async function enrolledPerson(external_id, first_name, last_name, photos, group) {
  const p = await admin('POST', '/api/v1/persons', { external_id, first_name, last_name, kind: 'student', group_ids: [group] });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const f = form({}, photos.map((x) => ['file', x]));
  const r = await admin('POST', `/api/v1/persons/${p.body.id}/faces`, f.body, f.type);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.results.filter((x) => x.accepted).length >= 2, JSON.stringify(r.body));
  const s = await admin('POST', '/api/v1/schedules', { person_id: p.body.id, day_of_week: dow, start: '00:00', end: '24:00', grace_min: 720, label: 'Matemáticas' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  return p.body.id;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-self-'));
  camera = makeY4m(ANG(2), join(dir, 'angelina.y4m'));
  srv = await startRollcall(join(dir, 'data'));
  admin = await adminApi();
  // The fake camera shows a photo straight; liveness as the kiosk test sets it.
  assert.equal((await admin('PATCH', '/api/v1/settings', { liveness_threshold: 0.05, institution_name: 'IES Río Tajo' })).status, 200);
  const group = (await admin('POST', '/api/v1/groups', { name: '1º A' })).body.id;
  const ang = await enrolledPerson('ANG-1', 'Angelina', 'Prueba', [ANG(1), ANG(3), ANG(4), ANG(5)], group);
  const ped = await enrolledPerson('PED-1', 'Pedro', 'Uno', [P01(1), P01(2), P01(3)], group);
  for (const [u, person] of [[STUDENT, ang], [OTHER, ped]]) {
    const r = await admin('POST', '/api/v1/users', { email: u.email, name: u.email, role: 'member', password: u.password, person_id: person, must_change_password: false });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  ids = { group, ang, ped };
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test('a member checks in from their phone; another member\'s face is refused', async () => {
  const browser = await launch(camera);
  try {
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, STUDENT);
    await phone.getByRole('button', { name: 'Menú' }).click();
    await phone.getByRole('link', { name: 'Registrar mi asistencia' }).click();
    await phone.getByRole('heading', { name: 'Registrar mi asistencia' }).waitFor();
    await phone.getByText('Franja actual: Matemáticas').waitFor();
    await shot(phone, 'self-01-checkin-390');
    assert.ok((await overflow(phone)) <= 0, 'the check-in page fits 390 px');
    await phone.getByRole('button', { name: 'Abrir la cámara' }).click();
    const video = phone.getByLabel('Cámara del teléfono');
    await video.waitFor();
    await phone.waitForFunction(() => document.querySelector('video')?.videoWidth > 0);
    await shot(phone, 'self-02-camera-390');
    await phone.getByRole('button', { name: 'Registrar mi asistencia' }).click();
    const done = phone.getByTestId('self-result');
    await waitOrAlert(phone, done, 90000);
    assert.match(await done.innerText(), /Asistencia registrada: Entrada a las \d\d:\d\d/);
    await shot(phone, 'self-03-done-390');
    assert.ok((await overflow(phone)) <= 0);
    assert.deepEqual(await a11yProblems(phone), [], 'check-in page: no serious accessibility problem');

    const evs = (await admin('GET', `/api/v1/attendance?person_id=${ids.ang}`)).body;
    assert.equal(evs.total, 1);
    assert.equal(evs.items[0].source, 'self');
    assert.equal(evs.items[0].type, 'entry');

    // Coming back later: already recorded, no camera offered.
    const laptop = await newPage(browser, { width: 1280, height: 800 });
    await login(laptop, srv.url, STUDENT);
    await laptop.goto(new URL('checkin', srv.url).href);
    await laptop.getByTestId('self-blocked').getByText(/ya está registrada/).waitFor();
    await shot(laptop, 'self-04-already-1280');

    // Pedro in front of a camera that shows Angelina: refused, nothing recorded.
    const other = await newPage(browser, { width: 1280, height: 800 });
    await login(other, srv.url, OTHER);
    await other.getByRole('link', { name: 'Registrar mi asistencia' }).click();
    await other.getByRole('button', { name: 'Abrir la cámara' }).click();
    await other.waitForFunction(() => document.querySelector('video')?.videoWidth > 0);
    await other.getByRole('button', { name: 'Registrar mi asistencia' }).click();
    await other.getByTestId('self-error').getByText(/no coincide con sus fotos/).waitFor({ timeout: 90000 });
    await shot(other, 'self-05-no-match-1280');
    assert.equal((await admin('GET', `/api/v1/attendance?person_id=${ids.ped}`)).body.total, 0);
    const failed = (await admin('GET', '/api/v1/audit?action=self.checkin_failed')).body.items;
    assert.ok(failed.some((a) => a.target === `person:${ids.ped}` && JSON.parse(a.detail).code === 'no_match'));
  } finally {
    await browser.close();
  }
});

test('a student signs up; the request waits for a manager who approves it, another is rejected', async () => {
  const browser = await launch(null);
  try {
    // The admin opens self-registration in Settings.
    const desk = await newPage(browser, { width: 1280, height: 800 });
    await login(desk, srv.url, ADMIN);
    await desk.goto(new URL('admin/settings', srv.url).href);
    await desk.getByLabel('Permitir darse de alta (con aprobación)').check();
    await desk.getByRole('button', { name: 'Guardar' }).click();
    await desk.getByText('Guardado.').waitFor();
    await shot(desk, 'self-06-settings-1280');

    // A new student, on a phone, from the login page's link.
    const student = await newPage(browser, { width: 390, height: 844 });
    await student.goto(new URL('login', srv.url).href);
    await student.getByRole('link', { name: '¿Es nuevo? Darse de alta' }).click();
    await student.getByRole('heading', { name: 'Darme de alta' }).waitFor();
    await student.getByLabel('Nombre', { exact: true }).fill('Paula');
    await student.getByLabel('Apellidos').fill('Tres Núñez');
    await student.getByLabel('Correo', { exact: true }).fill('paula@rollcall.test');
    await student.getByLabel('Grupo').selectOption({ label: '1º A' });
    for (const n of [1, 2, 3]) await student.getByLabel(`Foto ${n}`).setInputFiles(P03(n));
    await shot(student, 'self-07-register-390');
    assert.ok((await overflow(student)) <= 0, 'the sign-up page fits 390 px');
    // Consent is required: the browser will not send the form without it.
    await student.getByRole('button', { name: 'Enviar solicitud' }).click();
    assert.equal((await admin('GET', '/api/v1/registrations')).body.total, 0, 'nothing sent without consent');
    await student.getByLabel(/Doy mi consentimiento/).check();
    await student.getByRole('button', { name: 'Enviar solicitud' }).click();
    await waitOrAlert(student, student.getByText('Solicitud enviada.', { exact: false }), 90000);
    await shot(student, 'self-08-registered-390');

    // Not a person yet.
    let people = (await admin('GET', '/api/v1/persons?limit=500')).body.items;
    assert.ok(!people.some((p) => p.name === 'Paula Tres Núñez'), 'a pending registration is not listed as a person');

    // A second request, from the API, to reject.
    const f = form({ first_name: 'Rosa', last_name: 'Cuatro', email: 'rosa@rollcall.test', group_id: ids.group, consent: 'true' },
      [1, 2, 3].map((n) => ['photo', P04(n)]));
    const r2 = await fetch(new URL('api/v1/self/register', srv.url), { method: 'POST', headers: { 'Content-Type': f.type }, body: f.body });
    assert.equal(r2.status, 201, await r2.text());

    // The manager's list: approve Paula, reject Rosa.
    await desk.getByRole('link', { name: 'Solicitudes de alta' }).click();
    await desk.getByRole('heading', { name: 'Solicitudes de alta' }).waitFor();
    const paula = desk.getByRole('listitem', { name: 'Paula Tres Núñez' });
    await paula.waitFor();
    await desk.getByRole('listitem', { name: 'Rosa Cuatro' }).waitFor();
    assert.equal(await paula.locator('img').count(), 3, 'the three photos are shown');
    await shot(desk, 'self-09-registrations-1280');
    const deskPhone = await newPage(browser, { width: 390, height: 844 });
    await login(deskPhone, srv.url, ADMIN);
    await deskPhone.goto(new URL('registrations', srv.url).href);
    await deskPhone.getByRole('listitem', { name: 'Rosa Cuatro' }).waitFor();
    await shot(deskPhone, 'self-10-registrations-390');
    assert.ok((await overflow(deskPhone)) <= 0, 'the registrations page fits 390 px');

    await paula.getByRole('button', { name: 'Aprobar' }).click();
    await desk.getByText('Paula Tres Núñez ya es una persona registrada.').waitFor();
    desk.once('dialog', (d) => void d.accept());
    await desk.getByRole('listitem', { name: 'Rosa Cuatro' }).getByRole('button', { name: 'Rechazar' }).click();
    await desk.getByText('No hay solicitudes pendientes.').waitFor();
    await shot(desk, 'self-11-registrations-done-1280');

    people = (await admin('GET', '/api/v1/persons?limit=500')).body.items;
    const p = people.find((x) => x.name === 'Paula Tres Núñez');
    assert.ok(p, 'approved: a person now');
    assert.equal(p.active, true);
    assert.equal(p.face_count, 3);
    assert.ok(!people.some((x) => x.name === 'Rosa Cuatro'), 'rejected: erased');
    const audit = (await admin('GET', '/api/v1/audit?action=registration.reject')).body;
    assert.equal(audit.total, 1);
  } finally {
    await browser.close();
  }
});

test('"Mis datos": a member sees their faces and withdraws consent with their password, by keyboard at 390 px', async () => {
  const c = await admin('PATCH', `/api/v1/persons/${ids.ang}`, { consent_at: '2026-09-14T08:00:00Z' });
  assert.equal(c.status, 200, JSON.stringify(c.body));
  const faces = (await admin('GET', `/api/v1/persons/${ids.ang}/faces`)).body;
  assert.ok(faces.length >= 2, JSON.stringify(faces));
  const events = (await admin('GET', `/api/v1/attendance?person_id=${ids.ang}`)).body.total;
  assert.ok(events >= 1, 'the check-in above is history to keep');
  const browser = await launch(null);
  try {
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, STUDENT);
    await phone.getByRole('button', { name: 'Menú' }).click();
    await phone.getByRole('link', { name: 'Mis datos' }).click();
    await phone.getByRole('heading', { name: 'Mis datos', level: 1 }).waitFor();
    await phone.getByText('Angelina Prueba', { exact: true }).waitFor();
    assert.match(await phone.getByTestId('mydata-consent').innerText(), /Dio su consentimiento el 14 sept? 2026/);
    const imgs = phone.getByTestId('mydata-faces').locator('img');
    assert.equal(await imgs.count(), faces.length, 'every photo of her face is shown');
    await phone.waitForFunction(
      (n) => [...document.querySelectorAll('[data-testid=mydata-faces] img')].filter((i) => i.complete && i.naturalWidth > 0).length === n,
      faces.length,
    );
    assert.match(await phone.getByTestId('mydata-held').innerText(), new RegExp(`Registros de asistencia\\s+${events}`));
    await shot(phone, 'self-12-mydata-390');
    assert.ok((await overflow(phone)) <= 0, 'Mis datos fits 390 px');
    assert.deepEqual(await a11yProblems(phone), [], 'Mis datos: no serious accessibility problem');

    // By keyboard: the button, the dialog's password field, Enter.
    const withdraw = phone.getByRole('button', { name: 'Retirar mi consentimiento y borrar mis datos biométricos' });
    await withdraw.focus();
    await phone.keyboard.press('Enter');
    const dialog = phone.getByRole('dialog', { name: 'Retirar mi consentimiento' });
    await dialog.waitFor();
    const pw = dialog.getByLabel('Contraseña');
    assert.ok(await pw.evaluate((el) => el === document.activeElement), 'typing starts in the password field');
    await phone.keyboard.type('not-my-password-1');
    await phone.keyboard.press('Enter');
    await dialog.getByText('La contraseña no es correcta.').waitFor();
    assert.equal((await admin('GET', `/api/v1/persons/${ids.ang}/faces`)).body.length, faces.length, 'nothing erased');
    await shot(phone, 'self-13-mydata-wrong-390');
    await pw.fill('');
    await phone.keyboard.type(STUDENT.password);
    await phone.keyboard.press('Enter');
    const done = phone.getByTestId('mydata-result');
    await waitOrAlert(phone, done, 30000);
    const text = await done.innerText();
    assert.match(text, /Ha retirado su consentimiento/);
    assert.match(text, new RegExp(`Fotos de su cara: ${faces.length}`));
    assert.match(text, /Su historial de asistencia se conserva/);
    await phone.getByText('No se guarda ninguna foto de su cara.').waitFor();
    assert.match(await phone.getByTestId('mydata-consent').innerText(), /Retiró su consentimiento el .*No se registrarán fotos suyas/);
    assert.equal(await phone.getByTestId('mydata-faces').count(), 0);
    await shot(phone, 'self-14-mydata-withdrawn-390');
    assert.ok((await overflow(phone)) <= 0);

    assert.deepEqual((await admin('GET', `/api/v1/persons/${ids.ang}/faces`)).body, []);
    assert.equal((await admin('GET', `/api/v1/attendance?person_id=${ids.ang}`)).body.total, events, 'history kept');
    assert.equal((await admin('GET', '/api/v1/audit?action=self.consent_withdrawn')).body.total, 1);
  } finally {
    await browser.close();
  }
});
