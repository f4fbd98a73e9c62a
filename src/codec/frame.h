/* The frames of the native client protocol, version 1: what a client and a
 * gateway say to each other over TCP (docs/protocol.md has every byte).
 *
 * A frame is a u32 length (of everything after it: 1 to FRAME_SIZE_MAX),
 * a u8 type and the type's payload, all little-endian. Here a frame is a
 * plain struct: a type and a union of payloads. frame_encode() writes one,
 * frame_decode() reads one from the front of a byte buffer, and tells
 * "these bytes are the start of a frame, read more" (ERR_DECODE_NEED_MORE)
 * apart from "these bytes can never be a frame" (ERR_DECODE_MALFORMED), so
 * a reader can feed it whatever TCP has delivered so far. The length, the
 * type and a fixed-size type's length are checked as soon as their bytes
 * are in, so a peer cannot make a reader wait for 64 KiB of a frame that is
 * already known to be wrong.
 *
 * Compatibility: the HELLO/WELCOME handshake picks one protocol version,
 * and each side sends only what that version defines. Frame types, query
 * types and error codes are append-only; anything that changes a frame's
 * layout (even a field appended) is a new protocol version, because a
 * version 1 decoder refuses a payload whose size does not match its type.
 * A COMMAND carries the command codec's own versioned form, which evolves
 * by that codec's rules (src/codec/command_codec.h).
 */
#ifndef NODOWN_CODEC_FRAME_H
#define NODOWN_CODEC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/command.h"

/* The protocol versions this build speaks: FRAME_PROTOCOL_VERSION_MIN up
 * to FRAME_PROTOCOL_VERSION. Version 2 adds the session window to
 * LOGON_OK, QUERY's min_seq and QUERY_RESULT's applied_seq. Version 3
 * adds what a replace filled to OUTCOME (replace_filled) and finished
 * orders to the order query (query_order.done). */
#define FRAME_PROTOCOL_VERSION_MIN 1u
#define FRAME_PROTOCOL_VERSION 3u

/* The first field of HELLO: the bytes "NDWN". */
#define FRAME_MAGIC 0x4E57444Eu

/* u32 length, then u8 type. */
#define FRAME_LENGTH_SIZE 4u
#define FRAME_HEADER_SIZE 5u

/* The largest value of the length field (type and payload). It bounds
 * what a reader must buffer per connection: 64 KiB, far above the largest
 * frame of version 1 (a QUERY_RESULT of positions, under 4 KiB), so that
 * new frames have room without a new limit. */
#define FRAME_SIZE_MAX 65536u

/* A buffer that holds any whole frame. */
#define FRAME_BUFFER_SIZE (FRAME_LENGTH_SIZE + FRAME_SIZE_MAX)

/* LOGON's secret and ERROR's text, in bytes. */
#define FRAME_SECRET_SIZE_MAX 256u
#define FRAME_TEXT_SIZE_MAX 1024u

/* Rows of one QUERY_RESULT: positions per page, book levels per side.
 * Both keep struct frame small (it is often on a stack) and the largest
 * frame under 4 KiB; more positions are read page by page. */
#define QUERY_POSITIONS_MAX 128u
#define QUERY_LEVELS_MAX 64u

/* Frame types, append-only. */
enum frame_type {
    FRAME_NONE = 0,
    FRAME_HELLO = 1,        /* c->s */
    FRAME_WELCOME = 2,      /* s->c */
    FRAME_LOGON = 3,        /* c->s */
    FRAME_LOGON_OK = 4,     /* s->c */
    FRAME_COMMAND = 5,      /* c->s */
    FRAME_OUTCOME = 6,      /* s->c */
    FRAME_ERROR = 7,        /* s->c */
    FRAME_PING = 8,         /* either way */
    FRAME_PONG = 9,         /* either way */
    FRAME_QUERY = 10,       /* c->s */
    FRAME_QUERY_RESULT = 11, /* s->c */
    FRAME_TYPE_COUNT
};

/* ERROR codes, append-only. A server sends ERROR and then closes. */
enum frame_error_code {
    FRAME_ERROR_MALFORMED = 1,     /* malformed frame */
    FRAME_ERROR_TOO_LARGE = 2,     /* frame too large */
    FRAME_ERROR_VERSION = 3,       /* unsupported protocol version */
    FRAME_ERROR_LOGON_FAILED = 4,  /* unknown account or wrong secret */
    FRAME_ERROR_NOT_LOGGED_ON = 5, /* a frame that needs a logon came first */
    FRAME_ERROR_OVERLOADED = 6,    /* slow client, or a queue is full */
    FRAME_ERROR_SHUTTING_DOWN = 7, /* the node is stopping */
    FRAME_ERROR_READ_ONLY = 8,     /* the node cannot publish commands */
    FRAME_ERROR_CODE_COUNT
};

/* Query types, append-only. Each names what it asks for and the rows its
 * QUERY_RESULT carries; the server answers only what the logged-on
 * account may read (engine_may_read). */
enum query_type {
    QUERY_NONE = 0,
    QUERY_ACCOUNT = 1,   /* balances, limits and PT of one account */
    QUERY_POSITIONS = 2, /* an account's holdings, one page */
    QUERY_ORDER = 3,     /* one open order */
    QUERY_BOOK = 4,      /* depth of one instrument's book */
    QUERY_EXPOSURE = 5,  /* one PT level's exposure on one market */
    QUERY_ODDS = 6,      /* one market's odds, shown in a format */
    QUERY_TYPE_COUNT
};

struct frame_hello {
    uint16_t version_min; /* 1 <= version_min <= version_max */
    uint16_t version_max;
    uint64_t client_id;
};

struct frame_welcome {
    uint16_t version;     /* chosen from the client's range, >= 1 */
    uint32_t node_id;
    uint64_t applied_seq; /* the stream sequence the node has applied */
};

struct frame_logon {
    uint32_t account_id;
    uint16_t secret_size; /* <= FRAME_SECRET_SIZE_MAX */
    uint8_t secret[FRAME_SECRET_SIZE_MAX];
};

struct frame_logon_ok {
    uint32_t account_id;
    uint64_t last_client_seq; /* the session's last applied client_seq */
    /* Version 2 only (0: absent, as in version 1): how many commands the
     * session may have without an outcome and still learn each one's
     * first outcome on a resend (session_window). */
    uint16_t session_window;
};

struct frame_outcome {
    uint64_t client_seq;
    uint16_t result;       /* enum result_code */
    uint16_t command_type;
    uint8_t duplicate;     /* 0 or 1 */
    uint64_t id;
    int64_t value;
    uint64_t stream_seq;   /* of the batch that applied the command */
    /* Version 3 only, and only on an accepted ORDER_REPLACE's first
     * answer (has_replace_filled 1): the quantity this replace filled;
     * value is then the order's total filled. */
    uint8_t has_replace_filled;
    int64_t replace_filled;
};

struct frame_error {
    uint16_t code;      /* enum frame_error_code; never 0 */
    uint16_t text_size; /* <= FRAME_TEXT_SIZE_MAX */
    char text[FRAME_TEXT_SIZE_MAX + 1]; /* decoded text ends with a NUL */
};

struct frame_ping {
    uint64_t nonce; /* PONG echoes PING's */
};

/* A QUERY whose min_seq the node has not applied waits this long at most,
 * then is answered with the state the node has (docs/protocol.md): the
 * gateway keeps to it, and the client library allows for it before it
 * calls such a node silent. */
#define FRAME_QUERY_WAIT_MS 5000

struct frame_query {
    uint16_t query_type; /* enum query_type */
    uint64_t request_id; /* echoed by the QUERY_RESULT */
    /* Version 2, appended (0: absent): answer once the node has applied
     * this stream sequence, e.g. the client's last outcome's (read your
     * own writes on any node). */
    uint64_t min_seq;
    union {
        struct {
            uint32_t account_id;
        } account;
        struct {
            uint32_t account_id;
            uint32_t instrument_id_from; /* first instrument of the page */
        } positions;
        struct {
            uint64_t order_id;
        } order;
        struct {
            uint32_t instrument_id;
            uint16_t level_count; /* per side, 1..QUERY_LEVELS_MAX */
        } book;
        struct {
            uint32_t account_id; /* the PT level */
            uint32_t market_id;
        } exposure;
        struct {
            uint32_t market_id;
            uint8_t odds_format; /* enum odds_format */
        } odds;
    } u;
};

struct query_account {
    uint32_t account_id;
    uint32_t parent_id;
    uint8_t kind;   /* enum account_kind */
    uint8_t status; /* enum account_status */
    int64_t balance_minor;
    int64_t credit_limit_minor;
    int64_t reserved_minor;
    int64_t stake_open_minor;
    int64_t available_minor;
    int64_t order_quantity_max;
    int64_t order_notional_max_minor;
    int64_t bet_stake_max_minor;
    int64_t exposure_limit_minor;
    int64_t day_fees_minor;
    uint16_t pt_share_bp[MARKET_TYPE_COUNT];
    uint16_t pt_max_bp[MARKET_TYPE_COUNT];
};

struct query_position {
    uint32_t instrument_id;
    int64_t quantity;
    int64_t quantity_reserved;
};

struct query_positions {
    uint32_t account_id;
    uint8_t more;   /* 1: ask again from the last instrument_id + 1 */
    uint16_t count; /* <= QUERY_POSITIONS_MAX */
    struct query_position positions[QUERY_POSITIONS_MAX];
};

struct query_order {
    uint64_t order_id;
    uint64_t client_order_id;
    uint32_t account_id;
    uint32_t instrument_id;
    uint8_t side;  /* enum side */
    uint8_t flags; /* ORDER_FLAG_* of src/core/state.h */
    int64_t price_ticks;
    int64_t quantity_open;
    int64_t quantity_filled;
    /* Version 3 only, and only when not 0: the order is finished, and
     * this is 1 + its enum done_reason (src/core/event.h); quantity_open
     * is then what was left when it finished. 0: open. */
    uint8_t done;
};

struct query_level {
    int64_t price_ticks;
    int64_t quantity;
};

struct query_book {
    uint32_t instrument_id;
    uint8_t phase; /* enum phase */
    int64_t last_price_ticks;
    uint16_t bid_count; /* <= QUERY_LEVELS_MAX, best first */
    uint16_t ask_count;
    struct query_level bids[QUERY_LEVELS_MAX];
    struct query_level asks[QUERY_LEVELS_MAX];
};

struct query_exposure {
    uint32_t account_id;
    uint32_t market_id;
    uint8_t selection_count; /* <= SELECTIONS_MAX; unused rows are 0 */
    int64_t worst_minor;     /* engine_exposure_minor */
    int64_t win_liability_minor[SELECTIONS_MAX];
    int64_t stake_in_minor[SELECTIONS_MAX];
};

/* A displayed price (struct odds_display of src/core/odds.h, whose
 * format is the QUERY's odds_format). */
struct query_price {
    int32_t odds_milli;
    int64_t value;
    int64_t numerator;
    int64_t denominator;
};

struct query_odds {
    uint32_t market_id;
    uint8_t market_type;     /* enum market_type */
    uint8_t status;          /* enum market_status */
    uint8_t odds_format;     /* enum odds_format */
    uint8_t selection_count; /* <= SELECTIONS_MAX; unused rows are 0 */
    int32_t line_quarters;
    struct query_price prices[SELECTIONS_MAX];
};

/* When result is not RESULT_OK (say REJECT_ACCOUNT_UNKNOWN or
 * REJECT_NOT_AUTHORIZED), the payload stops after query_type. */
struct frame_query_result {
    uint64_t request_id;
    uint16_t result;     /* enum result_code */
    uint16_t query_type; /* the QUERY's */
    /* Version 2, appended (0: absent): the stream sequence the answer
     * reflects (the node's applied sequence then). */
    uint64_t applied_seq;
    union {
        struct query_account account;
        struct query_positions positions;
        struct query_order order;
        struct query_book book;
        struct query_exposure exposure;
        struct query_odds odds;
    } u;
};

struct frame {
    uint8_t type; /* enum frame_type */
    union {
        struct frame_hello hello;
        struct frame_welcome welcome;
        struct frame_logon logon;
        struct frame_logon_ok logon_ok;
        struct command command; /* FRAME_COMMAND */
        struct frame_outcome outcome;
        struct frame_error error;
        struct frame_ping ping; /* FRAME_PING and FRAME_PONG */
        struct frame_query query;
        struct frame_query_result query_result;
    } u;
};

/* Bytes frame_encode() writes for this frame (length field included), or 0
 * when it cannot be encoded (see frame_encode). */
size_t frame_encoded_size(const struct frame *frame);

/* Writes one frame into buffer; *length gets its size. Returns 0,
 *   ERR_USAGE     the frame breaks a rule the decoder checks (unknown
 *                 frame, command or query type, a size or count above its
 *                 maximum, version_min 0 or above version_max, error code
 *                 0, duplicate or more above 1), so a peer would refuse it;
 *   ERR_CAPACITY  buffer is too small (FRAME_BUFFER_SIZE always fits).
 * HELLO's magic is written here, not taken from the struct. */
int frame_encode(const struct frame *frame, uint8_t *buffer, size_t capacity, size_t *length);

/* Reads the frame at the front of data[0..size) into *frame (its used part
 * zeroed first, so padding compares equal). Returns 0 with *consumed set
 * to the frame's size, or
 *   ERR_DECODE_NEED_MORE  data is a proper prefix of a frame that may yet
 *                         be valid: read more and call again;
 *   ERR_DECODE_MALFORMED  a length of 0 or above FRAME_SIZE_MAX, an
 *                         unknown type, a payload whose size does not fit
 *                         its type, a bad magic, a secret or text too
 *                         long, a rule of frame_encode broken, or a
 *                         COMMAND that command_decode refuses or that
 *                         does not fill its frame exactly.
 * *consumed is 0 on error. Never reads outside data[0..size). */
int frame_decode(const uint8_t *data, size_t size, struct frame *frame, size_t *consumed);

/* Whether data starts with a length field above FRAME_SIZE_MAX: what a
 * server answers with FRAME_ERROR_TOO_LARGE rather than
 * FRAME_ERROR_MALFORMED when frame_decode() says malformed. */
bool frame_is_too_large(const uint8_t *data, size_t size);

/* Sets *frame to an ERROR with this code and text, cut to
 * FRAME_TEXT_SIZE_MAX bytes (at a UTF-8 character boundary). */
void frame_error_set(struct frame *frame, uint16_t code, const char *text);

/* "HELLO", "OUTCOME", ...; "UNKNOWN" for any other value. */
const char *frame_type_name(uint8_t type);

/* "malformed frame", "logon failed", ...; "unknown error" otherwise. */
const char *frame_error_text(uint16_t code);

/* "account", "positions", ...; "unknown" otherwise. */
const char *query_type_name(uint16_t query_type);

#endif
