/* The backup manifest's text (backup_manifest.h): written in one pass,
 * read back line by line with every key expected in its place.
 *
 * The parser checks, in this order: the first line's version (a newer
 * manifest is ERR_VERSION, whatever follows), the last line's checksum
 * over every byte before it (ERR_CHECKSUM), then each line's key and
 * value (ERR_DECODE_MALFORMED, naming the line). Numbers are plain
 * decimal without sign or leading zeros, at most 2^64 - 1; checksums and
 * digests lowercase hex of their exact width.
 */
#include "codec/backup_manifest.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "core/result.h"

#define MANIFEST_VALUE_SIZE 256u

struct manifest_cursor {
    const char *text;
    size_t length;
    size_t at;
    uint32_t line;
    char *errmsg;
    size_t errmsg_size;
};

static bool manifest_name_valid(const char *name)
{
    size_t size = strlen(name);
    if (size == 0 || size >= BACKUP_MANIFEST_FILE_NAME_SIZE || name[0] == '.')
        return false;
    for (size_t i = 0; i < size; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return false;
    }
    return true;
}

static bool manifest_source_valid(const char *source)
{
    size_t size = strlen(source);
    if (size >= BACKUP_MANIFEST_SOURCE_SIZE)
        return false;
    for (size_t i = 0; i < size; i++)
        if ((unsigned char)source[i] < 0x20 || (unsigned char)source[i] >= 0x7f)
            return false;
    return true;
}

static bool manifest_hex_valid(const char *hex, size_t width)
{
    if (strlen(hex) != width)
        return false;
    for (size_t i = 0; i < width; i++)
        if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
            return false;
    return true;
}

static void manifest_check(const struct backup_manifest *m)
{
    assert(m->version == BACKUP_MANIFEST_VERSION);
    assert(manifest_source_valid(m->source));
    assert(m->end_seq >= m->snapshot_seq);
    assert(m->messages == m->end_seq - m->snapshot_seq);
    assert(manifest_hex_valid(m->digest, 32));
    assert(m->node_digest[0] == '\0' || manifest_hex_valid(m->node_digest, 32));
    assert(m->file_count <= BACKUP_MANIFEST_FILES_MAX);
    for (uint32_t i = 0; i < m->file_count; i++)
        assert(manifest_name_valid(m->files[i].name));
}

int backup_manifest_format(const struct backup_manifest *m, char *out, size_t size,
                           size_t *length)
{
    manifest_check(m);
    int n = snprintf(out, size,
                     "nodown-backup %u\nsource %s\nnode_id %u\nlogic_version %u\n"
                     "snapshot_format %u\nsnapshot_seq %" PRIu64 "\nend_seq %" PRIu64
                     "\nmessages %" PRIu64 "\ndigest %s\nnode_digest %s\ncreated_unix_ms %"
                     PRIu64 "\n", m->version, m->source, m->node_id, m->logic_version,
                     m->snapshot_format, m->snapshot_seq, m->end_seq, m->messages, m->digest,
                     m->node_digest[0] != '\0' ? m->node_digest : "none", m->created_unix_ms);
    size_t used = n > 0 ? (size_t)n : size;
    for (uint32_t i = 0; i < m->file_count && used < size; i++) {
        const struct backup_manifest_file *f = &m->files[i];
        n = snprintf(out + used, size - used,
                     "file %s %" PRIu64 " %016" PRIx64 " %" PRIu64 " %016" PRIx64 "\n", f->name,
                     f->size_bytes, f->xxh3, f->raw_size_bytes, f->raw_xxh3);
        used += n > 0 ? (size_t)n : size;
    }
    if (used < size) {
        uint64_t sum = XXH3_64bits(out, used);
        n = snprintf(out + used, size - used, "checksum %016" PRIx64 "\n", sum);
        used += n > 0 ? (size_t)n : size;
    }
    if (used >= size)
        return ERR_CAPACITY;
    *length = used;
    assert(out[used - 1] == '\n');
    return 0;
}

/* ---- Reading. ---- */

static int manifest_error(struct manifest_cursor *c, int rv, const char *what)
{
    snprintf(c->errmsg, c->errmsg_size, "manifest line %u: %s", c->line, what);
    return rv;
}

/* The next line "key value": its key must be key; value copied out. */
static int manifest_line(struct manifest_cursor *c, const char *key, char *value)
{
    c->line++;
    const char *start = c->text + c->at;
    const char *end = memchr(start, '\n', c->length - c->at);
    if (end == NULL)
        return manifest_error(c, ERR_DECODE_MALFORMED, "missing (the text ends early)");
    size_t size = (size_t)(end - start), key_size = strlen(key);
    char message[96];
    if (size <= key_size || memcmp(start, key, key_size) != 0 || start[key_size] != ' ') {
        snprintf(message, sizeof message, "expected \"%s ...\"", key);
        return manifest_error(c, ERR_DECODE_MALFORMED, message);
    }
    size_t value_size = size - key_size - 1;
    if (value_size >= MANIFEST_VALUE_SIZE || memchr(start, '\0', size) != NULL)
        return manifest_error(c, ERR_DECODE_MALFORMED, "value too long or not text");
    memcpy(value, start + key_size + 1, value_size);
    value[value_size] = '\0';
    c->at += size + 1;
    return 0;
}

static bool manifest_u64(const char *text, uint64_t *value)
{
    size_t size = strlen(text);
    if (size == 0 || size > 20 || (size > 1 && text[0] == '0'))
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < size; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        uint64_t digit = (uint64_t)(text[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *value = v;
    return true;
}

static bool manifest_hex64(const char *text, uint64_t *value)
{
    if (!manifest_hex_valid(text, 16))
        return false;
    uint64_t v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 4 | (uint64_t)(text[i] <= '9' ? text[i] - '0' : text[i] - 'a' + 10);
    *value = v;
    return true;
}

static int manifest_number(struct manifest_cursor *c, const char *key, uint64_t max,
                           uint64_t *value)
{
    char text[MANIFEST_VALUE_SIZE];
    int rv = manifest_line(c, key, text);
    if (rv != 0)
        return rv;
    if (!manifest_u64(text, value) || *value > max)
        return manifest_error(c, ERR_DECODE_MALFORMED, "not a number in range");
    return 0;
}

static int manifest_u32(struct manifest_cursor *c, const char *key, uint32_t *value)
{
    uint64_t v = 0;
    int rv = manifest_number(c, key, UINT32_MAX, &v);
    *value = (uint32_t)v;
    return rv;
}

/* The first line's version, then the last line's checksum. */
static int manifest_envelope(struct manifest_cursor *c)
{
    char value[MANIFEST_VALUE_SIZE];
    uint64_t version = 0, sum = 0;
    int rv = manifest_line(c, "nodown-backup", value);
    if (rv != 0)
        return rv;
    if (!manifest_u64(value, &version) || version == 0)
        return manifest_error(c, ERR_DECODE_MALFORMED, "the version is not a number");
    if (version != BACKUP_MANIFEST_VERSION)
        return manifest_error(c, ERR_VERSION, "a manifest version this build does not read");
    if (c->length < 2 || c->text[c->length - 1] != '\n')
        return manifest_error(c, ERR_DECODE_MALFORMED, "the text does not end with a line");
    size_t last = c->length - 1;
    while (last > 0 && c->text[last - 1] != '\n')
        last--;
    struct manifest_cursor tail = *c;
    tail.at = last;
    tail.line = 0;
    if (manifest_line(&tail, "checksum", value) != 0 || !manifest_hex64(value, &sum))
        return manifest_error(c, ERR_DECODE_MALFORMED, "the last line is not \"checksum HEX\"");
    if (XXH3_64bits(c->text, last) != sum)
        return manifest_error(c, ERR_CHECKSUM, "the checksum does not match the text");
    c->length = last; /* the fields end where the checksum starts */
    return 0;
}

/* "digest HEX32", and "node_digest HEX32|none". */
static int manifest_digests(struct manifest_cursor *c, struct backup_manifest *m)
{
    char value[MANIFEST_VALUE_SIZE];
    int rv = manifest_line(c, "digest", value);
    if (rv != 0)
        return rv;
    if (!manifest_hex_valid(value, 32))
        return manifest_error(c, ERR_DECODE_MALFORMED, "not a digest (32 hex digits)");
    memcpy(m->digest, value, 33);
    if ((rv = manifest_line(c, "node_digest", value)) != 0)
        return rv;
    if (strcmp(value, "none") == 0)
        return 0;
    if (!manifest_hex_valid(value, 32))
        return manifest_error(c, ERR_DECODE_MALFORMED, "not a digest (32 hex digits) or none");
    memcpy(m->node_digest, value, 33);
    return 0;
}

static int manifest_head(struct manifest_cursor *c, struct backup_manifest *m)
{
    char value[MANIFEST_VALUE_SIZE];
    int rv = manifest_line(c, "source", value);
    if (rv != 0)
        return rv;
    if (!manifest_source_valid(value))
        return manifest_error(c, ERR_DECODE_MALFORMED, "the source is too long or not text");
    memcpy(m->source, value, strlen(value) + 1); /* checked: shorter than m->source */
    if ((rv = manifest_u32(c, "node_id", &m->node_id)) != 0 ||
        (rv = manifest_u32(c, "logic_version", &m->logic_version)) != 0 ||
        (rv = manifest_u32(c, "snapshot_format", &m->snapshot_format)) != 0 ||
        (rv = manifest_number(c, "snapshot_seq", UINT64_MAX, &m->snapshot_seq)) != 0 ||
        (rv = manifest_number(c, "end_seq", UINT64_MAX, &m->end_seq)) != 0)
        return rv;
    if (m->end_seq < m->snapshot_seq)
        return manifest_error(c, ERR_DECODE_MALFORMED, "end_seq is before snapshot_seq");
    if ((rv = manifest_number(c, "messages", UINT64_MAX, &m->messages)) != 0)
        return rv;
    if (m->messages != m->end_seq - m->snapshot_seq)
        return manifest_error(c, ERR_DECODE_MALFORMED, "messages is not end_seq - snapshot_seq");
    if ((rv = manifest_digests(c, m)) != 0)
        return rv;
    return manifest_number(c, "created_unix_ms", UINT64_MAX, &m->created_unix_ms);
}

/* "file NAME SIZE XXH3 RAW_SIZE RAW_XXH3" */
static int manifest_file(struct manifest_cursor *c, struct backup_manifest *m)
{
    char value[MANIFEST_VALUE_SIZE], name[MANIFEST_VALUE_SIZE], size[32], sum[32], raw[32],
        raw_sum[32], extra[2];
    int rv = manifest_line(c, "file", value);
    if (rv != 0)
        return rv;
    if (m->file_count == BACKUP_MANIFEST_FILES_MAX)
        return manifest_error(c, ERR_DECODE_MALFORMED, "more files than a manifest holds");
    struct backup_manifest_file *f = &m->files[m->file_count];
    if (sscanf(value, "%255s %31s %31s %31s %31s %1s", name, size, sum, raw, raw_sum, extra) != 5 ||
        strchr(value, '\t') != NULL || strstr(value, "  ") != NULL)
        return manifest_error(c, ERR_DECODE_MALFORMED, "not NAME SIZE XXH3 RAW_SIZE RAW_XXH3");
    if (!manifest_name_valid(name))
        return manifest_error(c, ERR_DECODE_MALFORMED, "not a file name ([a-z0-9._-])");
    if (!manifest_u64(size, &f->size_bytes) || !manifest_hex64(sum, &f->xxh3) ||
        !manifest_u64(raw, &f->raw_size_bytes) || !manifest_hex64(raw_sum, &f->raw_xxh3))
        return manifest_error(c, ERR_DECODE_MALFORMED, "a size or checksum is malformed");
    if (backup_manifest_file_find(m, name) != NULL)
        return manifest_error(c, ERR_DECODE_MALFORMED, "a file named twice");
    memcpy(f->name, name, strlen(name) + 1); /* checked: shorter than f->name */
    m->file_count++;
    return 0;
}

int backup_manifest_parse(const char *text, size_t length, struct backup_manifest *m,
                          char *errmsg, size_t errmsg_size)
{
    memset(m, 0, sizeof *m);
    struct manifest_cursor c = {text, length, 0, 0, errmsg, errmsg_size};
    if (length > BACKUP_MANIFEST_SIZE_MAX)
        return manifest_error(&c, ERR_DECODE_MALFORMED, "larger than a manifest can be");
    int rv = manifest_envelope(&c);
    if (rv == 0)
        rv = manifest_head(&c, m);
    while (rv == 0 && c.at < c.length)
        rv = manifest_file(&c, m);
    if (rv != 0)
        return rv;
    m->version = BACKUP_MANIFEST_VERSION;
    manifest_check(m);
    return 0;
}

const struct backup_manifest_file *backup_manifest_file_find(const struct backup_manifest *m,
                                                             const char *name)
{
    for (uint32_t i = 0; i < m->file_count; i++)
        if (strcmp(m->files[i].name, name) == 0)
            return &m->files[i];
    return NULL;
}
