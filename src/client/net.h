/* Blocking TCP with deadlines, for the client library (client.c).
 *
 * Sockets are non-blocking underneath and every wait is a poll() bounded
 * by a deadline on the monotonic clock, so no call can hang past it:
 * connect() gets its own timeout, partial sends are finished, EINTR is
 * retried, and send() uses MSG_NOSIGNAL so that a peer that went away
 * gives an error, never a SIGPIPE that kills the program.
 *
 * A deadline is a value of net_now_ms(), or NET_DEADLINE_NONE to wait as
 * long as it takes.
 */
#ifndef NODOWN_CLIENT_NET_H
#define NODOWN_CLIENT_NET_H

#include <stddef.h>
#include <stdint.h>

#define NET_DEADLINE_NONE INT64_MAX

/* Milliseconds of the monotonic clock. */
int64_t net_now_ms(void);

/* now + timeout_ms, or NET_DEADLINE_NONE when timeout_ms < 0. */
int64_t net_deadline_ms(int timeout_ms);

/* Sleeps for duration_ms (restarted after a signal). */
void net_sleep_ms(int duration_ms);

/* Connects to host:port (every address getaddrinfo gives, in order), each
 * attempt bounded by timeout_ms; TCP_NODELAY is set. Returns the socket,
 * or ERR_IO with a sentence in errmsg. */
int net_connect(const char *host, const char *port, int timeout_ms, char *errmsg,
                size_t errmsg_size);

/* Sends all of data before deadline_ms. Returns 0, ERR_TIMEOUT or ERR_IO
 * (errno kept). */
int net_send_all(int fd, const void *data, size_t size, int64_t deadline_ms);

/* Receives what has arrived (at least one byte, at most capacity), waiting
 * until deadline_ms. Returns 0 with *received set, ERR_TIMEOUT, or ERR_IO
 * (*received 0 and errno 0 when the peer closed the connection). */
int net_receive(int fd, void *buffer, size_t capacity, int64_t deadline_ms, size_t *received);

#endif
