// A real OpenID Connect provider for seam-oidc's integration test: npm's oidc-provider on
// loopback, with the built-in development sign-in and consent pages (any password works).
//
//   node provider.mjs [--port N] [--client-id ID] [--client-secret S] [--redirect-uri URI]
//                     [--modules DIR]
//
// Environment instead of flags: SEAM_OIDC_PROVIDER_PORT, SEAM_OIDC_CLIENT_ID,
// SEAM_OIDC_CLIENT_SECRET, SEAM_OIDC_REDIRECT_URI; SEAM_OIDC_PROVIDER_DIR (or --modules)
// names the node_modules directory holding oidc-provider (default: <workspace>/.ci/node/node_modules,
// which `.ci/run` installs). Port 0 lets the system choose. Once listening, one JSON line on
// stdout says where: {"issuer":"http://127.0.0.1:PORT","port":PORT}. The process ends when
// its stdin closes, so that it never outlives the test that started it.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

function option(flag, envName, fallback) {
  const at = process.argv.indexOf(flag);
  if (at !== -1 && at + 1 < process.argv.length) return process.argv[at + 1];
  return process.env[envName] ?? fallback;
}

const here = dirname(fileURLToPath(import.meta.url));
const workspace = resolve(here, '../../../..');
const modules = option('--modules', 'SEAM_OIDC_PROVIDER_DIR', join(workspace, '.ci/node/node_modules'));
const entry = join(modules, 'oidc-provider/lib/index.js');
if (!existsSync(entry)) {
  console.error(`oidc-provider is not installed at ${modules}: run .ci/run, which installs it `
    + '(npm install --prefix .ci/node oidc-provider@9.13.3), or set SEAM_OIDC_PROVIDER_DIR');
  process.exit(2);
}
const { default: Provider } = await import(pathToFileURL(entry).href);

const port = Number(option('--port', 'SEAM_OIDC_PROVIDER_PORT', '0'));
const clientId = option('--client-id', 'SEAM_OIDC_CLIENT_ID', 'seam');
const clientSecret = option('--client-secret', 'SEAM_OIDC_CLIENT_SECRET', 'seam-test-secret-0123456789');
const redirectUri = option('--redirect-uri', 'SEAM_OIDC_REDIRECT_URI', 'http://127.0.0.1:9/v1/oidc/callback');

// One signing key per algorithm the relying party accepts; each client below asks for one.
function signingKey(type, options, kid, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}
const jwks = {
  keys: [
    signingKey('rsa', { modulusLength: 2048 }, 'rsa-1', 'RS256'),
    signingKey('rsa', { modulusLength: 2048 }, 'rsa-pss-1', 'PS256'),
    signingKey('ec', { namedCurve: 'P-256' }, 'ec-1', 'ES256'),
    signingKey('ed25519', {}, 'ed-1', 'EdDSA'),
  ],
};

// The client as Seam is configured, plus variants for the other algorithms and for
// client_secret_post: `<id>`, `<id>-ps256`, `<id>-es256-post`, `<id>-eddsa`.
const client = (suffix, alg, authMethod) => ({
  client_id: `${clientId}${suffix}`,
  client_secret: clientSecret,
  redirect_uris: [redirectUri],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  id_token_signed_response_alg: alg,
  token_endpoint_auth_method: authMethod,
});

const accounts = {
  alice: {
    preferred_username: 'alice',
    name: 'Alice Admin',
    email: 'alice@example.test',
    email_verified: true,
    groups: ['seam-admins', 'staff'],
    seam: { sites: ['hq', 'lab'] },
  },
  bob: {
    preferred_username: 'bob',
    name: 'Bob Nobody',
    email: 'bob@example.test',
    email_verified: true,
    groups: ['nobody'],
    seam: { sites: ['hq'] },
  },
};

const configuration = {
  clients: [
    client('', 'RS256', 'client_secret_basic'),
    client('-ps256', 'PS256', 'client_secret_basic'),
    client('-es256-post', 'ES256', 'client_secret_post'),
    client('-eddsa', 'EdDSA', 'client_secret_basic'),
  ],
  jwks,
  cookies: { keys: ['seam-oidc-test-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // Scope `groups` carries the groups, scope `seam` a nested object with the sites.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['preferred_username', 'name'],
    groups: ['groups'],
    seam: ['seam'],
  },
  // Put the scopes' claims in the ID token itself (by default they go to userinfo only when
  // an access token is issued), as identity providers configured for Seam do.
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    const account = accounts[sub];
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return { sub, ...account };
      },
    };
  },
};

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const chosen = server.address().port;
  const issuer = `http://127.0.0.1:${chosen}`;
  const provider = new Provider(issuer, configuration);
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port: chosen })}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
