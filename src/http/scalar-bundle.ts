/**
 * The Scalar API reference browser bundle (`@scalar/api-reference`'s
 * `dist/browser/standalone.js`), imported as text so it ships inside
 * proxy-server (and inside a `bun build --compile` executable): `/rapidoc`
 * then works on a host without internet access, instead of loading the
 * bundle from Scalar's default CDN.
 *
 * @module
 */

import bundle from "@scalar/api-reference/browser/standalone.js" with { type: "text" };

/** The bundle's JavaScript source (about 3.5 MB). */
export const SCALAR_BUNDLE: string = bundle;
