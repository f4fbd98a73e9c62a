/* The node registry (see node_registry.h): a JetStream key-value bucket
 * over the journal's connection, and the gate's rule. */
#include "replica/node_registry.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/result.h"
#include "lib/clock.h"
#include "replica/journal_internal.h"

#define NODE_REGISTRY_KEY_SIZE 32u

struct node_registry {
    jsCtx *js; /* its own, with NODE_REGISTRY_WAIT_MS */
    kvStore *kv;
    char bucket[JOURNAL_STREAM_NAME_SIZE + 8];
};

/* ---- The value. ---- */

size_t node_registry_encode(const struct node_registry_entry *entry, char *out, size_t size)
{
    assert(entry->logic_min <= entry->logic_max);
    int n = snprintf(out, size, "%u node=%u logic=%u..%u announced_ms=%" PRIu64 " build=%s",
                     NODE_REGISTRY_FORMAT, entry->node_id, entry->logic_min, entry->logic_max,
                     entry->announced_unix_ms, entry->build);
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

int node_registry_decode(const char *value, struct node_registry_entry *entry)
{
    memset(entry, 0, sizeof *entry);
    unsigned format = 0;
    int used = 0;
    if (sscanf(value, "%u%n", &format, &used) != 1)
        return ERR_DECODE_MALFORMED;
    if (format != NODE_REGISTRY_FORMAT)
        return ERR_VERSION; /* a newer build's: its reader knows it */
    unsigned node_id = 0, min = 0, max = 0;
    uint64_t announced = 0;
    int end = 0;
    if (sscanf(value + used, " node=%u logic=%u..%u announced_ms=%" SCNu64 " build=%n",
               &node_id, &min, &max, &announced, &end) != 4 || end == 0 || min > max)
        return ERR_DECODE_MALFORMED;
    entry->node_id = node_id;
    entry->logic_min = min;
    entry->logic_max = max;
    entry->announced_unix_ms = announced;
    snprintf(entry->build, sizeof entry->build, "%s", value + used + end);
    entry->readable = true;
    return 0;
}

bool node_registry_allows(const struct node_registry_entry *entries, uint32_t count,
                          uint32_t version, uint32_t *node_id, char *why, size_t why_size)
{
    assert(why_size > 0);
    size_t length = 0;
    bool allows = true;
    why[0] = '\0';
    for (uint32_t i = 0; i < count; i++) {
        const struct node_registry_entry *entry = &entries[i];
        if (entry->readable && entry->logic_min <= version && version <= entry->logic_max)
            continue;
        if (allows)
            *node_id = entry->node_id;
        allows = false;
        int n = entry->readable
                    ? snprintf(why + length, why_size - length, "%snode %u runs %u..%u",
                               length ? ", " : "", entry->node_id, entry->logic_min,
                               entry->logic_max)
                    : snprintf(why + length, why_size - length,
                               "%snode %u's entry is in a format this build cannot read",
                               length ? ", " : "", entry->node_id);
        if (n < 0 || (size_t)n >= why_size - length)
            break; /* the text is cut; the answer is not */
        length += (size_t)n;
    }
    assert(allows || why[0] != '\0' || why_size < 16);
    return allows;
}

/* ---- The bucket. ---- */

static int registry_fail(char *errmsg, size_t errmsg_size, const struct node_registry *registry,
                         const char *what, natsStatus status)
{
    char text[160];
    snprintf(text, sizeof text, "node registry %s: %s", registry->bucket, what);
    journal_nats_error(errmsg, errmsg_size, text, status, 0);
    return ERR_IO;
}

int node_registry_open(struct node_registry **out, struct journal *journal, int replicas,
                       char *errmsg, size_t errmsg_size)
{
    struct node_registry *registry = calloc(1, sizeof *registry);
    if (registry == NULL)
        return ERR_NOMEM;
    snprintf(registry->bucket, sizeof registry->bucket, "%s_nodes", journal->stream_name);
    jsOptions js_options;
    jsOptions_Init(&js_options);
    js_options.Wait = NODE_REGISTRY_WAIT_MS;
    natsStatus s = natsConnection_JetStream(&registry->js, journal->connection, &js_options);
    if (s == NATS_OK)
        s = js_KeyValue(&registry->kv, registry->js, registry->bucket);
    if (s != NATS_OK && registry->js != NULL) { /* missing (NATS_NOT_FOUND): made */
        kvConfig config;
        kvConfig_Init(&config);
        config.Bucket = registry->bucket;
        config.Description = "nodown: the logic versions each node runs";
        config.History = 1;
        config.Replicas = replicas;
        s = js_CreateKeyValue(&registry->kv, registry->js, &config);
    }
    if (s != NATS_OK) {
        int rv = registry_fail(errmsg, errmsg_size, registry, "open", s);
        node_registry_close(registry);
        return rv;
    }
    *out = registry;
    return 0;
}

void node_registry_close(struct node_registry *registry)
{
    if (registry == NULL)
        return;
    kvStore_Destroy(registry->kv);
    jsCtx_Destroy(registry->js);
    free(registry);
}

int node_registry_announce(struct node_registry *registry,
                           const struct node_registry_entry *entry, char *errmsg,
                           size_t errmsg_size)
{
    char key[NODE_REGISTRY_KEY_SIZE];
    char value[NODE_REGISTRY_VALUE_SIZE];
    snprintf(key, sizeof key, "node-%u", entry->node_id);
    if (node_registry_encode(entry, value, sizeof value) == 0) {
        snprintf(errmsg, errmsg_size, "node registry: the entry of node %u is too long",
                 entry->node_id);
        return ERR_CAPACITY;
    }
    /* A bucket just made has no stream leader for a moment: its subject
     * answers "no responders" until one is elected (a second or two on a
     * cluster just started), so that answer is tried again for as long
     * as one request may wait. */
    uint64_t revision = 0;
    int64_t deadline_ms = clock_now_ms() + NODE_REGISTRY_WAIT_MS;
    natsStatus s = kvStore_PutString(&revision, registry->kv, key, value);
    while (s == NATS_NO_RESPONDERS && clock_now_ms() < deadline_ms) {
        clock_sleep_ms(NODE_REGISTRY_RETRY_MS);
        s = kvStore_PutString(&revision, registry->kv, key, value);
    }
    return s == NATS_OK ? 0 : registry_fail(errmsg, errmsg_size, registry, "announce", s);
}

/* One key's entry into entries[*count] (a deleted one is skipped). */
static natsStatus registry_read(struct node_registry *registry, const char *key,
                                struct node_registry_entry *entry, bool *found)
{
    kvEntry *kv_entry = NULL;
    natsStatus s = kvStore_Get(&kv_entry, registry->kv, key);
    *found = s == NATS_OK;
    if (s == NATS_NOT_FOUND)
        return NATS_OK; /* removed meanwhile */
    if (s != NATS_OK)
        return s;
    if (node_registry_decode(kvEntry_ValueString(kv_entry), entry) != 0) {
        unsigned node_id = 0;
        sscanf(key, "node-%u", &node_id);
        entry->node_id = node_id;
        entry->readable = false;
    }
    kvEntry_Destroy(kv_entry);
    return NATS_OK;
}

static void registry_sort(struct node_registry_entry *entries, uint32_t count)
{
    for (uint32_t i = 1; i < count; i++) {
        for (uint32_t at = i; at > 0 && entries[at - 1].node_id > entries[at].node_id; at--) {
            struct node_registry_entry swap = entries[at - 1];
            entries[at - 1] = entries[at];
            entries[at] = swap;
        }
    }
}

int node_registry_list(struct node_registry *registry, struct node_registry_entry *entries,
                       uint32_t max, uint32_t *count, char *errmsg, size_t errmsg_size)
{
    *count = 0;
    kvKeysList keys = {0};
    kvWatchOptions options;
    kvWatchOptions_Init(&options);
    options.Timeout = NODE_REGISTRY_WAIT_MS;
    natsStatus s = kvStore_Keys(&keys, registry->kv, &options);
    if (s == NATS_NOT_FOUND)
        return 0; /* no entry at all */
    if (s != NATS_OK)
        return registry_fail(errmsg, errmsg_size, registry, "list", s);
    int rv = 0;
    for (int i = 0; rv == 0 && i < keys.Count; i++) {
        if (*count == max) {
            snprintf(errmsg, errmsg_size, "node registry %s: more than %u entries",
                     registry->bucket, max);
            rv = ERR_CAPACITY;
            break;
        }
        bool found = false;
        s = registry_read(registry, keys.Keys[i], &entries[*count], &found);
        if (s != NATS_OK)
            rv = registry_fail(errmsg, errmsg_size, registry, "read", s);
        *count += found;
    }
    kvKeysList_Destroy(&keys);
    registry_sort(entries, *count);
    return rv;
}

int node_registry_forget(struct node_registry *registry, uint32_t node_id, char *errmsg,
                         size_t errmsg_size)
{
    char key[NODE_REGISTRY_KEY_SIZE];
    snprintf(key, sizeof key, "node-%u", node_id);
    kvEntry *kv_entry = NULL;
    natsStatus s = kvStore_Get(&kv_entry, registry->kv, key);
    if (s == NATS_NOT_FOUND) {
        snprintf(errmsg, errmsg_size, "node registry %s: no entry for node %u",
                 registry->bucket, node_id);
        return ERR_NOT_FOUND;
    }
    kvEntry_Destroy(kv_entry);
    if (s == NATS_OK)
        s = kvStore_Purge(registry->kv, key, NULL);
    return s == NATS_OK ? 0 : registry_fail(errmsg, errmsg_size, registry, "forget", s);
}
