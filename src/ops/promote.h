/* `nodown promote`: the disaster-recovery site becomes primary. Its
 * mirror of the primary's stream is copied into the site's own stream
 * once the primary has fallen silent (promote.c says more). */
#ifndef NODOWN_OPS_PROMOTE_H
#define NODOWN_OPS_PROMOTE_H

#include <stdbool.h>

struct promote_options {
    const char *nats;   /* the DR site's servers */
    const char *dir;    /* or a local cluster's directory (cluster up --dr) */
    const char *domain; /* the primary's JetStream domain */
    int replicas;
    int wait_s;
    bool force;
    bool json;
};

/* Promotes the site of options->nats, or the DR site of the local
 * cluster in options->dir, and prints what the site holds. Returns the
 * exit code: 0 when promoted (or already), 1 otherwise. */
int promote_run(const struct promote_options *options);

#endif
