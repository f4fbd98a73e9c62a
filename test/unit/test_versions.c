/* The table of what this build reads and writes (src/replica/versions.c),
 * and the promise behind it: this build reads the oldest formats a release
 * ever wrote. test/fixtures/release-0.1.0/ holds a real stream and two real
 * snapshot files of the first release (tools/release_fixtures.sh made
 * them); they are replayed and loaded here, and must reach the digests the
 * old node reported. Run from the repository's root, as make test does. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "codec/command_codec.h"
#include "codec/frame.h"
#include "core/snapshot.h"
#include "fixture.h"
#include "replica/replica.h"
#include "replica/versions.h"
#include "test.h"
#include "test_dir.h"

#define FIXTURES "test/fixtures/release-0.1.0"
#define FIXTURE_MESSAGES_MAX 64u

static const struct versions_format *format_named(const char *name)
{
    uint32_t count = 0;
    const struct versions_format *formats = versions_formats(&count);
    for (uint32_t i = 0; i < count; i++)
        if (strcmp(formats[i].name, name) == 0)
            return &formats[i];
    return NULL;
}

TEST(table_matches_the_writers)
{
    const struct versions_format *snapshot = format_named("snapshot");
    CHECK(snapshot != NULL);
    for (uint32_t logic = LOGIC_VERSION_MIN; logic <= LOGIC_VERSION_MAX; logic++)
        CHECK_EQ_I64(versions_written(snapshot, logic), snapshot_format_written(logic));
    CHECK_EQ_I64(snapshot->read_min, 1); /* every snapshot version ever written */
    CHECK_EQ_I64(snapshot->read_max, SNAPSHOT_FORMAT_VERSION);
    const struct versions_format *batch = format_named("batch");
    CHECK(batch != NULL);
    CHECK_EQ_I64(batch->read_min, 1);
    CHECK_EQ_I64(versions_written(batch, LOGIC_VERSION_MAX), BATCH_FORMAT_VERSION);
    const struct versions_format *file = format_named("snapshot_file");
    CHECK(file != NULL);
    CHECK_EQ_I64(file->read_min, 1);
    CHECK_EQ_I64(versions_written(file, LOGIC_VERSION_MIN), REPLICA_FILE_VERSION);
    const struct versions_format *protocol = format_named("protocol");
    CHECK(protocol != NULL);
    CHECK(protocol->negotiated);
    CHECK_EQ_I64(protocol->read_min, FRAME_PROTOCOL_VERSION_MIN);
    CHECK_EQ_I64(protocol->read_max, FRAME_PROTOCOL_VERSION);
    CHECK(format_named("command") != NULL);
    CHECK(format_named("node_registry") != NULL);
}

TEST(json_and_text)
{
    char json[VERSIONS_TEXT_SIZE];
    size_t length = versions_json(json, sizeof json);
    CHECK(length > 0 && length == strlen(json));
    CHECK(strncmp(json, "{\"release\":\"", 12) == 0);
    CHECK(strstr(json, "\"logic\":{\"min\":1,\"max\":") != NULL);
    CHECK(strstr(json, "\"snapshot\":{\"reads\":[1,2],\"writes\":[{\"from_logic\":1,\"version\":1},"
                       "{\"from_logic\":3,\"version\":2}]}") != NULL);
    int depth = 0;
    for (size_t i = 0; i < length; i++) {
        depth += json[i] == '{' || json[i] == '[';
        depth -= json[i] == '}' || json[i] == ']';
        CHECK(depth >= 0);
    }
    CHECK_EQ_I64(depth, 0);
    CHECK_EQ_I64(versions_json(json, 64), 0); /* too small: nothing */
    char text[VERSIONS_TEXT_SIZE];
    CHECK(versions_text(text, sizeof text) > 0);
    char logic[64];
    snprintf(logic, sizeof logic, "\nlogic versions %u..%u,", LOGIC_VERSION_MIN, LOGIC_VERSION_MAX);
    CHECK(strstr(text, logic) != NULL);
    CHECK(strncmp(text, "nodown ", 7) == 0);
    CHECK(strlen(versions_release()) > 0 && strlen(versions_commit()) > 0);
}

/* ---- The first release's stream and snapshots. ---- */

struct message {
    uint64_t seq;
    uint64_t timestamp_ns;
    const uint8_t *data;
    uint32_t size;
};

struct stream {
    uint8_t *bytes;
    struct message messages[FIXTURE_MESSAGES_MAX];
    uint32_t count;
};

static uint8_t *file_read(const char *path, size_t *size)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    uint8_t *data = malloc(1 << 20);
    *size = data == NULL ? 0 : fread(data, 1, 1 << 20, file);
    fclose(file);
    return data;
}

static uint64_t get_le(const uint8_t *p, int width)
{
    uint64_t value = 0;
    for (int i = width - 1; i >= 0; i--)
        value = value << 8 | p[i];
    return value;
}

/* stream.bin: records of u64 seq, u64 timestamp_ns, u32 size, bytes. */
static int stream_load(struct stream *stream)
{
    size_t size = 0;
    stream->bytes = file_read(FIXTURES "/stream.bin", &size);
    stream->count = 0;
    size_t at = 0;
    while (stream->bytes != NULL && at + 20 <= size && stream->count < FIXTURE_MESSAGES_MAX) {
        struct message *m = &stream->messages[stream->count++];
        m->seq = get_le(stream->bytes + at, 8);
        m->timestamp_ns = get_le(stream->bytes + at + 8, 8);
        m->size = (uint32_t)get_le(stream->bytes + at + 16, 4);
        m->data = stream->bytes + at + 20;
        at += 20 + m->size;
    }
    return stream->bytes != NULL && at == size && stream->count > 0 ? 0 : -1;
}

/* digests.txt: "SEQ DIGEST" per line, as the old node's /status said. */
static uint32_t digests_load(uint64_t *seqs, char (*digests)[33], uint32_t max)
{
    FILE *file = fopen(FIXTURES "/digests.txt", "r");
    uint32_t count = 0;
    unsigned long long seq;
    while (file != NULL && count < max && fscanf(file, "%llu %32s", &seq, digests[count]) == 2)
        seqs[count++] = seq;
    if (file != NULL)
        fclose(file);
    return count;
}

static void digest_text(const struct replica *replica, char text[33])
{
    struct digest digest;
    engine_digest(&replica->engine, &digest);
    digest_format(&digest, text);
}

/* Applies the stream after the replica's applied_seq; checks the digest
 * at each sequence digests.txt names. */
static void replay_check(struct replica *replica, const struct stream *stream)
{
    uint64_t seqs[8];
    char digests[8][33];
    uint32_t count = digests_load(seqs, digests, 8);
    CHECK_EQ_I64(count, 2);
    for (uint32_t i = 0; i < stream->count; i++) {
        const struct message *m = &stream->messages[i];
        CHECK_EQ_I64(m->seq, i + 1);
        if (m->seq <= replica->applied_seq)
            continue;
        CHECK_EQ_I64(replica_apply(replica, m->seq, m->timestamp_ns, m->data, m->size, NULL,
                                   NULL), 0);
        for (uint32_t d = 0; d < count; d++) {
            if (seqs[d] != m->seq)
                continue;
            char text[33];
            digest_text(replica, text);
            CHECK_STR(text, digests[d]);
        }
    }
    CHECK_EQ_I64(replica->malformed_batches, 0);
    CHECK_EQ_I64(replica->applied_seq, seqs[count - 1]);
    char reason[256];
    CHECK_EQ_I64(engine_check(&replica->engine, reason, sizeof reason), 0);
}

TEST(first_release_stream_replays_to_its_digests)
{
    struct stream stream;
    CHECK_EQ_I64(stream_load(&stream), 0);
    /* Every message is a batch of format version 1, the oldest. */
    for (uint32_t i = 0; i < stream.count; i++) {
        CHECK(stream.messages[i].size >= BATCH_HEADER_SIZE + BATCH_TRAILER_SIZE);
        CHECK_EQ_I64(get_le(stream.messages[i].data + 4, 2), 1);
    }
    struct limits limits;
    fixture_limits(&limits);
    char dir[] = "/tmp/nodown-test-versions-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct replica replica;
    char errmsg[512];
    CHECK_EQ_I64(replica_open(&replica, dir, &limits, errmsg, sizeof errmsg), 0);
    replay_check(&replica, &stream);
    CHECK_EQ_I64(replica.engine.logic_version, 2);
    replica_close(&replica);
    test_dir_remove(dir);
    free(stream.bytes);
}

/* A snapshot file of the first release: loads, goes on with the stream to
 * the old node's digests, and this build writes the same bytes back. */
static void snapshot_check(const char *name, uint64_t seq)
{
    struct stream stream;
    CHECK_EQ_I64(stream_load(&stream), 0);
    char path[256];
    snprintf(path, sizeof path, FIXTURES "/%s", name);
    size_t size = 0;
    uint8_t *old = file_read(path, &size);
    CHECK(old != NULL && size > REPLICA_FILE_HEADER_SIZE + SNAPSHOT_HEADER_SIZE);
    CHECK_EQ_I64(get_le(old + 4, 4), 2);                            /* the file: version 2 */
    CHECK_EQ_I64(get_le(old + REPLICA_FILE_HEADER_SIZE + 4, 4), 1); /* the state: 1 */
    char dir[] = "/tmp/nodown-test-versions-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char target[256];
    snprintf(target, sizeof target, "%s/snapshots", dir);
    CHECK_EQ_I64(mkdir(target, 0755), 0);
    snprintf(target, sizeof target, "%s/snapshots/%s", dir, name);
    FILE *file = fopen(target, "wb");
    CHECK(file != NULL && fwrite(old, 1, size, file) == size);
    if (file != NULL)
        fclose(file);
    struct limits limits;
    fixture_limits(&limits);
    struct replica replica;
    char errmsg[512];
    CHECK_EQ_I64(replica_open(&replica, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(replica.applied_seq, seq);
    /* Below logic 3 this build writes the state as the old one did. */
    size_t length = 0;
    uint8_t *now = malloc(size);
    CHECK_EQ_I64(snapshot_encode(&replica.engine, now, size, &length), 0);
    CHECK_EQ_I64(length, size - REPLICA_FILE_HEADER_SIZE);
    CHECK(memcmp(now, old + REPLICA_FILE_HEADER_SIZE, length) == 0);
    replay_check(&replica, &stream);
    replica_close(&replica);
    test_dir_remove(dir);
    free(now);
    free(old);
    free(stream.bytes);
}

TEST(first_release_snapshot_at_logic_1_loads_and_goes_on)
{
    snapshot_check("snapshot-00000000000000000021.ndsf", 21);
}

TEST(first_release_snapshot_at_logic_2_loads)
{
    snapshot_check("snapshot-00000000000000000031.ndsf", 31);
}

TEST_MAIN()
