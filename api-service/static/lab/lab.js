// The cover lab: pick a collection or a track, upload a cover straight to the store with the
// API's presigned form, follow the upload until the worker applies it, and show what the API
// decided (palette, player colors and their contrast, renditions, BlurHash placeholder).
//
// Served under a strict CSP (no inline script or style): nothing here uses innerHTML, style
// attributes or eval; API data only ever reaches the page through textContent and CSSOM
// property sets. The pure helpers are exported so they can be tested outside a browser.

const KEY_STORAGE = 'coverLab.apiKey';
const PAGE_LIMIT = 200; // the API's maximum `limit`
const WEBHOOK_DELIVERIES = 5; // latest deliveries shown per endpoint
const POLL_INTERVAL_MS = 500;
const POLL_LIMIT_MS = 120_000;
const SIZES = ['icon', 'small', 'regular', 'large'];
const STEPS = ['uploading', 'pending', 'processing', 'applied'];
const TERMINAL = new Set(['applied', 'failed', 'expired', 'superseded']);
const MIN_CONTRAST = 4.5; // WCAG 2.x AA for normal text, the API's target for the variants

// ---------------------------------------------------------------------------------------------
// Pure helpers

const BASE83 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function decode83(text) {
  let value = 0;
  for (const char of text) {
    const digit = BASE83.indexOf(char);
    if (digit < 0) throw new Error(`invalid BlurHash character ${JSON.stringify(char)}`);
    value = value * 83 + digit;
  }
  return value;
}

/** sRGB channel (0–255) to linear light (0–1). */
export function srgbToLinear(channel) {
  const v = channel / 255;
  return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
}

function linearToSrgb(value) {
  const v = Math.min(1, Math.max(0, value));
  return Math.trunc((v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5);
}

const signPow = (value, exponent) => Math.sign(value) * Math.abs(value) ** exponent;

/**
 * Decodes a BlurHash (Wolt's algorithm) into `width`×`height` RGBA pixels. Throws on a
 * malformed hash.
 */
export function decodeBlurhash(hash, width, height, punch = 1) {
  if (typeof hash !== 'string' || hash.length < 6) throw new Error('BlurHash too short');
  const sizeFlag = decode83(hash[0]);
  const componentsY = Math.floor(sizeFlag / 9) + 1;
  const componentsX = (sizeFlag % 9) + 1;
  if (hash.length !== 4 + 2 * componentsX * componentsY) {
    throw new Error(`BlurHash length ${hash.length} does not match ${componentsX}×${componentsY} components`);
  }
  const maxAc = ((decode83(hash[1]) + 1) / 166) * punch;
  const colors = [];
  const dc = decode83(hash.slice(2, 6));
  colors.push([srgbToLinear(dc >> 16), srgbToLinear((dc >> 8) & 255), srgbToLinear(dc & 255)]);
  for (let i = 1; i < componentsX * componentsY; i++) {
    const ac = decode83(hash.slice(4 + i * 2, 6 + i * 2));
    colors.push([Math.floor(ac / 361), Math.floor(ac / 19) % 19, ac % 19]
      .map((q) => signPow((q - 9) / 9, 2) * maxAc));
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0, g = 0, b = 0;
      for (let j = 0; j < componentsY; j++) {
        for (let i = 0; i < componentsX; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * Math.cos((Math.PI * y * j) / height);
          const color = colors[i + j * componentsX];
          r += color[0] * basis;
          g += color[1] * basis;
          b += color[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = linearToSrgb(r);
      pixels[at + 1] = linearToSrgb(g);
      pixels[at + 2] = linearToSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** `#rrggbb` (either case) to `[r, g, b]`. */
export function hexToRgb(hex) {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`not a #rrggbb color: ${hex}`);
  return match.slice(1).map((part) => parseInt(part, 16));
}

/** WCAG 2.x relative luminance of `#rrggbb`. */
export function relativeLuminance(hex) {
  const [r, g, b] = hexToRgb(hex).map(srgbToLinear);
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG 2.x contrast ratio of two `#rrggbb` colors, 1–21. */
export function contrastRatio(a, b) {
  const [light, dark] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/**
 * `4.62:1`. Truncated, not rounded: a ratio of 4.496 must not read "4.50:1" next to a fail
 * mark. The epsilon keeps 4.57 from printing as 4.56 through floating-point error.
 */
export function formatRatio(ratio) {
  return `${(Math.floor(ratio * 100 + 1e-9) / 100).toFixed(2)}:1`;
}

/** `hsl(210, 50%, 40%)` from an `image_colors` entry (hue in degrees, the rest 0–1). */
export function formatHsl({ hue, saturation, lightness }) {
  const pct = (value) => `${Math.round(value * 100)}%`;
  return `hsl(${Math.round(hue) % 360}, ${pct(saturation)}, ${pct(lightness)})`;
}

/** Whichever of black and white reads better on `hex`. */
export function textColorOn(hex) {
  return contrastRatio(hex, '#000000') >= contrastRatio(hex, '#ffffff') ? '#000000' : '#ffffff';
}

/** The image format the first bytes of a file announce, or null. */
export function sniffImage(bytes) {
  const ascii = (from, to) => String.fromCharCode(...bytes.slice(from, to));
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return { name: 'JPEG', mime: 'image/jpeg' };
  if (bytes[0] === 0x89 && ascii(1, 4) === 'PNG') return { name: 'PNG', mime: 'image/png' };
  if (ascii(0, 4) === 'GIF8') return { name: 'GIF', mime: 'image/gif' };
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return { name: 'WebP', mime: 'image/webp' };
  return null;
}

/** `12.3 MiB`, `20 MiB`, `3.2 KiB`, `512 bytes`. */
export function formatBytes(bytes) {
  const units = [['MiB', 1024 ** 2], ['KiB', 1024]];
  for (const [unit, size] of units) {
    if (bytes >= size) {
      const value = bytes / size;
      return `${Number.isInteger(value) ? value : value.toFixed(1)} ${unit}`;
    }
  }
  return `${bytes} bytes`;
}

// ---------------------------------------------------------------------------------------------
// API client

/** fetch itself failed (network down, connection refused): nothing is known about the outcome. */
class NetworkError extends Error {}
/** The API answered 401. */
class KeyRejected extends Error {}
/** Any other error envelope. */
class ApiError extends Error {
  constructor(status, body) {
    super(body?.message ?? `The API answered HTTP ${status}`);
    this.status = status;
    this.code = body?.code;
    this.requestId = body?.api_request_id;
  }
}
/** Something the page refuses itself; `detail` is optional small print. */
class Refusal extends Error {
  constructor(message, detail = '') {
    super(message);
    this.detail = detail;
  }
}

const state = {
  key: null,
  collections: [],
  collection: null,
  tracks: [],
  organization: null,
  target: null, // {kind: 'organization' | 'collection' | 'track', item}
  followed: 0, // bumped to stop following an upload
};

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${state.key}` };
  const init = { method, headers, cache: 'no-store', credentials: 'omit' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new NetworkError(`${method} ${path}: ${error.message}`);
  }
  const payload = await response.json().catch(() => null);
  if (response.status === 401) throw new KeyRejected(payload?.message ?? 'HTTP 401');
  if (!response.ok || payload?.ok !== true) throw new ApiError(response.status, payload);
  return payload;
}

/** Every page of a list endpoint (`name` is the array's field). */
async function listAll(path, name) {
  const items = [];
  for (let offset = 0; ; offset += PAGE_LIMIT) {
    const page = await api('GET', `${path}?limit=${PAGE_LIMIT}&offset=${offset}`);
    items.push(...page[name]);
    if (page.count < PAGE_LIMIT) return items;
  }
}

/** The key from `#key=…` (stored, then wiped from the address bar) or this tab's storage. */
function readKey() {
  const fragmentKey = new URLSearchParams(location.hash.slice(1)).get('key');
  if (fragmentKey !== null) {
    if (fragmentKey.trim()) sessionStorage.setItem(KEY_STORAGE, fragmentKey.trim());
    // Not in the address bar, the history, a bookmark or a screenshot.
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(KEY_STORAGE);
}

// ---------------------------------------------------------------------------------------------
// DOM helpers

const $ = (selector, root = document) => root.querySelector(selector);

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function showError(message, { detail = '', retry = null } = {}) {
  $('#error-message').textContent = message;
  $('#error-detail').textContent = detail;
  const button = $('#retry');
  button.hidden = !retry;
  button.onclick = retry;
  $('#error').hidden = false;
}

function clearError() {
  $('#error').hidden = true;
  $('#retry').onclick = null;
}

/** Runs a user action, turning its failure into a message people can act on. */
async function attempt(action) {
  clearError();
  try {
    await action();
  } catch (error) {
    report(error, () => attempt(action));
  }
}

function report(error, retry) {
  if (error instanceof KeyRejected) {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    showKeyForm();
    showError('This key is not valid. Enter another API key.', { detail: error.message });
  } else if (error instanceof NetworkError) {
    showError('Could not reach the API (network error).', { detail: error.message, retry });
  } else if (error instanceof ApiError) {
    const detail = [error.code, `HTTP ${error.status}`, error.requestId && `request ${error.requestId}`];
    showError(error.message, { detail: detail.filter(Boolean).join(' · ') });
  } else if (error instanceof Refusal) {
    showError(error.message, { detail: error.detail });
  } else {
    console.error(error);
    showError(`Unexpected error: ${error.message}`);
  }
}

function showKeyForm() {
  $('#app').hidden = true;
  $('#forget-key').hidden = true;
  $('#key-form').hidden = false;
  $('#key-input').focus();
}

function showApp() {
  $('#key-form').hidden = true;
  $('#app').hidden = false;
  $('#forget-key').hidden = false;
}

// ---------------------------------------------------------------------------------------------
// Collections and tracks

const trackTitle = (track) => track.player_title || track.file_name || `Track #${track.organization_index}`;
const titleOf = ({ kind, item }) => (kind === 'track' ? trackTitle(item) : item.title ?? item.name);

function renderItems(list, items, { itemClass, title, meta, selectedId, onPick }) {
  list.replaceChildren(...items.map((item) => {
    const li = el('li', itemClass);
    li.dataset.id = item.id;
    li.dataset.testid = itemClass;
    const button = el('button', 'item');
    button.type = 'button';
    if (item.id === selectedId) button.setAttribute('aria-current', 'true');
    const thumb = el('span', 'item-thumb');
    const icon = item.cover_image?.icon?.url;
    if (icon) {
      const img = el('img');
      img.alt = '';
      img.src = icon;
      thumb.append(img);
    } else if (item.player_color) {
      thumb.style.backgroundColor = item.player_color;
    }
    const text = el('span', 'item-text');
    text.append(el('span', 'item-title', title(item)), el('span', 'item-meta', meta(item)));
    button.append(thumb, text);
    button.addEventListener('click', () => attempt(() => onPick(item.id)));
    li.append(button);
    return li;
  }));
}

function renderOrganization() {
  const organization = state.organization;
  $('#organization').hidden = !organization;
  if (!organization) return;
  renderItems($('#organization-list'), [organization], {
    itemClass: 'organization-item',
    title: (item) => item.name,
    meta: (item) => ['fallback cover', item.player_color].filter(Boolean).join(' · '),
    selectedId: state.target?.kind === 'organization' ? organization.id : null,
    onPick: () => setTarget({ kind: 'organization', item: state.organization }),
  });
}

/** The caller's organization, whose id the API names in every collection. */
async function loadOrganization(id) {
  if (!id) return;
  state.organization = (await api('GET', `/v1/organization/${id}`)).organization;
  renderOrganization();
  await loadWebhooks();
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/** The endpoints and their latest deliveries; returns whether a delivery is still pending. */
async function loadWebhooks() {
  let endpoints;
  try {
    endpoints = (await api('GET', '/v1/webhook_endpoint')).webhook_endpoints;
  } catch (error) {
    // A key scoped to one collection may not see the organization's endpoints.
    if (!(error instanceof ApiError && error.status === 403)) throw error;
    endpoints = [];
  }
  const shown = await Promise.all(endpoints.map(async (endpoint) => ({
    endpoint,
    deliveries: (await api('GET', `/v1/webhook_endpoint/${endpoint.id}/deliveries?limit=${WEBHOOK_DELIVERIES}`))
      .webhook_deliveries,
  })));
  renderWebhooks(shown);
  return shown.some(({ deliveries }) => deliveries.some((delivery) => delivery.status === 'pending'));
}

function renderWebhooks(shown) {
  $('#webhooks').hidden = shown.length === 0;
  $('#webhook-list').replaceChildren(...shown.map(({ endpoint, deliveries }) => {
    const li = el('li', 'webhook-endpoint');
    li.dataset.id = endpoint.id;
    li.append(el('div', 'webhook-url', endpoint.url));
    li.append(endpoint.disabled_at
      ? el('div', 'meta disabled', `Disabled: ${endpoint.disabled_reason}`)
      : el('div', 'meta', endpoint.events.join(', ')));
    const list = el('ul', 'webhook-deliveries');
    list.append(...deliveries.map((delivery) => {
      const last = delivery.attempts.at(-1);
      const answer = last ? (last.status_code ?? last.error) : 'not sent yet';
      const attempts = `${delivery.attempts.length} attempt${delivery.attempts.length === 1 ? '' : 's'}`;
      const item = el('li', `delivery ${delivery.status}`,
        `${delivery.event_type} · ${delivery.status} · ${attempts} · ${answer}`);
      item.dataset.status = delivery.status;
      item.dataset.eventType = delivery.event_type;
      return item;
    }));
    if (deliveries.length === 0) list.append(el('li', 'meta', 'No deliveries yet.'));
    li.append(list);
    return li;
  }));
}

/** After an upload ends, its event is on its way: follow until nothing is pending (≤ 15 s). */
async function followWebhooks() {
  for (let tries = 0; tries < 15 && (await loadWebhooks()); tries++) await sleep(1000);
}

function renderCollections() {
  renderItems($('#collection-list'), state.collections, {
    itemClass: 'collection-item',
    title: (collection) => collection.title,
    meta: (collection) => [`#${collection.organization_index}`, collection.player_color].filter(Boolean).join(' · '),
    selectedId: state.target?.kind === 'collection' ? state.target.item.id : state.collection?.id,
    onPick: pickCollection,
  });
  $('#collection-empty').hidden = state.collections.length > 0;
}

function renderTracks() {
  $('#tracks').hidden = !state.collection;
  if (!state.collection) return;
  $('#tracks-heading').textContent = `Tracks of “${state.collection.title}”`;
  renderItems($('#track-list'), state.tracks, {
    itemClass: 'track-item',
    title: trackTitle,
    meta: (track) => [`#${track.organization_index}`, track.player_color].filter(Boolean).join(' · '),
    selectedId: state.target?.kind === 'track' ? state.target.item.id : null,
    onPick: pickTrack,
  });
  $('#track-empty').hidden = state.tracks.length > 0;
}

async function loadCollections() {
  const list = $('#collection-list');
  list.setAttribute('aria-busy', 'true');
  try {
    state.collections = (await listAll('/v1/collection', 'collections')).reverse(); // newest first
    renderCollections();
    await loadOrganization(state.collections[0]?.organization_id);
  } finally {
    list.setAttribute('aria-busy', 'false');
  }
}

async function pickCollection(id) {
  const collection = state.collections.find((item) => item.id === id);
  state.collection = collection;
  setTarget({ kind: 'collection', item: collection });
  state.tracks = [];
  renderTracks();
  state.tracks = await listAll(`/v1/collection/${collection.id}/track`, 'tracks');
  if (state.collection === collection) renderTracks();
}

async function pickTrack(id) {
  setTarget({ kind: 'track', item: state.tracks.find((item) => item.id === id) });
}

function setTarget(target) {
  state.target = target;
  state.followed++; // the status box belongs to the target: stop following another's upload
  setStatus('idle', 'No upload yet.');
  renderOrganization();
  renderCollections();
  renderTracks();
  renderTarget();
}

/** Forgets everything picked (and stops following an upload): another key may see other data. */
function resetSelection() {
  Object.assign(state, { organization: null, collections: [], collection: null, tracks: [], target: null });
  setTarget(null);
}

/** Swaps fresh copies of `items` into the lists and the selection. */
function replaceItems(...items) {
  for (const item of items) {
    const list = 'collection_id' in item ? state.tracks : state.collections;
    const at = list.findIndex((old) => old.id === item.id);
    if (at >= 0) list[at] = item;
    if (state.collection?.id === item.id) state.collection = item;
    if (state.target?.item.id === item.id) state.target.item = item;
  }
  renderCollections();
  renderTracks();
  renderTarget();
}

async function refreshTarget({ kind, item }) {
  if (kind === 'organization') {
    // Its cover shows wherever a collection or track has none: every list may change.
    await loadOrganization(item.id);
    state.target.item = state.organization;
    await loadCollections();
    if (state.collection) state.tracks = await listAll(`/v1/collection/${state.collection.id}/track`, 'tracks');
    replaceItems(...state.collections, ...state.tracks);
  } else if (kind === 'collection') {
    replaceItems((await api('GET', `/v1/collection/${item.id}`)).collection);
  } else {
    const [{ track }, { collection }] = await Promise.all([
      api('GET', `/v1/track/${item.id}`),
      api('GET', `/v1/collection/${item.collection_id}`),
    ]);
    replaceItems(collection, track);
  }
}

// ---------------------------------------------------------------------------------------------
// Target and result

const sameCover = (a, b) => Boolean(a && b && a.regular?.url === b.regular?.url);

/** Which level of the fallback chain (own, collection, organization) `same` picks for `item`. */
function sourceOf(item, collection, organization, same) {
  if (collection && collection !== item && same(item, collection)) return 'collection';
  if (organization && same(item, organization)) return 'organization';
  return 'own';
}

const sameColors = (a, b) => Boolean(a.player_color) && a.player_color === b.player_color
  && JSON.stringify(a.image_colors) === JSON.stringify(b.image_colors);

/** Where the target's cover and colors come from: the API resolves the fallback, the page names it. */
function coverView({ kind, item }, collection, organization) {
  if (kind === 'organization') {
    return {
      cover: item, colors: item,
      coverSource: item.cover_image ? 'Shows its own cover: the fallback of every collection and track.'
        : 'No cover yet: upload one to give every collection and track without a cover one.',
      colorsSource: '',
    };
  }
  const parent = kind === 'track' ? collection : null;
  const coverFrom = sourceOf(item, parent, organization, (a, b) => sameCover(a.cover_image, b.cover_image));
  const colorsFrom = sourceOf(item, parent, organization, sameColors);
  const none = kind === 'track' ? 'No cover yet (nor on its collection or organization).' : 'No cover yet: upload one.';
  return {
    cover: item,
    colors: item,
    coverSource: !item.cover_image ? none
      : coverFrom === 'collection' ? 'Shows its collection’s cover (collection fallback): from the collection.'
        : coverFrom === 'organization' ? 'Shows its organization’s cover (organization fallback): from the organization.'
          : 'Shows its own cover.',
    colorsSource: colorsFrom === 'own' ? '' : `(from the ${colorsFrom})`,
  };
}

function renderTarget() {
  const target = state.target;
  $('#file').disabled = !target;
  if (!target) {
    $('#target-kind').textContent = 'No target';
    $('#target-name').textContent = 'Pick the organization, a collection or a track';
    $('#cover-source').textContent = '';
    $('#result').hidden = true;
    return;
  }
  $('#target-kind').textContent = { organization: 'Organization', collection: 'Collection' }[target.kind]
    ?? `Track in “${state.collection.title}”`;
  $('#target-name').textContent = titleOf(target);
  const view = coverView(target, state.collection, state.organization);
  $('#cover-source').textContent = view.coverSource;
  $('#colors-source').textContent = view.colorsSource;
  const hasAnything = view.cover.cover_image || view.cover.blurhash || view.colors.player_color || view.colors.image_colors;
  $('#result').hidden = !hasAnything;
  if (!hasAnything) return;
  paintCover(view.cover.blurhash, view.cover.cover_image);
  renderPalette(view.colors.image_colors ?? []);
  renderPlayers(view.colors, view.cover.cover_image, target);
  renderThemes(view.colors.theme, view.cover.cover_image, target);
  renderRenditions(view.cover.cover_image);
}

/** The BlurHash placeholder at once, the regular rendition over it when it has loaded. */
function paintCover(blurhash, coverImage) {
  const canvas = $('#blurhash');
  canvas.hidden = true;
  if (blurhash) {
    try {
      const pixels = decodeBlurhash(blurhash, canvas.width, canvas.height);
      canvas.getContext('2d').putImageData(new ImageData(pixels, canvas.width, canvas.height), 0, 0);
      canvas.hidden = false;
    } catch (error) {
      console.warn(`Cannot paint BlurHash ${blurhash}: ${error.message}`);
    }
  }
  const img = $('#cover-regular');
  const url = coverImage?.regular?.url;
  if (!url) {
    img.hidden = true;
    img.removeAttribute('src');
  } else if (img.getAttribute('src') !== url) {
    img.classList.remove('loaded');
    img.onload = () => img.classList.add('loaded');
    img.src = url;
    img.hidden = false;
  }
  $('#cover-empty').hidden = Boolean(blurhash || url);
}

function renderPalette(colors) {
  const totalArea = colors.reduce((sum, color) => sum + Math.max(0, color.area), 0);
  const swatches = colors.map((color) => {
    const hsl = formatHsl(color);
    const swatch = el('div', color.active ? 'swatch active' : 'swatch');
    swatch.dataset.hex = color.hex;
    swatch.setAttribute('role', 'listitem');
    swatch.title = `${color.hex} · ${hsl} · ${(color.area * 100).toFixed(1)}% of the image`;
    // Widths proportional to area (colors set by a PUT may all have area 0: equal widths).
    swatch.style.flexGrow = String(totalArea > 0 ? Math.max(0, color.area) : 1);
    swatch.style.backgroundColor = color.hex;
    swatch.style.color = textColorOn(color.hex);
    swatch.append(el('span', 'swatch-hex', color.hex), el('span', 'swatch-hsl', hsl));
    if (color.active) swatch.append(el('span', 'swatch-active', '★ active'));
    return swatch;
  });
  const palette = $('#palette');
  palette.setAttribute('role', 'list');
  palette.replaceChildren(...swatches);
  $('#palette-legend').hidden = colors.length === 0;
  $('#palette-legend tbody').replaceChildren(...colors.map((color) => {
    const row = el('tr', color.active ? 'active' : '');
    const chip = el('span', 'chip');
    chip.style.backgroundColor = color.hex;
    const chipCell = el('td');
    chipCell.append(chip);
    row.append(chipCell, el('td', 'mono', color.hex), el('td', 'mono', formatHsl(color)),
      el('td', 'num', `${(color.area * 100).toFixed(1)}%`), el('td', '', color.active ? '★ active' : ''));
    return row;
  }));
}

function renderPlayers(colors, coverImage, target) {
  const players = [
    { id: 'player-cover', color: colors.player_color, page: null },
    { id: 'player-light', color: colors.player_color_light, page: '#ffffff' },
    { id: 'player-dark', color: colors.player_color_dark, page: '#000000' },
  ];
  $('#players-box').hidden = !colors.player_color;
  const subtitle = target.item.player_subtitle
    || (target.kind === 'collection' ? 'Collection' : state.collection.title);
  for (const { id, color, page } of players) {
    const container = $(`#${id}`);
    const figure = container.closest('figure');
    figure.hidden = !color;
    if (!color) continue;
    $('.color-name', figure).textContent = color;
    container.replaceChildren($('#player-template').content.cloneNode(true));
    const thumb = $('.player-thumb', container);
    const thumbUrl = coverImage?.small?.url ?? coverImage?.icon?.url;
    if (thumbUrl) thumb.src = thumbUrl;
    else thumb.hidden = true;
    $('.player-title', container).textContent = titleOf(target);
    $('.player-subtitle', container).textContent = subtitle;
    const card = $('.player-card', container);
    const play = $('.player-play', container);
    const fill = $('.player-progress-fill', container);
    let ratio;
    if (!page) {
      // The player's whole surface is the accent; its text is black or white, whichever reads.
      const text = textColorOn(color);
      card.classList.add('accent');
      card.style.backgroundColor = color;
      card.style.color = text;
      play.style.backgroundColor = text;
      play.style.color = color;
      fill.style.backgroundColor = text;
      ratio = contrastRatio(text, color);
      $('.contrast-label', container).textContent = `Text ${text} on ${color}:`;
    } else {
      // On a themed page the accent colors the controls and the subtitle text.
      play.classList.add('accent');
      play.style.backgroundColor = color;
      play.style.color = page;
      fill.style.backgroundColor = color;
      $('.player-subtitle', container).style.color = color;
      ratio = contrastRatio(color, page);
      $('.contrast-label', container).textContent = `${color} on ${page}:`;
    }
    $('.contrast', container).textContent = formatRatio(ratio);
    const check = $('.contrast-check', container);
    const pass = ratio >= MIN_CONTRAST;
    check.textContent = pass ? '✓ passes 4.5:1' : '✗ below 4.5:1';
    check.className = `contrast-check ${pass ? 'pass' : 'fail'}`;
  }
}

/** What each theme role must reach, as WCAG 2.1 sets it. */
const THEME_MINIMUMS = { text: 4.5, text_secondary: 4.5, accent: 3, on_accent: 4.5 };

function renderThemes(theme, coverImage, target) {
  $('#themes-box').hidden = !theme;
  if (!theme) return;
  for (const figure of document.querySelectorAll('.theme-scheme')) {
    const scheme = theme[figure.dataset.scheme];
    const container = $('.player', figure);
    container.replaceChildren($('#player-template').content.cloneNode(true));
    $('.contrast-line', container).remove();
    const card = $('.player-card', container);
    card.style.backgroundColor = scheme.background;
    card.style.color = scheme.text;
    figure.style.backgroundColor = scheme.background;
    const thumb = $('.player-thumb', container);
    const thumbUrl = coverImage?.small?.url ?? coverImage?.icon?.url;
    if (thumbUrl) thumb.src = thumbUrl;
    else thumb.hidden = true;
    $('.player-title', container).textContent = titleOf(target);
    const subtitle = $('.player-subtitle', container);
    subtitle.textContent = target.item.player_subtitle || (target.kind === 'collection' ? 'Collection' : state.collection.title);
    subtitle.style.color = scheme.text_secondary;
    subtitle.style.opacity = 1;
    $('.player-progress-fill', container).style.backgroundColor = scheme.accent;
    const play = $('.player-play', container);
    play.classList.add('accent');
    play.style.backgroundColor = scheme.accent;
    play.style.color = scheme.on_accent;
    $('figcaption', figure).style.color = scheme.text;
    const ratios = $('.ratios', figure);
    ratios.style.color = scheme.text;
    ratios.replaceChildren(...Object.entries(THEME_MINIMUMS).map(([role, minimum]) => {
      const ratio = scheme.contrast[role];
      const item = el('li', ratio >= minimum ? 'pass' : 'fail',
        `${role} ${scheme[role]}: ${ratio.toFixed(2)}:1 ${ratio >= minimum ? '✓' : '✗'} ≥ ${minimum}:1`);
      item.dataset.role = role;
      item.dataset.ratio = String(ratio);
      return item;
    }));
  }
}

function renderRenditions(coverImage) {
  const box = $('#renditions');
  if (!coverImage) {
    box.replaceChildren(el('p', 'hint', 'No renditions yet.'));
    return;
  }
  box.replaceChildren(...SIZES.filter((size) => coverImage[size]).map((size) => {
    const rendition = coverImage[size];
    const figure = el('figure', 'rendition-figure');
    const img = el('img', 'rendition');
    img.dataset.size = size;
    img.alt = `${size} rendition`;
    // Half size: the four fit in one row with their relative sizes intact (1:1 on a 2× screen).
    img.style.width = `${rendition.width / 2}px`;
    const natural = el('span', 'rendition-natural', 'loading…');
    const bytes = el('span', 'rendition-bytes', '…');
    img.addEventListener('load', () => { natural.textContent = `${img.naturalWidth}×${img.naturalHeight} px`; });
    img.addEventListener('error', () => { natural.textContent = 'failed to load'; });
    img.src = rendition.url;
    // No key: the unguessable upload id in the URL is the capability.
    fetch(rendition.url, { credentials: 'omit' })
      .then((response) => (response.ok ? response.blob() : Promise.reject(new Error(`HTTP ${response.status}`))))
      .then((blob) => { bytes.textContent = `${formatBytes(blob.size)} · ${blob.type || 'unknown type'}`; })
      .catch((error) => { bytes.textContent = `size unavailable (${error.message})`; });
    const caption = el('figcaption');
    caption.append(el('strong', '', size), natural, bytes);
    figure.append(img, caption);
    return figure;
  }));
}

// ---------------------------------------------------------------------------------------------
// Uploading

const STATUS_TEXT = {
  pending: 'waiting for the store’s notification (or the reconciler)',
  processing: 'the worker is extracting the colors',
  applied: 'the cover and its colors are applied',
  expired: 'the handle expired before the store had the file',
  superseded: 'a later upload for the same target won',
};

let reachedStep = -1; // the furthest of STEPS the current upload got to

function setStatus(status, text) {
  const box = $('#upload-status');
  box.dataset.status = status;
  box.textContent = text;
  const at = STEPS.indexOf(status);
  if (at >= 0) reachedStep = at;
  else if (status === 'idle' || status === 'checking') reachedStep = -1;
  // failed, expired, superseded, timeout, …: the step after the last one reached failed; a
  // refusal fails the step it happened in.
  const ended = at < 0 && reachedStep >= 0;
  const failedAt = status === 'refused' ? reachedStep : reachedStep + 1;
  for (const item of $('#upload-steps').children) {
    const index = STEPS.indexOf(item.dataset.step);
    if (ended) item.className = index < failedAt ? 'done' : index === failedAt ? 'failed' : '';
    else item.className = index < reachedStep || (index === reachedStep && status === 'applied') ? 'done'
      : index === reachedStep ? 'current' : '';
  }
}

/** Refuses a file that is not a JPEG, PNG, GIF or WebP image; returns its sniffed format. */
async function checkImage(file) {
  if (!file.type.startsWith('image/')) {
    throw new Refusal(`“${file.name}” is not an image (its type is ${file.type || 'unknown'}). Choose a JPEG, PNG, GIF or WebP file.`);
  }
  const format = sniffImage(new Uint8Array(await file.slice(0, 12).arrayBuffer()));
  if (!format) {
    throw new Refusal(`“${file.name}” is not an image the API can read: its first bytes are not those of a JPEG, PNG, GIF or WebP file.`);
  }
  return format;
}

/** POSTs the form S3 expects; `{refused: message}` when the store answered with an error. */
async function postToStore(handle, file, contentType) {
  const form = new FormData();
  const fields = handle.fields ?? {};
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  // The policy only pins `starts-with $Content-Type image/`: the value is ours to send. The
  // sniffed type, not file.type, which comes from the file name's extension.
  if (!Object.keys(fields).some((name) => name.toLowerCase() === 'content-type')) {
    form.append('Content-Type', contentType);
  }
  // S3 ignores every field after the file, so it goes last.
  form.append(handle.file_field ?? 'file', file, file.name);
  let response;
  try {
    response = await fetch(handle.upload_url, { method: 'POST', body: form });
  } catch {
    // CORS or the network: the store may still have the file. Only the API can tell.
    return {};
  }
  if (response.ok) return {};
  const text = await response.text().catch(() => '');
  const xml = new DOMParser().parseFromString(text, 'application/xml');
  const code = xml.querySelector('Code')?.textContent ?? '';
  return {
    refused: xml.querySelector('Message')?.textContent || code || `HTTP ${response.status}`,
    detail: [code, `HTTP ${response.status}`].filter(Boolean).join(' · '),
  };
}

async function uploadCover(file) {
  const target = state.target;
  if (!target) throw new Refusal('Pick the organization, a collection or a track first.');
  const followed = ++state.followed;
  let sent = false;
  try {
    setStatus('checking', `Checking “${file.name}”…`);
    const format = await checkImage(file);
    const { kind, item } = target;
    const response = await api('POST', `/v1/${kind}/${item.id}/cover`);
    const handle = response[`${kind}_cover_upload`];
    if (file.size > handle.max_bytes) {
      throw new Refusal(`This file is ${formatBytes(file.size)}; the limit is ${formatBytes(handle.max_bytes)}.`);
    }
    setStatus('uploading', `Uploading ${formatBytes(file.size)} (${format.name}) to the store…`);
    const stored = await postToStore(handle, file, format.mime);
    if (stored.refused) throw new Refusal(`The store refused the upload: ${stored.refused}`, stored.detail);
    sent = true;
    await follow(handle.id, target, followed);
  } catch (error) {
    if (followed === state.followed) {
      setStatus(sent ? 'unknown' : 'refused',
        sent ? 'Stopped following the upload: see the message above.' : 'Not uploaded: see the message above.');
    }
    throw error;
  }
}

/** Polls the upload until it ends (or 2 minutes pass), painting the placeholder early. */
async function follow(uploadId, target, followed) {
  const deadline = Date.now() + POLL_LIMIT_MS;
  let last = null;
  let painted = false;
  while (followed === state.followed) {
    let upload = null;
    try {
      upload = (await api('GET', `/v1/cover_upload/${uploadId}`)).cover_upload;
    } catch (error) {
      if (!(error instanceof NetworkError)) throw error;
    }
    if (followed !== state.followed) return;
    if (upload) {
      last = upload.status;
      const reason = upload.status === 'failed' ? upload.error || 'no reason given' : STATUS_TEXT[upload.status];
      setStatus(upload.status, `Status: ${upload.status}${reason ? ` — ${reason}` : ''}`);
      if (upload.blurhash && !painted) {
        $('#result').hidden = false;
        paintCover(upload.blurhash, upload.cover_image);
        painted = true;
      }
      if (upload.status === 'applied') {
        return attempt(async () => {
          await refreshTarget(target);
          await followWebhooks();
        });
      }
      if (TERMINAL.has(upload.status)) return attempt(followWebhooks);
    } else {
      setStatus(last ?? 'uploading', `Status: ${last ?? 'unknown'} (the API is unreachable; still trying)`);
    }
    if (Date.now() > deadline) {
      setStatus('timeout', `Still ${last ?? 'unknown'} after 2 minutes; stopped following upload ${uploadId}.`);
      return;
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

// ---------------------------------------------------------------------------------------------
// Wiring

function effectiveTheme() {
  return document.documentElement.dataset.theme
    ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

function updateThemeToggle() {
  const next = effectiveTheme() === 'dark' ? 'light' : 'dark';
  const toggle = $('#theme-toggle');
  toggle.textContent = next === 'dark' ? '☾ Dark' : '☀ Light';
  toggle.setAttribute('aria-label', `Switch to the ${next} theme`);
}

function start() {
  state.key = readKey();
  resetSelection();
  if (!state.key) {
    showKeyForm();
    return;
  }
  showApp();
  attempt(loadCollections);
}

function wire() {
  $('#theme-toggle').addEventListener('click', () => {
    document.documentElement.dataset.theme = effectiveTheme() === 'dark' ? 'light' : 'dark';
    updateThemeToggle();
  });
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', updateThemeToggle);
  updateThemeToggle();

  $('#key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = $('#key-input').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORAGE, key);
    $('#key-input').value = '';
    start();
  });
  $('#forget-key').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORAGE);
    state.key = null;
    resetSelection();
    clearError();
    showKeyForm();
  });
  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.slice(1)).has('key')) start();
  });

  $('#collection-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#collection-title');
    const title = input.value.trim();
    if (!title) return;
    attempt(async () => {
      const { collection } = await api('POST', '/v1/collection', { title });
      input.value = '';
      state.collections.unshift(collection);
      if (!state.organization) await loadOrganization(collection.organization_id);
      await pickCollection(collection.id);
    });
  });
  $('#track-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('#track-title');
    const title = input.value.trim();
    if (!title || !state.collection) return;
    attempt(async () => {
      const { track } = await api('POST', '/v1/track', { collection_id: state.collection.id, player_title: title });
      input.value = '';
      state.tracks.push(track);
      await pickTrack(track.id);
    });
  });

  const input = $('#file');
  input.addEventListener('change', () => {
    const file = input.files[0];
    input.value = ''; // choosing the same file again is a new upload
    if (file) attempt(() => uploadCover(file));
  });
  const zone = $('#dropzone');
  // A file dropped anywhere else must not make the browser navigate away to it.
  for (const type of ['dragover', 'drop']) window.addEventListener(type, (event) => event.preventDefault());
  zone.addEventListener('dragover', () => zone.classList.add('dragging'));
  zone.addEventListener('dragleave', () => zone.classList.remove('dragging'));
  zone.addEventListener('drop', (event) => {
    zone.classList.remove('dragging');
    const file = event.dataTransfer.files[0];
    if (file) attempt(() => uploadCover(file));
  });

  start();
}

if (typeof document !== 'undefined') wire();
