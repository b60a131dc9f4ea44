// A local OpenID provider for Confab's tests: the certified `oidc-provider` package with its
// development interactions (any login and password sign in; the account id is the login).
//
//   node tests/oidc/provider.mjs [--port 4011] [--host 127.0.0.1] [--client-id confab]
//        [--client-secret secret] [--redirect-uri URL]...
//
// Each flag may also come from the environment: OIDC_PORT, OIDC_HOST, OIDC_CLIENT_ID,
// OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS (comma-separated). `--port 0` picks a free port.
// When it listens it prints one line to stdout, `ready <issuer URL>`, which tests wait for.
//
// Claims come from the login name, so a test picks them by how it signs in:
//   alice            -> email alice@example.test, email_verified true, preferred_username alice
//   unverified-bob   -> email unverified-bob@example.test, email_verified false
//   carol@corp.test  -> email carol@corp.test (verified), preferred_username carol
//   noemail-dan      -> no email claims at all
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.OIDC_PORT ?? '4011' },
    host: { type: 'string', default: process.env.OIDC_HOST ?? '127.0.0.1' },
    'client-id': { type: 'string', default: process.env.OIDC_CLIENT_ID ?? 'confab' },
    'client-secret': { type: 'string', default: process.env.OIDC_CLIENT_SECRET ?? 'secret' },
    'redirect-uri': {
      type: 'string',
      multiple: true,
      default: (process.env.OIDC_REDIRECT_URIS ?? 'http://127.0.0.1:8080/demo/')
        .split(',')
        .filter(Boolean),
    },
  },
});

function claimsOf(login) {
  const claims = { sub: login, name: login };
  if (login.startsWith('noemail-')) {
    claims.preferred_username = login;
    return claims;
  }
  const email = login.includes('@') ? login : `${login}@example.test`;
  claims.preferred_username = login.split('@')[0];
  claims.email = email;
  claims.email_verified = !login.startsWith('unverified-');
  return claims;
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'test' };

const server = createServer();
server.listen(Number(values.port), values.host, () => {
  const { port } = server.address();
  const issuer = `http://${values.host}:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: values['client-id'],
        client_secret: values['client-secret'],
        redirect_uris: values['redirect-uri'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
    },
    // The claims of the requested scopes go into the ID token too, which is what Confab reads.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, id) {
      return { accountId: id, claims: async () => claimsOf(id) };
    },
  });
  server.on('request', provider.callback());
  process.stdout.write(`ready ${issuer}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
