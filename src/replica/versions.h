/* What this build can run: its release, the logic versions it applies,
 * and for each format it shares with other processes (the stream's
 * batches and their commands, snapshots and snapshot files, client
 * frames, the node registry's entries) the versions it reads and the
 * version it writes. One table, printed by `nodown version` and carried
 * in every node's /status as "build"; docs/upgrades.md says how releases
 * may be mixed.
 *
 * The rule the table states (docs/upgrades.md, "Formats"): a node never
 * writes a format version that another node of its cluster cannot read.
 * So a written version may move on only with the active logic version,
 * which ACTIVATE_LOGIC moves once every node runs it: each row says from
 * which logic version on it writes which version. Every build reads every
 * snapshot and batch version a release ever wrote.
 */
#ifndef NODOWN_REPLICA_VERSIONS_H
#define NODOWN_REPLICA_VERSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most steps of one format's written version. */
#define VERSIONS_WRITES_MAX 4u

/* The most bytes of versions_json's object and versions_text's text. */
#define VERSIONS_TEXT_SIZE 1024u

/* From logic version from_logic on, the format is written at version. */
struct versions_write {
    uint32_t from_logic;
    uint32_t version;
};

struct versions_format {
    const char *name;        /* the JSON key: "batch", "snapshot", ... */
    const char *title;       /* for people: "stream batch" */
    uint32_t read_min;       /* every version in read_min..read_max is read */
    uint32_t read_max;
    /* negotiated: each peer picks a version from read_min..read_max (the
     * client protocol's HELLO); writes then holds the highest offered. */
    bool negotiated;
    uint32_t write_count;
    struct versions_write writes[VERSIONS_WRITES_MAX]; /* from_logic ascending */
};

/* The release (the VERSION file) and the commit (`git describe`, or
 * "unknown" outside a git checkout) this build was made from. */
const char *versions_release(void);
const char *versions_commit(void);

/* The formats this build knows, in a fixed order; *count gets how many. */
const struct versions_format *versions_formats(uint32_t *count);

/* The version of format this build writes while logic_version is active. */
uint32_t versions_written(const struct versions_format *format, uint32_t logic_version);

/* The table as one JSON object (no newline), the "build" of /status:
 *   {"release":"0.2.0","commit":"...","logic":{"min":1,"max":3},
 *    "formats":{"batch":{"reads":[1,1],"writes":[{"from_logic":1,"version":1}]},...}}
 * Returns its length, or 0 when size is too small. */
size_t versions_json(char *out, size_t size);

/* The table as lines of text for people (`nodown version`); its second
 * line is "logic versions MIN..MAX, ...". Returns its length, or 0. */
size_t versions_text(char *out, size_t size);

#endif
