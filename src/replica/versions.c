/* The table of what this build reads, writes and runs (versions.h). The
 * numbers come from each format's own header, so a format that moves on
 * moves the table; the steps of a written version are written here, and
 * test_versions.c checks them against the writers (snapshot_format_written).
 *
 * The release and the commit come from build/release.h, which the
 * Makefile writes from the VERSION file and `git describe`. */
#include "replica/versions.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "build/release.h"
#include "codec/command_codec.h"
#include "codec/frame.h"
#include "core/snapshot.h"
#include "core/state.h"
#include "replica/node_registry.h"
#include "replica/replica.h"

#ifndef NODOWN_RELEASE
#error "build/release.h defines NODOWN_RELEASE (the Makefile writes it)"
#endif

/* Snapshot format 2 carries logic 3's session bounds (snapshot.h). */
_Static_assert(SNAPSHOT_FORMAT_VERSION == 2, "add the new version's step below");
_Static_assert(LOGIC_VERSION_SESSION_BOUNDS == 3, "snapshot format 2 comes with logic 3");

static const struct versions_format versions_table[] = {
    {"command", "command", COMMAND_FORMAT_VERSION, COMMAND_FORMAT_VERSION, false, 1,
     {{LOGIC_VERSION_MIN, COMMAND_FORMAT_VERSION}}},
    {"batch", "stream batch", BATCH_FORMAT_VERSION, BATCH_FORMAT_VERSION, false, 1,
     {{LOGIC_VERSION_MIN, BATCH_FORMAT_VERSION}}},
    {"snapshot", "snapshot", SNAPSHOT_FORMAT_VERSION_MIN, SNAPSHOT_FORMAT_VERSION, false, 2,
     {{LOGIC_VERSION_MIN, 1}, {LOGIC_VERSION_SESSION_BOUNDS, 2}}},
    {"snapshot_file", "snapshot file", 1, REPLICA_FILE_VERSION, false, 1,
     {{LOGIC_VERSION_MIN, REPLICA_FILE_VERSION}}},
    {"protocol", "client protocol", FRAME_PROTOCOL_VERSION_MIN, FRAME_PROTOCOL_VERSION, true, 1,
     {{LOGIC_VERSION_MIN, FRAME_PROTOCOL_VERSION}}},
    {"node_registry", "node registry entry", NODE_REGISTRY_FORMAT, NODE_REGISTRY_FORMAT, false,
     1, {{LOGIC_VERSION_MIN, NODE_REGISTRY_FORMAT}}},
};

#define VERSIONS_FORMAT_COUNT (sizeof versions_table / sizeof versions_table[0])

const char *versions_release(void)
{
    return NODOWN_RELEASE;
}

const char *versions_commit(void)
{
    return NODOWN_COMMIT;
}

const struct versions_format *versions_formats(uint32_t *count)
{
    *count = (uint32_t)VERSIONS_FORMAT_COUNT;
    return versions_table;
}

uint32_t versions_written(const struct versions_format *format, uint32_t logic_version)
{
    assert(format->write_count >= 1 && format->write_count <= VERSIONS_WRITES_MAX);
    assert(format->writes[0].from_logic == LOGIC_VERSION_MIN);
    uint32_t version = format->writes[0].version;
    for (uint32_t i = 1; i < format->write_count; i++) {
        assert(format->writes[i].from_logic > format->writes[i - 1].from_logic);
        if (logic_version >= format->writes[i].from_logic)
            version = format->writes[i].version;
    }
    assert(version >= format->read_min && version <= format->read_max);
    return version;
}

/* Appends to out at *length; a text too long leaves *length past size. */
__attribute__((format(printf, 4, 5))) static void
versions_put(char *out, size_t size, size_t *length, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    int n = *length < size ? vsnprintf(out + *length, size - *length, format, args) : 0;
    va_end(args);
    *length += n < 0 ? size : (size_t)n;
}

size_t versions_json(char *out, size_t size)
{
    size_t length = 0;
    versions_put(out, size, &length,
                 "{\"release\":\"%s\",\"commit\":\"%s\",\"logic\":{\"min\":%u,\"max\":%u},"
                 "\"formats\":{",
                 NODOWN_RELEASE, NODOWN_COMMIT, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX);
    for (size_t f = 0; f < VERSIONS_FORMAT_COUNT; f++) {
        const struct versions_format *format = &versions_table[f];
        versions_put(out, size, &length, "%s\"%s\":{\"reads\":[%u,%u],%s\"writes\":[",
                     f ? "," : "", format->name, format->read_min, format->read_max,
                     format->negotiated ? "\"negotiated\":true," : "");
        for (uint32_t i = 0; i < format->write_count; i++)
            versions_put(out, size, &length, "%s{\"from_logic\":%u,\"version\":%u}",
                         i ? "," : "", format->writes[i].from_logic, format->writes[i].version);
        versions_put(out, size, &length, "]}");
    }
    versions_put(out, size, &length, "}}");
    return length < size ? length : 0;
}

size_t versions_text(char *out, size_t size)
{
    size_t length = 0;
    versions_put(out, size, &length,
                 "nodown %s (commit %s)\n"
                 "logic versions %u..%u, the active one moved on by ACTIVATE_LOGIC\n"
                 "%-20s %-7s %s\n",
                 NODOWN_RELEASE, NODOWN_COMMIT, LOGIC_VERSION_MIN, LOGIC_VERSION_MAX, "format",
                 "reads", "writes");
    for (size_t f = 0; f < VERSIONS_FORMAT_COUNT; f++) {
        const struct versions_format *format = &versions_table[f];
        char reads[24];
        snprintf(reads, sizeof reads, "%u..%u", format->read_min, format->read_max);
        versions_put(out, size, &length, "%-20s %-7s ", format->title, reads);
        if (format->negotiated)
            versions_put(out, size, &length, "the one each client's HELLO picks, up to ");
        for (uint32_t i = 0; i < format->write_count; i++) {
            if (i == 0)
                versions_put(out, size, &length, "%u", format->writes[i].version);
            else
                versions_put(out, size, &length, ", %u from logic %u", format->writes[i].version,
                             format->writes[i].from_logic);
        }
        versions_put(out, size, &length, "\n");
    }
    return length < size ? length : 0;
}
