// deploy/Dockerfile: every file and command its stages name exists in the
// checkout; and the image builds from this checkout with Debian's buildah
// (no daemon: chroot isolation) and runs `proxy-server --version` as its
// non-root user. This machine reaches no container registry, so the two base
// images are local stand-ins made from this machine's files
// (test/deploy/container-bases.sh) and passed as NODE_IMAGE and RUNTIME_IMAGE,
// the build arguments the Dockerfile offers for mirrors.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { ROOT } from "../helpers/proxy-process.ts";

const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
const IMAGE = "localhost/proxy-server-test/image";

/** One instruction: keyword and its text, continuation lines joined. */
interface Instruction {
  keyword: string;
  args: string;
}

/** The stages of a Dockerfile: the global ARGs, then each FROM with its instructions. */
function parseDockerfile(text: string) {
  const instructions: Instruction[] = text.replace(/\\\n/g, " ").split("\n")
    .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
    .map((l) => {
      const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
      return { keyword: m[1].toUpperCase(), args: m[2].trim() };
    });
  const globalArgs = new Map<string, string>();
  const stages: { from: string; name?: string; body: Instruction[] }[] = [];
  for (const i of instructions) {
    if (i.keyword === "FROM") {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args)!;
      stages.push({ from: m[1].replace(/\$\{(\w+)\}/g, (_, n) => globalArgs.get(n) ?? ""), name: m[2], body: [] });
    } else if (stages.length === 0 && i.keyword === "ARG") {
      const [name, value = ""] = i.args.split("=");
      globalArgs.set(name, value);
    } else stages.at(-1)?.body.push(i);
  }
  return { globalArgs, stages };
}

function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    );
  });
}

test("the Dockerfile's stages name files and commands that exist in the checkout", () => {
  const { globalArgs, stages } = parseDockerfile(dockerfile);
  assert.equal(stages.length, 2);
  const [build, final] = stages;
  assert.equal(build.name, "build");
  assert.match(globalArgs.get("NODE_IMAGE")!, /node:\d+-\w+-slim$/);
  assert.match(globalArgs.get("RUNTIME_IMAGE")!, /distroless\/cc-debian\d+:nonroot$/);
  const workdir = build.body.find((i) => i.keyword === "WORKDIR")!.args;
  // The build stage copies files that exist and runs the build script with a flag it takes.
  for (const copy of build.body.filter((i) => i.keyword === "COPY")) {
    for (const source of copy.args.split(/\s+/).slice(0, -1)) {
      assert.ok(source === "." || existsSync(join(ROOT, source)), source);
    }
  }
  const runs = build.body.filter((i) => i.keyword === "RUN").map((i) => i.args).join("\n");
  assert.match(runs, /npm install/);
  assert.match(runs, /scripts\/build --host-only/);
  assert.match(readFileSync(join(ROOT, "scripts/build"), "utf8"), /--host-only\)/);
  assert.match(runs, /\$\{TARGETARCH:-\}/);
  // The final stage takes the binary where scripts/build writes it, and the shipped config.
  const copies = final.body.filter((i) => i.keyword === "COPY").map((i) => i.args);
  assert.ok(
    copies.includes(`--from=build ${workdir}/dist/proxy-server /usr/local/bin/proxy-server`),
    copies.join("\n"),
  );
  assert.ok(copies.includes("deploy/proxy.json /etc/proxy-server/proxy.json"));
  const user = final.body.find((i) => i.keyword === "USER")!.args;
  assert.match(user, /^[1-9]\d*:[1-9]\d*$/, "a numeric non-root user");
  // Both ports of deploy/proxy.json are exposed.
  const config = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  const ports = [...config.proxy_listeners, ...config.http_listeners].map((l: { listen: string }) =>
    /:(\d+)$/.exec(l.listen)![1]
  );
  assert.deepEqual(final.body.find((i) => i.keyword === "EXPOSE")!.args.split(/\s+/), ports);
  // The version label is package.json's.
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  assert.equal(globalArgs.get("VERSION"), version);
  // The context leaves out what the build makes itself.
  const ignored = readFileSync(join(ROOT, ".dockerignore"), "utf8").split("\n");
  for (const p of [".git", "node_modules", "dist"]) assert.ok(ignored.includes(p), `.dockerignore: ${p}`);
});

test("the image builds from this checkout with buildah and runs proxy-server --version as its non-root user", {
  timeout: 900_000,
}, async () => {
  // Both runtimes' suites may run at once: one build at a time, the second from the first's cache.
  const lock = join(tmpdir(), "proxy-server-test-image.lock");
  const bases = await run("flock", [lock, "bash", join(ROOT, "test/deploy/container-bases.sh")], 300_000);
  assert.equal(bases.code, 0, bases.stderr);
  // Builds leave untagged layers behind (the cache --layers reuses): bound them.
  const dangling = await run("buildah", ["images", "--filter", "dangling=true", "--quiet"], 60_000);
  if (dangling.stdout.trim().split("\n").length > 40) await run("buildah", ["rmi", "--prune"], 300_000);
  const arch = process.arch === "arm64" ? "arm64" : "amd64";
  // --layers: a second run (the other runtime's) reuses the first one's layers.
  const build = await run("flock", [
    lock,
    "buildah",
    "bud",
    "--isolation",
    "chroot",
    "--layers",
    "--pull=never",
    "--format",
    "docker",
    "--build-arg",
    `TARGETARCH=${arch}`,
    "--build-arg",
    "NODE_IMAGE=localhost/proxy-server-test/node:2",
    "--build-arg",
    "RUNTIME_IMAGE=localhost/proxy-server-test/runtime:2",
    "-f",
    "deploy/Dockerfile",
    "-t",
    IMAGE,
    ".",
  ], 840_000);
  assert.equal(build.code, 0, build.stdout.slice(-4000) + build.stderr.slice(-4000));
  const inspect = JSON.parse((await run("buildah", ["inspect", "--type", "image", IMAGE], 60_000)).stdout);
  const config = inspect.Docker.config;
  assert.equal(config.User, "65532:65532");
  assert.deepEqual(Object.keys(config.ExposedPorts).sort(), ["1080/tcp", "8080/tcp"]);
  assert.deepEqual(config.Entrypoint, ["/usr/local/bin/proxy-server"]);
  assert.deepEqual(config.Cmd, ["--config", "/etc/proxy-server/proxy.json"]);
  assert.deepEqual(config.Healthcheck.Test, [
    "CMD",
    "/usr/local/bin/proxy-server",
    "--healthcheck",
    "--config",
    "/etc/proxy-server/proxy.json",
  ]);
  assert.equal(config.Labels["org.opencontainers.image.licenses"], "Apache-2.0");
  assert.equal(
    config.Labels["org.opencontainers.image.version"],
    JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version,
  );
  const from = await run("buildah", ["from", "--pull=never", IMAGE], 60_000);
  assert.equal(from.code, 0, from.stderr);
  const ctr = from.stdout.trim().split("\n").at(-1)!;
  try {
    const version = await run("buildah", [
      "run",
      "--isolation",
      "chroot",
      ctr,
      "--",
      "/usr/local/bin/proxy-server",
      "--version",
    ], 60_000);
    assert.equal(version.code, 0, version.stderr);
    // The build stamp: no .git in the build context, so the commit is unknown; the build time is set.
    assert.match(
      version.stdout,
      /^proxy-server \d+\.\d+\.\d+ \(bun [\d.]+(; commit \w+, built \d{4}-\d\d-\d\dT[\d:]+Z)?\)$/m,
    );
    // The binary alone, with the config the image ships: it validates.
    const valid = await run("buildah", [
      "run",
      "--isolation",
      "chroot",
      ctr,
      "--",
      "/usr/local/bin/proxy-server",
      "--validate-config",
      "/etc/proxy-server/proxy.json",
    ], 60_000);
    assert.equal(valid.code, 0, valid.stderr);
  } finally {
    await run("buildah", ["rm", ctr], 60_000);
  }
});
