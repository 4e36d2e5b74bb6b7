/**
 * The benchmark report: medians over runs and one markdown table with, for
 * every figure, the value and its ratio to microsocks and to Dante.
 *
 * @module
 */
import type { Figures } from "./figures.ts";

/** Median of the defined numbers, or `undefined` when there are none. */
export function median(values: (number | undefined)[]): number | undefined {
  const v = values.filter((x): x is number => x !== undefined && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/** One table row: the median of every figure over the runs of one server. */
export interface Row {
  /** Server name (the row label). */
  name: string;
  /** Median bulk MB/s. */
  bulk?: number;
  /** Median tunnels/s. */
  rate?: number;
  /** Median p50 latency, µs. */
  p50?: number;
  /** Median p99 latency, µs. */
  p99?: number;
  /** Median failed attempts of the rate runs. */
  errors?: number;
  /** Median bound tunnels/s. */
  bound?: number;
  /** Median failed attempts of the bound runs. */
  boundErrors?: number;
  /** Median RSS growth per idle tunnel, KiB. */
  idleKiB?: number;
  /** Median idle tunnels opened. */
  idleOpened?: number;
  /** Median start time, ms. */
  startMs?: number;
}

/** Medians of `runs` for the row called `name`. */
export function summarise(name: string, runs: Figures[]): Row {
  const m = (f: (x: Figures) => number | undefined) => median(runs.map(f));
  return {
    name,
    bulk: m((x) => x.bulkMBps),
    rate: m((x) => x.rate?.rate),
    p50: m((x) => x.rate?.p50_us),
    p99: m((x) => x.rate?.p99_us),
    errors: m((x) => x.rate?.errors),
    bound: m((x) => x.bound?.rate),
    boundErrors: m((x) => x.bound?.errors),
    idleKiB: m((x) => x.idleKiB),
    idleOpened: m((x) => x.idleOpened),
    startMs: m((x) => x.startMs),
  };
}

type Key = Exclude<keyof Row, "name">;

const COLUMNS: { key: Key; title: string; digits: number; ratio: boolean }[] = [
  { key: "bulk", title: "bulk MB/s", digits: 0, ratio: true },
  { key: "rate", title: "rate tunnels/s", digits: 0, ratio: true },
  { key: "p50", title: "p50 µs", digits: 0, ratio: true },
  { key: "p99", title: "p99 µs", digits: 0, ratio: true },
  { key: "errors", title: "errors", digits: 0, ratio: false },
  { key: "bound", title: "bound rate tunnels/s", digits: 0, ratio: true },
  { key: "boundErrors", title: "bound errors", digits: 0, ratio: false },
  { key: "idleKiB", title: "idle KiB/tunnel", digits: 1, ratio: true },
  { key: "idleOpened", title: "idle opened", digits: 0, ratio: false },
  { key: "startMs", title: "start ms", digits: 0, ratio: true },
];

function ratio(v: number | undefined, ref: number | undefined): string {
  if (v === undefined || ref === undefined || ref === 0) return "–";
  return `${(v / ref).toFixed(2)}×`;
}

/**
 * The markdown table. Each cell is `value (×microsocks / ×Dante)`; rows
 * named `microsocks` and `Dante` are the references.
 */
export function markdown(rows: Row[], idleTunnels: number): string {
  const ms = rows.find((r) => r.name === "microsocks");
  const dante = rows.find((r) => r.name === "Dante");
  const head = ["server", ...COLUMNS.map((c) => c.title)];
  const lines = [`| ${head.join(" | ")} |`, `| ${head.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`];
  for (const r of rows) {
    const cells = COLUMNS.map((c) => {
      const v = r[c.key] as number | undefined;
      if (v === undefined) return "–";
      const text = c.key === "idleOpened" ? `${Math.round(v)}/${idleTunnels}` : v.toFixed(c.digits);
      if (!c.ratio || r === ms || r === dante) return text;
      return `${text} (${ratio(v, ms?.[c.key] as number | undefined)} / ${
        ratio(v, dante?.[c.key] as number | undefined)
      })`;
    });
    lines.push(`| ${r.name} | ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

/** Notes for rows within 10% of the direct row's bulk or rate (then only a lower bound). */
export function ceilingNotes(rows: Row[]): string[] {
  const direct = rows.find((r) => r.name === "direct (no proxy)");
  if (!direct) return [];
  const notes: string[] = [];
  for (const r of rows) {
    if (r === direct) continue;
    for (const key of ["bulk", "rate"] as const) {
      const v = r[key];
      const d = direct[key];
      if (v !== undefined && d !== undefined && v >= 0.9 * d) {
        notes.push(
          `${r.name}: ${key} is within 10% of the direct row (the load generator's ceiling), so it is a lower bound.`,
        );
      }
    }
  }
  return notes;
}

/** The figures shown as a ratio to a row's floor, with their labels. */
const FLOOR_FIGURES: { key: Key; label: string }[] = [
  { key: "bulk", label: "bulk" },
  { key: "rate", label: "rate" },
  { key: "p50", label: "p50" },
  { key: "p99", label: "p99" },
  { key: "idleKiB", label: "idle" },
];

/**
 * One line per row that has a floor (`floorOf`: row name -> its runtime's
 * floor row name) with bulk, rate, p50, p99 and idle memory as ratios to
 * that floor's figures (above 1 is better for bulk and rate, below 1 for
 * latency and memory). Rows whose floor was not run are left out.
 */
export function floorNotes(rows: Row[], floorOf: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const r of rows) {
    const floorName = floorOf.get(r.name);
    const f = floorName === undefined ? undefined : rows.find((x) => x.name === floorName);
    if (!f) continue;
    const parts = FLOOR_FIGURES.map(({ key, label }) =>
      `${label} ${ratio(r[key] as number | undefined, f[key] as number | undefined)}`
    );
    lines.push(`- ${r.name} vs ${f.name}: ${parts.join(", ")}`);
  }
  return lines.length ? ["Ratios to the own runtime's floor (same run):", "", ...lines] : [];
}
