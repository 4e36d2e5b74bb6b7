/**
 * The command line as data: every option with its short form, value and
 * help text, the synopsis lines and the environment variables. `--help`
 * (`USAGE` in `args.ts`), the `parseArgs` option set and the man page
 * (`scripts/gen-man.ts`) are all built from these tables, so they cannot
 * disagree.
 *
 * @module
 */

/** One command-line option. */
export interface OptionSpec {
  /** The long name, without the dashes: `"config"` for `--config`. */
  long: string;
  /** The one-letter short form, without the dash (`"c"` for `-c`), if any. */
  short?: string;
  /** Placeholder of the value (`"FILE"`), for an option that takes one; absent for a switch. */
  value?: string;
  /** Whether the option may be given more than once (each value kept). */
  multiple?: boolean;
  /**
   * The option is a switch whose values are the arguments that follow it
   * (`--validate-config a.json b.json`): `value` names them, and a value
   * written `--option=VALUE` counts as one of them.
   */
  takesArguments?: boolean;
  /** What it does, one or more sentences (wrapped by whoever prints it). */
  help: string;
}

/** Every option, in the order `--help` lists them. */
export const OPTION_TABLE: readonly OptionSpec[] = [
  {
    long: "config",
    short: "c",
    value: "FILE",
    help: "Run with the JSON config FILE (see config.schema.json). With --healthcheck: the config whose first " +
      "proxy listener is checked.",
  },
  {
    long: "listen",
    value: "ADDR",
    multiple: true,
    help: "KumoProxy's legacy mode: a no-auth SOCKS5 listener on ADDR (IP:PORT); give it once per listener. " +
      "With --healthcheck: the address to check.",
  },
  {
    long: "timeout-seconds",
    value: "N",
    help: "With --listen: the bound of each handshake step and of the outbound connect (default 60). " +
      "With --healthcheck: the bound of the check (default 5).",
  },
  { long: "no-splice", help: "Accepted for KumoProxy compatibility; has no effect (one notice is printed)." },
  {
    long: "diag-format",
    value: "FORMAT",
    help: "With a run mode, as KumoProxy's flag: the diagnostic log format, full, compact, pretty or json " +
      "(json: JSON lines; the others: the human format). Wins over the config's log.format.",
  },
  {
    long: "diag-log-dir",
    value: "DIR",
    help: "With a run mode, as KumoProxy's flag: write the diagnostic log to hourly files in DIR " +
      "(proxy-server.YYYY-MM-DD-HH.log, UTC) instead of stderr.",
  },
  {
    long: "proxy-config",
    value: "FILE",
    help: "KumoProxy's flag. FILE.json is the same as --config; any other FILE is a KumoProxy Lua policy, " +
      "converted in memory and run (exit 2, listing them, if parts of it cannot be converted).",
  },
  {
    long: "convert-proxy-config",
    value: "FILE",
    help: "Print the JSON config equivalent to the KumoProxy Lua policy FILE; exit 0 if all of it converted, " +
      "1 if parts were dropped (listed on stderr), 2 on a Lua error.",
  },
  {
    long: "validate-config",
    value: "FILE",
    takesArguments: true,
    help: "Check config files without starting anything: FILE and any further FILE arguments, - for standard " +
      'input. The schema and every cross-reference are checked; secrets ({ "env" }, { "file" }, TLS key ' +
      "files) are checked for form only unless --resolve-secrets is given. Exit 0 if every file is valid, " +
      "2 if any is not.",
  },
  {
    long: "resolve-secrets",
    help: "With --validate-config: also read every secret and TLS key the config names, as --config does, " +
      "so an unset variable or an unreadable file is a problem.",
  },
  {
    long: "format",
    value: "text|github",
    help: "With --validate-config: how problems are printed. text (default): FILE:LINE:COLUMN: $.path: message " +
      "lines on stderr. github: GitHub Actions annotations (::error file=FILE,line=LINE,col=COLUMN::...) " +
      "on stdout.",
  },
  {
    long: "healthcheck",
    help: "Send a SOCKS5 greeting (over TLS if the listener uses TLS) to the first proxy listener of --config " +
      "FILE (default ./proxy.json) or to --listen ADDR; exit 0 healthy, 1 not.",
  },
  { long: "dump-config-schema", help: "Print the config JSON Schema." },
  {
    long: "dump-openapi-spec",
    help: "Print the HTTP API's OpenAPI 3.1 document (byte for byte what GET /api-docs/openapi.json serves).",
  },
  { long: "dump-metric-metadata", help: "Print every metric's name, type, help and labels as JSON." },
  { long: "version", short: "V", help: "Print the version and the runtime." },
  { long: "help", short: "h", help: "Print this help." },
];

/** The ways to call `proxy-server`, one line each (the man page's SYNOPSIS). */
export const SYNOPSIS: readonly string[] = [
  "proxy-server --config FILE",
  "proxy-server --listen ADDR [--listen ADDR ...] [--timeout-seconds N] [--no-splice]",
  "proxy-server --proxy-config FILE",
  "proxy-server --convert-proxy-config FILE",
  "proxy-server --validate-config [--resolve-secrets] [--format text|github] FILE|- [FILE|- ...]",
  "proxy-server --healthcheck [--config FILE | --listen ADDR] [--timeout-seconds N]",
  "proxy-server --dump-config-schema | --dump-openapi-spec | --dump-metric-metadata",
  "proxy-server --version | --help",
];

/** An environment variable the command reads. */
export interface EnvironmentSpec {
  /** The variable's name. */
  name: string;
  /** What it does. */
  help: string;
}

/** The environment variables `proxy-server` reads (besides those a config names). */
export const ENVIRONMENT_TABLE: readonly EnvironmentSpec[] = [
  {
    name: "PROXY_SERVER_LOG",
    help: 'Log filter; overrides the config\'s log.filter (e.g. "proxy_server=debug").',
  },
  {
    name: "KUMO_PROXY_LOG",
    help: "KumoProxy's name for the same filter; PROXY_SERVER_LOG wins when both are set.",
  },
  {
    name: "PROXY_SERVER_HEALTHCHECK_USERNAME",
    help: "RFC 1929 username --healthcheck offers (needed when the listener has require_auth).",
  },
  { name: "PROXY_SERVER_HEALTHCHECK_PASSWORD", help: "RFC 1929 password --healthcheck offers." },
];

/** An exit status and what it means. */
export interface ExitStatusSpec {
  /** The status. */
  code: number;
  /** When the command exits with it. */
  help: string;
}

/** The exit statuses of `proxy-server`. */
export const EXIT_STATUS_TABLE: readonly ExitStatusSpec[] = [
  { code: 0, help: "Success, or a clean stop after SIGINT or SIGTERM; --healthcheck: healthy." },
  {
    code: 1,
    help: "The proxy cannot start (e.g. a listen address in use); --healthcheck: unhealthy; " +
      "--convert-proxy-config: parts of the policy were dropped.",
  },
  { code: 2, help: "A bad command line, or a bad config (each problem printed as FILE:LINE:COLUMN: $.path: message)." },
];

/** `-c, --config FILE` / `    --listen ADDR`: how an option is written in help text. */
export function optionLabel(option: OptionSpec): string {
  const long = `--${option.long}${option.value === undefined ? "" : ` ${option.value}`}`;
  return option.short === undefined ? `    ${long}` : `-${option.short}, ${long}`;
}

/** `text` broken into lines of at most `width` characters (a longer word stays whole). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** The `parseArgs` option set of {@linkcode OPTION_TABLE}. */
export function parseArgsOptions(): Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> {
  return Object.fromEntries(OPTION_TABLE.map((option) => [option.long, {
    type: option.value === undefined || option.takesArguments ? "boolean" as const : "string" as const,
    ...(option.short === undefined ? {} : { short: option.short }),
    ...(option.multiple ? { multiple: true } : {}),
  }]));
}

/**
 * Edit distance between `a` and `b` (optimal string alignment: insert,
 * delete, substitute, or swap two neighbours, each costing 1). Written out
 * here: no maintained edit-distance package is a dependency of ours
 * (`leven` is in node_modules only under a devDependency).
 *
 * @example
 * ```ts
 * editDistance("conifg", "config"); // 1
 * ```
 */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.length][b.length];
}

/**
 * The option an unknown `--name` most likely meant: the only option it is
 * a prefix of, else the nearest by {@linkcode editDistance} when that is
 * at most 2 (3 for names of 9 characters or more); `undefined` when
 * nothing is close.
 *
 * @param given the unknown option as typed, e.g. `"--conifg"` or `"--conifg=x"`
 * @returns e.g. `"--config"`
 */
export function suggestOption(given: string): string | undefined {
  const name = given.replace(/^-+/, "").split("=")[0].toLowerCase();
  if (name === "") return undefined;
  const longs = OPTION_TABLE.map((option) => option.long);
  const prefixed = longs.filter((long) => long.startsWith(name));
  if (prefixed.length === 1) return `--${prefixed[0]}`;
  let best: { long: string; distance: number } | undefined;
  for (const long of longs) {
    const distance = editDistance(name, long);
    if (best === undefined || distance < best.distance) best = { long, distance };
  }
  const limit = name.length >= 9 ? 3 : 2;
  return best !== undefined && best.distance <= limit ? `--${best.long}` : undefined;
}
