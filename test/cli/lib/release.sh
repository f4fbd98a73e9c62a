# shellcheck shell=bash disable=SC2154
# Shell helpers for running an old release's node beside the working
# tree's (sourced, not run): test/cli/release_compat.sh and
# tools/release_fixtures.sh. The caller sets $work (a scratch directory)
# and $house_secret; a node's output goes to $work/<name>.out and .err.

# release_serve NAME BINARY DATA [serve options...]: starts BINARY as a
# node on the embedded default with its data in DATA, on free loopback
# ports; sets release_pid, release_listen and release_http. Fails when it
# does not say it serves within 30 s. $work/NAME.out holds this run's
# output only, .err every run's.
release_serve() {
    local name=$1 binary=$2 data=$3
    shift 3
    release_listen=$(build/test/e2e_node free-port)
    release_http=$(build/test/e2e_node free-port)
    : >"$work/$name.out"
    env -u NODOWN_ADMIN_TOKEN NODOWN_HOUSE_SECRET="$house_secret" "$binary" serve \
        --data "$data" --listen "127.0.0.1:$release_listen" \
        --http "127.0.0.1:$release_http" "$@" >>"$work/$name.out" 2>>"$work/$name.err" &
    release_pid=$!
    local deadline=$((SECONDS + 30))
    while ! grep -q "serving clients" "$work/$name.out" 2>/dev/null; do
        if [ $SECONDS -ge $deadline ] || ! kill -0 "$release_pid" 2>/dev/null; then
            tail -n 5 "$work/$name.err"
            return 1
        fi
        sleep 0.1
    done
}

# release_status DATA: the node's /status (its token is in DATA).
release_status() {
    curl -s -m 2 -H "Authorization: Bearer $(cat "$1/admin.token")" \
        "http://127.0.0.1:$release_http/status"
}

# release_settled DATA: waits up to 20 s until the node's /status shows
# its digest at the stream's last sequence, at or past the last one a
# client was answered with; prints "SEQ DIGEST".
release_settled() {
    local deadline=$((SECONDS + 20)) text applied last digest_seq acked
    acked=$(grep -o 'stream_seq [0-9]*' "$work/client.out" | tail -n 1 | cut -d' ' -f2)
    while [ $SECONDS -lt $deadline ]; do
        text=$(release_status "$1")
        applied=$(sed -n 's/.*"applied_seq":\([0-9]*\).*/\1/p' <<<"$text")
        last=$(sed -n 's/.*"stream_last_seq":\([0-9]*\).*/\1/p' <<<"$text")
        digest_seq=$(sed -n 's/.*"digest_seq":\([0-9]*\).*/\1/p' <<<"$text")
        if [ -n "$applied" ] && [ "$applied" = "$last" ] && [ "$digest_seq" = "$applied" ] &&
            [ "$applied" -ge "${acked:-0}" ]; then
            echo "$applied $(sed -n 's/.*"digest":"\([0-9a-f]*\)".*/\1/p' <<<"$text")"
            return 0
        fi
        sleep 0.2
    done
    return 1
}

# release_client BINARY ACCOUNT SECRET COMMAND...: BINARY's client on the
# node started last; quiet, its status is the client's.
release_client() {
    local binary=$1 account=$2 secret=$3
    shift 3
    "$binary" client --nodes "127.0.0.1:$release_listen" --account "$account" \
        --secret "$secret" --client-id 7 --timeout-ms 5000 "$@" >>"$work/client.out" 2>&1
}

# release_business_a BINARY: through BINARY's client, at logic version 1:
# a tree of accounts with secrets and cash, an instrument with a grant and
# resting orders, a trading day, a 1X2 market with open bets.
release_business_a() {
    local c=(release_client "$1" 0 "$house_secret")
    local m5=(release_client "$1" 5 "member five secret")
    local m6=(release_client "$1" 6 "member six secret")
    "${c[@]}" account-create --parent 0 --kind operator &&
        "${c[@]}" account-create --parent 0 --kind super --credit 100000000 &&
        "${c[@]}" account-create --parent 2 --kind master --credit 100000000 &&
        "${c[@]}" account-create --parent 3 --kind agent --credit 100000000 &&
        "${c[@]}" account-create --parent 4 --kind member &&
        "${c[@]}" account-create --parent 4 --kind member &&
        "${c[@]}" account-secret --account 5 --secret "member five secret" &&
        "${c[@]}" account-secret --account 6 --secret "member six secret" &&
        "${c[@]}" deposit --account 5 --amount 1000000 &&
        "${c[@]}" deposit --account 6 --amount 500000 &&
        "${c[@]}" instrument-create --symbol ACME --tick-size 1 --lot-size 1 \
            --reference 1000 --band-bp 1000 &&
        "${c[@]}" position-grant --account 6 --instrument 0 --quantity 100 &&
        "${c[@]}" day-start --date 20260105 &&
        "${m5[@]}" order --instrument 0 --side buy --tif gtc --price 990 --quantity 10 &&
        "${m5[@]}" order --instrument 0 --side buy --tif gtc --price 985 --quantity 4 &&
        "${m6[@]}" order --instrument 0 --side sell --tif gtc --price 1010 --quantity 20 &&
        "${c[@]}" event-create --ref 4242 &&
        "${c[@]}" market-create --event 0 --type 1x2 --odds 2.0,3.4,3.8 --stake-min 100 \
            --stake-max 100000 &&
        "${m5[@]}" bet --market 0 --selection 0 --odds 2.0 --stake 1000 &&
        "${m6[@]}" bet --market 0 --selection 2 --odds 3.8 --stake 500
}

# release_business_b BINARY: then logic version 2, a replace, a cancel, a
# trade, more bets and a settled market.
release_business_b() {
    local c=(release_client "$1" 0 "$house_secret")
    local m5=(release_client "$1" 5 "member five secret")
    local m6=(release_client "$1" 6 "member six secret")
    "${c[@]}" activate-logic --version 2 &&
        "${m5[@]}" replace --order 1 --price 995 --quantity 8 &&
        "${m5[@]}" cancel --order 2 &&
        "${m6[@]}" order --instrument 0 --side sell --price 995 --quantity 3 &&
        "${m5[@]}" bet --market 0 --selection 1 --odds 3.4 --stake 2000 &&
        "${c[@]}" event-create --ref 4343 &&
        "${c[@]}" market-create --event 1 --type 1x2 --odds 1.5,4.0,6.0 --stake-min 100 \
            --stake-max 100000 &&
        "${m6[@]}" bet --market 1 --selection 0 --odds 1.5 --stake 3000 &&
        "${c[@]}" market-settle --market 0 --results win,lose,lose
}
