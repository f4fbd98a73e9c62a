/* The logon checker: a thread that checks logon secrets off the gateway's
 * loop. A check is a PBKDF2 of 20 000 iterations (about 9 ms here, by
 * design: it is what makes a stolen hash slow to attack), so on the loop
 * a failover of a thousand clients to this node would stop it for nine
 * seconds, and every session already on it with it. The loop hands the
 * secret and the account's salt and hash over, goes on, and finishes the
 * logon when the result comes back through an eventfd it polls.
 *
 * Jobs are bounded (LOGON_CHECK_QUEUE): a logon that finds the queue full
 * is refused as overloaded, and the client tries another node or again.
 *
 * Fair shares. Each job names its source address, and one source holds
 * at most LOGON_CHECK_SOURCE_MAX jobs queued or being checked: a flood of
 * logons from one address is refused beyond that, and cannot fill the
 * queue for everyone. The thread takes jobs round by round, not first
 * come first served: a job's round is one more than that of the latest
 * job its source still has queued, or the current round if it has none,
 * and the thread checks the lowest round first (start-time fair
 * queueing). A logon from a quiet address therefore waits for at most
 * the check under way, however many other addresses have queued.
 *
 * A job may also say it is not to be checked before a time (the
 * throttle's turn, logon_throttle.h): it waits in the queue, holding no
 * thread, and others are checked meanwhile.
 *
 * Suspects share a budget. A source whose logon failed here in the last
 * LOGON_CHECK_SUSPECT_MS is a suspect until one of its logons succeeds,
 * and all suspects together get at most LOGON_CHECK_SUSPECT_PER_S checks
 * a second (bursts of LOGON_CHECK_SUSPECT_BURST): each check is a tenth of
 * a second of CPU here, so without it twenty addresses guessing kept the
 * thread, a whole core of two, busy, and the orders of everyone else
 * slowed to a third. A source with no failure is never held back by
 * this, so a logon from anyone else is still checked next; jobs a fresh
 * address queued at once become suspect as soon as its first one fails.
 * The table that remembers suspects is fixed (LOGON_CHECK_SUSPECTS slots
 * by a hash of the address): an attacker with more addresses only makes
 * it forget, which costs it their fresh checks, never anyone a lockout.
 */
#ifndef NODOWN_GATEWAY_LOGON_CHECK_H
#define NODOWN_GATEWAY_LOGON_CHECK_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/frame.h"
#include "lib/secret.h"

/* As many as the gateway has sessions (GATEWAY_SESSIONS_MAX): each has
 * one logon at most, so the queue fills only when 64 addresses each hold
 * their share. */
#define LOGON_CHECK_QUEUE 1024u
/* Jobs of one source address, queued or in hand: room for an application
 * server's sessions logging on together, a sixty-fourth of the queue. */
#define LOGON_CHECK_SOURCE_MAX 16u
/* Checks a second for all suspect sources together, its burst, how long
 * a failure makes a suspect, and the slots that remember them. */
#define LOGON_CHECK_SUSPECT_PER_S 10
#define LOGON_CHECK_SUSPECT_BURST 10
#define LOGON_CHECK_SUSPECT_MS 60000
#define LOGON_CHECK_SUSPECTS 1024u

struct logon_job {
    uint32_t slot;       /* the caller's: which session asked */
    uint32_t generation; /* the caller's: the same session still? */
    uint32_t source;     /* the client's IPv4 address: its fair share */
    uint32_t account_id; /* the caller's */
    bool unknown;        /* no such account: checked against a dummy, never ok */
    int64_t not_before_ms; /* clock_now_ms(): not checked before it (0: at once) */
    uint16_t secret_size;
    uint8_t secret[FRAME_SECRET_SIZE_MAX];
    uint8_t salt[SECRET_SALT_SIZE];
    uint8_t hash[SECRET_HASH_SIZE];
    bool ok;             /* the result */
};

struct logon_check;

/* Starts the thread. Returns 0, ERR_NOMEM or ERR_IO. */
int logon_check_open(struct logon_check **out);

/* Readable when a result is ready: poll() it, then logon_check_take. */
int logon_check_wake_fd(const struct logon_check *check);

enum logon_check_submitted {
    LOGON_CHECK_QUEUED,
    LOGON_CHECK_FULL,        /* LOGON_CHECK_QUEUE jobs already */
    LOGON_CHECK_SOURCE_FULL  /* LOGON_CHECK_SOURCE_MAX jobs of its source already */
};

/* Queues a check (job is copied; its secret is wiped from the copy once
 * checked). */
enum logon_check_submitted logon_check_submit(struct logon_check *check,
                                              const struct logon_job *job);

/* Takes the first finished check: true with *job (ok set, no secret). */
bool logon_check_take(struct logon_check *check, struct logon_job *job);

/* Stops the thread after the check under way; pending ones are dropped. */
void logon_check_close(struct logon_check *check);

#endif
