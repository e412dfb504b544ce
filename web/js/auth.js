// Sign-in. Locally: a name → POST /dev/token. Deployed: Cognito's hosted UI
// with the authorization-code flow and PKCE (S256); the ID token (it
// carries `email`, which the API reads) is kept in sessionStorage only.

import { cfg, setToken } from './api.js';

const VERIFIER = 'khamsa.pkce';
const STATE = 'khamsa.state';
const BACK = 'khamsa.back';

function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n) {
  const a = new Uint8Array(n);
  crypto.getRandomValues(a);
  return b64url(a);
}

export async function localSignIn(user, operator) {
  const r = await fetch(`${cfg().api}/dev/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ user, operator }),
  });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) return { problem: data };
  setToken(data.token);
  return { ok: true };
}

function redirectUri() {
  return `${location.origin}/auth/callback`;
}

/** Sends the browser to Cognito's hosted sign-in page. */
export async function cognitoSignIn(back) {
  const c = cfg();
  const verifier = random(48);
  const state = random(16);
  sessionStorage.setItem(VERIFIER, verifier);
  sessionStorage.setItem(STATE, state);
  sessionStorage.setItem(BACK, back || '/');
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: c.cognito_client_id,
    redirect_uri: redirectUri(),
    scope: 'openid email profile',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  location.assign(`${c.cognito_domain}/oauth2/authorize?${q}`);
}

/** `/auth/callback?code=&state=`: trades the code for tokens. */
export async function cognitoCallback() {
  const c = cfg();
  const q = new URLSearchParams(location.search);
  const verifier = sessionStorage.getItem(VERIFIER);
  if (!q.get('code') || q.get('state') !== sessionStorage.getItem(STATE) || !verifier) {
    return '/';
  }
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: c.cognito_client_id,
    code: q.get('code'),
    redirect_uri: redirectUri(),
    code_verifier: verifier,
  });
  const r = await fetch(`${c.cognito_domain}/oauth2/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
  sessionStorage.removeItem(VERIFIER);
  sessionStorage.removeItem(STATE);
  if (r.ok) setToken((await r.json()).id_token);
  const back = sessionStorage.getItem(BACK) || '/';
  sessionStorage.removeItem(BACK);
  return back;
}

export function signOut() {
  setToken(null);
  const c = cfg();
  if (c.mode === 'cognito' && c.cognito_domain) {
    const q = new URLSearchParams({ client_id: c.cognito_client_id, logout_uri: `${location.origin}/` });
    location.assign(`${c.cognito_domain}/logout?${q}`);
    return true;
  }
  return false;
}
