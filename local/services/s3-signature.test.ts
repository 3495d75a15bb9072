import { checkSignature } from "./s3-signature.js";

// The worked examples of Amazon S3's "Signature Version 4: Authenticating requests (AWS Signature Version 4)"
// documentation: its example key pair, bucket host, date and the signatures it prints.
const KEYS = { accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const NOW = new Date("2013-05-24T00:00:00Z");
const EMPTY_SHA = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const BASE = { host: "examplebucket.s3.amazonaws.com", "x-amz-date": "20130524T000000Z" };
const authorization = (signedHeaders: string, signature: string, scope = "20130524/us-east-1/s3/aws4_request") =>
  `AWS4-HMAC-SHA256 Credential=${KEYS.accessKey}/${scope},SignedHeaders=${signedHeaders},Signature=${signature}`;

const GET_OBJECT = {
  method: "GET",
  url: "/test.txt",
  headers: {
    ...BASE,
    range: "bytes=0-9",
    "x-amz-content-sha256": EMPTY_SHA,
    authorization: authorization(
      "host;range;x-amz-content-sha256;x-amz-date",
      "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    ),
  },
};

describe("checkSignature (AWS Signature Version 4, header form)", () => {
  it.each([
    ["GET Object", GET_OBJECT],
    [
      "PUT Object (escaped key, extra signed headers)",
      {
        method: "PUT",
        url: "/test%24file.text",
        headers: {
          ...BASE,
          date: "Fri, 24 May 2013 00:00:00 GMT",
          "x-amz-storage-class": "REDUCED_REDUNDANCY",
          "x-amz-content-sha256": "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
          authorization: authorization(
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
          ),
        },
      },
    ],
    [
      "GET Bucket Lifecycle (valueless sub-resource)",
      {
        method: "GET",
        url: "/?lifecycle",
        headers: {
          ...BASE,
          "x-amz-content-sha256": EMPTY_SHA,
          authorization: authorization(
            "host;x-amz-content-sha256;x-amz-date",
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
          ),
        },
      },
    ],
    [
      "GET Bucket (query sorted by name)",
      {
        method: "GET",
        url: "/?prefix=J&max-keys=2",
        headers: {
          ...BASE,
          "x-amz-content-sha256": EMPTY_SHA,
          authorization: authorization(
            "host;x-amz-content-sha256;x-amz-date",
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
          ),
        },
      },
    ],
  ])("AWS's %s example → accepted (known answer)", (_, request) => {
    expect(checkSignature(request, KEYS, NOW)).toBeUndefined();
  });

  const headers = (changed: Record<string, string>) => ({
    ...GET_OBJECT,
    headers: { ...GET_OBJECT.headers, ...changed },
  });
  const signedWith = (signedHeaders: string, scope?: string) =>
    headers({ authorization: authorization(signedHeaders, GET_OBJECT.headers.authorization.slice(-64), scope) });
  const unsigned = { ...GET_OBJECT.headers, authorization: undefined };
  const refused: Array<[string, string, object, Partial<typeof KEYS>, Date]> = [
    ["no Authorization header", "AccessDenied", { ...GET_OBJECT, headers: unsigned }, {}, NOW],
    ["another method", "SignatureDoesNotMatch", { ...GET_OBJECT, method: "DELETE" }, {}, NOW],
    ["another object", "SignatureDoesNotMatch", { ...GET_OBJECT, url: "/other.txt" }, {}, NOW],
    ["an added query", "SignatureDoesNotMatch", { ...GET_OBJECT, url: "/test.txt?acl" }, {}, NOW],
    ["a changed signed header", "SignatureDoesNotMatch", headers({ range: "bytes=0-99" }), {}, NOW],
    ["another secret key", "SignatureDoesNotMatch", GET_OBJECT, { secretKey: "S3RVER" }, NOW],
    ["another access key (s3rver's S3RVER)", "InvalidAccessKeyId", GET_OBJECT, { accessKey: "S3RVER" }, NOW],
    ["a clock 16 minutes later", "RequestTimeTooSkewed", GET_OBJECT, {}, new Date(NOW.getTime() + 16 * 60_000)],
    [
      "Signature Version 2",
      "AccessDenied",
      headers({ authorization: `AWS ${KEYS.accessKey}:frJIUN8DYpKDtOLCwo//yllqDzg=` }),
      {},
      NOW,
    ],
    ["x-amz-content-sha256 not signed", "AccessDenied", signedWith("host;range;x-amz-date"), {}, NOW],
    [
      "a scope for another service",
      "AccessDenied",
      signedWith("host;range;x-amz-content-sha256;x-amz-date", "20130524/us-east-1/iam/aws4_request"),
      {},
      NOW,
    ],
    [
      "a scope for another day",
      "AccessDenied",
      signedWith("host;range;x-amz-content-sha256;x-amz-date", "20130523/us-east-1/s3/aws4_request"),
      {},
      NOW,
    ],
  ];
  it.each(refused)("AWS's GET Object example with %s → %s", (_name, code, request, keys, now) => {
    expect(checkSignature(request as typeof GET_OBJECT, { ...KEYS, ...keys }, now)).toMatchObject({ code });
  });

  it("a presigned URL (query-string authentication) → AccessDenied: only the header form is accepted", () => {
    const url =
      "/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request" +
      "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host" +
      "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404";
    expect(checkSignature({ method: "GET", url, headers: { host: BASE.host } }, KEYS, NOW)).toMatchObject({
      code: "AccessDenied",
    });
  });
});
