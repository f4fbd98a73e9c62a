/* Exactly-once sessions and their bounds (see session.h).
 *
 * Sessions live in a pool of limits.sessions_max slots, found by
 * (account_id, client_id) through session_index. Every session is on two
 * doubly linked lists, most recently used first: the table's
 * (engine->session_lru) and its account's (engine->account_sessions).
 * The lists are derived: from logic version 3 each use stamps the session
 * with engine->session_clock, and the lists are always in stamp order, so
 * session_relink() rebuilds them from a snapshot. Moving a session to the
 * front is O(1), so a command of an existing session costs the same
 * whatever the table holds. Before logic version 3 nothing is stamped and
 * the order is not looked at; the move to version 3 orders the sessions
 * by key (session_logic_3).
 *
 *   (absent) --session_open--> LIVE --session_touch--> LIVE (front)
 *                                |
 *                                +--session_evict--> (absent, horizon raised)
 *                                   [per account, table full, DAY_END idle]
 *
 * Why a resend can never count twice after an eviction: see
 * docs/protocol.md, Session bounds. In short, session_evict() raises the
 * account's horizon to the session's last_seq; a command with no session is
 * refused while its client_seq is at or below the horizon (engine.c), so a
 * session that comes back starts above every sequence it ever applied, and
 * each old sequence is then at or below its last_seq: a resend.
 */
#include "core/session.h"

#include <assert.h>
#include <string.h>

#include "core/result.h"
#include "lib/hash.h"
#include "lib/sort.h"

enum session_list_kind {
    SESSION_LIST_TABLE = 0,
    SESSION_LIST_ACCOUNT = 1,
};

struct session_key {
    uint32_t account_id;
    uint64_t client_id;
};

static bool session_match(const void *context, uint32_t slot, const void *key)
{
    const struct engine *engine = context;
    const struct session_key *wanted = key;
    return engine->sessions[slot].account_id == wanted->account_id &&
           engine->sessions[slot].client_id == wanted->client_id;
}

static uint64_t session_hash(const void *context, uint32_t slot)
{
    const struct engine *engine = context;
    return hash_pair64(engine->sessions[slot].account_id, engine->sessions[slot].client_id);
}

uint32_t session_find(const struct engine *engine, uint32_t account_id, uint64_t client_id)
{
    struct session_key key = {account_id, client_id};
    uint32_t at = index_table_find(&engine->session_index, hash_pair64(account_id, client_id),
                                   session_match, engine, &key);
    return at == INDEX_NONE ? INDEX_NONE : engine->session_index.entries[at];
}

uint32_t session_window(uint32_t logic_version)
{
    assert(logic_version >= LOGIC_VERSION_MIN && logic_version <= LOGIC_VERSION_MAX);
    return logic_version >= 2 ? SESSION_WINDOW_V2 : SESSION_WINDOW_V1;
}

/* ---- The two lists. ---- */

static struct session_list *session_list_of(struct engine *engine, uint32_t slot,
                                            enum session_list_kind kind)
{
    if (kind == SESSION_LIST_TABLE)
        return &engine->session_lru;
    return &engine->account_sessions[engine->sessions[slot].account_id];
}

static void session_list_remove(struct engine *engine, uint32_t slot,
                                enum session_list_kind kind)
{
    struct session_list *list = session_list_of(engine, slot, kind);
    struct session_link *link = &engine->sessions[slot].links[kind];
    assert(list->count > 0);
    if (link->prev != INDEX_NONE)
        engine->sessions[link->prev].links[kind].next = link->next;
    else
        list->head = link->next;
    if (link->next != INDEX_NONE)
        engine->sessions[link->next].links[kind].prev = link->prev;
    else
        list->tail = link->prev;
    list->count--;
    link->prev = INDEX_NONE;
    link->next = INDEX_NONE;
}

static void session_list_push(struct engine *engine, uint32_t slot, enum session_list_kind kind)
{
    struct session_list *list = session_list_of(engine, slot, kind);
    struct session_link *link = &engine->sessions[slot].links[kind];
    link->prev = INDEX_NONE;
    link->next = list->head;
    if (list->head != INDEX_NONE)
        engine->sessions[list->head].links[kind].prev = slot;
    else
        list->tail = slot;
    list->head = slot;
    list->count++;
    assert(list->tail != INDEX_NONE);
}

/* Least recently used: the end of both lists. */
static void session_list_append(struct engine *engine, uint32_t slot,
                                enum session_list_kind kind)
{
    struct session_list *list = session_list_of(engine, slot, kind);
    struct session_link *link = &engine->sessions[slot].links[kind];
    link->next = INDEX_NONE;
    link->prev = list->tail;
    if (list->tail != INDEX_NONE)
        engine->sessions[list->tail].links[kind].next = slot;
    else
        list->head = slot;
    list->tail = slot;
    list->count++;
    assert(list->head != INDEX_NONE);
}

/* ---- Open, use, evict. ---- */

uint32_t session_insert(struct engine *engine, uint32_t account_id, uint64_t client_id)
{
    assert(account_id < engine->account_count);
    uint32_t slot = pool_acquire(&engine->session_pool);
    assert(slot != INDEX_NONE); /* the caller checked */
    struct session *session = &engine->sessions[slot];
    memset(session, 0, sizeof *session);
    session->account_id = account_id;
    session->client_id = client_id;
    index_table_insert(&engine->session_index, hash_pair64(account_id, client_id), slot);
    session_list_append(engine, slot, SESSION_LIST_TABLE);
    session_list_append(engine, slot, SESSION_LIST_ACCOUNT);
    engine->session_count++;
    assert(engine->session_count == engine->session_lru.count);
    return slot;
}

/* The session goes: its account's horizon rises to its last sequence, so
 * none of them can be applied again (docs/protocol.md). */
static void session_evict(struct engine *engine, uint32_t slot)
{
    struct session *session = &engine->sessions[slot];
    assert(session->account_id < engine->account_count);
    struct account *account = &engine->accounts[session->account_id];
    if (session->last_seq > account->session_horizon_seq)
        account->session_horizon_seq = session->last_seq;
    struct session_key key = {session->account_id, session->client_id};
    uint32_t at = index_table_find(&engine->session_index,
                                   hash_pair64(key.account_id, key.client_id), session_match,
                                   engine, &key);
    assert(at != INDEX_NONE);
    index_table_remove_at(&engine->session_index, at, session_hash, engine);
    session_list_remove(engine, slot, SESSION_LIST_TABLE);
    session_list_remove(engine, slot, SESSION_LIST_ACCOUNT);
    session->account_id = INDEX_NONE; /* an account's session_hint never matches it */
    pool_release(&engine->session_pool, slot);
    engine->session_count--;
    assert(engine->session_count == engine->session_lru.count);
}

void session_touch(struct engine *engine, uint32_t slot)
{
    if (engine->logic_version < LOGIC_VERSION_SESSION_BOUNDS)
        return;
    struct session *session = &engine->sessions[slot];
    assert(session->account_id < engine->account_count);
    session->last_used = engine->session_clock++;
    session->last_day = engine->day_count;
    if (engine->session_lru.head != slot) {
        session_list_remove(engine, slot, SESSION_LIST_TABLE);
        session_list_push(engine, slot, SESSION_LIST_TABLE);
    }
    if (engine->account_sessions[session->account_id].head != slot) {
        session_list_remove(engine, slot, SESSION_LIST_ACCOUNT);
        session_list_push(engine, slot, SESSION_LIST_ACCOUNT);
    }
}

uint32_t session_open(struct engine *engine, uint32_t account_id, uint64_t client_id)
{
    assert(session_find(engine, account_id, client_id) == INDEX_NONE);
    if (engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS) {
        const struct session_list *own = &engine->account_sessions[account_id];
        /* More than the quota is possible only from before version 3. */
        while (own->count >= engine->limits.sessions_per_account_max)
            session_evict(engine, own->tail);
        if (engine->session_count >= engine->limits.sessions_max)
            session_evict(engine, engine->session_lru.tail);
    }
    assert(engine->session_count < engine->limits.sessions_max);
    uint32_t slot = session_insert(engine, account_id, client_id);
    session_touch(engine, slot);
    return slot;
}

/* The ring is used as a circle of session_window() slots. When a new
 * logic version widens the window, ring_next (below the old width) just
 * goes on into the slots that were never used: no migration. */
void session_remember(struct engine *engine, uint32_t slot, uint64_t client_seq,
                      const struct outcome *outcome)
{
    struct session *session = &engine->sessions[slot];
    assert(session->account_id < engine->account_count);
    assert(client_seq > session->last_seq);
    session->ring[session->ring_next].client_seq = client_seq;
    session->ring[session->ring_next].outcome = *outcome;
    session->ring_next = (session->ring_next + 1) % session_window(engine->logic_version);
    session->last_seq = client_seq;
}

/* Slots past the window are empty (client_seq 0 is never sent). */
void session_replay(const struct session *session, uint64_t client_seq,
                    struct outcome *outcome)
{
    assert(client_seq > 0);
    for (uint32_t i = 0; i < SESSION_OUTCOMES_MAX; i++) {
        if (session->ring[i].client_seq == client_seq) {
            *outcome = session->ring[i].outcome;
            outcome->duplicate = 1;
            return;
        }
    }
    outcome->result = REJECT_SEQUENCE_STALE;
}

/* The table's list is in last_used order and last_day only grows with
 * it, so the idle sessions are all at its end: O(sessions freed). */
uint32_t session_day_end(struct engine *engine)
{
    assert(engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS);
    uint32_t idle_days = engine->limits.session_idle_days;
    uint32_t freed = 0;
    while (engine->session_lru.tail != INDEX_NONE) {
        const struct session *oldest = &engine->sessions[engine->session_lru.tail];
        assert(oldest->last_day <= engine->day_count);
        if (engine->day_count - oldest->last_day < idle_days)
            break;
        session_evict(engine, engine->session_lru.tail);
        freed++;
    }
    return freed;
}

/* ---- Order from stamps. ---- */

static int session_compare_use(const void *context, uint32_t a, uint32_t b)
{
    const struct engine *engine = context;
    const struct session *x = &engine->sessions[a];
    const struct session *y = &engine->sessions[b];
    if (x->last_used != y->last_used)
        return x->last_used < y->last_used ? -1 : 1;
    if (x->account_id != y->account_id)
        return x->account_id < y->account_id ? -1 : 1;
    if (x->client_id != y->client_id)
        return x->client_id < y->client_id ? -1 : 1;
    return 0;
}

void session_relink(struct engine *engine)
{
    uint32_t count = 0;
    for (uint32_t slot = engine->session_lru.head; slot != INDEX_NONE;
         slot = engine->sessions[slot].links[SESSION_LIST_TABLE].next)
        engine->scratch[count++] = slot;
    assert(count == engine->session_count);
    sort_indexes(engine->scratch, count, session_compare_use, engine);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t slot = engine->scratch[i];
        session_list_remove(engine, slot, SESSION_LIST_TABLE);
        session_list_remove(engine, slot, SESSION_LIST_ACCOUNT);
        session_list_push(engine, slot, SESSION_LIST_TABLE);
        session_list_push(engine, slot, SESSION_LIST_ACCOUNT);
    }
    assert(engine->session_lru.count == count);
}

void session_logic_3(struct engine *engine)
{
    assert(engine->logic_version == LOGIC_VERSION_SESSION_BOUNDS);
    for (uint32_t slot = engine->session_lru.head; slot != INDEX_NONE;
         slot = engine->sessions[slot].links[SESSION_LIST_TABLE].next)
        engine->sessions[slot].last_used = 0;
    engine->session_clock = 1;
    engine->day_count = 0;
    session_relink(engine);
    /* Oldest first: the lowest key is the first to go. */
    for (uint32_t slot = engine->session_lru.tail; slot != INDEX_NONE;
         slot = engine->sessions[slot].links[SESSION_LIST_TABLE].prev) {
        engine->sessions[slot].last_used = engine->session_clock++;
        engine->sessions[slot].last_day = 0;
    }
}

/* ---- Checks. ---- */

static const char *session_check_list(const struct engine *engine, const struct session_list *list,
                                      enum session_list_kind kind, uint32_t account_id)
{
    uint32_t count = 0;
    uint32_t prev = INDEX_NONE;
    for (uint32_t slot = list->head; slot != INDEX_NONE;
         slot = engine->sessions[slot].links[kind].next) {
        const struct session *session = &engine->sessions[slot];
        if (count++ >= engine->limits.sessions_max || session->account_id >= engine->account_count)
            return "a session list runs through a free slot";
        if (session->links[kind].prev != prev)
            return "a session list's back link is wrong";
        if (kind == SESSION_LIST_ACCOUNT && session->account_id != account_id)
            return "a session is on another account's list";
        if (prev != INDEX_NONE && engine->logic_version >= LOGIC_VERSION_SESSION_BOUNDS &&
            engine->sessions[prev].last_used <= session->last_used)
            return "a session list is not in order of use";
        prev = slot;
    }
    if (list->tail != prev || list->count != count)
        return "a session list's tail or count is wrong";
    return NULL;
}

const char *session_check(const struct engine *engine)
{
    if (engine->session_lru.count != engine->session_count ||
        engine->session_count != pool_used(&engine->session_pool) ||
        engine->session_count != engine->session_index.count)
        return "session count, pool and index disagree";
    const char *why = session_check_list(engine, &engine->session_lru, SESSION_LIST_TABLE, 0);
    uint32_t total = 0;
    for (uint32_t id = 0; id < engine->account_count && why == NULL; id++) {
        const struct session_list *list = &engine->account_sessions[id];
        why = session_check_list(engine, list, SESSION_LIST_ACCOUNT, id);
        total += list->count;
    }
    if (why == NULL && total != engine->session_count)
        why = "the accounts' session lists do not hold every session";
    return why;
}
