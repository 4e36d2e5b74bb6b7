// The diagnostic log: KumoMTA's filter syntax, per-target levels, run-time
// filter changes, human and JSON lines.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import {
  configureLogging,
  currentLogFilter,
  getLog,
  LogFilterError,
  parseLogFilter,
  setLogFilter,
} from "../../src/log/index.ts";

const lines: string[] = [];
const write = (line: string) => lines.push(line);

after(() => configureLogging({ filter: "proxy_server=info", format: "human", write: (l) => void l }));

test("parseLogFilter reads bare levels and TARGET=LEVEL directives", () => {
  assert.deepEqual(parseLogFilter("info,proxy_server::egress=debug"), [
    { target: [], level: "info" },
    { target: ["proxy_server", "egress"], level: "debug" },
  ]);
  assert.deepEqual(parseLogFilter(" proxy_server=off "), [{ target: ["proxy_server"], level: "off" }]);
});

test("parseLogFilter rejects unknown levels, empty directives and bad targets, naming the directive", () => {
  for (const bad of ["", "proxy_server=loud", "proxy_server=", "a==info", "info,,debug", "bad target=info"]) {
    assert.throws(() => parseLogFilter(bad), LogFilterError, bad);
  }
  assert.throws(() => parseLogFilter("proxy_server=loud"), /"proxy_server=loud"/);
});

test("per-target levels: a debug directive for one concern lets only its debug lines through", () => {
  lines.length = 0;
  configureLogging({ filter: "proxy_server=info,proxy_server::egress=debug", format: "human", write });
  getLog("server").debug("server detail");
  getLog("server").info("server news");
  getLog("egress").debug("egress detail");
  assert.equal(lines.length, 2);
  assert.match(lines[0], /\[INFO\] proxy_server::server: server news/);
  assert.match(lines[1], /\[DEBUG\] proxy_server::egress: egress detail/);
});

test("setLogFilter changes what is logged at once; a bad filter changes nothing", () => {
  lines.length = 0;
  configureLogging({ filter: "proxy_server=warn", format: "human", write });
  getLog("server").info("quiet");
  setLogFilter("proxy_server=info");
  getLog("server").info("loud");
  assert.throws(() => setLogFilter("proxy_server=nonsense"), LogFilterError);
  assert.equal(currentLogFilter(), "proxy_server=info");
  getLog("server").info("still loud");
  assert.deepEqual(lines.map((l) => l.replace(/^.*: /, "").trim()), ["loud", "still loud"]);
});

test("json format writes one JSON object per line with level, logger and properties", () => {
  lines.length = 0;
  configureLogging({ filter: "proxy_server=info", format: "json", write });
  getLog("server").warn("proxy listener on {address}", { address: "127.0.0.1:1080" });
  const record = JSON.parse(lines[0]);
  assert.equal(record.level, "WARN");
  assert.equal(record.logger, "proxy_server::server");
  assert.match(record.message, /^proxy listener on "?127\.0\.0\.1:1080"?$/);
  assert.equal(record.properties.address, "127.0.0.1:1080");
});
