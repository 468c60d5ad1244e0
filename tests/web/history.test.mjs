// history.test.mjs — the Person page's three data actions in the web UI
// (Debian's headless Chromium against the real server, Spanish): archive
// (hidden from the default list, shown by the filter, restored), erase the
// biometric data only (faces gone, attendance history kept) and the full
// erase, confirmed by typing the person's code; the day a person joined a
// group, changed on their page; and the Cameras page saying a camera's
// failure in Spanish from its code. Screenshots at 1280×800 and 390×844 in
// tests/out/web/, no horizontal scroll at 390 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, FACES, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';
import { Client, multipart } from '../http/lib.mjs';

let dir, srv, browser, api;
const today = new Date().toISOString().slice(0, 10);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-history-'));
  srv = await startRollcall(join(dir, 'data'));
  api = new Client(srv.url);
  await api.login(ADMIN.email, ADMIN.password);
  browser = await launch(null);
});
after(async () => {
  await browser?.close();
  assert.equal(await srv.stop(), 0);
  rmSync(dir, { recursive: true, force: true });
});

// A person with two enrolled faces, a group and one attendance event.
async function enrolled(code, photos) {
  const g = (await api.post('/api/v1/groups', { name: `Grupo ${code}` })).body.id;
  const r = await api.post('/api/v1/persons', { external_id: code, first_name: 'Lucía', last_name: `Núñez ${code}`, kind: 'student', group_ids: [g] });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const id = r.body.id;
  const mp = multipart(photos.map((p, i) => ({ name: 'file', filename: `${i}.jpg`, type: 'image/jpeg', data: readFileSync(join(FACES, p)) })));
  const up = await api.post(`/api/v1/persons/${id}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.ok(up.body.results.filter((x) => x.accepted).length >= 1, JSON.stringify(up.body));
  const ev = await api.post('/api/v1/attendance', { person_id: id, type: 'entry', time: `${today}T00:30:00Z`, reason: 'e2e' });
  assert.equal(ev.status, 201, JSON.stringify(ev.body));
  return { id, g };
}

async function noSideScroll(page) {
  const { w, wide } = await page.evaluate(() => ({
    w: document.scrollingElement.scrollWidth,
    // What sticks out, to say where the scroll comes from.
    wide: [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > 391)
      .slice(-4)
      .map((e) => `${e.tagName.toLowerCase()}.${e.className}`),
  }));
  assert.ok(w <= 390, `horizontal scroll at 390 px: ${w} (${wide.join(', ')})`);
}

test('archive, erase biometric data, erase completely: three separate actions on the Person page', async () => {
  const { id, g } = await enrolled('HIST-W1', ['id/deepface_angelina/1.jpg', 'id/deepface_angelina/2.jpg']);
  const page = await newPage(browser, { width: 1280, height: 800 });
  await login(page, srv.url, ADMIN);
  await page.goto(new URL(`people/${id}`, srv.url).href);
  await waitOrAlert(page, page.getByRole('heading', { name: 'Datos personales' }));
  await shot(page, 'history-person-1280');

  // Archive: hidden from the default list, shown by the filter, then restored.
  await page.getByRole('button', { name: 'Archivar' }).click();
  await page.getByText('Archivada', { exact: true }).first().waitFor();
  assert.equal((await api.get(`/api/v1/persons/${id}`)).body.active, false);
  await page.goto(new URL('people', srv.url).href);
  await page.getByRole('table').waitFor();
  assert.equal(await page.getByRole('link', { name: /HIST-W1|Núñez HIST-W1/ }).count(), 0, 'hidden by default');
  await page.getByLabel('Mostrar').selectOption('false');
  await page.getByRole('link', { name: /Núñez HIST-W1/ }).first().waitFor();
  await page.goto(new URL(`people/${id}`, srv.url).href);
  await page.getByRole('button', { name: 'Restaurar' }).click();
  await page.getByRole('button', { name: 'Archivar' }).waitFor();
  assert.equal((await api.get(`/api/v1/persons/${id}`)).body.active, true);

  // The day they joined the group, changed here.
  await page.getByLabel(`Día de alta en Grupo HIST-W1`).fill('2026-09-01');
  await page.getByRole('button', { name: 'Guardar fecha de alta en Grupo HIST-W1' }).click();
  await page.getByRole('button', { name: 'Guardar fecha de alta en Grupo HIST-W1' }).waitFor({ state: 'detached' });
  const member = (await api.get(`/api/v1/groups/${g}/members`)).body.items.find((m) => m.id === id);
  assert.equal(member.joined_on, '2026-09-01');

  // Biometric data only: faces gone, history kept.
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Borrar datos biométricos' }).click();
  await page.getByRole('status').filter({ hasText: /Datos biométricos borrados\. Caras: \d+/ }).waitFor();
  assert.equal((await api.get(`/api/v1/persons/${id}/faces`)).body.length, 0);
  assert.equal((await api.get(`/api/v1/attendance?person_id=${id}`)).body.items.length, 1, 'history kept');
  await shot(page, 'history-biometrics-erased-1280');

  // Full erase: only once the code is typed.
  await page.getByRole('button', { name: 'Borrar del todo' }).click();
  const dialog = page.getByRole('dialog', { name: 'Borrar del todo' });
  const go = dialog.getByRole('button', { name: 'Borrar todo' });
  assert.equal(await go.isDisabled(), true);
  await dialog.getByLabel('Escriba el ID de la persona (HIST-W1) para confirmar').fill('HIST-W');
  assert.equal(await go.isDisabled(), true, 'a wrong code does not unlock it');
  await dialog.getByLabel('Escriba el ID de la persona (HIST-W1) para confirmar').fill('HIST-W1');
  await shot(page, 'history-erase-confirm-1280');
  await go.click();
  await page.waitForURL((u) => u.pathname === '/people');
  assert.equal((await api.get(`/api/v1/persons/${id}`)).status, 404);
  const audit = await api.get('/api/v1/audit?action=person.erase');
  const entry = audit.body.items.find((a) => a.target === `person:${id}`);
  assert.ok(entry && !entry.detail.includes('HIST-W1') && JSON.parse(entry.detail).events === 1, JSON.stringify(entry));
  await page.context().close();
});

test('phone size: the Person page and the erase dialog fit 390 px', async () => {
  const { id } = await enrolled('HIST-W2', ['id/deepface_person01/1.jpg', 'id/deepface_person01/2.jpg']);
  const page = await newPage(browser, { width: 390, height: 844 });
  await login(page, srv.url, ADMIN);
  await page.goto(new URL(`people/${id}`, srv.url).href);
  await waitOrAlert(page, page.getByRole('heading', { name: 'Datos personales' }));
  await noSideScroll(page);
  await shot(page, 'history-person-390');
  await page.getByRole('button', { name: 'Borrar del todo' }).click();
  await page.getByRole('dialog', { name: 'Borrar del todo' }).waitFor();
  await noSideScroll(page);
  await shot(page, 'history-erase-confirm-390');
  await page.context().close();
});

test('cameras: a failure is said in Spanish from its code, with the host', async () => {
  // A port nobody listens on: the camera cannot connect.
  const port = await new Promise((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
  const cam = await api.post('/api/v1/cameras', { name: 'Puerta', url: `http://127.0.0.1:${port}/stream`, kind: 'mjpeg', direction: 'entry' });
  assert.equal(cam.status, 201, JSON.stringify(cam.body));
  for (const size of [{ width: 1280, height: 800, tag: '1280' }, { width: 390, height: 844, tag: '390' }]) {
    const page = await newPage(browser, size);
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('cameras', srv.url).href);
    const err = page.getByTestId('camera-error');
    await err.filter({ hasText: `No se puede conectar con 127.0.0.1:${port}` }).waitFor({ timeout: 30000 });
    assert.ok(!/Failed|Couldn't|connect to server/i.test(await err.innerText()), await err.innerText());
    if (size.width === 390) await noSideScroll(page);
    await shot(page, `history-cameras-${size.tag}`);
    await page.context().close();
  }
  assert.equal((await api.del(`/api/v1/cameras/${cam.body.id}`)).status, 204);
});
