/* A synthetic trading day for the history benchmarks: an agent tree,
 * instruments and 1X2 markets, then members trading (crossing orders, so
 * trades, cancels) and betting, the markets settled and the day ended.
 * Its commands come in stream messages (batches) of up to
 * HISTORY_DAY_BATCH commands, applied through a replica exactly as a node
 * applies the stream, so that a feed attached to it sees what a node's
 * would. Deterministic: a seed gives the same day. */
#ifndef NODOWN_BENCH_HISTORY_DAY_H
#define NODOWN_BENCH_HISTORY_DAY_H

#include <stdbool.h>
#include <stdint.h>

#include "replica/replica.h"

#define HISTORY_DAY_BATCH 256u
#define HISTORY_DAY_INSTRUMENTS 50u
#define HISTORY_DAY_MARKETS 200u
#define HISTORY_DAY_AGENTS 40u
#define HISTORY_DAY_MEMBERS 4000u
#define HISTORY_DAY_DATE 20270104u

struct history_day {
    struct replica *replica;
    uint64_t seed;
    uint64_t time_ns;
    uint64_t *client_seq;   /* per account */
    uint32_t operator_id;
    uint32_t agents[HISTORY_DAY_AGENTS];
    uint32_t members[HISTORY_DAY_MEMBERS];
    uint64_t *recent_orders; /* a ring of order ids to cancel */
    uint32_t recent_count;
    uint64_t last_order_id;  /* the newest order and bet accepted */
    uint64_t last_bet_id;
    uint64_t commands;
    uint64_t rejects;
    struct command batch[HISTORY_DAY_BATCH];
    uint32_t batch_count;
    uint8_t *encoded;
};

/* Sets the day up on replica (empty, freshly opened): the tree, the
 * venues, the day's start. Returns 0 or an error. */
int history_day_open(struct history_day *day, struct replica *replica, uint64_t seed);
void history_day_close(struct history_day *day);

/* Applies trading until the feed's consumers saw at least events_min
 * events, or until commands_max commands. */
int history_day_trade(struct history_day *day, uint64_t commands_max);

/* Settles every market and ends the day. */
int history_day_end(struct history_day *day);

#endif
