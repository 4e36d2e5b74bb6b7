// deploy/kubernetes: each manifest validates against the Kubernetes API's
// schema for its kind (the kubernetes-models package: JSON Schemas generated
// from the Kubernetes OpenAPI spec, checked with ajv; the ServiceMonitor
// against @kubernetes-models/prometheus-operator, generated from the
// operator's CRD). Unknown keys are not caught by those schemas (as with
// kubeconform without -strict). The pieces fit together (selectors, port
// names, the image's user and ports), and the ConfigMap's config, run by a
// real proxy, answers the probes' path and the ServiceMonitor's path.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Service } from "kubernetes-models/v1/Service";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { ROOT, runCli, startProxy, writeTempConfig } from "../helpers/proxy-process.ts";

const DIR = join(ROOT, "deploy/kubernetes");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();
// deno-lint-ignore no-explicit-any
const objects: { file: string; object: any }[] = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(DIR, file), "utf8")).map((d) => ({ file, object: d.toJS() }))
);
// deno-lint-ignore no-explicit-any
const one = (kind: string): any => {
  const found = objects.filter((o) => o.object.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0].object;
};
// deno-lint-ignore no-explicit-any
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "apps/v1/Deployment": Deployment,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

test("every Kubernetes manifest validates against its kind's schema, and a wrong one does not", () => {
  const kinds = objects.filter((o) => o.object.kind !== "Kustomization").map((o) =>
    `${o.object.apiVersion}/${o.object.kind}`
  );
  assert.deepEqual(kinds.sort(), Object.keys(MODELS).sort());
  for (const { file, object } of objects) {
    if (object.kind === "Kustomization") continue;
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    assert.doesNotThrow(() => new Model(object).validate(), file);
  }
  // The validator is not a no-op.
  const bad = structuredClone(one("Deployment"));
  bad.spec.template.spec.containers[0].ports[0].containerPort = "1080";
  assert.throws(() => new Deployment(bad).validate(), /containerPort must be integer/);
  const badMonitor = structuredClone(one("ServiceMonitor"));
  badMonitor.spec.endpoints[0].interval = "thirty seconds";
  assert.throws(() => new ServiceMonitor(badMonitor).validate(), /interval must match pattern/);
});

test("the manifests fit together: kustomization, selectors, port names, the image's user and ports", () => {
  const kustomization = one("Kustomization");
  assert.deepEqual([...kustomization.resources].sort(), files.filter((f) => f !== "kustomization.yaml"));
  const deployment = one("Deployment");
  const service = one("Service");
  const monitor = one("ServiceMonitor");
  const configMap = one("ConfigMap");
  const pod = deployment.spec.template;
  const container = pod.spec.containers[0];
  assert.deepEqual(deployment.spec.selector.matchLabels, pod.metadata.labels);
  assert.deepEqual(service.spec.selector, pod.metadata.labels);
  assert.deepEqual(monitor.spec.selector.matchLabels, service.metadata.labels);
  const containerPorts = new Map(
    container.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
  );
  for (const p of service.spec.ports) assert.ok(containerPorts.has(p.targetPort), `Service port ${p.name}`);
  assert.ok(service.spec.ports.some((p: { name: string }) => p.name === monitor.spec.endpoints[0].port));
  for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
    assert.equal(container[probe].httpGet.path, "/api/check-liveness/v1", probe);
    assert.ok(containerPorts.has(container[probe].httpGet.port), probe);
  }
  // The config's listeners are the container's ports; the volume is the ConfigMap at the path args name.
  const config = JSON.parse(configMap.data["proxy.json"]);
  const listenPort = (l: { listen: string }) => Number(/:(\d+)$/.exec(l.listen)![1]);
  assert.equal(listenPort(config.proxy_listeners[0]), containerPorts.get("socks5"));
  assert.equal(listenPort(config.http_listeners[0]), containerPorts.get("http"));
  assert.deepEqual(container.args, ["--config", "/etc/proxy-server/proxy.json"]);
  assert.equal(pod.spec.volumes[0].configMap.name, configMap.metadata.name);
  assert.equal(container.volumeMounts[0].mountPath, "/etc/proxy-server");
  // The grace periods nest: the proxy's drain ends before the kubelet's SIGKILL.
  assert.match(config.shutdown_grace_period, /^\d+s$/);
  assert.ok(parseInt(config.shutdown_grace_period) < pod.spec.terminationGracePeriodSeconds);
  // The image's user and ports (deploy/Dockerfile).
  const dockerfile = readFileSync(join(ROOT, "deploy/Dockerfile"), "utf8");
  assert.match(
    dockerfile,
    new RegExp(`^USER ${pod.spec.securityContext.runAsUser}:${pod.spec.securityContext.runAsGroup}$`, "m"),
  );
  assert.match(dockerfile, new RegExp(`^EXPOSE ${containerPorts.get("socks5")} ${containerPorts.get("http")}$`, "m"));
  // The same config as deploy/proxy.json but for the grace period.
  const shipped = JSON.parse(readFileSync(join(ROOT, "deploy/proxy.json"), "utf8"));
  assert.deepEqual({ ...config, shutdown_grace_period: shipped.shutdown_grace_period }, shipped);
});

test("the ConfigMap's config validates and, run, answers the probes' and the ServiceMonitor's paths", async () => {
  const config = JSON.parse(one("ConfigMap").data["proxy.json"]);
  const validated = await runCli(["--validate-config", writeTempConfig(config)]);
  assert.equal(validated.code, 0, validated.stderr);
  config.proxy_listeners[0].listen = "127.0.0.1:0";
  config.http_listeners[0].listen = "127.0.0.1:0";
  const proxy = await startProxy(config);
  try {
    const base = `http://127.0.0.1:${proxy.httpPorts[0]}`;
    const container = one("Deployment").spec.template.spec.containers[0];
    const live = await fetch(base + container.livenessProbe.httpGet.path);
    assert.equal(live.status, 200, await live.text());
    const metrics = await fetch(base + one("ServiceMonitor").spec.endpoints[0].path);
    assert.equal(metrics.status, 200);
    const label = `127\\.0\\.0\\.1:${proxy.ports[0]}`; // the bound address, with the real port
    assert.match(
      await metrics.text(),
      new RegExp(`^proxy_connections_accepted_total\\{listener="${label}"\\} 0$`, "m"),
    );
  } finally {
    assert.equal(await proxy.stop(), 0);
  }
});
