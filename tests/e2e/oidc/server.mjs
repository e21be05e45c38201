// A real OpenID Connect provider (panva/oidc-provider) for VOICE's integration test.
// Usage: node server.mjs PORT REDIRECT_URI. Loopback only; test credentials only.
import Provider from 'oidc-provider';

const port = Number(process.argv[2]);
const redirectUri = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'voice-portal',
      client_secret: 'voice-portal-test-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  // The "groups" scope releases the group claim VOICE maps to its roles.
  claims: { openid: ['sub'], profile: ['name'], groups: ['voice_groups'] },
  scopes: ['openid', 'profile', 'groups'],
  conformIdTokenClaims: false,
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: 'Pat Example', voice_groups: ['grp-voice-supervisors', 'grp-cafeteria'] };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['voice-test-cookie-key'] },
});
provider.proxy = false;
provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider ready at ${issuer}`));
