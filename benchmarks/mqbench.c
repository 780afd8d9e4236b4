/* mqbench: the physical limit. The same mq_* system calls the Python
 * contenders make, in a C loop with nothing around them. The benchmark suite
 * compiles this file with gcc at run time (see cprogram.py).
 *
 * Every mode opens an existing queue by name (the suite creates and unlinks
 * the queues), prints "ready", waits for a line on stdin, runs, and prints
 * one line of JSON with its measurement. Single-process modes warm up first.
 *
 *   mqbench pairs NAME LEN N          non-blocking mq_send + mq_receive, N times
 *   mqbench recv NAME LEN N           the same, timing only each mq_receive
 *   mqbench batch NAME LEN COUNT N    N rounds: send COUNT, then receive COUNT
 *   mqbench produce NAME LEN N        blocking: send N messages
 *   mqbench consume NAME N            blocking: receive N messages
 *   mqbench echo PING PONG N          blocking: receive on PING, send it on PONG
 *   mqbench ping PING PONG N WARMUP   round trips through an echo peer
 *   mqbench timeout NAME N MS         N mq_timedreceive(MS ms) on an empty queue
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Untimed pairs before a single-process measurement, as the Python
   contenders get: page faults, caches and the CPU's clock settle first. */
#define WARMUP 2000

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
    fprintf(stderr, "mqbench: %s: %s\n", what, strerror(errno));
    exit(1);
}

static mqd_t open_queue(const char *name, int flags, long *msgsize)
{
    struct mq_attr attr;
    mqd_t q = mq_open(name, flags);
    if (q == (mqd_t)-1)
        die(name);
    if (mq_getattr(q, &attr) != 0)
        die("mq_getattr");
    *msgsize = attr.mq_msgsize;
    return q;
}

/* Tell the suite we are set up, then wait for its go. */
static void handshake(void)
{
    char line[16];
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin))
        exit(1);
}

static void send_one(mqd_t q, const char *msg, size_t len)
{
    while (mq_send(q, msg, len, 0) != 0)
        if (errno != EINTR)
            die("mq_send");
}

static ssize_t receive_one(mqd_t q, char *buf, long size)
{
    ssize_t n;
    while ((n = mq_receive(q, buf, (size_t)size, NULL)) < 0)
        if (errno != EINTR)
            die("mq_receive");
    return n;
}

static int compare_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted values, as the suite computes it. */
static long long percentile(const long long *sorted, long n, double p)
{
    long rank = (long)(p / 100.0 * n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return sorted[rank - 1];
}

int main(int argc, char **argv)
{
    long msgsize;
    char *buf, msg[1 << 16];
    const char *mode = argc > 1 ? argv[1] : "";

    memset(msg, 'x', sizeof msg);
    if (!strcmp(mode, "pairs") && argc == 5) {
        long len = atol(argv[3]), n = atol(argv[4]), i;
        mqd_t q = open_queue(argv[2], O_RDWR | O_NONBLOCK, &msgsize);
        long long start;
        buf = malloc((size_t)msgsize);
        for (i = 0; i < WARMUP; i++) {
            send_one(q, msg, (size_t)len);
            receive_one(q, buf, msgsize);
        }
        handshake();
        start = now_ns();
        for (i = 0; i < n; i++) {
            send_one(q, msg, (size_t)len);
            receive_one(q, buf, msgsize);
        }
        printf("{\"ns\": %lld}\n", now_ns() - start);
    } else if (!strcmp(mode, "recv") && argc == 5) {
        long len = atol(argv[3]), n = atol(argv[4]), i;
        mqd_t q = open_queue(argv[2], O_RDWR | O_NONBLOCK, &msgsize);
        long long total = 0, t;
        buf = malloc((size_t)msgsize);
        for (i = 0; i < WARMUP; i++) {
            send_one(q, msg, (size_t)len);
            receive_one(q, buf, msgsize);
        }
        handshake();
        for (i = 0; i < n; i++) {
            send_one(q, msg, (size_t)len);
            t = now_ns();
            receive_one(q, buf, msgsize);
            total += now_ns() - t;
        }
        printf("{\"ns\": %lld}\n", total);
    } else if (!strcmp(mode, "batch") && argc == 6) {
        long len = atol(argv[3]), count = atol(argv[4]), n = atol(argv[5]), i, j;
        mqd_t q = open_queue(argv[2], O_RDWR | O_NONBLOCK, &msgsize);
        long long sent = 0, received = 0, t;
        buf = malloc((size_t)msgsize);
        for (i = 0; i < WARMUP; i++) {
            send_one(q, msg, (size_t)len);
            receive_one(q, buf, msgsize);
        }
        handshake();
        for (i = 0; i < n; i++) {
            t = now_ns();
            for (j = 0; j < count; j++)
                send_one(q, msg, (size_t)len);
            sent += now_ns() - t;
            t = now_ns();
            for (j = 0; j < count; j++)
                receive_one(q, buf, msgsize);
            received += now_ns() - t;
        }
        printf("{\"send_ns\": %lld, \"receive_ns\": %lld}\n", sent, received);
    } else if (!strcmp(mode, "produce") && argc == 5) {
        long len = atol(argv[3]), n = atol(argv[4]), i;
        mqd_t q = open_queue(argv[2], O_WRONLY, &msgsize);
        handshake();
        for (i = 0; i < n; i++)
            send_one(q, msg, (size_t)len);
        printf("{}\n");
    } else if (!strcmp(mode, "consume") && argc == 4) {
        long n = atol(argv[3]), i;
        mqd_t q = open_queue(argv[2], O_RDONLY, &msgsize);
        long long first;
        buf = malloc((size_t)msgsize);
        handshake();
        receive_one(q, buf, msgsize);
        first = now_ns();
        for (i = 1; i < n; i++)
            receive_one(q, buf, msgsize);
        printf("{\"ns\": %lld, \"messages\": %ld}\n", now_ns() - first, n - 1);
    } else if (!strcmp(mode, "echo") && argc == 5) {
        long n = atol(argv[4]), i;
        long pong_size;
        mqd_t ping = open_queue(argv[2], O_RDONLY, &msgsize);
        mqd_t pong = open_queue(argv[3], O_WRONLY, &pong_size);
        buf = malloc((size_t)msgsize);
        handshake();
        for (i = 0; i < n; i++) {
            ssize_t got = receive_one(ping, buf, msgsize);
            send_one(pong, buf, (size_t)got);
        }
        printf("{}\n");
    } else if (!strcmp(mode, "ping") && argc == 6) {
        long n = atol(argv[4]), warmup = atol(argv[5]), i;
        long ping_size;
        mqd_t ping = open_queue(argv[2], O_WRONLY, &ping_size);
        mqd_t pong = open_queue(argv[3], O_RDONLY, &msgsize);
        long long *rtt = malloc(sizeof *rtt * (size_t)n), t;
        buf = malloc((size_t)msgsize);
        handshake();
        for (i = 0; i < warmup + n; i++) {
            t = now_ns();
            send_one(ping, msg, 64);
            receive_one(pong, buf, msgsize);
            if (i >= warmup)
                rtt[i - warmup] = now_ns() - t;
        }
        qsort(rtt, (size_t)n, sizeof *rtt, compare_ll);
        printf("{\"p50_ns\": %lld, \"p99_ns\": %lld}\n", percentile(rtt, n, 50),
               percentile(rtt, n, 99));
    } else if (!strcmp(mode, "timeout") && argc == 5) {
        long n = atol(argv[3]), ms = atol(argv[4]), i;
        mqd_t q = open_queue(argv[2], O_RDONLY, &msgsize);
        long long *late = malloc(sizeof *late * (size_t)n), t;
        buf = malloc((size_t)msgsize);
        handshake();
        for (i = 0; i < n; i++) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += (ms % 1000) * 1000000L;
            deadline.tv_sec += ms / 1000 + deadline.tv_nsec / 1000000000L;
            deadline.tv_nsec %= 1000000000L;
            t = now_ns();
            if (mq_timedreceive(q, buf, (size_t)msgsize, NULL, &deadline) >= 0 ||
                errno != ETIMEDOUT)
                die("mq_timedreceive on an empty queue");
            late[i] = now_ns() - t - ms * 1000000LL;
        }
        printf("{\"overshoot_ns\": [");
        for (i = 0; i < n; i++)
            printf(i ? ", %lld" : "%lld", late[i]);
        printf("]}\n");
    } else {
        fprintf(stderr, "usage: see the comment at the top of mqbench.c\n");
        return 2;
    }
    return 0;
}
