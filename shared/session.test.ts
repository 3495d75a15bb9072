import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { SignJWT } from "jose";
import { isHttpError } from "./http-error.js";
import { mayView, operatorList, readCookie, SESSION_COOKIE, signSession, verifySession } from "./session.js";

const NOW = 1_700_000_000_000;
const TTL = 12 * 3600 * 1000;
const ec = () => generateKeyPairSync("ec", { namedCurve: "P-256" });
const keys = ec();
const alice = { userId: 42, login: "Alice", orgs: ["acme", "Widgets"] };
const cookie = (token: string) => `theme=dark; ${SESSION_COOKIE}=${token}; other=1`;
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

/** Resolves to the 401's message, or fails the test when verifySession accepts. */
async function refusal(header: string | undefined, publicKey: KeyObject = keys.publicKey, nowMs = NOW) {
  try {
    await verifySession(header, publicKey, { nowMs });
  } catch (error) {
    if (isHttpError(error) && error.status === 401) return error.message;
    throw error;
  }
  throw new Error("verifySession accepted the cookie");
}

/** A JWT with the right issuer and audience unless `claims` or `header` say otherwise. */
function token(claims: Record<string, unknown>, signWith: KeyObject = keys.privateKey, alg = "ES256") {
  return new SignJWT({ login: "alice", orgs: [], ...claims })
    .setProtectedHeader({ alg })
    .setSubject("42")
    .setIssuer((claims.iss as string | undefined) ?? "openfaas-cloud/edge-auth")
    .setAudience((claims.aud as string | undefined) ?? "openfaas-cloud/dashboard")
    .setIssuedAt(NOW / 1000)
    .setExpirationTime(NOW / 1000 + 60)
    .sign(signWith);
}

describe("signSession → verifySession", () => {
  it("a fresh session → the user's id, login and lowercased orgs", async () => {
    const jwt = await signSession(alice, keys.privateKey, { nowMs: NOW, ttlMs: TTL });
    await expect(verifySession(cookie(jwt), keys.publicKey, { nowMs: NOW + TTL - 1000 })).resolves.toEqual({
      userId: 42,
      login: "Alice",
      orgs: ["acme", "widgets"],
    });
  });

  it("the token holds only the session's claims: no GitHub token, no name", async () => {
    const jwt = await signSession(alice, keys.privateKey, { nowMs: NOW, ttlMs: TTL });
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1]!, "base64url").toString()) as object;
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "iss", "login", "orgs", "sub"]);
  });

  it("past its ttl → 401 session expired", async () => {
    const jwt = await signSession(alice, keys.privateKey, { nowMs: NOW, ttlMs: TTL });
    expect(await refusal(cookie(jwt), keys.publicKey, NOW + TTL + 1000)).toBe("session expired: log in again");
  });
});

describe("verifySession refuses", () => {
  it.each([
    ["no Cookie header", undefined, "not logged in: no session cookie"],
    ["a Cookie header without the session", "theme=dark", "not logged in: no session cookie"],
    ["an empty session cookie", `${SESSION_COOKIE}=`, "not logged in: no session cookie"],
    ["a value that is no JWT", cookie("not-a-jwt"), "invalid session"],
  ])("%s → 401", async (_name, header, message) => {
    expect(await refusal(header)).toBe(message);
  });

  it("a token signed by another key → 401 invalid session", async () => {
    expect(await refusal(cookie(await token({}, ec().privateKey)))).toBe("invalid session");
  });

  it("alg: none (unsigned) → 401 invalid session", async () => {
    const unsigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({
      sub: "1",
      login: "mallory",
      orgs: [],
      iss: "openfaas-cloud/edge-auth",
      aud: "openfaas-cloud/dashboard",
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
    })}.`;
    expect(await refusal(cookie(unsigned))).toBe("invalid session");
  });

  it("another algorithm (RS256, even with a valid signature) → 401 invalid session", async () => {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    expect(await refusal(cookie(await token({}, rsa.privateKey, "RS256")), rsa.publicKey)).toBe("invalid session");
  });

  it("a tampered payload (orgs widened) → 401 invalid session", async () => {
    const [header, , signature] = (await token({ orgs: ["acme"] })).split(".");
    const forged = `${header}.${b64({ sub: "42", login: "alice", orgs: ["acme", "victim"] })}.${signature}`;
    expect(await refusal(cookie(forged))).toBe("invalid session");
  });

  it.each([
    ["issuer", { iss: "someone-else" }],
    ["audience", { aud: "another-app" }],
  ])("another %s → 401 invalid session", async (_name, claims) => {
    expect(await refusal(cookie(await token(claims)))).toBe("invalid session");
  });

  it("claims of the wrong shape (orgs not a list) → 401 invalid session", async () => {
    expect(await refusal(cookie(await token({ orgs: "acme" })))).toBe("invalid session");
  });
});

describe("mayView", () => {
  const session = { userId: 42, login: "Alice", orgs: ["acme"] };
  it.each([
    ["own login, any case", "alice", [], true],
    ["an organisation the user belongs to", "ACME", [], true],
    ["another user", "bob", [], false],
    ["an organisation the user is not in", "widgets", [], false],
    ["an operator, any owner", "bob", ["carol", "alice"], true],
    ["someone else being an operator", "bob", ["carol"], false],
  ] as const)("%s (owner %s, operators %j) → %s", (_name, owner, operators, expected) => {
    expect(mayView(session, owner, operators)).toBe(expected);
  });
});

describe("operatorList / readCookie", () => {
  it.each([
    ["", []],
    [" Alice , bob,,", ["alice", "bob"]],
  ])("operatorList(%j) → %j", (setting, expected) => {
    expect(operatorList(setting)).toEqual(expected);
  });

  it("readCookie: the named cookie's value, not a prefix match", () => {
    expect(readCookie("a_token=1; token=2", "token")).toBe("2");
  });

  // Mutation testing (#12): each of these failed to notice a one-character change of the parser.
  it.each([
    ["a pair with no name (=token=x) is not the cookie named token", "=token=x; token=real", "real"],
    ["spaces around the value are not part of it", "token=  v1  ", "v1"],
    ["a name with no value → no cookie", "token=   ", undefined],
    ["no header → no cookie", undefined, undefined],
    ["a pair without = that starts with the name → no cookie", "tokenX", undefined],
    ["a header that names only other cookies → no cookie", "a=1; b=2", undefined],
  ])("readCookie: %s", (_, header, expected) => {
    expect(readCookie(header, "token")).toBe(expected);
  });
});

describe("what a session token must carry (#12)", () => {
  it("signSession marks the token as a JWT in its header", async () => {
    const jwt = await signSession(alice, keys.privateKey, { nowMs: NOW, ttlMs: TTL });
    expect(JSON.parse(Buffer.from(jwt.split(".")[0]!, "base64url").toString())).toEqual({ alg: "ES256", typ: "JWT" });
  });

  it("a token with the right key, issuer and audience but no expiry → 401: sessions never last for ever", async () => {
    const forever = await new SignJWT({ login: "alice", orgs: [] })
      .setProtectedHeader({ alg: "ES256" })
      .setSubject("42")
      .setIssuer("openfaas-cloud/edge-auth")
      .setAudience("openfaas-cloud/dashboard")
      .setIssuedAt(NOW / 1000)
      .sign(keys.privateKey);
    expect(await refusal(cookie(forever))).toBe("invalid session");
  });

  it("a refusal keeps why as its cause (for the log), not in the answer", async () => {
    const bad = await token({}, ec().privateKey);
    const wrongShape = await token({ orgs: "acme" });
    for (const jwt of [bad, wrongShape]) {
      const error = await verifySession(cookie(jwt), keys.publicKey, { nowMs: NOW }).catch((e: unknown) => e);
      expect([isHttpError(error) && error.message, (error as Error).cause]).toEqual([
        "invalid session",
        expect.anything(),
      ]);
    }
  });
});
