import { errors, jwtVerify, type CryptoKey } from "jose";

/** The verdict on an App JWT: accepted, or the 401 message saying what was wrong. */
export type AppJwtVerdict = { ok: true } | { ok: false; message: string };

// GitHub's own texts for these three; @octokit/auth-app matches them to detect clock skew and retry once.
const EXP_TOO_FAR = "'Expiration time' claim ('exp') is too far in the future";
const EXP_NOT_FUTURE =
  "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const IAT_INVALID = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";
const UNDECODABLE = "A JSON web token could not be decoded";

const MAX_LIFETIME_SECONDS = 10 * 60;
const MAX_IAT_SKEW_SECONDS = 60;

/**
 * Checks an `Authorization` header the way GitHub checks an App JWT: `Bearer`, RS256 signed by the App's key,
 * `iss` = the App id (number or string), `iat` not over 60 s ahead, `exp` set, unexpired and ≤ 10 min out.
 */
export async function verifyAppJwt(
  authorization: string | undefined,
  app: { appId: number; publicKey: CryptoKey },
  nowMs: number,
): Promise<AppJwtVerdict> {
  const match = /^bearer\s+(\S+)$/i.exec(authorization ?? "");
  if (!match?.[1]) return fail(`${UNDECODABLE}: expected 'Authorization: Bearer <App JWT>'`);
  const now = Math.floor(nowMs / 1000);
  let payload;
  try {
    ({ payload } = await jwtVerify(match[1], app.publicKey, {
      algorithms: ["RS256"],
      currentDate: new Date(nowMs),
      requiredClaims: ["iat", "exp", "iss"],
    }));
  } catch (error) {
    return fail(describeJoseError(error));
  }
  const { iat, exp, iss } = payload as { iat: number; exp: number; iss: unknown };
  if (!(typeof iss === "number" || typeof iss === "string") || String(iss) !== String(app.appId)) {
    return fail(`'Issuer' claim ('iss') must be the App ID ${app.appId}, got ${JSON.stringify(iss)}`);
  }
  if (!Number.isInteger(iat) || iat > now + MAX_IAT_SKEW_SECONDS) {
    return fail(`${IAT_INVALID} (iat ${iat} is more than ${MAX_IAT_SKEW_SECONDS}s after now ${now})`);
  }
  if (exp - iat > MAX_LIFETIME_SECONDS || exp - now > MAX_LIFETIME_SECONDS) {
    return fail(`${EXP_TOO_FAR} (exp may be at most ${MAX_LIFETIME_SECONDS}s after iat and after now)`);
  }
  return { ok: true };
}

function fail(message: string): AppJwtVerdict {
  return { ok: false, message };
}

function describeJoseError(error: unknown): string {
  if (error instanceof errors.JOSEAlgNotAllowed) return `${UNDECODABLE}: alg must be RS256 (${error.message})`;
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return `${UNDECODABLE}: the signature does not verify with the App's public key`;
  }
  if (error instanceof errors.JWTExpired) return `${EXP_NOT_FUTURE} (the JWT has expired)`;
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "exp") return `${EXP_NOT_FUTURE} (${error.message})`;
    if (error.claim === "iat") return `${IAT_INVALID} (${error.message})`;
    return `${UNDECODABLE}: ${error.message}`;
  }
  if (error instanceof errors.JOSEError) return `${UNDECODABLE}: ${error.message}`;
  throw error;
}
