/**
 * Shared pieces of the route descriptions: the error body, helpers that
 * describe plain-text and JSON responses for OpenAPI, and the validator hook
 * that turns a request failing its valibot schema into a 400.
 *
 * @module
 */

import type { Context } from "hono";
import { resolver } from "hono-openapi";
import * as v from "valibot";

/** The JSON body of a 400 answer: what was wrong with the request. */
export const ErrorBody = v.pipe(
  v.object({
    error: v.pipe(v.string(), v.description("What was wrong, in one line.")),
  }),
  v.description("Why the request was refused."),
);

/** An OpenAPI response whose body is plain text, with `description` and an example. */
export function textResponse(description: string, example: string) {
  return {
    description,
    content: { "text/plain": { schema: { type: "string" as const }, example } },
  };
}

/** An OpenAPI response whose JSON body follows the valibot `schema`. */
export function jsonResponse(description: string, schema: v.GenericSchema) {
  return { description, content: { "application/json": { schema: resolver(schema) } } };
}

/** The 403 and 413 answers every route can give (listener-wide checks). */
export const COMMON_RESPONSES = {
  403: textResponse("The client's address is not in the listener's trusted_hosts.", "forbidden\n"),
  413: textResponse("The request body is larger than the listener's request_body_limit.", "request body too large\n"),
};

/** One validation issue as hono-openapi's validator reports it (a Standard Schema issue). */
export interface ValidationIssue {
  /** What was expected. */
  readonly message: string;
  /** Where in the input: keys, or segments with a `key`. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/**
 * The hook to give hono-openapi's `validator(target, schema, hook)`: a
 * request that fails its valibot schema gets 400 with the JSON
 * {@linkcode ErrorBody} `{ "error": "PATH: MESSAGE" }` (the first issue;
 * `PATH` is the dotted key path, left out at the top level). A valid
 * request goes on to the handler.
 *
 * @example
 * ```ts
 * app.post("/x", validator("json", v.object({ filter: v.string() }), rejectInvalid), (c) => c.json(c.req.valid("json")));
 * ```
 */
export function rejectInvalid(
  result: { success: true } | { success: false; error: readonly ValidationIssue[] },
  c: Context,
): Response | undefined {
  if (result.success) return undefined;
  const issue = result.error[0];
  const path = (issue?.path ?? []).map((p) => String(typeof p === "object" ? p.key : p)).join(".");
  return c.json({ error: `${path ? `${path}: ` : ""}${issue?.message ?? "invalid request"}` }, 400);
}
