/* tools/serve.h — `acre serve`, the HTTP API (SPEC 11; tools/serve.c, docs/api.md). */
#ifndef ACRE_TOOLS_SERVE_H
#define ACRE_TOOLS_SERVE_H

typedef struct serve_opts {
    const char *db;
    const char *listen;             /* HOST:PORT; NULL: 127.0.0.1:8360 */
    const char *tls_cert, *tls_key; /* PEM files: HTTPS only, TLS 1.2 or later */
    int threads;                    /* request threads; 0: 4 */
    long rate;                      /* requests per minute per client; 0: 1,000 */
    const char *key_file;           /* the ledger key (SPEC 10), or NULL */
    long request_timeout; /* seconds a request may take to arrive whole; 0: 60 */
    long deliver_every;   /* seconds between postback passes (SPEC 12); 0: 10; -1: none */
} serve_opts;

/* Serves until SIGTERM or SIGINT, then finishes the requests in flight and returns the exit
 * status (0 after a clean stop; 2 bad usage; 4 when the store or the socket cannot be opened). */
int serve_run(const serve_opts *o);

/* libmicrohttpd's version as loaded (acre --version). */
const char *serve_http_version(void);

#endif
