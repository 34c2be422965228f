/* tools/bench/push.c — acre-push: N concurrent HTTP/1.1 clients pushing an NDJSON file to
 * `acre serve` in requests of K records, each record once (tools/bench/serve.py).
 *
 *   acre-push HOST:PORT TOKEN PATH CLIENTS K FILE
 *
 * Each client keeps one connection (keep-alive) and takes the next request's lines in turn; an
 * answer other than 200 with "inserted":K (the request's lines) stops it with a message. Prints
 * one JSON line: requests, records, wall seconds, this process's CPU seconds, and the latency
 * median, p99 and max in milliseconds. Plain HTTP on loopback: a C client costs the shared
 * cores little, where Python's requests took a tenth of them. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct body {
    const char *p;
    size_t len;
    long lines;
} body;

static struct {
    struct sockaddr_in addr;
    const char *token, *path;
    body *bodies;
    long nbodies, next;
    double *latency;
    pthread_mutex_t mu;
} g;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, 0);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one answer: its status, and whether its body says "inserted":want. */
static int answer(int fd, long want, char *buf, size_t cap)
{
    size_t n = 0, head = 0, clen = 0;
    char *end, needle[40];
    while (!head) {
        ssize_t r = recv(fd, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = 0;
        if ((end = strstr(buf, "\r\n\r\n"))) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            head = (size_t)(end - buf) + 4;
            clen = cl ? strtoul(cl + 17, NULL, 10) : 0;
        }
    }
    if (head + clen > cap - 1)
        return -1;
    while (n < head + clen) {
        ssize_t r = recv(fd, buf + n, head + clen - n, 0);
        if (r <= 0)
            return -1;
        n += (size_t)r;
    }
    buf[n] = 0;
    snprintf(needle, sizeof needle, "\"inserted\":%ld,", want);
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !strstr(buf + head, needle)) {
        fprintf(stderr, "acre-push: unexpected answer: %.300s\n", buf);
        return -1;
    }
    return 0;
}

static void *client(void *arg)
{
    char head[1024], *buf = malloc(1 << 16);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    (void)arg;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!buf || fd < 0 || connect(fd, (struct sockaddr *)&g.addr, sizeof g.addr) != 0) {
        perror("acre-push: connect");
        exit(1);
    }
    for (;;) {
        long i;
        double t;
        int n;
        pthread_mutex_lock(&g.mu);
        i = g.next++;
        pthread_mutex_unlock(&g.mu);
        if (i >= g.nbodies)
            break;
        n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: application/x-ndjson\r\nContent-Length: %zu\r\n\r\n",
                     g.path, g.token, g.bodies[i].len);
        t = now();
        if (send_all(fd, head, (size_t)n) || send_all(fd, g.bodies[i].p, g.bodies[i].len) ||
            answer(fd, g.bodies[i].lines, buf, 1 << 16)) {
            fprintf(stderr, "acre-push: request %ld failed\n", i);
            exit(1);
        }
        g.latency[i] = now() - t;
    }
    close(fd);
    free(buf);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    FILE *f;
    char *text, *colon;
    long size, clients, k, records = 0;
    pthread_t th[64];
    double t0, wall;
    struct rusage ru;

    if (argc != 7 || !(colon = strrchr(argv[1], ':')) || (clients = atol(argv[4])) < 1 ||
        clients > 64 || (k = atol(argv[5])) < 1) {
        fprintf(stderr, "usage: acre-push HOST:PORT TOKEN PATH CLIENTS K FILE\n");
        return 2;
    }
    *colon = 0;
    g.addr.sin_family = AF_INET;
    g.addr.sin_port = htons((unsigned short)atoi(colon + 1));
    if (inet_pton(AF_INET, argv[1], &g.addr.sin_addr) != 1) {
        fprintf(stderr, "acre-push: %s is not an IPv4 address\n", argv[1]);
        return 2;
    }
    g.token = argv[2];
    g.path = argv[3];
    if (!(f = fopen(argv[6], "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) || !(text = malloc((size_t)size + 1)) ||
        fread(text, 1, (size_t)size, f) != (size_t)size) {
        perror(argv[6]);
        return 1;
    }
    fclose(f);
    /* the bodies: K lines each */
    g.bodies = calloc((size_t)size + 1, sizeof *g.bodies);
    for (long pos = 0; pos < size && g.bodies;) {
        body *b = &g.bodies[g.nbodies++];
        b->p = text + pos;
        while (pos < size && b->lines < k) {
            char *nl = memchr(text + pos, '\n', (size_t)(size - pos));
            long end = nl ? nl - text : size;
            if (end > pos) /* a blank line is no record (the server skips it) */
                b->lines++;
            pos = nl ? end + 1 : size;
        }
        b->len = (size_t)(text + pos - b->p);
        records += b->lines;
    }
    g.latency = calloc((size_t)g.nbodies + 1, sizeof *g.latency);
    if (!g.bodies || !g.latency)
        return 1;
    if (g.nbodies == 0) {
        fprintf(stderr, "acre-push: %s has no records\n", argv[6]);
        return 1;
    }
    pthread_mutex_init(&g.mu, NULL);
    t0 = now();
    for (long i = 0; i < clients; i++)
        if (pthread_create(&th[i], NULL, client, NULL) != 0) {
            fprintf(stderr, "acre-push: cannot start client %ld\n", i);
            return 1;
        }
    for (long i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    wall = now() - t0;
    getrusage(RUSAGE_SELF, &ru);
    qsort(g.latency, (size_t)g.nbodies, sizeof *g.latency, cmp);
    printf("{\"requests\":%ld,\"records\":%ld,\"seconds\":%.3f,\"cpu_seconds\":%.3f,"
           "\"p50_ms\":%.1f,\"p99_ms\":%.1f,\"max_ms\":%.1f}\n",
           g.nbodies, records, wall,
           (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
               (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
           g.latency[g.nbodies / 2] * 1000, g.latency[(long)(g.nbodies * 0.99)] * 1000,
           g.latency[g.nbodies - 1] * 1000);
    free(text);
    return 0;
}
