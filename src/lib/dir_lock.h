/* One process at a time in a directory: an exclusive POSIX record lock
 * (fcntl F_SETLK) on DIR/LOCK_NAME, with the holder's pid written inside.
 *
 * A node's data directory holds its state, its snapshots and its embedded
 * NATS server's files; two nodes in one directory would overwrite each
 * other's. The lock is the kernel's: it goes when the process exits, how
 * ever it exits, so a crashed node never leaves a stale lock behind, and
 * the file left in place is harmless. The kernel also says which process
 * holds it (F_GETLK), so the refusal names it. A forked child (the
 * snapshot writer) does not inherit the lock, and the descriptor is
 * close-on-exec. Keep the struct open for the life of the process.
 */
#ifndef NODOWN_LIB_DIR_LOCK_H
#define NODOWN_LIB_DIR_LOCK_H

#include <stddef.h>
#include <sys/types.h>

#define DIR_LOCK_NAME "node.lock"

struct dir_lock {
    int fd; /* -1 when not held */
};

/* Takes the lock of dir, or fails at once. Returns 0; -1 with errmsg
 * saying why, and *holder the pid of the process holding it (0 when the
 * failure is another one: the file cannot be opened, say). */
int dir_lock_acquire(struct dir_lock *lock, const char *dir, pid_t *holder, char *errmsg,
                     size_t errmsg_size);

/* The pid of the process holding dir's lock, or 0 when none does (or
 * the file cannot be opened). For another process than the holder only:
 * a holder that opened and closed the file would drop its own lock. */
pid_t dir_lock_holder_pid(const char *dir);

/* Releases it (also done by the process's exit). */
void dir_lock_release(struct dir_lock *lock);

#endif
