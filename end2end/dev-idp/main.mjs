// Berth's development identity provider: a real OpenID provider (the certified npm package `oidc-provider`)
// with four seeded people and a plain login form. For the demo and the tests ONLY: accounts and passwords are
// hard-coded, state lives in memory, signing keys are generated at every start.
//
//   node end2end/dev-idp/main.mjs
//
// Settings (environment):
//   DEV_IDP_PORT           port on 127.0.0.1 (default 5556); the issuer is http://127.0.0.1:PORT
//   DEV_IDP_CLIENT_SECRET  the secret of the portal's client, `berth` (default "berth-dev-secret")
//
// Clients: `berth` (the portal; confidential) and `berth-cli` (the command line; public, PKCE, loopback).
// A second issuer, ISSUER/ci, signs CI jobs' tokens for the federation tests (POST /ci/token).
//
// People (password "dev" for all):
//   alice  berth-developers   bob  berth-approvers   carol  berth-admins   dave  marketing (no Berth group)
//   erin   platform-approvers (a second approver group, for stages that need one of each)
//   frank  berth-approvers (a second of bob's group, for two approvers racing for one seat)
//   grace, henry  berth-developers and team-payments (a team of two: members of each other's grants)

import { createPublicKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import Provider from "oidc-provider";

const port = Number(process.env.DEV_IDP_PORT ?? 5556);
const issuer = `http://127.0.0.1:${port}`;
const clientSecret = process.env.DEV_IDP_CLIENT_SECRET ?? "berth-dev-secret";
const PASSWORD = "dev";

const PEOPLE = {
  alice: { name: "Alice Anders", email: "alice@example.test", groups: ["berth-developers", "everyone"] },
  bob: { name: "Bob Berg", email: "bob@example.test", groups: ["berth-approvers", "everyone"] },
  carol: { name: "Carol Castro", email: "carol@example.test", groups: ["berth-admins", "everyone"] },
  dave: { name: "Dave Dunn", email: "dave@example.test", groups: ["marketing", "everyone"] },
  erin: { name: "Erin Engel", email: "erin@example.test", groups: ["platform-approvers", "everyone"] },
  frank: { name: "Frank Fischer", email: "frank@example.test", groups: ["berth-approvers", "everyone"] },
  // Two developers of one team (the payments team's group), to add to each other's grants.
  grace: { name: "Grace Gupta", email: "grace@example.test", groups: ["berth-developers", "team-payments", "everyone"] },
  henry: { name: "Henry Hall", email: "henry@example.test", groups: ["berth-developers", "team-payments", "everyone"] },
};

// A fresh RSA key per start: tokens from an earlier run are worthless, and no private key sits in the repository.
const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: "jwk" }), kid: `dev-${Date.now()}`, use: "sig", alg: "RS256" };

const SCOPES = "openid email profile groups";

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: "berth",
      client_secret: clientSecret,
      // `native` only so that the loopback redirect URIs below match on any port (RFC 8252, section 7.3): the
      // tests start portals on random ports. A production registration lists the portal's exact URLs.
      application_type: "native",
      redirect_uris: ["http://127.0.0.1/auth/callback"],
      post_logout_redirect_uris: ["http://127.0.0.1/"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
    {
      // The `berth` command line: a public client (no secret; PKCE), redirected to a loopback port of its own.
      client_id: "berth-cli",
      application_type: "native",
      redirect_uris: ["http://127.0.0.1/callback"],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString("hex")] },
  scopes: ["openid", "email", "profile", "groups"],
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name", "preferred_username"],
    groups: ["groups"],
  },
  // Put the scope's claims in the ID token itself (what Berth reads), as Dex, Keycloak and Okta can.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
  },
  ttl: { AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
  async findAccount(_ctx, id) {
    const person = PEOPLE[id];
    if (!person) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, preferred_username: id, email_verified: true, ...person };
      },
    };
  },
  async renderError(ctx, out) {
    ctx.type = "html";
    ctx.body = page("Sign-in error", `<h1>Sign-in error</h1><p id="error">${escape(out.error)}: ${escape(out.error_description ?? "")}</p>`);
  },
});

// A second issuer, for workload identity federation: a stand-in for a CI system that signs an OIDC token for
// each job (Jenkins' OpenID Connect provider plugin, GitLab CI's id_tokens, GitHub Actions). Its issuer is
// ISSUER/ci, with a key of its own; `POST /ci/token` with JSON {sub, aud, expires_in?} answers {token}, as a CI
// system hands a job its token. (Loopback only, like everything here.)
const ciIssuer = `${issuer}/ci`;
const { privateKey: ciKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ciPublicJwk = { ...createPublicKey(ciKey).export({ format: "jwk" }), kid: `ci-${Date.now()}`, use: "sig", alg: "RS256" };

function base64url(data) {
  return Buffer.from(data).toString("base64url");
}

function signCiToken({ sub, aud, expires_in: expiresIn = 300 }) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid: ciPublicJwk.kid }));
  const claims = { iss: ciIssuer, sub, aud, iat: now, nbf: now, exp: now + Number(expiresIn), jti: randomBytes(8).toString("hex") };
  const payload = base64url(JSON.stringify(claims));
  const signature = sign("RSA-SHA256", Buffer.from(`${header}.${payload}`), ciKey).toString("base64url");
  return `${header}.${payload}.${signature}`;
}

// For the tests: someone leaves a team at the provider. `POST /dev/people/:id/groups` with a JSON list sets
// that person's groups for their next sign-in.
provider.use(async (ctx, next) => {
  const match = /^\/dev\/people\/(\w+)\/groups$/.exec(ctx.path);
  if (!match || ctx.method !== "POST") return next();
  const groups = JSON.parse((await readBody(ctx.req)) || "null");
  if (!PEOPLE[match[1]] || !Array.isArray(groups) || !groups.every((g) => typeof g === "string")) {
    ctx.status = 400;
    return;
  }
  PEOPLE[match[1]].groups = groups;
  ctx.status = 204;
});

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith("/ci/")) return next();
  if (ctx.method === "GET" && ctx.path === "/ci/.well-known/openid-configuration") {
    ctx.body = {
      issuer: ciIssuer,
      jwks_uri: `${ciIssuer}/jwks`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["RS256"],
    };
  } else if (ctx.method === "GET" && ctx.path === "/ci/jwks") {
    ctx.body = { keys: [ciPublicJwk] };
  } else if (ctx.method === "POST" && ctx.path === "/ci/token") {
    const asked = JSON.parse((await readBody(ctx.req)) || "{}");
    if (typeof asked.sub !== "string" || asked.aud === undefined) {
      ctx.status = 400;
      ctx.body = { error: "give sub and aud" };
      return;
    }
    ctx.body = { token: signCiToken(asked) };
  } else {
    ctx.status = 404;
  }
});

// The login form. oidc-provider sends the browser to /interaction/:uid whenever it needs the person to act.
provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(ctx.path);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (ctx.method === "GET" && details.prompt.name === "consent") {
    // Berth is a first-party client: grant its scopes without a consent screen. (oidc-provider asks for
    // consent on every sign-in of a `native` client, so this runs every time, invisibly.)
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
    grant.addOIDCScope(SCOPES);
    const grantId = await grant.save();
    await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (ctx.method === "GET") {
    ctx.type = "html";
    ctx.body = loginPage(details.uid, details.params.login_hint ?? "", "");
    return;
  }
  if (ctx.method === "POST" && match[2]) {
    const form = new URLSearchParams(await readBody(ctx.req));
    const login = form.get("login") ?? "";
    if (!PEOPLE[login] || form.get("password") !== PASSWORD) {
      ctx.status = 401;
      ctx.type = "html";
      ctx.body = loginPage(details.uid, login, "Unknown user or wrong password.");
      return;
    }
    await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: login } }, { mergeWithLastSubmission: false });
    return;
  }
  ctx.status = 405;
});

function loginPage(uid, login, error) {
  return page(
    "Sign in",
    `<h1>Development identity provider</h1>
    <p>Sign in as one of ${Object.keys(PEOPLE).map((id) => `<code>${id}</code>`).join(", ")}; the password is <code>${PASSWORD}</code>.</p>
    ${error ? `<p role="alert" id="error">${escape(error)}</p>` : ""}
    <form method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
      <label>Username <input name="login" value="${escape(login)}" required autofocus></label>
      <label>Password <input name="password" type="password" required></label>
      <button type="submit">Sign in</button>
    </form>`,
  );
}

async function logoutSource(ctx, form) {
  ctx.body = page(
    "Sign out",
    `<h1>Sign out of the development identity provider?</h1>${form}
    <button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
    <button type="submit" form="op.logoutForm">No, stay signed in</button>`,
  );
}

async function postLogoutSuccessSource(ctx) {
  ctx.body = page("Signed out", "<h1>Signed out</h1>");
}

function page(title, body) {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>${escape(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto}label{display:block;margin:.8rem 0}input{display:block;width:100%}</style>
</head><body>${body}</body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readBody(request) {
  let body = "";
  for await (const chunk of request) {
    body += chunk;
    if (body.length > 10_000) throw new Error("form too large");
  }
  return body;
}

provider.listen(port, "127.0.0.1", () => {
  console.log(`development identity provider: ${issuer} (clients "berth", "berth-cli"; users ${Object.keys(PEOPLE).join(", ")}; CI issuer ${ciIssuer})`);
});
