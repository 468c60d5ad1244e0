// reports.test.mjs — the figures over real HTTP: who is absent during the day
// (slot start + grace passed, no entry), the dashboard's cards equal to the
// daily chart's figures, the absentee list (JSON and CSV) with its roles and
// a limited manager's groups, the report per group and subject, and the
// counting start (the day a person was added, attendance_start_day), and
// presence_mode: a student seen only at the door is in for the later classes;
// a corrected or voided event says who corrected it and when, in the list
// and in the export's column.
//
// The institution's zone is set to a fixed offset that puts local time at
// 12:xx whenever the test runs, so "a slot that started this morning" and "one
// this afternoon" exist on every run.
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
  let r = await admin.patch('/api/v1/settings', { timezone: zone });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const person = async (code, first, last) =>
    (await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: last, kind: 'student' })).body.id;
  ids.ana = await person('R-1', 'Ana', 'Álvarez');
  ids.beto = await person('R-2', 'Beto', 'Barrios');
  ids.carla = await person('R-3', 'Carla', 'Castro');
  ids.a = (await admin.post('/api/v1/groups', { name: '1A' })).body.id;
  ids.b = (await admin.post('/api/v1/groups', { name: '2B' })).body.id;
  await admin.put(`/api/v1/groups/${ids.a}/members`, { person_ids: [ids.ana, ids.beto] });
  await admin.put(`/api/v1/groups/${ids.b}/members`, { person_ids: [ids.carla] });
  const slot = async (group, start, end, label) => {
    const s = await admin.post('/api/v1/schedules', { group_id: group, day_of_week: dow, start, end, grace_min: 5, label });
    assert.equal(s.status, 201, JSON.stringify(s.body));
  };
  await slot(ids.a, '09:00', '14:00', 'Matemáticas');
  await slot(ids.a, '15:00', '16:00', 'Historia');
  await slot(ids.b, '09:00', '14:00', 'Matemáticas');
  r = await admin.post('/api/v1/attendance', { person_id: ids.ana, type: 'entry', time: at('09:02'), reason: 'test' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.status, 'on_time');
});
after(async () => { assert.equal(await env.stop(), 0); });

test('absent during the day: the morning slot passed start + grace with no entry; the afternoon one is pending', async () => {
  const r = await admin.get(`/api/v1/attendance/absentees?group_id=${ids.a}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.date, today);
  assert.equal(r.body.total, 1);
  const [b] = r.body.items;
  assert.equal(b.person_id, ids.beto);
  assert.equal(b.name, 'Beto Barrios');
  assert.equal(b.label, 'Matemáticas');
  assert.equal(b.group_id, ids.a);
  assert.equal(b.group_name, '1A');
  assert.equal(b.start, at('09:00'));
  // Everyone's: Beto and Carla, not Ana.
  const all = await admin.get('/api/v1/attendance/absentees');
  assert.deepEqual(all.body.items.map((x) => x.person_id).sort(), [ids.beto, ids.carla].sort());
  // Per subject: nobody is absent from Historia yet.
  const hist = await admin.get(`/api/v1/attendance/absentees?label=${encodeURIComponent('Historia')}`);
  assert.equal(hist.body.total, 0);
});

test('the dashboard cards are the daily chart figures for today', async () => {
  const d = await admin.get('/api/v1/dashboard');
  assert.equal(d.status, 200);
  const daily = await admin.get(`/api/v1/reports/daily?from=${dayPlus(-6)}&to=${today}`);
  assert.equal(daily.status, 200);
  // Persons added today: the days before have no figures (not 0 %).
  assert.equal(daily.body.items.length, 1);
  assert.deepEqual(d.body.today, daily.body.items[0]);
  const { rate, ...counts } = d.body.today;
  assert.deepEqual(counts, { date: today, expected: 3, present: 1, late: 0, early_leave: 0, absent: 2, pending: 0, leave: 0 });
  assert.ok(Math.abs(rate - 1 / 3) < 1e-6, String(rate));
  // A late entry turns Beto from absent into late, on both.
  const r = await admin.post('/api/v1/attendance', { person_id: ids.beto, type: 'entry', time: at('09:30'), reason: 'test' });
  assert.equal(r.body.status, 'late');
  const d2 = await admin.get('/api/v1/dashboard');
  assert.equal(d2.body.today.present, 2);
  assert.equal(d2.body.today.late, 1);
  assert.equal(d2.body.today.absent, 1);
  const daily2 = await admin.get(`/api/v1/reports/daily?from=${today}&to=${today}`);
  assert.deepEqual(d2.body.today, daily2.body.items[0]);
  const abs = await admin.get(`/api/v1/attendance/absentees?group_id=${ids.a}`);
  assert.equal(abs.body.total, 0);
  // Undo for the other tests: void is not on every branch, so move it to another day.
  const fix = await admin.patch(`/api/v1/attendance/${r.body.id}`, { time: `${dayPlus(-1)}T12:00:00Z`, reason: 'test undo' });
  assert.equal(fix.status, 200);
});

test('the absentee list as CSV, and bad queries', async () => {
  const r = await admin.get('/api/v1/attendance/absentees?format=csv');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /text\/csv/);
  assert.match(r.headers.get('content-disposition'), new RegExp(`attachment; filename="absentees-${today}\\.csv"`));
  assert.match(r.body, /Beto Barrios/);
  assert.match(r.body, /Carla Castro/);
  assert.doesNotMatch(r.body, /Ana Álvarez/);
  assert.match(r.body, /Matemáticas/);
  for (const bad of ['day=2026-13-01', 'day=today', 'format=pdf', `label=${'x'.repeat(200)}`, 'group_id=-1'])
    assert.equal((await admin.get(`/api/v1/attendance/absentees?${bad}`)).status, 400, bad);
});

test('who may see the absentee list: admin and managers (limited ones their groups only), not members or devices', async () => {
  assert.equal((await env.member.get('/api/v1/attendance/absentees')).status, 403);
  assert.equal((await env.device.get('/api/v1/attendance/absentees')).status, 403);
  assert.equal((await env.member.get('/api/v1/reports/groups')).status, 403);
  assert.equal((await env.manager.get('/api/v1/attendance/absentees')).body.total, 2);
  const u = await admin.post('/api/v1/users', { email: 'tutor2b@example.org', name: 'Tutor 2B', role: 'manager', password: 'tutor-pass-1', group_ids: [ids.b], must_change_password: false });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const tutor = new Client(env.srv.url);
  await tutor.login('tutor2b@example.org', 'tutor-pass-1');
  const r = await tutor.get('/api/v1/attendance/absentees');
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items.map((x) => x.person_id), [ids.carla]);
  assert.equal((await tutor.get(`/api/v1/attendance/absentees?group_id=${ids.a}`)).status, 403);
  assert.equal((await tutor.get(`/api/v1/attendance/absentees?group_id=${ids.a}&format=csv`)).status, 403);
  const csv = await tutor.get('/api/v1/attendance/absentees?format=csv');
  assert.doesNotMatch(csv.body, /Beto/);
  const rep = await tutor.get(`/api/v1/reports/groups?from=${today}&to=${today}`);
  assert.deepEqual(rep.body.people.map((p) => p.person_id), [ids.carla]);
  assert.deepEqual(rep.body.groups.map((g) => g.group_id), [ids.b]);
  assert.equal((await tutor.get(`/api/v1/reports/groups?group_id=${ids.a}`)).status, 403);
});

test('the report per group and subject: per person, per group, per day', async () => {
  let r = await admin.get(`/api/v1/reports/groups?from=${dayPlus(-30)}&to=${today}&group_id=${ids.a}&label=${encodeURIComponent('Matemáticas')}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.label, 'Matemáticas');
  const by = Object.fromEntries(r.body.people.map((p) => [p.person_id, p]));
  assert.deepEqual(Object.keys(by).map(Number).sort(), [ids.ana, ids.beto].sort());
  assert.equal(by[ids.ana].slots, 1);
  assert.equal(by[ids.ana].present, 1);
  assert.equal(by[ids.ana].rate, 1);
  assert.equal(by[ids.beto].absent, 1);
  assert.equal(by[ids.beto].rate, 0);
  assert.equal(r.body.groups.length, 1);
  assert.equal(r.body.groups[0].name, '1A');
  assert.equal(r.body.groups[0].rate, 0.5);
  assert.equal(r.body.days.length, 1, 'only today has slots since they were added');
  assert.equal(r.body.days[0].rate, 0.5);
  // History has not started yet: nobody judged, rates are null (not 0 %).
  r = await admin.get(`/api/v1/reports/groups?from=${today}&to=${today}&group_id=${ids.a}&label=Historia`);
  assert.equal(r.body.people.length, 2);
  assert.ok(r.body.people.every((p) => p.slots === 1 && p.present === 0 && p.absent === 0 && p.rate === null));
  assert.equal(r.body.groups[0].rate, null);
  assert.deepEqual(r.body.days.map((d) => [d.pending, d.rate]), [[2, null]]);
  // An unknown subject: empty, not an error.
  r = await admin.get(`/api/v1/reports/groups?from=${today}&to=${today}&label=Latin`);
  assert.equal(r.status, 200);
  assert.deepEqual([r.body.people, r.body.groups, r.body.days], [[], [], []]);
  assert.equal((await admin.get(`/api/v1/reports/groups?from=${today}&to=${dayPlus(-1)}`)).status, 400);
});

test('attendance_start_day: no absences before the institution started', async () => {
  let r = await admin.patch('/api/v1/settings', { attendance_start_day: dayPlus(1) });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.attendance_start_day, dayPlus(1));
  assert.equal((await admin.get('/api/v1/attendance/absentees')).body.total, 0);
  const d = await admin.get('/api/v1/dashboard');
  assert.equal(d.body.today.absent, 0);
  assert.equal(d.body.today.present, 1, 'an entry before the start still counts');
  assert.equal(d.body.today.expected, 1);
  for (const bad of ['2026-02-30', 'soon', 7])
    assert.equal((await admin.patch('/api/v1/settings', { attendance_start_day: bad })).status, 400, String(bad));
  r = await admin.patch('/api/v1/settings', { attendance_start_day: null });
  assert.equal(r.body.attendance_start_day, null);
  assert.equal((await admin.get('/api/v1/attendance/absentees')).body.total, 2);
});

test('a person in two groups: each group counts its own slots, and a manager limited to one sees nothing of the other', async () => {
  // Dora is in 1A (Matemáticas this morning, Historia this afternoon) and in
  // 3C (Ajedrez 10:00-11:00); she came to neither.
  const dora = (await admin.post('/api/v1/persons', { external_id: 'R-4', first_name: 'Dora', last_name: 'Díaz', kind: 'student' })).body.id;
  const c3 = (await admin.post('/api/v1/groups', { name: '3C' })).body.id;
  assert.equal((await admin.post(`/api/v1/groups/${ids.a}/members/${dora}`)).status, 204);
  assert.equal((await admin.post(`/api/v1/groups/${c3}/members/${dora}`)).status, 204);
  const s = await admin.post('/api/v1/schedules', { group_id: c3, day_of_week: dow, start: '10:00', end: '11:00', grace_min: 5, label: 'Ajedrez' });
  assert.equal(s.status, 201, JSON.stringify(s.body));

  // The admin's report: 1A's figures are 1A's slots (Ana, Beto and Dora:
  // Matemáticas and Historia each), 3C's are Dora's Ajedrez alone.
  let r = await admin.get(`/api/v1/reports/groups?from=${today}&to=${today}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const g = Object.fromEntries(r.body.groups.map((x) => [x.group_id, x]));
  assert.deepEqual([g[ids.a].members, g[ids.a].slots, g[ids.a].present, g[ids.a].absent], [3, 6, 1, 2]);
  assert.deepEqual([g[c3].members, g[c3].slots, g[c3].present, g[c3].absent], [1, 1, 0, 1]);
  assert.equal(r.body.people.find((p) => p.person_id === dora).slots, 3);
  // 3C's absentees: Ajedrez only, not Dora's 1A class.
  r = await admin.get(`/api/v1/attendance/absentees?group_id=${c3}`);
  assert.deepEqual(r.body.items.map((x) => [x.person_id, x.label, x.group_name]), [[dora, 'Ajedrez', '3C']]);

  // 3C's tutor: Dora's Ajedrez, nothing of 1A (its slots, its name).
  const u = await admin.post('/api/v1/users', { email: 'tutor3c@example.org', name: 'Tutor 3C', role: 'manager', password: 'tutor-pass-3', group_ids: [c3], must_change_password: false });
  assert.equal(u.status, 201, JSON.stringify(u.body));
  const tutor = new Client(env.srv.url);
  await tutor.login('tutor3c@example.org', 'tutor-pass-3');
  r = await tutor.get(`/api/v1/reports/groups?from=${today}&to=${today}`);
  assert.deepEqual(r.body.people.map((p) => [p.person_id, p.slots, p.absent]), [[dora, 1, 1]]);
  assert.deepEqual(r.body.groups.map((x) => [x.group_id, x.slots]), [[c3, 1]]);
  r = await tutor.get('/api/v1/attendance/absentees');
  assert.deepEqual(r.body.items.map((x) => [x.person_id, x.label, x.group_id]), [[dora, 'Ajedrez', c3]]);
  for (const path of [`/api/v1/reports/groups?from=${today}&to=${today}`, '/api/v1/attendance/absentees',
    '/api/v1/attendance/absentees?format=csv', `/api/v1/attendance/export?format=csv&from=${today}&to=${today}`,
    `/api/v1/reports/summary?from=${today}&to=${today}`, `/api/v1/reports/daily?from=${today}&to=${today}`]) {
    r = await tutor.get(path);
    assert.equal(r.status, 200, path);
    const text = typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
    assert.doesNotMatch(text, /Matemáticas|Historia|"1A"|,1A,|;1A;/, path);
  }
  r = await tutor.get(`/api/v1/reports/summary?from=${today}&to=${today}`);
  assert.deepEqual(r.body.items.map((p) => [p.person_id, p.slots]), [[dora, 1]]);
});

test('presence_mode: by day (the default) a student seen at the door is not missing from the second class', async () => {
  // 1º ESO A: Matemáticas 09:00-11:00 and Lengua 11:30-14:00 today. Elia came
  // in at 08:55 and is still in; Fede came in at 08:55 and left at 10:00.
  // Only the door saw them: no entry in Lengua itself.
  let r = await admin.get('/api/v1/settings');
  assert.equal(r.body.presence_mode, 'day');
  const eso = (await admin.post('/api/v1/groups', { name: '1º ESO A' })).body.id;
  const elia = (await admin.post('/api/v1/persons', { external_id: 'R-5', first_name: 'Elia', last_name: 'Esteban', kind: 'student' })).body.id;
  const fede = (await admin.post('/api/v1/persons', { external_id: 'R-6', first_name: 'Fede', last_name: 'Fuentes', kind: 'student' })).body.id;
  await admin.put(`/api/v1/groups/${eso}/members`, { person_ids: [elia, fede] });
  for (const [start, end, label] of [['09:00', '11:00', 'Matemáticas'], ['11:30', '14:00', 'Lengua']]) {
    const s = await admin.post('/api/v1/schedules', { group_id: eso, day_of_week: dow, start, end, grace_min: 5, label });
    assert.equal(s.status, 201, JSON.stringify(s.body));
  }
  for (const [who, type, time] of [[elia, 'entry', '08:55'], [fede, 'entry', '08:55'], [fede, 'exit', '10:00']]) {
    r = await admin.post('/api/v1/attendance', { person_id: who, type, time: at(time), reason: 'door' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  const missing = async () =>
    (await admin.get(`/api/v1/attendance/absentees?group_id=${eso}`)).body.items.map((x) => [x.person_id, x.label]);
  assert.deepEqual(await missing(), [[fede, 'Lengua']]);
  r = await admin.get(`/api/v1/reports/groups?from=${today}&to=${today}&group_id=${eso}`);
  const by = Object.fromEntries(r.body.people.map((p) => [p.person_id, p]));
  assert.deepEqual([by[elia].present, by[elia].absent, by[elia].late], [2, 0, 0]);
  assert.deepEqual([by[fede].present, by[fede].absent, by[fede].early_leave], [1, 1, 1]);

  // By slot (a camera in each classroom), Lengua needs an entry of its own.
  r = await admin.patch('/api/v1/settings', { presence_mode: 'slot' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.presence_mode, 'slot');
  assert.equal((await admin.get('/api/v1/settings')).body.presence_mode, 'slot');
  assert.deepEqual((await missing()).sort(), [[elia, 'Lengua'], [fede, 'Lengua']].sort());

  // A bad value is refused, naming the field, and changes nothing.
  for (const bad of ['door', '', 1, null, true]) {
    r = await admin.patch('/api/v1/settings', { presence_mode: bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'invalid_field', JSON.stringify(r.body));
    assert.equal(r.body.error.params.field, 'presence_mode', JSON.stringify(r.body));
  }
  assert.equal((await admin.get('/api/v1/settings')).body.presence_mode, 'slot');
  r = await admin.patch('/api/v1/settings', { presence_mode: 'day' });
  assert.equal(r.body.presence_mode, 'day');
  assert.deepEqual(await missing(), [[fede, 'Lengua']]);
});

test('a corrected or voided event says who and when: in the event list and in the export column', async () => {
  const manager = env.manager; // named "manager"
  const p = (await admin.post('/api/v1/persons', { external_id: 'R-9', first_name: 'Diego', last_name: 'Díaz', kind: 'student' })).body.id;
  const own = await admin.post('/api/v1/schedules', {
    person_id: p,
    day_of_week: dow,
    start: '09:00',
    end: '14:00',
    grace_min: 5,
    label: 'Taller',
  });
  assert.equal(own.status, 201, JSON.stringify(own.body));
  const add = async (type, time) => {
    const r = await admin.post('/api/v1/attendance', { person_id: p, type, time: at(time), reason: 'a mano' });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.corrected, null, 'added by hand is not corrected');
    return r.body;
  };
  const entry = await add('entry', '09:10');
  const exit = await add('exit', '11:00');
  const csvRow = async (lang) => {
    const r = await admin.get(
      `/api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${p}${lang ? `&lang=${lang}&sep=comma&bom=false` : ''}`,
    );
    assert.equal(r.status, 200);
    const lines = r.body
      .trim()
      .split(/\r?\n/)
      .map((l) => l.split(','));
    const mine = lines.filter((l) => l[1] === 'R-9');
    assert.equal(mine.length, 1, r.body);
    return { head: lines[0], row: mine[0] };
  };
  let { head, row } = await csvRow();
  assert.equal(head[12], 'corrected');
  assert.equal(row[12], '', 'nothing corrected yet');

  const before = Date.now();
  let r = await manager.patch(`/api/v1/attendance/${entry.id}`, { time: at('09:03'), reason: 'llegó antes' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.corrected.by, 'manager');
  assert.equal(r.body.corrected.actor, `user:${manager.userId}`);
  const when = Date.parse(r.body.corrected.at);
  assert.ok(when >= before - 1000 && when <= Date.now() + 1000, r.body.corrected.at);
  // The list and the person's events say so; the other event does not.
  const list = (await admin.get(`/api/v1/attendance?person_id=${p}`)).body.items;
  assert.deepEqual(
    list.map((e) => [e.id, e.corrected?.by ?? null]),
    [
      [entry.id, 'manager'],
      [exit.id, null],
    ],
  );
  // The export's row (the slot's) names the manager, with the local time.
  ({ head, row } = await csvRow());
  assert.match(row[12], /^\d{4}-\d\d-\d\d \d\d:\d\d by manager$/);
  ({ head, row } = await csvRow('es'));
  assert.equal(head[12], 'Corregido');
  assert.match(row[12], /^\d{4}-\d\d-\d\d \d\d:\d\d por manager$/);

  // Voiding counts as a correction, by the admin: the row (whose exit no
  // longer counts) names the latest one. The admin is "Administrator" or
  // the like; the actor is the account.
  r = await admin.post(`/api/v1/attendance/${exit.id}/void`, { reason: 'no salió' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.corrected.actor.startsWith('user:'), true);
  assert.notEqual(r.body.corrected.by, 'manager');
  const voided = (await admin.get(`/api/v1/attendance?person_id=${p}&include_void=true`)).body.items.find((e) => e.id === exit.id);
  assert.equal(voided.corrected.by, r.body.corrected.by);
  ({ row } = await csvRow());
  assert.ok(row[12].endsWith(` by ${r.body.corrected.by}`), row[12]);
});

test('by day: a forgotten exit is flagged once its slot ended + slot_margin_min, and time outside the slots is counted apart', async () => {
  // Own slots today: Gil 06:00-10:00, in 05:50, never out (ended more than
  // 60 minutes ago: missing); Hana 07:00-09:00, in 06:30, out 10:30 (two
  // hours outside her slot); Iris 11:00-12:00, in 10:50, not out yet (ended
  // less than 60 minutes ago: not flagged).
  const mk = async (code, first, start, end, events) => {
    const id = (await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: 'Turno', kind: 'employee' })).body.id;
    const s = await admin.post('/api/v1/schedules', { person_id: id, day_of_week: dow, start, end, grace_min: 5, label: 'Turno' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    for (const [type, time] of events) {
      const r = await admin.post('/api/v1/attendance', { person_id: id, type, time: at(time), reason: 'puerta' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    return id;
  };
  const gil = await mk('T-1', 'Gil', '06:00', '10:00', [['entry', '05:50']]);
  const hana = await mk('T-2', 'Hana', '07:00', '09:00', [['entry', '06:30'], ['exit', '10:30']]);
  const iris = await mk('T-3', 'Iris', '11:00', '12:00', [['entry', '10:50']]);
  const sum = async (id) => (await admin.get(`/api/v1/reports/summary?from=${today}&to=${today}&person_id=${id}`)).body.items[0];
  let s = await sum(gil);
  assert.equal(s.missing_exits, 1);
  assert.equal(s.time_on_site_s, 250 * 60); // 05:50 to the slot's end
  assert.equal(s.time_outside_slots_s, 10 * 60);
  assert.equal(s.time_in_slots_s, 240 * 60);
  s = await sum(hana);
  assert.equal(s.missing_exits, 0);
  assert.deepEqual([s.time_on_site_s, s.time_in_slots_s, s.time_outside_slots_s], [240 * 60, 120 * 60, 120 * 60]);
  s = await sum(iris);
  assert.equal(s.missing_exits, 0, 'may still leave');
  // The export's columns, in English and in Spanish.
  const csv = async (id, lang) => {
    const r = await admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${id}${lang ? `&lang=${lang}&sep=comma&bom=false` : ''}`);
    assert.equal(r.status, 200);
    const [head, row] = r.body.trim().split(/\r?\n/).map((l) => l.split(','));
    return Object.fromEntries(head.map((h, i) => [h, row[i]]));
  };
  let row = await csv(gil);
  assert.equal(row.missing_exit, '1');
  assert.equal(row.minutes_on_site, '240');
  assert.equal(row.minutes_outside_slots, '10');
  row = await csv(hana, 'es');
  assert.equal(row['Falta la salida'], '0');
  assert.equal(row['Minutos en la franja'], '120');
  assert.equal(row['Minutos fuera de horario'], '120');
  assert.equal((await csv(iris)).missing_exit, '0');
});

test('minutes late, of early leave and overtime: per person, in the totals and in the export columns', async () => {
  // Own slots today 08:00-10:00, grace 5: Juan in 08:17 (17 minutes late,
  // counted from the start), out 10:45 (45 minutes' overtime); Kim in 07:58,
  // out 09:30 (30 minutes of early leave); Lía in 06:30 (90 minutes early,
  // more than the 60-minute margin: overtime), out 10:00.
  const mk = async (code, first, events) => {
    const id = (await admin.post('/api/v1/persons', { external_id: code, first_name: first, last_name: 'Nómina', kind: 'employee' })).body.id;
    const s = await admin.post('/api/v1/schedules', { person_id: id, day_of_week: dow, start: '08:00', end: '10:00', grace_min: 5, label: 'Turno' });
    assert.equal(s.status, 201, JSON.stringify(s.body));
    for (const [type, time] of events) {
      const r = await admin.post('/api/v1/attendance', { person_id: id, type, time: at(time), reason: 'puerta' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    return id;
  };
  const juan = await mk('N-1', 'Juan', [['entry', '08:17'], ['exit', '10:45']]);
  const kim = await mk('N-2', 'Kim', [['entry', '07:58'], ['exit', '09:30']]);
  const lia = await mk('N-3', 'Lía', [['entry', '06:30'], ['exit', '10:00']]);
  const figures = (s) => [s.minutes_late, s.minutes_early_leave, s.overtime_minutes];
  const summary = async (id) => (await admin.get(`/api/v1/reports/summary?from=${today}&to=${today}&person_id=${id}`)).body;
  let body = await summary(juan);
  assert.deepEqual(figures(body.items[0]), [17, 0, 45]);
  assert.deepEqual(figures(body.totals), [17, 0, 45]);
  assert.deepEqual(figures((await summary(kim)).items[0]), [0, 30, 0]);
  assert.deepEqual(figures((await summary(lia)).items[0]), [0, 0, 90]);
  // The report per group and subject: each person, and everyone's totals.
  body = (await admin.get(`/api/v1/reports/groups?from=${today}&to=${today}&label=Turno`)).body;
  const mine = body.people.filter((p) => [juan, kim, lia].includes(p.person_id));
  assert.equal(mine.length, 3);
  for (const k of ['minutes_late', 'minutes_early_leave', 'overtime_minutes'])
    assert.equal(body.totals[k], body.people.reduce((a, p) => a + p[k], 0), k);
  assert.ok(body.totals.minutes_late >= 17 && body.totals.minutes_early_leave >= 30);
  // The export's columns, in English and in Spanish.
  const csv = async (id, lang) => {
    const r = await admin.get(`/api/v1/attendance/export?format=csv&from=${today}&to=${today}&person_id=${id}${lang ? `&lang=${lang}&sep=comma&bom=false` : ''}`);
    assert.equal(r.status, 200);
    const [head, row] = r.body.trim().split(/\r?\n/).map((l) => l.split(','));
    return Object.fromEntries(head.map((h, i) => [h, row[i]]));
  };
  let row = await csv(juan);
  assert.deepEqual([row.minutes_late, row.minutes_early_leave, row.overtime_minutes], ['17', '0', '45']);
  row = await csv(kim, 'es');
  assert.deepEqual([row['Minutos de retraso'], row['Minutos de salida anticipada'], row['Minutos de horas extra']], ['0', '30', '0']);
  assert.equal((await csv(lia, 'es'))['Minutos de horas extra'], '90');
});
