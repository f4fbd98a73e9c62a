/* `nodown rehearse`: a node's real history (its snapshot and the stream
 * after it) replayed three ways before an upgrade (docs/upgrades.md,
 * "Rehearsal"):
 *
 *   old        the binary running now (`OLD replay`), or, for a build
 *              without `replay` (release 0.1.0), its `serve` on a private
 *              copy, whose final digest is compared
 *   new        the new binary at the same logic version: its digests must
 *              equal old's at every checkpoint, else the first sequence
 *              where they part is found (between the two checkpoints)
 *   activated  the new binary with ACTIVATE_LOGIC N inserted before
 *              message SEQ, as the house would publish it
 *
 * and reports the migration's time, each replay's commands/s and every
 * difference in outcomes between new and activated from the activation
 * on, grouped by command type and results. Nothing is published: the
 * stream is read once into a file (stream_copy.h), from a private
 * nats-server on a copy of an embedded node's store, or read-only from a
 * running node's NATS.
 */
#ifndef NODOWN_OPS_REHEARSE_H
#define NODOWN_OPS_REHEARSE_H

#include <stdbool.h>
#include <stdint.h>

#define REHEARSE_PATH_MAX 1024u

struct rehearse_config {
    const char *from_dir;      /* a node's data directory, or NULL */
    uint16_t from_port;        /* or a running node's admin port ... */
    char from_token[128];      /* ... and its token */
    const char *nats_urls;     /* the stream's servers (NULL: DIR/nats's copy) */
    const char *binary_new;
    const char *binary_old;    /* NULL: this binary */
    uint32_t to;               /* 0: the new binary's highest */
    uint64_t at;               /* 0: the first message replayed */
    uint64_t until;            /* 0: the stream's end */
    uint64_t checkpoint_every;
    const char *work_dir;      /* NULL: a temporary one, removed after */
    bool json;
};

/* Runs the rehearsal and prints the report. Returns the exit code: 0 when
 * old and new agree at every checkpoint, 1 when they part or a replay
 * failed (said in the report), 2 when the source cannot be read. */
int rehearse_run(const struct rehearse_config *config);

#endif
