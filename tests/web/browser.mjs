// browser.mjs — helpers of the web UI end-to-end tests: a y4m clip made by
// Debian's ffmpeg from a test photo (Chromium's fake camera plays it in a
// loop), Debian's headless Chromium driven by playwright-core with that clip
// as its camera, screenshots under tests/out/web/, and the real server
// started with the built UI and a known first admin.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../lib/server.mjs';

export const SOURCE = process.env.ROLLCALL_SOURCE;
export const FACES = join(process.env.ROLLCALL_TESTDATA, 'faces');
export const OUT = join(SOURCE, 'tests', 'out', 'web');
export const ADMIN = {
  email: 'admin@rollcall.test',
  password: 'Admin-e2e-password-1',
};
const CHROMIUM = process.env.ROLLCALL_CHROMIUM || '/usr/bin/chromium';

/** Run Debian's ffmpeg to write `out`; throws with its message if it fails. */
function ffmpeg(args, out) {
  const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', ...args, out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg could not make ${out}: ${r.stderr || r.error}`);
  return out;
}

/** Make a 640×480 y4m clip (1 s, 5 fps) of `photo`, letterboxed. */
export function makeY4m(photo, out) {
  const fit = 'scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,format=yuv420p';
  return ffmpeg(['-loop', '1', '-i', photo, '-t', '1', '-r', '5', '-vf', fit], out);
}

/** A 640×480 clip of two photos side by side: two people in front of the kiosk. */
export function twoPeopleY4m(left, right, out) {
  const fit = 'scale=320:480:force_original_aspect_ratio=decrease,pad=320:480:(ow-iw)/2:(oh-ih)/2';
  const sides = `[0]${fit}[a];[1]${fit}[b];[a][b]hstack,format=yuv420p`;
  return ffmpeg(['-loop', '1', '-i', left, '-loop', '1', '-i', right, '-filter_complex', sides, '-t', '1', '-r', '5'], out);
}

/** Headless Chromium whose camera shows `y4m` (or no fake file when null). */
export async function launch(y4m, extraArgs = []) {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    '--lang=es-ES',
  ];
  if (y4m) args.push(`--use-file-for-fake-video-capture=${y4m}`);
  return chromium.launch({ executablePath: CHROMIUM, args: [...args, ...extraArgs] });
}

/** A Spanish-speaking browser tab on a laptop-sized screen. */
export async function newPage(browser, { width = 1366, height = 860, timezoneId } = {}) {
  const context = await browser.newContext({
    viewport: { width, height },
    locale: 'es-ES',
    acceptDownloads: true,
    ...(timezoneId ? { timezoneId } : {}),
  });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  return page;
}

/** Save a full-page screenshot as tests/out/web/<name>.png. */
export async function shot(page, name) {
  mkdirSync(OUT, { recursive: true });
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/** The real server on a free port (or `listen`, HOST:PORT: the same address
 * again after a restart), serving web/dist, with ADMIN created.
 * With `oneTime`, the first admin gets the one-time password the server
 * prints at its first start instead (`srv.stdout` holds that line). */
export async function startRollcall(dataDir, { oneTime = false, listen = null } = {}) {
  const web = join(SOURCE, 'web', 'dist');
  if (!existsSync(join(web, 'index.html'))) throw new Error(`the web UI is not built (${web}); run scripts/build-web`);
  return startServer({
    args: [
      '--data',
      dataDir,
      '--web',
      web,
      '--models',
      process.env.ROLLCALL_MODELS,
      '--admin-email',
      ADMIN.email,
      ...(oneTime ? [] : ['--admin-password', ADMIN.password]),
      '--no-access-log',
      ...(listen ? ['--listen', listen] : []),
    ],
  });
}

/** Log in through the login page. An account with a one-time password
 * (made by an admin) lands on the change-password page first: the new
 * password is `password` + "-mine", written back into `creds`. */
export async function login(page, base, creds) {
  const { email, password } = creds;
  await page.goto(new URL('login', base).href);
  await page.getByLabel('Correo electrónico').fill(email);
  await page.getByLabel('Contraseña').fill(password);
  await page.getByRole('button', { name: 'Entrar' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  if (new URL(page.url()).pathname === '/account') {
    const next = `${password}-mine`;
    await changePassword(page, password, next);
    await page.waitForURL((u) => u.pathname !== '/account');
    creds.password = next;
  }
}

/** Open the kiosk the way a tablet at the door does: the login page's
 * "Quiosco con clave de dispositivo" with a device API key. */
export async function openKioskWithKey(page, base, key) {
  await page.goto(new URL('login', base).href);
  await page.getByText('Quiosco con clave de dispositivo').click();
  await page.getByLabel('Clave de dispositivo').fill(key);
  await page.getByRole('button', { name: 'Abrir quiosco' }).click();
  await page.waitForURL(/\/kiosk$/);
}

/** Fill and send the change-password form on /account. */
export async function changePassword(page, current, next, again = next) {
  await page.getByLabel('Contraseña actual').fill(current);
  await page.getByLabel(/^Nueva contraseña/).fill(next);
  await page.getByLabel('Repita la nueva contraseña').fill(again);
  await page.getByRole('button', { name: 'Cambiar contraseña' }).last().click();
}

/** Wait for `locator`; fail at once with the message when an error alert
 * shows up first (the UI reports API errors with role="alert"). */
export async function waitOrAlert(page, locator, timeout) {
  const alert = page.getByRole('alert').filter({ hasText: /Error|No se puede/ });
  await locator.or(alert).first().waitFor({ timeout });
  if (await alert.count()) throw new Error(`the page shows an error: ${await alert.first().innerText()}`);
}

/** Accessibility problems axe-core finds on the page (WCAG 2 A and AA,
 * serious or critical), one line each; [] when there are none. */
export async function a11yProblems(page) {
  await page.addScriptTag({ path: join(SOURCE, 'web', 'node_modules', 'axe-core', 'axe.min.js') });
  return page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } });
    return r.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id}: ${v.help} — ${v.nodes
            .slice(0, 3)
            .map((n) => n.target.join(' '))
            .join(', ')}`,
      );
  });
}

/** Click `target` and wait for the answer to the request it sends
 * (`method` on a path ending with `path`, or a URL for which `path(url)` is
 * true); throws with the server's answer when it is not 2xx. Wait for this,
 * not for a message that follows it. */
export async function clickForAnswer(page, target, method, path) {
  const wanted = typeof path === 'function' ? path : (u) => u.pathname.endsWith(path);
  const [res] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === method && wanted(new URL(r.url()))),
    target.click(),
  ]);
  if (!res.ok()) throw new Error(`${method} ${res.url()} answered ${res.status()}: ${await res.text()}`);
  return res;
}

/** Save the settings page: the PATCH's answer, then "Guardado." on the page. */
export async function saveSettings(page) {
  await clickForAnswer(page, page.getByRole('button', { name: 'Guardar' }), 'PATCH', '/api/v1/settings');
  await page.getByText('Guardado.').waitFor();
}

/** The API from node with the page's session (its cookie and CSRF token):
 * api(method, path, body?, type?) → { status, body }. */
export async function apiOf(page, base) {
  const cookie = (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const me = await (await fetch(new URL('api/v1/auth/me', base), { headers: { Cookie: cookie } })).json();
  return async (method, path, body, type = 'application/json') => {
    const headers = { Cookie: cookie, 'X-CSRF-Token': me.csrf_token };
    const form = body instanceof FormData; // fetch writes its own multipart type
    if (body !== undefined && !form) headers['Content-Type'] = type;
    const r = await fetch(new URL(path.replace(/^\//, ''), base), {
      method,
      headers,
      body: body === undefined || form ? body : type === 'application/json' ? JSON.stringify(body) : body,
    });
    const text = await r.text();
    return { status: r.status, body: text && r.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : text };
  };
}
