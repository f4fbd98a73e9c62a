/* The nats-server versions nodown runs on (docs/journal.md, "The server's
 * version"). nodown needs 2.10.0 or newer: 2.9 cannot fsync each write
 * before its acknowledgement (no sync_interval) and can number replicated
 * duplicates differently on different servers after a leader change.
 *
 *   nats_version_check  the one comparison, with the message that says
 *                       how to install the right server
 *   nats_version_info   the version a server announces in its INFO line
 *   nats_info_read      connect to a server's URL and read that line
 *   nats_version_probe  both: the version of the server at a URL
 *
 * The embedded default's supervisor asks its binary (--version) before it
 * starts it; journal_open asks the server it connected to (INFO).
 */
#ifndef NODOWN_REPLICA_NATS_VERSION_H
#define NODOWN_REPLICA_NATS_VERSION_H

#include <stddef.h>

/* The oldest nats-server nodown accepts: 2.10.0 (any 2.10 release). */
#define NATS_VERSION_MAJOR_MIN 2u
#define NATS_VERSION_MINOR_MIN 10u
/* The longest version text kept ("2.10.27", "2.11.0-RC.1"). */
#define NATS_VERSION_SIZE 32u
/* What the refusal tells the operator to do. */
#define NATS_VERSION_INSTALL                                                        \
    "install nats-server 2.10.27 with tools/deps.sh (Debian 13's package, apt-pinned " \
    "so that nothing else comes from Debian 13)"

/* Whether version ("2.10.27", with or without a leading "v", any suffix
 * after the third number ignored) is 2.10.0 or newer. Returns 0 if so;
 * ERR_VERSION if it is older or cannot be read, with a message naming
 * server (a path or a URL) and saying how to install the right one. */
int nats_version_check(const char *version, const char *server, char *errmsg,
                       size_t errmsg_size);

/* The "version" field of a server's INFO line into version. Returns 0, or
 * ERR_DECODE_MALFORMED when the line is no INFO or has no such field. */
int nats_version_info(const char *line, char *version, size_t version_size);

/* Connects to url ("nats://host:port", "host:port", user@ and [IPv6]
 * too; port 4222 when none) and reads what the server sends first, its
 * INFO line, up to a newline, line_size - 1 bytes or timeout_ms; line is
 * NUL-terminated. Nothing is sent: the server drops the connection when
 * no CONNECT comes. Returns 0 (line may be empty or partial), or ERR_IO
 * with a message when the server cannot be reached. */
int nats_info_read(const char *url, int timeout_ms, char *line, size_t line_size, char *errmsg,
                   size_t errmsg_size);

/* Reads from fd until a newline, line_size - 1 bytes, the end or
 * timeout_ms; NUL-terminates line and returns its length. */
size_t nats_line_read(int fd, char *line, size_t line_size, int timeout_ms);

/* nats_info_read and nats_version_info: the version of the server at url.
 * Returns 0, or ERR_IO with a message. */
int nats_version_probe(const char *url, int timeout_ms, char *version, size_t version_size,
                       char *errmsg, size_t errmsg_size);

#endif
