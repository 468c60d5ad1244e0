// day.test.mjs — a real user's day with the web application, in Spanish,
// against the real server with Debian's headless Chromium:
//  - a phone at 360 px: every page an administrator opens, and every form
//    dialog those pages offer, fits the screen (no sideways scroll, nothing
//    past its edge) and every field is at least 16 px (smaller text makes
//    iOS Safari zoom the page in on focus);
//  - "who is missing now" downloaded as CSV from the Spanish dashboard opens
//    in Spanish Excel: UTF-8 BOM, ';', CRLF, Spanish header, a name with
//    ';' and quotes kept whole; the Reports page's CSV and XLSX are Spanish
//    too (header, sheet names);
//  - the kiosk tablet left at the door: the camera unplugged says so (in
//    Spanish) and comes back by itself when it is plugged in again; the
//    server restarted and the network cut (context.setOffline) are survived
//    without anyone touching the tablet, which keeps recognizing;
//  - decimals in the Spanish UI are written with a comma (the confidence);
//  - a second self-registration of a face whose first one still waits for
//    approval (real photos, another e-mail) is refused in both languages;
//  - a dashboard left on a wall screen shows who becomes absent when a slot
//    starts, with nobody touching it.
// Screenshots go to tests/out/web/ (day-*). The tests share one server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { noonZone } from '../http/lib.mjs';
import { ADMIN, FACES, apiOf, launch, login, makeY4m, newPage, openKioskWithKey, shot, startRollcall, waitOrAlert } from './browser.mjs';

// The institution's zone is where it is about noon now, so slots of the
// morning have passed whatever the hour the test runs (as reports.test.mjs).
const { zone: ZONE, off, dow } = noonZone();

const PHONE = { width: 360, height: 740 };
// Names a spreadsheet could misread: a separator, quotes, a formula.
const ODD = { external_id: 'ODD-1', first_name: 'José; "Pepe"', last_name: '=Núñez+1', kind: 'student' };
const ANG = { external_id: 'ANG-D', first_name: 'Angelina', last_name: 'Día', kind: 'student' };
const MEMBER = { email: 'angelina@rollcall.test', password: 'Angelina-day-password-1' };

/** The body of a 2xx API answer; fails the test otherwise. */
const ok = (r) => {
  assert.ok(r.status < 300, JSON.stringify(r.body));
  return r.body;
};

let dir, srv, listen, groupId, deviceKey, y4m;
const pageErrors = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-day-'));
  y4m = makeY4m(join(FACES, 'id', 'deepface_angelina', '2.jpg'), join(dir, 'angelina.y4m'));
  srv = await startRollcall(join(dir, 'data'));
  listen = new URL(srv.url).host;
  const browser = await launch(null);
  try {
    const page = await newPage(browser);
    await login(page, srv.url, ADMIN);
    const api = await apiOf(page, srv.url);
    ok(
      await api('PATCH', '/api/v1/settings', {
        timezone: ZONE,
        liveness_threshold: 0,
        institution_name: 'IES Día Largo',
        self_registration_enabled: true,
      }),
    );
    groupId = ok(await api('POST', '/api/v1/groups', { name: '1º ESO B' })).id;
    ODD.id = ok(await api('POST', '/api/v1/persons', { ...ODD, group_ids: [groupId] })).id;
    ANG.id = ok(await api('POST', '/api/v1/persons', { ...ANG, group_ids: [groupId] })).id;
    const fd = new FormData();
    for (const n of [1, 3, 4])
      fd.append('file', new Blob([readFileSync(join(FACES, 'id', 'deepface_angelina', `${n}.jpg`))], { type: 'image/jpeg' }), `${n}.jpg`);
    const enrolled = ok(await api('POST', `/api/v1/persons/${ANG.id}/faces`, fd));
    assert.ok(enrolled.results.filter((x) => x.accepted).length >= 2, JSON.stringify(enrolled));
    ok(
      await api('POST', '/api/v1/schedules', {
        group_id: groupId,
        day_of_week: dow,
        start: '08:00',
        end: '11:00',
        grace_min: 5,
        label: 'Matemáticas',
      }),
    );
    ok(
      await api('POST', '/api/v1/cameras', {
        name: 'Puerta',
        url: 'http://127.0.0.1:9/x.mjpeg',
        kind: 'mjpeg',
        direction: 'both',
        enabled: false,
      }),
    );
    deviceKey = ok(await api('POST', '/api/v1/api-keys', { name: 'Tableta de la puerta', role: 'device' })).key;
    ok(
      await api('POST', '/api/v1/users', {
        ...MEMBER,
        name: 'Angelina Día',
        role: 'member',
        person_id: ANG.id,
        must_change_password: false,
      }),
    );
  } finally {
    await browser.close();
  }
});

after(async () => {
  assert.deepEqual(pageErrors, [], 'no uncaught error in any page');
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

/** Run `fn` with an administrator's page on a laptop-sized screen. */
async function asAdmin(fn) {
  const browser = await launch(null);
  try {
    const page = await tab(browser, { width: 1280, height: 800 });
    await login(page, srv.url, ADMIN);
    await fn(page);
  } finally {
    await browser.close();
  }
}

async function tab(browser, size) {
  const page = await newPage(browser, size);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return page;
}

/** What a phone user would trip over on the page (or its open dialog). */
function phoneProblems(page) {
  return page.evaluate(() => {
    const out = [];
    const doc = document.scrollingElement;
    if (doc.scrollWidth > doc.clientWidth) out.push(`scrolls sideways: ${doc.scrollWidth} > ${doc.clientWidth}`);
    const name = (el) =>
      `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') || el.labels?.[0]?.innerText || el.innerText || '').trim().split('\n')[0].slice(0, 40)}"`;
    // With a dialog open, only the dialog can be used.
    const root = document.querySelector('dialog[open]') ?? document;
    for (const el of root.querySelectorAll('input, select, textarea')) {
      if (!el.offsetParent || ['checkbox', 'radio', 'file', 'hidden'].includes(el.type)) continue;
      const px = parseFloat(getComputedStyle(el).fontSize);
      if (px < 16) out.push(`${name(el)} is ${px} px: iOS zooms in on it`);
    }
    // Nothing to tap lies past the screen's edge (tables scroll in their box;
    // the skip link waits off screen until it has the focus).
    for (const el of root.querySelectorAll('button, a, input, select, textarea')) {
      if (!el.offsetParent || el.closest('.table-wrap') || el.matches('.skip')) continue;
      const r = el.getBoundingClientRect();
      if (r.width && (r.left < -1 || r.right > window.innerWidth + 1))
        out.push(`${name(el)} is outside the screen (${Math.round(r.left)}..${Math.round(r.right)})`);
    }
    const d = document.querySelector('dialog[open]');
    if (d && d.scrollWidth > d.clientWidth + 1) out.push(`the dialog scrolls sideways: ${d.scrollWidth} > ${d.clientWidth}`);
    return [...new Set(out)];
  });
}

test('every page and every form dialog fits a 360 px phone, with fields iOS does not zoom into', async () => {
  const pages = [
    'dashboard',
    'people',
    `people/${ODD.id}`,
    'import',
    'groups',
    `groups/${groupId}`,
    'holidays',
    'attendance',
    'attendance?view=summary',
    'attendance?view=absent',
    'reports',
    'cameras',
    'review',
    'registrations',
    'account',
    'admin/users',
    'admin/api-keys',
    'admin/settings',
    'admin/audit',
  ];
  const failures = [];
  const browser = await launch(null);
  try {
    const page = await tab(browser, PHONE);
    await login(page, srv.url, ADMIN);
    await walk(page, pages, failures);
    // A student on their phone.
    await page.context().clearCookies();
    await login(page, srv.url, MEMBER);
    await walk(page, ['checkin', 'attendance', 'attendance?view=summary', 'account'], failures, 'member');
    // Signed out: the login and self-registration pages.
    await page.context().clearCookies();
    for (const path of ['login', 'register']) {
      await page.goto(new URL(path, srv.url).href);
      await page.locator('h1').first().waitFor();
      await shot(page, `day-360-signed-out-${path}`);
      for (const p of await phoneProblems(page)) failures.push(`${path} (signed out): ${p}`);
    }
  } finally {
    await browser.close();
  }
  assert.deepEqual(failures, []);
});

/** Visit each page, check it and each form dialog it opens at phone size. */
async function walk(page, pages, failures, role = 'admin') {
  // The buttons that open a form in a dialog.
  const opens = /^(Nueva|Nuevo|Añadir|Registro manual|Editar)/;
  for (const path of pages) {
    await page.goto(new URL(path, srv.url).href);
    await page.locator('h1').first().waitFor();
    await page.waitForFunction(() => ![...document.querySelectorAll('[role=status]')].some((e) => e.textContent.startsWith('Cargando')));
    const slug = `${role}-${path.replace(/[/?=&]+/g, '-').replace(/-\d+(?=-|$)/g, '-id')}`;
    await shot(page, `day-360-${slug}`);
    for (const p of await phoneProblems(page)) failures.push(`${role} ${path}: ${p}`);
    const buttons = page.locator('main button:visible:enabled').filter({ hasText: opens });
    const n = await buttons.count();
    for (let i = 0; i < n; i++) {
      const b = buttons.nth(i);
      const label = (await b.innerText()).trim();
      await b.click();
      const dialog = page.locator('dialog[open]');
      if (!(await dialog.count())) continue; // not a dialog (e.g. a form opening in place)
      await dialog.locator('input, select, textarea').first().waitFor();
      // Typing starts in the form: focus on the first field, not on the ✕
      // (it was, and a space typed in "2º ESO" closed the dialog).
      const focus = await page.evaluate(() => {
        const a = document.activeElement;
        const first = document.querySelector('dialog[open] :is(input, select, textarea)');
        return a === first ? 'first field' : `${a?.tagName} ${a?.getAttribute('aria-label') ?? a?.textContent?.trim() ?? ''}`;
      });
      if (focus !== 'first field') failures.push(`${role} ${path}, dialog "${label}": focus on ${focus}, not the first field`);
      await shot(page, `day-360-${slug}-dialog-${i}`);
      for (const p of await phoneProblems(page)) failures.push(`${role} ${path}, dialog "${label}": ${p}`);
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'detached' }).catch(() => dialog.waitFor({ state: 'hidden' }));
    }
  }
}

test('"who is missing now" from the Spanish dashboard downloads a CSV for Spanish Excel', async () => {
  await asAdmin(async (page) => {
    await page.goto(new URL('dashboard', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing.getByText('José; "Pepe" =Núñez+1'));
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.locator('section', { has: missing }).getByRole('link', { name: 'Descargar CSV' }).click(),
    ]);
    const bytes = readFileSync(await download.path());
    assert.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte-order mark first');
    const text = bytes.subarray(3).toString('utf8');
    const lines = text.split('\r\n');
    assert.equal(lines.at(-1), '', 'every line ends with CRLF');
    assert.ok(!lines.slice(0, -1).some((l) => l.includes('\n')), 'no bare LF');
    assert.match(lines[0], /^Día;Código;Nombre;Franja;/, 'a Spanish header with ";"');
    const row = lines.find((l) => l.includes('ODD-1'));
    assert.ok(row, text);
    assert.ok(row.includes(';"José; ""Pepe"" =Núñez+1";'), `the name quoted whole: ${row}`);
    assert.match(row, /;ausente;/);
    assert.match(row, /;Matemáticas;/);
  });
});

test('the Reports page downloads its CSV and XLSX in Spanish', async () => {
  await asAdmin(async (page) => {
    await page.goto(new URL(`reports?group_id=${groupId}`, srv.url).href);
    await page.locator('h1').first().waitFor();
    const get = async (name) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()]);
      return readFileSync(await download.path());
    };
    const csv = await get('Descargar CSV');
    assert.deepEqual([...csv.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 byte-order mark first');
    assert.match(csv.subarray(3).toString('utf8'), /^Día;Código;Nombre;Franja;/);
    // An XLSX is a zip; its sheet names are in xl/workbook.xml.
    const xlsx = await get('Descargar XLSX');
    const book = inflateEntry(xlsx, 'xl/workbook.xml');
    assert.match(book, /name="Resumen"/);
    assert.match(book, /name="Detalle"/);
  });
});

/** One entry of a zip file (stored or deflated), as text. */
function inflateEntry(zip, name) {
  for (let i = zip.length - 22; i >= 0; i--) {
    if (zip.readUInt32LE(i) !== 0x06054b50) continue;
    let p = zip.readUInt32LE(i + 16);
    for (let n = zip.readUInt16LE(i + 10); n > 0; n--) {
      const len = zip.readUInt16LE(p + 28);
      const entry = zip.subarray(p + 46, p + 46 + len).toString('utf8');
      const local = zip.readUInt32LE(p + 42);
      if (entry === name) {
        const size = zip.readUInt32LE(p + 20);
        const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
        const data = zip.subarray(start, start + size);
        return (zip.readUInt16LE(p + 10) === 8 ? inflateRawSync(data) : data).toString('utf8');
      }
      p += 46 + len + zip.readUInt16LE(p + 30) + zip.readUInt16LE(p + 32);
    }
  }
  throw new Error(`${name} is not in the zip`);
}

test('a second self-registration of a face still waiting for approval is refused, in Spanish and in English', async () => {
  const P03 = (n) => join(FACES, 'id', 'deepface_person03', `${n}.jpg`);
  const browser = await launch(null);
  try {
    const page = await tab(browser, PHONE);
    const register = async (first, email, photos) => {
      await page.goto(new URL('register', srv.url).href);
      await page.getByLabel('Nombre', { exact: true }).fill(first);
      await page.getByLabel('Apellidos').fill('Tres');
      await page.getByLabel('Correo').fill(email);
      await page.getByLabel('Grupo').selectOption({ label: '1º ESO B' });
      for (const [i, n] of photos.entries()) await page.getByLabel(`Foto ${i + 1}`).setInputFiles(P03(n));
      await page.getByRole('checkbox').check();
      const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().endsWith('/api/v1/self/register') && r.request().method() === 'POST', { timeout: 60000 }),
        page.getByRole('button', { name: 'Enviar solicitud' }).click(),
      ]);
      return res.status();
    };
    assert.equal(await register('Paula', 'paula@rollcall.test', [1, 2, 3]), 201);
    await page.getByText('Solicitud enviada.', { exact: false }).waitFor();
    // The same student again under another address, with other photos.
    assert.equal(await register('Pau', 'pau.otra@rollcall.test', [4, 5, 4]), 409);
    const alert = page.getByRole('alert');
    await alert.getByText('Ya hay una solicitud con este rostro esperando aprobación.', { exact: false }).waitFor();
    assert.doesNotMatch(await alert.innerText(), /Paula/, 'never says whose face it is');
    await shot(page, 'day-register-face-pending-360');
    await page.getByRole('combobox', { name: 'Idioma' }).selectOption('en');
    await page.getByRole('button', { name: 'Send request' }).click();
    await page.getByRole('alert').getByText('A registration with this face is already waiting for approval.', { exact: false }).waitFor();
    await page.getByRole('combobox', { name: 'Language' }).selectOption('es');
  } finally {
    await browser.close();
  }
});

test('a dashboard left on the wall shows who becomes absent as a slot starts, without a reload', async () => {
  await asAdmin(async (page) => {
    const api = await apiOf(page, srv.url);
    // A slot that starts in two minutes (institution time), no grace.
    const inZone = new Date(Date.now() + off * 3600e3 + 2 * 60e3);
    const hhmm = (d) => d.toISOString().slice(11, 16);
    const group = ok(await api('POST', '/api/v1/groups', { name: '2º ESO C' })).id;
    ok(
      await api('POST', '/api/v1/persons', {
        external_id: 'WALL-1',
        first_name: 'Wenceslao',
        last_name: 'Pared',
        kind: 'student',
        group_ids: [group],
      }),
    );
    ok(
      await api('POST', '/api/v1/schedules', {
        group_id: group,
        day_of_week: ((inZone.getUTCDay() + 6) % 7) + 1,
        start: hhmm(inZone),
        end: hhmm(new Date(inZone.getTime() + 30 * 60e3)),
        grace_min: 0,
        label: 'Historia',
      }),
    );
    await page.goto(new URL('dashboard', srv.url).href);
    const missing = page.getByRole('table', { name: 'Quién falta ahora' });
    await waitOrAlert(page, missing);
    assert.equal(await missing.getByText('Wenceslao Pared').count(), 0, 'not missing before the slot starts');
    // Nobody touches the page: the slot starts and the list shows it.
    await missing.getByText('Wenceslao Pared').waitFor({ timeout: 240000 });
    assert.match(await missing.getByRole('row').filter({ hasText: 'Wenceslao Pared' }).innerText(), /Historia/);
    await shot(page, 'day-dashboard-wall-absent');
  });
});

/** Open the kiosk on a tablet with the device key; resolves once it shows
 * "Conectado" and its camera runs. */
async function tablet(browser) {
  const page = await tab(browser, { width: 1024, height: 768 });
  await openKioskWithKey(page, srv.url, deviceKey);
  await page.getByTestId('kiosk-network').getByText('Conectado').waitFor();
  await cameraLive(page);
  return page;
}

const cameraLive = (page) =>
  page.waitForFunction(() => {
    const v = document.querySelector('video');
    return v?.srcObject?.getVideoTracks().some((t) => t.readyState === 'live') && v.readyState >= 2;
  });

/** The next /recognize the kiosk gets an answer to (any status). */
const nextRecognize = (page, ok = true) =>
  page.waitForResponse((r) => r.url().includes('/api/v1/recognize') && (!ok || r.ok()), { timeout: 60000 });

test('the kiosk says when its camera is unplugged and takes it back when it is plugged in again', async () => {
  const browser = await launch(y4m);
  try {
    const page = await tablet(browser);
    await nextRecognize(page);
    // Unplugged: the browser ends the track, and asking for a camera finds
    // none until it is plugged in again.
    await page.evaluate(() => {
      window.unplugged = true;
      const md = navigator.mediaDevices;
      const real = md.getUserMedia.bind(md);
      md.getUserMedia = (c) =>
        window.unplugged ? Promise.reject(new DOMException('Requested device not found', 'NotFoundError')) : real(c);
      const track = document.querySelector('video').srcObject.getVideoTracks()[0];
      track.stop();
      track.dispatchEvent(new Event('ended'));
    });
    const alert = page.getByRole('alert').filter({ hasText: /cámara/i });
    await alert.waitFor({ timeout: 15000 });
    assert.match(await alert.innerText(), /^(Se ha desconectado la cámara|No se encuentra ninguna cámara)\. .*cada 5 s/);
    await shot(page, 'day-kiosk-camera-unplugged');
    // Plugged in again: nobody touches the tablet.
    await page.evaluate(() => {
      window.unplugged = false;
    });
    await cameraLive(page);
    await alert.waitFor({ state: 'detached', timeout: 15000 });
    await nextRecognize(page);
    await shot(page, 'day-kiosk-camera-back');
  } finally {
    await browser.close();
  }
});

test('the kiosk rides out a server restart and a network cut by itself', async () => {
  const browser = await launch(y4m);
  try {
    const page = await tablet(browser);
    await nextRecognize(page);
    const network = page.getByTestId('kiosk-network');
    // The server restarts (same address, same data).
    assert.equal(await srv.stop(), 0);
    await network.getByText(/Sin conexión/).waitFor({ timeout: 30000 });
    await shot(page, 'day-kiosk-server-down');
    srv = await startRollcall(join(dir, 'data'), { listen });
    await network.getByText('Conectado').waitFor({ timeout: 60000 });
    await nextRecognize(page);
    // The tablet's network drops for a while.
    await page.context().setOffline(true);
    await network.getByText(/Sin conexión/).waitFor({ timeout: 30000 });
    await page.context().setOffline(false);
    await network.getByText('Conectado').waitFor({ timeout: 60000 });
    await nextRecognize(page);
    assert.equal(await page.getByRole('alert').count(), 0, 'no error left on screen');
    await shot(page, 'day-kiosk-back-online');
  } finally {
    await browser.close();
  }
});

test('the Spanish attendance table writes decimals with a comma', async () => {
  // The kiosk above recorded Angelina's entry with the recognition's confidence.
  await asAdmin(async (page) => {
    await page.goto(new URL('attendance', srv.url).href);
    const table = page.getByRole('table', { name: 'Asistencia' });
    const row = table.getByRole('row').filter({ hasText: ANG.external_id }).first();
    await waitOrAlert(page, row);
    const column = await table.locator('thead th').allInnerTexts();
    const at = column.findIndex((h) => /confianza/i.test(h));
    assert.ok(at >= 0, `a confidence column in ${column}`);
    const cell = await row.locator('td').nth(at).innerText();
    assert.match(cell, /^\d,\d\d$/, `the confidence as a Spanish reader writes it: ${cell}`);
  });
});
