/* Tests of the hand-over messages (src/node/handover.h) over a real Unix
 * packet socket pair: every message type comes back as sent; descriptors
 * travel with their message and are this process's on the other side; a
 * session's output larger than a message arrives whole in chunks; another
 * format, a truncated message and a peer that went away are refused with
 * a reason; the listening socket is this user's only and refuses a long
 * path. */
#include "node/handover.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"
#include "test_dir.h"

static struct handover_message sent, got;
static char errmsg[256];

static int pair_open(int pair[2])
{
    return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair);
}

TEST(info_round_trip)
{
    int pair[2];
    CHECK(pair_open(pair) == 0);
    memset(&sent, 0, sizeof sent);
    sent.type = HANDOVER_INFO;
    sent.applied_seq = 123456789012ull;
    sent.node_id = 7;
    snprintf(sent.nats_url, sizeof sent.nats_url, "nats://127.0.0.1:4222");
    sent.nats_pid = 4242;
    snprintf(sent.release, sizeof sent.release, "0.2.0");
    sent.argc = 3;
    snprintf(sent.argv[0], sizeof sent.argv[0], "--data");
    snprintf(sent.argv[1], sizeof sent.argv[1], "/tmp/x");
    snprintf(sent.argv[2], sizeof sent.argv[2], "--listen=127.0.0.1:0");
    CHECK(handover_send(pair[0], &sent, errmsg, sizeof errmsg) == 0);
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == 0);
    CHECK(got.type == HANDOVER_INFO);
    CHECK(got.applied_seq == sent.applied_seq);
    CHECK(got.node_id == 7 && got.nats_pid == 4242 && got.argc == 3);
    CHECK(strcmp(got.nats_url, sent.nats_url) == 0);
    CHECK(strcmp(got.release, "0.2.0") == 0);
    CHECK(strcmp(got.argv[2], "--listen=127.0.0.1:0") == 0);
    CHECK(got.fd_count == 0);
    close(pair[0]);
    close(pair[1]);
}

TEST(descriptors_travel_with_take)
{
    int pair[2], pipe_fds[2];
    CHECK(pair_open(pair) == 0);
    CHECK(pipe(pipe_fds) == 0);
    memset(&sent, 0, sizeof sent);
    sent.type = HANDOVER_TAKE;
    sent.applied_seq = 99;
    sent.session_count = 2;
    sent.fds[0] = pipe_fds[1];
    sent.fd_count = 1;
    CHECK(handover_send(pair[0], &sent, errmsg, sizeof errmsg) == 0);
    close(pipe_fds[1]); /* the receiver's copy keeps the pipe open */
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == 0);
    CHECK(got.type == HANDOVER_TAKE && got.applied_seq == 99 && got.session_count == 2);
    CHECK(got.fd_count == 1);
    CHECK(fcntl(got.fds[0], F_GETFD) & FD_CLOEXEC);
    CHECK(write(got.fds[0], "x", 1) == 1);
    char byte = 0;
    CHECK(read(pipe_fds[0], &byte, 1) == 1 && byte == 'x');
    handover_close_fds(&got);
    close(pipe_fds[0]);
    close(pair[0]);
    close(pair[1]);
}

/* A session with a full input buffer and 200 000 bytes of output: the
 * output goes in four OUT messages and arrives byte for byte. */
TEST(session_with_large_output)
{
    int pair[2], sock[2];
    CHECK(pair_open(pair) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sock) == 0);
    static uint8_t in[FRAME_BUFFER_SIZE], out[200000], out_got[GATEWAY_OUTBOX_MAX];
    for (size_t i = 0; i < sizeof in; i++)
        in[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 13 + 1);
    struct gateway_session_export session = {
        .fd = sock[0], .state = GATEWAY_EXPORT_READY, .version = 3, .address = 0x0100007f,
        .account_id = 5, .client_id = 0xabcdef0123ull, .in_size = sizeof in,
        .out_size = sizeof out, .in = in, .out = out,
    };
    /* Sent from a child: the socket buffer holds less than it all. */
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        close(pair[1]);
        _exit(handover_send_session(pair[0], &session, &sent, errmsg, sizeof errmsg) == 0 ? 0
                                                                                       : 1);
    }
    close(pair[0]);
    CHECK(handover_recv_session(pair[1], &got, out_got, errmsg, sizeof errmsg) == 0);
    int status = 0;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
    CHECK(got.session.state == GATEWAY_EXPORT_READY && got.session.version == 3);
    CHECK(got.session.account_id == 5 && got.session.client_id == 0xabcdef0123ull);
    CHECK(got.session.address == 0x0100007f);
    CHECK(got.session.in_size == sizeof in && memcmp(got.session.in, in, sizeof in) == 0);
    CHECK(got.session.out_size == sizeof out && memcmp(got.session.out, out, sizeof out) == 0);
    /* The socket received is the same connection. */
    CHECK(write(got.session.fd, "y", 1) == 1);
    char byte = 0;
    CHECK(read(sock[1], &byte, 1) == 1 && byte == 'y');
    close(got.session.fd);
    close(sock[0]);
    close(sock[1]);
    close(pair[1]);
}

TEST(other_format_and_garbage_refused)
{
    int pair[2];
    CHECK(pair_open(pair) == 0);
    uint8_t other[] = {2, 0, HANDOVER_READY, 0, 1, 0, 0, 0, 0, 0, 0, 0};
    CHECK(write(pair[0], other, sizeof other) == (ssize_t)sizeof other);
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "format 2") != NULL);
    uint8_t cut[] = {1, 0, HANDOVER_READY, 0, 1, 0};
    CHECK(write(pair[0], cut, sizeof cut) == (ssize_t)sizeof cut);
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "malformed") != NULL);
    uint8_t unknown[] = {1, 0, 77, 0};
    CHECK(write(pair[0], unknown, sizeof unknown) == (ssize_t)sizeof unknown);
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == -1);
    CHECK(handover_recv(pair[1], &got, 50, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "no answer within 50 ms") != NULL);
    handover_abort(pair[0], "the new build cannot read the snapshot");
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == 0);
    CHECK(got.type == HANDOVER_ABORT);
    CHECK(strcmp(got.text, "the new build cannot read the snapshot") == 0);
    close(pair[0]);
    CHECK(handover_recv(pair[1], &got, 1000, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "went away") != NULL);
    close(pair[1]);
}

TEST(listen_connect_accept)
{
    char dir[] = "/tmp/nodown-handover-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    int listen_fd = handover_listen(dir, errmsg, sizeof errmsg);
    CHECK(listen_fd >= 0);
    char path[300];
    snprintf(path, sizeof path, "%s/%s", dir, HANDOVER_SOCKET_NAME);
    struct stat info;
    CHECK(stat(path, &info) == 0 && (info.st_mode & 0077) == 0);
    CHECK(handover_accept(listen_fd) == -1); /* nobody waiting */
    int client = handover_connect(dir, errmsg, sizeof errmsg);
    CHECK(client >= 0);
    int server = handover_accept(listen_fd);
    CHECK(server >= 0);
    memset(&sent, 0, sizeof sent);
    sent.type = HANDOVER_READY;
    sent.applied_seq = 5;
    CHECK(handover_send(client, &sent, errmsg, sizeof errmsg) == 0);
    CHECK(handover_recv(server, &got, 1000, errmsg, sizeof errmsg) == 0);
    CHECK(got.type == HANDOVER_READY && got.applied_seq == 5);
    close(client);
    close(server);
    close(listen_fd);
    handover_unlink(dir);
    CHECK(handover_connect(dir, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "no node to take over from") != NULL);
    char long_dir[200];
    memset(long_dir, 'd', sizeof long_dir - 1);
    long_dir[sizeof long_dir - 1] = '\0';
    CHECK(handover_listen(long_dir, errmsg, sizeof errmsg) == -1);
    CHECK(strstr(errmsg, "too long") != NULL);
    test_dir_remove(dir);
}

TEST_MAIN()
