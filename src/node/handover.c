/* Hand-over messages over a Unix packet socket (see handover.h). */
#define _GNU_SOURCE /* SO_PEERCRED, struct ucred */
#include "node/handover.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/bytes.h"
#include "lib/field_io.h"

static int handover_path(const char *dir, struct sockaddr_un *address, char *errmsg,
                         size_t errmsg_size)
{
    memset(address, 0, sizeof *address);
    address->sun_family = AF_UNIX;
    int n = snprintf(address->sun_path, sizeof address->sun_path, "%s/%s", dir,
                     HANDOVER_SOCKET_NAME);
    if (n < 0 || (size_t)n >= sizeof address->sun_path) {
        snprintf(errmsg, errmsg_size, "hand-over socket: the data directory's path is too "
                 "long for a Unix socket (%zu bytes at most with /%s): use a shorter one",
                 sizeof address->sun_path - 1, HANDOVER_SOCKET_NAME);
        return -1;
    }
    return 0;
}

void handover_unlink(const char *dir)
{
    struct sockaddr_un address;
    char errmsg[256];
    if (handover_path(dir, &address, errmsg, sizeof errmsg) == 0)
        unlink(address.sun_path);
}

int handover_listen(const char *dir, char *errmsg, size_t errmsg_size)
{
    struct sockaddr_un address;
    if (handover_path(dir, &address, errmsg, errmsg_size) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(errmsg, errmsg_size, "hand-over socket: %s", strerror(errno));
        return -1;
    }
    /* The caller holds DIR's lock: a socket file there is a dead node's. */
    unlink(address.sun_path);
    mode_t mask = umask(0077); /* this user only, from the moment it exists */
    int rv = bind(fd, (struct sockaddr *)&address, sizeof address);
    umask(mask);
    if (rv != 0 || listen(fd, 4) != 0) {
        snprintf(errmsg, errmsg_size, "hand-over socket %s: %s", address.sun_path,
                 strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

int handover_accept(int listen_fd)
{
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return -1;
    struct ucred peer;
    socklen_t size = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || peer.uid != getuid()) {
        fprintf(stderr, "nodown: hand-over refused to a process of another user\n");
        close(fd);
        return -1;
    }
    return fd;
}

int handover_connect(const char *dir, char *errmsg, size_t errmsg_size)
{
    struct sockaddr_un address;
    if (handover_path(dir, &address, errmsg, errmsg_size) != 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) {
        snprintf(errmsg, errmsg_size, "no node to take over from at %s: %s (is a node "
                 "of a build that hands over serving %s?)", address.sun_path, strerror(errno),
                 dir);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* ---- Records: one description each writes and reads it (field_io.h). ---- */

static void io_text(struct field_io *io, char *text, size_t size)
{
    uint16_t length = io->writer != NULL ? (uint16_t)strnlen(text, size - 1) : 0;
    io_u16(io, &length);
    if (length >= size) {
        io->invalid = true;
        return;
    }
    io_bytes(io, text, length);
    if (io->reader != NULL)
        text[length] = '\0';
}

static void io_session(struct field_io *io, struct handover_message *m)
{
    struct gateway_session_export *s = &m->session;
    io_u8(io, &s->state);
    io_u16(io, &s->version);
    io_u32(io, &s->address);
    io_u32(io, &s->account_id);
    io_u64(io, &s->client_id);
    io_u32(io, &s->in_size);
    io_u32(io, &s->out_size);
    if (s->in_size > FRAME_BUFFER_SIZE || s->out_size > GATEWAY_OUTBOX_MAX) {
        io->invalid = true;
        return;
    }
    if (io->writer != NULL)
        byte_put(io->writer, s->in, s->in_size);
    else if (io->reader != NULL) {
        byte_get(io->reader, m->data, s->in_size);
        m->data_size = s->in_size;
        s->in = m->data;
    }
    io->size_bytes += s->in_size;
}

static void io_message(struct field_io *io, struct handover_message *m)
{
    switch (m->type) {
    case HANDOVER_HELLO:
        io_u32(io, &m->pid);
        io_text(io, m->release, sizeof m->release);
        break;
    case HANDOVER_INFO:
        io_u64(io, &m->applied_seq);
        io_u32(io, &m->node_id);
        io_text(io, m->nats_url, sizeof m->nats_url);
        io_text(io, m->admin_token, sizeof m->admin_token);
        io_u32(io, &m->nats_pid);
        io_text(io, m->release, sizeof m->release);
        io_u32(io, &m->argc);
        if (m->argc > HANDOVER_ARGS_MAX) {
            io->invalid = true;
            break;
        }
        for (uint32_t i = 0; i < m->argc; i++)
            io_text(io, m->argv[i], sizeof m->argv[i]);
        break;
    case HANDOVER_READY:
        io_u64(io, &m->applied_seq);
        break;
    case HANDOVER_TAKE:
        io_u64(io, &m->applied_seq);
        io_u32(io, &m->session_count);
        break;
    case HANDOVER_SESSION:
        io_session(io, m);
        break;
    case HANDOVER_OUT: {
        uint32_t size = (uint32_t)m->data_size;
        io_u32(io, &size);
        if (size > HANDOVER_OUT_CHUNK) {
            io->invalid = true;
            break;
        }
        m->data_size = size;
        io_bytes(io, m->data, size);
        break;
    }
    case HANDOVER_DONE:
        break;
    case HANDOVER_ABORT:
        io_text(io, m->text, sizeof m->text);
        break;
    case HANDOVER_DIGEST:
        io_u64(io, &m->applied_seq);
        io_text(io, m->digest, sizeof m->digest);
        break;
    default:
        io->invalid = true;
    }
}

int handover_send(int fd, const struct handover_message *message, char *errmsg,
                  size_t errmsg_size)
{
    static uint8_t bytes[HANDOVER_MESSAGE_MAX]; /* one hand-over at a time, one thread */
    struct byte_buffer buffer = {.data = bytes, .capacity = sizeof bytes};
    struct byte_writer writer;
    byte_writer_init(&writer, byte_buffer_flush, &buffer);
    struct field_io io = {.writer = &writer};
    uint16_t format = HANDOVER_FORMAT;
    uint16_t type = message->type;
    io_u16(&io, &format);
    io_u16(&io, &type);
    io_message(&io, (struct handover_message *)message); /* writing reads it only */
    if (io.invalid || byte_writer_finish(&writer) != 0) {
        snprintf(errmsg, errmsg_size, "hand-over: message %u does not fit", message->type);
        return -1;
    }
    assert(message->fd_count <= HANDOVER_FDS_MAX);
    struct iovec iov = {.iov_base = bytes, .iov_len = buffer.length};
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int) * HANDOVER_FDS_MAX)];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (message->fd_count > 0) {
        msg.msg_control = control.space;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * message->fd_count);
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(sizeof(int) * message->fd_count);
        memcpy(CMSG_DATA(cmsg), message->fds, sizeof(int) * message->fd_count);
    }
    ssize_t sent;
    do
        sent = sendmsg(fd, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent != (ssize_t)buffer.length) {
        snprintf(errmsg, errmsg_size, "hand-over: sending: %s",
                 sent < 0 ? strerror(errno) : "cut short");
        return -1;
    }
    return 0;
}

void handover_abort(int fd, const char *why)
{
    static struct handover_message message;
    memset(&message, 0, sizeof message);
    message.type = HANDOVER_ABORT;
    snprintf(message.text, sizeof message.text, "%s", why);
    char errmsg[64];
    (void)handover_send(fd, &message, errmsg, sizeof errmsg);
}

void handover_close_fds(struct handover_message *message)
{
    for (uint32_t i = 0; i < message->fd_count; i++)
        if (message->fds[i] >= 0)
            close(message->fds[i]);
    message->fd_count = 0;
}

int handover_recv(int fd, struct handover_message *message, int timeout_ms, char *errmsg,
                  size_t errmsg_size)
{
    static uint8_t bytes[HANDOVER_MESSAGE_MAX + 1];
    struct pollfd entry = {.fd = fd, .events = POLLIN};
    int ready;
    do
        ready = poll(&entry, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    if (ready == 0) {
        snprintf(errmsg, errmsg_size, "hand-over: no answer within %d ms", timeout_ms);
        return -1;
    }
    union {
        struct cmsghdr header;
        char space[CMSG_SPACE(sizeof(int) * HANDOVER_FDS_MAX)];
    } control;
    struct iovec iov = {.iov_base = bytes, .iov_len = sizeof bytes};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space,
                         .msg_controllen = sizeof control.space};
    ssize_t got;
    do
        got = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    while (got < 0 && errno == EINTR);
    memset(message, 0, offsetof(struct handover_message, data));
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int received;
            memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
            if (message->fd_count < HANDOVER_FDS_MAX)
                message->fds[message->fd_count++] = received;
            else
                close(received);
        }
    }
    if (got <= 0 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
        snprintf(errmsg, errmsg_size, "hand-over: %s", got < 0  ? strerror(errno)
                                                       : got == 0 ? "the other process went away"
                                                                  : "a message too long");
        handover_close_fds(message);
        return -1;
    }
    struct byte_reader reader;
    byte_reader_init(&reader, bytes, (size_t)got);
    struct field_io io = {.reader = &reader};
    uint16_t format = 0;
    io_u16(&io, &format);
    io_u16(&io, &message->type);
    if (format != HANDOVER_FORMAT) {
        snprintf(errmsg, errmsg_size, "hand-over: the other process speaks format %u, this "
                 "one %u", format, HANDOVER_FORMAT);
        handover_close_fds(message);
        return -1;
    }
    io_message(&io, message);
    if (io.invalid || reader.error != 0 || byte_reader_left(&reader) != 0) {
        snprintf(errmsg, errmsg_size, "hand-over: a malformed message of type %u",
                 message->type);
        handover_close_fds(message);
        return -1;
    }
    return 0;
}

int handover_send_session(int fd, const struct gateway_session_export *session,
                          struct handover_message *scratch, char *errmsg, size_t errmsg_size)
{
    memset(scratch, 0, offsetof(struct handover_message, data));
    scratch->type = HANDOVER_SESSION;
    scratch->session = *session;
    scratch->fds[0] = session->fd;
    scratch->fd_count = 1;
    if (handover_send(fd, scratch, errmsg, errmsg_size) != 0)
        return -1;
    for (uint32_t at = 0; at < session->out_size;) {
        uint32_t size = session->out_size - at;
        size = size > HANDOVER_OUT_CHUNK ? HANDOVER_OUT_CHUNK : size;
        memset(scratch, 0, offsetof(struct handover_message, data));
        scratch->type = HANDOVER_OUT;
        scratch->data_size = size;
        memcpy(scratch->data, session->out + at, size);
        if (handover_send(fd, scratch, errmsg, errmsg_size) != 0)
            return -1;
        at += size;
    }
    return 0;
}

int handover_recv_session(int fd, struct handover_message *message, uint8_t *out,
                          char *errmsg, size_t errmsg_size)
{
    if (handover_recv(fd, message, HANDOVER_WAIT_MS, errmsg, errmsg_size) != 0)
        return -1;
    if (message->type != HANDOVER_SESSION || message->fd_count != 1) {
        snprintf(errmsg, errmsg_size, "hand-over: expected a session, got message %u with %u "
                 "descriptors%s%s", message->type, message->fd_count,
                 message->type == HANDOVER_ABORT ? ": " : "", message->text);
        handover_close_fds(message);
        return -1;
    }
    struct gateway_session_export session = message->session;
    static uint8_t in[FRAME_BUFFER_SIZE];
    memcpy(in, message->data, session.in_size);
    session.in = in;
    session.fd = message->fds[0];
    static struct handover_message chunk;
    for (uint32_t at = 0; at < session.out_size;) {
        if (handover_recv(fd, &chunk, HANDOVER_WAIT_MS, errmsg, errmsg_size) != 0 ||
            chunk.type != HANDOVER_OUT || chunk.data_size > session.out_size - at ||
            chunk.data_size == 0) {
            if (chunk.type != HANDOVER_OUT)
                snprintf(errmsg, errmsg_size, "hand-over: a session's output cut short");
            handover_close_fds(&chunk);
            close(session.fd);
            return -1;
        }
        memcpy(out + at, chunk.data, chunk.data_size);
        at += (uint32_t)chunk.data_size;
    }
    session.out = out;
    message->session = session;
    message->fd_count = 0; /* the session's fd is the caller's now */
    return 0;
}
