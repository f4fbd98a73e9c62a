/* The FIX 4.4 acceptor (docs/fix.md): FIX sessions live in the gateway's
 * session table beside the native ones, with a struct fix_conn each. They
 * are accepted on their own port, log on through the same logon checker
 * and throttle, put their orders into the same pending batch and get their
 * outcomes the same way (gateway_outcome finds them by account and client
 * id); only the bytes on the wire differ. */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "codec/frame.h"
#include "core/book.h"
#include "core/event.h"
#include "core/result.h"
#include "fix/fix_app.h"
#include "fix/fix_msg.h"
#include "fix/fix_store.h"
#include "gateway/gateway_internal.h"
#include "gateway/publisher.h"
#include "lib/clock.h"
#include "lib/hash.h"

#define FIX_COMP_ID "NODOWN"
/* Order messages of a session without an outcome yet, at most: one more
 * waits (its input is not read) until one is answered. */
#define FIX_REQUESTS_MAX 256u
/* ClOrdIDs remembered per session, for cancels and replaces that name an
 * order by OrigClOrdID(41) (a newer one takes an older one's place). */
#define FIX_CLORDS_MAX 1024u
#define FIX_SESSIONS_MAX_DEFAULT 1024u
#define FIX_SESSIONS_PER_ADDRESS_DEFAULT 64u
#define FIX_HEARTBEAT_S_MAX 3600u
#define FIX_STORE_SAVE_MS 1000
/* Orders of FIX sessions followed for their fills, by order id (a newer
 * order takes an older one's place: its later fills are reported with
 * OrderID(37) as the ClOrdID). */
#define FIX_ORDERS_MAX 8192u
/* Accounts with a FIX session, for reporting fills: twice the sessions. */
#define FIX_ACCOUNTS_MAX (2u * FIX_SESSIONS_MAX_DEFAULT)

struct fix_order {
    uint64_t order_id; /* 0: free */
    uint32_t account_id;
    uint32_t instrument_id;
    uint8_t side;
    bool known;        /* placed by a FIX session, its request below */
    int64_t quantity;
    struct fix_fill fill;
    char clordid[FIX_ID_SIZE_MAX];
};

/* The FIX session of an account to tell of its resting orders' fills. */
struct fix_account {
    uint32_t account_id;
    uint32_t slot; /* UINT32_MAX: none now */
};

struct fix_clord {
    uint64_t hash;
    uint64_t order_id;
};

struct fix_conn {
    char sender[FIX_ID_SIZE_MAX]; /* the client's SenderCompID */
    uint32_t store_slot;          /* FIX_STORE_NONE until logged on */
    uint32_t epoch;               /* of the logon */
    int heartbeat_ms;
    int64_t sent_ms;              /* the last message sent */
    int64_t test_sent_ms;         /* a TestRequest unanswered since; 0: none */
    bool logon_reset;             /* the Logon said ResetSeqNumFlag(141)=Y */
    uint64_t logon_seq;
    bool resend_asked;            /* a ResendRequest sent, the gap not filled yet */
    struct fix_request requests[FIX_REQUESTS_MAX]; /* by MsgSeqNum % FIX_REQUESTS_MAX */
    struct fix_clord clords[FIX_CLORDS_MAX];
};

struct fix_gateway {
    struct fix_store store;
    uint32_t sessions_max;
    uint32_t per_address_max;
    uint32_t open;
    uint64_t exec_id;
    bool reload;      /* read the store again before the next logon (a hand-over) */
    int64_t saved_ms;
    int64_t time_second; /* SendingTime of this second, cached */
    char time_text[FIX_TIME_SIZE];
    char scratch[FIX_MSG_SIZE_MAX + FIX_HEADER_ROOM];
    uint32_t accounts_used;
    struct fix_account accounts[FIX_ACCOUNTS_MAX]; /* open addressing by account */
    struct fix_order orders[FIX_ORDERS_MAX];       /* by order id % FIX_ORDERS_MAX */
};

static void fix_event(void *context, const struct event *event);

/* ---- Opening and closing. ---- */

int fix_gateway_open(struct gateway *gateway, const struct gateway_config *config,
                     char *errmsg, size_t errmsg_size)
{
    gateway->fix_listen_fd = -1;
    gateway->fix = NULL;
    if (!config->fix_on)
        return 0;
    struct fix_gateway *fg = calloc(1, sizeof *fg);
    if (fg == NULL) {
        snprintf(errmsg, errmsg_size, "FIX acceptor: no memory");
        return ERR_NOMEM;
    }
    int rv = fix_store_open(&fg->store, config->fix_state_path, errmsg, errmsg_size);
    struct gateway_listen_spec spec = {.host = config->fix_host != NULL ? config->fix_host
                                                                        : "127.0.0.1",
                                       .port = config->fix_port,
                                       .later = config->listen_later,
                                       .inherited = config->fix_listen_fd_inherited};
    if (rv == 0)
        rv = gateway_socket(&spec, &gateway->fix_listen_fd, &gateway->fix_port, errmsg,
                            errmsg_size);
    if (rv != 0) {
        free(fg);
        return rv;
    }
    fg->sessions_max = FIX_SESSIONS_MAX_DEFAULT;
    fg->per_address_max = FIX_SESSIONS_PER_ADDRESS_DEFAULT;
    fg->reload = config->listen_later;
    fg->time_second = -1;
    /* ExecIDs count on from this run's start in ns: unique across restarts
     * and hand-overs while fewer than one report a ns is sent. */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    fg->exec_id = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    for (uint32_t i = 0; i < FIX_ACCOUNTS_MAX; i++)
        fg->accounts[i] = (struct fix_account){UINT32_MAX, UINT32_MAX};
    gateway->fix = fg;
    gateway->replica->event_tap = fix_event;
    gateway->replica->event_tap_context = gateway;
    return 0;
}

int gateway_fix_listen_take(struct gateway *gateway, int fd, char *errmsg, size_t errmsg_size)
{
    assert(gateway->fix != NULL && gateway->fix_listen_fd < 0);
    struct gateway_listen_spec spec = {.inherited = fd};
    gateway->fix->reload = true;
    return gateway_socket(&spec, &gateway->fix_listen_fd, &gateway->fix_port, errmsg,
                          errmsg_size);
}

bool gateway_fix_wanted(const struct gateway *gateway)
{
    return gateway->fix != NULL;
}

static void fix_store_flush(struct gateway *gateway)
{
    char errmsg[600];
    if (fix_store_save(&gateway->fix->store, errmsg, sizeof errmsg) != 0)
        fprintf(stderr, "nodown: FIX sessions not saved: %s\n", errmsg);
    gateway->fix->saved_ms = clock_now_ms();
}

void fix_gateway_close(struct gateway *gateway)
{
    if (gateway->fix_listen_fd >= 0)
        close(gateway->fix_listen_fd);
    gateway->fix_listen_fd = -1;
    if (gateway->fix == NULL)
        return;
    fix_store_flush(gateway);
    gateway->replica->event_tap = NULL;
    free(gateway->fix);
    gateway->fix = NULL;
}

/* ---- Sending. ---- */

/* SendingTime: the wall clock's UTC, cached a second at a time. */
static const char *fix_now_text(struct fix_gateway *fg)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    if (now_ms / 1000 != fg->time_second) {
        fg->time_second = now_ms / 1000;
        fix_time(now_ms, fg->time_text);
    }
    char *ms = fg->time_text + 18;
    ms[0] = (char)('0' + now_ms % 1000 / 100);
    ms[1] = (char)('0' + now_ms % 100 / 10);
    ms[2] = (char)('0' + now_ms % 10);
    return fg->time_text;
}

static struct fix_store_entry *fix_entry(struct gateway *gateway, struct fix_conn *conn)
{
    return conn->store_slot == FIX_STORE_NONE ? NULL
                                              : &gateway->fix->store.entries[conn->store_slot];
}

/* Starts a message with its header; seq 0: the session's next. */
static void fix_begin(struct gateway *gateway, struct gateway_session *session,
                      struct fix_writer *w, const char *type, uint64_t seq)
{
    struct fix_gateway *fg = gateway->fix;
    struct fix_conn *conn = session->fix;
    fix_write_begin(w, fg->scratch, sizeof fg->scratch, type);
    fix_write_str(w, 49, FIX_COMP_ID);
    fix_write_str(w, 56, conn->sender[0] != '\0' ? conn->sender : "UNKNOWN");
    struct fix_store_entry *e = fix_entry(gateway, conn);
    if (seq == 0 && e != NULL) {
        seq = e->next_out++;
        fg->store.dirty = true;
    }
    fix_write_u64(w, 34, seq != 0 ? seq : 1);
    fix_write_str(w, 52, fix_now_text(fg));
}

static void fix_end(struct gateway *gateway, struct gateway_session *session,
                    struct fix_writer *w)
{
    size_t size = 0;
    const char *bytes = fix_write_end(w, &size);
    assert(bytes != NULL); /* every message the acceptor writes fits */
    session_send_bytes(gateway, session, bytes, size);
    session->fix->sent_ms = clock_now_ms();
}

void fix_logout(struct gateway *gateway, struct gateway_session *session, const char *text)
{
    if (session->fd < 0 || session->state == SESSION_CLOSING)
        return;
    struct fix_writer w;
    fix_begin(gateway, session, &w, "5", 0);
    fix_write_str(&w, 58, text);
    fix_end(gateway, session, &w);
    session->state = SESSION_CLOSING;
    gateway_hot_add(gateway, session);
}

static void fix_reject(struct gateway *gateway, struct gateway_session *session, uint64_t seq,
                       uint32_t tag, int reason, const char *text)
{
    struct fix_writer w;
    fix_begin(gateway, session, &w, "3", 0);
    fix_write_u64(&w, 45, seq);
    if (tag != 0)
        fix_write_u64(&w, 371, tag);
    fix_write_u64(&w, 373, (uint64_t)reason);
    fix_write_str(&w, 58, text);
    fix_end(gateway, session, &w);
}

static void fix_resend_request(struct gateway *gateway, struct gateway_session *session,
                               uint64_t from)
{
    struct fix_writer w;
    fix_begin(gateway, session, &w, "2", 0);
    fix_write_u64(&w, 7, from);
    fix_write_u64(&w, 16, 0);
    fix_end(gateway, session, &w);
    session->fix->resend_asked = true;
}

/* ---- Accounts with a FIX session: whom to tell of a resting order's fills. ---- */

static struct fix_account *fix_account_at(struct fix_gateway *fg, uint32_t account_id, bool add)
{
    uint32_t i = (uint32_t)(hash_mix64(account_id) % FIX_ACCOUNTS_MAX);
    for (uint32_t n = 0; n < FIX_ACCOUNTS_MAX; n++, i = (i + 1) % FIX_ACCOUNTS_MAX) {
        struct fix_account *a = &fg->accounts[i];
        if (a->account_id == account_id)
            return a;
        if (a->account_id != UINT32_MAX)
            continue;
        if (!add || fg->accounts_used >= FIX_ACCOUNTS_MAX / 4u * 3u)
            return NULL;
        a->account_id = account_id;
        fg->accounts_used++;
        return a;
    }
    return NULL;
}

static bool fix_session_live(const struct gateway_session *session)
{
    return session->fd >= 0 && session->fix != NULL && session->state == SESSION_READY;
}

/* Another logged-on FIX session of the account than except, or UINT32_MAX. */
static uint32_t fix_account_session(const struct gateway *gateway, uint32_t account_id,
                                    uint32_t except)
{
    for (uint32_t i = 0; i < gateway->session_end; i++)
        if (i != except && fix_session_live(&gateway->sessions[i]) &&
            gateway->sessions[i].account_id == account_id)
            return i;
    return UINT32_MAX;
}

static void fix_account_note(struct gateway *gateway, const struct gateway_session *session)
{
    struct fix_gateway *fg = gateway->fix;
    struct fix_account *a = fix_account_at(fg, session->account_id, true);
    if (a == NULL) { /* full of accounts gone: start again from the sessions there are */
        for (uint32_t i = 0; i < FIX_ACCOUNTS_MAX; i++)
            fg->accounts[i] = (struct fix_account){UINT32_MAX, UINT32_MAX};
        fg->accounts_used = 0;
        for (uint32_t i = 0; i < gateway->session_end; i++)
            if (fix_session_live(&gateway->sessions[i]))
                fix_account_at(fg, gateway->sessions[i].account_id, true)->slot = i;
        a = fix_account_at(fg, session->account_id, true);
    }
    assert(a != NULL);
    a->slot = (uint32_t)(session - gateway->sessions);
}

/* ---- Connections. ---- */

static uint32_t fix_address_count(const struct gateway *gateway, uint32_t address)
{
    uint32_t count = 0;
    for (uint32_t i = 0; i < gateway->session_end; i++)
        count += gateway->sessions[i].fd >= 0 && gateway->sessions[i].fix != NULL &&
                 gateway->sessions[i].address == address;
    return count;
}

int fix_conn_start(struct gateway *gateway, struct gateway_session *session)
{
    struct fix_gateway *fg = gateway->fix;
    assert(fg != NULL);
    const char *refusal = NULL;
    if (fg->open >= fg->sessions_max)
        refusal = "too many FIX sessions on this node (1024): try another node";
    else if (fix_address_count(gateway, session->address) >= fg->per_address_max)
        refusal = "too many FIX sessions from this address (64)";
    struct fix_conn *conn = calloc(1, sizeof *conn);
    if (conn == NULL)
        return -1;
    conn->store_slot = FIX_STORE_NONE;
    conn->sent_ms = clock_now_ms();
    session->fix = conn;
    fg->open++;
    if (refusal != NULL)
        fix_logout(gateway, session, refusal);
    return 0;
}

void fix_conn_end(struct gateway *gateway, struct gateway_session *session)
{
    assert(gateway->fix != NULL && gateway->fix->open > 0);
    uint32_t slot = (uint32_t)(session - gateway->sessions);
    struct fix_account *a = session->state == SESSION_READY || session->state == SESSION_CLOSING
                                ? fix_account_at(gateway->fix, session->account_id, false)
                                : NULL;
    if (a != NULL && a->slot == slot)
        a->slot = fix_account_session(gateway, session->account_id, slot);
    gateway->fix->open--;
    free(session->fix);
    session->fix = NULL;
    if (gateway->fix->store.dirty)
        fix_store_flush(gateway);
}

/* ---- Logon. ---- */

static bool fix_comp_id_ok(const char *id)
{
    if (id[0] == '\0')
        return false;
    for (const char *p = id; *p != '\0'; p++)
        if (*p <= ' ' || *p > '~')
            return false;
    return true;
}

/* Checks a Logon's fields; returns NULL or why it is refused. */
static const char *fix_logon_fields(const struct fix_msg *msg, struct fix_conn *conn,
                                    uint64_t *account, uint64_t *heartbeat_s)
{
    char target[FIX_ID_SIZE_MAX];
    bool present = false;
    fix_get_text(msg, 56, target, sizeof target);
    if (strcmp(target, FIX_COMP_ID) != 0)
        return "TargetCompID(56) must be NODOWN";
    size_t length = 0;
    const char *sender = fix_get(msg, 49, &length);
    fix_get_text(msg, 49, conn->sender, sizeof conn->sender);
    if (sender == NULL || length >= FIX_ID_SIZE_MAX || !fix_comp_id_ok(conn->sender)) {
        conn->sender[0] = '\0';
        return "SenderCompID(49): 1 to 63 printable characters without spaces";
    }
    const char *encrypt = fix_get(msg, 98, &length);
    if (encrypt == NULL || length != 1 || encrypt[0] != '0')
        return "EncryptMethod(98) must be 0";
    if (!fix_get_u64(msg, 108, heartbeat_s, &present) || *heartbeat_s > FIX_HEARTBEAT_S_MAX)
        return "HeartBtInt(108): 0 to 3600 seconds";
    if (!fix_get_u64(msg, 553, account, &present) || *account >= UINT32_MAX)
        return "Username(553) must be the account id";
    const char *password = fix_get(msg, 554, &length);
    if (password == NULL || length > FRAME_SECRET_SIZE_MAX)
        return "Password(554) must be the account's secret";
    return NULL;
}

static void fix_logon(struct gateway *gateway, struct gateway_session *session,
                      const struct fix_msg *msg, uint64_t seq)
{
    struct fix_gateway *fg = gateway->fix;
    struct fix_conn *conn = session->fix;
    uint64_t account = 0, heartbeat_s = 0;
    const char *why = fix_logon_fields(msg, conn, &account, &heartbeat_s);
    if (why != NULL) {
        fix_logout(gateway, session, why);
        return;
    }
    if (fg->reload) {
        char errmsg[600], path[sizeof fg->store.path];
        memcpy(path, fg->store.path, sizeof path); /* fix_store_open clears the store */
        if (fix_store_open(&fg->store, path, errmsg, sizeof errmsg) != 0)
            fprintf(stderr, "nodown: FIX sessions not read: %s\n", errmsg);
        fg->reload = false;
    }
    conn->heartbeat_ms = (int)heartbeat_s * 1000; /* 0: none */
    conn->logon_reset = fix_get_flag(msg, 141);
    conn->logon_seq = seq;
    uint32_t at = fix_store_find(&fg->store, (uint32_t)account, conn->sender);
    conn->epoch = (at != FIX_STORE_NONE ? fg->store.entries[at].epoch : 0) + conn->logon_reset;
    session->client_id = fix_client_id(conn->sender, conn->epoch);
    static struct frame_logon logon; /* the loop runs on one thread */
    size_t length = 0;
    const char *password = fix_get(msg, 554, &length);
    logon.account_id = (uint32_t)account;
    logon.secret_size = (uint16_t)length;
    memcpy(logon.secret, password, length);
    gateway_logon(gateway, session, &logon);
    OPENSSL_cleanse(logon.secret, sizeof logon.secret);
}

void fix_logon_done(struct gateway *gateway, struct gateway_session *session)
{
    struct fix_gateway *fg = gateway->fix;
    struct fix_conn *conn = session->fix;
    uint32_t at = fix_store_get(&fg->store, session->account_id, conn->sender);
    struct fix_store_entry *e = &fg->store.entries[at];
    conn->store_slot = at;
    fix_account_note(gateway, session);
    if (conn->logon_reset) {
        e->epoch = conn->epoch;
        e->next_in = 1;
        e->next_out = 1;
    }
    if (conn->logon_seq < e->next_in) {
        char text[160];
        snprintf(text, sizeof text, "MsgSeqNum too low, expecting %" PRIu64 " but received %"
                 PRIu64, e->next_in, conn->logon_seq);
        fix_logout(gateway, session, text);
        return;
    }
    bool gap = conn->logon_seq > e->next_in;
    if (!gap)
        e->next_in = conn->logon_seq + 1;
    struct fix_writer w;
    fix_begin(gateway, session, &w, "A", 0);
    fix_write_str(&w, 98, "0");
    fix_write_u64(&w, 108, (uint64_t)conn->heartbeat_ms / 1000u);
    if (conn->logon_reset)
        fix_write_str(&w, 141, "Y");
    fix_end(gateway, session, &w);
    if (gap)
        fix_resend_request(gateway, session, e->next_in);
}

/* ---- Orders. ---- */

static uint64_t fix_clord_hash(const char *clordid)
{
    uint64_t h = 0x436c4f7264494421u;
    for (const char *p = clordid; *p != '\0'; p++)
        h = hash_mix64(h ^ (unsigned char)*p);
    return h != 0 ? h : 1;
}

static void fix_clord_note(struct fix_conn *conn, const char *clordid, uint64_t order_id)
{
    uint64_t h = fix_clord_hash(clordid);
    conn->clords[h % FIX_CLORDS_MAX] = (struct fix_clord){h, order_id};
}

static uint64_t fix_clord_find(const struct fix_conn *conn, const char *clordid)
{
    uint64_t h = fix_clord_hash(clordid);
    const struct fix_clord *c = &conn->clords[h % FIX_CLORDS_MAX];
    return c->hash == h ? c->order_id : 0;
}

/* The followed order of that id, made anew (no fills, not known) when its
 * place held another. */
static struct fix_order *fix_order_follow(struct fix_gateway *fg, uint64_t order_id,
                                          uint32_t account_id, uint32_t instrument_id,
                                          uint8_t side)
{
    struct fix_order *o = &fg->orders[order_id % FIX_ORDERS_MAX];
    if (o->order_id != order_id) {
        memset(o, 0, sizeof *o);
        o->order_id = order_id;
        o->account_id = account_id;
        o->instrument_id = instrument_id;
        o->side = side;
    }
    return o;
}

/* An ExecutionReport of a resting order's fill, to a session of its
 * account. */
static void fix_fill_report(struct gateway *gateway, struct gateway_session *session,
                            const struct fix_order *o)
{
    const struct engine *engine = &gateway->replica->engine;
    uint32_t at = order_find(engine, o->order_id);
    int64_t leaves = at != INDEX_NONE ? engine->orders[at].quantity_open : 0;
    static struct fix_request req;
    memset(&req, 0, sizeof req);
    req.kind = 'D';
    req.side = o->side;
    req.order_type = ORDER_TYPE_LIMIT;
    req.time_in_force = TIF_GTC;
    req.instrument_id = o->instrument_id;
    req.quantity = o->fill.cum + leaves;
    if (o->known)
        memcpy(req.clordid, o->clordid, sizeof req.clordid);
    else
        snprintf(req.clordid, sizeof req.clordid, "%" PRIu64, o->order_id);
    struct outcome outcome = {.result = RESULT_OK, .id = o->order_id, .value = o->fill.cum};
    struct fix_writer w;
    fix_begin(gateway, session, &w, "8", 0);
    fix_report_write(&w, &req, &outcome, &o->fill, ++gateway->fix->exec_id, NULL);
    fix_end(gateway, session, &w);
}

/* The replica's events as it applies them (replica.event_tap): each trade
 * adds to the taker's fills, reported with its outcome, and is reported
 * at once to a FIX session of the maker's account. */
static void fix_event(void *context, const struct event *event)
{
    struct gateway *gateway = context;
    struct fix_gateway *fg = gateway->fix;
    if (event->type != EVENT_TRADE)
        return;
    int64_t q = event->u.trade.quantity, px = event->u.trade.price_ticks;
    uint8_t taker_side = event->u.trade.taker_side;
    if (fix_account_at(fg, event->account_id, false) != NULL) {
        struct fix_order *t = fix_order_follow(fg, event->id, event->account_id,
                                               event->u.trade.instrument_id, taker_side);
        t->fill = (struct fix_fill){t->fill.cum + q, t->fill.notional + q * px, q, px};
    }
    uint32_t maker = event->u.trade.maker_account_id;
    struct fix_account *a = fix_account_at(fg, maker, false);
    if (a == NULL || a->slot == UINT32_MAX)
        return;
    struct gateway_session *session = &gateway->sessions[a->slot];
    if (!fix_session_live(session) || session->account_id != maker)
        return;
    struct fix_order *m = fix_order_follow(fg, event->u.trade.maker_order_id, maker,
                                           event->u.trade.instrument_id,
                                           taker_side == SIDE_BUY ? SIDE_SELL : SIDE_BUY);
    m->fill = (struct fix_fill){m->fill.cum + q, m->fill.notional + q * px, q, px};
    fix_fill_report(gateway, session, m);
}

/* Answers req at once, with a refusal of the acceptor's own. */
static void fix_order_refuse(struct gateway *gateway, struct gateway_session *session,
                             const struct fix_request *req, const char *why)
{
    struct outcome outcome = {.result = REJECT_COMMAND_UNKNOWN, .id = req->order_id};
    struct fix_writer w;
    fix_begin(gateway, session, &w, fix_report_type(req, &outcome), 0);
    fix_report_write(&w, req, &outcome, NULL, ++gateway->fix->exec_id, why);
    fix_end(gateway, session, &w);
}

static void fix_order(struct gateway *gateway, struct gateway_session *session,
                      const struct fix_msg *msg, char kind, uint64_t seq)
{
    struct fix_conn *conn = session->fix;
    static struct fix_request req; /* the loop runs on one thread */
    uint32_t tag = 0;
    const char *why = NULL;
    enum fix_request_result rv = fix_request_read(msg, kind, &req, &tag, &why);
    req.seq = seq;
    if (rv == FIX_REQUEST_SESSION_REJECT) {
        fix_reject(gateway, session, seq, tag, FIX_REJECT_REQUIRED_MISSING, why);
        return;
    }
    if (rv == FIX_REQUEST_OK && kind != 'D' && req.order_id == 0) {
        req.order_id = fix_clord_find(conn, req.orig_clordid);
        if (req.order_id == 0) {
            rv = FIX_REQUEST_REFUSED;
            why = "OrigClOrdID(41) not known to this session: send OrderID(37)";
        }
    }
    if (rv == FIX_REQUEST_OK && gateway->read_only[0] != '\0') {
        rv = FIX_REQUEST_REFUSED;
        why = gateway->read_only;
    }
    if (rv != FIX_REQUEST_OK) {
        fix_order_refuse(gateway, session, &req, why);
        return;
    }
    conn->requests[seq % FIX_REQUESTS_MAX] = req;
    static struct command command;
    fix_request_command(&req, &command);
    gateway_command(gateway, session, &command);
}

/* The request a command answers; rebuilt from the command when the
 * session no longer has it (a resend after a reconnection). */
static const struct fix_request *fix_request_of(struct fix_conn *conn,
                                                const struct command *command)
{
    struct fix_request *req = &conn->requests[command->client_seq % FIX_REQUESTS_MAX];
    if (req->seq == command->client_seq)
        return req;
    static struct fix_request rebuilt;
    memset(&rebuilt, 0, sizeof rebuilt);
    rebuilt.seq = command->client_seq;
    snprintf(rebuilt.clordid, sizeof rebuilt.clordid, "%" PRIu64, command->client_seq);
    if (command->type == COMMAND_ORDER_PLACE) {
        rebuilt.kind = 'D';
        rebuilt.instrument_id = command->u.order_place.instrument_id;
        rebuilt.side = command->u.order_place.side;
        rebuilt.order_type = command->u.order_place.order_type;
        rebuilt.time_in_force = command->u.order_place.time_in_force;
        rebuilt.price_ticks = command->u.order_place.price_ticks;
        rebuilt.quantity = command->u.order_place.quantity;
    } else {
        rebuilt.kind = command->type == COMMAND_ORDER_CANCEL ? 'F' : 'G';
        rebuilt.order_id = command->u.order_cancel.order_id;
    }
    return &rebuilt;
}

void fix_outcome(struct gateway *gateway, struct gateway_session *session,
                 const struct command *command, const struct outcome *outcome)
{
    struct fix_conn *conn = session->fix;
    const struct fix_request *req = fix_request_of(conn, command);
    struct fix_fill fill_now;
    const struct fix_fill *fill = NULL;
    if (outcome->result == RESULT_OK && req->kind != 'F') {
        fix_clord_note(conn, req->clordid, outcome->id);
        struct fix_order *o = fix_order_follow(gateway->fix, outcome->id, session->account_id,
                                               req->instrument_id, req->side);
        if (o->fill.cum > 0 && req->kind == 'D') {
            fill_now = o->fill;
            fill_now.last_qty = fill_now.cum; /* this report tells every fill so far */
            fill = &fill_now;
        }
        o->known = true;
        o->quantity = req->kind == 'D' ? req->quantity : req->quantity + o->fill.cum;
        memcpy(o->clordid, req->clordid, sizeof o->clordid);
    } else if (outcome->result == RESULT_OK) {
        const struct fix_order *o = &gateway->fix->orders[outcome->id % FIX_ORDERS_MAX];
        if (o->order_id == outcome->id && o->fill.cum > 0)
            fill = &o->fill;
    }
    struct fix_writer w;
    fix_begin(gateway, session, &w, fix_report_type(req, outcome), 0);
    fix_report_write(&w, req, outcome, fill, ++gateway->fix->exec_id, NULL);
    fix_end(gateway, session, &w);
    conn->requests[command->client_seq % FIX_REQUESTS_MAX].seq = 0;
}

/* ---- Session messages. ---- */

static void fix_sequence_reset(struct gateway *gateway, struct gateway_session *session,
                               const struct fix_msg *msg, uint64_t seq)
{
    struct fix_store_entry *e = fix_entry(gateway, session->fix);
    uint64_t next = 0;
    bool present = false;
    if (!fix_get_u64(msg, 36, &next, &present)) {
        fix_reject(gateway, session, seq, 36, FIX_REJECT_REQUIRED_MISSING,
                   "NewSeqNo(36) missing or not a number");
        return;
    }
    if (next < e->next_in) {
        fix_reject(gateway, session, seq, 36, FIX_REJECT_VALUE_INCORRECT,
                   "NewSeqNo(36) below the expected MsgSeqNum");
        return;
    }
    e->next_in = next;
    session->fix->resend_asked = false;
    gateway->fix->store.dirty = true;
}

static void fix_resend(struct gateway *gateway, struct gateway_session *session,
                       const struct fix_msg *msg, uint64_t seq)
{
    struct fix_store_entry *e = fix_entry(gateway, session->fix);
    uint64_t begin = 0, end = 0;
    bool present = false;
    if (!fix_get_u64(msg, 7, &begin, &present) || !fix_get_u64(msg, 16, &end, &present) ||
        begin == 0) {
        fix_reject(gateway, session, seq, 7, FIX_REJECT_REQUIRED_MISSING,
                   "BeginSeqNo(7) and EndSeqNo(16) required");
        return;
    }
    if (begin >= e->next_out)
        return; /* nothing sent there yet */
    /* Nothing is kept to resend: one gap fill over the whole range. */
    struct fix_writer w;
    fix_begin(gateway, session, &w, "4", begin);
    fix_write_str(&w, 43, "Y");
    fix_write_str(&w, 122, fix_now_text(gateway->fix));
    fix_write_str(&w, 123, "Y");
    fix_write_u64(&w, 36, e->next_out);
    fix_end(gateway, session, &w);
}

static void fix_admin(struct gateway *gateway, struct gateway_session *session,
                      const struct fix_msg *msg, char type, uint64_t seq)
{
    struct fix_writer w;
    switch (type) {
    case '0': /* Heartbeat */
    case '3': /* Reject: noted by the client's own log */
        return;
    case '1': {
        size_t length = 0;
        const char *id = fix_get(msg, 112, &length);
        fix_begin(gateway, session, &w, "0", 0);
        if (id != NULL)
            fix_write_mem(&w, 112, id, length);
        fix_end(gateway, session, &w);
        return;
    }
    case '2': fix_resend(gateway, session, msg, seq); return;
    case '4': fix_sequence_reset(gateway, session, msg, seq); return;
    case '5': fix_logout(gateway, session, "logout acknowledged"); return;
    case 'A':
        fix_reject(gateway, session, seq, 35, FIX_REJECT_VALUE_INCORRECT, "already logged on");
        return;
    default:
        fix_reject(gateway, session, seq, 35, FIX_REJECT_MSG_TYPE,
                   "MsgType(35) not supported by this acceptor");
    }
}

/* A message to a logged-on session. Returns false when it must wait
 * (its order's place is still taken), nothing done. */
static bool fix_ready_message(struct gateway *gateway, struct gateway_session *session,
                              const struct fix_msg *msg, char type, uint64_t seq)
{
    struct fix_conn *conn = session->fix;
    struct fix_store_entry *e = fix_entry(gateway, conn);
    bool order = type == 'D' || type == 'F' || type == 'G';
    bool poss_dup = fix_get_flag(msg, 43);
    if (type == '4' && !fix_get_flag(msg, 123)) { /* SequenceReset-Reset: seq ignored */
        fix_sequence_reset(gateway, session, msg, seq);
        return true;
    }
    if (seq > e->next_in) {
        if (!conn->resend_asked)
            fix_resend_request(gateway, session, e->next_in);
        return true;
    }
    if (order && conn->requests[seq % FIX_REQUESTS_MAX].seq != 0)
        return false;
    if (seq < e->next_in) {
        char text[160];
        snprintf(text, sizeof text, "MsgSeqNum too low, expecting %" PRIu64 " but received %"
                 PRIu64, e->next_in, seq);
        if (!poss_dup)
            fix_logout(gateway, session, text);
        else if (order) /* a resend: the state machine answers it with its first outcome */
            fix_order(gateway, session, msg, type, seq);
        return true;
    }
    e->next_in = seq + 1;
    gateway->fix->store.dirty = true;
    if (order)
        fix_order(gateway, session, msg, type, seq);
    else
        fix_admin(gateway, session, msg, type, seq);
    return true;
}

static bool fix_message(struct gateway *gateway, struct gateway_session *session,
                        const char *data, size_t size)
{
    static struct fix_msg msg; /* the loop runs on one thread */
    enum fix_reject_reason reason = FIX_REJECT_OTHER;
    uint32_t tag = 0;
    const char *why = NULL;
    enum fix_parse_result rv = fix_parse(data, size, &msg, &reason, &tag, &why);
    uint64_t seq = 0;
    bool present = false;
    bool seq_ok = rv != FIX_PARSE_GARBLED && fix_get_u64(&msg, 34, &seq, &present) && seq > 0;
    if (rv == FIX_PARSE_GARBLED || (rv == FIX_PARSE_REJECT && !seq_ok) ||
        (rv == FIX_PARSE_OK && !seq_ok) ||
        (rv != FIX_PARSE_OK && session->state != SESSION_READY)) {
        fix_logout(gateway, session, seq_ok || why != NULL ? why : "MsgSeqNum(34) malformed");
        return true;
    }
    size_t type_length = 0;
    const char *type = rv == FIX_PARSE_OK ? fix_get(&msg, 35, &type_length) : NULL;
    if (session->state != SESSION_READY) {
        if (type_length == 1 && type[0] == 'A')
            fix_logon(gateway, session, &msg, seq);
        else
            fix_logout(gateway, session, "the first message must be a Logon(A)");
        return true;
    }
    struct fix_store_entry *e = fix_entry(gateway, session->fix);
    char sender[FIX_ID_SIZE_MAX], target[FIX_ID_SIZE_MAX];
    if (rv == FIX_PARSE_OK &&
        (!fix_get_text(&msg, 49, sender, sizeof sender) ||
         strcmp(sender, session->fix->sender) != 0 ||
         !fix_get_text(&msg, 56, target, sizeof target) || strcmp(target, FIX_COMP_ID) != 0)) {
        fix_logout(gateway, session, "SenderCompID(49) or TargetCompID(56) not this session's");
        return true;
    }
    if (rv == FIX_PARSE_REJECT || type_length != 1) {
        if (seq == e->next_in)
            e->next_in++;
        fix_reject(gateway, session, seq, rv == FIX_PARSE_REJECT ? tag : 35,
                   rv == FIX_PARSE_REJECT ? (int)reason : FIX_REJECT_MSG_TYPE,
                   rv == FIX_PARSE_REJECT ? why : "MsgType(35) not supported by this acceptor");
        return true;
    }
    return fix_ready_message(gateway, session, &msg, type[0], seq);
}

void fix_process(struct gateway *gateway, struct gateway_session *session)
{
    size_t at = 0;
    bool partial = false;
    while (session->fd >= 0 && session->state != SESSION_CLOSING &&
           session->state != SESSION_CHECKING && !session_waits(gateway, session) &&
           !gateway->draining) {
        if (gateway->pending_count == GATEWAY_BATCH_COMMANDS) {
            gateway->input_held = true;
            gateway_hot_add(gateway, session);
            break;
        }
        size_t size = 0;
        const char *why = NULL;
        const char *data = (const char *)session->in + at;
        enum fix_frame_result framed = fix_frame(data, session->in_size - at, &size, &why);
        if (framed == FIX_FRAME_NEED_MORE) {
            partial = session->in_size > at;
            break;
        }
        if (framed == FIX_FRAME_BAD) {
            fix_logout(gateway, session, why);
            break;
        }
        if (!fix_message(gateway, session, data, size)) {
            gateway->input_held = true;
            gateway_hot_add(gateway, session);
            break;
        }
        at += size;
    }
    if (session->fd < 0)
        return;
    memmove(session->in, session->in + at, session->in_size - at);
    session->in_size -= at;
    if (!partial)
        session->frame_since_ms = 0;
    else if (at > 0 || session->frame_since_ms == 0)
        session->frame_since_ms = clock_now_ms();
}

/* ---- Time. ---- */

void fix_heartbeat(struct gateway *gateway, struct gateway_session *session, int64_t now_ms)
{
    struct fix_conn *conn = session->fix;
    int interval = conn->heartbeat_ms;
    if (interval <= 0 || session_waits(gateway, session) || gateway->input_held) {
        session->input_ms = now_ms;
        return;
    }
    if (now_ms - conn->sent_ms >= interval) {
        struct fix_writer w;
        fix_begin(gateway, session, &w, "0", 0);
        fix_end(gateway, session, &w);
    }
    if (session->input_ms > conn->test_sent_ms)
        conn->test_sent_ms = 0;
    if (conn->test_sent_ms != 0 && now_ms - conn->test_sent_ms >= interval) {
        gateway->stats.closed_heartbeat++;
        fix_logout(gateway, session, "no answer to a TestRequest within the heartbeat interval");
        return;
    }
    if (conn->test_sent_ms == 0 && now_ms - session->input_ms >= interval + interval / 5) {
        struct fix_writer w;
        fix_begin(gateway, session, &w, "1", 0);
        fix_write_i64(&w, 112, now_ms);
        fix_end(gateway, session, &w);
        conn->test_sent_ms = now_ms;
    }
}

void fix_deadlines(struct gateway *gateway, int64_t now_ms)
{
    struct fix_gateway *fg = gateway->fix;
    if (fg->store.dirty && now_ms - fg->saved_ms >= FIX_STORE_SAVE_MS)
        fix_store_flush(gateway);
}
