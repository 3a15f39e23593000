// A real OpenID provider for the console's browser tests: panva's certified oidc-provider (npm),
// on 127.0.0.1 at a free port, with its development login (any name signs in) and the people
// below. Prints {"issuer": …} once it listens. The module's path is OIDC_PROVIDER_MODULE.
import http from 'node:http';
import { pathToFileURL } from 'node:url';

const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);
const people = {
  dana: { name: 'Dana Dpo', roles: ['ccbridge-dpo'] },
  bob: { name: 'Bob Reviewer', roles: ['ccbridge-dpo'] },
  otto: { name: 'Otto Operator', roles: ['ccbridge-operator'] },
  bea: { name: 'Bea Backoffice', roles: ['ccbridge-backoffice'] },
  nora: { name: 'Nora Norole', roles: [] },
};

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: process.env.CLIENT_ID,
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'roles'] },
    conformIdTokenClaims: false,
    findAccount: async (ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, name: people[id]?.name ?? id, roles: people[id]?.roles ?? [] }),
    }),
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['ccbridge-console-tests-only'] },
  });
  server.on('request', provider.callback());
  console.log(JSON.stringify({ issuer }));
});
