-- The order matching of nodown's core, written in PL/pgSQL, for the
-- comparison of issue 3 (bench/pg/bench_pg.sh measures it, test/cli/pg_match.sh
-- checks it). One instrument, one price-time book:
--
--   nodown_place(account, side, tif, price_ticks, quantity, client_seq)
--     -> (order_id, filled_quantity)
--
-- A limit order, 'buy' or 'sell', with time in force 'day' (the unfilled
-- rest rests in the book) or 'ioc' (the unfilled rest is cancelled). It
-- trades with the best resting order of the other side first (highest bid,
-- lowest ask), the oldest first at one price, while the prices cross; each
-- fill is at the resting order's price, is recorded in trades, takes the
-- quantity off the resting order, moves cash (price_ticks x quantity minor
-- units: one tick is one minor unit) from buyer to seller and the position
-- from seller to buyer. An order that reaches a resting order of its own
-- account stops there and its rest is cancelled (nodown's "cancel newest"
-- self-trade policy). (account, client_seq) is unique: a resend returns the
-- first outcome and changes nothing, as nodown's sessions do.
--
-- It does less than nodown's engine_apply(): no authorization, buying power,
-- reserves, fees, price bands, lots, phases or events. Every amount is a
-- bigint; PostgreSQL raises an error on overflow instead of wrapping.
--
-- Loaded into an empty database: it creates its tables and one instrument;
-- accounts are inserted by the caller.

create table instruments (
    instrument_id     bigint primary key,
    symbol            text   not null,
    last_price_ticks  bigint not null default 0  -- 0: no trade yet
);

create table accounts (
    account_id        bigint primary key,
    cash_minor        bigint not null default 0,
    position_quantity bigint not null default 0  -- in the one instrument; negative: short
);

-- Every order accepted, resting or done. order_id comes from a sequence
-- drawn under the book's lock (see nodown_place), so it also gives the time
-- priority within a price.
create table orders (
    order_id               bigint primary key,
    account_id             bigint not null references accounts,
    client_seq             bigint not null,
    side                   text   not null check (side in ('buy', 'sell')),
    time_in_force          text   not null check (time_in_force in ('day', 'ioc')),
    price_ticks            bigint not null check (price_ticks > 0),
    quantity               bigint not null check (quantity > 0),
    filled_quantity        bigint not null check (filled_quantity between 0 and quantity),
    open_quantity          bigint not null check (open_quantity >= 0),  -- resting now
    placed_filled_quantity bigint not null,  -- filled on arrival: the outcome a resend gets
    status                 text   not null check (status in ('resting', 'filled', 'cancelled')),
    check (filled_quantity + open_quantity <= quantity),
    unique (account_id, client_seq)          -- exactly-once
);
create sequence orders_order_id_seq owned by orders.order_id;

-- The book: two partial indexes holding only resting orders, each in its
-- side's priority order, so the best resting order is the first entry and
-- the indexes stay as small as the book however many orders are done.
create index orders_bids on orders (price_ticks desc, order_id)
    where side = 'buy' and open_quantity > 0;
create index orders_asks on orders (price_ticks, order_id)
    where side = 'sell' and open_quantity > 0;

create table trades (
    trade_id          bigint generated always as identity primary key,
    buy_order_id      bigint not null,  -- no foreign key: the incoming order's
    sell_order_id     bigint not null,  -- row is written after its fills
    buy_account_id    bigint not null,
    sell_account_id   bigint not null,
    price_ticks       bigint not null,
    quantity          bigint not null check (quantity > 0)
);

insert into instruments (instrument_id, symbol) values (1, 'ACME');

create function nodown_place(p_account_id bigint, p_side text, p_time_in_force text,
                             p_price_ticks bigint, p_quantity bigint, p_client_seq bigint,
                             out order_id bigint, out filled_quantity bigint)
language plpgsql as $$
declare
    v_remaining     bigint := p_quantity;  -- still to fill
    v_cash_minor    bigint := 0;           -- the incoming account's cash change
    v_last_price    bigint := 0;
    v_resting       record;
    v_fill          bigint;
    v_self_trade    boolean := false;
    v_open          bigint;
begin
    -- Outside-world mistakes are errors (the transaction rolls back and
    -- nothing is recorded, so a corrected resend may reuse client_seq).
    if p_side is null or p_side not in ('buy', 'sell') then
        raise exception 'side % is not buy or sell', p_side;
    end if;
    if p_time_in_force is null or p_time_in_force not in ('day', 'ioc') then
        raise exception 'time in force % is not day or ioc', p_time_in_force;
    end if;
    if p_quantity is null or p_quantity <= 0 then
        raise exception 'quantity % is not positive', p_quantity;
    end if;
    if p_price_ticks is null or p_price_ticks <= 0 then
        raise exception 'price % is not positive', p_price_ticks;
    end if;

    -- One order at a time per book, held until commit: nodown's core
    -- applies commands one after another, and matching needs it too. Two
    -- crossing orders matched at once would each miss the other (neither
    -- sees the other's uncommitted row) and both rest, leaving the book
    -- crossed; ids drawn outside the lock would not be the arrival order.
    perform 1 from instruments i where i.instrument_id = 1 for update;

    -- Exactly-once: a (account, client_seq) seen before gets its first
    -- outcome back. Checked under the lock, so a resend racing its
    -- original waits for it and then finds it.
    select o.order_id, o.placed_filled_quantity into order_id, filled_quantity
      from orders o
     where o.account_id = p_account_id and o.client_seq = p_client_seq;
    if found then
        return;
    end if;
    perform 1 from accounts a where a.account_id = p_account_id;
    if not found then
        raise exception 'account % does not exist', p_account_id;
    end if;

    order_id := nextval('orders_order_id_seq');

    -- Matching: take the best resting order of the other side while it
    -- crosses. Each branch names its side literally so the planner can use
    -- that side's partial index; the first entry is the best order. The
    -- lock above covers the book, so resting rows need no row locks.
    while v_remaining > 0 loop
        if p_side = 'buy' then
            select o.order_id, o.account_id, o.price_ticks, o.open_quantity into v_resting
              from orders o
             where o.side = 'sell' and o.open_quantity > 0 and o.price_ticks <= p_price_ticks
             order by o.price_ticks, o.order_id
             limit 1;
        else
            select o.order_id, o.account_id, o.price_ticks, o.open_quantity into v_resting
              from orders o
             where o.side = 'buy' and o.open_quantity > 0 and o.price_ticks >= p_price_ticks
             order by o.price_ticks desc, o.order_id
             limit 1;
        end if;
        exit when not found;
        if v_resting.account_id = p_account_id then
            v_self_trade := true;  -- cancel newest: stop here, the resting order stays
            exit;
        end if;

        v_fill := least(v_remaining, v_resting.open_quantity);
        if p_side = 'buy' then
            insert into trades (buy_order_id, sell_order_id, buy_account_id, sell_account_id,
                                price_ticks, quantity)
            values (order_id, v_resting.order_id, p_account_id, v_resting.account_id,
                    v_resting.price_ticks, v_fill);
        else
            insert into trades (buy_order_id, sell_order_id, buy_account_id, sell_account_id,
                                price_ticks, quantity)
            values (v_resting.order_id, order_id, v_resting.account_id, p_account_id,
                    v_resting.price_ticks, v_fill);
        end if;

        update orders o
           set open_quantity = o.open_quantity - v_fill,
               filled_quantity = o.filled_quantity + v_fill,
               status = case when o.open_quantity = v_fill then 'filled' else o.status end
         where o.order_id = v_resting.order_id;

        -- The resting account now; the incoming one once, after the loop.
        -- A buyer pays price x quantity and gains the quantity.
        update accounts a
           set cash_minor = a.cash_minor + case when p_side = 'buy'
                                                then v_resting.price_ticks * v_fill
                                                else -(v_resting.price_ticks * v_fill) end,
               position_quantity = a.position_quantity + case when p_side = 'buy'
                                                              then -v_fill else v_fill end
         where a.account_id = v_resting.account_id;
        v_cash_minor := v_cash_minor + case when p_side = 'buy'
                                            then -(v_resting.price_ticks * v_fill)
                                            else v_resting.price_ticks * v_fill end;
        v_remaining := v_remaining - v_fill;
        v_last_price := v_resting.price_ticks;
    end loop;

    filled_quantity := p_quantity - v_remaining;
    if filled_quantity > 0 then
        update accounts a
           set cash_minor = a.cash_minor + v_cash_minor,
               position_quantity = a.position_quantity + case when p_side = 'buy'
                                                              then filled_quantity
                                                              else -filled_quantity end
         where a.account_id = p_account_id;
        update instruments i set last_price_ticks = v_last_price where i.instrument_id = 1;
    end if;

    -- A day order rests with what is left, unless it met its own order;
    -- an IOC order's rest is cancelled.
    v_open := case when p_time_in_force = 'day' and not v_self_trade then v_remaining else 0 end;
    insert into orders (order_id, account_id, client_seq, side, time_in_force, price_ticks,
                        quantity, filled_quantity, open_quantity, placed_filled_quantity, status)
    values (order_id, p_account_id, p_client_seq, p_side, p_time_in_force, p_price_ticks,
            p_quantity, filled_quantity, v_open, filled_quantity,
            case when v_open > 0 then 'resting'
                 when v_remaining = 0 then 'filled'
                 else 'cancelled' end);
end;
$$;
