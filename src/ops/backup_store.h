/* What `nodown backup`, `backup verify` and `restore` share
 * (docs/backup.md): a backup directory's files compressed with zstd and
 * checked against their manifest (codec/backup_manifest.h), and the
 * backup replayed (its snapshot and its stream copy through this build's
 * replica) to the state at its end sequence.
 *
 * A backup directory, format version 1:
 *   MANIFEST            the manifest (written last, synced)
 *   snapshot.ndsf.zst   the node's snapshot file (docs/formats.md), zstd;
 *                       absent when snapshot_seq is 0 (the empty state)
 *   stream.ndsc.zst     the stream from snapshot_seq + 1 to end_seq, a
 *                       stream copy (ops/stream_copy.h), zstd
 */
#ifndef NODOWN_OPS_BACKUP_STORE_H
#define NODOWN_OPS_BACKUP_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "codec/backup_manifest.h"

#define BACKUP_SNAPSHOT_FILE "snapshot.ndsf.zst"
#define BACKUP_STREAM_FILE "stream.ndsc.zst"
#define BACKUP_PATH_MAX 1024u
/* zstd's level: 3 (its default) compresses a snapshot at several hundred
 * MB/s on one core here; higher levels cost far more time than they save. */
#define BACKUP_ZSTD_LEVEL 3

/* Compresses raw_path into zst_path (synced) and fills entry (name left to
 * the caller). Returns 0 or ERR_IO with errmsg naming the file. */
int backup_file_compress(const char *raw_path, const char *zst_path,
                         struct backup_manifest_file *entry, char *errmsg, size_t size);

/* Decompresses zst_path into raw_path and checks the result's size and
 * XXH3 against entry. Returns 0, ERR_IO, or ERR_CHECKSUM with errmsg. */
int backup_file_decompress(const char *zst_path, const char *raw_path,
                           const struct backup_manifest_file *entry, char *errmsg, size_t size);

/* Reads and parses DIR/MANIFEST. Returns 0 or an error with errmsg
 * ("MANIFEST: ..."). */
int backup_manifest_read(const char *dir, struct backup_manifest *manifest, char *errmsg,
                         size_t size);

/* Checks the manifest and every file it lists (size and XXH3 of the
 * stored bytes), and that the files the backup needs are listed. Prints
 * one line per problem on report ("FILE: what is wrong"), naming each
 * damaged or missing file. Returns how many problems (0: all good). */
uint32_t backup_check_files(const char *dir, struct backup_manifest *manifest, FILE *report);

/* What a replay of a backup found. */
struct backup_replay_result {
    uint64_t end_seq;
    char digest[33];
    char check[256];      /* "ok" or engine_check's first violation */
    uint32_t logic_version;
    uint32_t snapshot_format;
    uint64_t commands;
    uint64_t apply_ns;
};

/* Replays snapshot_path (NULL: the empty state) and the stream copy at
 * stream_path, which must run without a gap to end_seq, in a scratch data
 * directory work_dir (created, left with the replica's snapshots dir).
 * With write_snapshot, a snapshot file at end_seq is written in
 * work_dir/snapshots. Returns 0 with result, or an error with errmsg. */
int backup_replay(const char *snapshot_path, const char *stream_path, uint64_t end_seq,
                  const char *work_dir, bool write_snapshot, struct backup_replay_result *result,
                  char *errmsg, size_t size);

/* Decompresses a checked backup's files into work_dir (snapshot.ndsf,
 * stream.ndsc) and replays them; the result's digest is compared with the
 * manifest's (and the node's, when it told it). Returns 0, or an error
 * with errmsg. */
int backup_replay_dir(const char *dir, const struct backup_manifest *manifest,
                      const char *work_dir, bool write_snapshot,
                      struct backup_replay_result *result, char *errmsg, size_t size);

/* Removes a scratch directory made by this module (files, then the
 * directory; snapshots/ inside it). */
void backup_scratch_remove(const char *dir);

/* Syncs path (a file or a directory). Returns 0 or -1. */
int backup_sync_path(const char *path);

/* The milliseconds since the epoch (for the manifest). */
uint64_t backup_unix_ms(void);

#endif
