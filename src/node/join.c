/* --join: a new node starts from a peer's snapshot (see join.h). */
#include "node/join.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/result.h"
#include "gateway/admin_http.h"

/* Joining a cluster without a rebuild: a node with no snapshot fetches a
 * peer's latest (GET /snapshot/latest), puts it where its own would be,
 * and the replica loads it like its own and consumes the stream after it.
 * The file is checked as any snapshot is (checksums): a bad one is passed
 * over at load, and the node then starts from the beginning. */
int node_join(struct node *node, char *errmsg, size_t size)
{
    char dir[REPLICA_PATH_MAX], path[REPLICA_PATH_MAX + 64], final[REPLICA_PATH_MAX + 64];
    snprintf(dir, sizeof dir, "%s/snapshots", node->config.data_dir);
    uint64_t newest = 0;
    if (replica_snapshot_list(dir, &newest, 1) > 0)
        return 0; /* it has its own: a restart, not a join */
    unsigned port = 0;
    int used = 0;
    char token[HTTP_ADMIN_TOKEN_SIZE_MAX + 2];
    if (sscanf(node->config.join, "%u:%n", &port, &used) != 1 || used == 0 || port == 0 ||
        port > 65535) {
        snprintf(errmsg, size, "--join %s: not PORT:TOKENFILE", node->config.join);
        return ERR_USAGE;
    }
    admin_token_read(node->config.join + used, token, sizeof token);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/.join-download", dir);
    uint64_t seq = 0, bytes = 0;
    uint64_t start_ms = node_now_ms();
    if (admin_http_download((uint16_t)port, "/snapshot/latest", token, path, &seq, &bytes) != 0) {
        unlink(path);
        fprintf(stderr, "nodown: join: no snapshot from 127.0.0.1:%u; starting from the "
                "stream's beginning\n", port);
        return 0;
    }
    replica_snapshot_path(dir, seq, "", final, sizeof final);
    if (rename(path, final) != 0) {
        snprintf(errmsg, size, "join: %.300s: %s", final, strerror(errno));
        return ERR_IO;
    }
    node->joined_ms = node_now_ms();
    printf("nodown: joined from 127.0.0.1:%u: snapshot at stream sequence %" PRIu64
           ", %" PRIu64 " bytes in %" PRIu64 " ms\n", port, seq, bytes,
           node_now_ms() - start_ms);
    fflush(stdout);
    return 0;
}
