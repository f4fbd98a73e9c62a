/* The replica without NATS: stream messages given by hand, in order, with
 * repeats and gaps; snapshots written by a forked child; restarts that load
 * the newest good snapshot and continue to the same digest as a replica
 * that never stopped; corrupt and truncated snapshot files passed over. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "replica/replica.h"
#include "test.h"
#include "test_dir.h"

#define LOG_BATCHES 120u

/* The stream: LOG_BATCHES encoded batches. */
struct stream {
    uint8_t *data[LOG_BATCHES];
    size_t size[LOG_BATCHES];
    uint64_t seq;
};

static struct command log_command(struct stream *stream, enum command_type type,
                                  uint32_t sender)
{
    struct command c = fixture_command(type, sender);
    c.client_seq = ++stream->seq;
    return c;
}

static void stream_add(struct stream *stream, uint32_t at, const struct command *commands,
                       uint32_t count)
{
    size_t capacity = batch_encoded_size(commands, count);
    stream->data[at] = malloc(capacity);
    int rv = batch_encode(1000000u * (at + 1), commands, count, stream->data[at], capacity,
                          &stream->size[at]);
    if (rv != 0)
        abort();
}

/* Batch 0 builds a tree, an instrument and a day; every later batch places
 * four orders that cross now and then, and some cancel. */
static void stream_build(struct stream *stream)
{
    struct command c[8];
    memset(stream, 0, sizeof *stream);
    c[0] = log_command(stream, COMMAND_ACCOUNT_CREATE, 0);
    c[0].u.account_create.kind = ACCOUNT_KIND_SUPER; /* 1 */
    c[1] = log_command(stream, COMMAND_ACCOUNT_CREATE, 0);
    c[1].u.account_create.parent_id = 1;
    c[1].u.account_create.kind = ACCOUNT_KIND_MASTER; /* 2 */
    c[2] = log_command(stream, COMMAND_ACCOUNT_CREATE, 0);
    c[2].u.account_create.parent_id = 2;
    c[2].u.account_create.kind = ACCOUNT_KIND_AGENT; /* 3 */
    c[3] = log_command(stream, COMMAND_ACCOUNT_CREATE, 0);
    c[3].u.account_create.parent_id = 3;
    c[3].u.account_create.kind = ACCOUNT_KIND_MEMBER; /* 4: buys */
    c[4] = log_command(stream, COMMAND_ACCOUNT_CREATE, 0);
    c[4].u.account_create.parent_id = 3;
    c[4].u.account_create.kind = ACCOUNT_KIND_MEMBER; /* 5: sells */
    c[5] = log_command(stream, COMMAND_INSTRUMENT_CREATE, 0);
    memcpy(c[5].u.instrument_create.symbol, "REPL", 4);
    c[5].u.instrument_create.tick_size_minor = 1;
    c[5].u.instrument_create.lot_size = 1;
    c[5].u.instrument_create.reference_price_ticks = 1000;
    c[5].u.instrument_create.band_bp = 1000;
    c[6] = log_command(stream, COMMAND_CASH_DEPOSIT, 0);
    c[6].u.cash.account_id = 4;
    c[6].u.cash.amount_minor = 100000000;
    c[7] = log_command(stream, COMMAND_DAY_START, 0);
    c[7].u.day.trading_date = 20261123;
    stream_add(stream, 0, c, 8);
    c[0] = log_command(stream, COMMAND_POSITION_GRANT, 0);
    c[0].u.position_grant.account_id = 5;
    c[0].u.position_grant.quantity = 100000;
    stream_add(stream, 1, c, 1);
    for (uint32_t at = 2; at < LOG_BATCHES; at++) {
        for (uint32_t k = 0; k < 4; k++) {
            uint32_t member = k % 2 == 0 ? 4 : 5;
            c[k] = log_command(stream, COMMAND_ORDER_PLACE, member);
            c[k].u.order_place.side = member == 4 ? SIDE_BUY : SIDE_SELL;
            c[k].u.order_place.time_in_force = TIF_GTC;
            c[k].u.order_place.price_ticks = 990 + (at * 7 + k * 3) % 20;
            c[k].u.order_place.quantity = 1 + (at + k) % 9;
        }
        c[4] = log_command(stream, COMMAND_ORDER_CANCEL, 4);
        c[4].u.order_cancel.order_id = at * 2;
        stream_add(stream, at, c, 5);
    }
}

static void stream_free(struct stream *stream)
{
    for (uint32_t i = 0; i < LOG_BATCHES; i++)
        free(stream->data[i]);
}

static int apply_range(struct replica *replica, const struct stream *stream, uint32_t from,
                       uint32_t to)
{
    for (uint32_t at = from; at < to; at++) {
        int rv = replica_apply(replica, at + 1, 1000000u * (at + 1), stream->data[at],
                               stream->size[at], NULL, NULL);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static bool same_digest(const struct replica *a, const struct replica *b)
{
    struct digest x;
    struct digest y;
    engine_digest(&a->engine, &x);
    engine_digest(&b->engine, &y);
    return x.high == y.high && x.low == y.low;
}

static void limits_small(struct limits *limits)
{
    fixture_limits(limits);
}

static void temp_dir(char *path, size_t size)
{
    snprintf(path, size, "/tmp/nodown-test-replica-XXXXXX");
    if (mkdtemp(path) == NULL)
        abort();
}


TEST(in_order_exactly_once)
{
    struct stream stream;
    struct limits limits;
    struct replica replica;
    char dir[64];
    char errmsg[512];
    stream_build(&stream);
    limits_small(&limits);
    temp_dir(dir, sizeof dir);
    CHECK_EQ_I64(replica_open(&replica, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(replica.applied_seq, 0);
    /* A gap is refused and changes nothing. */
    CHECK_EQ_I64(replica_apply(&replica, 2, 1, stream.data[1], stream.size[1], NULL, NULL),
                 ERR_REPLICA_GAP);
    CHECK_EQ_I64(replica.applied_seq, 0);
    CHECK_EQ_I64(apply_range(&replica, &stream, 0, 50), 0);
    CHECK_EQ_I64(replica.applied_seq, 50);
    struct digest before;
    engine_digest(&replica.engine, &before);
    /* A repeat of any applied message is ignored. */
    CHECK_EQ_I64(replica_apply(&replica, 50, 1, stream.data[49], stream.size[49], NULL, NULL),
                 REPLICA_REPEAT);
    CHECK_EQ_I64(replica_apply(&replica, 3, 1, stream.data[2], stream.size[2], NULL, NULL),
                 REPLICA_REPEAT);
    struct digest after;
    engine_digest(&replica.engine, &after);
    CHECK(before.high == after.high && before.low == after.low);
    /* Time is the message's, made monotonic: an earlier stamp moves nothing. */
    CHECK_EQ_I64(replica.time_ns, 50000000);
    CHECK_EQ_I64(replica_apply(&replica, 51, 5, stream.data[50], stream.size[50], NULL, NULL), 0);
    CHECK_EQ_I64(replica.time_ns, 50000000);
    char reason[256];
    CHECK_EQ_I64(engine_check(&replica.engine, reason, sizeof reason), 0);
    replica_close(&replica);
    test_dir_remove(dir);
    stream_free(&stream);
}

TEST(snapshot_restart_same_digest)
{
    struct stream stream;
    struct limits limits;
    struct replica a;
    struct replica b;
    char dir[64];
    char errmsg[512];
    stream_build(&stream);
    limits_small(&limits);
    temp_dir(dir, sizeof dir);
    CHECK_EQ_I64(replica_open(&a, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(apply_range(&a, &stream, 0, 40), 0);
    CHECK_EQ_I64(replica_snapshot_start(&a, errmsg, sizeof errmsg), 0);
    /* The loop goes on while the child writes the state as of the fork. */
    CHECK_EQ_I64(apply_range(&a, &stream, 40, 70), 0);
    CHECK_EQ_I64(replica_snapshot_poll(&a, true, errmsg, sizeof errmsg), 1);
    CHECK_EQ_I64(a.snapshot_seq, 40);
    CHECK(a.snapshot_pause_ns_max > 0);
    CHECK_EQ_I64(apply_range(&a, &stream, 70, LOG_BATCHES), 0);
    /* A restart loads sequence 40 and consumes 41 onwards. */
    CHECK_EQ_I64(replica_open(&b, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(b.applied_seq, 40);
    CHECK_EQ_I64(b.time_ns, 40000000);
    CHECK_EQ_I64(apply_range(&b, &stream, 40, LOG_BATCHES), 0);
    CHECK(same_digest(&a, &b));
    replica_close(&a);
    replica_close(&b);
    test_dir_remove(dir);
    stream_free(&stream);
}

static void corrupt_file(const char *dir, uint64_t seq, bool truncate_it)
{
    char path[256];
    snprintf(path, sizeof path, "%s/snapshots/snapshot-%020llu.ndsf", dir,
             (unsigned long long)seq);
    FILE *file = fopen(path, "r+b");
    if (file == NULL)
        abort();
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    if (truncate_it) {
        if (ftruncate(fileno(file), size / 2) != 0)
            abort();
    } else {
        fseek(file, size - 10, SEEK_SET);
        int byte = fgetc(file);
        fseek(file, size - 10, SEEK_SET);
        fputc(byte ^ 0x5a, file);
    }
    fclose(file);
}

/* The newest files are bad (a flipped byte, then a truncation): each is
 * reported and passed over, and the restart continues from the last good
 * one to the same end. */
TEST(corrupt_snapshots_are_passed_over)
{
    struct stream stream;
    struct limits limits;
    struct replica a;
    struct replica b;
    char dir[64];
    char errmsg[512];
    stream_build(&stream);
    limits_small(&limits);
    temp_dir(dir, sizeof dir);
    CHECK_EQ_I64(replica_open(&a, dir, &limits, errmsg, sizeof errmsg), 0);
    const uint32_t points[3] = {20, 60, 90};
    uint32_t done = 0;
    for (uint32_t i = 0; i < 3; i++) {
        CHECK_EQ_I64(apply_range(&a, &stream, done, points[i]), 0);
        CHECK_EQ_I64(replica_snapshot_write(&a, errmsg, sizeof errmsg), 0);
        done = points[i];
    }
    CHECK_EQ_I64(apply_range(&a, &stream, done, LOG_BATCHES), 0);
    corrupt_file(dir, 90, false);
    corrupt_file(dir, 60, true);
    CHECK_EQ_I64(replica_open(&b, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(b.applied_seq, 20);
    CHECK_EQ_I64(apply_range(&b, &stream, 20, LOG_BATCHES), 0);
    CHECK(same_digest(&a, &b));
    replica_close(&a);
    replica_close(&b);
    test_dir_remove(dir);
    stream_free(&stream);
}

/* Rewrites snapshot seq as file format version 1 (no header checksum). */
static void make_version_1(const char *dir, uint64_t seq)
{
    char path[256];
    snprintf(path, sizeof path, "%s/snapshots/snapshot-%020llu.ndsf", dir,
             (unsigned long long)seq);
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        abort();
    static uint8_t data[1 << 20];
    size_t size = fread(data, 1, sizeof data, file);
    fclose(file);
    if (size < REPLICA_FILE_HEADER_SIZE || size == sizeof data)
        abort();
    data[4] = 1; /* version 1, and its 24-byte header: the check goes */
    memmove(data + REPLICA_FILE_HEADER_SIZE_V1, data + REPLICA_FILE_HEADER_SIZE,
            size - REPLICA_FILE_HEADER_SIZE);
    file = fopen(path, "wb");
    if (file == NULL ||
        fwrite(data, 1, size - 8, file) != size - 8)
        abort();
    fclose(file);
}

/* A file of version 1 is still read. In version 2 a changed byte of the
 * header's stream time (which version 1 could not notice) is refused. */
TEST(file_versions)
{
    struct stream stream;
    struct limits limits;
    struct replica a, b;
    char dir[64];
    char errmsg[512];
    stream_build(&stream);
    limits_small(&limits);
    temp_dir(dir, sizeof dir);
    CHECK_EQ_I64(replica_open(&a, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(apply_range(&a, &stream, 0, 30), 0);
    CHECK_EQ_I64(replica_snapshot_write(&a, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(apply_range(&a, &stream, 30, 50), 0);
    CHECK_EQ_I64(replica_snapshot_write(&a, errmsg, sizeof errmsg), 0);
    make_version_1(dir, 30);
    /* Version 2, byte 16: the lowest byte of time_ns. */
    char path[256];
    snprintf(path, sizeof path, "%s/snapshots/snapshot-%020llu.ndsf", dir, 50ull);
    FILE *file = fopen(path, "r+b");
    CHECK(file != NULL);
    if (file != NULL) {
        fseek(file, 16, SEEK_SET);
        int byte = fgetc(file);
        fseek(file, 16, SEEK_SET);
        fputc(byte ^ 1, file);
        fclose(file);
    }
    CHECK_EQ_I64(replica_open(&b, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(b.applied_seq, 30); /* 50 refused, 30 read as version 1 */
    CHECK_EQ_I64(b.time_ns, 30000000u);
    CHECK_EQ_I64(apply_range(&b, &stream, 30, LOG_BATCHES), 0);
    CHECK_EQ_I64(apply_range(&a, &stream, 50, LOG_BATCHES), 0);
    CHECK(same_digest(&a, &b));
    replica_close(&a);
    replica_close(&b);
    test_dir_remove(dir);
    stream_free(&stream);
}

/* A message that is no batch is skipped the same way everywhere; old
 * snapshot files are pruned to the newest REPLICA_SNAPSHOTS_KEPT. */
TEST(malformed_batch_and_pruning)
{
    struct stream stream;
    struct limits limits;
    struct replica replica;
    char dir[64];
    char errmsg[512];
    stream_build(&stream);
    limits_small(&limits);
    temp_dir(dir, sizeof dir);
    CHECK_EQ_I64(replica_open(&replica, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(apply_range(&replica, &stream, 0, 10), 0);
    const char junk[] = "not a batch";
    CHECK_EQ_I64(replica_apply(&replica, 11, 1, junk, sizeof junk, NULL, NULL), 0);
    CHECK_EQ_I64(replica.applied_seq, 11);
    CHECK_EQ_I64(replica.malformed_batches, 1);
    for (uint32_t i = 0; i < 5; i++) {
        CHECK_EQ_I64(replica_snapshot_start(&replica, errmsg, sizeof errmsg), 0);
        CHECK_EQ_I64(replica_snapshot_poll(&replica, true, errmsg, sizeof errmsg), 1);
        CHECK_EQ_I64(replica_apply(&replica, 12 + i, 1, stream.data[10 + i],
                                   stream.size[10 + i], NULL, NULL), 0);
    }
    char command[256];
    snprintf(command, sizeof command, "test $(ls %s/snapshots | grep -c '^snapshot-') -eq %u",
             dir, REPLICA_SNAPSHOTS_KEPT);
    CHECK_EQ_I64(system(command), 0);
    replica_close(&replica);
    test_dir_remove(dir);
    stream_free(&stream);
}

TEST_MAIN()
