/**
 * Shell completion scripts for `proxy-server completion bash|zsh|fish`,
 * generated from the option table that `--help` and `parseArgs` are built
 * from ({@linkcode OPTION_TABLE} in `options.ts`): an option added there is
 * completed without touching this file. A value named `FILE` completes file
 * names, a value written `a|b` completes `a` and `b`, and the first sentence
 * of an option's help is its description (zsh, fish).
 *
 * @example
 * ```ts
 * import { completionScript } from "./completion.ts";
 * console.log(completionScript("bash"));   // source <(proxy-server completion bash)
 * ```
 *
 * @module
 */
import { OPTION_TABLE, type OptionSpec } from "./options.ts";

/** Shells with a completion script. */
export const SHELLS = ["bash", "zsh", "fish"] as const;

/** A shell with a completion script. */
export type Shell = typeof SHELLS[number];

/** One flag as the scripts need it. */
export interface Flag {
  long: string;
  short?: string;
  /** Takes a value. */
  value: boolean;
  /** The value's placeholder (`FILE`, `ADDR`, `text|github`), if any. */
  valueName?: string;
  /** May be given more than once. */
  multiple: boolean;
  /** The arguments after it are its values (`--validate-config a.json b.json`). */
  takesArguments: boolean;
  /** The first sentence of its help. */
  description: string;
}

/** The command that prints these scripts. */
const SUBCOMMAND = { name: "completion", description: "print a shell completion script (bash, zsh, fish)" };

/** The flags of an option table. */
export function flags(table: readonly OptionSpec[] = OPTION_TABLE): Flag[] {
  return table.map((o) => ({
    long: o.long,
    short: o.short,
    // An option that takes arguments is a switch followed by its values.
    value: o.value !== undefined && !o.takesArguments,
    valueName: o.value,
    multiple: o.multiple === true,
    takesArguments: o.takesArguments === true,
    description: o.help.split(/\.(\s|$)/)[0],
  }));
}

const takesFile = (f: Flag) => f.valueName !== undefined && /FILE|PATH/.test(f.valueName);
/** The alternatives of a value written `a|b`, else none. */
const choices = (f: Flag) => f.valueName?.includes("|") ? f.valueName.split("|") : [];

/** A word quoted for a POSIX shell (bash, zsh). */
const sq = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

const names = (f: Flag) => [`--${f.long}`, ...(f.short ? [`-${f.short}`] : [])];

function bash(all: Flag[]): string {
  const words = all.flatMap(names).join(" ");
  const arms: string[] = [];
  const files = all.filter((f) => f.value && takesFile(f));
  if (files.length) {
    arms.push(
      `    ${
        files.flatMap(names).join("|")
      })\n      compopt -o filenames 2>/dev/null\n      COMPREPLY=($(compgen -f -- "$cur"))\n      return 0 ;;`,
    );
  }
  for (const f of all.filter((f) => f.value && choices(f).length > 0)) {
    arms.push(
      `    ${names(f).join("|")})\n      COMPREPLY=($(compgen -W ${
        sq(choices(f).join(" "))
      } -- "$cur"))\n      return 0 ;;`,
    );
  }
  const others = all.filter((f) => f.value && !takesFile(f) && choices(f).length === 0);
  if (others.length) arms.push(`    ${others.flatMap(names).join("|")})\n      COMPREPLY=()\n      return 0 ;;`);
  // After an option whose values are the following arguments, a word that is not an option is a file.
  const positional = all.filter((f) => f.takesArguments && takesFile(f)).flatMap(names);
  const positionalFiles = positional.length
    ? `  if [[ "$cur" != -* ]]; then
    local w
    for w in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
      case "$w" in
        ${positional.join("|")})
          compopt -o filenames 2>/dev/null
          COMPREPLY=($(compgen -f -- "$cur"))
          return 0 ;;
      esac
    done
  fi
`
    : "";
  return `# bash completion for proxy-server: source <(proxy-server completion bash)
_proxy_server() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  if [ "$COMP_CWORD" -eq 2 ] && [ "\${COMP_WORDS[1]}" = ${SUBCOMMAND.name} ]; then
    COMPREPLY=($(compgen -W ${sq(SHELLS.join(" "))} -- "$cur"))
    return 0
  fi
  case "$prev" in
${arms.join("\n")}
  esac
${positionalFiles}  local words=${sq(words)}
  [ "$COMP_CWORD" -eq 1 ] && words="$words ${SUBCOMMAND.name}"
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _proxy_server proxy-server
`;
}

/** Text inside a zsh `_arguments` spec's `[...]` or after its `:`. */
const zshText = (s: string) => s.replace(/([\\\[\]:])/g, "\\$1");

function zsh(all: Flag[]): string {
  const specs = all.map((f) => {
    const action = f.value
      ? `:${zshText(f.valueName ?? "value")}:${
        takesFile(f) ? "_files" : choices(f).length ? `(${choices(f).join(" ")})` : " "
      }`
      : "";
    const desc = `[${zshText(f.description)}]`;
    const spec = f.short
      ? `'(-${f.short} --${f.long})'{-${f.short},--${f.long}}${sq(`${desc}${action}`)}`
      : sq(`${f.multiple ? "*" : ""}--${f.long}${desc}${action}`);
    return `    ${spec}`;
  });
  return `#compdef proxy-server
# zsh completion for proxy-server: source <(proxy-server completion zsh)
# (after compinit), or save as _proxy_server in a directory of $fpath.
_proxy_server() {
  if (( CURRENT == 3 )) && [[ \${words[2]} == ${SUBCOMMAND.name} ]]; then
    _values shell ${SHELLS.join(" ")}
    return
  fi
  if (( CURRENT == 2 )) && [[ \${words[2]} != -* ]]; then
    _values command ${sq(`${SUBCOMMAND.name}[${zshText(SUBCOMMAND.description)}]`)}
    return
  fi
  _arguments -s \\
${specs.join(" \\\n")}${all.some((f) => f.takesArguments && takesFile(f)) ? " \\\n    '*:file:_files'" : ""}
}
if (( $+functions[compdef] )); then
  compdef _proxy_server proxy-server
fi
`;
}

/** A word quoted for fish. */
const fq = (s: string) => `'${s.replace(/(['\\])/g, "\\$1")}'`;

function fish(all: Flag[]): string {
  const lines = all.map((f) => {
    const parts = ["complete -c proxy-server", `-l ${f.long}`];
    if (f.short) parts.push(`-s ${f.short}`);
    if (f.value) parts.push(takesFile(f) ? "-r -F" : choices(f).length ? `-x -a ${fq(choices(f).join(" "))}` : "-x");
    if (f.description) parts.push(`-d ${fq(f.description)}`);
    return parts.join(" ");
  });
  return `# fish completion for proxy-server: proxy-server completion fish | source
# (or save as ~/.config/fish/completions/proxy-server.fish)
complete -c proxy-server -f
complete -c proxy-server -n __fish_use_subcommand -a ${SUBCOMMAND.name} -d ${fq(SUBCOMMAND.description)}
complete -c proxy-server -n '__fish_seen_subcommand_from ${SUBCOMMAND.name}' -a ${fq(SHELLS.join(" "))}
${lines.join("\n")}
${
    all.filter((f) => f.takesArguments && takesFile(f)).map((f) =>
      `complete -c proxy-server -n ${fq(`__fish_contains_opt ${f.short ? `-s ${f.short} ` : ""}${f.long}`)} -F\n`
    ).join("")
  }`;
}

/** The completion script for `shell`, from the option table and usage text. */
export function completionScript(shell: Shell, all: Flag[] = flags()): string {
  switch (shell) {
    case "bash":
      return bash(all);
    case "zsh":
      return zsh(all);
    case "fish":
      return fish(all);
  }
}
