// A real OpenID provider for tests: panva's certified oidc-provider (npm), on 127.0.0.1 at a free
// port, with its development login (any name signs in, any password) and the people below.
// Prints {"issuer": …} once it listens. The module's path is OIDC_PROVIDER_MODULE.
//
// Clients: the console's (CLIENT_ID, CLIENT_SECRET, REDIRECT_URI: authorization code with PKCE,
// refresh tokens) and the `gdpr` command's (CLI_CLIENT_ID: public, device authorization grant,
// RFC 8628). Access tokens are JWTs (RFC 9068) for the resource AUDIENCE, with the person's `name`
// and `roles`. Lifetimes in seconds: ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL, ID_TOKEN_TTL,
// SESSION_TTL. ISSUER overrides the issuer it names (a rogue provider claiming another's name).
//
// For tests only, under /test-admin/ (a test provider: nothing guards it):
//   POST /test-admin/rotate        a new signing key, current from now on (the old one stays in
//                                  the JWKS, as a provider rotating keys keeps it); answers {kid}
//   POST /test-admin/sign          signs the JSON body's claims with the current key; {token}
//   PUT  /test-admin/people/<id>   sets a person's {name, roles}
//   GET  /test-admin/refreshes     how many refresh_token grants the token endpoint answered,
//                                  granted or refused: {count}
import crypto from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const modulePath = process.env.OIDC_PROVIDER_MODULE;
const { default: Provider, errors } = await import(pathToFileURL(modulePath).href);
const jose = await import(pathToFileURL(createRequire(modulePath).resolve('jose')).href);

const people = {
  dana: { name: 'Dana Dpo', roles: ['ccbridge-dpo'] },
  bob: { name: 'Bob Reviewer', roles: ['ccbridge-dpo'] },
  otto: { name: 'Otto Operator', roles: ['ccbridge-operator'] },
  bea: { name: 'Bea Backoffice', roles: ['ccbridge-backoffice'] },
  nora: { name: 'Nora Norole', roles: [] },
};
const personOf = (id) => ({ name: people[id]?.name ?? id, roles: people[id]?.roles ?? [] });

const seconds = (name, fallback) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive whole number`);
  return value;
};
const ttl = {
  access: seconds('ACCESS_TOKEN_TTL', 600),
  refresh: seconds('REFRESH_TOKEN_TTL', 86400),
  id: seconds('ID_TOKEN_TTL', 600),
  session: seconds('SESSION_TTL', 86400),
};
const audience = process.env.AUDIENCE ?? 'https://ccbridge.test';
const cliClientId = process.env.CLI_CLIENT_ID ?? 'ccbridge-gdpr';

function newKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}
// Newest first: oidc-provider signs with the first key of the algorithm.
const keys = [newKey()];

function build(issuer) {
  const clients = [{
    client_id: cliClientId,
    token_endpoint_auth_method: 'none',
    grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
    response_types: [],
    redirect_uris: [],
  }];
  if (process.env.CLIENT_ID) {
    clients.push({
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    });
  }
  return new Provider(issuer, {
    clients,
    jwks: { keys },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'roles'] },
    conformIdTokenClaims: false,
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, ...personOf(id) }),
    }),
    extraTokenClaims: async (ctx, token) => (token.kind === 'AccessToken' ? personOf(token.accountId) : undefined),
    issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
    ttl: {
      AccessToken: ttl.access,
      RefreshToken: ttl.refresh,
      IdToken: ttl.id,
      Session: ttl.session,
      Grant: ttl.session,
      Interaction: 3600,
      DeviceCode: 600,
      AuthorizationCode: 60,
    },
    features: {
      devInteractions: { enabled: true },
      deviceFlow: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => audience,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, resource) => {
          if (resource !== audience) throw new errors.InvalidTarget();
          return { scope: 'openid profile', audience, accessTokenFormat: 'jwt', accessTokenTTL: ttl.access, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    cookies: { keys: ['ccbridge-tests-only'] },
  });
}

async function body(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  return chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
}

function answer(response, status, value) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
}

let refreshes = 0;

// The provider with the refresh_token grants counted (granted or refused).
function serve(issuer) {
  const provider = build(issuer);
  const count = (ctx) => {
    if (ctx.oidc?.params?.grant_type === 'refresh_token') refreshes += 1;
  };
  provider.on('grant.success', count);
  provider.on('grant.error', count);
  return provider.callback();
}

async function admin(request, response, url) {
  if (request.method === 'GET' && url.pathname === '/test-admin/refreshes') {
    return answer(response, 200, { count: refreshes });
  }
  if (request.method === 'POST' && url.pathname === '/test-admin/rotate') {
    keys.unshift(newKey());
    current = serve(issuer);
    return answer(response, 200, { kid: keys[0].kid });
  }
  if (request.method === 'POST' && url.pathname === '/test-admin/sign') {
    const claims = await body(request);
    const key = await jose.importJWK(keys[0], 'RS256');
    const token = await new jose.SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: keys[0].kid })
      .sign(key);
    return answer(response, 200, { token });
  }
  const person = url.pathname.match(/^\/test-admin\/people\/([^/]+)$/);
  if (request.method === 'PUT' && person) {
    const { name, roles } = await body(request);
    people[decodeURIComponent(person[1])] = { name, roles };
    return answer(response, 200, {});
  }
  return answer(response, 404, { error: 'not_found' });
}

let issuer;
let current;
const server = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/test-admin/')) {
    admin(request, response, url).catch((error) => answer(response, 500, { error: String(error) }));
    return;
  }
  current(request, response);
});
server.listen(0, '127.0.0.1', () => {
  issuer = process.env.ISSUER ?? `http://127.0.0.1:${server.address().port}`;
  current = serve(issuer);
  console.log(JSON.stringify({ issuer, url: `http://127.0.0.1:${server.address().port}` }));
});
