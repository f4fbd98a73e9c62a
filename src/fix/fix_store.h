/* The FIX sessions' sequence numbers, by (account, SenderCompID), kept in
 * the node's data directory so that they outlive a connection, a restart
 * and a hand-over (docs/fix.md, "Persistence").
 *
 * The file is text, versioned:
 *   nodown-fix-sessions 1
 *   <account> <epoch> <next_in> <next_out> <SenderCompID>
 *   ...
 * written whole to a temporary file and renamed over the old one.
 */
#ifndef NODOWN_FIX_FIX_STORE_H
#define NODOWN_FIX_FIX_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fix/fix_msg.h"

#define FIX_STORE_VERSION 1u
/* Sessions remembered at most; a new one beyond evicts the one used least
 * recently (its client starts again from 1 with ResetSeqNumFlag). */
#define FIX_STORE_SESSIONS_MAX 4096u
#define FIX_STORE_NONE UINT32_MAX

struct fix_store_entry {
    uint32_t account_id;
    uint32_t epoch;    /* bumped at each sequence reset: part of the client_id */
    uint64_t next_in;  /* the MsgSeqNum expected next from the client */
    uint64_t next_out; /* the MsgSeqNum of the acceptor's next message */
    uint64_t used;     /* store clock at the last logon */
    char sender[FIX_ID_SIZE_MAX]; /* "": a free entry */
};

struct fix_store {
    uint32_t count;
    uint64_t clock;
    bool dirty;
    char path[512]; /* "": kept in memory only */
    struct fix_store_entry entries[FIX_STORE_SESSIONS_MAX];
};

/* Starts empty, then reads path if it exists (NULL or "": memory only).
 * Returns 0, or ERR_IO / ERR_VERSION / ERR_DECODE_MALFORMED with errmsg. */
int fix_store_open(struct fix_store *store, const char *path, char *errmsg, size_t errmsg_size);
/* The entry of (account, sender), made if new (next_in = next_out = 1). */
uint32_t fix_store_get(struct fix_store *store, uint32_t account_id, const char *sender);
uint32_t fix_store_find(const struct fix_store *store, uint32_t account_id, const char *sender);
/* Writes the file if anything changed. Returns 0 or ERR_IO with errmsg. */
int fix_store_save(struct fix_store *store, char *errmsg, size_t errmsg_size);
/* The exactly-once client id of a session in an epoch (never 0). */
uint64_t fix_client_id(const char *sender, uint32_t epoch);

#endif
