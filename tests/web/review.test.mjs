// review.test.mjs — unknown faces and "not this person" end to end in
// Spanish, against the real server with Debian's headless Chromium. A door
// camera (a device key posting real photos) saw three strangers and took a
// fourth person for Carla, whose enrolled photo was someone else's. On
// "Rostros desconocidos" the faces show in a grid per day and camera; one is
// assigned to Ana with the person picker (enrolled, with her entry at the
// time she was seen), the rest are dismissed at once. On the attendance
// page, "No es esta persona" voids Carla's event, deletes the photo that
// matched and keeps the face as seen: the same photo is then unknown, and
// the face waits, marked "Corregido", among the unknown faces. Screenshots
// at 1280×800 and 390×844 (review-*), no sideways scrolling at 390 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, FACES, a11yProblems, launch, login, newPage, shot, startRollcall, waitOrAlert } from './browser.mjs';
import { Client, multipart } from '../http/lib.mjs';

const photo = (rel) => readFileSync(join(FACES, 'id', rel));
const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

let dir, srv, api, device, cam, ana, carla, carlaFace, carlaEvent;

async function person(ext, first) {
  const r = await api.post('/api/v1/persons', { external_id: ext, first_name: first, last_name: 'Revisión', kind: 'student' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.id;
}

/** The door camera sees a photo (attendance marked). */
async function seen(rel) {
  const r = await device.req('POST', `/api/v1/recognize?mark=true&camera_id=${cam}`, { body: photo(rel), type: 'image/jpeg' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.faces[0];
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-review-'));
  srv = await startRollcall(join(dir, 'data'));
  api = new Client(srv.url);
  await api.login(ADMIN.email, ADMIN.password);
  // Still photos: liveness off (its own tests are elsewhere); keep unknown faces.
  assert.equal((await api.patch('/api/v1/settings', { liveness_threshold: 0, keep_unrecognized: true, timezone: 'UTC' })).status, 200);
  cam = (await api.post('/api/v1/cameras', { name: 'Puerta norte', kind: 'browser', direction: 'both' })).body.id;
  const k = await api.post('/api/v1/api-keys', { name: 'puerta', role: 'device' });
  device = new Client(srv.url, { key: k.body.key });
  ana = await person('REV-A', 'Ana');
  carla = await person('REV-C', 'Carla');
  // The mistake: someone else's photo enrolled as Carla.
  const mp = multipart([{ name: 'file', filename: 'c.jpg', type: 'image/jpeg', data: photo('deepface_person04/1.jpg') }]);
  const r = await api.post(`/api/v1/persons/${carla}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.equal(r.body.results[0].accepted, true, JSON.stringify(r.body));
  carlaFace = r.body.results[0].face_id;
  for (const rel of ['deepface_person02/1.jpg', 'deepface_person05/1.jpg', 'deepface_person06/1.jpg'])
    assert.equal((await seen(rel)).identity, null, `${rel} is a stranger`);
  const f = await seen('deepface_person04/2.jpg');
  assert.equal(f.identity?.person_id, carla, 'taken for Carla');
  carlaEvent = f.event.id;
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

test('unknown faces: a grid per day and camera; one assigned to a person with the picker, the rest dismissed at once', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await login(page, srv.url, ADMIN);
    await page.getByRole('link', { name: 'Rostros desconocidos' }).click();
    await page.getByRole('heading', { name: 'Rostros desconocidos' }).waitFor();
    const section = page.getByRole('region', { name: /Puerta norte/ });
    await section.waitFor();
    const cards = section.getByRole('listitem');
    assert.equal(await cards.count(), 3);
    assert.match(await section.innerText(), /Rostros: 3/);
    // Every crop loads (the image route answers the session).
    await page.waitForFunction(() => [...document.querySelectorAll('li[data-sighting] img')].every((i) => i.complete && i.naturalWidth > 0));
    await shot(page, 'review-01-unknown-faces-1280');
    assert.deepEqual(await a11yProblems(page), [], 'review page: no serious accessibility problem');

    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, ADMIN);
    await phone.goto(new URL('review', srv.url).href);
    await phone.getByRole('region', { name: /Puerta norte/ }).waitFor();
    await shot(phone, 'review-02-unknown-faces-390');
    assert.ok((await overflow(phone)) <= 0, 'the review page fits 390 px');

    // The oldest face (listed last) is Ana's: assign it, with her entry.
    const seenFirst = (await api.get('/api/v1/sightings')).body.items.at(-1);
    const card = page.locator(`li[data-sighting="${seenFirst.id}"]`);
    await card.getByRole('button', { name: 'Asignar' }).click();
    const dialog = page.getByRole('dialog', { name: 'Asignar a una persona' });
    await dialog.getByLabel('Persona').fill('Ana Revisión (REV-A)');
    await dialog.getByLabel('Registrar también la asistencia a la hora en que se vio').check();
    await dialog.getByLabel('Motivo').fill('Llegó antes de inscribirse');
    const go = dialog.getByRole('button', { name: 'Asignar' });
    await page.waitForFunction((el) => !el.disabled, await go.elementHandle()); // the picker found her
    await shot(page, 'review-03-assign-dialog-1280');
    await go.click();
    await waitOrAlert(page, page.getByText('Inscrito para Ana Revisión.'), 60000);
    // The message may come before the grid is drawn again: wait for her card to go.
    await card.waitFor({ state: 'detached' });
    assert.equal(await cards.count(), 2);
    const faces = (await api.get(`/api/v1/persons/${ana}/faces`)).body;
    assert.equal(faces.length, 1, 'the face is enrolled for Ana');
    const events = (await api.get(`/api/v1/attendance?person_id=${ana}`)).body.items;
    assert.equal(events.length, 1);
    assert.equal(events[0].time, seenFirst.time, 'her entry at the time she was seen');
    assert.equal(events[0].source, 'manual');

    // The others: select all, dismiss at once (after a confirmation).
    page.once('dialog', (d) => d.accept());
    await page.getByLabel('Seleccionar todos los mostrados').check();
    await page.getByRole('button', { name: 'Descartar seleccionados (2)' }).click();
    await page.getByText('Rostros descartados: 2.').waitFor();
    await page.getByText('No hay rostros desconocidos en este periodo.').waitFor();
    await shot(page, 'review-04-all-reviewed-1280');
    assert.equal((await api.get('/api/v1/sightings')).body.total, 0);
    const audit = (await api.get('/api/v1/audit?limit=100')).body.items.map((a) => a.action);
    assert.equal(audit.filter((a) => a === 'sighting.dismiss').length, 2);
    assert.equal(audit.filter((a) => a === 'sighting.assign').length, 1);
  } finally {
    await browser.close();
  }
});

test('not this person: the event voided, the photo that matched deleted, the face kept to review; the same photo is then unknown', async () => {
  const browser = await launch(null);
  try {
    const page = await newPage(browser, { width: 1280, height: 800 });
    await login(page, srv.url, ADMIN);
    await page.goto(new URL('attendance', srv.url).href);
    const row = page.getByRole('row').filter({ hasText: 'Carla Revisión' });
    await row.getByRole('button', { name: 'No es esta persona' }).click();
    const dialog = page.getByRole('dialog', { name: 'No es esta persona' });
    await dialog.getByLabel('Motivo').fill('Es otra alumna');
    assert.ok(await dialog.getByLabel(/Borrar también la foto inscrita/).isChecked(), 'the matched photo is offered for deletion');
    assert.ok(await dialog.getByLabel(/Guardar el rostro visto/).isChecked(), 'the face as seen is kept');
    await dialog.getByRole('img', { name: 'La foto inscrita que coincidió' }).waitFor();
    await shot(page, 'review-05-not-this-person-1280');
    await dialog.getByRole('button', { name: 'No es esta persona' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await row.waitFor({ state: 'detached' }); // voided: not listed unless asked
    const ev = (await api.get(`/api/v1/attendance?person_id=${carla}&include_void=true`)).body.items[0];
    assert.equal(ev.id, carlaEvent);
    assert.ok(ev.voided_at);
    assert.equal(ev.reason, 'Es otra alumna');
    assert.deepEqual((await api.get(`/api/v1/persons/${carla}/faces`)).body, [], `face ${carlaFace} deleted`);
    // The gallery no longer takes that face for Carla.
    const again = await device.req('POST', `/api/v1/recognize?camera_id=${cam}`, { body: photo('deepface_person04/2.jpg'), type: 'image/jpeg' });
    assert.equal(again.body.faces[0].identity, null, JSON.stringify(again.body.faces[0]));

    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, ADMIN);
    await phone.goto(new URL('attendance?void=1', srv.url).href);
    await phone.getByRole('row').filter({ hasText: 'Carla Revisión' }).waitFor();
    await shot(phone, 'review-06-attendance-voided-390');
    assert.ok((await overflow(phone)) <= 0, 'the attendance page fits 390 px');
    await phone.goto(new URL('review', srv.url).href);
    const kept = phone.getByRole('listitem').filter({ hasText: 'Corregido' });
    await kept.waitFor();
    await shot(phone, 'review-07-corrected-face-390');
    assert.ok((await overflow(phone)) <= 0, 'the review page fits 390 px');
  } finally {
    await browser.close();
  }
});
