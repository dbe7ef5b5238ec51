#ifndef TESTBED_CSHIM_H
#define TESTBED_CSHIM_H

#include <stddef.h>
#include <sys/types.h>

/// Opens `path` read-write and asks it for the KVM API version
/// (ioctl KVM_GET_API_VERSION). Returns the version (12 on every modern
/// kernel), or -errno when the device cannot be opened or does not answer.
int testbed_kvm_api_version(const char *path);

/// How many CPUs this process may run on (sched_getaffinity(2), as
/// `taskset` sets them); -errno on failure.
int testbed_affinity_count(void);

/// Starts `path` with `argv` and `envp` in directory `cwd` (NULL: ours), with
/// stdin/stdout/stderr on the given descriptors, in a new process group whose
/// id is the child's pid, with default signal dispositions and an empty signal
/// mask, and no other open descriptor. Returns 0 and sets `*pid`, or an errno value when the program cannot
/// be started (ENOENT, EACCES, ENOEXEC, a bad interpreter, a bad `cwd`).
int testbed_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                  int stdin_fd, int stdout_fd, int stderr_fd, pid_t *pid);

/// pidfd_open(2): a descriptor that becomes readable when `pid` exits; -errno on failure.
int testbed_pidfd_open(pid_t pid);

/// An epoll set (close-on-exec); -errno on failure.
int testbed_epoll_create(void);

/// Adds `fd` to the set, level-triggered for reading; 0 or -errno.
int testbed_epoll_add(int epfd, int fd);

/// Removes `fd` from the set; 0 or -errno.
int testbed_epoll_remove(int epfd, int fd);

/// The descriptors of the set that are ready, without waiting: up to `max`
/// of them in `fds`; returns how many, or -errno.
int testbed_epoll_ready(int epfd, int *fds, int max);

/// Blocks until the set has a ready descriptor (it is not consumed).
int testbed_epoll_block(int epfd, int *count);

/// A non-blocking, close-on-exec eventfd; -errno on failure.
int testbed_eventfd(void);

/// Adds 1 to an eventfd's counter.
void testbed_eventfd_signal(int fd);

/// Resets an eventfd's counter (non-blocking).
void testbed_eventfd_clear(int fd);

/// Blocks until `fd` is readable.
void testbed_wait_readable(int fd);

/// Writes all of `count` bytes to `fd` (retrying on EINTR and short writes);
/// 0, or -errno (EPIPE, ENOSPC…) without raising any signal or trap.
int testbed_write_all(int fd, const void *bytes, size_t count);

/// Makes this process the reaper of its orphaned descendants
/// (PR_SET_CHILD_SUBREAPER), so daemons a test forks stay within reach.
int testbed_set_child_subreaper(void);

/// Stops being the reaper of orphaned descendants (tests that were one for a while).
int testbed_clear_child_subreaper(void);

/// waitpid(2) for one child without blocking: 1 and `*status` when it has
/// exited, 0 when it still runs, -errno on failure.
int testbed_try_wait(pid_t pid, int *status);

/// waitpid(2) for one child, blocking (retrying on EINTR): 0 and `*status`
/// once it has exited, -errno on failure (ECHILD: not our child, or reaped already).
int testbed_wait(pid_t pid, int *status);

/// Whether a child has exited, without reaping it (waitid with WNOWAIT): 1
/// when it has (it stays a zombie, so its pid still names its process group),
/// 0 when it still runs, -errno on failure. For kernels without pidfds.
int testbed_has_exited(pid_t pid);

/// poll(2) for `fd` to become readable for at most `timeout_ms` milliseconds
/// (-1: no limit): 1 when readable (a pidfd: the process has exited), 0 when
/// the time ran out, -errno on failure (-EINTR: a signal came; poll again for
/// the time that is left).
int testbed_poll_readable(int fd, int timeout_ms);

/// A new file `testbed-probe-XXXXXX` in `directory`, opened read-write and
/// close-on-exec, and unlinked at once (it lives as long as a descriptor does):
/// the descriptor, or -errno when none can be made.
int testbed_unlinked_temp_file(const char *directory);

/// The id of the mount the file open at `fd` (O_PATH will do) is on, as
/// /proc/self/mountinfo numbers mounts: statx(STATX_MNT_ID) (Linux 5.8),
/// else name_to_handle_at(2). 0 and `*id`, or -errno (-EOPNOTSUPP: this
/// kernel or filesystem cannot tell).
int testbed_mount_id(int fd, unsigned long long *id);

/// renameat2(RENAME_NOREPLACE) of `from` to `to`, both in `dirfd`: 0, or
/// -errno (-EEXIST: `to` is taken; -EINVAL: the filesystem cannot do it).
int testbed_rename_noreplace(int dirfd, const char *from, const char *to);

/// Decoders for a wait status.
int testbed_exited(int status);
int testbed_exit_status(int status);
int testbed_signaled(int status);
int testbed_term_signal(int status);

#endif
