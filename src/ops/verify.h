/* `nodown verify`: asks every node for its state's digest and invariant
 * check at one stream sequence (GET /verify?at=S, node/verify_at.h) and
 * compares them (verify.c says how S is chosen). */
#ifndef NODOWN_OPS_VERIFY_H
#define NODOWN_OPS_VERIFY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define VERIFY_NODES_MAX 32u

struct verify_node {
    char name[64];
    uint16_t port;  /* the admin interface on 127.0.0.1 */
    char token[128];
    uint64_t applied;
    char state[16]; /* done, pending, past, or unreachable */
    char digest[40];
    char check[200];
};

/* The nodes asked and the answers; zeroed, then timeout_ms and json set
 * and the nodes added, before verify_run. */
struct verify {
    struct verify_node nodes[VERIFY_NODES_MAX];
    uint32_t count;
    int timeout_ms;
    bool json;
    uint64_t at;
    FILE *out; /* where the report goes; NULL: stdout */
};

/* The nodes of the local cluster in dir, its DR site's too. Returns 0, or
 * -1 (said on stderr) when dir holds no cluster. */
int verify_add_cluster(struct verify *verify, const char *dir);

/* A node's admin interface on 127.0.0.1, given as PORT:TOKENFILE. Returns
 * 0, or -1 when text is not that or the token cannot be read. */
int verify_add_node(struct verify *verify, const char *text);

/* Asks the nodes until all answer at one S or the time is up, and prints
 * the report (JSON with json). Returns the exit code: 0 when all agree
 * and every check is ok, 1 otherwise. */
int verify_run(struct verify *verify);

#endif
