/* The live feed's WebSocket endpoint (live_server.h), on libwebsockets. */
#include "live/live_server.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "core/command.h"
#include "core/odds.h"
#include "core/result.h"

#define LIVE_MESSAGE_MAX 2048u
#define LIVE_CONTROL_MAX 512u
#define LIVE_READ_BATCH 1024u
#define LIVE_SENT_NEVER UINT64_MAX
#define LIVE_CLOSE_WAIT_S 5
#define LIVE_TRADE_SCAN_MAX 512u /* trades of other instruments skipped per write */

struct live_state {
    uint64_t changed_seq;
    struct live_record record; /* kind 0: never changed since the feed started */
};

struct live_client {
    struct lws *wsi;
    uint32_t slot; /* in server->clients */
    bool subscribed;
    uint8_t depth;
    uint8_t odds_format;
    uint32_t instrument_count;
    uint32_t instruments[LIVE_SUBSCRIPTIONS_MAX];
    uint64_t instrument_sent[LIVE_SUBSCRIPTIONS_MAX];
    uint32_t market_count;
    uint32_t markets[LIVE_SUBSCRIPTIONS_MAX];
    uint64_t market_sent[LIVE_SUBSCRIPTIONS_MAX];
    uint64_t trade_cursor;
    uint64_t synced_seq;
    uint64_t waiting_since_ms; /* output waiting for the socket since, or 0 */
    bool cut;
    char control[LIVE_CONTROL_MAX]; /* a reply waiting to go, or "" */
    size_t request_used;
    char request[LIVE_REQUEST_SIZE_MAX + 1];
    unsigned char out[LWS_PRE + LIVE_MESSAGE_MAX];
};

struct live_server {
    struct live_config config;
    struct live_watch *watch;
    struct lws_context *context;
    uint16_t port;
    pthread_t thread;
    atomic_bool stopping;
    uint32_t instruments_max;
    uint32_t markets_max;
    struct live_state *instruments;
    struct live_state *markets;
    struct live_record *trades; /* LIVE_TRADE_HISTORY */
    uint64_t trade_head;        /* trades ever held */
    uint64_t trades_lost_seq;   /* the newest seq whose trades left the history */
    uint64_t first_seq;         /* the feed's first state (live_watch_all) */
    bool started;               /* first_seq known */
    uint64_t seq;               /* the last LIVE_END */
    struct live_client **clients;
    uint32_t client_count;
    struct live_record *batch; /* LIVE_READ_BATCH */
    pthread_mutex_t stats_mutex;
    struct live_stats stats;
};

static uint64_t live_now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
}

/* ---- The state, from the apply loop's records. ---- */

static void live_take(struct live_server *server, const struct live_record *record)
{
    switch (record->kind) {
    case LIVE_DEPTH:
        if (record->id < server->instruments_max)
            server->instruments[record->id] =
                (struct live_state){.changed_seq = record->stream_seq, .record = *record};
        break;
    case LIVE_ODDS:
        if (record->id < server->markets_max)
            server->markets[record->id] =
                (struct live_state){.changed_seq = record->stream_seq, .record = *record};
        break;
    case LIVE_TRADE: {
        uint64_t at = server->trade_head++;
        struct live_record *slot = &server->trades[at & (LIVE_TRADE_HISTORY - 1)];
        if (at >= LIVE_TRADE_HISTORY)
            server->trades_lost_seq = slot->stream_seq;
        *slot = *record;
        break;
    }
    case LIVE_END:
        if (!server->started) {
            server->started = true;
            server->first_seq = record->stream_seq;
        }
        server->seq = record->stream_seq;
        break;
    default:
        assert(!"unknown live record");
    }
}

/* ---- What a client is owed. ---- */

static bool live_client_owed(const struct live_server *server, const struct live_client *client)
{
    if (client->control[0] != '\0')
        return true;
    if (!client->subscribed)
        return false;
    if (client->trade_cursor < server->trade_head)
        return true;
    for (uint32_t i = 0; i < client->instrument_count; i++) {
        uint64_t sent = client->instrument_sent[i];
        uint64_t changed = server->instruments[client->instruments[i]].changed_seq;
        if (sent == LIVE_SENT_NEVER || changed > sent)
            return true;
    }
    for (uint32_t i = 0; i < client->market_count; i++) {
        uint64_t sent = client->market_sent[i];
        if (sent == LIVE_SENT_NEVER || server->markets[client->markets[i]].changed_seq > sent)
            return true;
    }
    return client->synced_seq < server->seq;
}

/* Closes a client from outside its callbacks, with a reason it is told. */
static void live_cut(struct live_server *server, struct live_client *client, const char *why)
{
    if (client->cut)
        return;
    client->cut = true;
    /* Said in the close frame once its socket takes it (its next
     * writeable turn); closed without it after LIVE_CLOSE_WAIT_S. */
    lws_close_reason(client->wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                     strlen(why));
    lws_set_timeout(client->wsi, PENDING_TIMEOUT_CLOSE_SEND, LIVE_CLOSE_WAIT_S);
    lws_callback_on_writable(client->wsi);
    pthread_mutex_lock(&server->stats_mutex);
    server->stats.clients_cut_slow++;
    pthread_mutex_unlock(&server->stats_mutex);
}

/* After new records: asks to write to every client owed something, and
 * cuts the ones too slow. */
static void live_notify(struct live_server *server)
{
    uint64_t now = live_now_ms();
    uint64_t oldest = server->trade_head > LIVE_TRADE_HISTORY
                          ? server->trade_head - LIVE_TRADE_HISTORY
                          : 0;
    for (uint32_t i = 0; i < server->client_count; i++) {
        struct live_client *client = server->clients[i];
        if (client->cut || !live_client_owed(server, client))
            continue;
        if (client->subscribed && client->trade_cursor < oldest) {
            live_cut(server, client, "too slow: trades it was owed left the feed's history");
            continue;
        }
        if (client->waiting_since_ms == 0)
            client->waiting_since_ms = now;
        else if (now - client->waiting_since_ms > server->config.slow_ms) {
            live_cut(server, client, "too slow: its socket took nothing for too long");
            continue;
        }
        lws_callback_on_writable(client->wsi);
    }
}

static void live_drain(struct live_server *server)
{
    uint32_t n;
    while ((n = live_watch_read(server->watch, server->batch, LIVE_READ_BATCH)) > 0)
        for (uint32_t i = 0; i < n; i++)
            live_take(server, &server->batch[i]);
    pthread_mutex_lock(&server->stats_mutex);
    server->stats.seq = server->seq;
    pthread_mutex_unlock(&server->stats_mutex);
    live_notify(server);
}

/* ---- Messages. ---- */

static const char *live_side_name(uint8_t side)
{
    return side == SIDE_BUY ? "buy" : "sell";
}

static const char *live_status_name(uint8_t status)
{
    static const char *const names[MARKET_STATUS_COUNT] = {"open", "suspended", "settled"};
    return status < MARKET_STATUS_COUNT ? names[status] : "unknown";
}

static const char *live_result_name(uint8_t result)
{
    static const char *const names[BET_RESULT_COUNT] = {"lose", "win", "void", "half_win",
                                                        "half_lose"};
    return result < BET_RESULT_COUNT ? names[result] : "unknown";
}

/* Appends; false once the message does not fit. */
static bool live_put(char *text, size_t *used, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = *used < LIVE_MESSAGE_MAX
                ? vsnprintf(text + *used, LIVE_MESSAGE_MAX - *used, format, args)
                : -1;
    va_end(args);
    if (n < 0 || (size_t)n >= LIVE_MESSAGE_MAX - *used) {
        *used = LIVE_MESSAGE_MAX;
        return false;
    }
    *used += (size_t)n;
    return true;
}

static void live_levels(char *text, size_t *used, const struct live_level *levels, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        live_put(text, used, "%s[%" PRId64 ",%" PRId64 "]", i > 0 ? "," : "",
                 levels[i].price_ticks, levels[i].quantity);
}

static size_t live_book_message(const struct live_server *server, const struct live_client *client,
                                uint32_t id, bool snapshot, char *text)
{
    const struct live_state *state = &server->instruments[id];
    const struct live_record *r = &state->record;
    uint32_t bids = r->kind == LIVE_DEPTH ? r->u.depth.bid_count : 0;
    uint32_t asks = r->kind == LIVE_DEPTH ? r->u.depth.ask_count : 0;
    bids = bids < client->depth ? bids : client->depth;
    asks = asks < client->depth ? asks : client->depth;
    size_t used = 0;
    live_put(text, &used,
             "{\"v\":%u,\"type\":\"book\",\"seq\":%" PRIu64 ",\"changed_seq\":%" PRIu64
             ",\"time_ns\":%" PRIu64 ",\"instrument\":%u,\"snapshot\":%s,\"bids\":[",
             LIVE_PROTOCOL_VERSION, server->seq, state->changed_seq, r->time_ns, id,
             snapshot ? "true" : "false");
    live_levels(text, &used, r->u.depth.bids, bids);
    live_put(text, &used, "],\"asks\":[");
    live_levels(text, &used, r->u.depth.asks, asks);
    live_put(text, &used, "],\"best_bid\":");
    live_put(text, &used, bids > 0 ? "[%" PRId64 ",%" PRId64 "]" : "null",
             r->u.depth.bids[0].price_ticks, r->u.depth.bids[0].quantity);
    live_put(text, &used, ",\"best_ask\":");
    live_put(text, &used, asks > 0 ? "[%" PRId64 ",%" PRId64 "]}" : "null}",
             r->u.depth.asks[0].price_ticks, r->u.depth.asks[0].quantity);
    return used;
}

static size_t live_odds_message(const struct live_server *server, const struct live_client *client,
                                uint32_t id, bool snapshot, char *text)
{
    const struct live_state *state = &server->markets[id];
    const struct live_record *r = &state->record;
    size_t used = 0;
    live_put(text, &used,
             "{\"v\":%u,\"type\":\"odds\",\"seq\":%" PRIu64 ",\"changed_seq\":%" PRIu64
             ",\"market\":%u,\"snapshot\":%s,\"status\":\"%s\",\"format\":\"%s\",\"odds\":[",
             LIVE_PROTOCOL_VERSION, server->seq, state->changed_seq, id,
             snapshot ? "true" : "false",
             r->kind == LIVE_ODDS ? live_status_name(r->u.odds.status) : "unknown",
             odds_format_name((enum odds_format)client->odds_format));
    uint32_t selections = r->kind == LIVE_ODDS ? r->u.odds.selection_count : 0;
    for (uint32_t s = 0; s < selections && s < SELECTIONS_MAX; s++) {
        struct odds_display display;
        char shown[ODDS_TEXT_SIZE_MAX];
        if (odds_display_from_milli((enum odds_format)client->odds_format,
                                    r->u.odds.odds_milli[s], &display) != 0 ||
            odds_display_format(&display, shown, sizeof shown) != 0)
            snprintf(shown, sizeof shown, "-");
        live_put(text, &used, "%s\"%s\"", s > 0 ? "," : "", shown);
    }
    live_put(text, &used, "]");
    if (r->kind == LIVE_ODDS && r->u.odds.status == MARKET_STATUS_SETTLED) {
        live_put(text, &used, ",\"results\":[");
        for (uint32_t s = 0; s < selections && s < SELECTIONS_MAX; s++)
            live_put(text, &used, "%s\"%s\"", s > 0 ? "," : "",
                     live_result_name(r->u.odds.results[s]));
        live_put(text, &used, "]");
    }
    live_put(text, &used, "}");
    return used;
}

static bool live_subscribed_to(const struct live_client *client, uint32_t instrument)
{
    for (uint32_t i = 0; i < client->instrument_count; i++)
        if (client->instruments[i] == instrument)
            return true;
    return false;
}

/* The next trade the client is owed, from its place in the history. */
static size_t live_trade_message(struct live_server *server, struct live_client *client,
                                 char *text)
{
    for (uint32_t scanned = 0; client->trade_cursor < server->trade_head &&
                               scanned < LIVE_TRADE_SCAN_MAX;
         scanned++) {
        const struct live_record *t =
            &server->trades[client->trade_cursor++ & (LIVE_TRADE_HISTORY - 1)];
        if (!live_subscribed_to(client, t->id))
            continue;
        size_t used = 0;
        live_put(text, &used,
                 "{\"v\":%u,\"type\":\"trade\",\"seq\":%" PRIu64 ",\"time_ns\":%" PRIu64
                 ",\"instrument\":%u,\"price\":%" PRId64 ",\"quantity\":%" PRId64
                 ",\"taker_side\":\"%s\"}",
                 LIVE_PROTOCOL_VERSION, t->stream_seq, t->time_ns, t->id,
                 t->u.trade.price_ticks, t->u.trade.quantity,
                 live_side_name(t->u.trade.taker_side));
        return used;
    }
    return 0;
}

/* The client's next message into text: a reply, a trade, a state, then
 * "synced" once it has everything up to the feed's sequence. */
static size_t live_next_message(struct live_server *server, struct live_client *client,
                                char *text)
{
    size_t length = strlen(client->control);
    if (length > 0) {
        memcpy(text, client->control, length);
        client->control[0] = '\0';
        return length;
    }
    if (!client->subscribed)
        return 0;
    if ((length = live_trade_message(server, client, text)) > 0 ||
        client->trade_cursor < server->trade_head)
        return length; /* 0: only other instruments' trades scanned; asked again */
    for (uint32_t i = 0; i < client->instrument_count; i++) {
        uint64_t sent = client->instrument_sent[i];
        uint32_t id = client->instruments[i];
        if (sent != LIVE_SENT_NEVER && server->instruments[id].changed_seq <= sent)
            continue;
        client->instrument_sent[i] = server->seq;
        return live_book_message(server, client, id, sent == LIVE_SENT_NEVER, text);
    }
    for (uint32_t i = 0; i < client->market_count; i++) {
        uint64_t sent = client->market_sent[i];
        uint32_t id = client->markets[i];
        if (sent != LIVE_SENT_NEVER && server->markets[id].changed_seq <= sent)
            continue;
        client->market_sent[i] = server->seq;
        return live_odds_message(server, client, id, sent == LIVE_SENT_NEVER, text);
    }
    if (client->synced_seq >= server->seq)
        return 0;
    client->synced_seq = server->seq;
    size_t used = 0;
    live_put(text, &used, "{\"v\":%u,\"type\":\"synced\",\"seq\":%" PRIu64 "}",
             LIVE_PROTOCOL_VERSION, server->seq);
    return used;
}

/* ---- Subscriptions: {"op":"subscribe","instruments":[..],"markets":[..],
 * "depth":N,"odds_format":"NAME","since":SEQ}, each key but op optional. */

/* The value after "key": in text, or NULL. */
static const char *live_json_value(const char *text, const char *key)
{
    char quoted[40];
    snprintf(quoted, sizeof quoted, "\"%s\"", key);
    const char *at = strstr(text, quoted);
    if (at == NULL)
        return NULL;
    at += strlen(quoted);
    while (*at == ' ')
        at++;
    if (*at != ':')
        return NULL;
    at++;
    while (*at == ' ')
        at++;
    return at;
}

static bool live_json_uint(const char *at, uint64_t max, uint64_t *value, const char **end)
{
    if (at == NULL || *at < '0' || *at > '9')
        return false;
    uint64_t v = 0;
    while (*at >= '0' && *at <= '9') {
        v = v * 10u + (uint64_t)(*at++ - '0');
        if (v > max)
            return false;
    }
    *value = v;
    if (end != NULL)
        *end = at;
    return true;
}

/* "key":[n,...] into ids (at most LIVE_SUBSCRIPTIONS_MAX, each below max). */
static const char *live_json_ids(const char *text, const char *key, uint32_t max, uint32_t *ids,
                                 uint32_t *count)
{
    *count = 0;
    const char *at = live_json_value(text, key);
    if (at == NULL)
        return NULL;
    if (*at++ != '[')
        return "is not an array";
    while (*at == ' ')
        at++;
    while (*at != ']') {
        uint64_t id;
        if (*count == LIVE_SUBSCRIPTIONS_MAX)
            return "has too many ids (64 at most)";
        if (!live_json_uint(at, (uint64_t)max - 1u, &id, &at))
            return "has an id that is not a number below the limit";
        ids[(*count)++] = (uint32_t)id;
        while (*at == ' ')
            at++;
        if (*at == ',')
            at++;
        else if (*at != ']')
            return "is not a list of numbers";
        while (*at == ' ')
            at++;
    }
    return NULL;
}

static void live_reply(struct live_client *client, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(client->control, sizeof client->control, format, args);
    va_end(args);
}

static void live_refuse(struct live_client *client, const char *why)
{
    live_reply(client, "{\"v\":%u,\"type\":\"error\",\"message\":\"%s\"}",
               LIVE_PROTOCOL_VERSION, why);
}

/* Where the client starts: after `since` when this node holds everything
 * since (a continuation), else a fresh snapshot, saying why. */
static void live_resume(struct live_server *server, struct live_client *client, bool has_since,
                        uint64_t since)
{
    const char *why = NULL;
    if (!has_since)
        why = "no since given";
    else if (since > server->seq)
        why = "this node has not applied that sequence yet";
    else if (!server->started || since < server->first_seq)
        why = "this node's feed starts after that sequence";
    else if (server->trades_lost_seq > since)
        why = "trades after that sequence left this node's history";
    uint64_t sent = why == NULL ? since : LIVE_SENT_NEVER;
    for (uint32_t i = 0; i < LIVE_SUBSCRIPTIONS_MAX; i++)
        client->instrument_sent[i] = client->market_sent[i] = sent;
    client->trade_cursor = server->trade_head;
    if (why == NULL) {
        uint64_t oldest = server->trade_head > LIVE_TRADE_HISTORY
                              ? server->trade_head - LIVE_TRADE_HISTORY
                              : 0;
        while (client->trade_cursor > oldest &&
               server->trades[(client->trade_cursor - 1) & (LIVE_TRADE_HISTORY - 1)]
                       .stream_seq > since)
            client->trade_cursor--;
    }
    client->synced_seq = why == NULL ? since : 0;
    live_reply(client,
               "{\"v\":%u,\"type\":\"subscribed\",\"seq\":%" PRIu64 ",\"node_id\":%u,"
               "\"resume\":\"%s\",\"reason\":\"%s\"}",
               LIVE_PROTOCOL_VERSION, server->seq, server->config.node_id,
               why == NULL ? "continuation" : "snapshot", why == NULL ? "" : why);
}

static void live_subscribe(struct live_server *server, struct live_client *client)
{
    const char *text = client->request;
    const char *op = live_json_value(text, "op");
    if (op == NULL || strncmp(op, "\"subscribe\"", 11) != 0) {
        live_refuse(client, "only {\\\"op\\\":\\\"subscribe\\\",...} is understood");
        return;
    }
    uint32_t instruments[LIVE_SUBSCRIPTIONS_MAX], markets[LIVE_SUBSCRIPTIONS_MAX];
    uint32_t instrument_count, market_count;
    const char *why = live_json_ids(text, "instruments", server->instruments_max, instruments,
                                    &instrument_count);
    if (why == NULL)
        why = live_json_ids(text, "markets", server->markets_max, markets, &market_count);
    uint64_t depth = 5, since = 0;
    const char *value = live_json_value(text, "depth");
    if (why == NULL && value != NULL && (!live_json_uint(value, LIVE_DEPTH_MAX, &depth, NULL) ||
                                         depth == 0))
        why = "depth must be 1 to 10";
    enum odds_format format = ODDS_FORMAT_DECIMAL;
    value = live_json_value(text, "odds_format");
    char name[24];
    if (why == NULL && value != NULL &&
        (sscanf(value, "\"%23[a-z_]\"", name) != 1 || odds_format_from_name(name, &format) != 0))
        why = "unknown odds_format (decimal, hongkong, malay, indonesian, american, fractional)";
    value = live_json_value(text, "since");
    if (why == NULL && value != NULL && !live_json_uint(value, UINT64_MAX / 10u, &since, NULL))
        why = "since must be a stream sequence";
    if (why != NULL) {
        live_refuse(client, why);
        return;
    }
    memcpy(client->instruments, instruments, instrument_count * sizeof instruments[0]);
    client->instrument_count = instrument_count;
    memcpy(client->markets, markets, market_count * sizeof markets[0]);
    client->market_count = market_count;
    client->depth = (uint8_t)depth;
    client->odds_format = (uint8_t)format;
    client->subscribed = true;
    live_resume(server, client, value != NULL, since);
}

/* ---- libwebsockets' callbacks, on the feed's thread. ---- */

static void live_client_add(struct live_server *server, struct live_client *client,
                            struct lws *wsi)
{
    memset(client, 0, sizeof *client);
    client->wsi = wsi;
    client->slot = server->client_count;
    server->clients[server->client_count++] = client;
    live_reply(client, "{\"v\":%u,\"type\":\"hello\",\"node_id\":%u,\"seq\":%" PRIu64 "}",
               LIVE_PROTOCOL_VERSION, server->config.node_id, server->seq);
    lws_callback_on_writable(wsi);
    pthread_mutex_lock(&server->stats_mutex);
    server->stats.clients_accepted++;
    server->stats.clients_open = server->client_count;
    pthread_mutex_unlock(&server->stats_mutex);
}

static void live_client_remove(struct live_server *server, struct live_client *client)
{
    if (client->wsi == NULL)
        return; /* refused at once: never added */
    uint32_t slot = client->slot;
    assert(slot < server->client_count && server->clients[slot] == client);
    server->clients[slot] = server->clients[--server->client_count];
    server->clients[slot]->slot = slot;
    pthread_mutex_lock(&server->stats_mutex);
    server->stats.clients_open = server->client_count;
    pthread_mutex_unlock(&server->stats_mutex);
}

static int live_receive(struct live_server *server, struct live_client *client, struct lws *wsi,
                        const void *in, size_t length)
{
    if (client->request_used + length > LIVE_REQUEST_SIZE_MAX) {
        static const char why[] = "a message larger than 4096 bytes";
        lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, (unsigned char *)why,
                         sizeof why - 1);
        return -1;
    }
    memcpy(client->request + client->request_used, in, length);
    client->request_used += length;
    if (!lws_is_final_fragment(wsi))
        return 0;
    client->request[client->request_used] = '\0';
    client->request_used = 0;
    live_subscribe(server, client);
    lws_callback_on_writable(wsi);
    return 0;
}

static int live_writeable(struct live_server *server, struct live_client *client, struct lws *wsi)
{
    if (client->cut)
        return -1; /* its close frame, with the reason live_cut set, goes now */
    char *text = (char *)client->out + LWS_PRE;
    size_t length = live_next_message(server, client, text);
    if (length >= LIVE_MESSAGE_MAX)
        length = 0; /* cannot happen with LIVE_DEPTH_MAX levels: said nothing */
    if (length > 0) {
        if (lws_write(wsi, client->out + LWS_PRE, length, LWS_WRITE_TEXT) < (int)length)
            return -1;
        pthread_mutex_lock(&server->stats_mutex);
        server->stats.messages_sent++;
        pthread_mutex_unlock(&server->stats_mutex);
    }
    client->waiting_since_ms = 0; /* the socket took more: not stuck */
    if (live_client_owed(server, client))
        lws_callback_on_writable(wsi);
    return 0;
}

static int live_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                         size_t length)
{
    struct lws_context *context = lws_get_context(wsi);
    struct live_server *server = context != NULL ? lws_context_user(context) : NULL;
    struct live_client *client = user;
    switch (reason) {
    case LWS_CALLBACK_ESTABLISHED:
        if (server->client_count >= server->config.clients_max) {
            static const char why[] = "too many clients on this node's feed";
            client->wsi = NULL;
            lws_close_reason(wsi, LWS_CLOSE_STATUS_POLICY_VIOLATION, (unsigned char *)why,
                             sizeof why - 1);
            pthread_mutex_lock(&server->stats_mutex);
            server->stats.clients_refused++;
            pthread_mutex_unlock(&server->stats_mutex);
            return -1;
        }
        live_client_add(server, client, wsi);
        /* The kernel holds at most this much for it: a client that stops
         * reading is seen as stuck soon, and costs little meanwhile. */
        int buffer = (int)LIVE_SOCKET_BUFFER;
        setsockopt(lws_get_socket_fd(wsi), SOL_SOCKET, SO_SNDBUF, &buffer, sizeof buffer);
        return 0;
    case LWS_CALLBACK_RECEIVE:
        return live_receive(server, client, wsi, in, length);
    case LWS_CALLBACK_SERVER_WRITEABLE:
        return live_writeable(server, client, wsi);
    case LWS_CALLBACK_CLOSED:
        live_client_remove(server, client);
        return 0;
    case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
        if (server != NULL)
            live_drain(server);
        return 0;
    default:
        return 0;
    }
}

static const struct lws_protocols live_protocols[] = {
    {"nodown-live", live_callback, sizeof(struct live_client), LIVE_REQUEST_SIZE_MAX, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- Start and stop. ---- */

static void *live_main(void *argument)
{
    struct live_server *server = argument;
    while (!atomic_load(&server->stopping))
        lws_service(server->context, 0);
    return NULL;
}

void live_server_wake(void *context)
{
    struct live_server *server = context;
    lws_cancel_service(server->context);
}

static void live_free(struct live_server *server)
{
    free(server->instruments);
    free(server->markets);
    free(server->trades);
    free(server->clients);
    free(server->batch);
    free(server);
}

static int live_listen(struct live_server *server, char *errmsg, size_t errmsg_size)
{
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = server->config.port; /* 0: a free port, which the vhost tells */
    info.iface = server->config.host;
    info.protocols = live_protocols;
    info.user = server;
    info.options = LWS_SERVER_OPTION_ALLOW_LISTEN_SHARE | LWS_SERVER_OPTION_DISABLE_IPV6;
    info.fd_limit_per_thread = server->config.clients_max + 64u;
    lws_set_log_level(LLL_ERR, NULL);
    server->context = lws_create_context(&info);
    if (server->context == NULL) {
        snprintf(errmsg, errmsg_size, "live feed: cannot listen on %s:%u", server->config.host,
                 server->config.port);
        return ERR_IO;
    }
    struct lws_vhost *vhost = lws_get_vhost_by_name(server->context, "default");
    server->port = vhost != NULL ? (uint16_t)lws_get_vhost_listen_port(vhost) : 0;
    return 0;
}

int live_server_start(struct live_server **out, const struct live_config *config,
                      struct live_watch *watch, const struct limits *limits, char *errmsg,
                      size_t errmsg_size)
{
    struct live_server *server = calloc(1, sizeof *server);
    if (server == NULL)
        return ERR_NOMEM;
    server->config = *config;
    if (server->config.clients_max == 0)
        server->config.clients_max = LIVE_CLIENTS_MAX_DEFAULT;
    if (server->config.slow_ms == 0)
        server->config.slow_ms = LIVE_SLOW_MS;
    server->watch = watch;
    server->instruments_max = limits->instruments_max;
    server->markets_max = limits->markets_max;
    server->instruments = calloc(server->instruments_max + 1u, sizeof server->instruments[0]);
    server->markets = calloc(server->markets_max + 1u, sizeof server->markets[0]);
    server->trades = calloc(LIVE_TRADE_HISTORY, sizeof server->trades[0]);
    server->clients = calloc(server->config.clients_max, sizeof server->clients[0]);
    server->batch = calloc(LIVE_READ_BATCH, sizeof server->batch[0]);
    atomic_init(&server->stopping, false);
    if (server->instruments == NULL || server->markets == NULL || server->trades == NULL ||
        server->clients == NULL || server->batch == NULL) {
        live_free(server);
        snprintf(errmsg, errmsg_size, "live feed: out of memory");
        return ERR_NOMEM;
    }
    pthread_mutex_init(&server->stats_mutex, NULL);
    int rv = live_listen(server, errmsg, errmsg_size);
    if (rv == 0 && pthread_create(&server->thread, NULL, live_main, server) != 0) {
        lws_context_destroy(server->context);
        snprintf(errmsg, errmsg_size, "live feed: cannot start its thread");
        rv = ERR_IO;
    }
    if (rv != 0) {
        pthread_mutex_destroy(&server->stats_mutex);
        live_free(server);
        return rv;
    }
    watch->wake = live_server_wake;
    watch->wake_context = server;
    *out = server;
    return 0;
}

uint16_t live_server_port(const struct live_server *server)
{
    return server != NULL ? server->port : 0;
}

void live_server_stats(struct live_server *server, struct live_stats *stats)
{
    pthread_mutex_lock(&server->stats_mutex);
    *stats = server->stats;
    pthread_mutex_unlock(&server->stats_mutex);
}

void live_server_stop(struct live_server *server)
{
    if (server == NULL)
        return;
    server->watch->wake = NULL;
    atomic_store(&server->stopping, true);
    lws_cancel_service(server->context);
    pthread_join(server->thread, NULL);
    lws_context_destroy(server->context);
    pthread_mutex_destroy(&server->stats_mutex);
    live_free(server);
}
