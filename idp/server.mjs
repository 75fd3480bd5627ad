// Pilothouse's demo and test OpenID provider: the certified `oidc-provider` with a small login
// page for the demo users. Started by `cargo xtask demo`, by `cargo xtask test` and by the
// Rust tests (testkit::idp). Configuration comes from the environment:
//   IDP_PORT            port on 127.0.0.1 (required)
//   IDP_CLIENT_ID       the one client (default: pilothouse)
//   IDP_CLIENT_SECRET   its secret (required)
//   IDP_REDIRECT_URIS   comma-separated redirect URIs (required)
//   IDP_LOGOUT_URIS     comma-separated post-logout redirect URIs
//   IDP_USERS           JSON: { "alice": { "password": "...", "email": "...", "name": "...", "groups": [] } }
//   IDP_KEY_FILE        where to write the private signing JWK (tests mint tokens with it)
//   IDP_ID_TOKEN_TTL    ID token lifetime in seconds (default 3600)
import http from 'node:http';
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import Provider from 'oidc-provider';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`idp: ${name} is required`);
    process.exit(2);
  }
  return value;
}

const port = Number(required('IDP_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.IDP_CLIENT_ID ?? 'pilothouse';
const clientSecret = required('IDP_CLIENT_SECRET');
const redirectUris = required('IDP_REDIRECT_URIS').split(',');
const logoutUris = (process.env.IDP_LOGOUT_URIS ?? '').split(',').filter(Boolean);
const users = JSON.parse(required('IDP_USERS'));
const idTokenTtl = Number(process.env.IDP_ID_TOKEN_TTL ?? 3600);

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), alg: 'RS256', use: 'sig' };
if (process.env.IDP_KEY_FILE) {
  writeFileSync(process.env.IDP_KEY_FILE, JSON.stringify({ issuer, key: signingKey }), { mode: 0o600 });
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const provider = new Provider(issuer, {
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: redirectUris,
    post_logout_redirect_uris: logoutUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  // Claims asked for by scope go into the ID token too, so Pilothouse need not call userinfo.
  conformIdTokenClaims: false,
  ttl: { IdToken: idTokenTtl, AccessToken: idTokenTtl, Interaction: 600, Session: 3600, Grant: 3600 },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = page('Sign out', `${form}<p>Signing you out of the demo identity provider…</p>
          <button type="submit" form="op.logoutForm" value="yes" name="logout">Sign out</button>
          <script>const f = document.getElementById('op.logoutForm');
          f.appendChild(Object.assign(document.createElement('input'), { type: 'hidden', name: 'logout', value: 'yes' }));
          f.submit();</script>`);
      },
    },
  },
  findAccount: async (_ctx, id) => {
    const user = users[id];
    if (!user) return undefined;
    return {
      accountId: id,
      claims: async () => ({
        sub: id,
        email: user.email ?? `${id}@demo.pilothouse`,
        email_verified: true,
        name: user.name ?? id,
        groups: user.groups ?? [],
      }),
    };
  },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  renderError: async (ctx, out) => {
    ctx.type = 'html';
    ctx.body = page('Sign-in error', `<p class="error">${escape(out.error)}: ${escape(out.error_description ?? '')}</p>`);
  },
});

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Demo identity provider</title>
<style>body{font:15px system-ui,sans-serif;background:#12263f;color:#1d2330;display:grid;place-items:center;min-height:100vh;margin:0}
main{background:#fff;padding:2rem;border-radius:10px;width:20rem}label{display:block;margin:.8rem 0 .2rem}
input{width:100%;padding:.4rem;box-sizing:border-box}button{margin-top:1rem;width:100%;padding:.5rem}.error{color:#b42318}</style>
</head><body><main><h1>${escape(title)}</h1>${body}</main></body></html>`;
}

function loginForm(uid, error, login = '') {
  return page('Sign in to Pilothouse', `<p>Demo identity provider: use one of the demo users.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
<label for="login">User</label><input id="login" name="login" value="${escape(login)}" autofocus required>
<label for="password">Password</label><input id="password" name="password" type="password" required>
<button type="submit">Sign in</button></form>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function passwordMatches(user, given) {
  const a = Buffer.from(String(user?.password ?? randomBytes(16).toString('hex')));
  const b = Buffer.from(String(given ?? ''));
  return a.length === b.length && timingSafeEqual(a, b) && Boolean(user);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error('interaction mismatch');
  const { prompt, params, session } = details;
  if (prompt.name === 'login') {
    if (req.method === 'POST' && action === 'login') {
      const form = await readForm(req);
      const login = form.get('login') ?? '';
      if (!passwordMatches(users[login], form.get('password'))) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' });
        res.end(loginForm(uid, 'Unknown user or wrong password.', login));
        return;
      }
      await provider.interactionFinished(req, res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(loginForm(uid));
    return;
  }
  // Consent: Pilothouse is the demo's only client, so grant what it asked for.
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const missing = prompt.details;
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) return callback(req, res);
  interaction(req, res, match[1], match[2]).catch((error) => {
    res.writeHead(400, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page('Sign-in error', `<p class="error">${escape(error.message)}</p><p>Start again from Pilothouse.</p>`));
  });
});
server.listen(port, '127.0.0.1', () => {
  console.log(`idp: demo identity provider ready at ${issuer}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
