// Drives the cover lab (GET /lab) in headless Chromium against a running stack: key handling,
// HTML injection, a collection cover from upload to applied colors, a track's collection
// fallback, the organization's cover as the last fallback, the webhook delivery of the applied
// cover (when LAB_WEBHOOK_URL names a registered endpoint), screenshots in both themes, and
// refusing a file that is not an image.
//
//   LAB_URL=http://127.0.0.1:8080/lab LAB_KEY=… LAB_IMAGE=…/03_rocket.jpg \
//   [LAB_ALPHA_IMAGE=…/13_emerald_alpha_1200.png] [LAB_WEBHOOK_URL=…] [SCREENSHOT_DIR=.] \
//   [CHROMIUM=/usr/bin/chromium] \
//   [LAB_KEEP=1] node scripts/browser/lab-test.mjs
//
// Prints one line per step passed; exits 1 at the first failure, saying what was expected and
// what was found (and saving lab-failure.png). Console errors, uncaught page errors and CSP
// violations fail the run too. After a pass the collections it created are deleted, unless
// LAB_KEEP=1; after a failure they are left for a look.

import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined || value === '') {
    console.error(`${name} is not set`);
    process.exit(2);
  }
  return value;
};
const LAB_URL = env('LAB_URL').replace(/#.*$/, '');
const LAB_KEY = env('LAB_KEY');
const LAB_IMAGE = env('LAB_IMAGE');
const LAB_ALPHA_IMAGE = process.env.LAB_ALPHA_IMAGE || null;
const LAB_WEBHOOK_URL = process.env.LAB_WEBHOOK_URL || null;
const SCREENSHOT_DIR = env('SCREENSHOT_DIR', '.');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const ORIGIN = new URL(LAB_URL).origin;
const APPLIED_TIMEOUT_MS = 60_000;
const SIZES = ['icon', 'small', 'regular', 'large'];
const XSS_TITLE = '<script>alert(1)</script><b>x</b>';

class Failure extends Error {
  constructor(what, expected, found) {
    super(`${what}\n  expected: ${expected}\n  found:    ${found}`);
  }
}

function check(condition, what, expected, found) {
  if (!condition) throw new Failure(what, expected, found);
}

/** The API as the test sees it, with the same key. */
async function api(pathname, method = 'GET') {
  const response = await fetch(new URL(pathname, ORIGIN), { method, headers: { Authorization: `Bearer ${LAB_KEY}` } });
  const body = await response.json().catch(() => null);
  check(response.ok && body?.ok, `${method} ${pathname}`, '200 with ok: true', `${response.status} ${JSON.stringify(body)}`);
  return body;
}

const hexToRgb = (hex) => {
  const [r, g, b] = hex.slice(1).match(/../g).map((part) => parseInt(part, 16));
  return `rgb(${r}, ${g}, ${b})`;
};

// ---------------------------------------------------------------------------------------------
// Browser, and what the page must never do

const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const page = await context.newPage();
page.setDefaultTimeout(15_000);

const problems = [];
// Chrome logs every 4xx/5xx fetch as a console error; a step that expects one allows it.
let allowedConsole = [];
page.on('console', (message) => {
  if (message.type() !== 'error') return;
  const text = message.text();
  if (!allowedConsole.some((pattern) => pattern.test(text))) problems.push(`console error: ${text}`);
});
page.on('pageerror', (error) => problems.push(`uncaught page error: ${error.message}`));
const dialogs = [];
page.on('dialog', (dialog) => {
  dialogs.push(`${dialog.type()}: ${dialog.message()}`);
  dialog.dismiss().catch(() => {});
});
await page.exposeFunction('__labCspViolation', (violation) => problems.push(`CSP violation: ${violation}`));
await page.addInitScript(() => {
  document.addEventListener('securitypolicyviolation', (event) => {
    window.__labCspViolation(`${event.violatedDirective} blocked ${event.blockedURI || 'inline'}`
      + ` (${event.sourceFile || 'page'}:${event.lineNumber}) ${event.sample || ''}`);
  });
});
// Every request the page makes, for "nothing was uploaded".
const requests = [];
page.on('request', (request) => requests.push({ method: request.method(), url: request.url() }));

let stepNumber = 0;
async function step(name, body) {
  stepNumber++;
  const started = Date.now();
  try {
    await body();
    await page.waitForTimeout(50); // let late console messages and violations arrive
    check(problems.length === 0, 'no console errors, page errors or CSP violations', 'none', problems.join('\n            '));
    check(dialogs.length === 0, 'no dialog opened', 'none', dialogs.join('; '));
  } catch (error) {
    console.error(`FAIL ${stepNumber}. ${name}\n${error.message}`);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'lab-failure.png'), fullPage: true }).catch(() => {});
    await browser.close();
    process.exit(1);
  }
  console.log(`ok ${stepNumber}. ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

async function open(fragment) {
  // From about:blank, so a fragment-only change is a real load, not a same-document jump.
  await page.goto('about:blank');
  return page.goto(`${LAB_URL}#${fragment}`);
}

async function errorText() {
  return (await page.locator('#error').isVisible()) ? page.locator('#error').innerText() : '(no error shown)';
}

/** Waits for `#upload-status` to read `applied`, failing early on an end that is not. */
async function waitForApplied(what) {
  const status = page.locator('#upload-status');
  try {
    await page.waitForFunction(() => {
      const box = document.querySelector('#upload-status');
      return ['applied', 'failed', 'expired', 'superseded', 'refused', 'timeout', 'unknown'].includes(box.dataset.status);
    }, null, { timeout: APPLIED_TIMEOUT_MS, polling: 200 });
  } catch {
    throw new Failure(`${what}: upload status`, `applied within ${APPLIED_TIMEOUT_MS / 1000} s`,
      `${await status.innerText()} after ${APPLIED_TIMEOUT_MS / 1000} s`);
  }
  const found = await status.getAttribute('data-status');
  check(found === 'applied', `${what}: upload status`, 'applied',
    `${found} (${await status.innerText()}; error area: ${await errorText()})`);
  check(/applied/.test(await status.innerText()), `${what}: #upload-status text`, 'contains "applied"', await status.innerText());
}

/** Creates a collection or a track through its form; returns the new list item's id. */
async function createItem(list, input, button, title) {
  const before = new Set(await page.locator(`${list} > li`).evaluateAll((items) => items.map((li) => li.dataset.id)));
  await page.fill(input, title);
  await page.click(button);
  try {
    await page.waitForFunction(([selector, known]) => [...document.querySelectorAll(`${selector} > li`)]
      .some((li) => !known.includes(li.dataset.id)), [list, [...before]]);
  } catch {
    throw new Failure(`creating "${title}"`, `a new item in ${list}`, `none (error area: ${await errorText()})`);
  }
  const id = await page.locator(`${list} > li`).evaluateAll((items, known) => items
    .find((li) => !known.includes(li.dataset.id)).dataset.id, [...before]);
  if (list === '#collection-list') created.push(id);
  return id;
}

const created = []; // collection ids, deleted after a pass

// ---------------------------------------------------------------------------------------------
// Steps

await step('an invalid key is refused with "This key is not valid" and the key form', async () => {
  allowedConsole = [/status of 401/];
  await open('key=bad-key');
  try {
    await page.locator('#error', { hasText: 'This key is not valid' }).waitFor();
  } catch {
    throw new Failure('error after listing collections with a bad key', '"This key is not valid"', await errorText());
  }
  check(await page.locator('#key-form').isVisible(), 'key form', 'visible', 'hidden');
  const stored = await page.evaluate(() => Object.values(sessionStorage));
  check(!stored.includes('bad-key'), 'sessionStorage after a 401', 'the bad key forgotten', JSON.stringify(stored));
  allowedConsole = [];
});

await step('a good key is kept in sessionStorage only and wiped from the address bar', async () => {
  const response = await open(`key=${encodeURIComponent(LAB_KEY)}`);
  const csp = response.headers()['content-security-policy'] ?? '';
  check(/script-src 'self'/.test(csp) && !/unsafe-inline|unsafe-eval/.test(csp), 'Content-Security-Policy of /lab',
    "script-src 'self', no unsafe-inline or unsafe-eval", csp || '(no header)');
  try {
    await page.locator('#collection-list[aria-busy="false"]').waitFor({ state: 'attached' });
  } catch {
    throw new Failure('the collection list', 'loaded', `still loading (error area: ${await errorText()})`);
  }
  const where = await page.evaluate(() => ({
    href: location.href,
    hash: location.hash,
    session: Object.values(sessionStorage),
    local: Object.values(localStorage),
    cookie: document.cookie,
  }));
  check(where.hash === '' && !where.href.includes(LAB_KEY), 'location after load', 'no fragment, no key', where.href);
  check(where.session.includes(LAB_KEY), 'sessionStorage', 'holds the key', JSON.stringify(where.session));
  check(!where.local.some((value) => value.includes(LAB_KEY)), 'localStorage', 'never the key', JSON.stringify(where.local));
  check(!where.cookie.includes(LAB_KEY), 'cookies', 'never the key', where.cookie);
  check(await page.locator('#app').isVisible(), 'the lab', 'visible', 'hidden');
  check(!(await page.locator('#error').isVisible()), 'error area', 'hidden', await errorText());
});

await step('a collection titled with HTML shows as literal text', async () => {
  const id = await createItem('#collection-list', '#collection-title', '#collection-create', XSS_TITLE);
  const item = page.locator(`#collection-list > li[data-id="${id}"]`);
  const title = await item.locator('.item-title').textContent();
  check(title === XSS_TITLE, 'list item title (textContent)', XSS_TITLE, title);
  const bold = await item.locator('b, script').count();
  check(bold === 0, '<b> or <script> elements in the list item', 0, bold);
  const heading = await page.locator('#target-name').textContent();
  check(heading === XSS_TITLE, 'target heading (textContent)', XSS_TITLE, heading);
});

let collectionId;
let maxBytes = null;
await step('a collection cover is uploaded, applied and shown as the API decided', async () => {
  collectionId = await createItem('#collection-list', '#collection-title', '#collection-create', 'Lab test');
  await page.click(`#collection-list > li[data-id="${collectionId}"] button`);
  await page.locator('#target-name', { hasText: 'Lab test' }).waitFor();
  const handleResponse = page.waitForResponse((response) => response.request().method() === 'POST'
    && response.url().endsWith(`/v1/collection/${collectionId}/cover`));
  await page.setInputFiles('#file', LAB_IMAGE);
  const handle = (await (await handleResponse).json()).collection_cover_upload;
  maxBytes = handle?.max_bytes ?? null;
  await waitForApplied('collection cover');

  const { collection } = await api(`/v1/collection/${collectionId}`);
  check(collection.cover_image && collection.player_color, 'the collection from the API', 'cover_image and player_color set',
    JSON.stringify({ cover_image: collection.cover_image, player_color: collection.player_color }));

  // Palette
  await page.locator('.swatch').first().waitFor();
  const swatches = await page.locator('.swatch').count();
  const active = await page.locator('.swatch.active').count();
  check(swatches >= 1, '.swatch count', '≥ 1', swatches);
  check(active === 1, '.swatch.active count', 1, active);
  const hexes = await page.locator('.swatch').evaluateAll((items) => items.map((item) => item.dataset.hex));
  const apiHexes = collection.image_colors.map((color) => color.hex);
  check(JSON.stringify(hexes) === JSON.stringify(apiHexes), 'swatches (data-hex)', apiHexes.join(' '), hexes.join(' '));

  // Players
  for (const [id, field] of [['player-cover', 'player_color'], ['player-light', 'player_color_light'], ['player-dark', 'player_color_dark']]) {
    const accent = page.locator(`#${id} .accent`);
    check(await accent.count() === 1, `#${id} .accent elements`, 1, await accent.count());
    const color = await accent.evaluate((node) => getComputedStyle(node).backgroundColor);
    check(color === hexToRgb(collection[field]), `#${id} accent background-color`, `${hexToRgb(collection[field])} (${field} ${collection[field]})`, color);
  }
  for (const id of ['player-light', 'player-dark']) {
    const text = (await page.locator(`#${id} .contrast`).textContent()).trim();
    const match = /^(\d+\.\d{2}):1$/.exec(text);
    check(match, `#${id} .contrast`, 'a ratio like 4.62:1', text);
    check(Number(match[1]) >= 4.5, `#${id} contrast`, '≥ 4.5:1', text);
  }

  // Theme: the three schemes, each painted with its roles and every ratio as the API reports it
  for (const name of ['cover', 'light', 'dark']) {
    const figure = page.locator(`.theme-scheme[data-scheme="${name}"]`);
    const scheme = collection.theme[name];
    const background = await figure.locator('.player-card').evaluate((node) => getComputedStyle(node).backgroundColor);
    check(background === hexToRgb(scheme.background), `${name} scheme background`, scheme.background, background);
    const play = await figure.locator('.player-play').evaluate((node) => [getComputedStyle(node).backgroundColor, getComputedStyle(node).color]);
    check(play[0] === hexToRgb(scheme.accent) && play[1] === hexToRgb(scheme.on_accent), `${name} play button`,
      `${scheme.accent} / ${scheme.on_accent}`, play.join(' / '));
    // Every word on the scheme's background is in one of its text roles, the caption too.
    const caption = await figure.locator('figcaption').evaluate((node) => getComputedStyle(node).color);
    check(caption === hexToRgb(scheme.text), `${name} caption color`, scheme.text, caption);
    const shown = await figure.locator('.ratios li').evaluateAll((items) => items.map((item) => [item.dataset.role, Number(item.dataset.ratio), item.className]));
    check(shown.length === 4, `${name} ratios listed`, 4, shown.length);
    for (const [role, ratio, verdict] of shown) {
      check(ratio === scheme.contrast[role] && verdict === 'pass', `${name}.${role} ratio`, `${scheme.contrast[role]} pass`, `${ratio} ${verdict}`);
    }
  }

  // Renditions at the sizes the API announces
  for (const size of SIZES) {
    const img = page.locator(`img.rendition[data-size="${size}"]`);
    check(await img.count() === 1, `img.rendition[data-size=${size}]`, 'present', 'missing');
    await page.waitForFunction((node) => node.complete, await img.elementHandle());
    const natural = await img.evaluate((node) => [node.naturalWidth, node.naturalHeight]);
    const announced = collection.cover_image[size];
    check(natural[0] === announced.width && natural[1] === announced.height, `${size} rendition size`,
      `${announced.width}×${announced.height} (cover_image.${size})`, `${natural[0]}×${natural[1]}`);
  }
  const regular = await page.locator('#cover-regular').getAttribute('src');
  check(regular === collection.cover_image.regular.url, '#cover-regular src', collection.cover_image.regular.url, regular);
  if (collection.blurhash) {
    check(await page.locator('#blurhash').isVisible(), '#blurhash canvas', 'painted (visible)', 'hidden');
  }
});

if (LAB_WEBHOOK_URL) {
  await step('the webhook endpoint shows the applied cover\'s event delivered', async () => {
    const endpoint = page.locator('#webhook-list > li', { hasText: LAB_WEBHOOK_URL });
    check(await endpoint.count() === 1, `#webhook-list entry for ${LAB_WEBHOOK_URL}`, 1, await endpoint.count());
    const delivered = endpoint.locator('.delivery[data-status="delivered"][data-event-type="cover_upload.applied"]');
    try {
      await delivered.first().waitFor({ timeout: 10_000 });
    } catch {
      throw new Failure('#webhook-list deliveries', 'a delivered cover_upload.applied',
        await endpoint.locator('.webhook-deliveries').innerText());
    }
    check(/· 200$/.test(await delivered.first().innerText()), 'the delivery\'s last answer', 'ends in "· 200"',
      await delivered.first().innerText());
  });
}

await step('a new track shows its collection\'s cover (collection fallback)', async () => {
  const trackId = await createItem('#track-list', '#track-title', '#track-create', 'Lab track');
  await page.click(`#track-list > li[data-id="${trackId}"] button`);
  await page.locator('#target-name', { hasText: 'Lab track' }).waitFor();
  const { collection } = await api(`/v1/collection/${collectionId}`);
  const source = await page.locator('#cover-source').textContent();
  check(/from the collection/.test(source), '#cover-source for a track without a cover', '"… from the collection"', source);
  const regular = await page.locator('#cover-regular').getAttribute('src');
  check(regular === collection.cover_image.regular.url, 'the track\'s displayed cover', collection.cover_image.regular.url, regular);

  if (LAB_ALPHA_IMAGE) {
    await page.setInputFiles('#file', LAB_ALPHA_IMAGE);
    await waitForApplied('track cover');
    const { track } = await api(`/v1/track/${trackId}`);
    const own = await page.locator('#cover-source').textContent();
    check(/own cover/.test(own), '#cover-source after the track\'s own upload', '"… own cover"', own);
    const shown = await page.locator('#cover-regular').getAttribute('src');
    check(shown === track.cover_image?.regular?.url && shown !== collection.cover_image.regular.url,
      'the track\'s displayed cover after its upload', track.cover_image?.regular?.url, shown);
  }
});

await step('the organization cover shows on a new collection (organization fallback)', async () => {
  const item = page.locator('#organization-list > li button');
  await item.click();
  await page.locator('#target-kind', { hasText: 'Organization' }).waitFor();
  await page.setInputFiles('#file', LAB_ALPHA_IMAGE || LAB_IMAGE);
  await waitForApplied('organization cover');
  const organizationId = await page.locator('#organization-list > li').getAttribute('data-id');
  const { organization } = await api(`/v1/organization/${organizationId}`);
  check(organization.cover_image && organization.theme, 'the organization from the API', 'cover_image and theme set',
    JSON.stringify({ cover_image: organization.cover_image, theme: organization.theme }));

  const id = await createItem('#collection-list', '#collection-title', '#collection-create', 'Lab fallback');
  await page.click(`#collection-list > li[data-id="${id}"] button`);
  await page.locator('#target-name', { hasText: 'Lab fallback' }).waitFor();
  const source = await page.locator('#cover-source').textContent();
  check(/from the organization/.test(source), '#cover-source for a collection without a cover', '"… from the organization"', source);
  const regular = await page.locator('#cover-regular').getAttribute('src');
  check(regular === organization.cover_image.regular.url, 'the collection\'s displayed cover', organization.cover_image.regular.url, regular);
  const colors = await page.locator('#colors-source').textContent();
  check(/from the organization/.test(colors), '#colors-source', '"(from the organization)"', colors);
  const figure = page.locator('.theme-scheme[data-scheme="cover"] .player-card');
  const background = await figure.evaluate((node) => getComputedStyle(node).backgroundColor);
  check(background === hexToRgb(organization.theme.cover.background), 'the fallback theme\'s cover background',
    organization.theme.cover.background, background);
});

await step('screenshots in the light and the dark theme', async () => {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.click(`#collection-list > li[data-id="${collectionId}"] button`);
  await page.locator('img.rendition[data-size="large"]').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('#result img:not([hidden])')].every((img) => img.complete)
    && document.querySelector('#cover-regular').classList.contains('loaded'));
  await page.waitForTimeout(450); // the cover's fade-in
  const backgrounds = [];
  for (const theme of ['light', 'dark']) {
    // Without data-theme the page follows the system: at most two clicks reach either theme.
    for (let clicks = 0; clicks < 2 && await page.evaluate(() => document.documentElement.dataset.theme) !== theme; clicks++) {
      await page.click('#theme-toggle');
    }
    const found = await page.evaluate(() => document.documentElement.dataset.theme);
    check(found === theme, 'data-theme on <html> after the toggle', theme, found);
    backgrounds.push(await page.evaluate(() => getComputedStyle(document.body).backgroundColor));
    const file = path.join(SCREENSHOT_DIR, `lab-${theme}.png`);
    await page.screenshot({ path: file, fullPage: true });
    console.log(`   saved ${file}`);
  }
  const [light, dark] = backgrounds;
  check(light !== dark, 'page background in the two themes', 'different', `${light} and ${dark}`);
});

const temporary = [];
await step('a file that is not an image is refused before anything is uploaded', async () => {
  const dir = os.tmpdir();
  const cases = [
    { file: path.join(dir, 'cover-lab-notes.txt'), bytes: Buffer.from('not an image\n'), expect: /not an image/ },
    // An image type by its extension, but text inside: the magic bytes give it away.
    { file: path.join(dir, 'cover-lab-fake.png'), bytes: Buffer.from('definitely not a PNG\n'), expect: /not an image/ },
  ];
  if (maxBytes && maxBytes <= 64 * 1024 * 1024) {
    // A real PNG signature, one byte over the limit: refused with the limit named.
    const big = Buffer.alloc(maxBytes + 1);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(big);
    cases.push({ file: path.join(dir, 'cover-lab-too-big.png'), bytes: big, expect: /the limit is/, handleAllowed: true });
  }
  for (const { file, bytes, expect, handleAllowed } of cases) {
    await writeFile(file, bytes);
    temporary.push(file);
    const from = requests.length;
    await page.setInputFiles('#file', file);
    try {
      await page.locator('#error', { hasText: expect }).waitFor();
    } catch {
      throw new Failure(`refusing ${path.basename(file)}`, `an error matching ${expect}`, await errorText());
    }
    const made = requests.slice(from);
    const toStore = made.filter((request) => new URL(request.url).origin !== ORIGIN && request.method === 'POST');
    check(toStore.length === 0, `requests to the store for ${path.basename(file)}`, 'none',
      toStore.map((request) => `${request.method} ${request.url}`).join(', '));
    const handles = made.filter((request) => request.method === 'POST' && /\/cover$/.test(request.url));
    check(handleAllowed || handles.length === 0, `upload handles requested for ${path.basename(file)}`, 'none',
      handles.map((request) => request.url).join(', '));
    const status = await page.locator('#upload-status').getAttribute('data-status');
    check(status === 'refused', `#upload-status for ${path.basename(file)}`, 'refused', status);
  }
});

await browser.close();
await Promise.all(temporary.map((file) => rm(file, { force: true })));
if (!process.env.LAB_KEEP) {
  // Tracks and cover uploads go with their collection.
  for (const id of created) await api(`/v1/collection/${id}`, 'DELETE');
}
console.log(`all ${stepNumber} steps passed${process.env.LAB_KEEP ? '' : `; deleted the ${created.length} collections it created`}`);
