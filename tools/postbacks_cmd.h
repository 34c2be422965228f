/* tools/postbacks_cmd.h — `acre postbacks` and `acre affiliates` (tools/postbacks_cmd.c). */
#ifndef ACRE_TOOLS_POSTBACKS_CMD_H
#define ACRE_TOOLS_POSTBACKS_CMD_H

#include "args.h"

/* What one delivery pass did: events attempted, delivered, failed (due again later) and dead;
 * waiting: due but not attempted, their affiliate having no postback_url or no secret. */
typedef struct postbacks_counts {
    long attempted, delivered, failed, dead, waiting;
} postbacks_counts;

/* One pass over the outbox: every pending event due now (all: every pending one) POSTed to its
 * affiliate's postback_url, each result recorded as it comes. stop (may be NULL), once set,
 * ends the pass: no request is started, and the one in flight is recorded if it is answered
 * within 5 seconds, else abandoned and not recorded. 0, or the store's error. */
int postbacks_deliver(acre_store *s, int all, const int *stop, postbacks_counts *n,
                      acre_error *err);

/* libcurl's global set-up, before any thread that may use it starts: 0, or -1. */
int postbacks_global_init(void);

/* The delivery loop of `acre serve`: a thread with its own store handle on db making a pass
 * every `every` seconds; stop waits for the pass in flight. NULL when it could not start. */
typedef struct postbacks_loop postbacks_loop;
postbacks_loop *postbacks_loop_start(const char *db, long every);
void postbacks_loop_stop(postbacks_loop *l);

/* `acre postbacks deliver [--now] | list [--status S] [--format json] | retry EVENT_ID` */
int cmd_postbacks(const args *a);

/* `acre affiliates secret ID [--rotate]` */
int cmd_affiliates(const args *a);

#endif
