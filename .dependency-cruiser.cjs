/**
 * dependency-cruiser rules for proxy-server: `npm run deps`.
 *
 * One folder per concern under src/, dependencies pointing one way (see
 * CONTRIBUTING.md, "Layering"). Each folder may import only the folders listed
 * for it in LAYERS; anything else is an error. Folders not on main yet
 * (access, cluster, migrate) are listed so that the rules hold when they arrive.
 *
 * Parser: dependency-cruiser reads TypeScript through the `typescript` JS API
 * (versions below 7) or through swc. This project's `typescript` is 7 (the Go
 * port, which has no JS API), so the config selects swc (`@swc/core`, a dev
 * dependency). swc marks `import type` / all-`type` specifiers as
 * "type-only", which the rules below use.
 *
 * dependency-cruiser 18 wants Node >= 22; the `deps` script runs it on Bun.
 */

/** folder -> folders (besides itself) it may import from. */
const LAYERS = {
  cli: [
    "config",
    "server",
    "http",
    "log",
    "tls",
    "egress",
    "metrics",
    "runtime",
    "socks5",
    "access",
    "auth",
    "cluster",
    "migrate",
  ],
  http: ["egress", "metrics", "config", "log", "runtime", "tls", "auth"],
  // socks5: the REP and CMD names that label proxy_requests_total.
  metrics: ["egress", "server", "runtime", "log", "socks5", "auth"],
  server: ["socks5", "egress", "access", "auth", "tls", "log", "runtime"],
  egress: ["socks5", "log", "runtime"],
  access: ["runtime"],
  // Credentials (RFC 1929 users, hash workers): shared by the session and the admin API.
  auth: ["runtime", "log"],
  cluster: ["egress", "access", "log", "runtime"],
  config: ["log", "tls", "egress", "access", "runtime"],
  tls: ["runtime", "log"],
  log: [],
  socks5: ["runtime"],
  runtime: [],
  // KumoProxy Lua policy -> JSON config conversion (the lua branch): reads and checks configs.
  migrate: ["config", "log", "runtime"],
};

const layerRules = Object.entries(LAYERS).map(([folder, allowed]) => ({
  name: `layer-${folder}`,
  comment: allowed.length === 0
    ? `src/${folder}/ imports nothing else of ours`
    : `src/${folder}/ may import only: ${allowed.join(", ")}`,
  severity: "error",
  from: { path: `^src/${folder}/` },
  to: { path: "^src/[^/]+/", pathNot: `^src/(${[folder, ...allowed].join("|")})/` },
}));

module.exports = {
  forbidden: [
    {
      name: "runtime-boundary",
      comment: "Outside src/runtime/, import the runtime only through src/runtime/index.ts " +
        "(tests of runtime internals in test/runtime/ excepted).",
      severity: "error",
      from: { path: "^(src|scripts|test)/", pathNot: "^(src|test)/runtime/" },
      to: { path: "^src/runtime/", pathNot: "^src/runtime/index\\.ts$" },
    },
    ...layerRules,
    {
      name: "metrics-server-types-only",
      comment: "metrics reads the observer interfaces that server declares; types only, no code.",
      severity: "error",
      from: { path: "^src/metrics/" },
      to: { path: "^src/server/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "access-runtime-types-only",
      comment: "access is pure decisions: of ours it may use only runtime types.",
      severity: "error",
      from: { path: "^src/access/" },
      to: { path: "^src/runtime/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "config-egress-spec-only",
      comment: "config may use egress's pure spec rules (src/egress/spec.ts, src/egress/source-rules.ts), " +
        "nothing with I/O or state.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/egress/", pathNot: "^src/egress/(spec|source-rules)\\.ts$" },
    },
    {
      name: "through-index",
      comment: "A folder's public surface is its index.ts; reaching past it is worth a look " +
        "(a warning, not an error: runtime has its own rule above).",
      severity: "warn",
      from: { path: "^src/([^/]+)/" },
      to: { path: "^src/[^/]+/", pathNot: ["^src/$1/", "^src/[^/]+/index\\.ts$", "^src/runtime/"] },
    },
    {
      name: "no-circular",
      comment: "No import cycles between modules. A cycle made only of `import type` is erased " +
        "before either runtime loads a module, so it does not count.",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "src-not-to-test-or-scripts",
      comment: "The shipped code does not depend on tests or build scripts.",
      severity: "error",
      from: { path: "^src/" },
      to: { path: "^(test|scripts)/" },
    },
    {
      name: "src-not-to-dev-deps",
      comment: "src/ ships in the executable: it may not import a devDependency.",
      severity: "error",
      from: { path: "^src/" },
      to: { dependencyTypes: ["npm-dev"], dependencyTypesNot: ["type-only"] },
    },
    {
      name: "not-to-unresolvable",
      comment: "Every relative import resolves to a file.",
      severity: "error",
      from: {},
      to: { couldNotResolve: true, path: "^\\." },
    },
  ],
  options: {
    parser: "swc",
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist)/" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "default", "types", "node"],
      extensions: [".ts", ".mjs", ".js", ".json"],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
