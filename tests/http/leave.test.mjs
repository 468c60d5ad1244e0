// leave.test.mjs — personal leave and justified absences over real HTTP: a
// manager records a sick day, a week of vacation or a doctor's note for a
// person (list, add, delete; audited), bad input is 400/409 with the usual
// error shape, a manager limited to groups reaches only their people (another
// group's person answers exactly as an unknown id), a member reads their own;
// and the reports: a slot on a leave day is not absent (not in who is missing
// now), counted apart per kind, out of the rate, and "Baja médica" in the CSV.
//
// The zone puts local time at about noon (noonZone), so a 09:00 slot today
// has passed its start + grace on every run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, noonZone, startWithRoles } from './lib.mjs';

let env, admin;
const { zone, local, today, dow, at } = noonZone();
const dayPlus = (n) => new Date(local.getTime() + n * 86400e3).toISOString().slice(0, 10);
const ids = {};

before(async () => {
  env = await startWithRoles();
  admin = env.admin;
  assert.equal((await admin.patch('/api/v1/settings', { timezone: zone })).status, 200);
  const person = async (code, first) =>
    (await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: 'Leave', kind: 'employee' })).body.id;
  ids.lucia = await person('L-1', 'Lucía');
  ids.marco = await person('L-2', 'Marco');
  ids.nora = await person('L-3', 'Nora');
  ids.a = (await admin.post('/api/v1/groups', { name: 'Almacén' })).body.id;
  ids.b = (await admin.post('/api/v1/groups', { name: 'Oficina' })).body.id;
  await admin.put(`/api/v1/groups/${ids.a}/members`, { person_ids: [ids.lucia, ids.marco] });
  await admin.put(`/api/v1/groups/${ids.b}/members`, { person_ids: [ids.nora] });
  for (const g of [ids.a, ids.b]) {
    const s = await admin.post('/api/v1/schedules', { group_id: g, day_of_week: dow, start: '09:00', end: '11:00', grace_min: 5, label: 'Turno' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
  }
});
after(async () => { assert.equal(await env.stop(), 0); });

test('a manager adds, lists and deletes a person\'s leaves; each change is audited', async () => {
  const r = await env.manager.post(`/api/v1/persons/${ids.marco}/leaves`, { kind: 'vacation', from: dayPlus(10), to: dayPlus(16), note: 'Agosto' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.kind, 'vacation');
  assert.equal(r.body.person_id, ids.marco);
  assert.equal(r.body.from, dayPlus(10));
  assert.equal(r.body.to, dayPlus(16));
  assert.equal(r.body.days, 7);
  assert.equal(r.body.note, 'Agosto');
  assert.equal(r.body.created_by, 'manager');
  // One day when "to" is left out.
  const one = await admin.post(`/api/v1/persons/${ids.marco}/leaves`, { kind: 'personal', from: dayPlus(20) });
  assert.equal(one.status, 201, JSON.stringify(one.body));
  assert.equal(one.body.to, dayPlus(20));
  assert.equal(one.body.days, 1);
  let list = await env.manager.get(`/api/v1/persons/${ids.marco}/leaves`);
  assert.equal(list.status, 200);
  assert.deepEqual(list.body.items.map((l) => l.kind), ['vacation', 'personal']);
  list = await admin.get(`/api/v1/persons/${ids.marco}/leaves?from=${dayPlus(17)}&to=${dayPlus(30)}`);
  assert.deepEqual(list.body.items.map((l) => l.id), [one.body.id]);
  const d = await env.manager.del(`/api/v1/persons/${ids.marco}/leaves/${one.body.id}`);
  assert.equal(d.status, 204);
  const again = await env.manager.del(`/api/v1/persons/${ids.marco}/leaves/${one.body.id}`);
  assert.equal(again.status, 404);
  assert.equal(again.body.error.code, 'not_found');
  // Another person's leave id is not theirs.
  const other = await admin.del(`/api/v1/persons/${ids.lucia}/leaves/${r.body.id}`);
  assert.equal(other.status, 404);
  const audit = await admin.get('/api/v1/audit?action=leave.add');
  assert.equal(audit.body.total, 2);
  assert.equal(audit.body.items[0].target, `person:${ids.marco}`);
  assert.equal((await admin.get('/api/v1/audit?action=leave.delete')).body.total, 1);
});

test('bad input: unknown kind, reversed or too long ranges, bad dates, long notes are 400; an overlap is 409', async () => {
  const p = `/api/v1/persons/${ids.nora}/leaves`;
  const cases = [
    [{ kind: 'holiday', from: today }, 'kind'],
    [{ from: today }, 'kind'],
    [{ kind: 'sick' }, 'from'],
    [{ kind: 'sick', from: '2026-02-30x' }, 'from'],
    [{ kind: 'sick', from: 'yesterday' }, 'from'],
    [{ kind: 'sick', from: dayPlus(5), to: dayPlus(4) }, 'to'],
    [{ kind: 'sick', from: dayPlus(0), to: dayPlus(367) }, 'to'],
    [{ kind: 'sick', from: today, note: 'x'.repeat(501) }, 'note'],
  ];
  for (const [body, field] of cases) {
    const r = await admin.post(p, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.error && r.body.error.code && r.body.error.message, JSON.stringify(r.body));
    assert.ok(r.body.error.message.includes(field), `${field}: ${r.body.error.message}`);
  }
  const ok = await admin.post(p, { kind: 'sick', from: dayPlus(40), to: dayPlus(40 + 366) });
  assert.equal(ok.status, 201, JSON.stringify(ok.body)); // 367 days, the longest
  const clash = await admin.post(p, { kind: 'personal', from: dayPlus(30), to: dayPlus(40) });
  assert.equal(clash.status, 409, JSON.stringify(clash.body));
  assert.equal(clash.body.error.code, 'leave_overlap');
  assert.match(clash.body.error.message, /already covers/);
  assert.equal((await admin.del(`${p}/${ok.body.id}`)).status, 204);
  const q = await admin.get(`/api/v1/leaves?from=${today}&to=${dayPlus(400)}`);
  assert.equal(q.status, 400);
  assert.equal((await admin.post('/api/v1/persons/999999/leaves', { kind: 'sick', from: today })).status, 404);
});

test('a manager limited to a group reaches only its people; another group\'s person is an unknown id, byte for byte', async () => {
  const u = await admin.post('/api/v1/users', { email: 'jefa@example.org', name: 'Jefa', role: 'manager', password: 'jefa-pass-1', group_ids: [ids.b], must_change_password: false });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const lim = new Client(env.srv.url);
  await lim.login('jefa@example.org', 'jefa-pass-1');
  const unknown = 999999;
  for (const [method, path, body] of [
    ['GET', 'leaves', undefined],
    ['POST', 'leaves', { kind: 'sick', from: today }],
    ['DELETE', 'leaves/1', undefined],
  ]) {
    const outside = await lim.req(method, `/api/v1/persons/${ids.marco}/${path}`, { json: body });
    const none = await lim.req(method, `/api/v1/persons/${unknown}/${path}`, { json: body });
    assert.equal(outside.status, 404, `${method} ${path}`);
    assert.equal(
      JSON.stringify(outside.body).replace(String(ids.marco), 'ID'),
      JSON.stringify(none.body).replace(String(unknown), 'ID'),
      `${method} ${path}`,
    );
  }
  const mine = await lim.post(`/api/v1/persons/${ids.nora}/leaves`, { kind: 'justified', from: dayPlus(3), note: 'justificante médico' });
  assert.equal(mine.status, 201, JSON.stringify(mine.body));
  // Everyone's list: only Nora's for her, Marco's too for an admin.
  const theirs = await lim.get(`/api/v1/leaves?from=${today}&to=${dayPlus(30)}`);
  assert.equal(theirs.status, 200);
  assert.deepEqual(theirs.body.items.map((l) => l.person_id), [ids.nora]);
  assert.equal(theirs.body.items[0].name, 'Nora Leave');
  const all = await admin.get(`/api/v1/leaves?from=${today}&to=${dayPlus(30)}`);
  assert.deepEqual(all.body.items.map((l) => l.person_id).sort(), [ids.marco, ids.nora].sort());
  const byGroup = await admin.get(`/api/v1/leaves?from=${today}&to=${dayPlus(30)}&group_id=${ids.a}`);
  assert.deepEqual(byGroup.body.items.map((l) => l.person_id), [ids.marco]);
  assert.equal((await lim.get(`/api/v1/leaves?group_id=${ids.a}`)).status, 403);
  assert.equal((await lim.del(`/api/v1/persons/${ids.nora}/leaves/${mine.body.id}`)).status, 204);
  // Members and devices may not manage leaves; a member reads their own.
  assert.equal((await env.member.get(`/api/v1/persons/${ids.nora}/leaves`)).status, 403);
  assert.equal((await env.device.post(`/api/v1/persons/${ids.nora}/leaves`, { kind: 'sick', from: today })).status, 403);
  assert.equal((await env.member.get('/api/v1/self/leaves')).status, 409); // not linked yet
  assert.equal((await admin.patch(`/api/v1/users/${env.member.userId}`, { person_id: ids.marco })).status, 200);
  const own = await env.member.get('/api/v1/self/leaves');
  assert.equal(own.status, 200, JSON.stringify(own.body));
  assert.deepEqual(own.body.items.map((l) => [l.kind, l.from]), [['vacation', dayPlus(10)]]);
  assert.equal((await admin.get('/api/v1/self/leaves')).status, 403);
});

test('reports: a sick day is not absent, not missing now, counted apart by kind and out of the rate; the CSV says Baja médica', async () => {
  // Lucía is off sick today; Marco and Nora did not come either.
  const r = await admin.post(`/api/v1/persons/${ids.lucia}/leaves`, { kind: 'sick', from: today });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  const missing = await admin.get('/api/v1/attendance/absentees');
  assert.equal(missing.status, 200);
  assert.deepEqual(missing.body.items.map((x) => x.person_id).sort(), [ids.marco, ids.nora].sort());
  const sum = await admin.get(`/api/v1/reports/summary?person_id=${ids.lucia}`);
  assert.equal(sum.status, 200);
  const [s] = sum.body.items;
  assert.equal(s.slots, 1);
  assert.equal(s.absent, 0);
  assert.equal(s.leave, 1);
  assert.deepEqual(s.leave_by_kind, { sick: 1, vacation: 0, personal: 0, justified: 0, other: 0 });
  assert.equal(s.rate, null); // nothing judged: no rate, never 0 %
  const rep = await admin.get(`/api/v1/reports/groups?group_id=${ids.a}`);
  assert.equal(rep.status, 200);
  const [g] = rep.body.groups;
  assert.equal(g.absent, 1);
  assert.equal(g.leave, 1);
  assert.equal(g.rate, 0); // Marco: 0 / (0 + 1); Lucía out of it
  const [day] = rep.body.days;
  assert.equal(day.expected, 2);
  assert.equal(day.absent, 1);
  assert.equal(day.leave, 1);
  // The CSV in Spanish and in English.
  const es = await admin.get(`/api/v1/attendance/export?format=csv&lang=es&person_id=${ids.lucia}`);
  assert.equal(es.status, 200);
  assert.match(es.body, /;Baja médica;/);
  const en = await admin.get(`/api/v1/attendance/export?format=csv&person_id=${ids.lucia}`);
  assert.match(en.body, /,sick leave,/);
  // Seen anyway: the slot is attended, the leave does not hide it.
  const e = await admin.post('/api/v1/attendance', { person_id: ids.lucia, type: 'entry', time: at('08:55'), reason: 'came in after all' });
  assert.equal(e.status, 201, JSON.stringify(e.body));
  const seen = (await admin.get(`/api/v1/reports/summary?person_id=${ids.lucia}`)).body.items[0];
  assert.equal(seen.present, 1);
  assert.equal(seen.leave, 0);
  assert.equal(seen.rate, 1);
});
