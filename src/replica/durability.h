/* How the NATS servers a node runs sync the journal to disk: JetStream's
 * sync_interval (docs/journal.md, "Durability"), as `nodown serve
 * --durability` and `nodown cluster up --durability` take it.
 *
 *   always          sync_interval: always: each write is fsynced before the
 *                   publish is acknowledged (the default)
 *   interval:D      sync_interval: D: the store is fsynced every D, and an
 *                   acknowledged batch can sit in the page cache until then
 *
 * D is a whole number of milliseconds, seconds or minutes: 100ms, 1s, 2m.
 */
#ifndef NODOWN_REPLICA_DURABILITY_H
#define NODOWN_REPLICA_DURABILITY_H

#include <stddef.h>
#include <stdint.h>

/* The longest interval accepted: 10 minutes, five times nats-server's own
 * default of two; an interval longer than that is no durability setting
 * anyone should choose by mistake. The shortest is 1 ms. */
#define DURABILITY_INTERVAL_MS_MAX (10u * 60u * 1000u)
/* "interval:4294967295ms" and the NUL fit. */
#define DURABILITY_TEXT_SIZE 32u

/* Zero-initialised, it is the default: always. */
struct durability {
    uint32_t interval_ms; /* 0: always; else 1..DURABILITY_INTERVAL_MS_MAX */
};

/* Reads "always" or "interval:DURATION". Returns 0, or ERR_USAGE with a
 * message saying what is accepted. */
int durability_parse(const char *text, struct durability *out, char *errmsg,
                     size_t errmsg_size);

/* "always" or "interval:D", D in the largest unit that divides it (so
 * interval:1000ms reads back as interval:1s). */
void durability_format(const struct durability *durability, char text[DURABILITY_TEXT_SIZE]);

/* The value of sync_interval in a nats-server configuration: always, or
 * the duration quoted ("100ms"). */
void durability_sync_interval(const struct durability *durability,
                              char text[DURABILITY_TEXT_SIZE]);

#endif
