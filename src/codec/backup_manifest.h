/* The manifest of a backup (`nodown backup`, docs/backup.md): a small
 * text file, MANIFEST in the backup's directory, that says what the
 * backup holds and how to check every byte of it. Format version 1
 * (docs/formats.md, "Backup manifest"), one "key value" line each, in
 * this order, every key exactly once except "file" (0 to 4 lines):
 *
 *   nodown-backup 1
 *   source TEXT             where it came from: "node 1 at 127.0.0.1:7480"
 *   node_id N
 *   logic_version N         the state's logic version at end_seq
 *   snapshot_format N       the snapshot file's engine format version
 *   snapshot_seq N          the snapshot's stream sequence (0: none, the empty state)
 *   end_seq N               the last stream message the backup holds
 *   messages N              messages in the stream copy: end_seq - snapshot_seq
 *   digest HEX32            the state's digest at end_seq (the backup replayed)
 *   node_digest HEX32|none  the node's own digest at end_seq, when it told it
 *   created_unix_ms N
 *   file NAME SIZE XXH3 RAW_SIZE RAW_XXH3   per file: stored (zstd) bytes and
 *                           their XXH3-64, and the same of the file decompressed
 *   checksum XXH3           XXH3-64 of every byte before this line
 *
 * Pure text in, text out: no I/O. The parser refuses anything else with a
 * sentence naming the line, so a damaged manifest is never half-believed.
 */
#ifndef NODOWN_CODEC_BACKUP_MANIFEST_H
#define NODOWN_CODEC_BACKUP_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#define BACKUP_MANIFEST_VERSION 1u
#define BACKUP_MANIFEST_NAME "MANIFEST"
#define BACKUP_MANIFEST_FILES_MAX 4u
#define BACKUP_MANIFEST_FILE_NAME_SIZE 64u  /* [a-z0-9._-], at most 63 */
#define BACKUP_MANIFEST_SOURCE_SIZE 128u    /* visible ASCII and spaces */
#define BACKUP_MANIFEST_SIZE_MAX 4096u      /* the whole text */

struct backup_manifest_file {
    char name[BACKUP_MANIFEST_FILE_NAME_SIZE];
    uint64_t size_bytes;     /* as stored (compressed) */
    uint64_t xxh3;           /* of the stored bytes */
    uint64_t raw_size_bytes; /* decompressed */
    uint64_t raw_xxh3;
};

struct backup_manifest {
    uint32_t version;
    char source[BACKUP_MANIFEST_SOURCE_SIZE];
    uint32_t node_id;
    uint32_t logic_version;
    uint32_t snapshot_format;
    uint64_t snapshot_seq;
    uint64_t end_seq;
    uint64_t messages;
    char digest[33];
    char node_digest[33];    /* "" when the node did not tell it */
    uint64_t created_unix_ms;
    uint32_t file_count;
    struct backup_manifest_file files[BACKUP_MANIFEST_FILES_MAX];
};

/* Writes the manifest's text into out (NUL-terminated). Returns 0 with
 * *length, or ERR_CAPACITY when it does not fit. The manifest must be
 * well formed (asserted: it is ours). */
int backup_manifest_format(const struct backup_manifest *manifest, char *out, size_t size,
                           size_t *length);

/* Reads a manifest's text (length bytes, not NUL-terminated). Returns 0,
 * ERR_VERSION for a version this build does not read, ERR_CHECKSUM when
 * the last line's checksum does not match, or ERR_DECODE_MALFORMED, each
 * with a sentence in errmsg naming the line. */
int backup_manifest_parse(const char *text, size_t length, struct backup_manifest *manifest,
                          char *errmsg, size_t errmsg_size);

/* The file entry named name, or NULL. */
const struct backup_manifest_file *backup_manifest_file_find(const struct backup_manifest *m,
                                                             const char *name);

#endif
