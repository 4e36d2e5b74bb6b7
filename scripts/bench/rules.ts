/**
 * The access rules the benchmarks use.
 *
 * @module
 */
import type { AccessRuleConfig } from "../../src/access/index.ts";

/**
 * 99 access rules that match none of the benchmark's requests (every
 * matcher kind, so each check scans the whole list), then an allow-all: the
 * rules of the "100 rules + limits" bench row and of `access-rules.ts`.
 * `listen` is the listener the rules of one kind name (with client blocks
 * the benchmark's clients are not in).
 */
export function benchRules(listen: string): AccessRuleConfig[] {
  const out: AccessRuleConfig[] = [];
  for (let i = 0; i < 99; i++) {
    switch (i % 6) {
      case 0:
        out.push({ action: "deny", clients: [`172.${16 + (i % 16)}.${i}.0/24`, `2001:db8:${i.toString(16)}::/48`] });
        break;
      case 1:
        out.push({ action: "allow", users: [`user${i}`], ports: [25, 587] });
        break;
      case 2:
        out.push({
          action: "deny",
          destinations: [`10.${i}.0.0/16`, `.blocked${i}.example`, `fd00:${i.toString(16)}::/32`],
        });
        break;
      case 3:
        out.push({ action: "deny", ports: [`${1000 + i}-${1010 + i}`, 9000 + i], commands: ["connect"] });
        break;
      case 4:
        out.push({ action: "allow", listeners: [listen], clients: [`192.0.2.${i}/32`] });
        break;
      default:
        out.push({ action: "deny", source_addresses: [`198.51.100.${i}`], destinations: [`host${i}.example.org`] });
    }
  }
  out.push({ action: "allow" });
  return out;
}
