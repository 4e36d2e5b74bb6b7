/**
 * What the HTTP routes need from the running service, and the Hono `Env` of
 * the app (the client address the runtime adapter hands to every request).
 *
 * @module
 */

import type { EgressRegistry } from "../egress/index.ts";
import type { ProxyMetrics } from "../metrics/index.ts";
import type { NetAddr } from "../runtime/index.ts";
import type { ServiceHealth } from "./health.ts";

/** Identity of the running service, for `/api/status/v1` and the OpenAPI `info`. */
export interface ServiceInfo {
  /** Product name, `"proxy-server"`. */
  product: string;
  /** Semantic version, e.g. `"0.1.0"`. */
  version: string;
  /** Build identifier (e.g. a date and commit of a release build, `"source"` when run from source). */
  build: string;
  /** Runtime name and version, e.g. `"bun 1.4.5"`. */
  runtime: string;
  /** When the service started. */
  startedAt: Date;
}

/** The service-wide parts every HTTP listener shares. */
export interface HttpServices {
  info: ServiceInfo;
  metrics: ProxyMetrics;
  health: ServiceHealth;
  /**
   * The egress sources the admin routes list, suspend and clear
   * (`/api/admin/egress/sources/...`); without it they see no source.
   */
  egress?: EgressRegistry;
}

/** An `auth.basic` account: a password or a password hash (argon2id, bcrypt). */
export interface HttpBasicAccount {
  /** The HTTP Basic username. */
  username: string;
  /** The password itself (resolved from a literal, `{ env }` or `{ file }`). */
  password?: string;
  /** An argon2id (`$argon2id$...`) or bcrypt (`$2a$`/`$2b$`/`$2y$`) hash of the password. */
  password_hash?: string;
}

/** A listener's `auth`: the credentials `/api/admin/*` accepts. */
export interface HttpAuthSettings {
  /** Tokens accepted as `Authorization: Bearer TOKEN` (resolved secrets). */
  bearer_tokens: readonly string[];
  /** Accounts accepted as `Authorization: Basic ...`. */
  basic: readonly HttpBasicAccount[];
}

/** Per-listener settings (a subset of the `http_listeners` config entry). */
export interface HttpListenerSettings {
  /** Client addresses and CIDR blocks allowed; others get 403 (`trusted_hosts`). */
  trusted_hosts: readonly string[];
  /** Largest request body accepted, bytes; larger gets 413 (`request_body_limit`). */
  request_body_limit: number;
  /** Add host name, kernel and architecture to `/api/status/v1` (`expose_system_info`). */
  expose_system_info: boolean;
  /** Credentials required on `/api/admin/*` (`auth`); absent: none (trusted_hosts only). */
  auth?: HttpAuthSettings;
}

/** The Hono `Env` of the app: `c.env.remoteAddr` is the client's address. */
export interface HttpEnv {
  Bindings: { remoteAddr: NetAddr };
}

/** What each route module receives. */
export interface RouteContext {
  services: HttpServices;
  settings: HttpListenerSettings;
}
