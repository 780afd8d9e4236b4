"""cffi builder for posixq's private extension module ``posixq._posixq_cffi``.

The helpers below return ``-errno`` on failure so that Python reads the
result and the error in one value, without a second trip through
``ffi.errno``. Every "try" helper passes an already expired deadline to
``mq_timed*``: on a non-blocking descriptor that fails with EAGAIN, on a
blocking one with ETIMEDOUT, so one call is a non-blocking attempt whatever
the descriptor's mode; both results come back as ``-EAGAIN``. On a blocking
descriptor the kernel checks for pending signals before the expired
deadline, so an empty (or full) queue can also fail with EINTR: that too
means "would block" and comes back as ``-EAGAIN``.
"""

from cffi import FFI

ffibuilder = FFI()

ffibuilder.cdef(
    """
    typedef int... mqd_t;
    typedef int... mode_t;
    struct timespec { ...; };

    struct mq_attr {
        long mq_flags;
        long mq_maxmsg;
        long mq_msgsize;
        long mq_curmsgs;
        ...;
    };

    #define O_RDONLY ...
    #define O_WRONLY ...
    #define O_RDWR ...
    #define O_CREAT ...
    #define O_EXCL ...
    #define O_NONBLOCK ...
    #define EAGAIN ...
    #define EINTR ...
    #define ETIMEDOUT ...

    mqd_t mq_open(const char *name, int oflag, mode_t mode, struct mq_attr *attr);
    int mq_close(mqd_t mqdes);
    int mq_unlink(const char *name);
    int mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len, unsigned int msg_prio);
    ssize_t mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len, unsigned int *msg_prio);
    int mq_timedsend(mqd_t mqdes, const char *msg_ptr, size_t msg_len,
                     unsigned int msg_prio, const struct timespec *abs_timeout);
    ssize_t mq_timedreceive(mqd_t mqdes, char *msg_ptr, size_t msg_len,
                            unsigned int *msg_prio, const struct timespec *abs_timeout);
    int mq_getattr(mqd_t mqdes, struct mq_attr *attr);
    int mq_setattr(mqd_t mqdes, const struct mq_attr *newattr, struct mq_attr *oldattr);

    mqd_t posixq_open(const char *name, int oflag, mode_t mode, long maxmsg, long msgsize);
    int posixq_close(mqd_t mqdes);
    int posixq_unlink(const char *name);
    int posixq_getattr(mqd_t mqdes, struct mq_attr *attr);
    int posixq_fchmod(mqd_t mqdes, mode_t mode);

    long posixq_try_receive(mqd_t mqdes, char *buf, size_t size, unsigned int *prio);
    int posixq_try_send(mqd_t mqdes, const char *buf, size_t size, unsigned int prio);
    long posixq_receive_within(mqd_t mqdes, char *buf, size_t size, unsigned int *prio,
                               double seconds);
    int posixq_send_within(mqd_t mqdes, const char *buf, size_t size, unsigned int prio,
                           double seconds);
    long posixq_timed_receive(mqd_t mqdes, char *buf, size_t size, unsigned int *prio,
                              double seconds);
    int posixq_timed_send(mqd_t mqdes, const char *buf, size_t size, unsigned int prio,
                          double seconds);
    long posixq_try_receive_many(mqd_t mqdes, char *buf, size_t size, long count,
                                 size_t *lengths, unsigned int *prios, int *error);
    long posixq_try_send_many(mqd_t mqdes, const char *buf, size_t offset,
                              size_t *lengths, long count, unsigned int prio, int *error);
    """
)

ffibuilder.set_source(
    "posixq._posixq_cffi",
    r"""
    #include <errno.h>
    #include <fcntl.h>
    #include <mqueue.h>
    #include <sys/stat.h>
    #include <time.h>

    static const struct timespec posixq_expired = {0, 0};

    /* mq_open with the attributes given, or the system defaults when
       maxmsg and msgsize are both 0. Returns the descriptor or -errno. */
    static mqd_t posixq_open(const char *name, int oflag, mode_t mode,
                             long maxmsg, long msgsize)
    {
        struct mq_attr attr = {0};
        mqd_t mqd;
        if (maxmsg > 0 || msgsize > 0) {
            attr.mq_maxmsg = maxmsg;
            attr.mq_msgsize = msgsize;
            mqd = mq_open(name, oflag, mode, &attr);
        } else {
            mqd = mq_open(name, oflag, mode, NULL);
        }
        return mqd == (mqd_t)-1 ? -errno : mqd;
    }

    static int posixq_close(mqd_t mqdes)
    {
        return mq_close(mqdes) == 0 ? 0 : -errno;
    }

    static int posixq_unlink(const char *name)
    {
        return mq_unlink(name) == 0 ? 0 : -errno;
    }

    static int posixq_getattr(mqd_t mqdes, struct mq_attr *attr)
    {
        return mq_getattr(mqdes, attr) == 0 ? 0 : -errno;
    }

    static int posixq_fchmod(mqd_t mqdes, mode_t mode)
    {
        return fchmod(mqdes, mode) == 0 ? 0 : -errno;
    }

    static int posixq_would_block(int err)
    {
        return err == ETIMEDOUT || err == EINTR ? -EAGAIN : -err;
    }

    static long posixq_try_receive(mqd_t mqdes, char *buf, size_t size,
                                   unsigned int *prio)
    {
        ssize_t n = mq_timedreceive(mqdes, buf, size, prio, &posixq_expired);
        return n >= 0 ? (long)n : posixq_would_block(errno);
    }

    static int posixq_try_send(mqd_t mqdes, const char *buf, size_t size,
                               unsigned int prio)
    {
        if (mq_timedsend(mqdes, buf, size, prio, &posixq_expired) == 0)
            return 0;
        return posixq_would_block(errno);
    }

    /* The kernel's deadline is on CLOCK_REALTIME: it is computed here,
       right before the call, from a relative number of seconds. */
    static struct timespec posixq_deadline(double seconds)
    {
        struct timespec ts;
        long long ns;
        clock_gettime(CLOCK_REALTIME, &ts);
        if (seconds < 0)
            seconds = 0;
        if (seconds > 1e9)  /* keeps the sum below in range: ~31 years */
            seconds = 1e9;
        ns = (long long)(seconds * 1e9) + ts.tv_nsec;
        ts.tv_sec += (time_t)(ns / 1000000000LL);
        ts.tv_nsec = (long)(ns % 1000000000LL);
        return ts;
    }

    static long posixq_timed_receive(mqd_t mqdes, char *buf, size_t size,
                                     unsigned int *prio, double seconds)
    {
        struct timespec deadline = posixq_deadline(seconds);
        ssize_t n = mq_timedreceive(mqdes, buf, size, prio, &deadline);
        return n >= 0 ? (long)n : -errno;
    }

    static int posixq_timed_send(mqd_t mqdes, const char *buf, size_t size,
                                 unsigned int prio, double seconds)
    {
        struct timespec deadline = posixq_deadline(seconds);
        return mq_timedsend(mqdes, buf, size, prio, &deadline) == 0 ? 0 : -errno;
    }

    /* The first attempt of a call: like posixq_try_*, but on a blocking
       descriptor it may wait up to seconds (> 0) for the queue to be ready. */
    static long posixq_receive_within(mqd_t mqdes, char *buf, size_t size,
                                      unsigned int *prio, double seconds)
    {
        struct timespec deadline;
        ssize_t n;
        if (seconds <= 0)
            return posixq_try_receive(mqdes, buf, size, prio);
        deadline = posixq_deadline(seconds);
        n = mq_timedreceive(mqdes, buf, size, prio, &deadline);
        return n >= 0 ? (long)n : posixq_would_block(errno);
    }

    static int posixq_send_within(mqd_t mqdes, const char *buf, size_t size,
                                  unsigned int prio, double seconds)
    {
        struct timespec deadline;
        if (seconds <= 0)
            return posixq_try_send(mqdes, buf, size, prio);
        deadline = posixq_deadline(seconds);
        if (mq_timedsend(mqdes, buf, size, prio, &deadline) == 0)
            return 0;
        return posixq_would_block(errno);
    }

    /* Receive up to count queued messages into count slots of size bytes.
       Stops at the first error; returns how many were received and leaves
       that error (-EAGAIN when the queue ran empty) in *error. */
    static long posixq_try_receive_many(mqd_t mqdes, char *buf, size_t size,
                                        long count, size_t *lengths,
                                        unsigned int *prios, int *error)
    {
        long i;
        *error = 0;
        for (i = 0; i < count; i++) {
            long n = posixq_try_receive(mqdes, buf + (size_t)i * size, size,
                                        prios + i);
            if (n < 0) {
                *error = (int)n;
                break;
            }
            lengths[i] = (size_t)n;
        }
        return i;
    }

    /* Send count messages at one priority, in order: they lie one after
       the other from buf + offset, with the given lengths. Stops at the
       first error like posixq_try_receive_many. */
    static long posixq_try_send_many(mqd_t mqdes, const char *buf, size_t offset,
                                     size_t *lengths, long count, unsigned int prio,
                                     int *error)
    {
        long i;
        const char *message = buf + offset;
        *error = 0;
        for (i = 0; i < count; i++) {
            int r = posixq_try_send(mqdes, message, lengths[i], prio);
            if (r < 0) {
                *error = r;
                break;
            }
            message += lengths[i];
        }
        return i;
    }
    """,
    libraries=["rt"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
