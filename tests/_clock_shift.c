/* LD_PRELOAD shim for tests/test_timeouts.py: clock_gettime(CLOCK_REALTIME)
   reports the wall clock an hour behind the kernel's. Every deadline a
   process computes from it is already past when the kernel reads it, as
   right after a forward step of the wall clock; other clocks are untouched. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <time.h>

#define SHIFT_SECONDS 3600

int clock_gettime(clockid_t clock, struct timespec *ts)
{
    static int (*real)(clockid_t, struct timespec *);
    int result;

    if (!real)
        real = (int (*)(clockid_t, struct timespec *))dlsym(RTLD_NEXT, "clock_gettime");
    result = real(clock, ts);
    if (result == 0 && clock == CLOCK_REALTIME)
        ts->tv_sec -= SHIFT_SECONDS;
    return result;
}
