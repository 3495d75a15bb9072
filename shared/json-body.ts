import type { z } from "zod";
import { HttpError } from "./http-error.js";

/** Parses a JSON request body against its schema, once; a 400 naming `what` and every bad field otherwise. */
export function parseJsonBody<T extends z.ZodType>(schema: T, body: Buffer, what: string): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, `${what}: body is not valid JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const fields = result.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ");
    throw new HttpError(400, `${what}: ${fields}`);
  }
  return result.data;
}
