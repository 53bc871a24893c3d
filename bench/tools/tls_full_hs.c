/* tls_full_hs HOST PORT SNI CONCURRENCY SECONDS: full TLS 1.3 handshakes, one per connection.
 * CONCURRENCY threads each loop until SECONDS have passed: TCP connect to HOST:PORT, a new SSL
 * object (SNI, ALPN http/1.1, TLS 1.3 only, TLS_AES_128_GCM_SHA256, default key share X25519),
 * handshake, `GET / HTTP/1.1` with `Connection: close`, read the response to EOF, close.
 * No session is ever offered: the SSL_CTX has its session cache off and SSL_OP_NO_TICKET, no
 * SSL_set_session() is ever called, and every SSL object is new; a handshake that reports
 * SSL_session_reused() anyway is counted in "reused" and as an error. The server may still send
 * TLS 1.3 NewSessionTicket messages (its cost is part of the server's handshake); the client
 * never presents them. An exchange counts as done when the status is 200 and Content-Length
 * body bytes arrived before EOF. Certificates are not verified (the CertificateVerify
 * signature still is, as by any TLS 1.3 client).
 * Prints one JSON line: {"done","errors","reused","seconds","rps","protocol","cipher","alpn",
 * "first_error"}. Compiled by bench/lib/tools.py (cc -O2 ... -lssl -lcrypto -lpthread). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static SSL_CTX* g_ctx;
static struct sockaddr_in g_addr;
static const char* g_sni;
static double g_deadline;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char g_first_error[160];
static char g_protocol[32] = "-", g_cipher[64] = "-", g_alpn[32] = "-";

static const char kRequest[] = "GET / HTTP/1.1\r\nHost: bench.local\r\nConnection: close\r\n\r\n";

struct counts {
  long done, errors, reused;
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void remember_error(const char* what) {
  pthread_mutex_lock(&g_lock);
  if (!g_first_error[0]) {
    unsigned long e = ERR_peek_error();
    char buf[120] = "";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    snprintf(g_first_error, sizeof g_first_error, "%s%s%s", what, buf[0] ? ": " : "", buf);
  }
  pthread_mutex_unlock(&g_lock);
  ERR_clear_error();
}

/* 1 when the response is a complete 200 with its Content-Length body. */
static int response_ok(const char* buf, size_t len) {
  if (len < 12 || memcmp(buf, "HTTP/1.1 200", 12) != 0) return 0;
  const char* end = memmem(buf, len, "\r\n\r\n", 4);
  if (!end) return 0;
  long want = -1;
  for (const char* p = buf; p < end; p++) {
    if (p[0] == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
      want = strtol(p + 16, NULL, 10);
      break;
    }
  }
  return want >= 0 && (long)(len - (size_t)(end + 4 - buf)) == want;
}

/* One connection: 0 done, -1 error, 1 reused session (error). */
static int exchange(int first) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return remember_error("socket"), -1;
  struct timeval tv = {.tv_sec = 5};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = -1;
  SSL* ssl = NULL;
  if (connect(fd, (struct sockaddr*)&g_addr, sizeof g_addr) != 0) {
    remember_error("connect");
    goto out;
  }
  ssl = SSL_new(g_ctx);
  SSL_set_fd(ssl, fd);
  SSL_set_tlsext_host_name(ssl, g_sni);
  if (SSL_connect(ssl) != 1) {
    remember_error("handshake");
    goto out;
  }
  if (SSL_session_reused(ssl)) {
    remember_error("session reused");
    rc = 1;
    goto out;
  }
  if (first) {
    const unsigned char* alpn = NULL;
    unsigned int alpn_len = 0;
    SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
    pthread_mutex_lock(&g_lock);
    snprintf(g_protocol, sizeof g_protocol, "%s", SSL_get_version(ssl));
    snprintf(g_cipher, sizeof g_cipher, "%s", SSL_get_cipher_name(ssl));
    if (alpn_len) snprintf(g_alpn, sizeof g_alpn, "%.*s", (int)alpn_len, alpn);
    pthread_mutex_unlock(&g_lock);
  }
  if (SSL_write(ssl, kRequest, sizeof kRequest - 1) != (int)(sizeof kRequest - 1)) {
    remember_error("write");
    goto out;
  }
  char buf[8192];
  size_t len = 0;
  for (;;) {
    int n = SSL_read(ssl, buf + len, (int)(sizeof buf - len));
    if (n <= 0) {
      int err = SSL_get_error(ssl, n);
      if (err != SSL_ERROR_ZERO_RETURN) {
        remember_error("read");
        goto out;
      }
      break;  /* EOF (close_notify, or TCP FIN with SSL_OP_IGNORE_UNEXPECTED_EOF) */
    }
    len += (size_t)n;
    if (len == sizeof buf) {
      remember_error("response larger than 8 KiB");
      goto out;
    }
  }
  if (!response_ok(buf, len)) {
    remember_error("not a complete 200 response");
    goto out;
  }
  rc = 0;
out:
  if (ssl) SSL_free(ssl);
  close(fd);
  return rc;
}

static void* worker(void* arg) {
  struct counts* c = arg;
  for (int first = 1; now() < g_deadline; first = 0) {
    int r = exchange(first);
    if (r == 0) c->done++;
    else c->errors++;
    if (r == 1) c->reused++;
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s HOST PORT SNI CONCURRENCY SECONDS\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[2]), conc = atoi(argv[4]);
  double seconds = atof(argv[5]);
  g_sni = argv[3];
  g_addr.sin_family = AF_INET;
  g_addr.sin_port = htons(port);
  if (inet_pton(AF_INET, argv[1], &g_addr.sin_addr) != 1 || port < 1 || conc < 1 ||
      conc > 1024 || seconds <= 0) {
    fprintf(stderr, "bad arguments\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  g_ctx = SSL_CTX_new(TLS_client_method());
  static const unsigned char alpn[] = "\x08http/1.1";
  if (!g_ctx || SSL_CTX_set_min_proto_version(g_ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(g_ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(g_ctx, "TLS_AES_128_GCM_SHA256") != 1 ||
      SSL_CTX_set_alpn_protos(g_ctx, alpn, sizeof alpn - 1) != 0) {
    fprintf(stderr, "SSL_CTX setup failed\n");
    return 1;
  }
  SSL_CTX_set_verify(g_ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_session_cache_mode(g_ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(g_ctx, SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);

  pthread_t* th = calloc(conc, sizeof *th);
  struct counts* c = calloc(conc, sizeof *c);
  double t0 = now();
  g_deadline = t0 + seconds;
  for (int i = 0; i < conc; i++) {
    if (pthread_create(&th[i], NULL, worker, &c[i]) != 0) {
      perror("pthread_create");
      return 1;
    }
  }
  long done = 0, errors = 0, reused = 0;
  for (int i = 0; i < conc; i++) {
    pthread_join(th[i], NULL);
    done += c[i].done;
    errors += c[i].errors;
    reused += c[i].reused;
  }
  double secs = now() - t0;
  for (char* p = g_first_error; *p; p++)
    if (*p == '"' || *p == '\\') *p = '\'';
  printf("{\"done\": %ld, \"errors\": %ld, \"reused\": %ld, \"seconds\": %.3f, \"rps\": %.1f, "
         "\"protocol\": \"%s\", \"cipher\": \"%s\", \"alpn\": \"%s\", \"first_error\": \"%s\"}\n",
         done, errors, reused, secs, done / secs, g_protocol, g_cipher, g_alpn, g_first_error);
  SSL_CTX_free(g_ctx);
  return 0;
}
