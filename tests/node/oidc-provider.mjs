// A real OpenID Connect provider (panva/oidc-provider) for the sign-in tests, on 127.0.0.1.
// Usage: node oidc-provider.mjs PORT REDIRECT_URI
// Anyone can sign in with any password; the login name decides the claims:
//   "<name>"       -> email <name>@example.com, groups from the prefix of <name>:
//   "admin-…"      -> ["ragbot-admins"],  "sme-…" -> ["ragbot-smes"],  anything else -> ["staff"].
import Provider from 'oidc-provider';

const [port, redirectUri] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const groupsFor = (id) => (id.startsWith('admin-') ? ['ragbot-admins'] : id.startsWith('sme-') ? ['ragbot-smes'] : ['staff']);

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'ragbot',
    client_secret: 'ragbot-test-secret',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [redirectUri], // as the README says to register: Sign out returns there
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
  scopes: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  conformIdTokenClaims: false, // put the scopes' claims in the ID token, which is what st.user shows
  cookies: { keys: ['ragbot-tests-only'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: `${id}@example.com`, email_verified: true, name: id, groups: groupsFor(id) };
      },
    };
  },
});
provider.proxy = false;
const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
