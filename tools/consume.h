/* tools/consume.h — `acre consume` (SPEC 12; docs/events.md): records from a message queue,
 * stored in batches, one transaction each, acknowledged only after the commit. The batching is
 * tools/consume.c's; RabbitMQ's side is there too, Kafka's in tools/consume_kafka.c. */
#ifndef ACRE_TOOLS_CONSUME_H
#define ACRE_TOOLS_CONSUME_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "args.h"

/* One message: its kind (from the AMQP type property or the Kafka header type: "BONUS" means
 * bonus-events), its body, and what the broker needs to acknowledge it. */
typedef struct cmsg {
    char *kind; /* NULL: no type; an unknown one is kept as it came, and rejected */
    char *body;
    size_t len;
    uint64_t tag; /* AMQP delivery tag */
    int rejected; /* set by consume_store: not stored (reject line written) */
} cmsg;

typedef struct consumer {
    acre_store *s;
    FILE *rejects;      /* the reject lines (SPEC 2): --rejects FILE, or stderr */
    const char *source; /* "amqp:QUEUE", "kafka:TOPIC": the batches' source */
    cmsg *m;
    int n, cap;
    long batches, stored, rejected;
} consumer;

/* Set by SIGTERM or SIGINT: the batch in hand is finished, committed and acknowledged, then the
 * consumer exits 0. */
extern volatile sig_atomic_t consume_stop;

/* Appends a message (kind may be NULL; both copied). 0, or -1 out of memory. */
int consume_add(consumer *c, const char *kind, size_t klen, const void *body, size_t len,
                uint64_t tag);

/* Stores the batch in one transaction: each run of messages of one kind a batch of that kind
 * (so that a customer comes before its transactions when it came first), nested in it. A
 * message of no or an unknown type, or an invalid record, is marked rejected and its reject line
 * written; nothing is acknowledged here. Prints one summary line on stdout. 0, or the store's
 * error (nothing stored: the caller acknowledges nothing, and the broker redelivers). */
int consume_store(consumer *c, acre_error *err);

/* Called between a batch's commit and its acknowledgement: with $ACRE_CONSUME_DIE_BEFORE_ACK
 * set, the consumer dies there by SIGKILL, as a crash would (tests/consume_kafka.c). */
void consume_stored(void);

/* The batch in hand (if any) stored by consume_store, what failed said on stderr, then
 * consume_stored: EXIT_OK, or the exit status of the failure (nothing to acknowledge). */
int consume_commit(consumer *c);

/* Forgets the batch (after it was acknowledged). */
void consume_clear(consumer *c);

/* Messages per batch, and how long a batch waits to fill before it is stored anyway. */
#define CONSUME_BATCH 500
#define CONSUME_WAIT_MS 200

/* `acre consume URL ...`: amqp:// (--queue) or kafka:// (--topic, --group). */
int cmd_consume(const args *a);

/* Kafka's loop (tools/consume_kafka.c): returns the exit status. */
int consume_kafka(consumer *c, const char *brokers, const char *topic, const char *group);

#endif
