// leave.test.mjs — personal leave and justified absences over real HTTP: a
// manager records a sick day, a week of vacation or a doctor's note for a
// person (list, add, delete; audited), bad input is 400/409 with the usual
// error shape, a manager limited to groups reaches only their people (another
// group's person answers exactly as an unknown id), a member reads their own;
// and the reports: a slot on a leave day is not absent (not in who is missing
// now), counted apart per kind, out of the rate, and "Baja médica" in the CSV.
// A leave is edited in place (PATCH: same checks, audited before/after, its
// creator kept) and may be part of one day (from_min/to_min): a late arrival
// the leave's start covers is not late.
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
    ['PATCH', 'leaves/1', { note: 'x' }],
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

test('a leave is edited in place: same checks and overlap rule, who created it stays, audited before and after', async () => {
  const p = `/api/v1/persons/${ids.marco}/leaves`;
  const a = await env.manager.post(p, { kind: 'sick', from: dayPlus(50), to: dayPlus(52), note: 'gripe' });
  assert.equal(a.status, 201, JSON.stringify(a.body));
  const b = await admin.post(p, { kind: 'vacation', from: dayPlus(60), to: dayPlus(61) });
  assert.equal(b.status, 201, JSON.stringify(b.body));
  // The admin shortens it to one morning and changes the kind; the manager still created it.
  let r = await admin.patch(`${p}/${a.body.id}`, { kind: 'personal', to: dayPlus(50), from_min: 480, to_min: 720, note: 'solo la mañana' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.id, a.body.id);
  assert.equal(r.body.kind, 'personal');
  assert.equal(r.body.from, dayPlus(50));
  assert.equal(r.body.to, dayPlus(50));
  assert.equal(r.body.days, 1);
  assert.equal(r.body.from_min, 480);
  assert.equal(r.body.to_min, 720);
  assert.equal(r.body.note, 'solo la mañana');
  assert.equal(r.body.created_by, 'manager');
  assert.equal(r.body.created_at, a.body.created_at);
  let list = await admin.get(`${p}?from=${dayPlus(50)}&to=${dayPlus(50)}`);
  assert.deepEqual(list.body.items.map((l) => [l.id, l.kind, l.from_min, l.to_min]), [[a.body.id, 'personal', 480, 720]]);
  // Moving a one-day leave by its first day keeps it one day; only what is named changes.
  r = await env.manager.patch(`${p}/${a.body.id}`, { from: dayPlus(51) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.from, r.body.to, r.body.kind, r.body.from_min, r.body.note], [dayPlus(51), dayPlus(51), 'personal', 480, 'solo la mañana']);
  // Part of a day on more than one day is refused; null minutes make it whole days again.
  r = await admin.patch(`${p}/${a.body.id}`, { to: dayPlus(53) });
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.error.message, /to_min/);
  r = await admin.patch(`${p}/${a.body.id}`, { to: dayPlus(53), from_min: null, to_min: null });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual([r.body.from, r.body.to, r.body.days, r.body.from_min, r.body.to_min], [dayPlus(51), dayPlus(53), 3, null, null]);
  // Onto another of the person's leaves: 409, and nothing changed.
  r = await admin.patch(`${p}/${a.body.id}`, { to: dayPlus(60) });
  assert.equal(r.status, 409, JSON.stringify(r.body));
  assert.equal(r.body.error.code, 'leave_overlap');
  assert.match(r.body.error.message, new RegExp(dayPlus(60)));
  // Bad input as when adding.
  for (const [body, field] of [
    [{ kind: 'holiday' }, 'kind'],
    [{ from: 'yesterday' }, 'from'],
    [{ to: dayPlus(40) }, 'to'],
    [{ note: 'x'.repeat(501) }, 'note'],
    [{ from_min: 60 }, 'to_min'],
  ]) {
    const bad = await admin.patch(`${p}/${a.body.id}`, body);
    assert.equal(bad.status, 400, `${JSON.stringify(body)} → ${bad.status} ${JSON.stringify(bad.body)}`);
    assert.ok(bad.body.error.message.includes(field), `${field}: ${bad.body.error.message}`);
  }
  list = await admin.get(`${p}?from=${dayPlus(50)}&to=${dayPlus(59)}`);
  assert.deepEqual(list.body.items.map((l) => [l.from, l.to, l.kind]), [[dayPlus(51), dayPlus(53), 'personal']]);
  // Unknown ids, and another person's leave id, are 404; an auditor and a member may not edit.
  assert.equal((await admin.patch(`${p}/999999`, { note: 'x' })).status, 404);
  const other = await admin.patch(`/api/v1/persons/${ids.lucia}/leaves/${a.body.id}`, { note: 'x' });
  assert.equal(other.status, 404);
  assert.equal(other.body.error.code, 'not_found');
  const hr = await admin.post('/api/v1/users', { email: 'hr-leave@example.org', name: 'HR', role: 'auditor', password: 'auditor-pass-1', must_change_password: false });
  assert.equal(hr.status, 201, JSON.stringify(hr.body));
  const auditor = new Client(env.srv.url);
  await auditor.login('hr-leave@example.org', 'auditor-pass-1');
  assert.equal((await auditor.get(p)).status, 200);
  assert.equal((await auditor.patch(`${p}/${a.body.id}`, { note: 'x' })).status, 403);
  assert.equal((await env.member.patch(`${p}/${a.body.id}`, { note: 'x' })).status, 403);
  // Audited on the person, with the leave before and after (the note's words stay out).
  const audit = await admin.get('/api/v1/audit?action=leave.update');
  assert.equal(audit.body.total, 3);
  const first = audit.body.items[audit.body.items.length - 1];
  assert.equal(first.target, `person:${ids.marco}`);
  const detail = JSON.parse(first.detail);
  assert.deepEqual(detail.before, { kind: 'sick', from: dayPlus(50), to: dayPlus(52) });
  assert.deepEqual(detail.after, { kind: 'personal', from: dayPlus(50), to: dayPlus(50), from_min: 480, to_min: 720 });
  assert.equal(detail.note_changed, true);
  assert.ok(!JSON.stringify(audit.body).includes('mañana'));
  for (const id of [a.body.id, b.body.id]) assert.equal((await admin.del(`${p}/${id}`)).status, 204);
});

test('part of a day: minutes are checked (both, in range, end after start, one day) with a clear 400', async () => {
  const p = `/api/v1/persons/${ids.nora}/leaves`;
  for (const [body, field, says] of [
    [{ kind: 'justified', from: dayPlus(70), from_min: 540 }, 'to_min', /required/],
    [{ kind: 'justified', from: dayPlus(70), to_min: 660 }, 'from_min', /required/],
    [{ kind: 'justified', from: dayPlus(70), from_min: 660, to_min: 540 }, 'to_min', /must be after 'from_min'/],
    [{ kind: 'justified', from: dayPlus(70), from_min: 600, to_min: 600 }, 'to_min', /must be after 'from_min'/],
    [{ kind: 'justified', from: dayPlus(70), from_min: -1, to_min: 600 }, 'from_min', /0 to 1439/],
    [{ kind: 'justified', from: dayPlus(70), from_min: 1440, to_min: 1440 }, 'from_min', /0 to 1439/],
    [{ kind: 'justified', from: dayPlus(70), from_min: 0, to_min: 1441 }, 'to_min', /1 to 1440/],
    [{ kind: 'justified', from: dayPlus(70), from_min: '09:00', to_min: 660 }, 'from_min', /integer/],
    [{ kind: 'justified', from: dayPlus(70), to: dayPlus(71), from_min: 540, to_min: 660 }, 'to_min', /one day/],
  ]) {
    const r = await admin.post(p, body);
    assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${JSON.stringify(r.body)}`);
    assert.ok(r.body.error.message.includes(field), `${field}: ${r.body.error.message}`);
    assert.match(r.body.error.message, says);
  }
  assert.equal((await admin.get(p)).body.items.length, 0); // none stored
  const edge = await admin.post(p, { kind: 'other', from: dayPlus(70), from_min: 0, to_min: 1440 });
  assert.equal(edge.status, 201, JSON.stringify(edge.body));
  assert.deepEqual([edge.body.from_min, edge.body.to_min, edge.body.days], [0, 1440, 1]);
  assert.equal((await admin.del(`${p}/${edge.body.id}`)).status, 204);
});

test('reports: part of a day that covers the slot\'s start excuses a late arrival, and only that', async () => {
  // Nora's 09:00-11:00 slot today: in at 09:40 is late ...
  const e = await admin.post('/api/v1/attendance', { person_id: ids.nora, type: 'entry', time: at('09:40'), reason: 'doctor' });
  assert.equal(e.status, 201, JSON.stringify(e.body));
  const before = (await admin.get(`/api/v1/reports/summary?person_id=${ids.nora}`)).body.items[0];
  assert.equal(before.late, 1);
  // ... and still with a doctor's appointment 08:30-09:30 that covers the start: 09:40 is after its end + grace 5 ...
  const l = await admin.post(`/api/v1/persons/${ids.nora}/leaves`, { kind: 'justified', from: today, from_min: 510, to_min: 570, note: 'médico' });
  assert.equal(l.status, 201, JSON.stringify(l.body));
  let s = (await admin.get(`/api/v1/reports/summary?person_id=${ids.nora}`)).body.items[0];
  assert.equal(s.late, 1); // came 10 minutes after the appointment's end: late still
  // ... edited to end at 09:40: in by its end + grace, so on time, present, no leave counted.
  const ed = await admin.patch(`/api/v1/persons/${ids.nora}/leaves/${l.body.id}`, { to_min: 580, from_min: 510 });
  assert.equal(ed.status, 200, JSON.stringify(ed.body));
  s = (await admin.get(`/api/v1/reports/summary?person_id=${ids.nora}`)).body.items[0];
  assert.equal(s.late, 0);
  assert.equal(s.present, 1);
  assert.equal(s.leave, 0);
  assert.equal(s.rate, 1);
});
