/* tools/consume.c — `acre consume amqp://USER:PASS@HOST:PORT/VHOST --queue Q` (SPEC 12,
 * docs/events.md), and the batching every consumer shares.
 *
 * Delivery is at least once: a batch is stored in one transaction and only then acknowledged,
 * so a consumer killed before the acknowledgement gets the batch again, and a message stored
 * twice is an unchanged upsert. A message that is not a record of a known kind, or not a valid
 * one, is not stored: its reject line is written and it is acknowledged (on RabbitMQ, rejected
 * without requeue, so that a dead-letter exchange receives it). RabbitMQ through librabbitmq;
 * Kafka is tools/consume_kafka.c. */
#include "consume.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "cli.h"

volatile sig_atomic_t consume_stop;

static void on_signal(int sig)
{
    (void)sig;
    consume_stop = 1;
}

int consume_add(consumer *c, const char *kind, size_t klen, const void *body, size_t len,
                uint64_t tag)
{
    cmsg *m;
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 64;
        cmsg *g = realloc(c->m, (size_t)cap * sizeof *g);
        if (!g)
            return -1;
        c->m = g;
        c->cap = cap;
    }
    m = &c->m[c->n];
    memset(m, 0, sizeof *m);
    if ((kind && !(m->kind = strndup(kind, klen))) || !(m->body = malloc(len ? len : 1))) {
        free(m->kind);
        return -1;
    }
    memcpy(m->body, body, len);
    m->len = len;
    m->tag = tag;
    c->n++;
    return 0;
}

int consume_commit(consumer *c)
{
    acre_error err;
    if (!c->n)
        return EXIT_OK;
    acre_error_clear(&err);
    if (consume_store(c, &err)) {
        fprintf(stderr, "acre: consume: %s\n", err.message);
        return exit_for(err.code);
    }
    consume_stored();
    return EXIT_OK;
}

void consume_stored(void)
{
    static int die = -1;
    if (die < 0)
        die = getenv("ACRE_CONSUME_DIE_BEFORE_ACK") != NULL;
    if (die)
        raise(SIGKILL);
}

void consume_clear(consumer *c)
{
    for (int i = 0; i < c->n; i++) {
        free(c->m[i].kind);
        free(c->m[i].body);
    }
    c->n = 0;
}

/* The kind a message's type names: Fast Track's BONUS is bonus-events; any record kind by its
 * name; NULL for anything else. */
static const char *kind_of(const char *type)
{
    if (!type)
        return NULL;
    if (strcmp(type, "BONUS") == 0)
        return "bonus-events";
    for (int i = 0; acre_kind_name(i); i++)
        if (strcmp(acre_kind_name(i), type) == 0)
            return acre_kind_name(i);
    return NULL;
}

typedef struct run {
    consumer *c;
    int first; /* the run's first message */
} run;

static void on_reject(void *ctx, const acre_reject *r)
{
    run *u = ctx;
    json_t *line = json_loads(r->json, 0, NULL);
    long i = json_is_integer(json_object_get(line, "index"))
                 ? (long)json_integer_value(json_object_get(line, "index"))
                 : -1;
    json_decref(line);
    if (i >= 0 && u->first + i < u->c->n)
        u->c->m[u->first + i].rejected = 1;
    fprintf(u->c->rejects, "%s\n", r->json);
}

/* The reject line of a message acre cannot name a kind for. */
static void reject_type(consumer *c, const cmsg *m)
{
    json_t *line = json_object(), *errors = json_array(), *e = json_object();
    json_t *rec = json_loadb(m->body, m->len, 0, NULL);
    char *t;
    json_object_set_new(line, "index", json_integer(m - c->m));
    json_object_set_new(line, "record", rec ? rec : json_stringn(m->body, m->len));
    json_object_set_new(e, "field", json_string("type"));
    json_object_set_new(e, "rule", json_string(m->kind ? "unknown_kind" : "required"));
    json_object_set_new(
        e, "message",
        m->kind
            ? json_sprintf("type: \"%.100s\" is not BONUS or a record kind (acre kinds)", m->kind)
            : json_string("type: the message has no type property or header"));
    json_array_append_new(errors, e);
    json_object_set_new(line, "errors", errors);
    if ((t = json_dumps(line, JSON_COMPACT))) {
        fprintf(c->rejects, "%s\n", t);
        free(t);
    }
    json_decref(line);
}

int consume_store(consumer *c, acre_error *err)
{
    acre_ingest_summary sum = {0};
    long rejected = 0;
    int rc;
    if (c->n == 0)
        return 0;
    for (int i = 0; i < c->n; i++)
        c->m[i].rejected = 0;
    if ((rc = acre_store_group_begin(c->s, err)))
        return rc;
    for (int i = 0; i < c->n && !rc;) {
        const char *kind = kind_of(c->m[i].kind);
        int j = i + 1;
        if (!kind) {
            reject_type(c, &c->m[i]);
            c->m[i].rejected = 1;
            i++;
            continue;
        }
        while (j < c->n && c->m[j].kind && strcmp(c->m[j].kind, c->m[i].kind) == 0)
            j++;
        {
            run u = {c, i};
            char now[32];
            acre_ingest_opts o = {
                .source = c->source, .on_reject = on_reject, .ctx = &u, .stored_at = now};
            utc_now(now); /* the batch's time, and its events' */
            acre_ingest_sink *g;
            if (!(rc = acre_ingest_begin(&g, c->s, kind, &o, err))) {
                for (int k = i; k < j && !rc; k++)
                    rc = acre_ingest_record(g, c->m[k].body, c->m[k].len, err);
                if (rc)
                    acre_ingest_abort(g);
                else
                    rc = acre_ingest_commit(g, &sum, err);
            }
        }
        i = j;
    }
    if (rc) {
        acre_store_group_rollback(c->s);
        return rc;
    }
    if ((rc = acre_store_group_commit(c->s, err)))
        return rc;
    /* the reject lines are kept before anything is acknowledged: a refusal is never lost */
    if (fflush(c->rejects) != 0 || (c->rejects != stderr && fsync(fileno(c->rejects)) != 0))
        return acre_error_set(err, ACRE_EIO, NULL, "rejects",
                              "the reject lines could not be written; nothing is acknowledged");
    for (int i = 0; i < c->n; i++)
        rejected += c->m[i].rejected;
    c->batches++;
    c->stored += c->n - rejected;
    c->rejected += rejected;
    printf("{\"batch\":%ld,\"received\":%d,\"inserted\":%ld,\"updated\":%ld,\"unchanged\":%ld,"
           "\"rejected\":%ld}\n",
           c->batches, c->n, sum.inserted, sum.updated, sum.unchanged, rejected);
    fflush(stdout);
    return 0;
}

/* ---- RabbitMQ ---- */

static int amqp_failed(amqp_rpc_reply_t r, const char *what)
{
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION)
        fprintf(stderr, "acre: consume: %s: %s\n", what, amqp_error_string2(r.library_error));
    else if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD ||
             r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *m = r.reply.decoded;
        fprintf(stderr, "acre: consume: %s: the broker said %u %.*s\n", what, m ? m->reply_code : 0,
                m ? (int)m->reply_text.len : 0, m ? (char *)m->reply_text.bytes : "");
    } else {
        fprintf(stderr, "acre: consume: %s: the broker refused\n", what);
    }
    return 1;
}

/* Acknowledges the stored batch: ack, or reject without requeue (dead-lettered). */
static int settle(amqp_connection_state_t conn, consumer *c)
{
    for (int i = 0; i < c->n; i++) {
        int rc = c->m[i].rejected ? amqp_basic_reject(conn, 1, c->m[i].tag, 0)
                                  : amqp_basic_ack(conn, 1, c->m[i].tag, 0);
        if (rc != AMQP_STATUS_OK) {
            fprintf(stderr, "acre: consume: acknowledging: %s\n", amqp_error_string2(rc));
            return -1;
        }
    }
    return 0;
}

static int consume_amqp(consumer *c, const char *url, const char *queue)
{
    struct amqp_connection_info ci;
    amqp_connection_state_t conn = amqp_new_connection();
    amqp_socket_t *sock;
    char *u = strdup(url);
    int code = EXIT_OK;

    if (!u || !conn || amqp_parse_url(u, &ci) != AMQP_STATUS_OK) {
        fprintf(stderr, "acre: consume: %s is not amqp://USER:PASS@HOST:PORT/VHOST\n", url);
        free(u);
        if (conn)
            amqp_destroy_connection(conn);
        return EXIT_USAGE;
    }
    if (!(sock = amqp_tcp_socket_new(conn)) || amqp_socket_open(sock, ci.host, ci.port)) {
        fprintf(stderr, "acre: consume: cannot connect to %s:%d\n", ci.host, ci.port);
        amqp_destroy_connection(conn);
        free(u);
        return EXIT_REFUSED;
    }
    if (amqp_failed(
            amqp_login(conn, ci.vhost, 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, ci.user, ci.password),
            "logging in") ||
        (amqp_channel_open(conn, 1), amqp_failed(amqp_get_rpc_reply(conn), "opening a channel")) ||
        (amqp_basic_qos(conn, 1, 0, CONSUME_BATCH, 0),
         amqp_failed(amqp_get_rpc_reply(conn), "asking for a prefetch")) ||
        (amqp_basic_consume(conn, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0,
                            amqp_empty_table),
         amqp_failed(amqp_get_rpc_reply(conn), "consuming the queue"))) {
        amqp_destroy_connection(conn);
        free(u);
        return EXIT_REFUSED;
    }
    fprintf(stderr, "acre: consume: consuming %s on %s:%d\n", queue, ci.host, ci.port);
    while (!consume_stop || c->n) {
        amqp_envelope_t env;
        struct timeval wait = {0, CONSUME_WAIT_MS * 1000};
        amqp_rpc_reply_t r;
        int full = c->n >= CONSUME_BATCH;
        if (!full && !consume_stop) {
            amqp_maybe_release_buffers(conn);
            r = amqp_consume_message(conn, &env, &wait, 0);
            if (r.reply_type == AMQP_RESPONSE_NORMAL) {
                amqp_basic_properties_t *p = &env.message.properties;
                int typed = (p->_flags & AMQP_BASIC_TYPE_FLAG) != 0;
                int rc =
                    consume_add(c, typed ? p->type.bytes : NULL, typed ? p->type.len : 0,
                                env.message.body.bytes, env.message.body.len, env.delivery_tag);
                amqp_destroy_envelope(&env);
                if (rc) {
                    fprintf(stderr, "acre: consume: out of memory\n");
                    code = EXIT_REFUSED;
                    break;
                }
                continue;
            }
            if (!(r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
                  r.library_error == AMQP_STATUS_TIMEOUT)) {
                amqp_failed(r, "reading the queue");
                code = EXIT_REFUSED;
                break;
            }
        }
        /* a full batch, a quiet queue, or stopping: store what is in hand, then settle it */
        if ((code = consume_commit(c)))
            break;
        if (c->n && settle(conn, c)) {
            code = EXIT_REFUSED;
            break;
        }
        consume_clear(c);
    }
    consume_clear(c);
    amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
    amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn);
    free(u);
    return code;
}

int cmd_consume(const args *a)
{
    consumer c;
    const char *url = a->npos == 2 ? a->pos[1] : "";
    int amqp = strncmp(url, "amqp://", 7) == 0, kafka = strncmp(url, "kafka://", 8) == 0, rc;
    char source[300];
    struct sigaction sa;

    if (!amqp && !kafka)
        return usage("consume: name one amqp://USER:PASS@HOST:PORT/VHOST or kafka://HOST:PORT");
    if (amqp && !a->queue)
        return usage("consume amqp://...: --queue Q names the queue");
    if (kafka && (!a->topic || !a->group))
        return usage("consume kafka://...: --topic T and --group G");
    memset(&c, 0, sizeof c);
    if ((rc = open_store(&c.s, a)))
        return rc;
    c.rejects = stderr;
    if (a->rejects && !(c.rejects = fopen(a->rejects, "a"))) {
        fprintf(stderr, "acre: consume: cannot append to %s\n", a->rejects);
        acre_store_free(c.s);
        return EXIT_USAGE;
    }
    snprintf(source, sizeof source, "%s:%s", amqp ? "amqp" : "kafka", amqp ? a->queue : a->topic);
    c.source = source;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    rc = amqp ? consume_amqp(&c, url, a->queue) : consume_kafka(&c, url + 8, a->topic, a->group);
    if (c.rejects != stderr)
        fclose(c.rejects);
    free(c.m);
    acre_store_free(c.s);
    fprintf(stderr, "acre: consume: %ld batches, %ld records stored, %ld rejected\n", c.batches,
            c.stored, c.rejected);
    return rc;
}
