// requests.test.mjs — correction requests end to end in Spanish, against the
// real server with Debian's headless Chromium on a 390×844 phone:
//  - a member who forgot to clock out opens "Mi asistencia", asks with
//    "Falta una salida o entrada" (the form used by keyboard), sees the
//    request under "Mis solicitudes" as Pendiente; from an event's row,
//    "Solicitar corrección" asks for that record not to count; a third
//    request, made by mistake, is withdrawn ("Retirar solicitud"): Retirada,
//    with no button, and not in the manager's pending count;
//  - a manager opens "Solicitudes de corrección" from the menu, sees the
//    pending count, approves the forgotten exit (the exit is then in the
//    attendance, a manual record like one they add themselves, not marked
//    "Corregido") and rejects the other (a note is required; the record
//    keeps counting); the member sees both outcomes, who decided, when, and
//    the manager's note.
// Screenshots in tests/out/web/ (requests-*).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN, a11yProblems, clickForAnswer, launch, login, newPage, shot, startRollcall } from './browser.mjs';
import { noonZone } from '../http/lib.mjs';

const MEMBER = { email: 'ana@rollcall.test', password: 'Miembro-e2e-pass-1' };
const MANAGER = { email: 'jefa@rollcall.test', password: 'Jefa-e2e-pass-1' };
const { zone, today, dow, at } = noonZone();

let dir, srv, admin, ids;

async function adminApi() {
  const r = await fetch(new URL('api/v1/auth/login', srv.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: ADMIN.email, password: ADMIN.password }),
  });
  const body = await r.json();
  const cookie = r.headers.get('set-cookie').split(';')[0];
  return async (method, path, data) => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': body.csrf_token };
    if (data !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(new URL(path.replace(/^\//, ''), srv.url), { method, headers, body: data === undefined ? undefined : JSON.stringify(data) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  };
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rollcall-web-req-'));
  srv = await startRollcall(join(dir, 'data'));
  admin = await adminApi();
  assert.equal((await admin('PATCH', '/api/v1/settings', { timezone: zone })).status, 200);
  const group = (await admin('POST', '/api/v1/groups', { name: 'Oficina' })).body.id;
  const p = await admin('POST', '/api/v1/persons', { external_id: 'EMP-1', first_name: 'Ana', last_name: 'Ortega', kind: 'employee', group_ids: [group] });
  assert.equal(p.status, 201, JSON.stringify(p.body));
  const s = await admin('POST', '/api/v1/schedules', { group_id: group, day_of_week: dow, start: '09:00', end: '11:00', grace_min: 5, label: 'Mañana' });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  const e = await admin('POST', '/api/v1/attendance', { person_id: p.body.id, type: 'entry', time: at('09:01'), reason: 'cámara' });
  assert.equal(e.status, 201, JSON.stringify(e.body));
  for (const [u, role, extra] of [[MEMBER, 'member', { person_id: p.body.id }], [MANAGER, 'manager', { group_ids: [group] }]]) {
    const r = await admin('POST', '/api/v1/users', { email: u.email, name: role === 'manager' ? 'Jefa' : 'Ana', role, password: u.password, must_change_password: false, ...extra });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  ids = { group, ana: p.body.id, entry: e.body.id };
});

after(async () => {
  if (srv) assert.equal(await srv.stop(), 0, 'the server stops cleanly');
  rmSync(dir, { recursive: true, force: true });
});

const overflow = (page) => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

test('a member asks for a forgotten exit and a void; a manager approves one and rejects the other', async () => {
  const browser = await launch(null);
  try {
    // ---- the member, on a phone
    const phone = await newPage(browser, { width: 390, height: 844 });
    await login(phone, srv.url, MEMBER);
    await phone.getByRole('heading', { name: 'Mi asistencia' }).waitFor();
    await phone.getByRole('button', { name: 'Falta una salida o entrada' }).click();
    const dialog = phone.getByRole('dialog', { name: 'Solicitar una corrección' });
    await dialog.waitFor();
    // By keyboard: the kind (default: the exit), the time, the reason, send.
    assert.equal(await dialog.getByLabel('Qué pasó').inputValue(), 'missing_exit');
    await dialog.getByLabel('Hora correcta').fill(`${today}T10:45`);
    await dialog.getByLabel('Motivo').focus();
    await phone.keyboard.type('Olvidé fichar al salir');
    await shot(phone, 'requests-01-ask-390');
    assert.ok((await overflow(phone)) <= 0, 'the form fits 390 px');
    await dialog.getByLabel('Motivo').press('Tab');
    const [res] = await Promise.all([
      phone.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/api/v1/self/correction-requests')),
      phone.keyboard.press('Enter'),
    ]);
    assert.equal(res.status(), 201, await res.text());
    await phone.getByText('Solicitud enviada').waitFor();
    const mine = phone.getByRole('list', { name: 'Mis solicitudes' });
    await mine.getByText('Olvidé fichar la salida').waitFor();
    await mine.getByText('Pendiente').waitFor();
    // From the entry's row: this record should not count.
    await phone.getByRole('button', { name: 'Solicitar corrección' }).first().click();
    await dialog.waitFor();
    await dialog.getByLabel('Qué pasó').selectOption('void');
    assert.equal(await dialog.getByLabel('Hora correcta').count(), 0, 'a void asks for no time');
    await dialog.getByLabel('Motivo').fill('Ese día no vine');
    await clickForAnswer(phone, dialog.getByRole('button', { name: 'Enviar solicitud' }), 'POST', '/api/v1/self/correction-requests');
    await mine.getByText('Este registro no es mío o no debe contar').waitFor();
    // A third one by mistake, withdrawn.
    await phone.getByRole('button', { name: 'Falta una salida o entrada' }).click();
    await dialog.waitFor();
    await dialog.getByLabel('Qué pasó').selectOption('missing_entry');
    await dialog.getByLabel('Hora correcta').fill(`${today}T09:00`);
    await dialog.getByLabel('Motivo').fill('Me equivoqué de día');
    await clickForAnswer(phone, dialog.getByRole('button', { name: 'Enviar solicitud' }), 'POST', '/api/v1/self/correction-requests');
    const mistake = mine.getByRole('listitem').filter({ hasText: 'Me equivoqué de día' });
    await mistake.getByText('Pendiente').waitFor();
    await clickForAnswer(phone, mistake.getByRole('button', { name: /^Retirar solicitud: Olvidé fichar la entrada, / }), 'POST', '/withdraw');
    await phone.getByText('Solicitud retirada: ya no está pendiente.').waitFor();
    await mistake.getByText('Retirada', { exact: true }).waitFor();
    await mistake.getByText(/^Retirada por Ana el /).waitFor();
    assert.equal(await mistake.getByRole('button').count(), 0, 'nothing left to withdraw');
    assert.equal(await mine.getByRole('button', { name: /^Retirar solicitud/ }).count(), 2, 'the two pending ones can be');
    await shot(phone, 'requests-02-mine-390');
    assert.ok((await overflow(phone)) <= 0, 'the page fits 390 px');
    assert.deepEqual(await a11yProblems(phone), []);

    // ---- the manager, on a phone
    const boss = await newPage(browser, { width: 390, height: 844 });
    await login(boss, srv.url, MANAGER);
    await boss.getByRole('button', { name: 'Menú' }).click();
    await boss.getByRole('link', { name: 'Solicitudes de corrección' }).click();
    await boss.getByRole('heading', { name: 'Solicitudes de corrección' }).waitFor();
    await boss.getByText('2 pendientes').waitFor();
    const list = boss.getByRole('list', { name: 'Solicitudes de corrección' });
    const exitCard = list.getByRole('listitem').filter({ hasText: 'Olvidé fichar la salida' });
    const voidCard = list.getByRole('listitem').filter({ hasText: 'Ese día no vine' });
    await exitCard.waitFor();
    await shot(boss, 'requests-03-pending-390');
    assert.ok((await overflow(boss)) <= 0, 'the requests page fits 390 px');
    assert.deepEqual(await a11yProblems(boss), []);
    await clickForAnswer(boss, exitCard.getByRole('button', { name: 'Aprobar' }), 'POST', '/approve');
    await boss.getByText('Solicitud de Ana Ortega aprobada').waitFor();
    await boss.getByText('1 pendientes').waitFor();
    // Rejecting takes a note.
    await voidCard.getByRole('button', { name: 'Rechazar' }).click();
    await boss.getByText('Escriba por qué se rechaza.').waitFor();
    await voidCard.getByLabel(/^Nota/).fill('Sí vino: está en la cámara');
    await clickForAnswer(boss, voidCard.getByRole('button', { name: 'Rechazar' }), 'POST', '/reject');
    await boss.getByText('Solicitud de Ana Ortega rechazada').waitFor();
    await boss.getByText('0 pendientes').waitFor();
    await boss.getByLabel('Mostrar').selectOption('approved');
    await list.getByText('Olvidé fichar la salida').waitFor();
    await shot(boss, 'requests-04-approved-390');
    await boss.getByLabel('Mostrar').selectOption('withdrawn');
    await list.getByRole('listitem').filter({ hasText: 'Me equivoqué de día' }).getByText('Retirada', { exact: true }).waitFor();
    assert.equal(await list.getByRole('listitem').count(), 1);
    assert.equal(await list.getByRole('button').count(), 0, 'nothing to decide');

    // The exit is in the attendance, a manual record (as one the manager
    // adds themself: not "Corregido"); the entry still counts.
    const events = (await admin('GET', `/api/v1/attendance?person_id=${ids.ana}`)).body.items;
    const exit = events.find((x) => x.type === 'exit');
    assert.ok(exit, JSON.stringify(events));
    assert.equal(Date.parse(exit.time), Date.parse(at('10:45')));
    assert.equal(exit.manual, true);
    assert.equal(exit.corrected, null);
    assert.equal(events.find((x) => x.id === ids.entry)?.voided_at, null);
    // The member sees how both ended, who decided and when, and the note.
    await phone.reload();
    const approved = mine.getByRole('listitem').filter({ hasText: 'Olvidé fichar al salir' });
    const rejected = mine.getByRole('listitem').filter({ hasText: 'Ese día no vine' });
    await approved.getByText('Aprobada', { exact: true }).waitFor();
    await approved.getByText(/^Aprobada por Jefa el \d/).waitFor();
    await approved.getByText('Registro: Añadido al aprobarla (registro manual)').waitFor();
    await rejected.getByText('Rechazada', { exact: true }).waitFor();
    await rejected.getByText(/^Rechazada por Jefa el \d/).waitFor();
    await rejected.getByText('Nota del responsable: Sí vino: está en la cámara').waitFor();
    assert.equal(await mine.getByRole('button', { name: /^Retirar solicitud/ }).count(), 0, 'decided: nothing to withdraw');
    const table = phone.getByRole('table');
    await table.getByRole('row').filter({ hasText: 'Salida' }).getByText('Manual').waitFor();
    assert.equal(await table.getByText('Corregido').count(), 0);
    await shot(phone, 'requests-05-decided-390');
    assert.ok((await overflow(phone)) <= 0, 'the decisions fit 390 px');
    assert.deepEqual(await a11yProblems(phone), []);
  } finally {
    await browser.close();
  }
});
