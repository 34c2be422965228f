#!/usr/bin/python3
"""tests/consume_amqp.py ACRE FIXTURES — `acre consume amqp://...` (SPEC 12, docs/events.md)
against a real RabbitMQ broker (Debian's rabbitmq-server), started in a temporary folder on
loopback ports and stopped at the end, fed by a real publisher (python3-pika).

The demo's customers and deals are stored first. Then 1,215 messages are published to queue
acre.in (its dead-letter exchange acre.dlx, bound to queue acre.dead):
- 1,200 Fast Track bonus events, property type=BONUS, each a distinct user_bonus_id of one of
  the demo's five igaming customers;
- 10 of them invalid records (an unknown customer; a status not of Fast Track's list), 3 typed
  "NOPE", 2 with no type at all: 15 rejects.
A first consumer is killed with SIGKILL once it has stored its first batch (500 messages, the
prefetch), with the next in hand unacknowledged; the broker redelivers those to a second
consumer, stopped with SIGTERM once the queue is drained. Afterwards:
- the store holds each of the 1,200 - 10 = 1,190 valid events once, one version each (a
  redelivered one was an unchanged upsert);
- the 15 invalid messages are in acre.dead, and their reject lines (with the errors: the
  unknown customer, the status, the type) in the rejects file, written before the batch was
  acknowledged (so the killed consumer's are there too);
- nothing acknowledged is missing: every message the broker no longer holds is stored or
  dead-lettered; the second consumer exits 0 on SIGTERM.
"""
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

import pika

acre, fixtures = sys.argv[1], sys.argv[2]
demo = os.path.join(fixtures, "demo")
work = tempfile.mkdtemp(prefix="acre-amqp-")
db = os.path.join(work, "c.db")
fails = 0


def check(name, want, got):
    global fails
    if want != got:
        fails += 1
        print(f"FAIL {name}\n  want: {want!r}\n  got:  {got!r}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the broker, in its own folder ----
port, dist, epmd = free_port(), free_port(), free_port()
env = dict(os.environ, HOME=work, RABBITMQ_NODENAME=f"acre{port}@localhost",
           RABBITMQ_NODE_IP_ADDRESS="127.0.0.1", RABBITMQ_NODE_PORT=str(port),
           RABBITMQ_DIST_PORT=str(dist), ERL_EPMD_PORT=str(epmd),
           RABBITMQ_MNESIA_BASE=os.path.join(work, "mnesia"),
           RABBITMQ_LOG_BASE=os.path.join(work, "log"),
           RABBITMQ_CONFIG_FILE=os.path.join(work, "rabbitmq"),
           RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(work, "enabled_plugins"),
           RABBITMQ_PID_FILE=os.path.join(work, "pid"),
           RABBITMQ_CONF_ENV_FILE=os.path.join(work, "rabbitmq-env.conf"))
open(os.path.join(work, "enabled_plugins"), "w").write("[].\n")
open(os.path.join(work, "rabbitmq.conf"), "w").write("loopback_users = none\n")
open(os.path.join(work, "rabbitmq-env.conf"), "w").close()
broker = subprocess.Popen(["/usr/lib/rabbitmq/bin/rabbitmq-server"], env=env,
                          stdout=open(os.path.join(work, "broker.out"), "w"),
                          stderr=subprocess.STDOUT, start_new_session=True)
conn = None
for _ in range(120):
    try:
        conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", port))
        break
    except Exception:
        time.sleep(0.5)
if not conn:
    print("FAIL the broker did not start:\n" + open(os.path.join(work, "broker.out")).read())
    os.killpg(broker.pid, signal.SIGKILL)
    sys.exit(1)


def stop_broker():
    subprocess.run(["/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", env["RABBITMQ_NODENAME"], "stop"],
                   env=env, capture_output=True, timeout=60)
    try:
        broker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(broker.pid, signal.SIGKILL)
    # the Erlang port mapper the broker started, on its own port: stopped too
    subprocess.run(["epmd", "-kill"], env=env, capture_output=True)


try:
    ch = conn.channel()
    ch.exchange_declare("acre.dlx", "fanout")
    ch.queue_declare("acre.dead", durable=True)
    ch.queue_bind("acre.dead", "acre.dlx")
    ch.queue_declare("acre.in", durable=True, arguments={"x-dead-letter-exchange": "acre.dlx"})

    # ---- the store: the demo's affiliates, deals and customers ----
    def acre_run(*argv):
        return subprocess.run([acre, "--db", db, *argv], capture_output=True, text=True)

    acre_run("ingest", "affiliates", os.path.join(demo, "affiliates.ndjson"))
    for kind, f in (("assignments", "assignments.ndjson"), ("fx-rates", "fx-rates.ndjson"),
                    ("igaming/customers", "igaming-customers.ndjson")):
        acre_run("ingest", kind, os.path.join(demo, f))
    customers = ["c_1001", "c_1002", "c_1003", "c_2001", "c_2002"]

    def bonus(i, user, status="Created"):
        return {"amount": 10, "bonus_id": "reload10", "currency": "EUR", "exchange_rate": 1,
                "origin": "nordic.example", "product": "Casino", "status": status,
                "timestamp": f"2026-02-01T10:{i // 60 % 60:02d}:{i % 60:02d}Z",
                "type": "ReloadBonus", "user_bonus_id": f"b_{i:05d}", "user_id": user}

    bad = {100: bonus(100, "c_nobody"), 400: bonus(400, "c_1001", "Sometimes")}
    for k in range(8):
        bad[700 + k] = bonus(700 + k, "c_nobody")
    messages = []
    for i in range(1200):
        messages.append(("BONUS", bad.get(i) or bonus(i, customers[i % 5])))
    messages += [("NOPE", bonus(2000 + k, "c_1001")) for k in range(3)]
    messages += [(None, bonus(3000 + k, "c_1001")) for k in range(2)]
    for t, body in messages:
        props = pika.BasicProperties(type=t, delivery_mode=2) if t else \
            pika.BasicProperties(delivery_mode=2)
        ch.basic_publish("", "acre.in", json.dumps(body).encode(), props)
    url = f"amqp://guest:guest@127.0.0.1:{port}/%2f"
    rejects = os.path.join(work, "rejects.ndjson")

    # ---- a consumer killed with its second batch in hand ----
    c1 = subprocess.Popen([acre, "--db", db, "consume", url, "--queue", "acre.in", "--rejects",
                           rejects], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    first = c1.stdout.readline()
    time.sleep(0.05)
    c1.send_signal(signal.SIGKILL)
    c1.wait()
    check("the first consumer stored a batch before it was killed", 500,
          json.loads(first or '{"received":0}')["received"])

    # ---- another, until the queue is drained, then SIGTERM ----
    c2 = subprocess.Popen([acre, "--db", db, "consume", url, "--queue", "acre.in", "--rejects",
                           rejects], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        q = ch.queue_declare("acre.in", passive=True)
        d = ch.queue_declare("acre.dead", passive=True)
        if q.method.message_count == 0 and d.method.message_count >= 15:
            break
        time.sleep(0.2)
    time.sleep(0.5)  # the last batch's acknowledgements
    c2.send_signal(signal.SIGTERM)
    out, err = c2.communicate(timeout=60)
    check("SIGTERM: exit 0", 0, c2.returncode)

    # ---- what the broker and the store hold ----
    q = ch.queue_declare("acre.in", passive=True)
    check("acre.in drained, nothing left unacknowledged", 0, q.method.message_count)
    dead = []
    while True:
        m, props, body = ch.basic_get("acre.dead", auto_ack=True)
        if not m:
            break
        dead.append((props.type, json.loads(body)["user_bonus_id"]))
    want_dead = sorted([("BONUS", f"b_{i:05d}") for i in bad] +
                       [("NOPE", f"b_{2000 + k:05d}") for k in range(3)] +
                       [(None, f"b_{3000 + k:05d}") for k in range(2)], key=str)
    check("the 15 invalid messages dead-lettered", want_dead, sorted(dead, key=str))
    con = sqlite3.connect(db)
    stored = con.execute("SELECT count(DISTINCT user_bonus_id), count(*) FROM bonus_event").fetchone()
    con.close()
    check("each of the 1,190 valid events stored once, one version each", (1190, 1190),
          tuple(stored))
    lines = [json.loads(x) for x in open(rejects)]
    ids = {}
    for x in lines:
        ids.setdefault(x["record"]["user_bonus_id"], set()).update(
            f"{e['field']}:{e['rule']}" for e in x["errors"])
    check("a reject line for each, naming the field and the rule",
          {**{f"b_{i:05d}": {"user_id:unknown_customer"} for i in bad if i != 400},
           "b_00400": {"status:enum"},
           **{f"b_{2000 + k:05d}": {"type:unknown_kind"} for k in range(3)},
           **{f"b_{3000 + k:05d}": {"type:required"} for k in range(2)}},
          ids)
    conn.close()
finally:
    stop_broker()
shutil.rmtree(work, ignore_errors=True)
print(f"{fails} failed")
sys.exit(1 if fails else 0)
