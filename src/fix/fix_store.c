/* The FIX sessions' sequence numbers on disk (fix_store.h). */
#include "fix/fix_store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/result.h"
#include "lib/hash.h"

uint64_t fix_client_id(const char *sender, uint32_t epoch)
{
    uint64_t h = 0x6e6f646f776e4658u; /* "nodownFX" */
    for (const char *p = sender; *p != '\0'; p++)
        h = hash_mix64(h ^ (unsigned char)*p);
    h = hash_pair64(h, epoch);
    return h != 0 ? h : 1;
}

uint32_t fix_store_find(const struct fix_store *store, uint32_t account_id, const char *sender)
{
    for (uint32_t i = 0; i < store->count; i++)
        if (store->entries[i].account_id == account_id &&
            strcmp(store->entries[i].sender, sender) == 0)
            return i;
    return FIX_STORE_NONE;
}

uint32_t fix_store_get(struct fix_store *store, uint32_t account_id, const char *sender)
{
    assert(sender[0] != '\0' && strlen(sender) < FIX_ID_SIZE_MAX);
    uint32_t at = fix_store_find(store, account_id, sender);
    if (at == FIX_STORE_NONE) {
        if (store->count < FIX_STORE_SESSIONS_MAX) {
            at = store->count++;
        } else {
            at = 0;
            for (uint32_t i = 1; i < store->count; i++)
                if (store->entries[i].used < store->entries[at].used)
                    at = i;
        }
        struct fix_store_entry *e = &store->entries[at];
        memset(e, 0, sizeof *e);
        e->account_id = account_id;
        e->next_in = 1;
        e->next_out = 1;
        snprintf(e->sender, sizeof e->sender, "%s", sender);
    }
    store->entries[at].used = ++store->clock;
    store->dirty = true;
    return at;
}

static int fix_store_read(struct fix_store *store, FILE *file, char *errmsg, size_t errmsg_size)
{
    unsigned version = 0;
    if (fscanf(file, "nodown-fix-sessions %u\n", &version) != 1) {
        snprintf(errmsg, errmsg_size, "%s: not a FIX sessions file", store->path);
        return ERR_DECODE_MALFORMED;
    }
    if (version != FIX_STORE_VERSION) {
        snprintf(errmsg, errmsg_size, "%s: version %u, this build reads %u", store->path,
                 version, FIX_STORE_VERSION);
        return ERR_VERSION;
    }
    for (;;) {
        struct fix_store_entry e = {0};
        int got = fscanf(file, "%" SCNu32 " %" SCNu32 " %" SCNu64 " %" SCNu64 " %63s\n",
                         &e.account_id, &e.epoch, &e.next_in, &e.next_out, e.sender);
        if (got == EOF)
            return 0;
        if (got != 5 || e.next_in == 0 || e.next_out == 0 ||
            store->count == FIX_STORE_SESSIONS_MAX) {
            snprintf(errmsg, errmsg_size, "%s: entry %u malformed", store->path, store->count);
            return ERR_DECODE_MALFORMED;
        }
        e.used = ++store->clock;
        store->entries[store->count++] = e;
    }
}

int fix_store_open(struct fix_store *store, const char *path, char *errmsg, size_t errmsg_size)
{
    memset(store, 0, sizeof *store);
    if (path == NULL || path[0] == '\0')
        return 0;
    if ((size_t)snprintf(store->path, sizeof store->path, "%s", path) >= sizeof store->path) {
        snprintf(errmsg, errmsg_size, "FIX sessions file path too long");
        return ERR_USAGE;
    }
    FILE *file = fopen(path, "r");
    if (file == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(errmsg, errmsg_size, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    int rv = fix_store_read(store, file, errmsg, errmsg_size);
    fclose(file);
    return rv;
}

int fix_store_save(struct fix_store *store, char *errmsg, size_t errmsg_size)
{
    if (!store->dirty || store->path[0] == '\0')
        return 0;
    char tmp[sizeof store->path + 8];
    snprintf(tmp, sizeof tmp, "%s.new", store->path);
    FILE *file = fopen(tmp, "w");
    if (file == NULL) {
        snprintf(errmsg, errmsg_size, "%s: %s", tmp, strerror(errno));
        return ERR_IO;
    }
    fprintf(file, "nodown-fix-sessions %u\n", FIX_STORE_VERSION);
    for (uint32_t i = 0; i < store->count; i++) {
        const struct fix_store_entry *e = &store->entries[i];
        fprintf(file, "%" PRIu32 " %" PRIu32 " %" PRIu64 " %" PRIu64 " %s\n", e->account_id,
                e->epoch, e->next_in, e->next_out, e->sender);
    }
    bool ok = fflush(file) == 0 && fsync(fileno(file)) == 0;
    ok = fclose(file) == 0 && ok;
    if (!ok || rename(tmp, store->path) != 0) {
        snprintf(errmsg, errmsg_size, "%s: %s", store->path, strerror(errno));
        return ERR_IO;
    }
    store->dirty = false;
    return 0;
}
