/* Tests of the backup manifest's text (src/codec/backup_manifest.h): a
 * round trip, then bad inputs one rule each, each refused with the error
 * and the line docs/formats.md gives. Bad inputs other than the checksum
 * itself are re-sealed with a correct checksum, so that the rule under
 * test is what refuses them, not the checksum.
 */
#include <xxhash.h>

#include "codec/backup_manifest.h"
#include "core/result.h"
#include "test.h"

static void sample(struct backup_manifest *m)
{
    memset(m, 0, sizeof *m);
    m->version = BACKUP_MANIFEST_VERSION;
    snprintf(m->source, sizeof m->source, "node 1 at 127.0.0.1:7480");
    m->node_id = 1;
    m->logic_version = 2;
    m->snapshot_format = 1;
    m->snapshot_seq = 100;
    m->end_seq = 250;
    m->messages = 150;
    snprintf(m->digest, sizeof m->digest, "0123456789abcdef0123456789abcdef");
    m->created_unix_ms = 1765000000000ull;
    m->file_count = 2;
    snprintf(m->files[0].name, sizeof m->files[0].name, "snapshot.ndsf.zst");
    m->files[0] = (struct backup_manifest_file){"snapshot.ndsf.zst", 10, 0xabcdef, 20, 7};
    m->files[1] = (struct backup_manifest_file){"stream.ndsc.zst", 30, 1, 40, UINT64_MAX};
}

/* text with its checksum line replaced by a correct one. */
static size_t reseal(char *text, size_t size)
{
    char *last = strstr(text, "checksum ");
    size_t body = last != NULL ? (size_t)(last - text) : strlen(text);
    int n = snprintf(text + body, size - body, "checksum %016llx\n",
                     (unsigned long long)XXH3_64bits(text, body));
    return body + (size_t)n;
}

/* The sample's text with the first "from" replaced by "to", resealed,
 * parsed: returns the parser's result, errmsg in message. */
static int parse_edited(const char *from, const char *to, char *message, size_t size)
{
    struct backup_manifest m;
    sample(&m);
    char text[BACKUP_MANIFEST_SIZE_MAX], edited[BACKUP_MANIFEST_SIZE_MAX * 2];
    size_t length = 0;
    if (backup_manifest_format(&m, text, sizeof text, &length) != 0)
        return 99;
    char *at = strstr(text, from);
    if (at == NULL)
        return 98;
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    length = reseal(edited, sizeof edited);
    return backup_manifest_parse(edited, length, &m, message, size);
}

TEST(round_trip)
{
    struct backup_manifest m, back;
    sample(&m);
    char text[BACKUP_MANIFEST_SIZE_MAX], message[256] = "";
    size_t length = 0;
    CHECK(backup_manifest_format(&m, text, sizeof text, &length) == 0);
    CHECK(strncmp(text, "nodown-backup 1\n", 16) == 0);
    CHECK(backup_manifest_parse(text, length, &back, message, sizeof message) == 0);
    CHECK(memcmp(&m, &back, sizeof m) == 0);
    CHECK(backup_manifest_file_find(&back, "stream.ndsc.zst")->raw_xxh3 == UINT64_MAX);
    CHECK(backup_manifest_file_find(&back, "nothing") == NULL);
    snprintf(m.node_digest, sizeof m.node_digest, "%s", m.digest);
    m.file_count = 0;
    CHECK(backup_manifest_format(&m, text, sizeof text, &length) == 0);
    CHECK(backup_manifest_parse(text, length, &back, message, sizeof message) == 0);
    CHECK_STR(back.node_digest, m.digest);
    CHECK(backup_manifest_format(&m, text, 40, &length) == ERR_CAPACITY);
}

TEST(every_cut_and_flipped_byte_refused)
{
    struct backup_manifest m, back;
    sample(&m);
    char text[BACKUP_MANIFEST_SIZE_MAX], message[256];
    size_t length = 0;
    CHECK(backup_manifest_format(&m, text, sizeof text, &length) == 0);
    for (size_t cut = 0; cut < length; cut++)
        CHECK(backup_manifest_parse(text, cut, &back, message, sizeof message) != 0);
    for (size_t i = 16; i < length; i++) {
        text[i] ^= 0x01;
        CHECK(backup_manifest_parse(text, length, &back, message, sizeof message) != 0);
        text[i] ^= 0x01;
    }
    text[20] ^= 0x04;
    CHECK(backup_manifest_parse(text, length, &back, message, sizeof message) == ERR_CHECKSUM);
}

TEST(bad_fields_refused_with_their_line)
{
    char message[256] = "";
    CHECK(parse_edited("nodown-backup 1", "nodown-backup 2", message, sizeof message) ==
          ERR_VERSION);
    CHECK(strstr(message, "line 1") != NULL);
    CHECK(parse_edited("nodown-backup 1", "nodown-backup x", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("node_id 1", "node_id 01", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(strstr(message, "line 3") != NULL);
    CHECK(parse_edited("node_id 1", "node_id 4294967296", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("end_seq 250", "end_seq 99", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("messages 150", "messages 151", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("end_seq 250", "end_seq 99999999999999999999", message,
                       sizeof message) == ERR_DECODE_MALFORMED);
    CHECK(parse_edited("digest 0123", "digest 0A23", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("node_digest none", "node_digest nothing", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("logic_version", "logic_versions", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("source node", "source \tnode", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
}

TEST(bad_file_lines_refused)
{
    char message[256] = "";
    CHECK(parse_edited("snapshot.ndsf.zst", "../etc/passwd", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(strstr(message, "line 12") != NULL);
    CHECK(parse_edited("snapshot.ndsf.zst", "stream.ndsc.zst", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("snapshot.ndsf.zst 10", "snapshot.ndsf.zst -10", message,
                       sizeof message) == ERR_DECODE_MALFORMED);
    CHECK(parse_edited("snapshot.ndsf.zst 10 ", "snapshot.ndsf.zst 10  ", message,
                       sizeof message) == ERR_DECODE_MALFORMED);
    CHECK(parse_edited(" 0000000000abcdef", " abcdef", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    CHECK(parse_edited("20 0000000000000007", "20 0000000000000007 1", message,
                       sizeof message) == ERR_DECODE_MALFORMED);
    CHECK(parse_edited("file stream", "fil stream", message, sizeof message) ==
          ERR_DECODE_MALFORMED);
    const char *five = "file a 1 0000000000000001 1 0000000000000001\n"
                       "file b 1 0000000000000001 1 0000000000000001\n"
                       "file c 1 0000000000000001 1 0000000000000001\n"
                       "checksum";
    CHECK(parse_edited("checksum", five, message, sizeof message) == ERR_DECODE_MALFORMED);
    CHECK(strstr(message, "more files") != NULL);
}

TEST(garbage_refused)
{
    struct backup_manifest m;
    char message[256];
    const char *texts[] = {"", "\n", "nodown-backup 1", "nodown-backup 1\n",
                           "nodown-backup 1\nchecksum 0000000000000000\n",
                           "nodown-backup 1\0\nsource x\n"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        CHECK(backup_manifest_parse(texts[i], strlen(texts[i]) + (i == 5 ? 10 : 0), &m, message,
                                    sizeof message) != 0);
    static char big[BACKUP_MANIFEST_SIZE_MAX + 2];
    memset(big, 'a', sizeof big);
    CHECK(backup_manifest_parse(big, sizeof big, &m, message, sizeof message) ==
          ERR_DECODE_MALFORMED);
}

TEST_MAIN()
