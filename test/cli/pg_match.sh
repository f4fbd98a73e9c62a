#!/usr/bin/env bash
# Correctness test of the PL/pgSQL matcher that bench/pg/bench_pg.sh
# measures (bench/pg/match.sql), on a throw-away PostgreSQL 15 cluster
# started as the benchmark starts it (bench/pg/pg_lib.sh). Scenarios with
# exact results, one order after another: a day order rests; a crossing
# order fills at the resting price; a partial fill rests the remainder; an
# IOC remainder is cancelled; price-time priority on both sides, within a
# price and across prices; a resend of (account, client_seq) returns the
# first outcome and places nothing; the self-trade policy; bad orders are
# errors that record nothing; cash and positions after it all. Then the
# benchmark's crossing workload from four pgbench clients at once for two
# seconds: the book must not be left crossed, and cash and positions must
# add up.
#
# The server is stopped and its directory removed on every path out.
# Prints "pg_match.sh: N passed, N failed" last; exits non-zero on a failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=bench/pg/pg_lib.sh
. bench/pg/pg_lib.sh
passed=0
failed=0
trap pg_cluster_stop EXIT
trap 'exit 1' INT TERM

pass() { passed=$((passed + 1)); }
fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}

if ! pg_cluster_start; then
    echo "pg_match.sh: 0 passed, 1 failed"
    exit 1
fi

# sql DATABASE SQL: runs SQL; prints its rows with fields separated by
# spaces and rows by ", ", or the error. Returns psql's exit code.
sql() {
    timeout --foreground 60 "$PG_BIN/psql" -X -q -A -t -F ' ' -R ', ' -v ON_ERROR_STOP=1 \
        -d "$1" -c "$2" 2>&1
}

# expect NAME SQL EXPECTED: SQL succeeds in the database "match" (or
# $DATABASE) and prints exactly EXPECTED.
DATABASE=match
expect() {
    local out
    if ! out=$(sql "$DATABASE" "$2"); then
        fail "$1: $2: $out"
    elif [ "$out" != "$3" ]; then
        fail "$1: '$out', expected '$3'"
    else
        pass
    fi
}

# expect_error NAME SQL PATTERN: SQL fails with an error matching PATTERN.
expect_error() {
    local out
    if out=$(sql match "$2"); then
        fail "$1: succeeded ('$out'), expected an error"
    elif ! grep -q -E -- "$3" <<<"$out"; then
        fail "$1: '$out' does not match '$3'"
    else
        pass
    fi
}

# place NAME ACCOUNT SIDE TIF PRICE QUANTITY CLIENT_SEQ EXPECTED: places one
# order; EXPECTED is "order_id filled_quantity".
place() {
    expect "$1" "select * from nodown_place($2, '$3', '$4', $5, $6, $7)" "$8"
}

BOOK="select order_id, side, open_quantity || '@' || price_ticks from orders
      where open_quantity > 0 order by side, order_id"
TRADES="select buy_order_id, sell_order_id, price_ticks, quantity from trades order by trade_id"
ACCOUNTS="select account_id, cash_minor, position_quantity from accounts order by account_id"

# database NAME ACCOUNT_COUNT CASH_MINOR: a database with match.sql loaded
# and accounts 1..ACCOUNT_COUNT holding CASH_MINOR each.
database() {
    local out
    if ! out=$(sql postgres "create database $1") ||
        ! out=$(timeout --foreground 60 "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" \
            -f bench/pg/match.sql 2>&1) ||
        ! out=$(sql "$1" "insert into accounts (account_id, cash_minor)
                          select g, $3 from generate_series(1, $2) g"); then
        fail "database $1: $out"
        echo "pg_match.sh: $passed passed, $failed failed"
        exit 1
    fi
}

database match 3 1000000

# ---- Resting, crossing, partial fills, IOC. ----

place "a day buy rests" 1 buy day 100 10 1 "1 0"
expect "the book holds it" "$BOOK" "1 buy 10@100"
place "a crossing sell fills at the resting price" 2 sell day 99 4 1 "2 4"
expect "the trade is at 100, not 99" "$TRADES" "1 2 100 4"
expect "the bid is left with 6" "$BOOK" "1 buy 6@100"
place "a larger sell fills 6" 2 sell day 100 10 2 "3 6"
expect "its remainder rests" "$BOOK" "3 sell 4@100"
expect "the bid is filled" "select status, filled_quantity, open_quantity from orders
    where order_id = 1" "filled 10 0"
place "an IOC buy fills 4 of 10" 1 buy ioc 101 10 2 "4 4"
expect "the IOC remainder is cancelled" "select status, filled_quantity, open_quantity
    from orders where order_id = 4" "cancelled 4 0"
expect "the book is empty" "select count(*) from orders where open_quantity > 0" "0"
place "an IOC meeting nothing" 3 buy ioc 50 5 1 "5 0"
expect "is cancelled whole" "select status, open_quantity from orders where order_id = 5" \
    "cancelled 0"

# ---- Price-time priority. ----

place "ask 105 (account 3)" 3 sell day 105 5 2 "6 0"
place "ask 105 (account 2), later" 2 sell day 105 5 3 "7 0"
place "ask 104 (account 2), latest" 2 sell day 104 5 4 "8 0"
place "a buy of 8 at 105" 1 buy day 105 8 3 "9 8"
expect "the better price first, then the older order" \
    "select buy_order_id, sell_order_id, price_ticks, quantity from trades where trade_id > 3
     order by trade_id" "9 8 104 5, 9 6 105 3"
expect "asks after" "$BOOK" "6 sell 2@105, 7 sell 5@105"
place "bid 90 (account 2)" 2 buy day 90 1 5 "10 0"
place "bid 90 (account 3), later" 3 buy day 90 1 3 "11 0"
place "bid 91 (account 3), latest" 3 buy day 91 1 4 "12 0"
place "an IOC sell of 2 at 90" 1 sell ioc 90 2 4 "13 2"
expect "the higher bid first, then the older at 90" \
    "select buy_order_id, sell_order_id, price_ticks, quantity from trades where trade_id > 5
     order by trade_id" "12 13 91 1, 10 13 90 1"
expect "book after" "$BOOK" "11 buy 1@90, 6 sell 2@105, 7 sell 5@105"

# ---- Exactly-once. ----

place "a resend returns the first outcome" 1 buy day 105 8 3 "9 8"
place "a resend with other fields too" 1 sell ioc 1 1 3 "9 8"
expect "and places nothing" "select count(*), max(order_id), (select count(*) from trades)
    from orders" "13 13 7"
expect "the same client_seq from another account is another order" \
    "select count(*) from orders where client_seq = 3" "3"

# ---- Bad orders: errors, nothing recorded, no client_seq used. ----

expect_error "quantity 0" "select * from nodown_place(1, 'buy', 'day', 100, 0, 9)" \
    'quantity 0 is not positive'
expect_error "a bad side" "select * from nodown_place(1, 'hold', 'day', 100, 1, 9)" \
    'side hold is not buy or sell'
expect_error "a bad time in force" "select * from nodown_place(1, 'buy', 'gtc', 100, 1, 9)" \
    'time in force gtc is not day or ioc'
expect_error "price 0" "select * from nodown_place(1, 'buy', 'day', 0, 1, 9)" \
    'price 0 is not positive'
expect_error "an unknown account" "select * from nodown_place(99, 'buy', 'day', 100, 1, 1)" \
    'account 99 does not exist'
expect "nothing recorded" "select count(*) from orders" "13"

# ---- Self-trade: cancel newest. ----

place "a sell meeting its own account's bid first" 3 sell day 90 3 5 "14 0"
expect "is cancelled, and the bid stays" \
    "select status, open_quantity, (select open_quantity from orders where order_id = 11)
     from orders where order_id = 14" "cancelled 0 1"
place "a buy that fills 2, then meets its own ask" 2 buy day 105 4 6 "15 2"
expect "fills from account 3 only" "select buy_order_id, sell_order_id, price_ticks, quantity
    from trades where trade_id > 7" "15 6 105 2"
expect "its day remainder is cancelled" \
    "select status, open_quantity from orders where order_id = 15" "cancelled 0"
expect "the final book" "$BOOK" "11 buy 1@90, 7 sell 5@105"

# ---- Cash and positions. Trades: account 1 bought 4+6+4 at 100, 5 at 104,
# 3 at 105 from 2 and 3, sold 1 at 91 and 1 at 90; account 2 bought 1 at 90
# and 2 at 105; account 3 bought 1 at 91. ----

expect "cash and positions" "$ACCOUNTS" "1 997946 20, 2 1001620 -16, 3 1000434 -4"
expect "money and positions are conserved" \
    "select sum(cash_minor), sum(position_quantity) from accounts" "3000000 0"
expect "the last price" "select last_price_ticks from instruments" "105"
expect "each order's filled quantity is its trades'" \
    "select count(*) from orders o where o.filled_quantity <> (select coalesce(sum(quantity), 0)
     from trades t where t.buy_order_id = o.order_id or t.sell_order_id = o.order_id)" "0"

# ---- Concurrent clients: the crossing workload of bench_pg.sh. ----

database concurrent 4 1000000000
pg_workload_script cross >"$PG_DIR/cross.pgbench"
if ! out=$(timeout --foreground --kill-after=10 60 "$PG_BIN/pgbench" -n -M prepared -c 4 -j 2 -T 2 \
    -D seq=0 -f "$PG_DIR/cross.pgbench" concurrent 2>&1); then
    fail "pgbench: $out"
else
    DATABASE=concurrent
    processed=$(sed -n 's/^number of transactions actually processed: \([0-9]*\)$/\1/p' \
        <<<"$out")
    expect "one order a transaction" "select count(*) from orders" "$processed"
    expect "they traded" "select count(*) > 100 from trades" "t"
    expect "the book is not crossed" "select coalesce(
        (select max(price_ticks) from orders where side = 'buy' and open_quantity > 0) <
        (select min(price_ticks) from orders where side = 'sell' and open_quantity > 0), true)" "t"
    expect "money and positions are conserved" \
        "select sum(cash_minor), sum(position_quantity) from accounts" "4000000000 0"
    expect "positions are the trades'" "select count(*) from accounts a
        where a.position_quantity <> (select coalesce(sum(case when t.buy_account_id =
        a.account_id then t.quantity else -t.quantity end), 0) from trades t
        where a.account_id in (t.buy_account_id, t.sell_account_id))" "0"
    expect "no account traded with itself" \
        "select count(*) from trades where buy_account_id = sell_account_id" "0"
fi

echo "pg_match.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
