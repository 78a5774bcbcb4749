/* Preloaded with the ASan runtime into the (uninstrumented) PostgreSQL server of
 * test/run --only sanitize. Without it that server hangs at start-up:
 *
 * ASan initialises itself on the first malloc. In postgres that first malloc comes from
 * libgpg-error's constructor (libsystemd -> libgcrypt -> libgpg-error), inside glibc's
 * bindtextdomain() while it holds libintl's lock for writing. ASan's initialisation asks
 * dlsym() for "swift_demangle"; the failed look-up makes dlerror() translate its message,
 * which takes the same lock for reading and releases it: the lock's state is corrupted, and
 * the next bindtextdomain() (postgres's own) waits for it forever.
 *
 * With this definition the look-up succeeds, so no message is translated. ASan calls it only
 * for Swift-mangled names ("_T..."), which PostgreSQL and vtj_fdw have none of; NULL means
 * "not demangled". */
#include <stddef.h>

char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_length, unsigned flags);

char *swift_demangle(const char *mangled, size_t length, char *out, size_t *out_length, unsigned flags)
{
    (void)mangled;
    (void)length;
    (void)out;
    (void)out_length;
    (void)flags;
    return NULL;
}
