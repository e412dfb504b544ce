// The HTTP API (api.md): JSON in and out, problem+json refusals, the token
// from sessionStorage (never a cookie), and config.json for where the API is.

let config = null;

export async function loadConfig() {
  if (config) return config;
  try {
    const r = await fetch('/config.json', { headers: { Accept: 'application/json' } });
    config = r.ok ? await r.json() : { mode: 'local', api: '' };
  } catch {
    config = { mode: 'local', api: '' };
  }
  return config;
}

export function cfg() {
  return config || { mode: 'local', api: '' };
}

/** A refusal from the API (or the network), carrying its problem document. */
export class Problem extends Error {
  constructor(p) {
    super(p.detail || p.code);
    this.problem = p;
    this.code = p.code;
    this.status = p.status;
  }
}

const TOKEN = 'khamsa.token';

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(tok) {
  if (tok) sessionStorage.setItem(TOKEN, tok);
  else sessionStorage.removeItem(TOKEN);
}

/** The signed-in user from the token's claims, or null. */
export function me() {
  const tok = token();
  if (!tok) return null;
  try {
    const part = tok.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = decodeURIComponent(Array.from(atob(part), (c) =>
      '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join(''));
    const claims = JSON.parse(json);
    if (claims.exp && claims.exp * 1000 < Date.now()) return null;
    const groups = claims['cognito:groups'] || [];
    return {
      id: claims.sub,
      email: claims.email,
      name: claims['cognito:username'] || claims.sub,
      operator: Array.isArray(groups) ? groups.includes('operators') : String(groups).includes('operators'),
    };
  } catch {
    return null;
  }
}

/**
 * Calls the API. `body` is sent as JSON; a state-changing call carries an
 * Idempotency-Key so a double click or a retry is answered once.
 */
export async function api(method, path, body, { idempotent = true } = {}) {
  const headers = { Accept: 'application/json' };
  const tok = token();
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && idempotent) headers['Idempotency-Key'] = crypto.randomUUID();
  let r;
  try {
    r = await fetch(cfg().api + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new Problem({ code: 'network', status: 0 });
  }
  const text = await r.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!r.ok) {
    if (r.status === 401) setToken(null);
    throw new Problem(data && data.code ? data : { code: 'unavailable', status: r.status });
  }
  return { status: r.status, data };
}

export const get = async (path) => (await api('GET', path)).data;
export const post = async (path, body) => (await api('POST', path, body ?? {})).data;
export const patch = async (path, body) => (await api('PATCH', path, body)).data;
