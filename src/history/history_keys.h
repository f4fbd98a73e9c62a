/* The archive's one index: a key (what a row is about) and the stream
 * sequence of a message that has rows about it. A key packs a kind in its
 * top byte and an id below; the archive writes each (key, seq) pair once
 * (a message's keys are deduplicated), sorted per transaction, into a
 * WITHOUT ROWID table, and `nodown history` finds the messages of an
 * account, an order, a bet, an instrument or a market through it. The
 * kinds are part of the archive's format: values never change meaning. */
#ifndef NODOWN_HISTORY_HISTORY_KEYS_H
#define NODOWN_HISTORY_HISTORY_KEYS_H

#include <stdint.h>

enum history_key_kind {
    HISTORY_KEY_ACCOUNT = 1,
    HISTORY_KEY_ORDER = 2,
    HISTORY_KEY_BET = 3,
    HISTORY_KEY_INSTRUMENT = 4,
    HISTORY_KEY_MARKET = 5,
};

struct history_key {
    int64_t key;
    int64_t seq;
};

static inline int64_t history_key_make(enum history_key_kind kind, uint64_t id)
{
    return (int64_t)(((uint64_t)kind << 56) | (id & ((UINT64_C(1) << 56) - 1)));
}

/* Sorts keys by (key, seq), stably by key: keys appended in stream order
 * are in seq order already. scratch holds count entries. No allocation. */
void history_keys_sort(struct history_key *keys, struct history_key *scratch, uint32_t count);

/* Removes repeats from sorted keys; returns the new count. */
uint32_t history_keys_unique(struct history_key *keys, uint32_t count);

#endif
