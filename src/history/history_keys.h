/* The archive's one index, the postings table: per transaction, one row
 * per key (what records are about) with its records, in stream order. A
 * key packs a kind in its top byte and an id below. A record is in the
 * row of every key it is about (a trade: its taker, its maker, both
 * orders and the instrument), so that each question reads its own
 * records only, whatever the size of the messages they came in (a day's
 * end expiring every order, a market settling every bet). The kinds are
 * part of the archive's format: values never change meaning. */
#ifndef NODOWN_HISTORY_HISTORY_KEYS_H
#define NODOWN_HISTORY_HISTORY_KEYS_H

#include <stdint.h>

enum history_key_kind {
    HISTORY_KEY_ACCOUNT = 1,    /* its commands, events, balances */
    HISTORY_KEY_ORDER = 2,      /* its place, cancel, replace; its events */
    HISTORY_KEY_BET = 3,        /* its place; accepted, settled, commission */
    HISTORY_KEY_INSTRUMENT = 4, /* its trades */
    HISTORY_KEY_MARKET = 5,     /* its commands, odds, bets, settlement */
};

/* ref: where the record is in the writer's transaction (archive.c: its
 * blob, offset and length). */
struct history_key {
    int64_t key;
    int64_t seq;
    uint64_t ref;
};

static inline int64_t history_key_make(enum history_key_kind kind, uint64_t id)
{
    return (int64_t)(((uint64_t)kind << 56) | (id & ((UINT64_C(1) << 56) - 1)));
}

/* Sorts keys by (key, seq), stably by key: keys appended in stream order
 * are in seq order already. scratch holds count entries. No allocation. */
void history_keys_sort(struct history_key *keys, struct history_key *scratch, uint32_t count);

/* Removes repeats (key, seq and ref alike) from sorted keys; returns the
 * new count. */
uint32_t history_keys_unique(struct history_key *keys, uint32_t count);

#endif
