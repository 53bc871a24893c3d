/* udp_load PORT SOCKETS WINDOW SECONDS SIZE: request/response UDP load on 127.0.0.1:PORT.
 * SOCKETS connected client sockets (one source port each, so one proxy session each), each
 * keeping WINDOW datagrams of SIZE bytes in flight; every echoed datagram is answered with the
 * next one. A socket without any answer for 500 ms refills its window (a "stall"; the late
 * answers still count). A warm-up datagram per socket (not counted) first opens every proxy
 * session; after SECONDS the load stops and answers are awaited for up to 1 s, so
 * lost = sent - received exactly.
 * Prints: "sent N received N lost N seconds S stalls N in_time N" (in_time: answers within
 * SECONDS, the rate's numerator). Compiled by bench/lib/tools.py. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s PORT SOCKETS WINDOW SECONDS SIZE\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), nsock = atoi(argv[2]), window = atoi(argv[3]);
  double seconds = atof(argv[4]);
  int size = atoi(argv[5]);
  if (nsock < 1 || nsock > 4096 || window < 1 || size < 1 || size > 1400) return 2;
  char payload[1500], buf[2048];
  memset(payload, 'u', sizeof payload);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ep = epoll_create1(0);
  int* fds = calloc(nsock, sizeof *fds);
  int* inflight = calloc(nsock, sizeof *inflight);
  double* last = calloc(nsock, sizeof *last);
  long sent = 0, received = 0, stalls = 0;
  for (int i = 0; i < nsock; i++) {
    fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fds[i] < 0 || connect(fds[i], (struct sockaddr*)&to, sizeof to) != 0) {
      perror("socket/connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
  }
  /* Warm-up (not counted): one datagram per socket, so that every proxy session exists. */
  int answered = 0;
  for (int i = 0; i < nsock; i++) send(fds[i], payload, size, 0);
  struct epoll_event events[256];
  for (double warm_end = now() + 1.0; answered < nsock && now() < warm_end;) {
    int n = epoll_wait(ep, events, 256, 20);
    for (int e = 0; e < n; e++)
      while (recv(fds[events[e].data.u32], buf, sizeof buf, 0) >= 0) answered++;
  }
  if (answered < nsock) fprintf(stderr, "warm-up: %d of %d sockets answered\n", answered, nsock);
  double t0 = now(), end = t0 + seconds;
  for (int i = 0; i < nsock; i++) {
    for (int w = 0; w < window; w++)
      if (send(fds[i], payload, size, 0) == size) sent++, inflight[i]++;
    last[i] = t0;
  }
  double next_check = t0 + 0.05;
  for (;;) {
    double t = now();
    if (t >= end) break;
    int n = epoll_wait(ep, events, 256, 20);
    for (int e = 0; e < n; e++) {
      int i = events[e].data.u32;
      for (;;) {
        ssize_t r = recv(fds[i], buf, sizeof buf, 0);
        if (r < 0) break; /* EAGAIN, or ECONNREFUSED from an ICMP error: the timeout handles it */
        received++;
        if (inflight[i] > 0) inflight[i]--;
        last[i] = t;
        if (t < end && send(fds[i], payload, size, 0) == size) sent++, inflight[i]++;
      }
    }
    if (t >= next_check) {
      next_check = t + 0.05;
      for (int i = 0; i < nsock; i++) {
        if (inflight[i] > 0 && t - last[i] > 0.5) {
          stalls++;
          inflight[i] = 0;
          last[i] = t;
          for (int w = 0; w < window; w++)
            if (send(fds[i], payload, size, 0) == size) sent++, inflight[i]++;
        }
      }
    }
  }
  double elapsed = now() - t0;
  long in_time = received;
  for (double drain_end = now() + 1.0; received < sent && now() < drain_end;) {
    int n = epoll_wait(ep, events, 256, 20);
    for (int e = 0; e < n; e++)
      while (recv(fds[events[e].data.u32], buf, sizeof buf, 0) >= 0) received++;
  }
  printf("sent %ld received %ld lost %ld seconds %.6f stalls %ld in_time %ld\n", sent, received,
         sent - received, elapsed, stalls, in_time);
  return 0;
}
