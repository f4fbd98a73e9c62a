/* The archive's parts: its record codec and packing, the postings' sort,
 * and a whole archive written through a replica's feed and asked through
 * history_ask (the kill -9 and hand-over cases are test/cli/history.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/history_day.h"
#include "core/result.h"
#include "history/archive.h"
#include "history/archive_codec.h"
#include "history/history_keys.h"
#include "history/history_query.h"
#include "test.h"
#include "test_dir.h"

static struct event event_of(uint16_t type)
{
    struct event e;
    memset(&e, 0, sizeof e);
    e.type = type;
    e.code = 3;
    e.account_id = 77;
    e.id = 123456789012ull;
    e.u.trade.instrument_id = 5; /* the union's first bytes: every type has some */
    e.u.trade.maker_account_id = 9;
    e.u.trade.price_ticks = -42;
    return e;
}

TEST(event_records_round_trip)
{
    struct archive_buffer buffer = {0};
    for (uint16_t type = EVENT_ORDER_ACCEPTED; type < EVENT_TYPE_COUNT; type++) {
        struct event e = event_of(type);
        if (type == EVENT_COMMISSION)
            e.u.commission.paid_minor[3] = -((int64_t)1 << 50);
        buffer.used = 0;
        CHECK_EQ_I64(archive_buffer_reserve(&buffer, ARCHIVE_RECORD_MAX), 0);
        archive_event_put(&buffer, 17, &e);
        struct archive_reader reader = {.at = buffer.data, .end = buffer.data + buffer.used};
        struct event back;
        uint32_t index = 0;
        CHECK(archive_event_get(&reader, &index, &back));
        CHECK_EQ_I64(index, 17);
        /* A trade is all its fields; any other type keeps its own. */
        CHECK(type != EVENT_TRADE || memcmp(&back, &e, sizeof e) == 0);
        struct archive_buffer again = {0};
        CHECK_EQ_I64(archive_buffer_reserve(&again, ARCHIVE_RECORD_MAX), 0);
        archive_event_put(&again, 17, &back);
        CHECK(again.used == buffer.used && memcmp(again.data, buffer.data, again.used) == 0);
        archive_buffer_free(&again);
        CHECK_EQ_I64(back.type, type);
        CHECK_EQ_I64((int64_t)back.id, (int64_t)e.id);
        CHECK(!archive_event_get(&reader, &index, &back) && !reader.failed); /* the end */
        /* Cut short anywhere inside: refused, never read past the end. */
        for (size_t cut = 1; cut < buffer.used; cut++) {
            struct archive_reader short_reader = {.at = buffer.data,
                                                  .end = buffer.data + cut};
            CHECK(!archive_event_get(&short_reader, &index, &back) && short_reader.failed);
        }
    }
    archive_buffer_free(&buffer);
}

TEST(command_records_drop_secrets)
{
    struct command c;
    memset(&c, 0, sizeof c);
    c.type = COMMAND_ACCOUNT_SET_SECRET;
    c.sender_account_id = 4;
    c.client_id = 9;
    c.client_seq = 3;
    c.u.account_set_secret.account_id = 8;
    memset(c.u.account_set_secret.salt, 0xAB, sizeof c.u.account_set_secret.salt);
    memset(c.u.account_set_secret.hash, 0xCD, sizeof c.u.account_set_secret.hash);
    struct outcome o = {.result = RESULT_OK, .command_type = c.type, .id = 8, .value = -5};
    struct archive_buffer buffer = {0};
    CHECK_EQ_I64(archive_buffer_reserve(&buffer, ARCHIVE_RECORD_MAX), 0);
    archive_command_put(&buffer, 2, &c, &o, 3);
    for (size_t i = 0; i + 4 <= buffer.used; i++)
        CHECK(memcmp(buffer.data + i, "\xAB\xAB\xAB\xAB", 4) != 0); /* no salt stored */
    struct archive_reader reader = {.at = buffer.data, .end = buffer.data + buffer.used};
    struct command back;
    struct outcome back_outcome;
    uint32_t index = 0, logic = 0;
    CHECK(archive_command_get(&reader, &index, &back, &back_outcome, &logic));
    CHECK_EQ_I64(index, 2);
    CHECK_EQ_I64(logic, 3);
    CHECK_EQ_I64(back.u.account_set_secret.account_id, 8);
    CHECK_EQ_I64(back.u.account_set_secret.salt[0], 0);
    CHECK_EQ_I64(back_outcome.value, -5);
    CHECK_EQ_I64((int64_t)back.client_seq, 3);
    archive_buffer_free(&buffer);
}

TEST(packing_round_trips_and_refuses_damage)
{
    struct archive_packer *packer = archive_packer_new();
    CHECK(packer != NULL);
    static uint8_t data[100000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i % 7 == 0 ? i : 0);
    struct archive_buffer packed = {0}, back = {0};
    const size_t sizes[] = {0, 10, 2047, 2048, sizeof data};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        CHECK_EQ_I64(archive_pack(packer, data, sizes[i], &packed), 0);
        CHECK_EQ_I64(packed.data[0], sizes[i] >= 2048 ? ARCHIVE_PACK_ZSTD : ARCHIVE_PACK_RAW);
        CHECK_EQ_I64(archive_unpack(packer, packed.data, packed.used, &back), 0);
        CHECK_EQ_I64((int64_t)back.used, (int64_t)sizes[i]);
        CHECK(sizes[i] == 0 || memcmp(back.data, data, sizes[i]) == 0);
    }
    packed.data[packed.used / 2] ^= 0xFF; /* a zstd frame damaged inside */
    packed.data[packed.used - 1] ^= 0xFF;
    CHECK(archive_unpack(packer, packed.data, packed.used, &back) != 0 ||
          memcmp(back.data, data, sizeof data) != 0);
    uint8_t unknown[] = {7, 1, 2};
    CHECK_EQ_I64(archive_unpack(packer, unknown, sizeof unknown, &back), ERR_DECODE_MALFORMED);
    archive_buffer_free(&packed);
    archive_buffer_free(&back);
    archive_packer_free(packer);
}

TEST(keys_sort_by_key_then_sequence)
{
    enum { COUNT = 20000 };
    static struct history_key keys[COUNT], scratch[COUNT];
    uint64_t seed = 12345;
    for (int i = 0; i < COUNT; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t id = (seed >> 33) % 500;
        keys[i] = (struct history_key){
            .key = history_key_make((enum history_key_kind)(1 + (seed >> 20) % 5), id),
            .seq = i / 7, .ref = (uint64_t)(i % 3)};
    }
    history_keys_sort(keys, scratch, COUNT);
    for (int i = 1; i < COUNT; i++) {
        CHECK(keys[i - 1].key <= keys[i].key);
        if (keys[i - 1].key == keys[i].key)
            CHECK(keys[i - 1].seq <= keys[i].seq); /* stable: in stream order */
    }
    uint32_t kept = history_keys_unique(keys, COUNT);
    CHECK(kept < COUNT);
    for (uint32_t i = 1; i < kept; i++)
        CHECK(keys[i - 1].key != keys[i].key || keys[i - 1].seq != keys[i].seq ||
              keys[i - 1].ref != keys[i].ref);
}

/* Whatever bytes a damaged file holds, the decoders stay inside them and
 * stop: never a read past the end (ASan's build checks). */
TEST(decoders_survive_any_bytes)
{
    uint64_t seed = 99;
    uint8_t bytes[64];
    for (int round = 0; round < 20000; round++) {
        size_t size = (size_t)(round % 64);
        for (size_t i = 0; i < size; i++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            bytes[i] = (uint8_t)(seed >> 56);
        }
        uint8_t *copy = malloc(size + 1); /* exactly size bytes are valid */
        memcpy(copy, bytes, size);
        struct archive_reader reader = {.at = copy, .end = copy + size};
        struct event e;
        struct command c;
        struct outcome o;
        struct feed_balance b;
        uint32_t index = 0, logic = 0;
        switch (round % 3) {
        case 0:
            while (archive_event_get(&reader, &index, &e)) {}
            break;
        case 1:
            while (archive_command_get(&reader, &index, &c, &o, &logic)) {}
            break;
        default:
            while (archive_balance_get(&reader, &b)) {}
            break;
        }
        CHECK(reader.at <= reader.end);
        free(copy);
    }
}

static int count_row(void *context, const struct history_row *row)
{
    uint64_t *counts = context;
    counts[row->kind]++;
    return 0;
}

/* A day through a replica and its archive: reopened, it says where it
 * stopped; its day's file is sealed; the questions find their rows. */
TEST(archive_of_a_day)
{
    char dir[] = "/tmp/nodown-test-history-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    struct limits limits;
    limits_default(&limits);
    static struct replica replica;
    static struct feed feed;
    static struct feed_consumer consumer;
    static struct history_day day;
    char errmsg[512];
    struct archive *archive = NULL;
    uint64_t position = 99;
    CHECK_EQ_I64(replica_open(&replica, dir, &limits, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(feed_init(&feed, &limits), 0);
    CHECK_EQ_I64(archive_open(&archive, dir, &position, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(position, 0);
    CHECK_EQ_I64(feed_consumer_init(&consumer, "archive", position), 0);
    feed_add(&feed, &consumer);
    replica.feed = &feed;
    CHECK_EQ_I64(archive_start(archive, &consumer, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64(history_day_open(&day, &replica, 7), 0);
    CHECK_EQ_I64(history_day_trade(&day, 3000), 0);
    CHECK_EQ_I64(history_day_end(&day), 0);
    uint64_t last = replica.applied_seq;
    archive_close(archive, 10000);
    CHECK_EQ_I64((int64_t)atomic_load(&consumer.committed_seq), (int64_t)last);
    CHECK_EQ_I64(archive_position_read(dir, &position, errmsg, sizeof errmsg), 0);
    CHECK_EQ_I64((int64_t)position, (int64_t)last);
    char history_dir[600];
    snprintf(history_dir, sizeof history_dir, "%s/history", dir);
    uint64_t counts[4] = {0}, rows = 0;
    struct history_question_args args = {.question = HISTORY_STATEMENT, .id = day.members[5]};
    CHECK_EQ_I64(history_ask(history_dir, &args, count_row, counts, &rows, errmsg,
                             sizeof errmsg), 0);
    CHECK(counts[HISTORY_ROW_COMMAND] > 0 && counts[HISTORY_ROW_BALANCE] > 0);
    memset(counts, 0, sizeof counts);
    args = (struct history_question_args){.question = HISTORY_BET, .id = day.last_bet_id};
    CHECK_EQ_I64(history_ask(history_dir, &args, count_row, counts, &rows, errmsg,
                             sizeof errmsg), 0);
    CHECK_EQ_I64(counts[HISTORY_ROW_COMMAND], 1); /* placed */
    CHECK_EQ_I64(counts[HISTORY_ROW_EVENT], 2);   /* accepted, settled */
    args = (struct history_question_args){.question = HISTORY_AT, .id = last};
    CHECK_EQ_I64(history_ask(history_dir, &args, count_row, counts, &rows, errmsg,
                             sizeof errmsg), 0);
    CHECK(rows > 0);
    args.id = last + 1000; /* no such message: nothing, not an error */
    CHECK_EQ_I64(history_ask(history_dir, &args, count_row, counts, &rows, errmsg,
                             sizeof errmsg), 0);
    CHECK_EQ_I64(rows, 0);
    char sealed[700];
    snprintf(sealed, sizeof sealed, "%s/day-%08u.db", history_dir, HISTORY_DAY_DATE);
    struct stat st;
    CHECK(stat(sealed, &st) == 0 && (st.st_mode & 0777) == 0444); /* sealed, read-only */
    history_day_close(&day);
    feed_consumer_free(&consumer);
    replica.feed = NULL;
    feed_free(&feed);
    replica_close(&replica);
    test_dir_remove(dir);
}

TEST_MAIN()
