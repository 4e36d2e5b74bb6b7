/**
 * The egress part of loading a config that a schema cannot check on its
 * own: merging the sources and pools of `sources_file`s into `sources` and
 * `pools`, and checking that every name refers to something (pool entries
 * to sources, `egress_pool` of listeners and users to pools).
 *
 * @module
 */

import { type ConfigProblem, jsonKey } from "./errors.ts";
import type { Config } from "./schema/index.ts";
import type { SourcesFiles } from "./sources-file.ts";

/** `$.key.name` or `$.key["odd name"]` */
function named(key: string, name: string): string {
  return `$.${key}${jsonKey(name)}`;
}

/**
 * Add the sources and pools of `files` to `config` (in place) and return
 * every problem: a name defined both in `config` and in a file, a pool entry
 * naming an unknown source, a listener or user naming an unknown pool.
 *
 * @param config the validated config
 * @param file the config file's name, for problems found in it
 * @param files what the sources-helper files contributed
 */
export function mergeEgress(config: Config, file: string, files: SourcesFiles): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const poolFile = new Map<string, { file: string; path: string }>();
  for (const name of Object.keys(config.pools)) poolFile.set(name, { file, path: named("pools", name) });
  for (const [name, { file: from, source }] of files.sources) {
    if (name in config.sources) {
      problems.push({
        file,
        path: named("sources", name),
        message: `source ${JSON.stringify(name)} is also defined in ${from}`,
      });
      continue;
    }
    config.sources[name] = source;
  }
  for (const [name, { file: from, pool }] of files.pools) {
    if (name in config.pools) {
      problems.push({
        file,
        path: named("pools", name),
        message: `pool ${JSON.stringify(name)} is also defined in ${from}`,
      });
      continue;
    }
    config.pools[name] = pool;
    poolFile.set(name, { file: from, path: named("pool", name) });
  }
  for (const [name, pool] of Object.entries(config.pools)) {
    const where = poolFile.get(name)!;
    pool.entries.forEach((entry, index) => {
      if (entry.name in config.sources) return;
      problems.push({
        file: where.file,
        path: where.file === file ? `${where.path}.entries[${index}].name` : `${where.path}${jsonKey(entry.name)}`,
        message: `pool ${JSON.stringify(name)} names source ${JSON.stringify(entry.name)}, which is not defined`,
      });
    });
  }
  const pools = Object.keys(config.pools);
  const unknownPool = (pool: string) =>
    `unknown egress pool ${JSON.stringify(pool)}; ` +
    (pools.length === 0 ? "no pools are defined" : `expected one of: ${pools.join(", ")}`);
  config.proxy_listeners.forEach((listener, index) => {
    if (listener.egress_pool !== undefined && !(listener.egress_pool in config.pools)) {
      problems.push({
        file,
        path: `$.proxy_listeners[${index}].egress_pool`,
        message: unknownPool(listener.egress_pool),
      });
    }
  });
  config.users.forEach((user, index) => {
    if (user.egress_pool !== undefined && !(user.egress_pool in config.pools)) {
      problems.push({ file, path: `$.users[${index}].egress_pool`, message: unknownPool(user.egress_pool) });
    }
  });
  return problems;
}
