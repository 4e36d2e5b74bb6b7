/*
 * proxy-server benchmark load generator and target, in one small C program so
 * that the measuring side is never the bottleneck (scripts/bench/ compiles it
 * with gcc -O2 on first use). Loopback only: every address is 127.0.0.1.
 * Every loop is bounded in count and in time.
 *
 *   loadgen target ECHO_PORT BULK_PORT
 *       Echo port: echoes what it reads, closes at EOF. Bulk port: reads an
 *       8-byte little-endian byte count, sends that many bytes, closes.
 *       Prints "ready" once both listen; exits when stdin reaches EOF.
 *   loadgen bulk PROXY_PORT BULK_PORT BYTES
 *       One tunnel (PROXY_PORT 0: straight to the target) downloading BYTES.
 *   loadgen rate PROXY_PORT ECHO_PORT CLIENTS SECONDS MODE
 *       CLIENTS concurrent clients looping connect -> greeting -> [BIND
 *       127.0.0.1 when MODE is "bind"] -> CONNECT -> 32-byte echo -> close for
 *       SECONDS. With PROXY_PORT 0 the client talks to the echo port directly
 *       (MODE "bind" then binds 127.0.0.1 with IP_BIND_ADDRESS_NO_PORT).
 *   loadgen idle PROXY_PORT ECHO_PORT COUNT
 *       Opens COUNT tunnels (each completes one 32-byte echo), prints one JSON
 *       line, holds them until stdin reaches EOF or gets a line.
 *   loadgen start PROXY_PORT ECHO_PORT TIMEOUT_MS CMD [ARGS...]
 *       Starts CMD and measures the time until its first SOCKS5 client has
 *       completed CONNECT and an echo through it; then stops CMD.
 *
 * Results are printed as one JSON line on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define ECHO_LEN 32
#define ATTEMPT_TIMEOUT_US 5000000.0

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void die(const char *what) {
  fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* Raise RLIMIT_NOFILE as far as allowed (root may lift the hard limit). */
static void raise_nofile(void) {
  struct rlimit r = {200000, 200000};
  if (setrlimit(RLIMIT_NOFILE, &r) == 0) return;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

static struct sockaddr_in loopback(int port) {
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

static void ep_add(int ep, int fd, uint32_t events, void *ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl add");
}

static void ep_mod(int ep, int fd, uint32_t events, void *ptr) {
  struct epoll_event ev = {.events = events, .data.ptr = ptr};
  epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

/* ---------------------------------------------------------------- target */

enum { T_ECHO, T_BULK };

struct tconn {
  int fd;
  int kind;
  uint8_t size[8];
  int size_len;
  uint64_t remaining;
  uint8_t *pending; /* echo bytes the kernel did not take yet */
  size_t pending_len;
};

static uint8_t bulk_buf[256 * 1024];

static void tclose(struct tconn *c) {
  close(c->fd);
  free(c->pending);
  free(c);
}

static int listen_on(int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = loopback(port);
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die("bind target");
  if (listen(fd, 4096) < 0) die("listen target");
  return fd;
}

/* Bulk: send until the kernel pushes back or the count is reached. */
static int bulk_send(int ep, struct tconn *c) {
  while (c->remaining > 0) {
    size_t n = c->remaining < sizeof bulk_buf ? (size_t)c->remaining : sizeof bulk_buf;
    ssize_t w = send(c->fd, bulk_buf, n, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) {
        ep_mod(ep, c->fd, EPOLLOUT, c);
        return 0;
      }
      return -1;
    }
    c->remaining -= (uint64_t)w;
  }
  return -1; /* done: close */
}

static int target(int echo_port, int bulk_port) {
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  memset(bulk_buf, 'x', sizeof bulk_buf);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  static int lkind[2] = {T_ECHO, T_BULK};
  int lfd[2] = {listen_on(echo_port), listen_on(bulk_port)};
  static char stdin_tag;
  ep_add(ep, lfd[0], EPOLLIN, &lkind[0]);
  ep_add(ep, lfd[1], EPOLLIN, &lkind[1]);
  ep_add(ep, 0, EPOLLIN, &stdin_tag);
  printf("ready\n");
  fflush(stdout);
  struct epoll_event evs[256];
  static uint8_t buf[64 * 1024];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, 1000);
    for (int i = 0; i < n; i++) {
      void *p = evs[i].data.ptr;
      if (p == &stdin_tag) {
        char b[64];
        if (read(0, b, sizeof b) <= 0) return 0;
        continue;
      }
      if (p == &lkind[0] || p == &lkind[1]) {
        int kind = *(int *)p;
        for (int k = 0; k < 64; k++) { /* bounded accept burst */
          int fd = accept4(lfd[kind], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          int one = 1;
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct tconn *c = calloc(1, sizeof *c);
          c->fd = fd;
          c->kind = kind;
          ep_add(ep, fd, EPOLLIN, c);
        }
        continue;
      }
      struct tconn *c = p;
      if (c->kind == T_BULK) {
        if (c->size_len < 8) {
          ssize_t r = recv(c->fd, c->size + c->size_len, 8 - c->size_len, 0);
          if (r <= 0) {
            if (r < 0 && errno == EAGAIN) continue;
            tclose(c);
            continue;
          }
          c->size_len += (int)r;
          if (c->size_len < 8) continue;
          memcpy(&c->remaining, c->size, 8);
        }
        if (bulk_send(ep, c) < 0) tclose(c);
        continue;
      }
      /* Echo. */
      if (c->pending) {
        ssize_t w = send(c->fd, c->pending, c->pending_len, MSG_NOSIGNAL);
        if (w < 0 && errno != EAGAIN) {
          tclose(c);
          continue;
        }
        if (w > 0 && (size_t)w < c->pending_len) {
          memmove(c->pending, c->pending + w, c->pending_len - (size_t)w);
          c->pending_len -= (size_t)w;
          continue;
        }
        if (w > 0) {
          free(c->pending);
          c->pending = NULL;
          ep_mod(ep, c->fd, EPOLLIN, c);
        }
        continue;
      }
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) {
        tclose(c);
        continue;
      }
      ssize_t w = send(c->fd, buf, (size_t)r, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN) {
        tclose(c);
        continue;
      }
      if (w < r) {
        size_t off = w > 0 ? (size_t)w : 0;
        c->pending_len = (size_t)r - off;
        c->pending = malloc(c->pending_len);
        memcpy(c->pending, buf + off, c->pending_len);
        ep_mod(ep, c->fd, EPOLLOUT, c);
      }
    }
  }
}

/* ------------------------------------------------- blocking SOCKS5 client */

static int read_full(int fd, uint8_t *b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, b + got, n - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  return 0;
}

/* Read a SOCKS5 reply (any ATYP); returns REP or -1. */
static int read_reply(int fd) {
  uint8_t h[4], rest[260];
  if (read_full(fd, h, 4) < 0 || h[0] != 5) return -1;
  size_t len;
  if (h[3] == 1) len = 6;
  else if (h[3] == 4) len = 18;
  else if (h[3] == 3) {
    uint8_t l;
    if (read_full(fd, &l, 1) < 0) return -1;
    len = (size_t)l + 2;
  } else return -1;
  if (read_full(fd, rest, len) < 0) return -1;
  return h[1];
}

static void request(uint8_t out[10], uint8_t cmd, int port) {
  out[0] = 5, out[1] = cmd, out[2] = 0, out[3] = 1;
  out[4] = 127, out[5] = 0, out[6] = 0, out[7] = 1;
  out[8] = (uint8_t)(port >> 8), out[9] = (uint8_t)port;
}

/* Blocking connect to the proxy and CONNECT to 127.0.0.1:dst_port; fd or -1. */
static int socks_connect(int proxy_port, int dst_port, double timeout_s) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct timeval tv = {(time_t)timeout_s, (suseconds_t)((timeout_s - (time_t)timeout_s) * 1e6)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  struct sockaddr_in a = loopback(proxy_port ? proxy_port : dst_port);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) goto fail;
  if (!proxy_port) return fd;
  uint8_t greet[3] = {5, 1, 0}, sel[2], req[10];
  if (send(fd, greet, 3, MSG_NOSIGNAL) != 3) goto fail;
  if (read_full(fd, sel, 2) < 0 || sel[0] != 5 || sel[1] != 0) goto fail;
  request(req, 1, dst_port);
  if (send(fd, req, 10, MSG_NOSIGNAL) != 10) goto fail;
  if (read_reply(fd) != 0) goto fail;
  return fd;
fail:
  close(fd);
  return -1;
}

static int bulk(int proxy_port, int bulk_port, uint64_t bytes) {
  int fd = socks_connect(proxy_port, bulk_port, 10);
  if (fd < 0) {
    printf("{\"error\":\"connect failed\"}\n");
    return 1;
  }
  static uint8_t buf[1 << 20];
  uint64_t got = 0;
  double t0 = now_us();
  if (send(fd, &bytes, 8, MSG_NOSIGNAL) != 8) die("send size");
  while (got < bytes) {
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    got += (uint64_t)r;
  }
  double secs = (now_us() - t0) / 1e6;
  close(fd);
  printf("{\"bytes\":%llu,\"seconds\":%.6f,\"mbps\":%.1f%s}\n", (unsigned long long)got, secs,
         got / secs / 1e6, got == bytes ? "" : ",\"error\":\"short read\"");
  return got == bytes ? 0 : 1;
}

/* ------------------------------------------- non-blocking client machines */

enum { S_CONNECTING, S_METHOD, S_BIND_REPLY, S_CONNECT_REPLY, S_ECHO, S_DONE };

struct cconn {
  int fd;
  int state;
  double started;
  uint8_t in[300];
  size_t in_len;
};

struct cfg {
  int proxy_port, echo_port, bind_mode;
};

enum { E_CONNECT, E_EOF, E_REPLY, E_BIND, E_TIMEOUT, E_OTHER, E_KINDS };
static const char *ekind[E_KINDS] = {"connect", "eof", "reply", "bind", "timeout", "other"};

static uint8_t echo_payload[ECHO_LEN];

/* Start one attempt; 0 or an error kind (connect failures counted at once). */
static int cstart(int ep, struct cconn *c, const struct cfg *cfg) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (c->fd < 0) return E_OTHER;
  c->in_len = 0;
  c->started = now_us();
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!cfg->proxy_port && cfg->bind_mode) {
    setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    struct sockaddr_in src = loopback(0);
    if (bind(c->fd, (struct sockaddr *)&src, sizeof src) < 0) {
      close(c->fd);
      return E_BIND;
    }
  }
  struct sockaddr_in a = loopback(cfg->proxy_port ? cfg->proxy_port : cfg->echo_port);
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    return E_CONNECT;
  }
  c->state = S_CONNECTING;
  ep_add(ep, c->fd, EPOLLOUT, c);
  return 0;
}

static int csend(struct cconn *c, const uint8_t *b, size_t n) {
  return send(c->fd, b, n, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Length of a complete SOCKS5 reply at the start of in[], 0 if incomplete, -1 if bad. */
static int reply_len(const struct cconn *c) {
  if (c->in_len < 5) return 0;
  if (c->in[0] != 5) return -1;
  size_t len = c->in[3] == 1 ? 10 : c->in[3] == 4 ? 22 : c->in[3] == 3 ? 7 + (size_t)c->in[4] : 0;
  if (!len) return -1;
  return c->in_len >= len ? (int)len : 0;
}

/* Advance an attempt on an event: 0 pending, 1 done, -kind on error. */
static int cstep(int ep, struct cconn *c, const struct cfg *cfg) {
  uint8_t req[10];
  if (c->state == S_CONNECTING) {
    int err = 0;
    socklen_t l = sizeof err;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    if (err) return -E_CONNECT;
    ep_mod(ep, c->fd, EPOLLIN, c);
    if (!cfg->proxy_port) {
      c->state = S_ECHO;
      return csend(c, echo_payload, ECHO_LEN) ? -E_OTHER : 0;
    }
    static const uint8_t greet[3] = {5, 1, 0};
    c->state = S_METHOD;
    return csend(c, greet, 3) ? -E_OTHER : 0;
  }
  ssize_t r = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
  if (r < 0 && errno == EAGAIN) return 0;
  if (r <= 0) return -E_EOF;
  c->in_len += (size_t)r;
  for (;;) {
    switch (c->state) {
    case S_METHOD:
      if (c->in_len < 2) return 0;
      if (c->in[0] != 5 || c->in[1] != 0) return -E_REPLY;
      memmove(c->in, c->in + 2, c->in_len - 2);
      c->in_len -= 2;
      if (cfg->bind_mode) {
        request(req, 2, 0);
        c->state = S_BIND_REPLY;
      } else {
        request(req, 1, cfg->echo_port);
        c->state = S_CONNECT_REPLY;
      }
      if (csend(c, req, 10)) return -E_OTHER;
      break;
    case S_BIND_REPLY:
    case S_CONNECT_REPLY: {
      int len = reply_len(c);
      if (len == 0) return 0;
      if (len < 0 || c->in[1] != 0) return c->state == S_BIND_REPLY ? -E_BIND : -E_REPLY;
      memmove(c->in, c->in + len, c->in_len - (size_t)len);
      c->in_len -= (size_t)len;
      if (c->state == S_BIND_REPLY) {
        request(req, 1, cfg->echo_port);
        c->state = S_CONNECT_REPLY;
        if (csend(c, req, 10)) return -E_OTHER;
      } else {
        c->state = S_ECHO;
        if (csend(c, echo_payload, ECHO_LEN)) return -E_OTHER;
      }
      break;
    }
    case S_ECHO:
      if (c->in_len < ECHO_LEN) return 0;
      if (memcmp(c->in, echo_payload, ECHO_LEN) != 0) return -E_OTHER;
      c->state = S_DONE;
      return 1;
    default:
      return -E_OTHER;
    }
  }
}

static void cend(int ep, struct cconn *c) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int rate(struct cfg *cfg, int clients, double seconds) {
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  memset(echo_payload, 'e', ECHO_LEN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct cconn *cs = calloc((size_t)clients, sizeof *cs);
  size_t cap = 1 << 20, done = 0;
  uint32_t *lat = malloc(cap * sizeof *lat);
  uint64_t errors[E_KINDS] = {0};
  double t0 = now_us(), stop = t0 + seconds * 1e6, hard_stop = stop + ATTEMPT_TIMEOUT_US;
  int active = 0;
  for (int i = 0; i < clients; i++) {
    cs[i].fd = -1;
    int e = cstart(ep, &cs[i], cfg);
    if (e) errors[e]++;
    else active++;
  }
  struct epoll_event evs[64];
  /* Bounded: stops starting attempts at `stop`, abandons any at `hard_stop`. */
  while (active > 0 || now_us() < stop) {
    double t = now_us();
    if (t >= hard_stop) break;
    int n = epoll_wait(ep, evs, 64, 10);
    t = now_us();
    for (int i = 0; i < n; i++) {
      struct cconn *c = evs[i].data.ptr;
      if (c->fd < 0) continue;
      int r = cstep(ep, c, cfg);
      if (r == 0) continue;
      if (r == 1) {
        if (done == cap) lat = realloc(lat, (cap *= 2) * sizeof *lat);
        lat[done++] = (uint32_t)(t - c->started);
      } else errors[-r]++;
      cend(ep, c);
      active--;
    }
    for (int i = 0; i < clients; i++) {
      struct cconn *c = &cs[i];
      if (c->fd >= 0 && t - c->started > ATTEMPT_TIMEOUT_US) {
        errors[E_TIMEOUT]++;
        cend(ep, c);
        active--;
      }
      /* Restart idle clients while the run lasts (a failed start counts, retried next pass). */
      if (c->fd < 0 && t < stop) {
        int e = cstart(ep, c, cfg);
        if (e) errors[e]++;
        else active++;
      }
    }
  }
  double elapsed = (now_us() - t0) / 1e6;
  for (int i = 0; i < clients; i++)
    if (cs[i].fd >= 0) errors[E_TIMEOUT]++, cend(ep, &cs[i]);
  qsort(lat, done, sizeof *lat, cmp_u32);
  uint64_t total_err = 0;
  for (int k = 0; k < E_KINDS; k++) total_err += errors[k];
  printf("{\"tunnels\":%zu,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%u,\"p99_us\":%u,\"errors\":%llu,\"by_kind\":{",
         done, elapsed, done / (seconds), done ? lat[done / 2] : 0,
         done ? lat[(size_t)(done * 0.99)] : 0, (unsigned long long)total_err);
  for (int k = 0; k < E_KINDS; k++) printf("%s\"%s\":%llu", k ? "," : "", ekind[k], (unsigned long long)errors[k]);
  printf("}}\n");
  return 0;
}

/* Open `count` tunnels, at most `inflight` handshakes at a time, then hold them. */
static int idle(struct cfg *cfg, int count, int inflight) {
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  memset(echo_payload, 'e', ECHO_LEN);
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct cconn *cs = calloc((size_t)count, sizeof *cs);
  int next = 0, pending = 0, opened = 0, failed = 0;
  uint64_t errors[E_KINDS] = {0};
  double t0 = now_us(), deadline = t0 + 120e6;
  struct epoll_event evs[256];
  while ((opened + failed < count) && now_us() < deadline) {
    while (pending < inflight && next < count) {
      struct cconn *c = &cs[next++];
      int e = cstart(ep, c, cfg);
      if (e) {
        errors[e]++, failed++;
        c->fd = -1;
      } else pending++;
    }
    int n = epoll_wait(ep, evs, 256, 10);
    double t = now_us();
    for (int i = 0; i < n; i++) {
      struct cconn *c = evs[i].data.ptr;
      if (c->fd < 0 || c->state == S_DONE) continue;
      int r = cstep(ep, c, cfg);
      if (r == 0) continue;
      pending--;
      if (r == 1) {
        opened++;
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
      } else {
        errors[-r]++, failed++;
        cend(ep, c);
      }
    }
    (void)t;
  }
  printf("{\"opened\":%d,\"failed\":%d,\"seconds\":%.3f,\"by_kind\":{", opened, failed, (now_us() - t0) / 1e6);
  for (int k = 0; k < E_KINDS; k++) printf("%s\"%s\":%llu", k ? "," : "", ekind[k], (unsigned long long)errors[k]);
  printf("}}\n");
  fflush(stdout);
  char b[16];
  (void)!read(0, b, sizeof b); /* hold until the parent says so (a line or EOF) */
  return 0;
}

/* ------------------------------------------------------------ start time */

static int start(int proxy_port, int echo_port, int timeout_ms, char **argv) {
  memset(echo_payload, 'e', ECHO_LEN);
  signal(SIGPIPE, SIG_IGN);
  double t0 = now_us();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execvp(argv[0], argv);
    _exit(127);
  }
  double ms = -1;
  while (now_us() - t0 < timeout_ms * 1e3) {
    int fd = socks_connect(proxy_port, echo_port, 5);
    if (fd >= 0) {
      uint8_t got[ECHO_LEN];
      int ok = send(fd, echo_payload, ECHO_LEN, MSG_NOSIGNAL) == ECHO_LEN &&
               read_full(fd, got, ECHO_LEN) == 0 && memcmp(got, echo_payload, ECHO_LEN) == 0;
      close(fd);
      if (ok) {
        ms = (now_us() - t0) / 1e3;
        break;
      }
    }
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    usleep(200);
  }
  if (pid > 0) {
    kill(pid, SIGTERM);
    int waited = 0;
    while (waitpid(pid, NULL, WNOHANG) == 0 && waited++ < 500) usleep(10000);
    if (waited > 500) kill(pid, SIGKILL), waitpid(pid, NULL, 0);
  }
  if (ms < 0) printf("{\"error\":\"no SOCKS5 client served within %d ms\"}\n", timeout_ms);
  else printf("{\"ms\":%.2f}\n", ms);
  return ms < 0;
}

int main(int argc, char **argv) {
  if (argc >= 4 && !strcmp(argv[1], "target")) return target(atoi(argv[2]), atoi(argv[3]));
  if (argc >= 5 && !strcmp(argv[1], "bulk")) return bulk(atoi(argv[2]), atoi(argv[3]), strtoull(argv[4], NULL, 10));
  if (argc >= 7 && !strcmp(argv[1], "rate")) {
    struct cfg cfg = {atoi(argv[2]), atoi(argv[3]), !strcmp(argv[6], "bind")};
    return rate(&cfg, atoi(argv[4]), atof(argv[5]));
  }
  if (argc >= 5 && !strcmp(argv[1], "idle")) {
    struct cfg cfg = {atoi(argv[2]), atoi(argv[3]), 0};
    return idle(&cfg, atoi(argv[4]), argc >= 6 ? atoi(argv[5]) : 256);
  }
  if (argc >= 6 && !strcmp(argv[1], "start")) return start(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), argv + 5);
  fprintf(stderr, "usage: see the comment at the top of loadgen.c\n");
  return 2;
}
