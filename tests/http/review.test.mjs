// review.test.mjs — unknown faces and "not this person", through real HTTP
// with real photos: a stranger recognized while marking (keep unrecognized
// faces on) becomes a sighting listed by day and camera with its crop; it is
// assigned to a person (enrolled through the enrollment policy, optionally
// with a manual event at its time), refused with duplicate_identity when the
// face is someone else's, or dismissed one by one or in bulk; a manager
// limited to a group assigns only to their people. A wrong recognition is
// corrected: the event voided, the enrolled face that matched deleted and
// the probe kept as an unknown face, after which the same photo is unknown,
// and once assigned, the right person. Every change is in the audit log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, multipart, noonZone, startWithRoles } from './lib.mjs';

const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
const photo = (rel) => readFileSync(join(FACES, 'id', rel));
// The institution's zone is a fixed offset that puts local time at 12:xx
// whenever the test runs, so the sightings made during the test fall on the
// day it computed here (in UTC, a run from 23:59 on listed the next day's).
const { zone, today } = noonZone();

let env, admin, manager, device, lim, cam, GA, GB, PA, PB;

async function person(ext, first, group) {
  const r = await admin.post('/api/v1/persons', { external_id: ext, first_name: first, last_name: 'Review', kind: 'student' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  if (group) assert.equal((await admin.post(`/api/v1/groups/${group}/members/${r.body.id}`)).status, 204);
  return r.body.id;
}

async function enroll(pid, rel) {
  const mp = multipart([{ name: 'file', filename: 'f.jpg', type: 'image/jpeg', data: photo(rel) }]);
  const r = await admin.post(`/api/v1/persons/${pid}/faces`, undefined, { body: mp.body, type: mp.type });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.results[0].accepted, JSON.stringify(r.body.results[0]));
  return r.body.results[0].face_id;
}

// Mark attendance with a photo at the door camera; the one face's answer.
async function mark(rel, { markIt = true } = {}) {
  const r = await device.req('POST', `/api/v1/recognize?mark=${markIt}&camera_id=${cam}`, { body: photo(rel), type: 'image/jpeg' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.faces.length >= 1, `${rel}: a face`);
  return r.body.faces[0];
}

async function sightings(q = `day=${today}`) {
  const r = await admin.get(`/api/v1/sightings?${q}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

async function audit(action) {
  const r = await admin.get('/api/v1/audit?limit=500');
  // target is "type:id" and detail JSON text: read them back as values.
  return r.body.items.filter((a) => a.action === action)
    .map((a) => ({ ...a, target_id: Number(a.target?.split(':')[1]), detail: JSON.parse(a.detail || '{}') }));
}

before(async () => {
  env = await startWithRoles({ models: true });
  ({ admin, manager, device } = env);
  // Identity on still photos: liveness off (the liveness tests are elsewhere).
  assert.equal((await admin.patch('/api/v1/settings', { timezone: zone, liveness_threshold: 0, keep_unrecognized: true })).status, 200);
  cam = (await admin.post('/api/v1/cameras', { name: 'Puerta norte', kind: 'browser', direction: 'both' })).body.id;
  assert.ok(cam, 'camera');
  GA = (await admin.post('/api/v1/groups', { name: 'Review A' })).body.id;
  GB = (await admin.post('/api/v1/groups', { name: 'Review B' })).body.id;
  PA = await person('REV-A', 'Ana', GA);
  PB = await person('REV-B', 'Bruno', GB);
  const r = await admin.post('/api/v1/users', { email: 'lim-review@example.org', name: 'Lim', role: 'manager', password: 'limited-pass-1', group_ids: [GA], must_change_password: false });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  lim = new Client(env.srv.url);
  await lim.login('lim-review@example.org', 'limited-pass-1');
});
after(async () => { assert.equal(await env.stop(), 0); });

test('a stranger seen while marking is an unknown face, listed by day and camera with its crop', async () => {
  const f = await mark('deepface_person02/1.jpg');
  assert.equal(f.identity, null);
  const list = await sightings();
  assert.equal(list.total, 1);
  const s = list.items[0];
  assert.equal(s.camera_id, cam);
  assert.equal(s.camera_name, 'Puerta norte');
  assert.equal(s.day, today);
  assert.equal(s.reason, 'unknown');
  assert.match(s.image_url, new RegExp(`^/api/v1/sightings/${s.id}/image$`));
  const img = await admin.get(s.image_url);
  assert.equal(img.status, 200);
  assert.equal(img.headers.get('content-type'), 'image/jpeg');
  assert.deepEqual([...img.body.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
  // Filters: another camera, another day.
  assert.equal((await sightings(`camera_id=${cam + 1000}`)).total, 0);
  assert.equal((await sightings('day=2001-01-01')).total, 0);
  assert.equal((await sightings(`from=${today}&to=${today}&camera_id=${cam}`)).total, 1);
  assert.equal((await admin.get('/api/v1/sightings?day=yesterday')).body.error.code, 'invalid_query');
  // Roles: admins and managers (a limited one too: nobody's face yet); not members or devices.
  assert.equal((await lim.get('/api/v1/sightings')).body.total, 1);
  assert.equal((await env.member.get('/api/v1/sightings')).status, 403);
  assert.equal((await device.get('/api/v1/sightings')).status, 403);
});

test('assigning an unknown face enrolls it (with an event at its time when asked); a limited manager assigns only to their people', async () => {
  const s = (await sightings()).items[0];
  // Group B's person is out of the limited manager's reach; nothing changes.
  let r = await lim.post(`/api/v1/sightings/${s.id}/assign`, { person_id: PB });
  assert.equal(r.status, 404, 'as an unknown person: ' + JSON.stringify(r.body));
  assert.equal((await admin.get(`/api/v1/persons/${PB}/faces`)).body.length, 0);
  r = await lim.post(`/api/v1/sightings/${s.id}/assign`, { person_id: PA, record_event: true });
  assert.equal(r.status, 400, 'recording the event needs a reason');
  assert.equal(r.body.error.code, 'reason_required');
  r = await lim.post(`/api/v1/sightings/${s.id}/assign`, { person_id: PA, record_event: true, type: 'entry', reason: 'seen at the door, not yet enrolled' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.ok(r.body.face_id > 0);
  assert.equal(r.body.result.accepted, true);
  assert.equal(r.body.event.person_id, PA);
  assert.equal(r.body.event.source, 'manual');
  assert.equal(r.body.event.time, s.time, 'the event is at the sighting\'s time');
  assert.equal(r.body.event.reason, 'seen at the door, not yet enrolled');
  const faces = (await admin.get(`/api/v1/persons/${PA}/faces`)).body;
  assert.deepEqual(faces.map((x) => x.id), [r.body.face_id]);
  assert.equal((await sightings()).total, 0, 'no longer an unknown face');
  assert.equal((await admin.get(s.image_url)).status, 404);
  // The gallery knows her now: another photo of the same person is Ana.
  const f = await mark('deepface_person02/2.jpg', { markIt: false });
  assert.equal(f.identity?.person_id, PA, JSON.stringify(f));
  const a = await audit('sighting.assign');
  assert.equal(a.length, 1);
  assert.equal(a[0].target_id, s.id);
  assert.equal(a[0].detail.person_id, PA);
  assert.equal(a[0].detail.face_id, r.body.face_id);
  assert.equal(a[0].detail.event_id, r.body.event.id);
  assert.equal((await audit('event.add')).length, 1, 'the manual event is audited too');
});

test('a face that belongs to someone else is refused with duplicate_identity and stays to review', async () => {
  await mark('deepface_person03/1.jpg');
  const s = (await sightings()).items[0];
  assert.ok(s, 'a sighting');
  await enroll(PB, 'deepface_person03/2.jpg'); // it is Bruno's face
  const r = await admin.post(`/api/v1/sightings/${s.id}/assign`, { person_id: PA });
  assert.equal(r.status, 422, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'duplicate_identity');
  assert.equal(r.body.error.params.person.id, PB);
  assert.equal(r.body.error.params.person.external_id, 'REV-B');
  assert.ok(r.body.error.params.similarity > 0.4);
  assert.deepEqual((await admin.get(`/api/v1/persons/${PA}/faces`)).body.length, 1, 'nothing enrolled');
  assert.equal((await sightings()).total, 1, 'still to review');
  assert.equal((await audit('sighting.assign_refused')).length, 1);
  // Unknown ids and bad bodies.
  assert.equal((await admin.post('/api/v1/sightings/999999/assign', { person_id: PA })).status, 404);
  assert.equal((await admin.post(`/api/v1/sightings/${s.id}/assign`, { person_id: 999999 })).status, 404);
  assert.equal((await admin.post(`/api/v1/sightings/${s.id}/assign`, {})).body.error.code, 'missing_field');
  // Assigned to the person it is, it is accepted.
  const ok = await admin.post(`/api/v1/sightings/${s.id}/assign`, { person_id: PB });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.event, null, 'no event unless asked');
});

test('unknown faces are dismissed one by one or in bulk, audited', async () => {
  for (const rel of ['deepface_person05/1.jpg', 'deepface_person06/1.jpg', 'deepface_person07/1.jpg'])
    assert.equal((await mark(rel)).identity, null);
  const ids = (await sightings()).items.map((s) => s.id);
  assert.equal(ids.length, 3);
  assert.equal((await lim.del(`/api/v1/sightings/${ids[0]}`)).status, 204);
  assert.equal((await admin.del(`/api/v1/sightings/${ids[0]}`)).status, 404);
  let r = await admin.post('/api/v1/sightings/dismiss', { ids: [ids[1], ids[2], ids[0]] });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.dismissed, 2);
  assert.deepEqual(r.body.missing, [ids[0]]);
  assert.equal((await sightings()).total, 0);
  for (const bad of [{}, { ids: [] }, { ids: ['x'] }, { ids: [0] }, { ids: Array.from({ length: 501 }, (_, i) => i + 1) }]) {
    r = await admin.post('/api/v1/sightings/dismiss', bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
  }
  const a = await audit('sighting.dismiss');
  assert.deepEqual(a.map((x) => x.target_id).sort(), [...ids].sort());
  assert.ok(a.every((x) => x.detail.camera_id === cam && x.detail.reason === 'unknown'));
});

test('not this person: void the event, delete the face that matched, keep the probe; then the photo is unknown, and once assigned the right person', async () => {
  // A mistake at enrollment: a photo of someone else enrolled as Carla.
  const PC = await person('REV-C', 'Carla', GB);
  const wrongFace = await enroll(PC, 'deepface_person04/1.jpg');
  const f = await mark('deepface_person04/2.jpg');
  assert.equal(f.identity?.person_id, PC, 'recognized as Carla');
  assert.ok(f.event?.id, 'an event');
  let ev = (await admin.get(`/api/v1/attendance?person_id=${PC}`)).body.items[0];
  assert.equal(ev.id, f.event.id);
  assert.equal(ev.face_id, wrongFace, 'the event remembers which face matched');
  assert.equal(ev.has_probe, true, 'and kept the face as seen');
  assert.equal((await sightings()).total, 0, 'a probe is not an unknown face');

  // Carla is in group B: the manager limited to A cannot correct it.
  let r = await lim.post(`/api/v1/attendance/${ev.id}/not-this-person`, { reason: 'not her', delete_face: true });
  assert.equal(r.status, 404, 'as an unknown event');
  r = await manager.post(`/api/v1/attendance/${ev.id}/not-this-person`, {});
  assert.equal(r.status, 400);
  r = await manager.post(`/api/v1/attendance/${ev.id}/not-this-person`, { reason: '' });
  assert.equal(r.body.error.code, 'reason_required');
  r = await manager.post(`/api/v1/attendance/${ev.id}/not-this-person`, { reason: 'not Carla: another student', delete_face: true, keep_probe: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.face_deleted, wrongFace);
  assert.ok(r.body.event.voided_at, 'voided');
  // Marked as corrected, by the manager who said so, then.
  assert.equal(r.body.event.corrected?.by, 'manager', JSON.stringify(r.body.event.corrected));
  assert.equal(r.body.event.corrected.actor, `user:${manager.userId}`);
  assert.equal(r.body.event.corrected.at, r.body.event.voided_at);
  assert.equal(r.body.event.reason, 'not Carla: another student');
  assert.equal(r.body.event.face_id, null, 'the face reference is gone with the face');
  assert.ok(r.body.sighting_id > 0);
  const kept = r.body.sighting_id;
  assert.deepEqual((await admin.get(`/api/v1/persons/${PC}/faces`)).body, []);
  assert.equal((await admin.get(`/api/v1/attendance?person_id=${PC}`)).body.total, 0, 'voided: not counted');
  // Again: nothing left to correct twice.
  r = await manager.post(`/api/v1/attendance/${ev.id}/not-this-person`, { reason: 'again', delete_face: true });
  assert.equal(r.body.error.code, 'face_unknown');

  // The gallery no longer takes that face for Carla.
  const again = await mark('deepface_person04/2.jpg', { markIt: false });
  assert.equal(again.identity, null, JSON.stringify(again));

  // The probe is an unknown face now; assigned to the right person it is theirs.
  const list = await sightings();
  const probe = list.items.find((s) => s.id === kept);
  assert.ok(probe, JSON.stringify(list));
  assert.equal(probe.reason, 'corrected');
  assert.equal(probe.candidate, null);
  const PD = await person('REV-D', 'Dario', GB);
  r = await admin.post(`/api/v1/sightings/${probe.id}/assign`, { person_id: PD });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const right = await mark('deepface_person04/3.jpg', { markIt: false });
  assert.equal(right.identity?.person_id, PD, JSON.stringify(right));

  const a = await audit('event.not_this_person');
  assert.equal(a.length, 1);
  assert.equal(a[0].target_id, ev.id);
  assert.equal(a[0].detail.face_deleted, wrongFace);
  assert.equal(a[0].detail.reason, 'not Carla: another student');
  assert.equal((await audit('event.void')).length, 1);
  assert.equal((await audit('face.delete')).length, 1);
});

test('not this person: only for recognized events; erase deletes the event', async () => {
  let r = await admin.post('/api/v1/attendance', { person_id: PA, type: 'exit', time: `${today}T00:10:00Z`, reason: 'by hand' });
  assert.equal(r.status, 201);
  r = await admin.post(`/api/v1/attendance/${r.body.id}/not-this-person`, { reason: 'x' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_recognized');
  assert.equal((await admin.post('/api/v1/attendance/999999/not-this-person', { reason: 'x' })).status, 404);
  // Bruno recognized; erased without touching his face; no probe kept when asked for none.
  const f = await mark('deepface_person03/3.jpg');
  assert.equal(f.identity?.person_id, PB);
  r = await admin.post(`/api/v1/attendance/${f.event.id}/not-this-person`, { reason: 'test run', erase: true });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.event, null);
  assert.equal(r.body.face_deleted, null);
  assert.equal(r.body.sighting_id, null);
  assert.equal((await admin.get(`/api/v1/attendance?person_id=${PB}&include_void=true`)).body.total, 0);
  assert.ok((await admin.get(`/api/v1/persons/${PB}/faces`)).body.length >= 1, 'his faces stay');
  assert.equal((await audit('event.remove')).length, 1);
});
