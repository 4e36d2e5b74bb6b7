/**
 * Shared pieces of the route descriptions: the error body, and helpers that
 * describe plain-text and JSON responses for OpenAPI.
 *
 * @module
 */

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
