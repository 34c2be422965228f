/* tools/consume_kafka.c — `acre consume kafka://HOST:PORT[,...] --topic T --group G` (SPEC 12,
 * docs/events.md) on librdkafka: each message's kind is its header `type`; a batch is stored
 * (tools/consume.c), then its offsets committed, synchronously. Offsets are never committed on
 * their own (enable.auto.commit off): a consumer killed between the store's commit and Kafka's
 * gets the batch again, an unchanged upsert. */
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "consume.h"

static int set(rd_kafka_conf_t *conf, const char *k, const char *v)
{
    char why[256];
    if (rd_kafka_conf_set(conf, k, v, why, sizeof why) == RD_KAFKA_CONF_OK)
        return 0;
    fprintf(stderr, "acre: consume: kafka %s=%s: %s\n", k, v, why);
    return -1;
}

int consume_kafka(consumer *c, const char *brokers, const char *topic, const char *group)
{
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_topic_partition_list_t *topics;
    rd_kafka_t *rk;
    rd_kafka_resp_err_t e;
    char why[512];
    int code = EXIT_OK;

    if (set(conf, "bootstrap.servers", brokers) || set(conf, "group.id", group) ||
        set(conf, "enable.auto.commit", "false") || set(conf, "auto.offset.reset", "earliest") ||
        set(conf, "enable.partition.eof", "false") ||
        /* a consumer that died is noticed in 10 s, not librdkafka's 45: its partitions go to
         * the next one sooner (heartbeats every second) */
        set(conf, "session.timeout.ms", "10000") || set(conf, "heartbeat.interval.ms", "1000")) {
        rd_kafka_conf_destroy(conf);
        return EXIT_USAGE;
    }
    if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, why, sizeof why))) {
        fprintf(stderr, "acre: consume: kafka: %s\n", why);
        return EXIT_REFUSED;
    }
    rd_kafka_poll_set_consumer(rk);
    topics = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
    e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        fprintf(stderr, "acre: consume: kafka: subscribing to %s: %s\n", topic,
                rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return EXIT_REFUSED;
    }
    fprintf(stderr, "acre: consume: consuming %s on %s as %s\n", topic, brokers, group);
    while (!consume_stop || c->n) {
        rd_kafka_message_t *m = NULL;
        if (c->n < CONSUME_BATCH && !consume_stop &&
            (m = rd_kafka_consumer_poll(rk, CONSUME_WAIT_MS))) {
            if (m->err) {
                /* a transient error is librdkafka's to retry; say it and go on */
                fprintf(stderr, "acre: consume: kafka: %s\n", rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                continue;
            } else {
                rd_kafka_headers_t *h = NULL;
                const void *type = NULL;
                size_t tlen = 0;
                int rc;
                if (rd_kafka_message_headers(m, &h) != RD_KAFKA_RESP_ERR_NO_ERROR ||
                    rd_kafka_header_get_last(h, "type", &type, &tlen) != RD_KAFKA_RESP_ERR_NO_ERROR)
                    type = NULL;
                rc = consume_add(c, type, tlen, m->payload ? m->payload : "", m->len, 0);
                rd_kafka_message_destroy(m);
                if (rc) {
                    fprintf(stderr, "acre: consume: out of memory\n");
                    code = EXIT_REFUSED;
                    break;
                }
                continue;
            }
        }
        if ((code = consume_commit(c)))
            break;
        /* the offsets of every message polled: the batch just stored. Partitions taken away
         * meanwhile (a rebalance) cannot be committed: their new owner gets those messages
         * again, an unchanged upsert, and this consumer goes on */
        e = c->n ? rd_kafka_commit(rk, NULL, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
        if (e == RD_KAFKA_RESP_ERR__NO_OFFSET || e == RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS ||
            e == RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION || e == RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID) {
            fprintf(stderr, "acre: consume: kafka: offsets not committed (%s): redelivered\n",
                    rd_kafka_err2str(e));
            e = RD_KAFKA_RESP_ERR_NO_ERROR;
        }
        if (e) {
            fprintf(stderr, "acre: consume: kafka: committing the offsets: %s\n",
                    rd_kafka_err2str(e));
            code = EXIT_REFUSED;
            break;
        }
        consume_clear(c);
    }
    consume_clear(c);
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return code;
}
