/* The attackers of `nodown bench node --hostile`: one forked process that,
 * from loopback source addresses other than 127.0.0.1, holds idle
 * connections on a node's client port, tries wrong logons at a rate and
 * drips bytes into its admin port, reconnecting whatever the node closes.
 * Bounded: a fixed number of sockets, a fixed rate, until stopped. */
#ifndef NODOWN_BENCH_BENCH_HOSTILE_H
#define NODOWN_BENCH_BENCH_HOSTILE_H

#include <stdint.h>
#include <sys/types.h>

#define HOSTILE_IDLE_DEFAULT 1500u
#define HOSTILE_LOGONS_PER_S_DEFAULT 400u
#define HOSTILE_DRIPS_DEFAULT 64u
#define HOSTILE_SOCKETS_MAX 4096u

struct hostile_options {
    uint16_t client_port;    /* the node's client port on 127.0.0.1 */
    uint16_t admin_port;     /* its admin (HTTP) port on 127.0.0.1 */
    uint32_t account_id;     /* a real account: the wrong logons name it half the time */
    uint32_t idle;           /* idle connections held (127.0.0.2 .. 127.0.0.101) */
    uint32_t logons_per_s;   /* wrong logons started a second (127.0.1.1 .. 127.0.1.20) */
    uint32_t drips;          /* HTTP connections dripping a byte a second (127.0.2.x) */
};

/* What the attackers did, told by the attacking process when stopped. */
struct hostile_stats {
    uint64_t connects;          /* connections opened, every kind */
    uint64_t closed_by_node;    /* of them, closed by the node */
    uint64_t logons_tried;
    uint64_t logons_answered;   /* an answer (refusal) came back */
    uint32_t idle_held_min;     /* fewest idle connections open at a sample, after 1 s */
    uint32_t idle_held_max;
    uint64_t cpu_us;            /* the attacking process's CPU, user + system */
    double seconds;
};

/* The attacking process, seen from the bench. */
struct hostile {
    pid_t pid;
    int stats_fd; /* it writes its struct hostile_stats here when stopped */
};

/* Forks the attacking process; returns 0, or -1. */
int hostile_start(const struct hostile_options *options, struct hostile *hostile);

/* Stops it and reads what it did; returns 0, or -1 if it could not tell. */
int hostile_stop(struct hostile *hostile, struct hostile_stats *stats);

#endif
