// requests.test.mjs — a member's correction requests over real HTTP and
// SQLite: a member asks for a forgotten exit, a wrong time or a void of
// their OWN attendance (never anyone else's); a manager approves, which
// makes the change the way a manager's manual event or correction does
// (audit log, the corrected mark, the report's row), or rejects it with a
// note (nothing changes); an approval is refused when the event changed or
// vanished meanwhile; a manager limited to group A neither sees nor decides
// group B's requests, and is answered about B's request ids exactly as
// about ids that name none; bad input and too many pending requests get a
// clear 400/409.
//
// The zone puts local time at about noon whenever the test runs (noonZone),
// so a slot of this morning exists and nothing is in the future.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client, noonZone, startWithRoles } from './lib.mjs';

let env, admin, manager, ana, beto, lim;
const { zone, today, dow, at } = noonZone();
const ids = {};
const text = (res) => JSON.stringify(res.body);

async function memberFor(email, personId) {
  const r = await admin.post('/api/v1/users', { email, name: email, role: 'member', password: 'member-pass-9', person_id: personId, must_change_password: false });
  assert.equal(r.status, 201, text(r));
  const c = new Client(env.srv.url);
  await c.login(email, 'member-pass-9');
  return c;
}
const addEvent = async (person, type, time) => {
  const r = await admin.post('/api/v1/attendance', { person_id: person, type, time: at(time), reason: 'cámara' });
  assert.equal(r.status, 201, text(r));
  return r.body;
};
// The person's row of today's export (the report): its header and cells.
async function reportRow(code) {
  const r = await admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}`);
  assert.equal(r.status, 200);
  const lines = r.body.trim().split(/\r?\n/).map((l) => l.split(','));
  const rows = lines.filter((l) => l[1] === code);
  assert.equal(rows.length, 1, r.body);
  const head = lines[0];
  return Object.fromEntries(head.map((h, i) => [h, rows[0][i]]));
}

before(async () => {
  env = await startWithRoles();
  ({ admin, manager } = env);
  assert.equal((await admin.patch('/api/v1/settings', { timezone: zone })).status, 200);
  ids.A = (await admin.post('/api/v1/groups', { name: 'Grupo A' })).body.id;
  ids.B = (await admin.post('/api/v1/groups', { name: 'Grupo B' })).body.id;
  const person = async (code, first, group) => {
    const r = await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: 'Prueba', kind: 'employee', group_ids: [group] });
    assert.equal(r.status, 201, text(r));
    return r.body.id;
  };
  ids.ana = await person('Q-1', 'Ana', ids.A);
  ids.beto = await person('Q-2', 'Beto', ids.B);
  const s = await admin.post('/api/v1/schedules', { group_id: ids.A, day_of_week: dow, start: '09:00', end: '11:00', grace_min: 5, label: 'Turno' });
  assert.equal(s.status, 201, text(s));
  // The default member account is Ana; Beto has his own.
  assert.equal((await admin.patch(`/api/v1/users/${env.member.userId}`, { person_id: ids.ana })).status, 200);
  ana = env.member;
  beto = await memberFor('beto@example.org', ids.beto);
  const r = await admin.post('/api/v1/users', { email: 'lim@example.org', name: 'Lim', role: 'manager', password: 'limited-pass-1', group_ids: [ids.A], must_change_password: false });
  assert.equal(r.status, 201, text(r));
  lim = new Client(env.srv.url);
  await lim.login('lim@example.org', 'limited-pass-1');
});
after(async () => { assert.equal(await env.stop(), 0); });

test('a forgotten exit: the member asks, the manager approves, the report shows the exit, manual as a manager\'s own', async () => {
  await addEvent(ids.ana, 'entry', '09:01');
  let row = await reportRow('Q-1');
  assert.equal(row.last_exit, '', 'no exit yet');
  assert.equal(row.corrected, '');
  let r = await ana.post('/api/v1/self/correction-requests', { kind: 'missing_exit', time: at('10:45'), reason: 'Olvidé fichar la salida' });
  assert.equal(r.status, 201, text(r));
  const q = r.body;
  assert.equal(q.status, 'pending');
  assert.equal(q.person_id, ids.ana);
  assert.equal(Date.parse(q.time), Date.parse(at('10:45')));
  // The member sees it among their own; nothing changed yet.
  r = await ana.get('/api/v1/self/correction-requests');
  assert.deepEqual(r.body.items.map((x) => [x.id, x.status]), [[q.id, 'pending']]);
  assert.equal((await reportRow('Q-1')).last_exit, '');
  // The manager's list of pending requests has it.
  r = await manager.get('/api/v1/correction-requests?status=pending');
  assert.equal(r.status, 200, text(r));
  assert.deepEqual(r.body.items.map((x) => x.id), [q.id]);
  assert.equal(r.body.total, 1);
  assert.equal(r.body.items[0].person_name, 'Ana Prueba');

  r = await manager.post(`/api/v1/correction-requests/${q.id}/approve`, { note: 'ok' });
  assert.equal(r.status, 200, text(r));
  assert.equal(r.body.status, 'approved');
  assert.equal(r.body.decided_by, 'manager');
  assert.equal(r.body.note, 'ok');
  assert.ok(r.body.result_event_id > 0);
  // The exit exists, added by hand: a manual event like one a manager adds
  // on their own (the same rule: "Corregido" is for an event changed after
  // it was recorded), its reason naming the request.
  const exit = (await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=exit`)).body.items;
  assert.equal(exit.length, 1);
  assert.equal(exit[0].id, r.body.result_event_id);
  assert.equal(Date.parse(exit[0].time), Date.parse(at('10:45')));
  assert.equal(exit[0].source, 'manual');
  assert.equal(exit[0].manual, true);
  assert.equal(exit[0].corrected, null, 'added, not corrected');
  assert.match(exit[0].reason, new RegExp(`^#${q.id}: Olvidé fichar la salida$`));
  const own = await manager.post('/api/v1/attendance', { person_id: ids.ana, type: 'entry', time: at('10:50'), reason: 'a mano' });
  assert.equal(own.status, 201, text(own));
  assert.deepEqual([own.body.manual, own.body.corrected], [exit[0].manual, exit[0].corrected], 'the same as a manager\'s own');
  assert.equal((await admin.del(`/api/v1/attendance/${own.body.id}`, { json: { reason: 'prueba' } })).status, 204);
  // The report's row: the exit; nothing in it was corrected.
  row = await reportRow('Q-1');
  assert.notEqual(row.last_exit, '');
  assert.equal(row.corrected, '');
  // Audited: the event's addition and the approval.
  const audit = (await admin.get('/api/v1/audit?limit=50')).body.items;
  assert.ok(audit.some((a) => a.action === 'event.add' && a.target === `event:${exit[0].id}`), 'event.add');
  assert.ok(audit.some((a) => a.action === 'request.approve' && a.target === `person:${ids.ana}`), 'request.approve');
  assert.ok(audit.some((a) => a.action === 'request.create' && a.target === `person:${ids.ana}`), 'request.create');
  // Decided once: a second approval is refused and adds nothing.
  r = await manager.post(`/api/v1/correction-requests/${q.id}/approve`);
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'already_decided');
  assert.equal((await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=exit`)).body.total, 1);
});

test('a wrong time approved is corrected; a void rejected changes nothing', async () => {
  const ev = await addEvent(ids.beto, 'entry', '08:30');
  let r = await beto.post('/api/v1/self/correction-requests', { kind: 'wrong_time', event_id: ev.id, time: at('08:20'), reason: 'Llegué antes' });
  assert.equal(r.status, 201, text(r));
  const wrong = r.body;
  assert.equal(wrong.event.id, ev.id);
  assert.equal(Date.parse(wrong.event_time), Date.parse(ev.time));
  r = await beto.post('/api/v1/self/correction-requests', { kind: 'void', event_id: ev.id, reason: 'No era yo' });
  assert.equal(r.status, 201, text(r));
  const voidReq = r.body;

  r = await admin.post(`/api/v1/correction-requests/${voidReq.id}/reject`, {});
  assert.equal(r.status, 400, 'a rejection says why');
  r = await admin.post(`/api/v1/correction-requests/${voidReq.id}/reject`, { note: 'Sí eras tú' });
  assert.equal(r.status, 200, text(r));
  assert.equal(r.body.status, 'rejected');
  assert.equal(r.body.note, 'Sí eras tú');
  const list = async () => (await admin.get(`/api/v1/attendance?person_id=${ids.beto}&include_void=true`)).body.items;
  let e = (await list()).find((x) => x.id === ev.id);
  assert.equal(e.voided_at, null, 'rejected: the event still counts');
  assert.equal(e.corrected, null);

  r = await admin.post(`/api/v1/correction-requests/${wrong.id}/approve`);
  assert.equal(r.status, 200, text(r));
  e = (await list()).find((x) => x.id === ev.id);
  assert.equal(Date.parse(e.time), Date.parse(at('08:20')));
  assert.ok(e.corrected?.actor.startsWith('user:'), text({ body: e }));
  const audit = (await admin.get(`/api/v1/audit?limit=50`)).body.items;
  assert.ok(audit.some((a) => a.action === 'event.correct' && a.target === `event:${ev.id}`));
  // The member sees how both ended.
  r = await beto.get('/api/v1/self/correction-requests');
  assert.deepEqual(r.body.items.map((x) => [x.kind, x.status]), [['void', 'rejected'], ['wrong_time', 'approved']]);
});

test('an approval is refused when the event changed or vanished meanwhile; the request stays pending', async () => {
  const ev = await addEvent(ids.ana, 'exit', '11:30');
  let r = await ana.post('/api/v1/self/correction-requests', { kind: 'void', event_id: ev.id, reason: 'Salí a las 11' });
  assert.equal(r.status, 201, text(r));
  const q = r.body;
  assert.equal((await admin.patch(`/api/v1/attendance/${ev.id}`, { time: at('11:35'), reason: 'revisado' })).status, 200);
  r = await manager.post(`/api/v1/correction-requests/${q.id}/approve`);
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'event_changed');
  const e = (await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=exit`)).body.items.find((x) => x.id === ev.id);
  assert.ok(e && !e.voided_at, 'not voided');
  assert.equal((await manager.get('/api/v1/correction-requests?status=pending')).body.items.some((x) => x.id === q.id), true);

  const gone = await addEvent(ids.ana, 'entry', '11:40');
  r = await ana.post('/api/v1/self/correction-requests', { kind: 'wrong_time', event_id: gone.id, time: at('11:41'), reason: 'un minuto' });
  assert.equal(r.status, 201, text(r));
  assert.equal((await admin.del(`/api/v1/attendance/${gone.id}`, { json: { reason: 'duplicado' } })).status, 204);
  r = await manager.post(`/api/v1/correction-requests/${r.body.id}/approve`);
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'event_changed');
  // Both are settled by rejecting them.
  for (const x of (await manager.get('/api/v1/correction-requests?status=pending')).body.items)
    assert.equal((await manager.post(`/api/v1/correction-requests/${x.id}/reject`, { note: 'ya corregido' })).status, 200);
});

test('members ask only about themselves; other roles cannot ask', async () => {
  const betoEvent = (await admin.get(`/api/v1/attendance?person_id=${ids.beto}`)).body.items[0];
  // Another person's event answers as an event that does not exist.
  const theirs = await ana.post('/api/v1/self/correction-requests', { kind: 'void', event_id: betoEvent.id, reason: 'x' });
  const none = await ana.post('/api/v1/self/correction-requests', { kind: 'void', event_id: 987654321, reason: 'x' });
  assert.equal(theirs.status, 400, text(theirs));
  assert.equal(text(theirs), text(none).replace('987654321', String(betoEvent.id)));
  let r = await ana.post('/api/v1/self/correction-requests', { person_id: ids.beto, kind: 'missing_exit', time: at('10:00'), reason: 'x' });
  assert.equal(r.status, 403, text(r));
  assert.equal((await admin.get(`/api/v1/correction-requests?status=pending`)).body.total, 0, 'nothing was made');
  r = await ana.post('/api/v1/self/correction-requests', { person_id: ids.ana, kind: 'missing_exit', time: at('10:00'), reason: 'mía' });
  assert.equal(r.status, 201, 'their own id is fine');
  assert.equal((await manager.post(`/api/v1/correction-requests/${r.body.id}/reject`, { note: 'prueba' })).status, 200);
  for (const c of [admin, manager, env.device])
    assert.equal((await c.post('/api/v1/self/correction-requests', { kind: 'missing_exit', time: at('10:00'), reason: 'x' })).status, 403);
  for (const c of [ana, env.device])
    assert.equal((await c.get('/api/v1/correction-requests')).status, 403);
  // A member account not linked to a person has nothing to correct.
  const lone = await memberFor('lone@example.org', null);
  r = await lone.post('/api/v1/self/correction-requests', { kind: 'missing_exit', time: at('10:00'), reason: 'x' });
  assert.equal(r.status, 409);
  assert.equal(r.body.error.code, 'not_linked');
});

test('a manager limited to group A sees and decides only A\'s requests; B\'s ids answer as unknown ones', async () => {
  let r = await ana.post('/api/v1/self/correction-requests', { kind: 'missing_entry', time: at('09:00'), reason: 'A' });
  assert.equal(r.status, 201, text(r));
  const qa = r.body.id;
  r = await beto.post('/api/v1/self/correction-requests', { kind: 'missing_entry', time: at('09:00'), reason: 'B' });
  assert.equal(r.status, 201, text(r));
  const qb = r.body.id;
  r = await lim.get('/api/v1/correction-requests?status=pending');
  assert.deepEqual(r.body.items.map((x) => x.id), [qa]);
  assert.equal(r.body.total, 1);
  r = await lim.get('/api/v1/correction-requests');
  assert.ok(r.body.items.every((x) => x.person_id === ids.ana), text(r));
  assert.deepEqual((await manager.get('/api/v1/correction-requests?status=pending')).body.items.map((x) => x.id).sort(), [qa, qb].sort());
  const NO = 987654399;
  for (const [path, json] of [['approve', undefined], ['approve', { note: 'x' }], ['reject', { note: 'x' }], ['reject', {}]]) {
    const real = await lim.req('POST', `/api/v1/correction-requests/${qb}/${path}`, json ? { json } : {});
    const unknown = await lim.req('POST', `/api/v1/correction-requests/${NO}/${path}`, json ? { json } : {});
    assert.equal(real.status, 404, text(real));
    assert.equal(real.status, unknown.status);
    assert.equal(text(real), text(unknown).replaceAll(String(NO), String(qb)), `${path}: B's id answers as an unknown one`);
  }
  assert.equal((await admin.get('/api/v1/correction-requests?status=pending')).body.items.some((x) => x.id === qb), true, 'B\'s stays pending');
  r = await lim.post(`/api/v1/correction-requests/${qa}/approve`);
  assert.equal(r.status, 200, text(r));
  assert.equal(r.body.decided_by, 'Lim');
  assert.equal((await admin.post(`/api/v1/correction-requests/${qb}/reject`, { note: 'no' })).status, 200);
  r = await manager.get('/api/v1/correction-requests?status=bogus');
  assert.equal(r.status, 400);
});

test('a member withdraws a pending request of their own; someone else\'s answers as unknown, a decided one is 409', async () => {
  let r = await ana.post('/api/v1/self/correction-requests', { kind: 'missing_entry', time: at('09:02'), reason: 'Me equivoqué' });
  assert.equal(r.status, 201, text(r));
  const q = r.body;
  const pending = async () => (await manager.get('/api/v1/correction-requests?status=pending')).body;
  const before = await pending();
  assert.ok(before.items.some((x) => x.id === q.id));
  // Another member's request answers exactly as an id that names none.
  const NO = 987654321;
  const theirs = await beto.post(`/api/v1/self/correction-requests/${q.id}/withdraw`);
  const unknown = await beto.post(`/api/v1/self/correction-requests/${NO}/withdraw`);
  assert.equal(theirs.status, 404, text(theirs));
  assert.equal(text(theirs), text(unknown).replaceAll(String(NO), String(q.id)));
  assert.deepEqual([...theirs.headers.keys()].sort(), [...unknown.headers.keys()].sort());
  // Managers and admins decide; withdrawing is the member's.
  for (const c of [manager, admin])
    assert.equal((await c.post(`/api/v1/self/correction-requests/${q.id}/withdraw`)).status, 403);
  assert.equal((await ana.get('/api/v1/self/correction-requests')).body.items.find((x) => x.id === q.id).status, 'pending');

  r = await ana.post(`/api/v1/self/correction-requests/${q.id}/withdraw`);
  assert.equal(r.status, 200, text(r));
  assert.equal(r.body.status, 'withdrawn');
  assert.equal(r.body.decided_by, 'member', 'by the member themself');
  assert.ok(Math.abs(Date.parse(r.body.decided_at) - Date.now()) < 60e3, r.body.decided_at);
  assert.equal(r.body.result_event_id, null);
  // It leaves the pending count and list; a filter shows it.
  const after = await pending();
  assert.equal(after.total, before.total - 1);
  assert.equal(after.items.some((x) => x.id === q.id), false);
  r = await manager.get('/api/v1/correction-requests?status=withdrawn');
  assert.equal(r.status, 200, text(r));
  assert.deepEqual(r.body.items.map((x) => [x.id, x.status]), [[q.id, 'withdrawn']]);
  assert.equal((await ana.get('/api/v1/self/correction-requests')).body.items.find((x) => x.id === q.id).status, 'withdrawn');
  // Withdrawn is final: not again, not approved, nothing added.
  r = await ana.post(`/api/v1/self/correction-requests/${q.id}/withdraw`);
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'already_decided');
  assert.equal(r.body.error.params.status, 'withdrawn');
  const entries = (await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=entry`)).body.total;
  r = await manager.post(`/api/v1/correction-requests/${q.id}/approve`);
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'already_decided');
  assert.equal((await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=entry`)).body.total, entries);
  const audit = (await admin.get('/api/v1/audit?limit=50')).body.items;
  const w = audit.filter((a) => a.action === 'request.withdraw');
  assert.equal(w.length, 1);
  assert.equal(w[0].target, `person:${ids.ana}`);
  assert.equal(JSON.parse(w[0].detail).request_id, q.id);
  // A decided request cannot be withdrawn.
  r = await ana.post('/api/v1/self/correction-requests', { kind: 'missing_entry', time: at('09:03'), reason: 'Otra' });
  assert.equal((await manager.post(`/api/v1/correction-requests/${r.body.id}/reject`, { note: 'no' })).status, 200);
  const decided = await ana.post(`/api/v1/self/correction-requests/${r.body.id}/withdraw`);
  assert.equal(decided.status, 409, text(decided));
  assert.deepEqual([decided.body.error.code, decided.body.error.params.status], ['already_decided', 'rejected']);
});

test('approvals, a rejection and a withdrawal sent at once: exactly one wins and the change is made at most once', async () => {
  for (let round = 0; round < 3; round++) {
    const r = await ana.post('/api/v1/self/correction-requests', { kind: 'missing_exit', time: at(`10:1${round}`), reason: `a la vez ${round}` });
    assert.equal(r.status, 201, text(r));
    const id = r.body.id;
    const exits = async () => (await admin.get(`/api/v1/attendance?person_id=${ids.ana}&type=exit&limit=500`)).body.items
      .filter((e) => e.reason === `#${id}: a la vez ${round}`).length;
    const answers = await Promise.all([
      manager.post(`/api/v1/correction-requests/${id}/approve`),
      admin.post(`/api/v1/correction-requests/${id}/approve`),
      lim.post(`/api/v1/correction-requests/${id}/reject`, { note: 'no' }),
      ana.post(`/api/v1/self/correction-requests/${id}/withdraw`),
      manager.post(`/api/v1/correction-requests/${id}/approve`),
    ]);
    const won = answers.filter((x) => x.status === 200);
    assert.equal(won.length, 1, answers.map(text).join('\n'));
    for (const x of answers.filter((a) => a.status !== 200)) {
      assert.equal(x.status, 409, text(x));
      assert.equal(x.body.error.code, 'already_decided');
    }
    const q = (await admin.get(`/api/v1/correction-requests?limit=500`)).body.items.find((x) => x.id === id);
    assert.equal(q.status, won[0].body.status);
    assert.equal(await exits(), q.status === 'approved' ? 1 : 0, `${q.status}: the exit added at most once`);
  }
});

test('bounds: time in the future, wrong kind or fields, long reasons, a voided event, 20 pending at most', async () => {
  const ask = (body) => ana.post('/api/v1/self/correction-requests', body);
  const future = new Date(Date.now() + 3600e3).toISOString();
  const cases = [
    [{ kind: 'missing_exit', time: future, reason: 'x' }, 400, 'time_in_future'],
    [{ kind: 'missing_exit', time: '2026-13-45T99:00:00Z', reason: 'x' }, 400, 'invalid_field'],
    [{ kind: 'missing_exit', reason: 'x' }, 400, 'missing_field'],
    [{ kind: 'missing_exit', time: at('10:00') }, 400, 'missing_field'],
    [{ kind: 'missing_exit', time: at('10:00'), reason: '' }, 400, 'invalid_field'],
    [{ kind: 'missing_exit', time: at('10:00'), reason: 'x'.repeat(501) }, 400, 'invalid_field'],
    [{ kind: 'holiday', time: at('10:00'), reason: 'x' }, 400, 'invalid_field'],
    [{ kind: 'wrong_time', time: at('10:00'), reason: 'x' }, 400, 'missing_field'],
    [{ kind: 'void', reason: 'x' }, 400, 'missing_field'],
  ];
  for (const [body, status, code] of cases) {
    const r = await ask(body);
    assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)}: ${text(r)}`);
    assert.equal(r.body.error.code, code, text(r));
    assert.equal(typeof r.body.error.message, 'string');
  }
  // 500 characters, several bytes each, are fine.
  let r = await ask({ kind: 'missing_exit', time: at('10:00'), reason: 'ñ'.repeat(500) });
  assert.equal(r.status, 201, text(r));
  assert.equal(r.body.reason, 'ñ'.repeat(500));
  // Approved, the event's reason is cut to fit, at a character boundary.
  r = await admin.post(`/api/v1/correction-requests/${r.body.id}/approve`);
  assert.equal(r.status, 200, text(r));
  const added = (await admin.get(`/api/v1/attendance?person_id=${ids.ana}`)).body.items.find((x) => x.id === r.body.result_event_id);
  assert.match(added.reason, /^#\d+: ñ+$/);
  assert.ok(Buffer.byteLength(added.reason) <= 255);
  // A voided event cannot be asked about; nor can a void with a time.
  const ev = await addEvent(ids.ana, 'entry', '11:50');
  assert.equal((await ask({ kind: 'void', event_id: ev.id, time: at('11:50'), reason: 'x' })).status, 400);
  assert.equal((await admin.post(`/api/v1/attendance/${ev.id}/void`, { reason: 'doble' })).status, 200);
  r = await ask({ kind: 'wrong_time', event_id: ev.id, time: at('11:45'), reason: 'x' });
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'event_voided');
  // At most 20 waiting for a decision per person.
  const pending = (await ana.get('/api/v1/self/correction-requests?limit=500')).body.items.filter((x) => x.status === 'pending').length;
  for (let i = pending; i < 20; i++)
    assert.equal((await ask({ kind: 'missing_exit', time: at('10:00'), reason: `n${i}` })).status, 201);
  r = await ask({ kind: 'missing_exit', time: at('10:00'), reason: 'one too many' });
  assert.equal(r.status, 409, text(r));
  assert.equal(r.body.error.code, 'too_many_pending');
  assert.equal(r.body.error.params.max, 20);
  // Beto is not held back by Ana's.
  r = await beto.post('/api/v1/self/correction-requests', { kind: 'missing_exit', time: at('10:00'), reason: 'mío' });
  assert.equal(r.status, 201, text(r));
});

test('deleting a person deletes their requests', async () => {
  const p = (await admin.post('/api/v1/persons', { external_id: 'Q-9', first_name: 'Ciro', last_name: 'Prueba', kind: 'employee', group_ids: [ids.A] })).body.id;
  const ciro = await memberFor('ciro@example.org', p);
  const r = await ciro.post('/api/v1/self/correction-requests', { kind: 'missing_entry', time: at('09:00'), reason: 'Ciro' });
  assert.equal(r.status, 201, text(r));
  assert.equal((await admin.del(`/api/v1/persons/${p}`)).status, 204);
  const all = (await admin.get('/api/v1/correction-requests?limit=500')).body.items;
  assert.equal(all.some((x) => x.id === r.body.id), false);
  const approve = await admin.post(`/api/v1/correction-requests/${r.body.id}/approve`);
  assert.equal(approve.status, 404);
});
